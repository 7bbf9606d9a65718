"""Throughput and latency of ``mmext-pixel-serve`` against the in-process
``Segmenter`` on the same images, at 1, 2 and 4 concurrent clients.

    python tools/analysis_tools/benchmark_serve.py MODEL.onnx IMAGES
        [--clients 1 2 4] [--requests 40] [--workers 1 2] [--threads T]
        [--out RESULT.json]

IMAGES is an image file or a folder of them (cycled through). For each
``--workers`` value the server runs as its own process on 127.0.0.1 (a
free port, ``--workers W --threads T``, default T = CPU count / W), and
``--clients`` threads each POST the encoded images to ``/predict`` (label
PNG back) until ``--requests`` requests are answered; the in-process rows
call ``Segmenter.predict`` on the decoded images from as many threads, with
one session of CPU count threads. Every response is checked against the
in-process labels of its image. The table gives requests/s and the p50 and
p99 latency in ms (the client's view: upload, queue, decode, inference,
PNG encoding and download for the server; inference and argmax
in-process). Needs only the runtime and its ``serve`` extra (no torch).
"""
import argparse
import http.client
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np

try:
    import mmext_pixel_runtime  # noqa: F401
except ImportError as e:
    if e.name != 'mmext_pixel_runtime':
        raise
    sys.path.insert(
        0,
        osp.join(
            osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
            'runtime'))

from mmext_pixel_runtime import Segmenter  # noqa: E402
from mmext_pixel_runtime.infer import IMAGE_EXTS, list_images  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument('--clients', type=int, nargs='+', default=[1, 2, 4])
    parser.add_argument(
        '--requests',
        type=int,
        default=40,
        help='timed requests per row (after one untimed per client)')
    parser.add_argument(
        '--workers',
        type=int,
        nargs='+',
        default=[1, 2],
        help='server --workers values to measure')
    parser.add_argument(
        '--threads',
        type=int,
        help='server --threads (default: CPU count / workers)')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    if min(args.clients) < 1 or min(args.workers) < 1 or args.requests < 1:
        parser.error('--clients, --workers and --requests must be >= 1')
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def post(port: int, body: bytes) -> bytes:
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
    """The rows of the table (see the module doc)."""
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
    lines = [
        '| backend | clients | requests/s | p50 ms | p99 ms |',
        '| --- | --- | --- | --- | --- |'
    ]
    for r in rows:
        lines.append(f'| {r["backend"]} | {r["clients"]} | {r["rps"]:.1f} | '
                     f'{r["p50_ms"]:.1f} | {r["p99_ms"]:.1f} |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = parse_args(argv)
    if osp.isdir(args.images):
        images = list_images(args.images)[0]
    elif args.images.lower().endswith(IMAGE_EXTS):
        images = [args.images]
    else:
        sys.exit(f'{args.images}: not an image or a folder of images')
    rows = benchmark(args.model, images, args.clients, args.requests,
                     args.workers, args.threads)
    img = cv2.imread(images[0])
    print(f'{osp.basename(args.model)}, {len(images)} images '
          f'({img.shape[1]}x{img.shape[0]} first), {os.cpu_count()} CPUs')
    print(format_table(rows))
    result = dict(
        model=args.model, images=len(images), cpus=os.cpu_count(), rows=rows)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
