"""Throughput and latency of ``mmext-pixel-serve`` (a process on 127.0.0.1)
against ``Segmenter`` called from as many threads, each answer checked
(``tools/analysis_tools/benchmark_serve.py``)."""
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence

import cv2
import numpy as np
from mmext_pixel_runtime import Segmenter


def time_concurrent_calls(call: Callable[[int], object], clients: int,
                          requests: int) -> dict:
    """``clients``, ``requests``, ``rps``, ``p50_ms`` and ``p99_ms`` of
    ``call(i)`` for each request from ``clients`` threads, after one untimed
    call per thread; a failed call raises."""

    def timed(i: int) -> float:
        start = time.perf_counter()
        call(i)
        return (time.perf_counter() - start) * 1000

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(call, range(clients)))
        start = time.perf_counter()
        latencies = list(pool.map(timed, range(requests)))
        wall = time.perf_counter() - start
    return dict(
        clients=clients,
        requests=requests,
        rps=requests / wall,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)))


@contextmanager
def serving(model: str, workers: int, threads: Optional[int]) -> Iterator[str]:
    """``mmext-pixel-serve`` on a free local port; yields its URL once
    ``/health`` answers."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable, '-m', 'mmext_pixel_runtime.server', model, '--port',
        str(port), '--workers',
        str(workers), '--queue', '64', '--log-level', 'warning'
    ] + (['--threads', str(threads)] if threads else [])
    url = f'http://127.0.0.1:{port}'
    with subprocess.Popen(cmd) as proc:
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f'the server exited {proc.returncode}')
                try:
                    urllib.request.urlopen(f'{url}/health', timeout=5)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()


def measure_serve_load(model: str,
                       images: Sequence[str],
                       clients: Sequence[int] = (1, 2, 4),
                       requests: int = 40,
                       workers: Sequence[int] = (1, 2),
                       threads: Optional[int] = None) -> List[dict]:
    """Per row ``backend`` and :func:`time_concurrent_calls`'s numbers.

    Args:
        model (str): ONNX file written by ``export_onnx``.
        images (Sequence[str]): Image files, cycled through.
        clients (Sequence[int]): Concurrent clients of each row. Defaults to
            (1, 2, 4).
        requests (int): Timed requests per row (after one untimed per
            client). Defaults to 40.
        workers (Sequence[int]): Server ``--workers`` values to measure.
            Defaults to (1, 2).
        threads (int, optional): Server ``--threads``. Defaults to None (the
            CPU count divided by the workers).
    """
    segmenter = Segmenter(model)
    decoded = [cv2.imread(p) for p in images]
    bodies = [open(p, 'rb').read() for p in images]
    wants = [segmenter.predict(img).tobytes() for img in decoded]
    rows = [
        dict(
            backend='in-process Segmenter',
            **time_concurrent_calls(
                lambda i: segmenter.predict(decoded[i % len(decoded)]), n,
                requests)) for n in clients
    ]
    for w in workers:
        with serving(model, w, threads) as url:

            def call(i: int) -> None:
                k = i % len(bodies)
                request = urllib.request.Request(
                    f'{url}/predict',
                    bodies[k],
                    headers={'Content-Type': 'application/octet-stream'})
                with urllib.request.urlopen(request, timeout=300) as answer:
                    labels = cv2.imdecode(
                        np.frombuffer(answer.read(), np.uint8),
                        cv2.IMREAD_UNCHANGED)
                if labels.tobytes() != wants[k]:
                    raise RuntimeError(f'{images[k]}: the server answered '
                                       'other labels')

            rows += [
                dict(
                    backend=f'server --workers {w}',
                    **time_concurrent_calls(call, n, requests))
                for n in clients
            ]
    return rows
