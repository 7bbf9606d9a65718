from typing import Any, Callable, TypeVar

import torch
from torch import Tensor

T = TypeVar('T')


def in_float32(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in float32 while autocast is on, else unchanged.

    Under ``torch.autocast`` (mmengine's ``AmpOptimWrapper``, ``--amp``) the
    matrix products and convolutions inside ``fn`` would run in float16 or
    bfloat16; sums over many pixels or channels then overflow float16's
    range (65504) or lose its precision. Autocast is switched off for the
    device of the tensor arguments and their floating ones are cast to
    float32, as mmseg's losses are computed in float32. Outside autocast
    (float32 training, a model cast with ``.half()``, export) ``fn`` runs on
    the arguments as given.

    Args:
        fn (Callable): What to compute.
        *args: Its positional arguments; at least one is a tensor.
    """
    device = next(a.device.type for a in args if isinstance(a, Tensor))
    if not torch.is_autocast_enabled(device):
        return fn(*args)
    with torch.autocast(device, enabled=False):
        return fn(*(
            a.float() if isinstance(a, Tensor) and a.is_floating_point() else a
            for a in args))
