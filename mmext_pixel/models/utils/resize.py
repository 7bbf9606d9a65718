from typing import Sequence

from mmseg.models.utils import resize
from torch import Tensor


def resize_to(x: Tensor,
              size: Sequence[int],
              align_corners: bool = False) -> Tensor:
    """Bilinear resize of an (N, C, H, W) map to ``size`` (H, W).

    mmseg's :func:`~mmseg.models.utils.resize` without its align-corners
    warning: the official models resize to arbitrary sizes with
    ``align_corners=True`` on purpose. The resize runs even when the size
    already matches (an identity then), so that a traced export keeps it
    for inputs of other sizes.

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
