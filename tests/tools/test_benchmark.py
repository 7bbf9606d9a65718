"""tools/analysis_tools/benchmark.py: its arguments, its --compare report
and JSON (the tool's main, in-process) and one run as a user runs it, from
the repository root (--official). What it measures is tested in
tests/analysis/test_latency.py."""
import json
from pathlib import Path

import pytest

from conftest import load_tool, run_tool
from mmext_pixel.analysis import latency

REPO_ROOT = Path(__file__).resolve().parents[2]
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')
CITYSCAPES_V2 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py')
DGCN = 'configs/dgcn/dgcn_r50-d8_8xb1-50k_cityscapes-832x832.py'

benchmark = load_tool('analysis_tools', 'benchmark.py')


def test_official_and_compare_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args([DGCN, '--official', '--compare', CITYSCAPES_V1])
    assert 'not allowed with argument' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.parse_args([DGCN, '--module-runs', '0'])
    assert '--module-runs must be >= 1, got 0' in capsys.readouterr().err


def test_compare_report_and_json(tmp_path, capsys, monkeypatch):
    """Also: the forward passes of the compared models alternate, so that a
    drift of the machine's load hits both."""
    calls = []
    real_time_alternately = latency.time_alternately

    def spy(runners, runs, warmup=0):
        wrapped = {
            name: (lambda n=name, fn=fn: calls.append(n) or fn())
            for name, fn in runners.items()
        }
        return real_time_alternately(wrapped, runs, warmup)

    monkeypatch.setattr(latency, 'time_alternately', spy)
    out_json = tmp_path / 'bench.json'
    returned = benchmark.main([
        CITYSCAPES_V1, '--compare', CITYSCAPES_V2, '--shape', '64', '64',
        '--warmup', '1', '--runs', '2', '--out',
        str(out_json)
    ])
    out = capsys.readouterr().out
    assert calls == [0, 1] * 3
    summary = json.loads(out_json.read_text())
    assert summary['latency_ratios'] == returned['latency_ratios']
    first, second = summary['results']
    assert first['config'] == CITYSCAPES_V1
    assert second['config'] == CITYSCAPES_V2
    for r in (first, second):
        assert len(r['times_ms']) == 2 and r['mean_ms'] > 0
        assert r['alternating'] and r['peak_memory_mib'] > 0
        assert f'{r["config"]}: input (H, W) (64, 64), cpu' in out
    assert summary['latency_ratio'] == pytest.approx(second['mean_ms'] /
                                                     first['mean_ms'])
    assert summary['latency_ratios']['min'] == pytest.approx(second['min_ms'] /
                                                             first['min_ms'])
    ratios = summary['latency_ratios']
    assert ('latency ratio fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py / '
            'fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py (runs '
            f'alternating): mean {ratios["mean"]:.3f}, median '
            f'{ratios["median"]:.3f}, min {ratios["min"]:.3f}') in out
    assert f'results written to {out_json}' in out


@pytest.mark.slow
def test_cli_runs_from_the_repository_root(tmp_path):
    out_json = tmp_path / 'r.json'
    out = run_tool([
        'tools/analysis_tools/benchmark.py', DGCN, '--official', '--shape',
        '65', '97', '--runs', '1', '--warmup', '0', '--threads', '1', '--out',
        str(out_json)
    ],
                   cwd=REPO_ROOT,
                   timeout=300).stdout
    assert f'{DGCN} against the official arithmetic: input (H, W) (65, 97)' \
        in out
    assert 'ratio ours / official: median' in out
    rows = json.loads(out_json.read_text())['rows']
    assert list(rows) == ['head']
    assert f'head: max abs diff {rows["head"]["max_abs_diff"]:.1e}' in out
