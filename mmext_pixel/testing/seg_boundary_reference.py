"""Gated-SCNN's boundary ground truth as the official computes it:
nv-tlabs/GSCNN@3acff78 ``datasets/edge_utils.py``, ``mask_to_onehot`` (line
11, train ids 1..N) and ``onehot_to_binary_edges`` (line 49: per class two
Euclidean distance transforms of the zero-padded mask).
"""
import numpy as np
from scipy.ndimage import distance_transform_edt


def per_class_edt(seg: np.ndarray,
                  radius: float = 2,
                  num_classes: int = 19) -> np.ndarray:
    """The official binary edge map of a label map.

    Args:
        seg (np.ndarray): ``(H, W)`` label map.
        radius (float): Edge half-width in pixels. Defaults to 2.
        num_classes (int): Classes (train ids 1..N count). Defaults to 19.

    Returns:
        np.ndarray: ``(H, W)`` uint8, 1 on the edges.
    """
    edge = np.zeros(seg.shape, bool)
    for c in range(1, num_classes + 1):
        mask = np.pad((seg == c).astype(np.uint8), 1)
        dist = distance_transform_edt(mask) + distance_transform_edt(1 - mask)
        dist = dist[1:-1, 1:-1]
        edge |= (dist > 0) & (dist <= radius)
    return edge.astype(np.uint8)
