"""The run checks that every run of our tools gets."""
from mmengine.config import Config

from mmext_pixel.utils.run_config import config_type

#: The checks that :func:`add_training_guards` adds to every run's hooks.
GUARD_HOOKS = ('ClassCountCheckHook', 'NonFiniteLossHook')


def add_training_guards(cfg: Config) -> None:
    """Add the class-count and non-finite-loss checks to a config's
    ``custom_hooks`` unless it has them.

    Args:
        cfg (Config): The config, changed in place.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    present = {config_type(h) for h in hooks if isinstance(h, dict)}
    hooks += [dict(type=t) for t in GUARD_HOOKS if t not in present]
    cfg.custom_hooks = hooks
