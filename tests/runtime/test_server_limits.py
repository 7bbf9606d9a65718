"""mmext-pixel-serve at its limits, as a real process on local addresses:
a start without a probe process, one request at the default pixel limit
with HRNetV2-W18-Small Cityscapes (19 classes) in at most 40 bytes per
pixel and under the figure the server states, one client address flooding
the server with dripping connections while another is served, and the
bodies bounded by their memory budget. Memory is the resident size of the
server's process tree, from /proc."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers.runtime_server import (noise_png, request_growth, serve,
                                    tree_status)

import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
CITYSCAPES = 'configs/hrnet/fcn_hr18s-v1_4xb2-80k_cityscapes-512x1024.py'
# seconds of the flood (the run recorded in docs/deployment.md is 30 s)
FLOOD_S = float(os.environ.get('MMEXT_PIXEL_FLOOD_S', 8))


@pytest.fixture(scope='module')
def cityscapes_onnx(tmp_path_factory):
    """The Cityscapes HRNetV2-W18-Small FCN, random weights, exported as a
    user does."""
    out = tmp_path_factory.mktemp('cityscapes') / 'hr18s.onnx'
    subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools/deployment/pytorch2onnx.py'),
        str(REPO_ROOT / CITYSCAPES), '--shape', '512', '1024', '--dynamic',
        '--out',
        str(out)
    ],
                   check=True,
                   stdout=subprocess.DEVNULL)
    return str(out)


def test_start_has_no_probe(cityscapes_onnx):
    """The server is one process from its start: no child, and a resident
    high-water mark at its idle size."""
    with serve(cityscapes_onnx) as client:
        line = client.wait_output('memory ceiling', timeout=1)
        assert 'measured at two small sizes' in line
        with open(f'/proc/{client.pid}/task/{client.pid}/children') as f:
            assert f.read().split() == []
        status = tree_status(client.pid)
        # imports and the two measured inputs leave little behind
        assert status['VmHWM'] <= status['VmRSS'] + (16 << 20), status


@pytest.mark.parametrize('fmt', ['png', 'json'])
def test_request_at_the_pixel_limit(cityscapes_onnx, fmt):
    """A noise image of 4096x4096, the default --max-pixels: the labels
    (and the overlay) answered in at most 40 bytes per pixel above the
    idle server, and under the per-request figure it states."""
    pixels = 4096 * 4096
    with serve(cityscapes_onnx, '--max-upload-mb', '64') as client:
        stated = client.get_json('/model')[1]['limits']['request_peak_bytes']
        growth = request_growth(client, noise_png(pixels), fmt)
    print(f'{fmt}: {growth / pixels:.1f} bytes per pixel, '
          f'{growth >> 20} MiB; stated {stated >> 20} MiB')
    assert growth <= 40 * pixels
    assert growth <= stated


HEADER = b'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 100


async def drip(port: int, stop: threading.Event, counts: dict) -> None:
    """One connection from 127.0.0.2 sending a header byte a second; when
    the server closes it, another at once."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(
                '127.0.0.1', port, local_addr=('127.0.0.2', 0))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        counts['opened'] += 1
        try:
            for i in range(len(HEADER)):
                writer.write(HEADER[i:i + 1])
                try:
                    data = await asyncio.wait_for(reader.read(4096), 1)
                except asyncio.TimeoutError:
                    continue  # still open: the next byte
                counts['503' if data.startswith(b'HTTP/1.1 503'
                                                ) else 'closed'] += 1
                break
        except OSError:
            counts['closed'] += 1
        finally:
            writer.close()
        if stop.is_set():
            break


async def flood(port: int, connections: int, stop: threading.Event,
                counts: dict) -> None:
    await asyncio.wait_for(
        asyncio.gather(*(drip(port, stop, counts)
                         for _ in range(connections))), FLOOD_S + 30)


def test_one_client_cannot_lock_out_another(tiny_onnx, synthetic_root):
    """127.0.0.2 holds 200 connections dripping header bytes, reconnecting
    whenever one is closed; meanwhile every request from 127.0.0.1 is
    answered 200 within 2 s, and the server's memory stays under the
    ceiling it states."""
    img = cv2.imread(
        str(
            sorted((synthetic_root / 'urbanisation' / 'x' /
                    'val').glob('*.png'))[0]))
    body = cv2.imencode('.png', img)[1].tobytes()
    with serve(tiny_onnx['whole'], '--threads', '1') as client:
        ceiling = client.get_json(
            '/model')[1]['limits']['memory_ceiling_bytes']
        idle = tree_status(client.pid)['VmRSS']
        stop = threading.Event()
        counts = {'opened': 0, '503': 0, 'closed': 0}
        attacker = threading.Thread(
            target=asyncio.run, args=(flood(client.port, 200, stop, counts), ))
        attacker.start()
        latencies, peak = [], 0
        try:
            time.sleep(1)  # the flood under way
            end = time.monotonic() + FLOOD_S
            while time.monotonic() < end:
                start = time.monotonic()
                status, _, answer = client.predict(body)
                latencies.append(time.monotonic() - start)
                assert status == 200, answer
                peak = max(peak, tree_status(client.pid)['VmRSS'] - idle)
        finally:
            stop.set()
            attacker.join(60)
        refusals = client.output().count('refusing connections from '
                                         '127.0.0.2')
    print(f'{len(latencies)} requests in {FLOOD_S:g} s, slowest '
          f'{max(latencies):.2f} s, p50 {np.median(latencies):.3f} s; '
          f'flood: {counts}; server growth {peak >> 20} MiB of a ceiling '
          f'of {ceiling >> 20} MiB')
    assert counts['opened'] > 200 and counts['503'] > 0, counts
    # a line per flood (again whenever its 8 connections all time out
    # together, every 10 s), not per refused connection
    assert 1 <= refusals <= 2 + FLOOD_S // 10, refusals
    assert max(latencies) < 2
    assert peak < ceiling


def test_bodies_bounded_by_their_budget(tiny_onnx, synthetic_root):
    """``--max-upload-mb 1 --max-bodies 2``: two uploads announcing 1 MiB
    and stalling take the budget; a third request gets 503 with
    ``Retry-After`` at once, and once the stalled ones are answered 408 a
    request is served."""
    path = sorted((synthetic_root / 'urbanisation' / 'x' / 'val').glob('*'))[0]
    with serve(tiny_onnx['whole'], '--max-upload-mb', '1', '--max-bodies', '2',
               '--body-timeout', '2') as client:
        stalled = []
        for _ in range(2):
            sock = socket.create_connection(('127.0.0.1', client.port))
            sock.sendall(b'POST /predict HTTP/1.1\r\nHost: x\r\n'
                         b'Content-Length: 1048576\r\n\r\n\x89PNG')
            stalled.append(sock)
        time.sleep(0.5)
        status, headers, answer = client.predict(path.read_bytes())
        assert status == 503, answer
        assert int(headers['retry-after']) >= 1
        assert ('the server holds 2097152 bytes of request bodies, '
                f'{path.stat().st_size} more would pass its 2097152'
                ) in json.loads(answer)['error']
        for sock in stalled:
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b'HTTP/1.1 408')
            sock.close()
        assert client.predict(path.read_bytes())[0] == 200
