from .checkpoint import allow_mmengine_checkpoint_globals
from .config_package import register_config_package

__all__ = ['allow_mmengine_checkpoint_globals', 'register_config_package']
