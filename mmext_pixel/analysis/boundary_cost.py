"""What Gated-SCNN's boundary ground truth and boundary F-score cost, ours
against the official arithmetic, on Cityscapes-like maps (both from
``mmext_pixel.testing``): ``tools/analysis_tools/seg_boundary_benchmark.py``
and ``boundary_fscore_benchmark.py``."""
import os
import statistics
import timeit
from typing import Callable, Dict, Sequence

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


def _time_in_turn(calls: Dict[str, Callable[[], object]],
                  runs: int) -> Dict[str, dict]:
    """``median_ms``, ``min_ms``, ``runs`` and ``times_ms`` of each call,
    one call of each in turn, so that drifts of the load hit them alike.

    Each call is timed by the standard library's ``timeit``:
    ``torch.utils.benchmark.Timer`` adds untimed warm-up calls to every
    measurement (two per ``timeit``, one per ``blocked_autorange``), which
    would triple a run of the official F-score (minutes per 1024x2048 map).
    """
    times = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            times[name].append(timeit.timeit(call, number=1) * 1000)
    return {
        name: dict(
            median_ms=statistics.median(t),
            min_ms=min(t),
            runs=runs,
            times_ms=t)
        for name, t in times.items()
    }


def time_line(name: str, stats: dict) -> str:
    """One line of the report: the median and minimum time of ``name``."""
    return (f'{name:24s} median {stats["median_ms"]:10.2f} ms  '
            f'min {stats["min_ms"]:10.2f} ms  ({stats["runs"]} runs)')


def time_boundary_targets(shape: Sequence[int] = (1024, 2048),
                          runs: int = 5,
                          num_classes: int = 19,
                          seed: int = 0) -> dict:
    """Check ``seg_boundary_map(official=True)`` equal to the official
    per-class distance transforms, then time it, our default mode and the
    official (radius 2): ``shape``, ``boundary_fraction`` and the times of
    ``ours``, ``ours_official`` and ``edt``.

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
    times = _time_in_turn(
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
    """Score one pair by ``boundary_fscores`` and by the official per-class,
    per-threshold disk dilations, and time both in turn: ``shape``,
    ``thresholds``, ``radii`` (pixels), ``fscores`` (ours), ``max_abs_diff``
    from the official's, the times of ``ours`` and ``official``, their
    ``ratio`` and the ``load`` averages before and after.

    Args:
        shape (Sequence[int]): Map size. Defaults to (1024, 2048).
        num_classes (int): Number of classes. Defaults to 19.
        thresholds (Sequence[float]): Defaults to the official ones.
        runs (int): Timed runs of each (the official takes minutes per
            1024x2048 map on one core). Defaults to 1.
        seed (int): Random seed of the maps. Defaults to 0.
    """
    thresholds = check_thresholds(thresholds)
    pred, label = cityscapes_like_pair(shape, num_classes, seed)
    load = [tuple(round(v, 2) for v in os.getloadavg())]
    scores = {}
    times = _time_in_turn(
        {
            name: lambda name=name, fn=fn: scores.__setitem__(
                name, fn(pred, label, num_classes, thresholds))
            for name, fn in (('ours', boundary_fscores),
                             ('official', official_boundary_fscores))
        }, runs)
    load.append(tuple(round(v, 2) for v in os.getloadavg()))
    return dict(
        shape=tuple(shape),
        thresholds=thresholds,
        radii=[threshold_pixels(t, shape) for t in thresholds],
        fscores=np.asarray(scores['ours']).tolist(),
        max_abs_diff=float(np.abs(scores['ours'] - scores['official']).max()),
        **times,
        ratio=times['ours']['median_ms'] / times['official']['median_ms'],
        load=load)
