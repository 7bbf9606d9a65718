"""mmext_pixel.deployment.ort_latency and ort_profile on the small demo
HRNet at 32x48, in-process: the table's structure, positive timings, the
torch.compile column (working, and n/a with the reason), the int8 column,
the operator profiles. No timing asserts. The command line
(tools/analysis_tools/benchmark_onnx.py) is run by
tests/tools/test_benchmark_onnx.py."""
import json
import re

import pytest
import torch

from conftest import DEMO_CONFIG, import_deploy_package
from mmext_pixel.deployment.ort_latency import benchmark, format_table
from mmext_pixel.deployment.ort_profile import format_profile

import_deploy_package('onnxruntime')

HEADER = '| backend | median ms | min ms | median / eager |'
ROW = re.compile(r'^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$')


@pytest.fixture(autouse=True)
def keep_threads():
    """The benchmark sets torch's thread count; give the suite its own
    back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def table_rows(text):
    lines = text.splitlines()
    start = lines.index(HEADER)
    assert lines[start + 1] == '| --- | ---: | ---: | ---: |'
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        rows.append(line)
    return lines[start - 2], rows


def test_table_and_profile():
    result = benchmark(
        DEMO_CONFIG,
        shape=(32, 48),
        threads=1,
        runs=2,
        warmup=1,
        compile_backend='no_such_backend',
        profile=1)
    text = format_table(result) + '\n\n' + format_profile(result['profile'])
    settings, rows = table_rows(text)
    assert 'input 1x3x32x48; CPU, 1 threads; 2 interleaved runs after 1 ' \
        'warm-up' in settings
    assert len(rows) == 3
    timed = [ROW.match(row) for row in rows[:2]]
    assert [m.group(1) for m in timed] == ['PyTorch eager', 'onnxruntime']
    for m in timed:
        median, low = float(m.group(2)), float(m.group(3))
        assert 0 < low <= median
    assert float(timed[0].group(4)) == 1.0
    # the compiler's failure is a column entry with its reason
    assert rows[2].startswith('| torch.compile | n/a: ')
    assert 'no_such_backend' in rows[2]
    ratio = float(timed[1].group(4))
    goal = 'met' if ratio <= 0.75 else 'not met'
    assert f'onnxruntime / eager {ratio:.3f}: goal (<= 0.75) {goal}' in text

    # what --out writes
    result = json.loads(json.dumps(result))
    assert result['threads'] == 1 and result['input_shapes'] == {
        'input': [1, 3, 32, 48]
    }
    for name in ('PyTorch eager', 'onnxruntime'):
        times = result['backends'][name]['times_ms']
        assert len(times) == 2 and min(times) > 0
    # operator time per type, convolutions among them
    ort = result['profile']['onnxruntime']
    assert ort['ops']['Conv'] > 0 and min(ort['ops'].values()) >= 0
    eager = result['profile']['eager']
    assert any(k.startswith('aten::') for k in eager['ops'])
    assert 'onnxruntime (per run):' in text and '| Conv |' in text
    # per kernel size: the demo HRNet has 3x3 and 1x1 convolutions; its
    # multiply-adds add up to those of its convolutions, from the shapes
    assert set(ort['conv']) == set(eager['conv']) == {'1x1', '3x3'}
    conv_ms = sum(v['ms'] for v in ort['conv'].values())
    assert conv_ms == pytest.approx(ort['ops']['Conv'] +
                                    ort['ops'].get('FusedConv', 0))
    stem = 64 * 16 * 24 * 3 * 3 * 3  # the first conv: 3 -> 64, stride 2
    assert ort['conv']['3x3']['macs'] > stem
    assert '| kernel | GMACs | onnxruntime ms | GMAC/s |' in text

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


def test_compile_column():
    result = benchmark(
        DEMO_CONFIG,
        shape=(32, 48),
        threads=1,
        runs=2,
        warmup=0,
        compile_backend='eager')
    compiled = result['backends']['torch.compile (eager)']
    assert len(compiled['times_ms']) == 2 and compiled['min_ms'] > 0
    assert compiled['ratio'] > 0
    _, rows = table_rows(format_table(result))
    assert ROW.match(rows[2]).group(1) == 'torch.compile (eager)'


def test_int8_column():
    result = benchmark(
        DEMO_CONFIG,
        shape=(32, 48),
        threads=1,
        runs=2,
        warmup=0,
        compile_backend=None,
        int8=True)
    text = format_table(result)
    _, rows = table_rows(text)
    assert [ROW.match(row).group(1) for row in rows[:3]
            ] == ['PyTorch eager', 'onnxruntime', 'onnxruntime int8']
    int8 = result['backends']['onnxruntime int8']
    assert len(int8['times_ms']) == 2 and int8['min_ms'] > 0
    # onnxruntime runs every convolution of the demo HRNet in int8
    # (QLinearConv; without onnxruntime's pre-processing 29 of its 73 would
    # stay fp32), and the output moves by the quantisation error only
    q = result['int8']
    assert q['convs'] > 50 and q['quantized_convs'] == q['convs']
    assert 0 < q['max_abs_diff'] < 1
    assert 0.5 < q['argmax_agreement'] <= 1
    assert (f'int8: {q["quantized_convs"]} of {q["convs"]} convolutions run '
            'in int8') in text
    assert result['backends']['torch.compile'] == dict(
        error='n/a: not run (--no-compile)')
