"""Image formats and sizes read from file headers before decoding, so that
a small file announcing a huge image (a decompression bomb) is refused
unallocated; only formats whose every frame or page can be measured so are
taken (others are 415). Pillow's plugin classes read JPEG (with its EXIF
orientation), BMP and PNM from the header alone; the rest Pillow cannot
measure without decoding, so it is read here: APNG frames and GIF image
descriptors (Pillow decodes each previous frame as it seeks), WebP (handed to
libwebp) and TIFF (Pillow refuses pages OpenCV reads, and ignores the
orientation OpenCV applies)."""
import io
import re
import struct
from functools import partial
from typing import Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np
from PIL import BmpImagePlugin, JpegImagePlugin, PpmImagePlugin

from .metadata import InferenceError

#: the formats taken and their file extensions
FORMATS: Dict[str, Tuple[str, ...]] = {
    'PNG': ('.png', ),
    'JPEG': ('.jpg', '.jpeg', '.jpe'),
    'BMP': ('.bmp', '.dib'),
    'GIF': ('.gif', ),
    'WebP': ('.webp', ),
    'TIFF': ('.tif', '.tiff'),
    'PNM': ('.pbm', '.pgm', '.ppm', '.pnm'),
}
IMAGE_EXTS = tuple(e for exts in FORMATS.values() for e in exts)
PILLOW_PLUGINS = dict(
    JPEG=JpegImagePlugin.JpegImageFile,
    BMP=BmpImagePlugin.BmpImageFile,
    PNM=PpmImagePlugin.PpmImageFile)


class ImageError(InferenceError):
    """An image refused before or while decoding, with the HTTP ``status``
    a server answers: 413 (too large), 415 (not a format taken) or 422."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ImageSize(NamedTuple):
    """Format, largest frame or page (EXIF-oriented) and frames of a file."""
    format: str
    width: int
    height: int
    frames: int


def sniff(data: bytes) -> Optional[str]:
    """The format of the file ``data`` by its magic bytes, or None."""
    found = dict(
        PNG=data.startswith(b'\x89PNG\r\n\x1a\n'),
        JPEG=data.startswith(b'\xff\xd8\xff'),
        BMP=data.startswith(b'BM'),
        GIF=data[:6] in (b'GIF87a', b'GIF89a'),
        WebP=data[:4] == b'RIFF' and data[8:12] == b'WEBP',
        TIFF=data[:4] in (b'II*\x00', b'MM\x00*'),
        PNM=re.match(rb'P[1-6]\s', data[:3]) is not None)
    return next((kind for kind, match in found.items() if match), None)


def _damaged(kind: str, what: str) -> ImageError:
    return ImageError(422, f'damaged {kind}: {what}')


def _png_sizes(data: bytes) -> List[Tuple[int, int]]:
    if data[12:16] != b'IHDR' or len(data) < 24:
        raise _damaged('PNG', 'the first chunk is not IHDR')
    # APNG: every fcTL chunk's sizes, found by name wherever it is (the name
    # inside compressed data can only add a size)
    return [struct.unpack('>II', data[16:24])] + [
        struct.unpack('>II', data[m.start() + 8:m.start() + 16])
        for m in re.finditer(b'fcTL', data) if m.start() + 16 <= len(data)
    ]


def _oriented(size: Tuple[int, int], orientation: int) -> Tuple[int, int]:
    """(w, h) as shown: orientations 5 to 8 turn the image by 90 degrees."""
    return (size[1], size[0]) if 5 <= orientation <= 8 else size


def _pillow_sizes(kind: str, data: bytes) -> List[Tuple[int, int]]:
    """JPEG, BMP and PNM by Pillow's plugin classes: unlike ``Image.open``
    they read the header alone and report a huge size."""
    try:
        img = PILLOW_PLUGINS[kind](io.BytesIO(data))
        orientation = img.getexif().get(274, 1) if kind == 'JPEG' else 1
    except (SyntaxError, ValueError, OSError) as e:
        raise _damaged(kind, str(e) or type(e).__name__) from None
    return [_oriented(img.size, orientation)]


def _gif_sizes(data: bytes) -> List[Tuple[int, int]]:
    if len(data) < 13:
        raise ImageError(422, f'truncated GIF: {len(data)} bytes')
    sizes = [struct.unpack('<HH', data[6:10])]

    def table(flags: int) -> int:  # bytes of a colour table
        return 3 << ((flags & 7) + 1) if flags & 0x80 else 0

    def skip_blocks(pos: int) -> int:
        while pos < len(data) and data[pos]:
            pos += data[pos] + 1
        return pos + 1

    pos = 13 + table(data[10])
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            pos = skip_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor
            if pos + 10 > len(data):
                break
            left, top, w, h = struct.unpack('<HHHH', data[pos + 1:pos + 9])
            sizes += [(w, h), (left + w, top + h)]
            # local colour table, LZW code size, then the data
            pos = skip_blocks(pos + 11 + table(data[pos + 9]))
        else:
            raise _damaged('GIF', f'unknown block 0x{block:02X} at byte {pos}')
    return sizes


def _webp_frame(kind: bytes, payload: bytes) -> Optional[Tuple[int, int]]:
    if kind == b'VP8X' and len(payload) >= 10:
        return (int.from_bytes(payload[4:7], 'little') + 1,
                int.from_bytes(payload[7:10], 'little') + 1)
    if kind == b'VP8L' and len(payload) >= 5:
        bits = int.from_bytes(payload[1:5], 'little')
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b'VP8 ' and len(payload) >= 10:
        w, h = struct.unpack('<HH', payload[6:10])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b'ANMF' and len(payload) >= 12:
        return (int.from_bytes(payload[6:9], 'little') + 1,
                int.from_bytes(payload[9:12], 'little') + 1)
    return None


def _webp_sizes(data: bytes) -> List[Tuple[int, int]]:
    sizes = []
    chunks = [(12, len(data))]  # (start, end) of chunk sequences to walk
    while chunks:
        pos, end = chunks.pop()
        while pos + 8 <= end:
            kind = data[pos:pos + 4]
            length = struct.unpack('<I', data[pos + 4:pos + 8])[0]
            payload = data[pos + 8:min(pos + 8 + length, end)]
            size = _webp_frame(kind, payload)
            if size is not None:
                sizes.append(size)
            if kind == b'ANMF':  # the frame's own chunks follow its header
                chunks.append((pos + 24, min(pos + 8 + length, end)))
            pos += 8 + length + (length & 1)
    if not sizes:
        raise _damaged('WebP', 'no VP8, VP8L or VP8X chunk')
    return sizes


def _tiff_sizes(data: bytes) -> List[Tuple[int, int]]:
    order = '<' if data[:2] == b'II' else '>'
    sizes, seen = [], set()
    ifd = struct.unpack(order + 'I', data[4:8])[0]
    while ifd:
        if ifd in seen:
            raise _damaged('TIFF', f'its IFDs loop back to byte {ifd}')
        if ifd + 2 > len(data):
            raise ImageError(
                422, f'truncated TIFF: an IFD at byte {ifd}, the data has '
                f'{len(data)} bytes')
        seen.add(ifd)
        end = ifd + 2 + 12 * struct.unpack(order + 'H', data[ifd:ifd + 2])[0]
        if end + 4 > len(data):
            raise ImageError(
                422, f'truncated TIFF: the IFD at byte {ifd} needs {end + 4} '
                f'bytes, the data has {len(data)}')
        tags = {}
        for at in range(ifd + 2, end, 12):
            tag, kind = struct.unpack(order + 'HH', data[at:at + 4])
            fmt = {3: 'H', 4: 'I'}.get(kind)  # SHORT, LONG
            if fmt:
                tags[tag] = struct.unpack_from(order + fmt, data, at + 8)[0]
        if 256 not in tags or 257 not in tags:
            raise _damaged('TIFF',
                           f'the IFD at byte {ifd} has no width or length')
        sizes.append(_oriented((tags[256], tags[257]), tags.get(274, 1)))
        ifd = struct.unpack(order + 'I', data[end:end + 4])[0]
    if not sizes:
        raise _damaged('TIFF', 'no IFD')
    return sizes


SIZE_READERS = dict(
    PNG=_png_sizes,
    GIF=_gif_sizes,
    WebP=_webp_sizes,
    TIFF=_tiff_sizes,
    **{kind: partial(_pillow_sizes, kind)
       for kind in PILLOW_PLUGINS})


def measure(data: bytes, name: str = 'the image') -> ImageSize:
    """The :class:`ImageSize` of a file's bytes from its headers alone;
    ``name`` (default 'the image') is named in errors."""
    if not data:
        raise ImageError(422, f'{name}: not an image (no data)')
    kind = sniff(data)
    if kind is None:
        raise ImageError(
            415, f'{name}: not an image in an accepted format '
            f'({", ".join(FORMATS)}): it starts with {data[:16]!r}')
    try:
        sizes = SIZE_READERS[kind](data)
    except struct.error:
        raise ImageError(
            422, f'truncated {kind}: its headers are cut off') from None
    w, h = max(sizes, key=lambda s: s[0] * s[1])
    return ImageSize(kind, w, h, len(sizes))


def _check_complete(kind: str, data: bytes) -> None:
    """422 for a truncated PNG (a chunk cut before IEND) or JPEG (no FFD9
    last), which OpenCV would decode as far as it goes."""
    if kind == 'JPEG' and not data.rstrip(b'\x00').endswith(b'\xff\xd9'):
        raise ImageError(
            422, 'truncated JPEG: no end-of-image marker (FFD9) at the end '
            f'of its {len(data)} bytes')
    pos = 8
    while kind == 'PNG':
        if pos + 8 > len(data):
            raise ImageError(
                422, f'truncated PNG: the data ends at byte {len(data)} '
                'before the IEND chunk')
        length, chunk = struct.unpack('>I4s', data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ImageError(
                422, f'truncated PNG: its {chunk.decode("latin-1")!r} chunk '
                f'needs {end} bytes, the upload has {len(data)}')
        if chunk == b'IEND':
            return
        pos = end


def decode(data: bytes,
           name: str,
           max_pixels: Optional[int],
           limit: str = 'the limit (--max-pixels) is',
           complete: bool = False) -> np.ndarray:
    """An encoded file's BGR uint8 image as mmcv's ``LoadImageFromFile``
    decodes it, once :func:`measure` has read its headers.

    Args:
        data (bytes): The file's bytes.
        name (str): The file, for messages.
        max_pixels (int, optional): 413 past so many pixels (of any frame or
            page); None takes any.
        limit (str): The words before the limit in the message. Defaults to
            'the limit (--max-pixels) is'.
        complete (bool): 422 for a truncated PNG or JPEG (an upload).
            Defaults to False.
    """

    def check_pixels(w: int, h: int) -> None:
        if max_pixels is not None and w * h > max_pixels:
            raise ImageError(
                413, f'{name}: the image is {w}x{h} = {w * h} pixels; '
                f'{limit} {max_pixels}')

    size = measure(data, name)
    check_pixels(size.width, size.height)
    if complete:
        _check_complete(size.format, data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ImageError(
            422, f'{name}: damaged {size.format}: opencv cannot decode it')
    check_pixels(img.shape[1], img.shape[0])  # in case a header said less
    return img
