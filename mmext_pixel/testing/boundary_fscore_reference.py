"""Gated-SCNN's official boundary F-measure, step by step: nv-tlabs/GSCNN
``utils/f_boundary.py`` (``eval_mask_boundary`` -> ``db_eval_boundary`` ->
``seg2bmap``, after DAVIS), a disk dilation per class and threshold, slow as
the official.
"""
from typing import Sequence

import numpy as np
from scipy.ndimage import binary_dilation


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """DAVIS' boundary map of an ``(H, W)`` mask: a pixel differing from its
    east, south or south-east neighbour (last row: east, last column: south,
    corner: never)."""
    seg = mask.astype(bool)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    bmap[-1, :] = seg[-1, :] ^ east[-1, :]
    bmap[:, -1] = seg[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def disk(radius: float) -> np.ndarray:
    """scikit-image's ``morphology.disk``: ``x**2 + y**2 <= radius**2`` on
    the grid ``arange(-radius, radius + 1)``."""
    grid = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(grid, grid)
    return (x**2 + y**2) <= radius**2


def official_radius(threshold: float, shape: Sequence[int]) -> float:
    """``bound_th`` from 1 on, else ``ceil(bound_th * norm(shape))``."""
    if threshold >= 1:
        return threshold
    return np.ceil(threshold * np.linalg.norm(shape))


def db_eval_boundary(pred_mask: np.ndarray, label_mask: np.ndarray,
                     ignore_mask: np.ndarray, threshold: float) -> float:
    """F-measure of one class's boundary in one image, the official way.

    Args:
        pred_mask (np.ndarray): ``(H, W)`` binary prediction of the class.
        label_mask (np.ndarray): ``(H, W)`` binary label of the class.
        ignore_mask (np.ndarray): ``(H, W)`` pixels cleared in both.
        threshold (float): Fraction of the diagonal (< 1) or pixels.
    """
    radius = official_radius(threshold, pred_mask.shape)
    pred_mask = pred_mask.copy()
    label_mask = label_mask.copy()
    pred_mask[ignore_mask] = 0
    label_mask[ignore_mask] = 0
    pred_boundary = seg2bmap(pred_mask)
    label_boundary = seg2bmap(label_mask)
    footprint = disk(radius)
    pred_dilated = binary_dilation(pred_boundary, footprint)
    label_dilated = binary_dilation(label_boundary, footprint)
    label_match = label_boundary & pred_dilated
    pred_match = pred_boundary & label_dilated
    n_pred = np.sum(pred_boundary)
    n_label = np.sum(label_boundary)
    if n_pred == 0 and n_label > 0:
        precision, recall = 1, 0
    elif n_pred > 0 and n_label == 0:
        precision, recall = 0, 1
    elif n_pred == 0 and n_label == 0:
        precision, recall = 1, 1
    else:
        precision = np.sum(pred_match) / float(n_pred)
        recall = np.sum(label_match) / float(n_label)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def official_boundary_fscores(pred: np.ndarray,
                              label: np.ndarray,
                              num_classes: int,
                              thresholds: Sequence[float],
                              ignore_index: int = 255) -> np.ndarray:
    """``(len(thresholds), num_classes)`` F values of one image, one
    ``db_eval_boundary`` per threshold and class as the official loops.

    Args:
        pred (np.ndarray): ``(H, W)`` predicted classes.
        label (np.ndarray): ``(H, W)`` label with ``ignore_index``.
        num_classes (int): Number of classes.
        thresholds (Sequence[float]): The thresholds.
        ignore_index (int): The official's 255. Defaults to 255.
    """
    ignore = label == ignore_index
    fscores = np.zeros((len(thresholds), num_classes))
    for t, threshold in enumerate(thresholds):
        for c in range(num_classes):
            fscores[t, c] = db_eval_boundary((pred == c).astype(np.uint8),
                                             (label == c).astype(np.uint8),
                                             ignore, threshold)
    return fscores
