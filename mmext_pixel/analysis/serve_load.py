"""Throughput and latency of ``mmext-pixel-serve`` against the in-process
``Segmenter`` on the same images, at several numbers of concurrent clients
(``tools/analysis_tools/benchmark_serve.py`` is its command line).

For each ``workers`` value the server runs as its own process on 127.0.0.1
(a free port, ``--workers W --threads T``, by default T = CPU count / W), and
client threads each POST the encoded images to ``/predict`` (label PNG back)
until the requested number of requests are answered; the in-process rows
call ``Segmenter.predict`` on the decoded images from as many threads, with
one session of CPU count threads. Every response is checked against the
in-process labels of its image. Each row gives requests/s and the p50 and
p99 latency in ms (the client's view: upload, queue, decode, inference, PNG
encoding and download for the server; inference and argmax in-process).
"""
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional, Sequence

import cv2
import numpy as np
from mmext_pixel_runtime import Segmenter


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def post(port: int, body: bytes) -> bytes:
    """POST ``body`` to the server's ``/predict``; the answer's body, or
    RuntimeError naming its status."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
    try:
        conn.request(
            'POST',
            '/predict',
            body=body,
            headers={'Content-Type': 'application/octet-stream'})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f'/predict answered {resp.status}: {data!r}')
        return data
    finally:
        conn.close()


def measure(call: Callable[[int], None], clients: int, requests: int) -> dict:
    """``call(i)`` for i in range(requests) from ``clients`` threads, after
    one untimed call per thread: requests/s, p50 and p99 latency (ms)."""
    latencies: List[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(first: int) -> None:
        call(first)  # warm-up
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            call(i)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed * 1000)

    threads = [
        threading.Thread(target=worker, args=(k, )) for k in range(clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if len(latencies) != requests:
        raise RuntimeError(f'{requests - len(latencies)} requests failed')
    return dict(
        clients=clients,
        requests=requests,
        rps=requests / wall,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)))


class ServerProcess:
    """``mmext-pixel-serve`` on a free port, as a context manager."""

    def __init__(self, model: str, workers: int, threads: Optional[int]):
        self.port = free_port()
        cmd = [
            sys.executable, '-m', 'mmext_pixel_runtime.server', model,
            '--port',
            str(self.port), '--workers',
            str(workers), '--queue', '64', '--log-level', 'warning'
        ]
        if threads:
            cmd += ['--threads', str(threads)]
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join([p for p in sys.path if p] +
                                            [env.get('PYTHONPATH', '')])
        self.proc = subprocess.Popen(cmd, env=env)

    def __enter__(self) -> 'ServerProcess':
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f'the server exited {self.proc.returncode}')
            try:
                conn = http.client.HTTPConnection(
                    '127.0.0.1', self.port, timeout=5)
                conn.request('GET', '/health')
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def benchmark(model: str,
              images: Sequence[str],
              clients: Sequence[int] = (1, 2, 4),
              requests: int = 40,
              workers: Sequence[int] = (1, 2),
              threads: Optional[int] = None) -> List[dict]:
    """The rows of the table (see the module doc).

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

    Returns:
        list[dict]: Per row ``backend``, ``clients``, ``requests``, ``rps``,
        ``p50_ms`` and ``p99_ms``.
    """
    segmenter = Segmenter(model)
    decoded = [cv2.imread(p) for p in images]
    bodies = [open(p, 'rb').read() for p in images]
    wants = [segmenter.predict(img).tobytes() for img in decoded]
    rows = []
    for n in clients:
        rows.append(
            dict(
                backend='in-process Segmenter',
                **measure(
                    lambda i: segmenter.predict(decoded[i % len(decoded)]), n,
                    requests)))
    for w in workers:
        with ServerProcess(model, w, threads) as server:

            def call(i: int) -> None:
                k = i % len(bodies)
                data = post(server.port, bodies[k])
                labels = cv2.imdecode(
                    np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
                if labels.tobytes() != wants[k]:
                    raise RuntimeError(f'{images[k]}: the server answered '
                                       'other labels')

            for n in clients:
                rows.append(
                    dict(
                        backend=f'server --workers {w}',
                        **measure(call, n, requests)))
    return rows


def format_table(rows: List[dict]) -> str:
    """The rows of :func:`benchmark` as a Markdown table."""
    lines = [
        '| backend | clients | requests/s | p50 ms | p99 ms |',
        '| --- | --- | --- | --- | --- |'
    ]
    for r in rows:
        lines.append(f'| {r["backend"]} | {r["clients"]} | {r["rps"]:.1f} | '
                     f'{r["p50_ms"]:.1f} | {r["p99_ms"]:.1f} |')
    return '\n'.join(lines)
