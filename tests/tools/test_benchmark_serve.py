"""tools/analysis_tools/benchmark_serve.py: its table, and as a user runs
it, a row per
backend and client count in its --out JSON, every server response checked
against the library (the server a real process on 127.0.0.1); without the
runtime it says how to install it."""
import json
import os.path as osp
import sys

import pytest

from conftest import REPO_ROOT, import_deploy_package, load_tool, run_tool

import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_serve.py')


@pytest.mark.slow
def test_rows(tiny_onnx, synthetic_root, tmp_path):
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
    result = json.loads(out.read_text())
    assert result['images'] == 4
    assert [(r['backend'], r['clients'])
            for r in result['rows']] == [('in-process Segmenter', 1),
                                         ('in-process Segmenter', 2),
                                         ('server --workers 1', 1),
                                         ('server --workers 1', 2)]
    for row in result['rows']:
        assert row['requests'] == 6
        assert 0 < row['p50_ms'] <= row['p99_ms']
        assert row['rps'] > 0
        assert f'| {row["backend"]}' in proc.stdout  # the table is printed


class HiddenRuntime:
    """An import finder for which mmext_pixel_runtime is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'mmext_pixel_runtime':
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)


def test_without_the_runtime_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sys, 'meta_path', [HiddenRuntime()] + sys.meta_path)
    for name in list(sys.modules):
        if name.startswith(('mmext_pixel_runtime', 'mmext_pixel.analysis.')):
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(SystemExit) as exit_:
        load_tool('analysis_tools', 'benchmark_serve.py')
    assert 'pip install -e "./runtime[serve]"' in str(exit_.value)


def test_table():
    rows = [
        dict(
            backend='in-process Segmenter',
            clients=1,
            requests=6,
            rps=12.345,
            p50_ms=80.04,
            p99_ms=95.16),
        dict(
            backend='server --workers 1',
            clients=2,
            requests=6,
            rps=3.0,
            p50_ms=600.0,
            p99_ms=700.55)
    ]
    table = load_tool('analysis_tools',
                      'benchmark_serve.py').serve_load_table(rows)
    cells = [[cell.strip() for cell in line.split('|')[1:-1]]
             for line in table.splitlines()]
    assert cells[0] == ['backend', 'clients', 'requests/s', 'p50 ms', 'p99 ms']
    # Markdown's alignment row: the backend to the left, numbers right
    assert cells[1][0].startswith(':') and all(
        c.endswith(':') and not c.startswith(':') for c in cells[1][1:])
    assert cells[2:] == [
        ['in-process Segmenter', '1', '12.3', '80.0', '95.2'],
        ['server --workers 1', '2', '3.0', '600.0', '700.5'],
    ]
