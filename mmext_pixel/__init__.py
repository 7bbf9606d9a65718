from . import datasets, models, visualization  # noqa: F401  (registers)
from .utils import allow_mmengine_checkpoint_globals, register_config_package
from .version import __version__

register_config_package()
allow_mmengine_checkpoint_globals()

__all__ = ['__version__']
