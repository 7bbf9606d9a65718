"""The memory of one ``mmext-pixel-serve`` request at the pixel limit,
measured, and the server's worst case.

The probe runs in a fresh process (``python -m
mmext_pixel_runtime.memory MODEL --pixels N``): it loads the model as a
server worker does, sends a small image through the whole request path (so
that code pages and onnxruntime's first allocations are in), resets the
kernel's high-water mark of its resident memory (``/proc/self/clear_refs``)
and then does the work of the most expensive request: a noise image of
``N`` pixels decoded, segmented, drawn over and answered as JSON. The peak
is ``VmHWM`` after it minus ``VmRSS`` before it: numpy, OpenCV and
onnxruntime allocations alike, which ``tracemalloc`` would not see.
"""
import argparse
import gc
import json
import math
import os
import subprocess
import sys
from typing import Dict, Optional, Sequence

MIB = 1 << 20


def proc_status(pid: str = 'self') -> Dict[str, int]:
    """The ``Vm*`` lines of ``/proc/PID/status`` in bytes.

    Args:
        pid (str): A process id, or 'self'. Defaults to 'self'.
    """
    values = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('Vm'):
                key, value = line.split(':', 1)
                values[key] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: str = 'self') -> None:
    """Reset the process's ``VmHWM`` to its current resident size."""
    with open(f'/proc/{pid}/clear_refs', 'w') as f:
        f.write('5')


def probe_shape(max_pixels: int) -> tuple:
    """(w, h) of the probe image: the square nearest ``max_pixels`` from
    below."""
    side = math.isqrt(max_pixels)
    return side, max_pixels // side


def measure_request(model: str, max_pixels: int,
                    threads: Optional[int]) -> dict:
    """The peak memory of one request at the pixel limit, in this process
    (see the module doc)."""
    import cv2
    import numpy as np

    from .service import ModelService
    service = ModelService(
        model, workers=1, threads=threads, queue_size=0, max_pixels=max_pixels)
    w, h = probe_shape(max_pixels)
    rng = np.random.default_rng(0)

    def request(data: bytes) -> None:
        result = service.infer(data, True, True)
        service.answer(result, 'json', 0.0)

    request(
        cv2.imencode('.png', rng.integers(0, 256, (32, 32, 3),
                                          np.uint8))[1].tobytes())
    img = rng.integers(0, 256, (h, w, 3), np.uint8)
    data = cv2.imencode('.png', img)[1].tobytes()
    del img
    gc.collect()
    reset_peak()
    before = proc_status()['VmRSS']
    request(data)
    peak = proc_status()['VmHWM'] - before
    return dict(peak_bytes=peak, width=w, height=h, upload_bytes=len(data))


def request_peak(model: str,
                 max_pixels: int,
                 threads: Optional[int] = None,
                 timeout: float = 600) -> dict:
    """:func:`measure_request` in a fresh process.

    Args:
        model (str): The ONNX file.
        max_pixels (int): The server's pixel limit.
        threads (int, optional): onnxruntime threads. Defaults to None.
        timeout (float): Seconds before giving up. Defaults to 600.

    Returns:
        dict: ``peak_bytes``, ``width``, ``height``, ``upload_bytes``.
    """
    cmd = [
        sys.executable, '-m', 'mmext_pixel_runtime.memory', model, '--pixels',
        str(max_pixels)
    ]
    if threads:
        cmd += ['--threads', str(threads)]
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError('the memory probe failed: ' +
                           (proc.stderr.strip().splitlines() or ['?'])[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worst_case(workers: int, request_bytes: int, connections: int,
               upload_bytes: int) -> int:
    """The server's memory beyond its idle size, at most: every worker in a
    request at the pixel limit, every connection holding an upload of the
    largest size twice (the body and, for a form, its file).

    Args:
        workers (int): ``--workers``.
        request_bytes (int): One request's peak (:func:`request_peak`).
        connections (int): ``--max-connections``.
        upload_bytes (int): ``--max-upload-mb`` in bytes.
    """
    return workers * request_bytes + connections * 2 * upload_bytes


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description='Peak memory of one request at the pixel limit')
    parser.add_argument('model')
    parser.add_argument('--pixels', type=int, required=True)
    parser.add_argument('--threads', type=int)
    args = parser.parse_args(argv)
    # beside a serving process: its requests come first
    os.nice(19)
    print(json.dumps(measure_request(args.model, args.pixels, args.threads)))


if __name__ == '__main__':
    main()
