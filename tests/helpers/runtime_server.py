"""``mmext-pixel-serve`` as a real process on 127.0.0.1, and a small
stdlib HTTP client for it."""
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

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
