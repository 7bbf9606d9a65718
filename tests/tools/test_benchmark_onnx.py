"""tools/analysis_tools/benchmark_onnx.py on the small demo HRNet at 32x48,
as a user runs it: the results of --out (positive timings, the
torch.compile column n/a with the reason, the operator profiles) and the
printed lines that state them. No timing asserts. The torch.compile and
int8 columns are checked in-process by tests/deployment/test_ort_latency.py.
"""
import json
import os.path as osp

import pytest

from conftest import DEMO_CONFIG, REPO_ROOT, import_deploy_package, run_tool

pytestmark = pytest.mark.slow  # every test here starts a process

import_deploy_package('onnxruntime')

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_onnx.py')


def test_table_and_profile(tmp_path):
    out = tmp_path / 'sub' / 'bench.json'
    proc = run_tool([
        TOOL, DEMO_CONFIG, '--shape', '32', '48', '--threads', '1', '--runs',
        '2', '--warmup', '1', '--compile-backend', 'no_such_backend',
        '--profile', '1', '--out',
        str(out)
    ],
                    cwd=str(tmp_path),
                    timeout=300)
    text = proc.stdout
    assert f'results written to {out}' in text
    result = json.loads(out.read_text())
    assert result['config'] == DEMO_CONFIG and result['runs'] == 2
    assert result['warmup'] == 1 and result['shape'] == [32, 48]
    assert result['threads'] == 1 and result['input_shapes'] == {
        'input': [1, 3, 32, 48]
    }
    assert 'input 1x3x32x48; CPU, 1 threads; 2 interleaved runs after 1 ' \
        'warm-up' in text
    backends = result['backends']
    assert list(backends) == ['PyTorch eager', 'onnxruntime', 'torch.compile']
    for name in ('PyTorch eager', 'onnxruntime'):
        times = backends[name]['times_ms']
        assert len(times) == 2 and min(times) > 0
        assert 0 < backends[name]['min_ms'] <= backends[name]['median_ms']
        assert f'| {name} ' in text
    assert backends['PyTorch eager']['ratio'] == 1.0
    # the compiler's failure is a column entry with its reason
    error = backends['torch.compile']['error']
    assert error.startswith('n/a: ') and 'no_such_backend' in error
    assert error in text
    ratio = backends['onnxruntime']['ratio']
    goal = 'met' if ratio <= 0.75 else 'not met'
    assert f'onnxruntime / eager {ratio:.3f}: goal (<= 0.75) {goal}' in text

    # operator time per type, convolutions among them
    ort = result['profile']['onnxruntime']
    assert ort['ops']['Conv'] > 0 and min(ort['ops'].values()) >= 0
    eager = result['profile']['eager']
    assert any(k.startswith('aten::') for k in eager['ops'])
    assert 'onnxruntime (per run):' in text and '| Conv ' in text
    # per kernel size: the demo HRNet has 3x3 and 1x1 convolutions; its
    # multiply-adds add up to those of its convolutions, from the shapes
    assert set(ort['conv']) == set(eager['conv']) == {'1x1', '3x3'}
    conv_ms = sum(v['ms'] for v in ort['conv'].values())
    assert conv_ms == pytest.approx(ort['ops']['Conv'] +
                                    ort['ops'].get('FusedConv', 0))
    stem = 64 * 16 * 24 * 3 * 3 * 3  # the first conv: 3 -> 64, stride 2
    assert ort['conv']['3x3']['macs'] > stem
    assert 'convolutions by kernel size' in text

    # the GEMM rates; every convolution at the best kernel size's rate,
    # plus the other operators' profiled time, over eager's median
    gemm = result['profile']['gemm']
    assert gemm['size'] == 1024
    assert gemm['onnxruntime'] > 0 and gemm['PyTorch'] > 0
    assert (f'onnxruntime {gemm["onnxruntime"]:.1f} GMAC/s, PyTorch '
            f'{gemm["PyTorch"]:.1f} GMAC/s') in text
    ceiling = result['profile']['ceiling']
    rates = {k: v['macs'] / v['ms'] / 1e6 for k, v in ort['conv'].items()}
    best = max(rates, key=rates.get)
    assert ceiling['kernel'] == best
    assert ceiling['rate'] == pytest.approx(rates[best])
    macs = sum(v['macs'] for v in ort['conv'].values())
    assert ceiling['conv_ms'] == pytest.approx(macs / rates[best] / 1e6)
    assert ceiling['conv_ms'] <= conv_ms * (1 + 1e-9)
    assert ceiling['other_ms'] == pytest.approx(
        sum(ort['ops'].values()) - conv_ms)
    profiled = sum(ort['ops'].values())
    assert ceiling['profiled_ms'] == pytest.approx(profiled)
    assert ceiling['ratio'] == pytest.approx(
        result['backends']['onnxruntime']['ratio'] *
        (ceiling['conv_ms'] + ceiling['other_ms']) / profiled)
    assert (f'the rate of its {best} ones ({rates[best]:.1f} GMAC/s)') in text
    assert f'onnxruntime / eager would be {ceiling["ratio"]:.3f}' in text
