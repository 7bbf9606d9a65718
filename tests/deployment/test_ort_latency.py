"""mmext_pixel.deployment.ort_latency on the small demo HRNet at 32x48,
in-process: the torch.compile column working and the int8 column. No timing
asserts. The table, the failing compiler's n/a and the operator profiles
(mmext_pixel.deployment.ort_profile) are checked through the command line,
tests/tools/test_benchmark_onnx.py."""

import pytest
import torch

from conftest import DEMO_CONFIG, import_deploy_package
from helpers.ort_table import ROW, table_rows
from mmext_pixel.deployment.ort_latency import benchmark, format_table

import_deploy_package('onnxruntime')


@pytest.fixture(autouse=True)
def keep_threads():
    """The benchmark sets torch's thread count; give the suite its own
    back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


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
