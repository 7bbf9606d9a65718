"""An HTTP service for an exported segmentation model: ``mmext-pixel-serve``.

    mmext-pixel-serve MODEL.onnx [--host 127.0.0.1] [--port 8000]
        [--workers N] [--threads T] [--queue Q] [--max-upload-mb M]
        [--max-bodies B] [--max-pixels P] [--max-connections C]
        [--max-connections-per-client K] [--header-timeout S]
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

A request's body is read first, within ``--body-timeout``, holding its
connection (at most ``--max-connections``, ``--max-connections-per-client``
from one address, whose request headers must arrive within
``--header-timeout``) and its share of the bodies' memory (``--max-bodies``
x ``--max-upload-mb``, taken until it is answered); only then does it take
one of the ``--workers`` + ``--queue`` slots. Either is 503 with
``Retry-After`` when none is left. Uploads over ``--max-upload-mb`` or
images over ``--max-pixels`` (read from their headers) are 413, other
formats 415, damaged or truncated images 422, a body that stops arriving
408; every error is JSON ``{"error": ...}``.
"""
import argparse
import asyncio
import logging
import os.path as osp
import sys
import time
from typing import Optional, Sequence

from .cli import DefaultsHelpFormatter
from .image_header import FORMATS
from .memory import MIB, request_peak
from .metadata import InferenceError
from .service import ModelService
from .uploads import UploadError

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from .protocol import ClientGone, guarded_protocol, read_upload
except ImportError as e:  # the optional extra is missing
    raise ImportError(f'{e}; the server needs the "serve" extra: pip install '
                      '"mmext-pixel-runtime[serve]"') from None

__all__ = ['ModelService', 'create_app', 'main']

PAGE = osp.join(osp.dirname(osp.abspath(__file__)), 'page.html')
logger = logging.getLogger('mmext_pixel_runtime.server')
# an open connection's buffers at most (h11's 16 KiB of incomplete headers,
# uvicorn's 64 KiB read-ahead of a body) and its objects
CONNECTION_BYTES = 128 << 10


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        dict(error=message, status=status),
        status_code=status,
        headers=headers or None)


def create_app(service: ModelService,
               limits: Optional[dict] = None,
               body_timeout: float = 60,
               body_budget: Optional[int] = None) -> FastAPI:
    """The FastAPI application of ``service``.

    Args:
        service (ModelService): The model.
        limits (dict, optional): More limits for ``GET /model`` (the
            connection limits, the memory figures). Defaults to None.
        body_timeout (float): Seconds to receive a request body. Defaults
            to 60.
        body_budget (int, optional): Bytes of request bodies held at once
            (each counted at its ``Content-Length``, or the largest upload
            without one; twice for a form). Defaults to None (16 of the
            largest uploads).
    """
    app = FastAPI(
        title='mmext_pixel segmentation',
        description=f'{osp.basename(service.model_path)}: '
        f'{service.meta.num_classes} classes')
    limits = limits if limits is not None else {}
    if body_budget is None:
        body_budget = 16 * service.max_bytes
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
        # the memory of the body, and for a form of its file, held until
        # the answer is made
        declared = request.headers.get('content-length', '')
        need = min(
            int(declared) if declared.isdigit() else service.max_bytes,
            service.max_bytes)
        if request.headers.get('content-type', '').startswith('multipart/'):
            need *= 2
        if service.body_bytes + need > body_budget:
            return error(
                503,
                f'the server holds {service.body_bytes} bytes of '
                f'request bodies, {need} more would pass its {body_budget}; '
                'retry later',
                Connection='close',  # its body is not read
                **busy())
        service.body_bytes += need
        try:
            return await segment(request, format, labels, start)
        finally:
            service.body_bytes -= need

    async def segment(request: Request, format: str, labels: bool,
                      start: float) -> Response:
        try:
            # the body first: a slow upload holds no slot
            data = await read_upload(request, service.max_bytes, body_timeout)
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
            content, media_type, infer_ms = await asyncio.get_running_loop(
            ).run_in_executor(service.executor, service.run, data, format,
                              labels, start)
        except UploadError as e:
            return error(e.status, e.message)
        except InferenceError as e:
            return error(422, str(e))
        finally:
            service.in_flight -= 1
            service.record(time.perf_counter() - admitted)
        return Response(
            content,
            media_type=media_type,
            headers={
                'X-Inference-Ms': f'{infer_ms:.1f}',
                'X-Latency-Ms': f'{(time.perf_counter() - start) * 1000:.1f}'
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
        '--max-bodies',
        type=int,
        default=16,
        help='request bodies held at once (read, queued or in inference), '
        'in units of --max-upload-mb: a body takes its Content-Length (a '
        'form twice); one more gets 503 with Retry-After')
    parser.add_argument(
        '--max-pixels',
        type=int,
        default=4096 * 4096,
        help='largest image width x height (any frame or page, read from '
        'its headers before decoding); more is 413')
    parser.add_argument(
        '--max-connections',
        type=int,
        default=1024,
        help='open connections at most; one more gets 503 with Retry-After')
    parser.add_argument(
        '--max-connections-per-client',
        type=int,
        default=8,
        help='open connections from one client address at most; one more '
        'gets 503 with Retry-After')
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
        help='memory of one request at --max-pixels, for the ceiling '
        'printed at start (default: derived from the model at start)')
    parser.add_argument(
        '--log-level',
        default='info',
        choices=['critical', 'error', 'warning', 'info', 'debug', 'trace'],
        help="uvicorn's log level")
    args = parser.parse_args(argv)
    for name in ('workers', 'threads', 'max_pixels', 'max_connections',
                 'max_connections_per_client', 'max_bodies'):
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
    """Print the memory ceiling (one request's peak derived from the model
    unless ``--request-peak-mb`` gives it) and add it to ``limits``."""
    if args.request_peak_mb:
        peak, how = int(args.request_peak_mb * MIB), 'as given'
    else:
        try:
            measured = request_peak(service.models[0], service.max_pixels)
        except OSError as e:  # no /proc: the server serves without it
            print(f'mmext-pixel-serve: memory: not measured ({e})', flush=True)
            return
        peak = measured['peak_bytes']
        how = (f'network inputs up to {measured["network_pixels"]} pixels, '
               'measured at two small sizes')
    # and the copy of the one body being joined (the event loop joins one
    # at a time)
    bodies = (args.max_bodies + 1) * service.max_bytes
    connections = args.max_connections * CONNECTION_BYTES
    total = service.workers * peak + bodies + connections
    limits.update(request_peak_bytes=peak, memory_ceiling_bytes=total)
    print(
        f'mmext-pixel-serve: memory ceiling {total / MIB:.0f} MiB beyond the '
        f'idle process = --workers {service.workers} x {peak / MIB:.0f} MiB '
        f'(one request at --max-pixels {service.max_pixels}, {how}) + '
        f'(--max-bodies {args.max_bodies} + 1) x '
        f'{service.max_bytes / MIB:g} MiB (--max-upload-mb) + '
        f'--max-connections {args.max_connections} x '
        f'{CONNECTION_BYTES >> 10} KiB',
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
        max_connections_per_client=args.max_connections_per_client,
        max_bodies=args.max_bodies,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout)
    report_memory(args, service, limits)
    logging.basicConfig(format='%(levelname)s: %(message)s')
    uvicorn.run(
        create_app(service, limits, args.body_timeout,
                   args.max_bodies * service.max_bytes),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_keep_alive=args.keep_alive,
        http=guarded_protocol(args.header_timeout, args.max_connections,
                              args.max_connections_per_client,
                              service.retry_after))


if __name__ == '__main__':
    main()
