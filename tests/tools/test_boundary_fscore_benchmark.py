"""tools/analysis_tools/boundary_fscore_benchmark.py as a user runs it: exit
status, its --out JSON and the report's lines (the measurement is tested
in-process by tests/analysis/test_boundary_cost.py)."""
import json

import pytest

from conftest import REPO_ROOT, run_tool


@pytest.mark.slow
def test_benchmark_cli(tmp_path):
    out = tmp_path / 'result.json'
    proc = run_tool([
        'tools/analysis_tools/boundary_fscore_benchmark.py', '--shape', '48',
        '96', '--num-classes', '6', '--thresholds', '0.02', '3', '--out',
        str(out)
    ], REPO_ROOT)
    result = json.loads(out.read_text())
    assert result['thresholds'] == [0.02, 3] and result['radii'] == [3, 3]
    assert result['max_abs_diff'] == 0
    assert 'thresholds 0.02 -> 3 px, 3 -> 3 px' in proc.stdout
    assert 'largest F difference 0' in proc.stdout
    assert 'ratio ours / official' in proc.stdout
