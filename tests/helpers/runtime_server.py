"""``mmext-pixel-serve`` as a real process on 127.0.0.1, a small stdlib
HTTP client for it, and the memory of its process tree.

    python tests/helpers/runtime_server.py MODEL.onnx [--megapixels 1 4 16]

prints, for a noise image of each size (the megapixels in binary units:
1 MP is 1024x1024), the growth of the server's resident high-water mark
over its idle size for one request answered as PNG and as JSON (a fresh
server for each), in bytes per pixel, and the per-request figure the
server stated.
"""
import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

RUNTIME_SERVER = 'mmext_pixel_runtime.server'


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Client:
    """Requests to one server."""

    def __init__(self, port: int, pid: Optional[int] = None):
        self.port = port
        self.pid = pid
        self.lines: List[str] = []

    def output(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return ''.join(self.lines)

    def wait_output(self, text: str, timeout: float = 120) -> str:
        """The first line printed that contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            time.sleep(0.2)
        raise AssertionError(f'the server did not print {text!r} in '
                             f'{timeout} s:\n{self.output()}')

    def request(self,
                method: str,
                path: str,
                body: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None,
                timeout: float = 60) -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection(
            '127.0.0.1', self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def get_json(self, path: str) -> Tuple[int, dict]:
        status, _, body = self.request('GET', path)
        return status, json.loads(body)

    def predict(self,
                data: bytes,
                fmt: str = 'png',
                multipart: bool = False,
                filename: str = 'image.png') -> Tuple[int, Dict, bytes]:
        """POST /predict with the bytes as the body or a form's file."""
        headers = {'Content-Type': 'application/octet-stream'}
        if multipart:
            boundary = uuid.uuid4().hex
            data = (f'--{boundary}\r\nContent-Disposition: form-data; '
                    f'name="file"; filename="{filename}"\r\nContent-Type: '
                    'application/octet-stream\r\n\r\n').encode() + data + \
                f'\r\n--{boundary}--\r\n'.encode()
            headers = {
                'Content-Type': f'multipart/form-data; boundary={boundary}'
            }
        return self.request(
            'POST', f'/predict?format={fmt}', body=data, headers=headers)


@contextmanager
def serve(model: str, *options: str, timeout: float = 90) -> Iterator[Client]:
    """Start the server on a free port, wait for /health, stop it after;
    its output is collected as it comes (``Client.output``)."""
    port = free_port()
    proc = subprocess.Popen([
        sys.executable, '-m', RUNTIME_SERVER, model, '--port',
        str(port), '--log-level', 'warning', *options
    ],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True)
    client = Client(port, proc.pid)

    def collect():
        for line in proc.stdout:
            client.lines.append(line)

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                reader.join(5)
                raise AssertionError(f'the server exited {proc.returncode}:'
                                     f'\n{client.output()}')
            try:
                if client.request('GET', '/health', timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError('the server did not answer /health in '
                                     f'{timeout} s')
            time.sleep(0.2)
        yield client
        # still alive after everything the test sent
        assert proc.poll() is None, client.output()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tree_status(pid: int) -> Dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (bytes) summed over a process and its
    children, from /proc."""
    pids, total = [str(pid)], dict(VmRSS=0, VmHWM=0)
    while pids:
        p = pids.pop()
        try:
            with open(f'/proc/{p}/status') as f:
                for line in f:
                    key = line.split(':', 1)[0]
                    if key in total:
                        total[key] += int(line.split()[1]) * 1024
            with open(f'/proc/{p}/task/{p}/children') as f:
                pids += f.read().split()
        except FileNotFoundError:
            pass  # it ended meanwhile
    return total


def noise_png(pixels: int, seed: int = 0) -> bytes:
    """A PNG of uniform noise (it does not compress) of the square nearest
    ``pixels`` from below."""
    side = int(pixels**0.5)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (side, side, 3), np.uint8)
    return cv2.imencode('.png', img)[1].tobytes()


def request_growth(client: 'Client', body: bytes, fmt: str) -> int:
    """The growth of the server's resident high-water mark over its
    resident size for one request (200 expected)."""
    with open(f'/proc/{client.pid}/clear_refs', 'w') as f:
        f.write('5')
    before = tree_status(client.pid)['VmRSS']
    status, _, answer = client.predict(body, fmt=fmt)
    assert status == 200, answer[:300]
    return tree_status(client.pid)['VmHWM'] - before


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model')
    parser.add_argument('--megapixels', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--threads', default='2')
    args = parser.parse_args(argv)
    print('| megapixels | answer | growth MiB | bytes/pixel | stated MiB |')
    print('| ---: | --- | ---: | ---: | ---: |')
    for mp in args.megapixels:
        pixels = mp << 20
        body = noise_png(pixels)
        for fmt in ('png', 'json'):
            with serve(args.model, '--max-pixels', str(pixels), '--threads',
                       args.threads, '--max-upload-mb', '64') as client:
                stated = client.get_json(
                    '/model')[1]['limits']['request_peak_bytes']
                growth = request_growth(client, body, fmt)
            print(
                f'| {mp} | {fmt} | {growth / 2**20:.0f} | '
                f'{growth / pixels:.1f} | {stated / 2**20:.0f} |',
                flush=True)


if __name__ == '__main__':
    main()
