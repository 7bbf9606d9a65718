"""mmext-pixel-serve as a real process on 127.0.0.1, called over HTTP:
results equal to Segmenter.predict, every limit answered with its status
and message, decompression bombs refused before decoding, stalled and slow
clients unable to starve the others, connections bounded per client and in
all, the printed memory ceiling above what a request at the pixel limit
takes, and a bounded concurrent burst answered completely. One server
(workers 1, queue 1: two slots; 2 s header and body deadlines) serves most
of the module."""
import base64
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers.image_bombs import bombs
from helpers.image_bombs import png as png_claiming
from helpers.runtime_server import request_growth, serve

runtime = import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')
from mmext_pixel_runtime.memory import proc_status, reset_peak  # noqa: E402

pytestmark = pytest.mark.slow

MAX_PIXELS = 512 * 512
TIMEOUT_S = 2
OPTIONS = ('--workers', '1', '--threads', '1', '--queue', '1', '--max-pixels',
           str(MAX_PIXELS), '--max-upload-mb', '1', '--max-connections', '16',
           '--max-connections-per-client', '12', '--header-timeout',
           str(TIMEOUT_S), '--body-timeout', str(TIMEOUT_S))


@pytest.fixture(scope='module')
def server(trained_tiny_onnx):
    with serve(trained_tiny_onnx['whole'], *OPTIONS) as client:
        yield client


def images(root, n=8):
    """``n`` distinct PNGs: the val images and their flips, at 64x64 and
    larger."""
    out = []
    paths = sorted((root / 'urbanisation' / 'x' / 'val').glob('*.png'))
    for flip in (None, 1, 0, -1):
        for path in paths:
            img = cv2.imread(str(path))
            img = img if flip is None else cv2.flip(img, flip)
            if len(out) % 3 == 2:
                img = cv2.resize(img, (96, 80))
            out.append(img)
    return out[:n]


def png(img):
    return cv2.imencode('.png', img)[1].tobytes()


def decode_png(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def check_predict(client, model, img):
    want = model.predict(img)
    status, info = client.get_json('/model')
    assert status == 200
    assert info['classes'] == list(model.meta.classes)
    assert info['test_mode'] == model.meta.test_mode
    assert info['palette'] == [list(c) for c in model.meta.palette]
    assert info['quantization'] is None  # an fp32 model
    assert client.get_json('/health')[1]['status'] == 'ok'
    for multipart in (False, True):
        status, headers, body = client.predict(png(img), multipart=multipart)
        assert status == 200 and headers['content-type'] == 'image/png'
        np.testing.assert_array_equal(decode_png(body), want)
    status, headers, body = client.predict(png(img), fmt='json')
    assert status == 200
    result = json.loads(body)
    np.testing.assert_array_equal(
        decode_png(base64.b64decode(result['labels_png'])), want)
    overlay = decode_png(base64.b64decode(result['overlay_png']))
    np.testing.assert_array_equal(
        overlay,
        runtime.draw_overlay(img, want, model.meta.classes,
                             model.meta.palette))
    assert (result['width'], result['height']) == (96, 80)
    for entry in result['classes']:
        mask = want == entry['index']
        assert entry['share'] == pytest.approx(mask.mean())
        # where SegLocalVisualizer writes the class name
        centre = runtime.overlay.class_centre(mask) if mask.any() else None
        assert entry['centre'] == (list(centre) if centre else None)
    assert result['latency_ms'] > 0


def test_predict_equals_library(trained_tiny_onnx, synthetic_root, server):
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    check_predict(server, model, images(synthetic_root)[2])  # 96x80


def test_slide_model_equals_library(trained_tiny_onnx, synthetic_root):
    model = runtime.Segmenter(trained_tiny_onnx['slide'], threads=1)
    with serve(trained_tiny_onnx['slide'], '--max-pixels',
               str(MAX_PIXELS)) as client:
        check_predict(client, model, images(synthetic_root)[2])


def test_bad_requests(trained_tiny_onnx, synthetic_root, server):
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    good = images(synthetic_root)[0]
    want = model.predict(good)
    jpeg = cv2.imencode('.jpg', good)[1].tobytes()
    big = np.random.default_rng(0).integers(0, 256, (700, 700, 3), np.uint8)
    cases = [
        # (body, multipart, status, words in the error)
        (b'%PDF-1.4 not an image at all', False, 415,
         'not an image in an accepted format (PNG, JPEG, BMP, GIF, WebP, '
         'TIFF, PNM)'),
        (cv2.imencode('.jp2', cv2.resize(good, (64, 64)))[1].tobytes(), False,
         415, 'not an image in an accepted format'),
        (b'', False, 422, 'the upload is empty'),
        (png(good)[:300], False, 422, 'truncated PNG'),
        (jpeg[:len(jpeg) // 2], False, 422, 'truncated JPEG'),
        (png(good)[:8] + b'\x00' * 40, False, 422, 'PNG'),
        (png(big), False, 413, 'this server takes at most 1048576'),
        (png_claiming(30000, 30000), False, 413,
         'the image is 30000x30000 = 900000000 pixels; this server takes at '
         f'most {MAX_PIXELS}'),
        (png(cv2.resize(good, (600, 600), interpolation=cv2.INTER_NEAREST)),
         True, 413, '360000 pixels'),
        (b'junk', True, 415, 'not an image'),
    ]
    for body, multipart, status, words in cases:
        got, headers, answer = server.predict(body, multipart=multipart)
        assert got == status, (words, got, answer)
        assert headers['content-type'] == 'application/json'
        error = json.loads(answer)['error']
        assert words in error, (words, error)
        # and the next good request is answered right
        got, _, answer = server.predict(png(good))
        assert got == 200
        np.testing.assert_array_equal(decode_png(answer), want)
    got, _, answer = server.request(
        'POST', '/predict?format=xml', body=png(good))
    assert got == 422 and "format='xml'" in json.loads(answer)['error']


def test_bombs_refused_before_decoding(server):
    """A file of a few bytes claiming 30000x30000, per format (and a later
    GIF frame, WebP frame or TIFF page): 413 within 1 s, the server's
    resident memory growing by less than 100 MB."""
    reset_peak(server.pid)
    before = proc_status(server.pid)['VmRSS']
    for name, data in bombs().items():
        start = time.monotonic()
        status, _, answer = server.predict(data)
        elapsed = time.monotonic() - start
        assert status == 413, (name, answer)
        assert elapsed < 1, (name, elapsed)
        assert 'the image is 30000x30000 = 900000000 pixels' in json.loads(
            answer)['error'], name
    growth = proc_status(server.pid)['VmHWM'] - before
    assert growth < 100 << 20, growth


def stalled_upload(port):
    """A connection whose headers promise 100000 body bytes and that sends
    100 of them."""
    sock = socket.create_connection(('127.0.0.1', port))
    sock.sendall(b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: '
                 b'application/octet-stream\r\nContent-Length: 100000\r\n'
                 b'\r\n' + b'\x89PNG' * 25)
    return sock


def drip_headers(port, stop):
    """A connection sending its request line and headers one byte every
    0.2 s until ``stop`` is set or the server closes it; returns the
    socket."""
    sock = socket.create_connection(('127.0.0.1', port))
    request = b'POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 500

    def drip():
        for byte in request:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # closed by the server
            time.sleep(0.2)

    threading.Thread(target=drip, daemon=True).start()
    return sock


def read_until_closed(sock, timeout):
    """Everything the server sends until it closes the connection, and
    the seconds that took."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = b''
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise AssertionError(f'still open after {timeout} s: {data!r}')
    finally:
        sock.close()
    return data, time.monotonic() - start


def test_stalled_clients_do_not_starve_others(trained_tiny_onnx,
                                              synthetic_root, server):
    """As many stalled uploads as slots and three clients dripping their
    headers: a normal request still gets 200 and /health says ok; the
    server answers the stalled ones 408 and closes them within its
    deadlines; a client that leaves mid-body is one line in the log."""
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    img = images(synthetic_root)[1]
    _, info = server.get_json('/health')
    slots = info['capacity']
    assert slots == 2
    stop = threading.Event()
    start = time.monotonic()
    stalled = [stalled_upload(server.port) for _ in range(slots)]
    dripping = [drip_headers(server.port, stop) for _ in range(3)]
    try:
        time.sleep(0.3)
        status, _, body = server.predict(png(img))
        assert status == 200
        np.testing.assert_array_equal(decode_png(body), model.predict(img))
        assert server.get_json('/health')[1]['status'] == 'ok'
        assert time.monotonic() - start < TIMEOUT_S  # all still stalled
        for sock in stalled:
            data, _ = read_until_closed(sock, TIMEOUT_S + 3)
            assert data.startswith(b'HTTP/1.1 408'), data
            assert b'the request body did not arrive within 2 s' in data
        for sock in dripping:
            data, _ = read_until_closed(sock, TIMEOUT_S + 3)
            assert data.startswith(b'HTTP/1.1 408'), data
            assert b'the request headers did not arrive within 2 s' in data
        # each closed within the deadline (and the scheduling slack of a
        # loaded machine)
        assert time.monotonic() - start < TIMEOUT_S + 3
    finally:
        stop.set()
    # a client that leaves halfway through its body: one line, no traceback
    sock = stalled_upload(server.port)
    port = sock.getsockname()[1]
    time.sleep(0.2)
    sock.close()
    line = server.wait_output(f'127.0.0.1:{port} left', timeout=10)
    assert 'after 100 bytes of its body' in line
    time.sleep(0.5)
    assert 'Traceback' not in server.output()
    assert server.output().count(f':{port} ') == 1


def connect(port, address):
    return socket.create_connection(('127.0.0.1', port),
                                    timeout=5,
                                    source_address=(address, 0))


def test_connections_beyond_the_bounds_are_refused(trained_tiny_onnx,
                                                   synthetic_root, server):
    """``--max-connections-per-client 12``: with 12 silent connections from
    127.0.0.1 its 13th is answered 503 with ``Retry-After`` and closed at
    once while 127.0.0.2 still connects; ``--max-connections 16``: with 4
    more from 127.0.0.2, a 17th from 127.0.0.3 is refused so; once they are
    gone a request is served again."""
    opened = [connect(server.port, '127.0.0.1') for _ in range(12)]
    try:
        time.sleep(0.2)  # every connection accepted before the next one
        for address, words in [
            ('127.0.0.1', b'127.0.0.1 has 12 connections open, the most '
             b'one client may have'),
            ('127.0.0.3', b'the server has 16 connections open'),
        ]:
            if address == '127.0.0.3':
                opened += [connect(server.port, '127.0.0.2') for _ in range(4)]
                time.sleep(0.2)
            data, seconds = read_until_closed(
                connect(server.port, address), TIMEOUT_S)
            assert data.startswith(b'HTTP/1.1 503'), data
            assert re.search(rb'(?i)\r\nretry-after: \d+\r\n', data), data
            assert words in data, data
            assert seconds < TIMEOUT_S  # refused, not left to its deadline
    finally:
        for sock in opened:
            sock.close()
    time.sleep(0.5)
    img = images(synthetic_root)[0]
    status, _, body = server.predict(png(img))
    assert status == 200
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    np.testing.assert_array_equal(decode_png(body), model.predict(img))


def test_full_is_503_with_retry_after(trained_tiny_onnx, synthetic_root,
                                      server):
    """Two slots: of 8 simultaneous requests for a large image some are
    refused 503 with Retry-After, the others answered right; /health says
    full (503) while both slots are taken."""
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    img = cv2.resize(images(synthetic_root)[0], (500, 500))
    data, want = png(img), model.predict(img)
    barrier = threading.Barrier(8)
    done = threading.Event()
    health = []

    def call(_):
        barrier.wait()
        return server.predict(data)

    def poll():
        while not done.is_set():
            health.append(server.request('GET', '/health'))

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(8)))
    finally:
        done.set()
        poller.join()
    statuses = sorted(r[0] for r in results)
    assert set(statuses) == {200, 503}, statuses
    for status, headers, body in results:
        if status == 503:
            assert 'busy' in json.loads(body)['error']
            assert int(headers['retry-after']) >= 1
        else:
            np.testing.assert_array_equal(decode_png(body), want)
    full = [(h, json.loads(b)) for s, h, b in health if s == 503]
    assert full, 'no /health answer said full'
    for headers, answer in full:
        assert answer['status'] == 'full' and answer['in_flight'] == 2
        assert int(headers['retry-after']) >= 1
    assert server.get_json('/health')[1]['status'] == 'ok'
    # nothing is left waiting: the next request is served
    assert server.predict(data)[0] == 200


def test_memory_ceiling_holds_at_the_limit(server):
    """The ceiling printed at start, as ``/model`` states it; a request for a
    noise image of exactly --max-pixels, answered as JSON (overlay and all),
    and one of a single row of as many pixels raise the server's resident
    high-water mark by less than the stated per-request figure."""
    line = server.wait_output('memory ceiling')
    _, info = server.get_json('/model')
    limits = info['limits']
    peak, total = limits['request_peak_bytes'], limits['memory_ceiling_bytes']
    assert total == (
        peak + (16 + 1) * limits['max_upload_bytes'] + 16 * (128 << 10))
    assert f'memory ceiling {total / (1 << 20):.0f} MiB' in line
    assert re.search(
        rf'--workers 1 x {peak / (1 << 20):.0f} MiB \(one request at '
        rf'--max-pixels {MAX_PIXELS}, network inputs up to {MAX_PIXELS} '
        r'pixels, measured at two small sizes\)', line), line
    rng = np.random.default_rng(1)
    for shape in [(512, 512, 3), (1, MAX_PIXELS, 3)]:
        body = png(rng.integers(0, 256, shape, np.uint8))
        growth = request_growth(server, body, 'json')
        print(f'{shape}: {growth / (1 << 20):.1f} MiB, stated per request '
              f'{peak / (1 << 20):.1f} MiB')
        assert growth <= peak, (shape, growth, peak)


def test_burst(trained_tiny_onnx, synthetic_root):
    """64 requests from 8 concurrent clients, 8 different images: every one
    answered, each with its own image's labels, in the time limit."""
    model = runtime.Segmenter(trained_tiny_onnx['whole'], threads=1)
    imgs = images(synthetic_root)
    bodies = [png(img) for img in imgs]
    wants = [model.predict(img) for img in imgs]
    assert len({w.tobytes() for w in wants}) == len(wants)
    # 8 clients on one address, each connecting again as soon as its last
    # answer is in: above 8 connections while the server sees them close
    with serve(trained_tiny_onnx['whole'], '--workers', '2', '--threads', '1',
               '--max-pixels', str(MAX_PIXELS), '--max-connections-per-client',
               '16') as client:
        start = time.monotonic()

        def call(i):
            return i % len(imgs), client.predict(bodies[i % len(imgs)])

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(64)))
        elapsed = time.monotonic() - start
    assert elapsed < 120
    for i, (status, _, body) in results:
        assert status == 200
        np.testing.assert_array_equal(decode_png(body), wants[i])
