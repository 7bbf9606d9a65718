"""tools/analysis_tools/seg_boundary_benchmark.py as a user runs it: exit
status, the rows of its --out JSON and the report's lines (the measurement
is tested in-process by tests/analysis/test_boundary_cost.py)."""
import json
import os.path as osp

import pytest

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.slow  # every test here starts a process

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                'seg_boundary_benchmark.py')


def test_cli_report(tmp_path):
    out = tmp_path / 'result.json'
    proc = run_tool([
        TOOL, '--shape', '96', '160', '--runs', '2', '--seed', '3', '--out',
        str(out)
    ],
                    cwd=str(tmp_path),
                    timeout=300)
    result = json.loads(out.read_text())
    assert result['shape'] == [96, 160]
    assert 0 < result['boundary_fraction'] < 1
    for name in ('ours', 'ours_official', 'edt'):
        assert result[name]['runs'] == 2
    printed = proc.stdout  # stderr too: torch may log before the report
    assert (f'label map 96x160, {100 * result["boundary_fraction"]:.1f}% '
            'boundary pixels; the official mode equals the per-class EDT'
            ) in printed.splitlines()
    for label in ('seg_boundary_map ', 'seg_boundary_map official',
                  'per-class scipy EDT'):
        assert f'\n{label}' in printed
    assert 'ratio per-class EDT / seg_boundary_map official: median ' \
        in printed
