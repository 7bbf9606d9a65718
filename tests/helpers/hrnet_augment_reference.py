"""HRNet's training augmentation (HRNet/HRNet-Semantic-Segmentation) as
plain functions of the drawn parameters.

Our reading of ``lib/datasets/base_dataset.py`` (``multi_scale_aug``,
``rand_crop``, ``gen_sample``) and ``lib/datasets/lip.py`` (``__getitem__``),
which GSTO and the urbanisation fork inherit, with cv2 and numpy only: the
random draws (scale index, crop offsets, flip) are arguments, so a test can
feed the same draws to our config's pipeline and compare the arrays.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np


def hrnet_scale(k: int) -> float:
    """The official scale for ``random.randint(0, scale_factor)`` = k."""
    return 0.5 + k / 10.0


def multi_scale_aug(image: np.ndarray, label: np.ndarray, base_size: int,
                    rand_scale: float) -> Tuple[np.ndarray, np.ndarray]:
    """Rescale so that the longer side is ``int(base_size * s + 0.5)``."""
    long_size = int(base_size * rand_scale + 0.5)
    h, w = image.shape[:2]
    if h > w:
        new_h, new_w = long_size, int(w * long_size / h + 0.5)
    else:
        new_w, new_h = long_size, int(h * long_size / w + 0.5)
    return (cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR),
            cv2.resize(label, (new_w, new_h), interpolation=cv2.INTER_NEAREST))


def rand_crop(image: np.ndarray, label: np.ndarray, crop_size: Sequence[int],
              x: int, y: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pad bottom/right to ``crop_size`` (h, w) with black and the ignore
    label 255, then crop at column ``x``, row ``y``."""
    short_h, short_w = np.subtract(crop_size, label.shape).clip(min=0)
    pad = (0, int(short_h), 0, int(short_w))
    if any(pad):
        border = cv2.BORDER_CONSTANT
        image = cv2.copyMakeBorder(image, *pad, border, value=(0., 0., 0.))
        label = cv2.copyMakeBorder(label, *pad, border, value=(255, ))
    rows, cols = slice(y, y + crop_size[0]), slice(x, x + crop_size[1])
    return image[rows, cols], label[rows, cols]


def gen_sample(image: np.ndarray, label: np.ndarray, base_size: int, k: int,
               crop_size: Sequence[int], x: int, y: int,
               flip: bool) -> Tuple[np.ndarray, np.ndarray]:
    """``gen_sample`` before normalisation: scale, pad and crop, flip."""
    image, label = multi_scale_aug(image, label, base_size, hrnet_scale(k))
    image, label = rand_crop(image, label, crop_size, x, y)
    if flip:
        image, label = image[:, ::-1], label[:, ::-1]
    return image, label


def lip_sample(image: np.ndarray,
               label: np.ndarray,
               label_rev: np.ndarray,
               draws: Tuple[int, int, int, bool],
               size: int = 473) -> Tuple[np.ndarray, np.ndarray]:
    """LIP's ``__getitem__`` for ``draws`` = (k, x, y, flip): the image
    flipped with its reversed label file (``label_rev``, the flipped label
    with left/right swapped), both resized to ``size`` x ``size``, then
    ``gen_sample`` without its flip."""
    k, x, y, flip = draws
    if flip:
        image, label = image[:, ::-1], label_rev
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
    return gen_sample(image, label, size, k, (size, size), x, y, False)
