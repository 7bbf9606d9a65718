"""The run checks that every run of our tools gets."""
from mmengine.config import Config

#: The checks that :func:`add_training_guards` adds to every run's hooks.
GUARD_HOOKS = ('ClassCountCheckHook', 'NonFiniteLossHook')


def add_training_guards(cfg: Config) -> None:
    """Add the class-count and non-finite-loss checks to the config's
    ``custom_hooks`` unless it has them (our configs do, through
    ``configs/_base_/default_runtime.py``); a user's own config gets them
    too. ``check_finite_loss=False`` in the config turns the loss check off.

    Args:
        cfg (Config): The config, changed in place.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    present = {
        str(getattr(h.get('type'), '__name__', h.get('type'))).split('.')[-1]
        for h in hooks if isinstance(h, dict)
    }
    hooks += [dict(type=t) for t in GUARD_HOOKS if t not in present]
    cfg.custom_hooks = hooks
