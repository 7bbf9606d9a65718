"""Seeded Cityscapes-like label maps and predictions, the inputs of
``mmext_pixel.analysis.boundary_cost``."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np


def cityscapes_like_pair(
        shape: Sequence[int] = (1024, 2048),
        num_classes: int = 19,
        seed: int = 0,
        min_size: int = 4,
        void_width: Optional[int] = None,
        with_pred: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """``(pred, label)``, uint8: 400 random polygons (radius ``min_size`` or
    more) on class 0, void (255) regions (a left band ``void_width`` wide,
    default ``w // 256 + 1``) and, with ``with_pred`` (else all 0), a
    prediction of displaced, some reclassed, some missed polygons."""
    rng = np.random.default_rng(seed)
    h, w = shape
    label = np.zeros((h, w), np.uint8)
    pred = np.zeros((h, w), np.uint8)
    for _ in range(400):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        size = rng.integers(min_size, max(max(h, w) // 8, min_size + 1))
        angles = np.sort(rng.random(rng.integers(3, 9)) * 2 * np.pi)
        radii = size * (0.4 + 0.6 * rng.random(angles.size))
        points = np.stack(
            [cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
        cls = int(rng.integers(0, num_classes))
        cv2.fillPoly(label, [points.astype(np.int32)], cls)
        if not with_pred or rng.random() < 0.1:
            continue  # missed by the prediction
        if rng.random() < 0.1:
            cls = int(rng.integers(0, num_classes))
        moved = points + rng.normal(0, 4, points.shape)
        cv2.fillPoly(pred, [moved.astype(np.int32)], cls)
    label[-h // 10:, w // 4:3 * w // 4] = 255  # an ego-vehicle-like void
    label[:, :void_width or w // 256 + 1] = 255
    return pred, label
