"""mmext-pixel-serve as a real process on 127.0.0.1, called over HTTP:
results equal to Segmenter.predict, every limit answered with its status
and message, and a bounded concurrent burst answered completely."""
import base64
import json
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers.runtime_server import serve
from helpers.tiny_trained_seg import trained_tiny

runtime = import_deploy_package('mmext_pixel_runtime')
import_deploy_package('fastapi')


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory, synthetic_root):
    return trained_tiny(tmp_path_factory.getbasetemp(), synthetic_root)


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


@pytest.mark.parametrize('kind', ['whole', 'slide'])
def test_predict_equals_library(tiny_models, synthetic_root, kind):
    model = runtime.Segmenter(tiny_models[kind], threads=1)
    img = images(synthetic_root)[2]  # 96x80
    want = model.predict(img)
    with serve(tiny_models[kind], '--workers', '1') as client:
        status, info = client.get_json('/model')
        assert status == 200
        assert info['classes'] == list(model.meta.classes)
        assert info['test_mode'] == kind
        assert info['palette'] == [list(c) for c in model.meta.palette]
        assert client.get_json('/health')[1]['status'] == 'ok'
        for multipart in (False, True):
            status, headers, body = client.predict(
                png(img), multipart=multipart)
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
            assert entry['share'] == pytest.approx(
                (want == entry['index']).mean())
        assert result['latency_ms'] > 0


def png_claiming(w, h):
    """A PNG whose header says w x h (a tiny file: the decompression-bomb
    shape); its one IDAT row is all there is."""

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data)))

    return (b'\x89PNG\r\n\x1a\n' +
            chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(b'\x00' *
                                         (3 * w + 1))) + chunk(b'IEND', b''))


def test_bad_requests(tiny_models, synthetic_root):
    model = runtime.Segmenter(tiny_models['whole'], threads=1)
    good = images(synthetic_root)[0]
    want = model.predict(good)
    jpeg = cv2.imencode('.jpg', good)[1].tobytes()
    big = np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)
    cases = [
        # (body, multipart, status, words in the error)
        (b'%PDF-1.4 not an image at all', False, 415, 'not an image'),
        (b'', False, 422, 'the upload is empty'),
        (png(good)[:300], False, 422, 'truncated PNG'),
        (jpeg[:len(jpeg) // 2], False, 422, 'truncated JPEG'),
        (png(good)[:8] + b'\x00' * 40, False, 422, 'PNG'),
        (png(big), False, 413, 'this server takes at most 60000'),
        (png_claiming(30000, 30000), False, 413,
         'the image is 30000x30000 = 900000000 pixels; this server takes at '
         'most 20000'),
        (png(cv2.resize(good, (150, 150), interpolation=cv2.INTER_NEAREST)),
         True, 413, '22500 pixels'),
        (b'junk', True, 415, 'not an image'),
    ]
    with serve(tiny_models['whole'], '--max-upload-mb', str(60000 / (1 << 20)),
               '--max-pixels', '20000') as client:
        for body, multipart, status, words in cases:
            got, headers, answer = client.predict(body, multipart=multipart)
            assert got == status, (words, got, answer)
            assert headers['content-type'] == 'application/json'
            error = json.loads(answer)['error']
            assert words in error, (words, error)
            # and the next good request is answered right
            got, _, answer = client.predict(png(good))
            assert got == 200
            np.testing.assert_array_equal(decode_png(answer), want)
        got, _, answer = client.request(
            'POST', '/predict?format=xml', body=png(good))
        assert got == 422 and "format='xml'" in json.loads(answer)['error']


def test_full_queue_is_503(tiny_models, synthetic_root):
    """One session and no queue: of 8 simultaneous requests for a large
    image some are refused 503 at once, the others answered right."""
    model = runtime.Segmenter(tiny_models['whole'], threads=1)
    img = cv2.resize(images(synthetic_root)[0], (768, 768))
    data, want = png(img), model.predict(img)
    with serve(tiny_models['whole'], '--workers', '1', '--threads', '1',
               '--queue', '0') as client:
        barrier = threading.Barrier(8)

        def call(_):
            barrier.wait()
            return client.predict(data)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(call, range(8)))
        statuses = sorted(r[0] for r in results)
        assert 503 in statuses and 200 in statuses, statuses
        assert set(statuses) == {200, 503}
        for status, _, body in results:
            if status == 503:
                assert 'busy' in json.loads(body)['error']
            else:
                np.testing.assert_array_equal(decode_png(body), want)
        # nothing is left waiting: the next request is served
        assert client.predict(data)[0] == 200


def test_burst(tiny_models, synthetic_root):
    """64 requests from 8 concurrent clients, 8 different images: every one
    answered, each with its own image's labels, in the time limit."""
    model = runtime.Segmenter(tiny_models['whole'], threads=1)
    imgs = images(synthetic_root)
    bodies = [png(img) for img in imgs]
    wants = [model.predict(img) for img in imgs]
    assert len({w.tobytes() for w in wants}) == len(wants)
    with serve(tiny_models['whole'], '--workers', '2', '--threads',
               '1') as client:
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
