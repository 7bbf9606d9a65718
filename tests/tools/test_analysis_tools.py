"""tools/analysis_tools/benchmark.py and the input shapes of the analysis
tools (get_flops.py and browse_dataset.py are tested in
tests/analysis/test_complexity.py, tests/visualization/
test_dataset_browser.py and their command lines in tests/tools/).

The tool's functions are called in-process (loaded from its file, as
tools/ is no package), and the tool is also run once as a subprocess from
the repository root, as a user would run it. Models are measured at small
input sizes on CPU.
"""
import json
import re
import statistics
from pathlib import Path

import pytest
import torch

from conftest import load_tool, run_tool
from mmext_pixel.utils import analysis
from mmext_pixel.utils.run_config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / 'tools' / 'analysis_tools'
CITYSCAPES_V1 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py')
CITYSCAPES_V2 = str(
    REPO_ROOT / 'configs/hrnet/fcn_hr18s-v2_4xb2-80k_cityscapes-512x1024.py')
benchmark = load_tool('analysis_tools', 'benchmark.py')


def _run(args, cwd):
    return run_tool([str(a) for a in args], cwd=cwd, timeout=300).stdout


def test_shape_argument():
    cfg = load_config(CITYSCAPES_V1)
    assert analysis.input_shape(cfg) == (1024, 2048)
    assert analysis.input_shape(cfg, [512]) == (512, 512)
    with pytest.raises(ValueError, match='--shape'):
        analysis.input_shape(cfg, [1, 2, 3])
    with pytest.raises(ValueError, match='--shape'):
        analysis.input_shape(cfg, [0, 64])


# --------------------------------------------------------------- benchmark


def test_benchmark_latencies():
    cfg = load_config(CITYSCAPES_V1)
    result = benchmark.benchmark(cfg, (64, 64), warmup=1, runs=3)
    times = result['times_ms']
    assert len(times) == 3 and all(t > 0 for t in times)
    assert result['mean_ms'] == pytest.approx(statistics.fmean(times))
    assert result['median_ms'] == pytest.approx(statistics.median(times))
    assert result['min_ms'] == min(times) <= result['median_ms']
    assert result['peak_memory_mib'] > 0
    assert 0 <= result['peak_memory_increase_mib'] <= result['peak_memory_mib']
    assert result['device'] == 'cpu' and result['input_shape'] == (64, 64)


def test_benchmark_arguments():
    cfg = load_config(CITYSCAPES_V1)
    with pytest.raises(ValueError, match='runs'):
        benchmark.benchmark(cfg, (64, 64), warmup=0, runs=0)
    with pytest.raises(ValueError, match='device'):
        benchmark.benchmark(cfg, (64, 64), device='tpu')
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='CUDA'):
            benchmark.benchmark(cfg, (64, 64), device='cuda')


def test_benchmark_cli_compare(tmp_path):
    out_json = tmp_path / 'bench.json'
    out = _run([
        TOOLS_DIR / 'benchmark.py', CITYSCAPES_V1, '--compare', CITYSCAPES_V2,
        '--shape', '64', '64', '--warmup', '1', '--runs', '2', '--out',
        out_json
    ], REPO_ROOT)
    summary = json.loads(out_json.read_text())
    first, second = summary['results']
    assert first['config'] == CITYSCAPES_V1
    assert second['config'] == CITYSCAPES_V2
    for r in (first, second):
        assert len(r['times_ms']) == 2 and r['mean_ms'] > 0
        assert r['alternating'] and r['peak_memory_mib'] > 0
    assert summary['latency_ratio'] == pytest.approx(second['mean_ms'] /
                                                     first['mean_ms'])
    assert summary['latency_ratios']['min'] == pytest.approx(second['min_ms'] /
                                                             first['min_ms'])
    printed = re.search(
        r'latency ratio .* \(runs alternating\): mean ([\d.]+), '
        r'median ([\d.]+), min ([\d.]+)', out)
    for stat, value in zip(('mean', 'median', 'min'), printed.groups()):
        assert float(value) == pytest.approx(
            summary['latency_ratios'][stat], abs=1e-3)


def test_compare_runs_the_two_models_in_turn(monkeypatch):
    """The forward passes of the compared models alternate: a drift of the
    machine's load hits both."""
    calls = []
    real_time_alternately = benchmark.time_alternately

    def spy(runners, runs, warmup=0, device='cpu'):
        wrapped = {
            name: (lambda n=name, fn=fn: calls.append(n) or fn())
            for name, fn in runners.items()
        }
        return real_time_alternately(wrapped, runs, warmup, device)

    monkeypatch.setattr(benchmark, 'time_alternately', spy)
    cfgs = [load_config(CITYSCAPES_V1), load_config(CITYSCAPES_V2)]
    times = benchmark.compare_latency(cfgs, (64, 64), warmup=1, runs=2)
    assert calls == [0, 1] * 3
    assert [len(t) for t in times] == [2, 2]
