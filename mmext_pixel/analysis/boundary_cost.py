"""Gated-SCNN's boundary targets and F-score, ours against the official
arithmetic on Cityscapes-like maps (``*boundary*_benchmark.py``)."""
from typing import Sequence

import numpy as np

from mmext_pixel.datasets.transforms import seg_boundary_map
from mmext_pixel.evaluation.metrics.boundary_fscore import (GSCNN_THRESHOLDS,
                                                            boundary_fscores,
                                                            check_thresholds,
                                                            threshold_pixels)
from mmext_pixel.testing.boundary_fscore_reference import \
    official_boundary_fscores
from mmext_pixel.testing.cityscapes_like import cityscapes_like_pair
from mmext_pixel.testing.seg_boundary_reference import per_class_edt

from .timing import load_average, time_in_turn


def time_boundary_targets(shape: Sequence[int] = (1024, 2048),
                          runs: int = 5,
                          num_classes: int = 19,
                          seed: int = 0) -> dict:
    """Check ``seg_boundary_map(official=True)`` against the official
    per-class EDT (radius 2), then time it, our default and the EDT in
    turn: ``shape``, ``boundary_fraction``, ``ours``, ``ours_official`` and
    ``edt``.

    Args:
        shape (Sequence[int]): Map size. Defaults to (1024, 2048).
        runs (int): Timed runs of each. Defaults to 5.
        num_classes (int): Number of classes. Defaults to 19.
        seed (int): Random seed of the map. Defaults to 0.
    """
    _, seg = cityscapes_like_pair(shape, num_classes, seed, 8, 8, False)
    official = seg_boundary_map(seg, 2, 255, official=True)
    if not np.array_equal(official, per_class_edt(seg, 2, num_classes)):
        raise AssertionError('official mode differs from the per-class EDT')
    times = time_in_turn(
        dict(
            ours=lambda: seg_boundary_map(seg, 2),
            ours_official=lambda: seg_boundary_map(seg, 2, official=True),
            edt=lambda: per_class_edt(seg, 2, num_classes)), runs)
    return dict(
        shape=tuple(shape),
        boundary_fraction=float((official == 1).mean()),
        **times)


def time_boundary_fscore(shape: Sequence[int] = (1024, 2048),
                         num_classes: int = 19,
                         thresholds: Sequence[float] = GSCNN_THRESHOLDS,
                         runs: int = 1,
                         seed: int = 0) -> dict:
    """Score one pair by ``boundary_fscores`` and the official disk
    dilations in turn: ``shape``, ``thresholds``, ``radii``, ``fscores``,
    ``max_abs_diff``, ``ours``, ``official``, ``ratio`` and ``load``.

    Args:
        shape (Sequence[int]): Map size. Defaults to (1024, 2048).
        num_classes (int): Number of classes. Defaults to 19.
        thresholds (Sequence[float]): Defaults to the official ones.
        runs (int): Timed runs of each (official: minutes). Defaults to 1.
        seed (int): Random seed of the maps. Defaults to 0.
    """
    thresholds = check_thresholds(thresholds)
    pred, label = cityscapes_like_pair(shape, num_classes, seed)
    load, scores = [load_average()], {}
    times = time_in_turn(
        {
            name: lambda name=name, fn=fn: scores.__setitem__(
                name, fn(pred, label, num_classes, thresholds))
            for name, fn in (('ours', boundary_fscores),
                             ('official', official_boundary_fscores))
        }, runs)
    load.append(load_average())
    return dict(
        shape=tuple(shape),
        thresholds=thresholds,
        radii=[threshold_pixels(t, shape) for t in thresholds],
        fscores=np.asarray(scores['ours']).tolist(),
        max_abs_diff=float(np.abs(scores['ours'] - scores['official']).max()),
        **times,
        ratio=times['ours']['median_ms'] / times['official']['median_ms'],
        load=load)
