"""Checks of uploaded image bytes before they are decoded: the format and
the pixel count read from the headers (:mod:`.image_header`: a small file
announcing a huge image is refused without allocating it), then
truncation."""
import struct

import cv2
import numpy as np

from .image_header import ImageError, ImageSize, check_pixels, measure

# the server's name for the errors of an upload (413, 415 or 422)
UploadError = ImageError


def _png_complete(data: bytes) -> None:
    """Truncation is an error: every chunk complete, up to IEND."""
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise UploadError(
                422, f'truncated PNG: the data ends at byte {len(data)} '
                'before the IEND chunk')
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise UploadError(
                422, f'truncated PNG: its {kind.decode("latin-1")!r} chunk '
                f'needs {end} bytes, the upload has {len(data)}')
        if kind == b'IEND':
            return
        pos = end


def _jpeg_complete(data: bytes) -> None:
    """The data must end with the end-of-image marker."""
    if not data.rstrip(b'\x00').endswith(b'\xff\xd9'):
        raise UploadError(
            422, 'truncated JPEG: no end-of-image marker (FFD9) at the end '
            f'of its {len(data)} bytes')


COMPLETE = dict(PNG=_png_complete, JPEG=_jpeg_complete)


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The BGR uint8 image of an upload, or :class:`UploadError`.

    Args:
        data (bytes): The uploaded file.
        max_pixels (int): The largest width x height taken (of every frame
            or page).

    Returns:
        np.ndarray: The image (H, W, 3), decoded as mmcv's
        ``LoadImageFromFile`` decodes a file.
    """
    if not data:
        raise UploadError(422, 'the upload is empty')
    size = measure(data, 'the upload')
    check_pixels(size, max_pixels, 'the upload', 'this server takes at most')
    if size.format in COMPLETE:
        COMPLETE[size.format](data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise UploadError(422,
                          f'damaged {size.format}: opencv cannot decode it')
    # what was decoded, in case a header said less than the data held
    check_pixels(
        ImageSize(size.format, img.shape[1], img.shape[0], 1), max_pixels,
        'the upload', 'this server takes at most')
    return img
