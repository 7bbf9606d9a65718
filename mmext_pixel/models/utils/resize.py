from typing import Sequence

from mmseg.models.utils import resize
from torch import Tensor


def resize_to(x: Tensor,
              size: Sequence[int],
              align_corners: bool = False) -> Tensor:
    """Bilinear resize of an (N, C, H, W) map to ``size`` (H, W).

    mmseg's ``resize`` without its warning: the official models use
    ``align_corners=True`` at any size on purpose. It runs even at the same
    size so that a traced export keeps it for other sizes.

    Args:
        x (Tensor): The map.
        size (Sequence[int]): Output (H, W).
        align_corners (bool): As ``F.interpolate``. Defaults to False.
    """
    return resize(
        x,
        size=tuple(size),
        mode='bilinear',
        align_corners=align_corners,
        warning=False)
