"""mmext_pixel.analysis.boundary_targets in-process: the official mode is
checked against the per-class EDT and the three are timed (no timing
asserts). The command line is tests/tools/test_seg_boundary_benchmark.py's."""
import numpy as np
import pytest

from mmext_pixel.analysis.boundary_targets import (benchmark,
                                                   cityscapes_like_map)


def test_benchmark_checks_official_equality():
    result = benchmark((96, 160), runs=2, seed=3)
    assert result['shape'] == (96, 160)
    assert 0 < result['boundary_fraction'] < 1
    for name in ('ours', 'ours_official', 'edt'):
        assert result[name]['runs'] == 2
        assert 0 < result[name]['min_ms'] <= result[name]['median_ms']


def test_benchmark_refuses_a_differing_official_mode(monkeypatch):
    from mmext_pixel.analysis import boundary_targets
    monkeypatch.setattr(boundary_targets, 'per_class_edt',
                        lambda seg, radius, num_classes: np.zeros_like(seg))
    with pytest.raises(AssertionError, match='official mode differs'):
        benchmark((64, 96), runs=1)


def test_cityscapes_like_map():
    seg = cityscapes_like_map((96, 160), num_classes=19, seed=3)
    assert seg.shape == (96, 160) and seg.dtype == np.uint8
    assert (seg[:, :8] == 255).all()  # a void band
    assert set(np.unique(seg)) - {255} <= set(range(19))
    np.testing.assert_array_equal(
        seg, cityscapes_like_map((96, 160), num_classes=19, seed=3))
