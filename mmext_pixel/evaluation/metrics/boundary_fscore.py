"""Gated-SCNN's boundary F-score as an mmseg metric."""
import numbers
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmseg.registry import METRICS
from scipy.spatial import cKDTree

from .label_maps import LabelMapMetric, log_table

#: The official ``train.py --eval_thresholds``: fractions of the diagonal,
#: 2, 5, 9 and 12 pixels on a 1024x2048 Cityscapes image.
GSCNN_THRESHOLDS = (0.0005, 0.001875, 0.00375, 0.005)


def check_thresholds(thresholds: Sequence[float]) -> Tuple[float, ...]:
    """The thresholds as a tuple, or an error naming the one at fault (from 1
    on whole pixels: the official disk of a non-integer radius is off-centre).

    Args:
        thresholds (Sequence[float]): The distance thresholds.
    """
    if isinstance(thresholds, (str, bytes)) or not isinstance(
            thresholds, Sequence) or len(thresholds) == 0:
        raise TypeError('thresholds must be a non-empty sequence of numbers, '
                        f'got {thresholds!r}')
    for i, threshold in enumerate(thresholds):
        if isinstance(threshold,
                      bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f'thresholds[{i}] = {threshold!r} is not a number')
        if not np.isfinite(threshold) or threshold <= 0:
            raise ValueError(f'thresholds[{i}] = {threshold!r}: a threshold '
                             'must be a positive finite number (below 1 a '
                             'fraction of the image diagonal, else pixels)')
        if threshold >= 1 and threshold != int(threshold):
            raise ValueError(f'thresholds[{i}] = {threshold!r}: a threshold '
                             'of 1 or more is a whole number of pixels')
    return tuple(float(t) for t in thresholds)


def threshold_pixels(threshold: float, shape: Sequence[int]) -> int:
    """The official disk radius of a checked threshold on an image:
    ``ceil(threshold * norm(shape))`` below 1, else itself.

    Args:
        threshold (float): A checked threshold (see ``check_thresholds``).
        shape (Sequence[int]): ``(height, width)`` of the image.
    """
    if threshold >= 1:
        return int(threshold)
    return int(np.ceil(threshold * np.linalg.norm(shape)))


def class_boundary_pixels(seg: np.ndarray,
                          num_classes: int) -> Tuple[np.ndarray, np.ndarray]:
    """Class and flat index (``y * W + x``) of each pixel on Gated-SCNN's
    (DAVIS') ``seg2bmap`` boundary of ``seg == class``, all classes at once:
    a pixel whose east, south or south-east neighbour differs is on its own
    and that neighbour's class's boundary. Values outside the classes: none.

    Args:
        seg (np.ndarray): ``(H, W)`` integer label map.
        num_classes (int): Number of classes.
    """
    h, w = seg.shape
    # -1 past the last row and column: no neighbour there
    padded = np.full((h + 1, w + 1), -1, dtype=np.int64)
    padded[:h, :w] = seg
    own = padded[:h, :w]
    neighbours = (padded[:h, 1:], padded[1:, :w], padded[1:, 1:])
    differs = [(n != -1) & (n != own) for n in neighbours]
    on_boundary = differs[0] | differs[1] | differs[2]
    pixels = np.flatnonzero(on_boundary)
    neighbours = [n.ravel()[pixels] for n in neighbours]
    differs = [d.ravel()[pixels] for d in differs]
    classes = [own.ravel()[pixels]]
    pair_pixels = [pixels]
    for k, (neighbour, differ) in enumerate(zip(neighbours, differs)):
        emit = differ.copy()
        # a class already given by an earlier differing neighbour: once
        for earlier in range(k):
            emit &= ~(differs[earlier] & (neighbours[earlier] == neighbour))
        classes.append(neighbour[emit])
        pair_pixels.append(pixels[emit])
    classes = np.concatenate(classes)
    pair_pixels = np.concatenate(pair_pixels)
    valid = (classes >= 0) & (classes < num_classes)
    return classes[valid], pair_pixels[valid]


def _nearest_squared_distances(query: Tuple[np.ndarray, np.ndarray],
                               reference: Tuple[np.ndarray, np.ndarray],
                               width: int, radius: int) -> np.ndarray:
    """Squared distance from each query pair to the nearest reference pair
    of its class up to ``radius``, else ``radius**2+1``; one tree serves all
    classes, each one's x shifted by more than the width plus the radius."""
    query_cls, query_pix = query
    ref_cls, ref_pix = reference
    far = radius * radius + 1
    squared = np.full(query_cls.shape, far, dtype=np.int64)
    if query_cls.size == 0 or ref_cls.size == 0:
        return squared
    stride = width + radius + 2
    qy, qx = np.divmod(query_pix, width)
    ry, rx = np.divmod(ref_pix, width)
    tree = cKDTree(np.column_stack([ry, rx + ref_cls * stride]))
    _, nearest = tree.query(
        np.column_stack([qy, qx + query_cls * stride]),
        k=1,
        distance_upper_bound=radius + 0.5)
    found = nearest < ref_cls.size
    hit = nearest[found]
    # integer distances of the neighbours the tree found: exact comparisons
    squared[found] = (qy[found] - ry[hit])**2 + (qx[found] - rx[hit])**2
    return np.minimum(squared, far)


def boundary_fscores(pred: np.ndarray,
                     label: np.ndarray,
                     num_classes: int,
                     thresholds: Sequence[float] = GSCNN_THRESHOLDS,
                     ignore_index: int = 255) -> np.ndarray:
    """Gated-SCNN's boundary F-measure of one image, ``(thresholds,
    classes)``: the official ``utils/f_boundary.py`` ``db_eval_boundary``
    per class, by one nearest-neighbour query per map.

    Args:
        pred (np.ndarray): ``(H, W)`` predicted classes.
        label (np.ndarray): ``(H, W)`` label, classes or ``ignore_index``.
        num_classes (int): Number of classes.
        thresholds (Sequence[float]): Checked thresholds (see
            ``check_thresholds``). Defaults to ``GSCNN_THRESHOLDS``.
        ignore_index (int): Label value cleared from both masks.
            Defaults to 255.
    """
    ignored = label == ignore_index
    outside = num_classes  # a value of no class
    pred = np.where(ignored, outside, pred.astype(np.int64))
    label = np.where(ignored, outside, label.astype(np.int64))
    radii = [threshold_pixels(t, label.shape) for t in thresholds]
    width = label.shape[1]
    pred_bound = class_boundary_pixels(pred, num_classes)
    label_bound = class_boundary_pixels(label, num_classes)
    n_pred = np.bincount(pred_bound[0], minlength=num_classes)
    n_label = np.bincount(label_bound[0], minlength=num_classes)
    pred_sq = _nearest_squared_distances(pred_bound, label_bound, width,
                                         max(radii))
    label_sq = _nearest_squared_distances(label_bound, pred_bound, width,
                                          max(radii))
    fscores = np.empty((len(radii), num_classes), dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        for t, radius in enumerate(radii):
            pred_match = np.bincount(
                pred_bound[0],
                weights=pred_sq <= radius * radius,
                minlength=num_classes)
            label_match = np.bincount(
                label_bound[0],
                weights=label_sq <= radius * radius,
                minlength=num_classes)
            # the same float arithmetic as the official, in the same order
            precision = pred_match / n_pred.astype(np.float64)
            recall = label_match / n_label.astype(np.float64)
            precision = np.where(n_pred == 0, 1.0, precision)
            precision = np.where((n_pred > 0) & (n_label == 0), 0.0, precision)
            recall = np.where(n_label == 0, 1.0, recall)
            recall = np.where((n_pred == 0) & (n_label > 0), 0.0, recall)
            total = precision + recall
            fscores[t] = np.where(total == 0, 0.0,
                                  2 * precision * recall / total)
    return fscores


@METRICS.register_module()
class BoundaryFScore(LabelMapMetric):
    """Gated-SCNN's boundary F-score (mean over classes) at distance
    thresholds.

    Takikawa et al., "Gated-SCNN: Gated Shape CNNs for Semantic
    Segmentation", ICCV 2019; the DAVIS measure (Perazzi et al., CVPR 2016)
    per class. As the official ``train.py --evaluate``: each class's F over
    the images, then over all classes (``mBF@<threshold>``, percent).

    Args:
        thresholds (Sequence[float]): Below 1 a fraction of the image
            diagonal, rounded up to whole pixels; from 1 on whole pixels.
            Defaults to (0.0005, 0.001875, 0.00375, 0.005), the official
            ones (2, 5, 9 and 12 pixels at 1024x2048).
        ignore_index (int): Label value cleared from both masks.
            Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to None.
    """

    def __init__(self,
                 thresholds: Sequence[float] = GSCNN_THRESHOLDS,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(ignore_index, collect_device, prefix)
        self.thresholds = check_thresholds(thresholds)

    def score(self, pred: np.ndarray, label: np.ndarray,
              num_classes: int) -> np.ndarray:
        return boundary_fscores(pred, label, num_classes, self.thresholds,
                                self.ignore_index)

    def class_means(self, results: List[np.ndarray]) -> np.ndarray:
        """``(thresholds, classes)`` F of each class averaged over images."""
        return np.sum(results, axis=0) / len(results)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        per_class = self.class_means(results)
        keys = [f'{t:g}' for t in self.thresholds]  # 0.0005, 3
        columns = dict(Class=self.dataset_meta['classes'])
        columns.update((f'BF@{k}', np.round(f * 100, 2).tolist())
                       for k, f in zip(keys, per_class))
        log_table('per class results:', columns)
        return OrderedDict((f'mBF@{k}', np.round(f.mean() * 100, 2))
                           for k, f in zip(keys, per_class))
