"""mmseg's ``postprocess_result`` in numpy: the logits resized to the image
(bilinear, as ``F.interpolate``) and their argmax, in bands of rows so that a
large image never holds its full-size float logits; each pixel gets the
float32 arithmetic of the full-size resize, so the labels are identical."""
from typing import Iterator, Tuple

import numpy as np

# bytes of one band's float32 logits (C x rows x W)
BAND_BYTES = 8 << 20


def _taps(n_in: int, n_out: int, align_corners: bool) -> tuple:
    """Source rows (or columns) and weights as torch's bilinear resize."""
    dst = np.arange(n_out, dtype=np.float32)
    if align_corners:
        scale = np.float32((n_in - 1) / (n_out - 1) if n_out > 1 else 0)
        src = dst * scale
    else:
        scale = np.float32(n_in / n_out)
        src = np.maximum((dst + np.float32(0.5)) * scale - np.float32(0.5),
                         np.float32(0))
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(np.float32)
    return i0, i1, np.float32(1) - w1, w1


def resize_bilinear(x: np.ndarray, size: Tuple[int, int],
                    align_corners: bool) -> np.ndarray:
    """``F.interpolate(x, size, mode='bilinear', align_corners=...)`` of a
    (C, H, W) float32 array: along W, then along H."""
    if x.shape[1:] == tuple(size):
        return x
    return next(_bands(x, size, align_corners, size[0]))[1]


def _bands(x: np.ndarray, size: Tuple[int, int], align_corners: bool,
           rows: int) -> Iterator[Tuple[int, np.ndarray]]:
    """(first row, resized logits) of each band of ``rows`` output rows."""
    h_out, w_out = size
    x0, x1, wx0, wx1 = _taps(x.shape[2], w_out, align_corners)
    y0, y1, wy0, wy1 = _taps(x.shape[1], h_out, align_corners)
    for r in range(0, h_out, rows):
        s = slice(r, min(r + rows, h_out))
        lo, hi = y0[s][0], y1[s][-1] + 1
        src = x[:, lo:hi]  # the band's source rows, resized along W
        cols = src[:, :, x0] * wx0 + src[:, :, x1] * wx1
        yield r, (
            cols[:, y0[s] - lo] * wy0[s, None] +
            cols[:, y1[s] - lo] * wy1[s, None])


def upsample_argmax(x: np.ndarray, size: Tuple[int, int],
                    align_corners: bool) -> np.ndarray:
    """``resize_bilinear(x, size, align_corners).argmax(0)`` of (C, h, w)
    logits (C <= 256) as uint8 labels, in bands of ``BAND_BYTES`` (the first
    maximum on ties, as torch's argmax)."""
    labels = np.empty(size, np.uint8)
    # the band and its source rows (more than the band where x is taller)
    per_row = x.shape[0] * size[1] * 4 * max(1.0, x.shape[1] / size[0])
    rows = max(1, int(BAND_BYTES // per_row))
    if x.shape[1:] == tuple(size):
        bands = ((r, x[:, r:r + rows]) for r in range(0, size[0], rows))
    else:
        bands = _bands(x, size, align_corners, rows)
    for r, band in bands:
        labels[r:r + band.shape[1]] = band.argmax(axis=0)
    return labels


def label_counts(labels: np.ndarray) -> np.ndarray:
    """The 256 label counts (int64) of a uint8 map, in bands: ``np.bincount``
    of the whole map would hold it as 8-byte integers."""
    counts = np.zeros(256, np.int64)
    flat = labels.reshape(-1)
    for i in range(0, flat.size, 1 << 20):
        counts += np.bincount(flat[i:i + (1 << 20)], minlength=counts.size)
    return counts
