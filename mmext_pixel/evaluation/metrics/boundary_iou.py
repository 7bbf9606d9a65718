"""Boundary IoU for semantic segmentation as an mmseg metric."""
import numbers
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmseg.registry import METRICS

from .label_maps import LabelMapMetric, log_table


def boundary_width(dilation_ratio: float, shape: Sequence[int]) -> int:
    """``round(dilation_ratio * diagonal)`` pixels, at least 1, as
    ``mask_to_boundary``.

    Args:
        dilation_ratio (float): Fraction of the image diagonal.
        shape (Sequence[int]): ``(height, width)``.
    """
    h, w = shape
    return max(1, int(round(dilation_ratio * np.sqrt(h**2 + w**2))))


def mask_boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """The pixels of a binary mask within ``width`` (chessboard) of one
    outside it or of the border: the Boundary IoU API's ``mask_to_boundary``
    as one erosion by a square.

    Args:
        mask (np.ndarray): ``(H, W)`` binary mask.
        width (int): Boundary width in pixels.
    """
    padded = cv2.copyMakeBorder(
        mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    eroded = cv2.erode(padded, kernel)[1:-1, 1:-1]
    return mask.astype(bool) & ~eroded.astype(bool)


def boundary_intersection_union(
        pred: np.ndarray,
        label: np.ndarray,
        num_classes: int,
        dilation_ratio: float = 0.02,
        ignore_index: int = 255) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class pixels of the intersection and union of the boundary
    regions of prediction and label, ignored label pixels not counted.

    Args:
        pred (np.ndarray): ``(H, W)`` predicted classes.
        label (np.ndarray): ``(H, W)`` label, classes or ``ignore_index``.
        num_classes (int): Number of classes.
        dilation_ratio (float): Boundary width as a fraction of the image
            diagonal. Defaults to 0.02.
        ignore_index (int): Label value not counted. Defaults to 255.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(num_classes, )`` int64 counts.
    """
    width = boundary_width(dilation_ratio, label.shape)
    counted = label != ignore_index
    intersection = np.zeros(num_classes, np.int64)
    union = np.zeros(num_classes, np.int64)
    present = np.union1d(np.unique(pred), np.unique(label[counted]))
    for c in present[(present >= 0) & (present < num_classes)]:
        pred_boundary = mask_boundary(pred == c, width) & counted
        label_boundary = mask_boundary(label == c, width)
        intersection[c] = np.count_nonzero(pred_boundary & label_boundary)
        union[c] = np.count_nonzero(pred_boundary | label_boundary)
    return intersection, union


@METRICS.register_module()
class BoundaryIoU(LabelMapMetric):
    """Boundary IoU of each class over the dataset, and its mean.

    Cheng et al., "Boundary IoU: Improving Object-Centric Image Segmentation
    Evaluation", CVPR 2021, for semantic segmentation: per class the
    intersection and union of the boundary regions (the paper's
    ``mask_to_boundary``) summed over the dataset; ``mBIoU`` (percent) the
    mean IoU over the classes present.

    Args:
        dilation_ratio (float): Boundary width as a fraction of the image
            diagonal, rounded to pixels (at least 1). Defaults to 0.02.
        ignore_index (int): Label value not counted. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    def __init__(self,
                 dilation_ratio: float = 0.02,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(ignore_index, collect_device, prefix)
        if isinstance(dilation_ratio,
                      bool) or not isinstance(dilation_ratio, numbers.Real):
            raise TypeError(
                f'dilation_ratio = {dilation_ratio!r} is not a number')
        if not 0 < dilation_ratio < 1:
            raise ValueError(f'dilation_ratio = {dilation_ratio!r}: a '
                             'fraction of the image diagonal in (0, 1)')
        self.dilation_ratio = float(dilation_ratio)

    def score(self, pred: np.ndarray, label: np.ndarray,
              num_classes: int) -> Tuple[np.ndarray, np.ndarray]:
        return boundary_intersection_union(pred, label, num_classes,
                                           self.dilation_ratio,
                                           self.ignore_index)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        intersection = np.sum([r[0] for r in results], axis=0)
        union = np.sum([r[1] for r in results], axis=0)
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = intersection / union
        classes = self.dataset_meta['classes']
        log_table('per class results:',
                  dict(Class=classes, BIoU=np.round(iou * 100, 2).tolist()))
        return OrderedDict(mBIoU=np.round(np.nanmean(iou) * 100, 2))
