"""An HTTP service for an exported segmentation model: ``mmext-pixel-serve``.

    mmext-pixel-serve MODEL.onnx [--host 127.0.0.1] [--port 8000]
        [--workers N] [--threads T] [--queue Q] [--max-upload-mb M]
        [--max-pixels P] [--max-connections C] [--header-timeout S]
        [--body-timeout S] [--request-peak-mb MB]

FastAPI on uvicorn (``pip install mmext-pixel-runtime[serve]``). Endpoints:

- ``POST /predict``: an image, as the raw request body or as a multipart
  form's file; answers the uint8 label PNG, or with ``?format=json`` (or
  ``Accept: application/json``) each class's pixel share and label place,
  the overlay and the label map as base64 PNGs and the server-side latency;
- ``GET /model``: the model's metadata (with the ``quantization`` entry of
  an int8 model) and the server's limits;
- ``GET /health``: ``ok``, or ``full`` (503) while every slot is taken;
- ``GET /``: a web page to try the model in a browser.

A request's body is read first, within ``--body-timeout``, without holding
anything but its connection (at most ``--max-connections``, whose request
headers must arrive within ``--header-timeout``); only then does it take
one of the ``--workers`` + ``--queue`` slots, or get 503 with
``Retry-After`` when all are taken. Uploads over ``--max-upload-mb`` or
images over ``--max-pixels`` (read from their headers) are 413, other
formats 415, damaged or truncated images 422, a body that stops arriving
408; every error is JSON ``{"error": ...}``.
"""
import argparse
import asyncio
import logging
import os.path as osp
import sys
import threading
import time
from typing import AsyncIterator, Optional, Sequence

from .cli import DefaultsHelpFormatter
from .image_header import FORMATS
from .memory import MIB, request_peak, worst_case
from .metadata import InferenceError
from .service import ModelService
from .uploads import UploadError

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.datastructures import Headers, UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    from .protocol import guarded_protocol
except ImportError as e:  # the optional extra is missing
    raise ImportError(f'{e}; the server needs the "serve" extra: pip install '
                      '"mmext-pixel-runtime[serve]"') from None

__all__ = ['ModelService', 'create_app', 'main']

PAGE = osp.join(osp.dirname(osp.abspath(__file__)), 'page.html')
logger = logging.getLogger('mmext_pixel_runtime.server')


class ClientGone(Exception):
    """The client closed its connection before its body was in."""


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        dict(error=message, status=status),
        status_code=status,
        headers=headers or None)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request body: 413 as soon as it passes ``limit`` bytes, 408 when
    all of it has not arrived within ``timeout`` seconds, and
    :class:`ClientGone` when the client leaves."""
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and int(declared) > limit:
        raise UploadError(
            413, f'the upload is {int(declared)} bytes; this server takes '
            f'at most {limit}')
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    chunks, size = [], 0
    while True:
        try:
            message = await asyncio.wait_for(request.receive(),
                                             max(deadline - loop.time(), 0))
        except asyncio.TimeoutError:
            raise UploadError(
                408, f'the request body did not arrive within {timeout:g} s '
                f'({size} bytes came)') from None
        if message['type'] == 'http.disconnect':
            raise ClientGone(f'after {size} bytes of its body')
        chunk = message.get('body', b'')
        size += len(chunk)
        if size > limit:
            raise UploadError(
                413, f'the upload is over {limit} bytes, the most this '
                'server takes')
        chunks.append(chunk)
        if not message.get('more_body', False):
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


def create_app(service: ModelService,
               limits: Optional[dict] = None,
               body_timeout: float = 60) -> FastAPI:
    """The FastAPI application of ``service``.

    Args:
        service (ModelService): The model.
        limits (dict, optional): More limits for ``GET /model`` (the
            connection limits, the memory figures once known). Defaults to
            None.
        body_timeout (float): Seconds to receive a request body. Defaults
            to 60.
    """
    app = FastAPI(
        title='mmext_pixel segmentation',
        description=f'{osp.basename(service.model_path)}: '
        f'{service.meta.num_classes} classes')
    limits = limits if limits is not None else {}
    with open(PAGE, encoding='utf-8') as f:
        page = f.read()

    def busy() -> dict:
        return {'Retry-After': str(service.retry_after())}

    @app.get('/', response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get('/health')
    async def health() -> JSONResponse:
        full = service.full
        return JSONResponse(
            dict(
                status='full' if full else 'ok',
                model=osp.basename(service.model_path),
                in_flight=service.in_flight,
                capacity=service.capacity),
            status_code=503 if full else 200,
            headers=busy() if full else None)

    @app.get('/model')
    async def model() -> dict:
        return dict(
            model=osp.basename(service.model_path),
            **service.meta.to_json(),
            limits=dict(
                max_upload_bytes=service.max_bytes,
                max_pixels=service.max_pixels,
                formats=list(FORMATS),
                workers=service.workers,
                queue=service.queue_size,
                threads_per_worker=service.threads,
                **limits))

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
        try:
            # the body first: a slow upload holds its connection only
            data = await uploaded_file(
                request, await read_body(request, service.max_bytes,
                                         body_timeout))
        except UploadError as e:
            headers = {'Connection': 'close'} if e.status == 408 else {}
            return error(e.status, e.message, **headers)
        except ClientGone as e:
            client = request.client
            logger.warning('%s left %s',
                           '%s:%d' % tuple(client) if client else 'a client',
                           e)
            return Response(status_code=499)
        if service.full:
            return error(
                503, f'the server is busy: {service.in_flight} requests in '
                f'progress or waiting (at most {service.capacity}); retry '
                'later', **busy())
        service.in_flight += 1
        admitted = time.perf_counter()
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                service.executor, service.infer, data, format == 'json',
                labels)
        except UploadError as e:
            return error(e.status, e.message)
        except InferenceError as e:
            return error(422, str(e))
        finally:
            service.in_flight -= 1
            service.record(time.perf_counter() - admitted)
        latency_ms = (time.perf_counter() - start) * 1000
        content, media_type = service.answer(result, format, latency_ms)
        return Response(
            content,
            media_type=media_type,
            headers={
                'X-Inference-Ms': f'{result["infer_ms"]:.1f}',
                'X-Latency-Ms': f'{latency_ms:.1f}'
            })

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f'internal error: {type(exc).__name__}: {exc}')

    return app


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mmext-pixel-serve',
        description='Serve an exported segmentation model over HTTP. Images: '
        f'{", ".join(FORMATS)}.',
        formatter_class=DefaultsHelpFormatter)
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument('--host', default='127.0.0.1', help='address to bind')
    parser.add_argument('--port', type=int, default=8000, help='TCP port')
    parser.add_argument(
        '--workers',
        type=int,
        default=1,
        help='onnxruntime sessions inferring at once')
    parser.add_argument(
        '--threads',
        type=int,
        help='intra-op threads per session (default: CPU count / workers)')
    parser.add_argument(
        '--queue',
        type=int,
        default=8,
        help='requests whose body is in that may wait for a session; more '
        'get 503 with Retry-After')
    parser.add_argument(
        '--max-upload-mb',
        type=float,
        default=20,
        help='largest upload in MiB; more is 413')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=4096 * 4096,
        help='largest image width x height (any frame or page, read from '
        'its headers before decoding); more is 413')
    parser.add_argument(
        '--max-connections',
        type=int,
        default=32,
        help='open connections at most; one more gets 503 with Retry-After')
    parser.add_argument(
        '--header-timeout',
        type=float,
        default=10,
        help='seconds for a request line and headers to arrive; then 408')
    parser.add_argument(
        '--body-timeout',
        type=float,
        default=60,
        help='seconds for a whole request body to arrive; then 408')
    parser.add_argument(
        '--keep-alive',
        type=float,
        default=5,
        help='seconds an idle keep-alive connection stays open')
    parser.add_argument(
        '--request-peak-mb',
        type=float,
        help='memory of one request at --max-pixels, for the worst case '
        'printed at start (default: measured at start in a separate '
        'process)')
    parser.add_argument(
        '--log-level',
        default='info',
        choices=['critical', 'error', 'warning', 'info', 'debug', 'trace'],
        help="uvicorn's log level")
    args = parser.parse_args(argv)
    for name in ('workers', 'threads', 'max_pixels', 'max_connections'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    if args.queue < 0:
        parser.error(f'--queue must be >= 0, got {args.queue}')
    for name in ('max_upload_mb', 'header_timeout', 'body_timeout',
                 'keep_alive', 'request_peak_mb'):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f'--{name.replace("_", "-")} must be > 0, got '
                         f'{value}')
    return args


def report_memory(args: argparse.Namespace, service: ModelService,
                  limits: dict) -> None:
    """Print the memory ceiling (measuring one request's peak unless
    ``--request-peak-mb`` gives it) and add it to ``limits``."""
    if args.request_peak_mb:
        peak, how = int(args.request_peak_mb * MIB), 'as given'
    else:
        try:
            probe = request_peak(service.model_path, service.max_pixels,
                                 service.threads)
        except Exception as e:  # the server keeps serving without it
            print(f'mmext-pixel-serve: memory: not measured ({e})', flush=True)
            return
        peak = probe['peak_bytes']
        how = f'measured at {probe["width"]}x{probe["height"]}'
    total = worst_case(service.workers, peak, args.max_connections,
                       service.max_bytes)
    limits.update(request_peak_bytes=peak, memory_ceiling_bytes=total)
    print(
        f'mmext-pixel-serve: memory ceiling {total / MIB:.0f} MiB beyond the '
        f'idle process = --workers {service.workers} x {peak / MIB:.0f} MiB '
        f'(one request at --max-pixels {service.max_pixels}, {how}) + '
        f'--max-connections {args.max_connections} x 2 x '
        f'{service.max_bytes / MIB:g} MiB (--max-upload-mb)',
        flush=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    import uvicorn
    try:
        service = ModelService(
            args.model,
            workers=args.workers,
            threads=args.threads,
            queue_size=args.queue,
            max_bytes=int(args.max_upload_mb * MIB),
            max_pixels=args.max_pixels)
    except InferenceError as e:
        sys.exit(f'mmext-pixel-serve: error: {e}')
    limits = dict(
        max_connections=args.max_connections,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout)
    # measured beside the serving process, which starts at once
    threading.Thread(
        target=report_memory, args=(args, service, limits),
        daemon=True).start()
    logging.basicConfig(format='%(levelname)s: %(message)s')
    uvicorn.run(
        create_app(service, limits, args.body_timeout),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_keep_alive=args.keep_alive,
        http=guarded_protocol(args.header_timeout, args.max_connections,
                              service.retry_after))


if __name__ == '__main__':
    main()
