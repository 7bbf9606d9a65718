"""Image formats and sizes from headers alone: every format the runtime
takes measures as OpenCV then decodes it, files announcing 30000x30000 are
refused before decoding, and formats whose size is not read so are 415."""
import struct
import time

import cv2
import numpy as np
import pytest

from conftest import import_deploy_package
from helpers import image_bombs

runtime = import_deploy_package('mmext_pixel_runtime')
from mmext_pixel_runtime import image_header  # noqa: E402


def noise(h, w):
    return np.random.default_rng(h * w).integers(0, 256, (h, w, 3), np.uint8)


def exif_jpeg(img, orientation):
    """A JPEG of ``img`` with an EXIF APP1 segment holding
    ``orientation``."""
    data = cv2.imencode('.jpg', img)[1].tobytes()
    tiff = (b'MM\x00*' + struct.pack('>I', 8) + struct.pack('>H', 1) +
            struct.pack('>HHIHH', 274, 3, 1, orientation, 0) +
            struct.pack('>I', 0))
    app1 = b'Exif\x00\x00' + tiff
    return data[:2] + b'\xff\xe1' + struct.pack('>H', 2 + len(app1)) + \
        app1 + data[2:]


ENCODINGS = [
    ('PNG', '.png', []),
    ('JPEG', '.jpg', []),
    ('BMP', '.bmp', []),
    ('GIF', '.gif', []),
    ('WebP', '.webp', [cv2.IMWRITE_WEBP_QUALITY, 80]),  # VP8
    ('WebP', '.webp', [cv2.IMWRITE_WEBP_QUALITY, 101]),  # VP8L, lossless
    ('TIFF', '.tif', []),
    ('PNM', '.ppm', []),
    ('PNM', '.pgm', []),
]


@pytest.mark.parametrize('kind,ext,params', ENCODINGS)
def test_measure_as_opencv_decodes(kind, ext, params):
    for h, w in ((30, 40), (57, 13)):
        img = noise(h, w)
        data = cv2.imencode(ext, img if ext != '.pgm' else img[..., 0],
                            params)[1].tobytes()
        size = image_header.measure(data)
        assert size.format == kind
        decoded = runtime.decode_image(data, max_pixels=h * w)
        assert decoded.shape == (h, w, 3)
        assert (size.width, size.height) == (w, h)


def test_jpeg_exif_orientation():
    img = noise(30, 40)
    for orientation, shape in ((1, (30, 40)), (6, (40, 30)), (8, (40, 30)),
                               (3, (30, 40))):
        data = exif_jpeg(img, orientation)
        size = image_header.measure(data)
        # OpenCV turns the image as EXIF says; the header size says the same
        assert cv2.imdecode(np.frombuffer(data, np.uint8),
                            cv2.IMREAD_COLOR).shape[:2] == shape
        assert (size.height, size.width) == shape


def test_every_page_and_frame():
    # the largest page or frame counts, wherever it is
    tiff = cv2.imencodemulti('.tif', [noise(20, 30), noise(60, 20)])[1]
    size = image_header.measure(tiff.tobytes())
    assert (size.width, size.height, size.frames) == (20, 60, 2)
    gif = image_header.measure(image_bombs.gif((16, 16), [(16, 16), (8, 90)]))
    assert (gif.width, gif.height) == (8, 90)
    apng = image_bombs.png(16, 16)
    fctl = image_bombs.png_chunk(
        b'fcTL', struct.pack('>IIIIIHHBB', 1, 300, 200, 0, 0, 1, 1, 0, 0))
    apng = apng[:33] + fctl + apng[33:]
    assert image_header.measure(apng)[1:3] == (300, 200)


@pytest.mark.parametrize('name', list(image_bombs.bombs()))
def test_bombs_refused_before_decoding(name):
    data = image_bombs.bombs()[name]
    assert len(data) < 200
    size = image_header.measure(data)
    assert size.width * size.height == 30000 * 30000
    start = time.perf_counter()
    with pytest.raises(runtime.InferenceError) as info:
        runtime.decode_image(data, max_pixels=4096 * 4096)
    assert time.perf_counter() - start < 1
    assert info.value.status == 413
    assert 'the image is 30000x30000 = 900000000 pixels' in str(info.value)


def test_formats_not_measured_are_415():
    img = noise(64, 64)
    others = {
        'JPEG 2000': cv2.imencode('.jp2', img)[1].tobytes(),
        'Radiance HDR': cv2.imencode('.hdr',
                                     img.astype(np.float32))[1].tobytes(),
        'PFM': cv2.imencode('.pfm', img.astype(np.float32))[1].tobytes(),
        'PAM': cv2.imencode('.pam', img)[1].tobytes(),
        'BigTIFF': b'II+\x00\x08\x00\x00\x00' + b'\x00' * 32,
        'PDF': b'%PDF-1.4',
    }
    for name, data in others.items():
        with pytest.raises(runtime.InferenceError) as info:
            runtime.decode_image(data)
        assert info.value.status == 415, name
        assert ('the image data: not an image in an accepted format (PNG, '
                'JPEG, BMP, GIF, WebP, TIFF, PNM)') in str(info.value), name


def test_damaged_headers_are_422():
    cases = {
        'JPEG': b'\xff\xd8\xff\xd9',
        'GIF': b'GIF89a' + b'\x10\x00\x10\x00\x00\x00\x00' + b'\x99',
        'TIFF': b'II*\x00\x08\x00\x00\x00\x01\x00',
        'PNM': b'P6\nwide high\n',
    }
    for kind, data in cases.items():
        with pytest.raises(runtime.InferenceError) as info:
            image_header.measure(data)
        assert info.value.status == 422, kind
        assert kind in str(info.value)
