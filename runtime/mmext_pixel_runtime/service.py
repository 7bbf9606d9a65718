"""The model behind ``mmext-pixel-serve``: its sessions, one request's work
and the admission count, apart from the web framework."""
import base64
import json
import math
import os
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .image_header import ImageError, decode
from .overlay import class_centre, encode_png
from .postprocess import label_counts
from .segmenter import Segmenter


class ModelService:
    """``workers`` onnxruntime sessions, one request at a time each, and the
    admission count.

    Args:
        model_path (str): The ONNX file.
        workers (int): Requests inferred at once. Defaults to 1.
        threads (int, optional): Intra-op threads per session. Defaults to
            None (the CPU count divided by ``workers``).
        queue_size (int): Requests that may wait for a session (more get
            503). Defaults to 8.
        max_bytes (int): Largest upload. Defaults to 20 MiB.
        max_pixels (int): Largest image. Defaults to 4096 x 4096.
        providers (Sequence, optional): onnxruntime execution providers.
            Defaults to None (CPU).
    """

    def __init__(self,
                 model_path: str,
                 workers: int = 1,
                 threads: Optional[int] = None,
                 queue_size: int = 8,
                 max_bytes: int = 20 << 20,
                 max_pixels: int = 4096 * 4096,
                 providers: Optional[Sequence] = None):
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // workers)
        self.models: List[Segmenter] = [
            Segmenter(model_path, providers, threads) for _ in range(workers)
        ]
        self.meta = self.models[0].meta
        self.model_path = model_path
        self.workers = workers
        self.threads = threads
        self.queue_size = queue_size
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.idle: 'queue.Queue[Segmenter]' = queue.Queue()
        for model in self.models:
            self.idle.put(model)
        self.executor = ThreadPoolExecutor(
            workers, thread_name_prefix='segment')
        # requests in a slot, and the bytes of bodies held (--max-bodies):
        # only the event loop changes them, so they need no lock
        self.in_flight = self.body_bytes = 0
        # moving average of a request's seconds in its slot (Retry-After)
        self.service_s = 1.0

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    @property
    def full(self) -> bool:
        return self.in_flight >= self.capacity

    def retry_after(self) -> int:
        """Seconds until a slot is likely free (requests per worker times
        the average time)."""
        return max(1,
                   math.ceil(self.in_flight / self.workers * self.service_s))

    def record(self, seconds: float) -> None:
        """Add one request's time in its slot to the average."""
        self.service_s = 0.8 * self.service_s + 0.2 * seconds

    def run(self, data: bytes, fmt: str, with_labels: bool,
            start: float) -> Tuple[bytes, str, float]:
        """One request in a worker thread: the answer (label PNG or
        :meth:`answer`'s JSON), media type and inference ms; ``start``: the
        arrival's ``perf_counter()``."""
        if not data:
            raise ImageError(422, 'the upload is empty')
        img = decode(data, 'the upload', self.max_pixels,
                     'this server takes at most', True)  # complete or 422
        model = self.idle.get()
        try:
            begin = time.perf_counter()
            labels = model.predict(img)
            infer_ms = (time.perf_counter() - begin) * 1000
        finally:
            self.idle.put(model)
        if fmt == 'png':
            del img
            return encode_png(labels).tobytes(), 'image/png', infer_ms
        # drawn into the decoded image, which nothing else needs
        overlay_png = base64.b64encode(
            encode_png(model.overlay(img, labels, with_labels, inplace=True)))
        del img
        return self.answer(labels, overlay_png, infer_ms,
                           (time.perf_counter() - start) * 1000), \
            'application/json', infer_ms

    def answer(self, labels: np.ndarray, overlay_png: bytes, infer_ms: float,
               latency_ms: float) -> bytes:
        """The ``format=json`` answer, built around the base64 PNGs so that
        each is copied once."""
        meta = self.meta
        h, w = labels.shape
        counts = label_counts(labels)
        # centre: where the page, as SegLocalVisualizer, writes the name
        classes = [
            dict(
                index=i,
                name=meta.classes[i],
                color=list(meta.palette[i]),
                share=float(counts[i] / labels.size),
                centre=class_centre(labels == i) if counts[i] else None)
            for i in range(meta.num_classes)
        ]
        head = json.dumps(
            dict(
                width=w,
                height=h,
                latency_ms=round(latency_ms, 1),
                inference_ms=round(infer_ms, 1),
                classes=classes))
        labels_png = base64.b64encode(encode_png(labels))
        return b''.join((head[:-1].encode(), b', "labels_png": "', labels_png,
                         b'", "overlay_png": "', overlay_png, b'"}'))
