from typing import Any, Callable, TypeVar

import torch
from torch import Tensor

T = TypeVar('T')


def in_float32(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in float32 while autocast is on, else unchanged.

    Under autocast (``--amp``) sums over many pixels overflow float16
    (65504) or lose precision, so autocast is switched off for the tensors'
    device and floating ones cast to float32, as mmseg's losses; otherwise
    (float32, ``.half()``, export) ``fn`` runs on the arguments as given.

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
