"""mmext_pixel.analysis.serve_load: the timing of concurrent calls,
in-process (the server rows are measured by the command line's test,
tests/tools/test_benchmark_serve.py)."""
import threading

import pytest

from conftest import import_deploy_package

import_deploy_package('mmext_pixel_runtime')
from mmext_pixel.analysis import serve_load  # noqa: E402


def test_every_request_counted_once():
    calls, lock = [], threading.Lock()

    def call(i):
        with lock:
            calls.append(i)

    row = serve_load.time_concurrent_calls(call, clients=3, requests=10)
    # one untimed call per client (0, 1, 2), then each request once
    assert sorted(calls) == sorted([0, 1, 2] + list(range(10)))
    assert row['clients'] == 3 and row['requests'] == 10
    assert 0 <= row['p50_ms'] <= row['p99_ms'] and row['rps'] > 0


def test_fails_when_a_request_fails():
    calls = []

    def call(i):
        calls.append(i)
        if i == 5:
            raise RuntimeError('refused')

    with pytest.raises(RuntimeError, match='refused'):
        serve_load.time_concurrent_calls(call, clients=2, requests=8)
    assert sorted(calls) == sorted([0, 1] + list(range(8)))  # all ran
