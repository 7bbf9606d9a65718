"""The memory of one ``mmext-pixel-serve`` request at the pixel limit, for
the worst case the server prints at start: the network's part measured at two
small inputs and extrapolated linearly, the rest counted per image pixel.

The peak is the kernel's ``VmHWM``, reset through ``/proc/self/clear_refs``:
psutil reads neither, and ``getrusage``'s maximum cannot be reset (and counts
the process before its ``exec``)."""
import gc
import math
from typing import Dict, Tuple

import numpy as np

from .postprocess import BAND_BYTES
from .segmenter import Segmenter, normalise, padded_size

MIB = 1 << 20
# per image pixel at most: image 3, labels 1, overlay mask 3, class mask 1,
# overlay PNG 3 (noise) and base64 4; or the JSON's base64 PNGs, their join
# and the socket's unsent copy (5.4 each)
BYTES_PER_PIXEL = 17
# six float32 bands of logits (postprocess.py), the overlay's float64 blend
FIXED_BYTES = 6 * BAND_BYTES + 32 * MIB
# below 128 the first chunk of onnxruntime's arena hides the growth
PROBE_SIDES = (128, 256)
# onnxruntime grows a little faster than linearly (1.5 % from 256x256 to
# 1024x1024 for the tests' tiny HRNet)
MARGIN = 1.1


def proc_status(pid: str = 'self') -> Dict[str, int]:
    """``Vm*`` of ``/proc/PID/status`` in bytes (``pid`` default 'self')."""
    values = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('Vm'):
                key, value = line.split(':', 1)
                values[key] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: str = 'self') -> None:
    """Reset ``VmHWM`` of ``pid`` (default 'self') to the resident size."""
    with open(f'/proc/{pid}/clear_refs', 'w') as f:
        f.write('5')


def network_pixels(meta, max_pixels: int) -> int:
    """The most pixels of a network input for an image of ``max_pixels``
    (resized, padded at the worst aspect ratio)."""
    pre, resize = meta.preprocess, meta.test_resize
    if resize is None:
        side = math.isqrt(max_pixels)
        shapes = [(1, max_pixels), (max_pixels, 1), (side, side)]
    elif resize.keep_ratio:
        # within the scale's long and short edges, either way round
        big, small = max(resize.scale), min(resize.scale)
        shapes = [(small, big), (big, small)]
    else:
        shapes = [tuple(resize.scale[::-1])]
    return max(math.prod(padded_size(h, w, pre)) for h, w in shapes)


def network_cost(model: Segmenter) -> Tuple[float, float]:
    """The network's memory as (bytes, bytes per input pixel), measured in
    this process, which nothing else may use meanwhile: at
    :data:`PROBE_SIDES`, or at the one size of a fixed graph or of slide
    crops (whose full-size input and averaged logits then cost
    ``15 + 4 x (classes + 1)`` bytes per pixel)."""
    meta = model.meta
    if meta.test_mode == 'slide':
        sizes = [tuple(meta.crop_size)]
    elif all(model.fixed_hw):
        sizes = [model.fixed_hw]
    else:
        sizes = [(s, s) for s in PROBE_SIDES]
    rng = np.random.default_rng(0)
    gc.collect()
    base = proc_status()['VmRSS']
    points = []
    for h, w in sizes:
        reset_peak()
        inputs = normalise(
            rng.integers(0, 256, (h, w, 3), np.uint8), meta.preprocess)
        model._run(inputs)
        points.append(
            (inputs.shape[2] * inputs.shape[3], proc_status()['VmHWM'] - base))
        del inputs
        gc.collect()
    if len(points) == 1:
        slide = meta.test_mode == 'slide'
        return points[0][1], 15 + 4 * (meta.num_classes + 1) if slide else 0
    (p1, g1), (p2, g2) = points
    slope = MARGIN * max(g2 - g1, 0) / (p2 - p1)
    return max(g1 - slope * p1, 0), slope


def request_peak(model: Segmenter, max_pixels: int) -> Dict[str, int]:
    """``peak_bytes`` of one request at ``max_pixels`` on a worker's model,
    and the ``network_pixels`` it assumes."""
    fixed, per_pixel = network_cost(model)
    net = network_pixels(model.meta, max_pixels)
    peak = fixed + per_pixel * net + BYTES_PER_PIXEL * max_pixels
    return dict(peak_bytes=int(peak + FIXED_BYTES), network_pixels=net)
