"""mmext_pixel.deployment.ort_latency on the small demo HRNet at 32x48,
in-process: the torch.compile column working and the int8 column. No timing
asserts. The failing compiler's n/a and the operator profiles
(mmext_pixel.deployment.ort_profile) are checked through the command line,
tests/tools/test_benchmark_onnx.py."""

import pytest
import torch

from conftest import DEMO_CONFIG, import_deploy_package
from mmext_pixel.deployment.ort_latency import (format_ort_latency,
                                                measure_ort_latency)
from mmext_pixel.utils.timing import time_alternately

import_deploy_package('onnxruntime')


@pytest.fixture(autouse=True)
def keep_threads():
    """The benchmark sets torch's thread count; give the suite its own
    back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_compile_column():
    result = measure_ort_latency(
        DEMO_CONFIG,
        shape=(32, 48),
        threads=1,
        runs=2,
        warmup=0,
        compile_backend='eager')
    assert list(result['backends']) == [
        'PyTorch eager', 'onnxruntime', 'torch.compile (eager)'
    ]
    compiled = result['backends']['torch.compile (eager)']
    assert len(compiled['times_ms']) == 2 and compiled['min_ms'] > 0
    assert compiled['ratio'] > 0
    assert '| torch.compile (eager) |' in format_ort_latency(result)


def test_int8_column():
    result = measure_ort_latency(
        DEMO_CONFIG,
        shape=(32, ),
        threads=1,
        runs=2,
        warmup=0,
        compile_backend=None,
        int8=True)
    assert result['shape'] == [32, 32]  # one size: a square input
    assert list(result['backends']) == [
        'PyTorch eager', 'onnxruntime', 'onnxruntime int8', 'torch.compile'
    ]
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
            'in int8') in format_ort_latency(result)
    assert result['backends']['torch.compile'] == dict(
        error='n/a: not run (--no-compile)')


def test_time_in_turn_interleaves_the_runners():
    calls = []
    times = time_alternately(
        {
            'a': lambda: calls.append('a'),
            'b': lambda: calls.append('b')
        },
        runs=2,
        warmup=1)
    assert calls == ['a', 'b'] * 3
    assert [len(t) for t in times.values()] == [2, 2]
    assert min(times['a'] + times['b']) >= 0
