"""mmext_pixel.analysis.boundary_cost in-process: the boundary targets'
official mode checked against the per-class EDT, the boundary F-score
checked against the official algorithm, and the rows timed (no timing
asserts). The command lines are tests/tools/test_seg_boundary_benchmark.py's
and test_boundary_fscore_benchmark.py's."""
import numpy as np
import pytest

from mmext_pixel.analysis import boundary_cost
from mmext_pixel.analysis.boundary_cost import (time_boundary_fscore,
                                                time_boundary_targets)


def test_targets_check_official_equality():
    result = time_boundary_targets((96, 160), runs=2, seed=3)
    assert result['shape'] == (96, 160)
    assert 0 < result['boundary_fraction'] < 1
    for name in ('ours', 'ours_official', 'edt'):
        assert result[name]['runs'] == len(result[name]['times_ms']) == 2
        assert 0 < result[name]['min_ms'] <= result[name]['median_ms']


def test_targets_refuse_a_differing_official_mode(monkeypatch):
    monkeypatch.setattr(boundary_cost, 'per_class_edt',
                        lambda seg, radius, num_classes: np.zeros_like(seg))
    with pytest.raises(AssertionError, match='official mode differs'):
        time_boundary_targets((64, 96), runs=1)


def test_fscore_equals_the_official():
    result = time_boundary_fscore((48, 96), 6, (0.02, 3), runs=2, seed=1)
    assert result['radii'] == [3, 3]
    assert result['max_abs_diff'] <= 1e-9
    assert np.asarray(result['fscores']).shape == (2, 6)
    assert result['ours']['runs'] == result['official']['runs'] == 2
    assert result['ratio'] == pytest.approx(result['ours']['median_ms'] /
                                            result['official']['median_ms'])
