"""``mmext-pixel-serve``: an exported segmentation model over HTTP (FastAPI on
uvicorn, ``pip install mmext-pixel-runtime[serve]``): ``POST /predict``,
``GET /model``, ``GET /health`` and a page at ``GET /`` (docs/deployment.md).
A body is read first (within its deadline, connection bounds and share of
``--max-bodies``) and only then takes a slot, so a slow upload holds none.
Errors are JSON ``{"error": ...}``."""
import argparse
import asyncio
import logging
import os.path as osp
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .cli import DefaultsHelpFormatter, check_bounds
from .image_header import FORMATS, ImageError
from .memory import MIB, request_peak
from .metadata import InferenceError
from .service import ModelService

try:
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from uvicorn.config import LOG_LEVELS

    from .protocol import (ClientGone, client_name, guarded_protocol,
                           read_upload)
except ImportError as e:  # the optional extra is missing
    raise ImportError(f'{e}; the server needs the "serve" extra: pip install '
                      '"mmext-pixel-runtime[serve]"') from None

__all__ = ['ModelService', 'create_app', 'main']

PAGE = Path(__file__).with_name('page.html')
logger = logging.getLogger('mmext_pixel_runtime.server')
# an open connection's buffers at most (h11's 16 KiB of incomplete headers,
# uvicorn's 64 KiB read-ahead of a body) and its objects
CONNECTION_BYTES = 128 << 10


def error(status: int, message: str, **headers: str) -> JSONResponse:
    if status == 408:  # the rest of a stalled body is never read
        headers['Connection'] = 'close'
    return JSONResponse(
        dict(error=message, status=status), status, headers or None)


def create_app(service: ModelService,
               limits: Optional[dict] = None,
               body_timeout: float = 60,
               body_budget: Optional[int] = None) -> FastAPI:
    """The FastAPI application of ``service``.

    Args:
        service (ModelService): The model.
        limits (dict, optional): More limits for ``GET /model``. Defaults to
            None.
        body_timeout (float): Seconds to receive a body. Defaults to 60.
        body_budget (int, optional): Bytes of bodies held at once (each at
            its ``Content-Length``, else the largest upload; a form twice).
            Defaults to None (16 of the largest uploads).
    """
    name = osp.basename(service.model_path)
    app = FastAPI(
        title='mmext_pixel segmentation',
        description=f'{name}: {service.meta.num_classes} classes')
    if body_budget is None:
        body_budget = 16 * service.max_bytes
    page = PAGE.read_text(encoding='utf-8')

    def retry() -> dict:
        return {'Retry-After': str(service.retry_after())}

    @app.get('/', response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get('/health')
    async def health() -> JSONResponse:
        full = service.full
        state = dict(status='full' if full else 'ok', model=name)
        state.update(in_flight=service.in_flight, capacity=service.capacity)
        return JSONResponse(state, 503 if full else 200,
                            retry() if full else None)

    @app.get('/model')
    async def model() -> dict:
        return dict(
            model=name,
            **service.meta.to_json(),
            limits=dict(
                max_upload_bytes=service.max_bytes,
                max_pixels=service.max_pixels,
                formats=list(FORMATS),
                workers=service.workers,
                queue=service.queue_size,
                threads_per_worker=service.threads,
                **(limits or {})))

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
        # the body's memory (a form's twice: its file is copied out), held
        # until the answer is made
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
                **retry())
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
        except ImageError as e:
            return error(e.status, str(e))
        except ClientGone as e:
            logger.warning('%s left %s', client_name(request.client), e)
            return Response(status_code=499)
        if service.full:
            return error(
                503, f'the server is busy: {service.in_flight} requests in '
                f'progress or waiting (at most {service.capacity}); retry '
                'later', **retry())
        service.in_flight += 1
        admitted = time.perf_counter()
        try:
            content, media_type, infer_ms = await asyncio.get_running_loop(
            ).run_in_executor(service.executor, service.run, data, format,
                              labels, start)
        except InferenceError as e:  # ImageError is one, with its status
            return error(getattr(e, 'status', 422), str(e))
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


# (option, type, default, help) of the options with a type
OPTIONS = (
    ('--port', int, 8000, 'TCP port'),
    ('--workers', int, 1, 'onnxruntime sessions inferring at once'),
    ('--threads', int, None,
     'intra-op threads per session (default: CPU count / workers)'),
    ('--queue', int, 8, 'requests whose body is in that may wait for a '
     'session; more get 503 with Retry-After'),
    ('--max-upload-mb', float, 20, 'largest upload in MiB; more is 413'),
    ('--max-bodies', int, 16, 'request bodies held at once (read, queued or '
     'in inference), in units of --max-upload-mb: a body takes its '
     'Content-Length (a form twice); one more gets 503 with Retry-After'),
    ('--max-pixels', int, 4096 * 4096, 'largest image width x height (any '
     'frame or page, read from its headers before decoding); more is 413'),
    ('--max-connections', int, 1024,
     'open connections at most; one more gets 503 with Retry-After'),
    ('--max-connections-per-client', int, 8, 'open connections from one '
     'client address at most; one more gets 503 with Retry-After'),
    ('--header-timeout', float, 10,
     'seconds for a request line and headers to arrive; then 408'),
    ('--body-timeout', float, 60,
     'seconds for a whole request body to arrive; then 408'),
    ('--keep-alive', float, 5,
     'seconds an idle keep-alive connection stays open'),
    ('--request-peak-mb', float, None, 'memory of one request at '
     '--max-pixels, for the ceiling printed at start (default: derived from '
     'the model at start)'),
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mmext-pixel-serve',
        description='Serve an exported segmentation model over HTTP. Images: '
        f'{", ".join(FORMATS)}.',
        formatter_class=DefaultsHelpFormatter)
    parser.add_argument('model', help='ONNX file written by pytorch2onnx.py')
    parser.add_argument('--host', default='127.0.0.1', help='address to bind')
    for flag, kind, default, text in OPTIONS:
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument(
        '--log-level',
        default='info',
        choices=list(LOG_LEVELS),
        help="uvicorn's log level")
    args = parser.parse_args(argv)
    check_bounds(parser, args,
                 ('workers', 'threads', 'max_pixels', 'max_connections',
                  'max_connections_per_client', 'max_bodies'))
    check_bounds(parser, args, ('queue', ), 0)
    check_bounds(parser, args,
                 ('max_upload_mb', 'header_timeout', 'body_timeout',
                  'keep_alive', 'request_peak_mb'), 0, True)  # strict
    return args


def report_memory(args: argparse.Namespace, service: ModelService,
                  limits: dict) -> None:
    """Print the memory ceiling and add it to ``limits``."""
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
    try:
        service = ModelService(args.model, args.workers,
                               args.threads, args.queue,
                               int(args.max_upload_mb * MIB), args.max_pixels)
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
