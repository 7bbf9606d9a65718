"""mmext_pixel.analysis.serve_load: the timing of concurrent calls and the
table, in-process (the server rows are measured by the command line's test,
tests/tools/test_benchmark_serve.py)."""
import threading

import pytest

from conftest import import_deploy_package

import_deploy_package('mmext_pixel_runtime')
from mmext_pixel.analysis.serve_load import format_table, measure  # noqa: E402


def test_measure_counts_every_request_once():
    calls, lock = [], threading.Lock()

    def call(i):
        with lock:
            calls.append(i)

    row = measure(call, clients=3, requests=10)
    # one untimed call per client (0, 1, 2), then each request once
    assert sorted(calls) == sorted([0, 1, 2] + list(range(10)))
    assert row['clients'] == 3 and row['requests'] == 10
    assert 0 <= row['p50_ms'] <= row['p99_ms'] and row['rps'] > 0


@pytest.mark.filterwarnings(
    'ignore::pytest.PytestUnhandledThreadExceptionWarning')
def test_measure_fails_when_a_request_fails():

    def call(i):
        if i == 5:
            raise RuntimeError('refused')

    # the client stops at its failed request: 5 of 8 are answered
    with pytest.raises(RuntimeError, match='3 requests failed'):
        measure(call, clients=1, requests=8)


def test_format_table():
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
    assert format_table(rows).splitlines() == [
        '| backend | clients | requests/s | p50 ms | p99 ms |',
        '| --- | --- | --- | --- | --- |',
        '| in-process Segmenter | 1 | 12.3 | 80.0 | 95.2 |',
        '| server --workers 1 | 2 | 3.0 | 600.0 | 700.5 |'
    ]
