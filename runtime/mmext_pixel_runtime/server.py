"""An HTTP service for an exported segmentation model: ``mmext-pixel-serve``.

    mmext-pixel-serve MODEL.onnx [--host 127.0.0.1] [--port 8000]
        [--workers N] [--threads T] [--queue Q] [--max-upload-mb M]
        [--max-pixels P]

FastAPI on uvicorn (``pip install mmext-pixel-runtime[serve]``). Endpoints:

- ``POST /predict``: an image, as the raw request body or as a multipart
  form's file; answers the uint8 label PNG, or with ``?format=json`` (or
  ``Accept: application/json``) each class's pixel share, the overlay and
  the label map as base64 PNGs and the server-side latency;
- ``GET /model``: the model's metadata and the server's limits;
- ``GET /health``: liveness and the number of requests in the server;
- ``GET /``: a web page to try the model in a browser.

``--workers`` onnxruntime sessions run requests in parallel; up to
``--queue`` more wait for one, and a request beyond them is answered 503
at once. Uploads over ``--max-upload-mb`` or images over ``--max-pixels``
are 413, non-images 415, damaged or truncated images 422; every error is
JSON ``{"error": ...}``.
"""
import argparse
import asyncio
import base64
import os
import os.path as osp
import queue
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, List, Optional, Sequence

import numpy as np

from .infer import encode_png
from .metadata import InferenceError
from .overlay import draw_overlay
from .segmenter import Segmenter
from .uploads import UploadError, decode_upload

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser
except ImportError as e:  # the optional extra is missing
    raise ImportError(f'{e}; the server needs the "serve" extra: pip install '
                      '"mmext-pixel-runtime[serve]"') from None

PAGE = osp.join(osp.dirname(osp.abspath(__file__)), 'page.html')


class ModelService:
    """The model behind the server: ``workers`` onnxruntime sessions, each
    used by one request at a time, and the admission limit.

    Args:
        model_path (str): The ONNX file.
        workers (int): Sessions, i.e. requests inferred at once.
            Defaults to 1.
        threads (int, optional): onnxruntime intra-op threads per session.
            Defaults to None (the CPU count divided by ``workers``).
        queue_size (int): Requests that may wait for a session; more are
            answered 503. Defaults to 8.
        max_bytes (int): Largest upload. Defaults to 20 MiB.
        max_pixels (int): Largest image (width x height). Defaults to
            4096 x 4096.
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
            Segmenter(model_path, providers=providers, threads=threads)
            for _ in range(workers)
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
        # requests admitted and not yet answered; only the event loop
        # changes it, so it needs no lock
        self.in_flight = 0

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    def infer(self, data: bytes, overlay: bool, with_labels: bool) -> dict:
        """Decode and segment one upload (in a worker thread)."""
        img = decode_upload(data, self.max_pixels)
        model = self.idle.get()
        try:
            start = time.perf_counter()
            labels = model.predict(img)
            infer_ms = (time.perf_counter() - start) * 1000
        finally:
            self.idle.put(model)
        result = dict(labels=labels, infer_ms=infer_ms)
        if overlay:
            result['overlay'] = draw_overlay(img, labels, self.meta.classes,
                                             self.meta.palette, with_labels)
        return result


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(dict(error=message, status=status), status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and int(declared) > limit:
        raise UploadError(
            413, f'the upload is {int(declared)} bytes; this server takes '
            f'at most {limit}')
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError(
                413, f'the upload is over {limit} bytes, the most this '
                'server takes')
        chunks.append(chunk)
    return b''.join(chunks)


async def uploaded_file(request: Request, body: bytes) -> bytes:
    """The image of a request: the body, or a multipart form's file."""
    ctype = request.headers.get('content-type', '')
    if not ctype.startswith('multipart/form-data'):
        return body

    async def stream() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(
            Headers(raw=request.headers.raw), stream(), max_files=1).parse()
    except MultiPartException as e:
        raise UploadError(422, f'malformed multipart form: {e}') from None
    files = [v for v in form.values() if isinstance(v, UploadFile)]
    if len(files) != 1:
        raise UploadError(
            422, 'a multipart request must hold one file field (the image), '
            f'it has {len(files)}')
    return await files[0].read()


def png_b64(img: np.ndarray) -> str:
    return base64.b64encode(encode_png(img)).decode('ascii')


def create_app(service: ModelService) -> FastAPI:
    """The FastAPI application of ``service``."""
    app = FastAPI(
        title='mmext_pixel segmentation',
        description=f'{osp.basename(service.model_path)}: '
        f'{service.meta.num_classes} classes')
    with open(PAGE, encoding='utf-8') as f:
        page = f.read()

    @app.get('/', response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get('/health')
    async def health() -> dict:
        return dict(
            status='ok',
            model=osp.basename(service.model_path),
            in_flight=service.in_flight,
            capacity=service.capacity)

    @app.get('/model')
    async def model() -> dict:
        return dict(
            model=osp.basename(service.model_path),
            **service.meta.to_json(),
            limits=dict(
                max_upload_bytes=service.max_bytes,
                max_pixels=service.max_pixels,
                workers=service.workers,
                queue=service.queue_size,
                threads_per_worker=service.threads))

    @app.post('/predict')
    async def predict(request: Request,
                      format: Optional[str] = None,
                      labels: bool = True) -> Response:
        start = time.perf_counter()
        if format is None:
            accept = request.headers.get('accept', '')
            format = 'json' if 'application/json' in accept else 'png'
        if format not in ('png', 'json'):
            return error(422, f'format={format!r}: use png or json')
        if service.in_flight >= service.capacity:
            return error(
                503, f'the server is busy: {service.in_flight} requests in '
                f'progress or waiting (at most {service.capacity}); retry '
                'later')
        service.in_flight += 1
        try:
            body = await read_body(request, service.max_bytes)
            data = await uploaded_file(request, body)
            result = await asyncio.get_running_loop().run_in_executor(
                service.executor, service.infer, data, format == 'json',
                labels)
        except UploadError as e:
            return error(e.status, e.message)
        except InferenceError as e:
            return error(422, str(e))
        finally:
            service.in_flight -= 1
        label_map = result['labels']
        latency_ms = (time.perf_counter() - start) * 1000
        h, w = label_map.shape
        timing = {
            'X-Inference-Ms': f'{result["infer_ms"]:.1f}',
            'X-Latency-Ms': f'{latency_ms:.1f}'
        }
        if format == 'png':
            return Response(
                encode_png(label_map), media_type='image/png', headers=timing)
        meta = service.meta
        counts = np.bincount(label_map.ravel(), minlength=meta.num_classes)
        return JSONResponse(
            dict(
                width=w,
                height=h,
                latency_ms=round(latency_ms, 1),
                inference_ms=round(result['infer_ms'], 1),
                classes=[
                    dict(
                        index=i,
                        name=meta.classes[i],
                        color=list(meta.palette[i]),
                        share=float(counts[i] / label_map.size))
                    for i in range(meta.num_classes)
                ],
                labels_png=png_b64(label_map),
                overlay_png=png_b64(result['overlay'])),
            headers=timing)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f'internal error: {type(exc).__name__}: {exc}')

    return app


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mmext-pixel-serve',
        description='Serve an exported segmentation model over HTTP')
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='onnxruntime sessions inferring at once (default 1)')
    parser.add_argument(
        '--threads',
        type=int,
        help='intra-op threads per session (default: CPU count / workers)')
    parser.add_argument(
        '--queue',
        type=int,
        default=8,
        help='requests that may wait for a session; more get 503 '
        '(default 8)')
    parser.add_argument(
        '--max-upload-mb',
        type=float,
        default=20,
        help='largest upload in MiB; more is 413 (default 20)')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=4096 * 4096,
        help='largest image width x height; more is 413 (default 4096^2)')
    parser.add_argument('--log-level', default='info')
    args = parser.parse_args(argv)
    for name in ('workers', 'threads', 'max_pixels'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    if args.queue < 0:
        parser.error(f'--queue must be >= 0, got {args.queue}')
    if args.max_upload_mb <= 0:
        parser.error(f'--max-upload-mb must be > 0, got {args.max_upload_mb}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    import uvicorn
    try:
        service = ModelService(
            args.model,
            workers=args.workers,
            threads=args.threads,
            queue_size=args.queue,
            max_bytes=int(args.max_upload_mb * (1 << 20)),
            max_pixels=args.max_pixels)
    except InferenceError as e:
        sys.exit(f'mmext-pixel-serve: error: {e}')
    uvicorn.run(
        create_app(service),
        host=args.host,
        port=args.port,
        log_level=args.log_level)


if __name__ == '__main__':
    main()
