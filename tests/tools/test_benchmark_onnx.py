"""tools/analysis_tools/benchmark_onnx.py as a user runs it: exit status,
the printed table and the JSON of --out (the measurements themselves are
tested in-process by tests/deployment/test_ort_latency.py)."""
import json
import os.path as osp
import re

from conftest import DEMO_CONFIG, REPO_ROOT, import_deploy_package, run_tool

import_deploy_package('onnxruntime')

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_onnx.py')
ROW = re.compile(r'^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$')


def test_cli_table_and_out(tmp_path):
    out = tmp_path / 'sub' / 'bench.json'
    proc = run_tool([
        TOOL, DEMO_CONFIG, '--shape', '32', '48', '--threads', '1', '--runs',
        '2', '--warmup', '0', '--no-compile', '--out',
        str(out)
    ],
                    cwd=str(tmp_path),
                    timeout=300)
    lines = proc.stdout.splitlines()
    start = lines.index('| backend | median ms | min ms | median / eager |')
    assert 'input 1x3x32x48; CPU, 1 threads; 2 interleaved runs after 0 ' \
        'warm-up' in lines[start - 2]
    rows = lines[start + 2:start + 5]
    assert [ROW.match(row).group(1)
            for row in rows[:2]] == ['PyTorch eager', 'onnxruntime']
    assert rows[2] == '| torch.compile | n/a: not run (--no-compile) | | |'
    assert f'results written to {out}' in proc.stdout
    result = json.loads(out.read_text())
    assert result['config'] == DEMO_CONFIG and result['runs'] == 2
    ratio = result['backends']['onnxruntime']['ratio']
    assert f'onnxruntime / eager {ratio:.3f}: goal (<= 0.75)' in proc.stdout
