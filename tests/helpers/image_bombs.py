"""Tiny image files whose headers announce a huge image (decompression
bombs), one per format the runtime takes, and a few whose later frame or
page is the huge one."""
import struct
import zlib


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data)))


def png(w: int, h: int) -> bytes:
    """IHDR of w x h, then one compressed zero row: all there is."""
    return (b'\x89PNG\r\n\x1a\n' +
            png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            png_chunk(b'IDAT', zlib.compress(b'\x00' * (3 * w + 1))) +
            png_chunk(b'IEND', b''))


def gif(screen, frames) -> bytes:
    """A GIF89a of logical screen ``screen`` (w, h) and image descriptors
    of ``frames`` [(w, h)], each with a two-byte LZW stream."""
    data = b'GIF89a' + struct.pack('<HHBBB', *screen, 0, 0, 0)
    for w, h in frames:
        data += b'\x2c' + struct.pack('<HHHHB', 0, 0, w, h, 0)
        data += b'\x02\x02\x4c\x01\x00'
    return data + b'\x3b'


def jpeg(w: int, h: int) -> bytes:
    """SOI, a baseline frame header of w x h, a scan header, EOI."""
    sof = struct.pack('>BHHB', 8, h, w, 1) + b'\x01\x11\x00'
    sos = b'\x01\x01\x00\x00\x3f\x00'
    return (b'\xff\xd8' + b'\xff\xc0' + struct.pack('>H', 2 + len(sof)) + sof +
            b'\xff\xda' + struct.pack('>H', 2 + len(sos)) + sos + b'\x00' * 8 +
            b'\xff\xd9')


def bmp(w: int, h: int) -> bytes:
    """A BITMAPINFOHEADER of w x h, 24 bits, without its pixels."""
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b'BM' + struct.pack('<IHHI', 14 + len(info), 0, 0,
                               14 + len(info)) + info


def webp_vp8x(w: int, h: int) -> bytes:
    """An extended WebP whose canvas is w x h."""
    vp8x = b'\x00\x00\x00\x00' + (w - 1).to_bytes(3, 'little') + \
        (h - 1).to_bytes(3, 'little')
    body = b'WEBP' + b'VP8X' + struct.pack('<I', len(vp8x)) + vp8x
    return b'RIFF' + struct.pack('<I', len(body)) + body


def webp_animation(canvas, frame) -> bytes:
    """An animated WebP: a ``canvas`` (w, h) and one ANMF frame (w, h)."""
    vp8x = b'\x02\x00\x00\x00' + (canvas[0] - 1).to_bytes(3, 'little') + \
        (canvas[1] - 1).to_bytes(3, 'little')
    anmf = (b'\x00' * 6 + (frame[0] - 1).to_bytes(3, 'little') +
            (frame[1] - 1).to_bytes(3, 'little') + b'\x00' * 4)
    body = (b'WEBP' + b'VP8X' + struct.pack('<I', len(vp8x)) + vp8x + b'ANMF' +
            struct.pack('<I', len(anmf)) + anmf)
    return b'RIFF' + struct.pack('<I', len(body)) + body


def tiff(*pages) -> bytes:
    """A little-endian TIFF of one IFD per (w, h) in ``pages`` (width and
    length only)."""
    data = bytearray(b'II*\x00' + struct.pack('<I', 8))
    for i, (w, h) in enumerate(pages):
        start = len(data)
        nxt = start + 2 + 2 * 12 + 4 if i + 1 < len(pages) else 0
        data += struct.pack('<H', 2)
        data += struct.pack('<HHII', 256, 4, 1, w)
        data += struct.pack('<HHII', 257, 4, 1, h)
        data += struct.pack('<I', nxt)
    return bytes(data)


def pnm(w: int, h: int) -> bytes:
    return b'P6\n# a comment\n%d %d\n255\n' % (w, h) + b'\x00' * 16


def bombs(side: int = 30000) -> dict:
    """One file per format claiming ``side`` x ``side`` pixels, and the
    later-frame and later-page variants."""
    return {
        'GIF': gif((side, side), [(side, side)]),
        'GIF frame 2': gif((16, 16), [(16, 16), (side, side)]),
        'PNG': png(side, side),
        'JPEG': jpeg(side, side),
        'BMP': bmp(side, side),
        'WebP': webp_vp8x(side, side),
        'WebP frame': webp_animation((16, 16), (side, side)),
        'TIFF page 2': tiff((16, 16), (side, side)),
        'PNM': pnm(side, side),
    }
