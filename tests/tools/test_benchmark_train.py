"""tools/analysis_tools/benchmark_train.py: its arguments, and one run as a
user runs it (exit status, report, JSON). What it measures is tested in
tests/analysis/test_training_cost.py."""
import json

import pytest

from conftest import REPO_ROOT, load_tool, run_tool

bench = load_tool('analysis_tools', 'benchmark_train.py')
TOOL = f'{REPO_ROOT}/tools/analysis_tools/benchmark_train.py'
CONFIGS = f'{REPO_ROOT}/configs'
GSTO = f'{CONFIGS}/gsto/gsto_hrnet-w18s_1xb8-600_synthetic-urbanisation-' \
    '128x128.py'
FCN = f'{CONFIGS}/hrnet/fcn_hr18s-v1_1xb8-600_synthetic-urbanisation-' \
    '128x128.py'


@pytest.mark.slow
def test_cli_against_a_baseline(tmp_path):
    out_json = tmp_path / 'r.json'
    out = run_tool([
        TOOL, GSTO, '--baseline', FCN, '--shape', '64', '64', '--batch', '2',
        '--iters', '1', '--warmup', '0', '--threads', '1', '--no-memory',
        '--out',
        str(out_json)
    ],
                   cwd=str(tmp_path),
                   timeout=600).stdout
    r = json.loads(out_json.read_text())
    assert (r['batch'], r['shape'], r['threads']) == (2, [64, 64], 1)
    assert 'memory' not in r['steps']['model']
    assert (f'ratio model / baseline (median): {r["ratios"]["median"]:.3f}'
            in out)
    assert f'results written to {out_json}' in out


def test_arguments(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--amp'])
    assert '--amp needs --device cuda' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--baseline', GSTO, '--official'])
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--official', '--amp', '--device', 'cuda'])
    assert '--official times the head in float32 only' in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        bench.parse_args([FCN, '--batch', '0'])
    assert '--batch must be >= 1, got 0' in capsys.readouterr().err
