from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def disk_kernel(radius: float) -> np.ndarray:
    """The pixels within Euclidean distance ``radius`` of the centre."""
    r = int(np.floor(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy * yy + xx * xx <= radius * radius).astype(np.uint8)


def _as_cv2_labels(seg_map: np.ndarray,
                   ignore_index: int) -> Tuple[np.ndarray, int]:
    """The label map in a dtype that cv2's morphology accepts."""
    values = (int(seg_map.min()), int(seg_map.max()), int(ignore_index))
    if min(values) >= 0 and max(values) <= 255:
        return seg_map.astype(np.uint8, copy=False), ignore_index
    if min(values) >= 0 and max(values) <= 65535:
        return seg_map.astype(np.uint16, copy=False), ignore_index
    if max(abs(v) for v in values) < 2**24:  # exact in float32
        return seg_map.astype(np.float32), ignore_index
    raise ValueError(f'label values {values[:2]} (min, max) and ignore index '
                     f'{ignore_index} are out of the supported range')


def seg_boundary_map(seg_map: np.ndarray,
                     radius: float = 2,
                     ignore_index: int = 255,
                     official: bool = False) -> np.ndarray:
    """``(H, W)`` uint8, 1 within Euclidean ``radius`` of another label:
    Gated-SCNN's per-class distance transforms (``datasets/edge_utils.py``)
    as one grey dilation and erosion.

    Args:
        seg_map (np.ndarray): ``(H, W)`` integer label map.
        radius (float): Boundary radius in pixels. Defaults to 2.
        ignore_index (int): Label of unlabelled pixels. Defaults to 255.
        official (bool): The official ground truth: 0 and ``ignore_index``
            belong to no class and the image frame is a boundary. Else every
            label is a class, the frame no boundary and ignored pixels get
            ``ignore_index``. Defaults to False.
    """
    seg_map = np.asarray(seg_map)
    if seg_map.ndim != 2:
        raise ValueError(
            f'seg_boundary_map expects an (H, W) label map, got shape '
            f'{seg_map.shape}')
    if radius < 1:
        raise ValueError(f'radius must be >= 1, got {radius}')
    labels, background = _as_cv2_labels(seg_map, ignore_index)
    kernel = disk_kernel(radius)
    if official:  # 0, ignored pixels and the outside: one "no class" region
        labels = labels.copy()
        labels[seg_map == 0] = background
        border = dict(
            borderType=cv2.BORDER_CONSTANT, borderValue=float(background))
    else:
        border = dict()  # cv2's default border leaves the extrema unchanged
    high = cv2.dilate(labels, kernel, **border)
    low = cv2.erode(labels, kernel, **border)
    # the disk holds the pixel itself: max == min iff all labels agree
    edge = (high != low).astype(np.uint8)
    if not official:
        if not 0 <= ignore_index <= 255:
            raise ValueError(f'ignore_index {ignore_index} does not fit the '
                             'uint8 boundary map')
        edge[seg_map == ignore_index] = ignore_index
    return edge


@TRANSFORMS.register_module()
class GenerateSegBoundary(BaseTransform):
    """Binary boundary ground truth (``gt_edge_map``,
    :func:`seg_boundary_map`) for Gated-SCNN's shape stream (Takikawa et al.,
    ICCV 2019); after the geometric augmentation, before ``PackSegInputs``.

    Args:
        radius (float): Boundary radius in pixels. Defaults to 2.
        ignore_index (int): Label of unlabelled pixels. Defaults to 255.
        official (bool): Reproduce the official ground truth (train id 0 is
            skipped, the image frame is a boundary, no ignored pixels).
            Defaults to False.
    """

    def __init__(self,
                 radius: float = 2,
                 ignore_index: int = 255,
                 official: bool = False) -> None:
        if radius < 1:
            raise ValueError(f'radius must be >= 1, got {radius}')
        self.radius = radius
        self.ignore_index = ignore_index
        self.official = official

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            raise KeyError(
                'GenerateSegBoundary needs results["gt_seg_map"]: put it '
                'after LoadAnnotations (image '
                f'{results.get("img_path", "<unknown>")})')
        results['gt_edge_map'] = seg_boundary_map(results['gt_seg_map'],
                                                  self.radius,
                                                  self.ignore_index,
                                                  self.official)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(radius={self.radius}, '
                f'ignore_index={self.ignore_index}, '
                f'official={self.official})')
