"""The prediction drawn over the image as mmseg's ``SegLocalVisualizer``
draws it."""
from typing import Sequence, Tuple

import cv2
import numpy as np


def class_centre(mask: np.ndarray) -> Tuple[int, int]:
    """Where ``SegLocalVisualizer`` writes a class name: (x, y) of the middle
    pixel of the class's first fullest row.

    Args:
        mask (np.ndarray): (H, W) bool mask of the class, not empty.
    """
    counts = mask.sum(axis=1)
    y = int(counts.argmax())
    xs = np.flatnonzero(mask[y])
    return int(xs[len(xs) // 2]), y


def draw_overlay(img: np.ndarray,
                 labels: np.ndarray,
                 classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 with_labels: bool = True,
                 alpha: float = 0.5) -> np.ndarray:
    """The prediction over a BGR image, as ``SegLocalVisualizer`` draws it.

    Args:
        img (np.ndarray): BGR uint8 image (H, W, 3).
        labels (np.ndarray): Label map (H, W).
        classes (Sequence[str]): Class names; labels beyond them are not
            coloured.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        with_labels (bool): Write each class's name at its centre. Defaults
            to True.
        alpha (float): Weight of the colours. Defaults to 0.5.

    Returns:
        np.ndarray: BGR uint8 image.
    """
    image = np.ascontiguousarray(img[..., ::-1])  # the visualizer draws RGB
    ids = np.unique(labels)[::-1]
    ids = ids[ids < len(classes)].astype(np.int64)
    mask = np.zeros_like(image)
    for i in ids:
        mask[labels == i] = palette[i]
    if with_labels:
        font = cv2.FONT_HERSHEY_SIMPLEX
        font_scale = min(image.shape[:2]) / (25 / 0.05)
        thick = 1 if min(image.shape[:2]) < 300 else 2
        for i in ids:
            x, y = class_centre(labels == i)
            (tw, th), base = cv2.getTextSize(classes[i], font, font_scale,
                                             thick)
            corner = (x + tw + base, y + th + base)
            color = tuple(int(c) for c in palette[i])
            mask = cv2.rectangle(mask, (x, y), corner, color, -1)
            mask = cv2.rectangle(mask, (x, y), corner, (0, 0, 0), thick)
            mask = cv2.putText(mask, classes[i], (x, y + th), font, font_scale,
                               (255, 255, 255), thick, 2)
    blended = (image * (1 - alpha) + mask * alpha).astype(np.uint8)
    return np.ascontiguousarray(blended[..., ::-1])
