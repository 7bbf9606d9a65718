"""tools/analysis_tools/benchmark_serve.py as a user runs it: a table row
per backend and client count, every server response checked against the
library (the server a real process on 127.0.0.1)."""
import json
import os.path as osp

import pytest

from conftest import REPO_ROOT, import_deploy_package, run_tool

import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_serve.py')


@pytest.mark.slow
def test_table(tiny_onnx, synthetic_root, tmp_path):
    images = synthetic_root / 'urbanisation' / 'x' / 'val'
    out = tmp_path / 'result.json'
    proc = run_tool([
        TOOL, tiny_onnx['whole'],
        str(images), '--clients', '1', '2', '--requests', '6', '--workers',
        '1', '--threads', '1', '--out',
        str(out)
    ],
                    cwd=REPO_ROOT,
                    timeout=300)
    rows = [
        line for line in proc.stdout.splitlines() if line.startswith('| ')
        and 'backend' not in line and '---' not in line
    ]
    assert [r.split(' | ')[:2]
            for r in rows] == [['| in-process Segmenter', '1'],
                               ['| in-process Segmenter', '2'],
                               ['| server --workers 1', '1'],
                               ['| server --workers 1', '2']]
    result = json.loads(out.read_text())
    assert result['images'] == 4
    for row in result['rows']:
        assert row['requests'] == 6
        assert 0 < row['p50_ms'] <= row['p99_ms']
        assert row['rps'] > 0
