"""Gated-SCNN's boundary ground truth (``seg_boundary_map``) against the
approach of the official ``datasets/edge_utils.py`` (a one-hot map and, for
every class, two scipy Euclidean distance transforms of the padded mask), on
a Cityscapes-like label map: the official mode is checked to equal the
distance transforms, then the three are timed in turn
(``tools/analysis_tools/seg_boundary_benchmark.py`` is its command line).
"""
import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from mmext_pixel.analysis.timing import summarise, time_alternately
from mmext_pixel.datasets.transforms import seg_boundary_map


def cityscapes_like_map(shape=(1024, 2048), num_classes=19, seed=0):
    """Random polygons on a class-0 background, with void regions."""
    rng = np.random.default_rng(seed)
    h, w = shape
    seg = np.zeros(shape, np.uint8)
    for _ in range(400):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        size = rng.integers(8, max(h, w) // 8)
        angles = np.sort(rng.random(rng.integers(3, 9)) * 2 * np.pi)
        radii = size * (0.4 + 0.6 * rng.random(angles.size))
        pts = np.stack(
            [cx + radii * np.cos(angles), cy + radii * np.sin(angles)],
            axis=1).astype(np.int32)
        cv2.fillPoly(seg, [pts], int(rng.integers(0, num_classes)))
    seg[-h // 10:, w // 4:3 * w // 4] = 255  # an ego-vehicle-like void
    seg[:, :8] = 255
    return seg


def per_class_edt(seg, radius=2, num_classes=19):
    """Edge map from two distance transforms per class (train ids 1..N)."""
    edge = np.zeros(seg.shape, bool)
    for c in range(1, num_classes + 1):
        mask = np.pad((seg == c).astype(np.uint8), 1)
        dist = distance_transform_edt(mask) + distance_transform_edt(1 - mask)
        dist = dist[1:-1, 1:-1]
        edge |= (dist > 0) & (dist <= radius)
    return edge.astype(np.uint8)


ROWS = dict(
    ours='seg_boundary_map',
    ours_official='seg_boundary_map official',
    edt='per-class scipy EDT')


def benchmark(shape=(1024, 2048), runs=5, num_classes=19, seed=0):
    """Check the official mode against the EDT, then time the three.

    Returns:
        dict: ``shape``, ``boundary_fraction`` and per row of ``ROWS`` the
        ``summarise`` of its times.
    """
    seg = cityscapes_like_map(shape, num_classes, seed)
    ours_official = seg_boundary_map(seg, 2, 255, official=True)
    reference = per_class_edt(seg, 2, num_classes)
    if not np.array_equal(ours_official, reference):
        raise AssertionError('official mode differs from the per-class EDT')
    times = time_alternately(
        dict(
            ours=lambda: seg_boundary_map(seg, 2),
            ours_official=lambda: seg_boundary_map(seg, 2, official=True),
            edt=lambda: per_class_edt(seg, 2, num_classes)), runs)
    return dict(
        shape=tuple(shape),
        boundary_fraction=float((ours_official == 1).mean()),
        **{name: summarise(t)
           for name, t in times.items()})
