"""The official training augmentations, step by step, for the tests.

Our reading of nv-tlabs/GSCNN ``transforms/transforms.py`` (Gated-SCNN's
``RandomGaussianBlur`` and ``ColorJitter`` with its ``adjust_*`` helpers,
run on RGB PIL images) and of hszhao/semseg / houqb/SPNet
``util/transform.py`` (``RandomGaussianBlur``, ``RandScale``, run on RGB
arrays), with the random draws passed in. The transforms in
``mmext_pixel.datasets.transforms`` are tested against them.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageEnhance
from scipy import ndimage


def gscnn_gaussian_blur(img: Image.Image, sigma: float) -> Image.Image:
    """``skimage.filters.gaussian(np.array(img), sigma, multichannel=True)``
    then ``* 255`` and ``astype(np.uint8)``: skimage's ``img_as_float``
    (times 1/255), each channel filtered on its own (sigma 0 across
    channels), ``mode='nearest'``, ``truncate=4``."""
    arr = np.multiply(np.array(img), 1. / 255, dtype=np.float64)
    out = np.stack([
        ndimage.gaussian_filter(
            arr[..., c], sigma, mode='nearest', truncate=4.0)
        for c in range(arr.shape[2])
    ],
                   axis=2)
    out *= 255
    return Image.fromarray(out.astype(np.uint8))


def gscnn_adjust_hue(img: Image.Image, hue_factor: float) -> Image.Image:
    """The official ``adjust_hue``: PIL HSV, the uint8 hue plus
    ``np.uint8(hue_factor * 255)`` (a negative shift wraps round), back to
    the input mode."""
    h, s, v = img.convert('HSV').split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.array(int(hue_factor * 255)).astype(np.uint8)
    return Image.merge('HSV',
                       (Image.fromarray(np_h, 'L'), s, v)).convert(img.mode)


Factors = Tuple[float, float, float, float]


def gscnn_color_jitter(img: Image.Image, factors: Factors,
                       order: Sequence[int]) -> Image.Image:
    """The official ``ColorJitter`` for drawn factors (brightness, contrast,
    saturation, hue) applied in ``order`` (the shuffled list of the
    ``adjust_*`` lambdas, by index)."""
    steps = (
        lambda im: ImageEnhance.Brightness(im).enhance(factors[0]),
        lambda im: ImageEnhance.Contrast(im).enhance(factors[1]),
        lambda im: ImageEnhance.Color(im).enhance(factors[2]),
        lambda im: gscnn_adjust_hue(im, factors[3]),
    )
    for i in order:
        img = steps[i](img)
    return img


def semseg_gaussian_blur(image: np.ndarray, radius: int = 5) -> np.ndarray:
    """semseg's ``RandomGaussianBlur`` when its coin says blur."""
    return cv2.GaussianBlur(image, (radius, radius), 0)


def semseg_rand_scale(image: np.ndarray, label: np.ndarray,
                      scale: float) -> Tuple[np.ndarray, np.ndarray]:
    """semseg's ``RandScale`` for a drawn factor (no aspect jitter)."""
    image = cv2.resize(
        image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    label = cv2.resize(
        label, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return image, label
