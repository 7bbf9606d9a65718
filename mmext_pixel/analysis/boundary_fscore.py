"""Gated-SCNN's boundary F-score: ours against the official algorithm.

The logic of ``tools/analysis_tools/boundary_fscore_benchmark.py``: a
Cityscapes-like label map and a prediction with displaced and missed
segments, scored by ``boundary_fscores`` and by the official per-class,
per-threshold disk dilations (``mmext_pixel.testing``), checked equal and
timed in turn.
"""
from typing import Sequence, Tuple

import cv2
import numpy as np

from mmext_pixel.analysis.timing import (load_average, summarise,
                                         time_alternately)
from mmext_pixel.evaluation.metrics.boundary_fscore import (GSCNN_THRESHOLDS,
                                                            boundary_fscores,
                                                            check_thresholds,
                                                            threshold_pixels)
from mmext_pixel.testing.boundary_fscore_reference import \
    official_boundary_fscores


def cityscapes_like_pair(shape: Sequence[int] = (1024, 2048),
                         num_classes: int = 19,
                         seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """A label map of random polygons on a class-0 "road" with void (255)
    regions, and a prediction of it whose polygons are displaced by a few
    pixels, some in another class and some missed.

    Args:
        shape (Sequence[int]): ``(height, width)``. Defaults to (1024, 2048).
        num_classes (int): Number of classes. Defaults to 19.
        seed (int): Random seed. Defaults to 0.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(pred, label)``, uint8.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    label = np.zeros((h, w), np.uint8)
    pred = np.zeros((h, w), np.uint8)
    for _ in range(400):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        size = rng.integers(4, max(max(h, w) // 8, 5))
        angles = np.sort(rng.random(rng.integers(3, 9)) * 2 * np.pi)
        radii = size * (0.4 + 0.6 * rng.random(angles.size))
        points = np.stack(
            [cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)
        cls = int(rng.integers(0, num_classes))
        cv2.fillPoly(label, [points.astype(np.int32)], cls)
        if rng.random() < 0.1:
            continue  # missed by the prediction
        if rng.random() < 0.1:
            cls = int(rng.integers(0, num_classes))
        moved = points + rng.normal(0, 4, points.shape)
        cv2.fillPoly(pred, [moved.astype(np.int32)], cls)
    label[-h // 10:, w // 4:3 * w // 4] = 255  # an ego-vehicle-like void
    label[:, :w // 256 + 1] = 255
    return pred, label


def benchmark(shape: Sequence[int] = (1024, 2048),
              num_classes: int = 19,
              thresholds: Sequence[float] = GSCNN_THRESHOLDS,
              runs: int = 1,
              seed: int = 0) -> dict:
    """Score one pair both ways, check them equal, time both in turn.

    Args:
        shape (Sequence[int]): Map size. Defaults to (1024, 2048).
        num_classes (int): Number of classes. Defaults to 19.
        thresholds (Sequence[float]): Defaults to the official ones.
        runs (int): Timed runs of each (the official takes minutes per
            1024x2048 map on one core). Defaults to 1.
        seed (int): Random seed of the maps. Defaults to 0.

    Returns:
        dict: ``shape``, ``radii`` (pixels), ``max_abs_diff`` of the F
        values, ``fscores`` (ours), ``ours`` and ``official`` (``summarise``
        of the times), ``ratio`` (median ours / official) and ``load``
        (load averages before and after).
    """
    thresholds = check_thresholds(thresholds)
    pred, label = cityscapes_like_pair(shape, num_classes, seed)
    load_before = load_average()
    outputs = {}

    def runner(name, fn):

        def run():
            outputs[name] = fn(pred, label, num_classes, thresholds)

        return run

    times = time_alternately(
        dict(
            ours=runner('ours', boundary_fscores),
            official=runner('official', official_boundary_fscores)), runs)
    ours, official = summarise(times['ours']), summarise(times['official'])
    return dict(
        shape=tuple(shape),
        radii=[threshold_pixels(t, shape) for t in thresholds],
        thresholds=thresholds,
        max_abs_diff=float(
            np.abs(outputs['ours'] - outputs['official']).max()),
        fscores=outputs['ours'],
        ours=ours,
        official=official,
        ratio=ours['median_ms'] / official['median_ms'],
        load=(load_before, load_average()))
