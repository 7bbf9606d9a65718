from .config_package import register_config_package
from .safe_load import allow_mmengine_checkpoint_globals

__all__ = ['allow_mmengine_checkpoint_globals', 'register_config_package']
