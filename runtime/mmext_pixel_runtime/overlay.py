"""The prediction over the image as mmseg's ``SegLocalVisualizer`` draws it."""
from typing import Sequence, Tuple

import cv2
import numpy as np

from .metadata import InferenceError
from .postprocess import label_counts


def class_centre(mask: np.ndarray) -> Tuple[int, int]:
    """Where ``SegLocalVisualizer`` writes a class name: (x, y) of the middle
    pixel of the first fullest row of the class's (non-empty) mask."""
    y = int(mask.sum(axis=1).argmax())
    xs = np.flatnonzero(mask[y])
    return int(xs[len(xs) // 2]), y


def draw_overlay(img: np.ndarray,
                 labels: np.ndarray,
                 classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 with_labels: bool = True,
                 alpha: float = 0.5,
                 inplace: bool = False) -> np.ndarray:
    """The prediction over a BGR image as ``SegLocalVisualizer`` draws it on
    the RGB one (each step is per channel, so the colours are reversed),
    blended in bands of rows with its float arithmetic.

    Args:
        img (np.ndarray): BGR uint8 image (H, W, 3).
        labels (np.ndarray): uint8 label map (H, W).
        classes (Sequence[str]): Class names (other labels stay uncoloured).
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        with_labels (bool): Class names at their centres. Defaults to True.
        alpha (float): Weight of the colours. Defaults to 0.5.
        inplace (bool): Draw into ``img`` (saving a copy of it). Defaults
            to False.
    """
    counts = label_counts(labels)
    ids = np.flatnonzero(counts[:len(classes)])[::-1]
    colours = np.zeros((counts.size, 3), np.uint8)
    colours[ids] = np.asarray(palette, np.uint8)[ids, ::-1]
    mask = np.empty_like(img)
    rows = max(1, (1 << 18) // max(img.shape[1], 1))  # bands of 256K pixels
    for r in range(0, img.shape[0], rows):
        mask[r:r + rows] = colours[labels[r:r + rows]]
    if with_labels:
        font = cv2.FONT_HERSHEY_SIMPLEX
        font_scale = min(img.shape[:2]) / (25 / 0.05)
        thick = 1 if min(img.shape[:2]) < 300 else 2
        for i in ids:
            x, y = class_centre(labels == i)
            (tw, th), base = cv2.getTextSize(classes[i], font, font_scale,
                                             thick)
            corner = (x + tw + base, y + th + base)
            color = tuple(int(c) for c in colours[i])
            cv2.rectangle(mask, (x, y), corner, color, -1)
            cv2.rectangle(mask, (x, y), corner, (0, 0, 0), thick)
            cv2.putText(mask, classes[i], (x, y + th), font, font_scale,
                        (255, 255, 255), thick, 2)
    out = img if inplace else np.empty_like(img)
    for r in range(0, img.shape[0], rows):
        out[r:r + rows] = img[r:r + rows] * (1 - alpha) + \
            mask[r:r + rows] * alpha
    return out


def encode_png(img: np.ndarray) -> np.ndarray:
    """PNG of a uint8 image (H, W) or BGR (H, W, 3), as a uint8 buffer."""
    ok, data = cv2.imencode('.png', img)
    if not ok:
        raise InferenceError(f'PNG encoding of a {img.dtype} {img.shape} '
                             'image failed')
    return data
