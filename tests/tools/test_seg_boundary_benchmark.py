"""tools/analysis_tools/seg_boundary_benchmark.py as a user runs it: exit
status and the printed report (the measurement is tested in-process by
tests/analysis/test_boundary_targets.py)."""
import os.path as osp

import pytest

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.slow  # every test here starts a process

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                'seg_boundary_benchmark.py')


def test_cli_report(tmp_path):
    proc = run_tool(
        [TOOL, '--shape', '96', '160', '--runs', '2', '--seed', '3'],
        cwd=str(tmp_path),
        timeout=300)
    printed = proc.stdout
    assert printed.startswith('label map 96x160, ')
    assert 'the official mode equals the per-class EDT' in printed
    assert printed.count(' ms  min ') == 3
    for label in ('seg_boundary_map', 'seg_boundary_map official',
                  'per-class scipy EDT'):
        assert label in printed
    assert 'ratio per-class EDT / seg_boundary_map official: median ' \
        in printed
