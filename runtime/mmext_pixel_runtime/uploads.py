"""Checks of uploaded image bytes before they are decoded: the format, the
pixel count read from the header (so that a small file announcing a huge
image is refused without allocating it) and truncation."""
import struct
from typing import Optional, Tuple

import cv2
import numpy as np


class UploadError(Exception):
    """An upload the server refuses.

    Args:
        status (int): HTTP status (413, 415 or 422).
        message (str): What is wrong, for the client.
    """

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sniff(data: bytes) -> Optional[str]:
    """The image format by its magic bytes, or None.

    Args:
        data (bytes): The upload.
    """
    if data.startswith(b'\x89PNG\r\n\x1a\n'):
        return 'PNG'
    if data.startswith(b'\xff\xd8\xff'):
        return 'JPEG'
    if data.startswith(b'BM'):
        return 'BMP'
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'WebP'
    if data[:4] in (b'II*\x00', b'MM\x00*'):
        return 'TIFF'
    if data[:2] in (b'P5', b'P6', b'P2', b'P3'):
        return 'PNM'
    return None


def _png_size(data: bytes) -> Tuple[int, int]:
    """(w, h) of a PNG; truncation is an error (every chunk complete, up
    to IEND)."""
    pos, size = 8, None
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
        if kind == b'IHDR':
            size = struct.unpack('>II', data[pos + 8:pos + 16])
        if kind == b'IEND':
            break
        pos = end
    if size is None:
        raise UploadError(422, 'damaged PNG: no IHDR chunk')
    return size


def _jpeg_size(data: bytes) -> Tuple[int, int]:
    """(w, h) of a JPEG from its frame header; the data must end with the
    end-of-image marker."""
    if not data.rstrip(b'\x00').endswith(b'\xff\xd9'):
        raise UploadError(
            422, 'truncated JPEG: no end-of-image marker (FFD9) at the end '
            f'of its {len(data)} bytes')
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack('>H', data[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(data):
                break
            h, w = struct.unpack('>HH', data[pos + 5:pos + 9])
            return w, h
        pos += 2 + length
    raise UploadError(422, 'damaged JPEG: no frame header')


def _bmp_size(data: bytes) -> Optional[Tuple[int, int]]:
    if len(data) < 26:
        raise UploadError(422, f'truncated BMP: {len(data)} bytes')
    w, h = struct.unpack('<ii', data[18:26])
    return abs(w), abs(h)


def _webp_size(data: bytes) -> Optional[Tuple[int, int]]:
    chunk = data[12:16]
    if chunk == b'VP8X' and len(data) >= 30:
        w = int.from_bytes(data[24:27], 'little') + 1
        h = int.from_bytes(data[27:30], 'little') + 1
        return w, h
    if chunk == b'VP8L' and len(data) >= 25:
        bits = int.from_bytes(data[21:25], 'little')
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b'VP8 ' and len(data) >= 30:
        w, h = struct.unpack('<HH', data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


HEADER_SIZES = dict(
    PNG=_png_size, JPEG=_jpeg_size, BMP=_bmp_size, WebP=_webp_size)


def check_pixels(w: int, h: int, max_pixels: int) -> None:
    """413 for an image of more than ``max_pixels`` pixels."""
    if w * h > max_pixels:
        raise UploadError(
            413, f'the image is {w}x{h} = {w * h} pixels; this server takes '
            f'at most {max_pixels}')


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The BGR uint8 image of an upload, or :class:`UploadError`.

    Args:
        data (bytes): The uploaded file.
        max_pixels (int): The largest width x height taken.

    Returns:
        np.ndarray: The image (H, W, 3), decoded as mmcv's
        ``LoadImageFromFile`` decodes a file.
    """
    if not data:
        raise UploadError(422, 'the upload is empty')
    kind = sniff(data)
    if kind in HEADER_SIZES:
        size = HEADER_SIZES[kind](data)
        if size is not None:
            check_pixels(*size, max_pixels)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        if kind is None:
            raise UploadError(
                415, 'not an image: the upload is no format opencv decodes '
                f'(it starts with {data[:16]!r})')
        raise UploadError(422, f'damaged {kind}: opencv cannot decode it')
    check_pixels(img.shape[1], img.shape[0], max_pixels)
    return img
