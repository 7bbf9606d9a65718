"""Limits on what clients send: in uvicorn's h11 protocol a deadline for the
request headers (slowloris) and bounds on open connections, in all and per
address; in the application the upload read within a size and a deadline."""
import asyncio
import json
import logging
from collections import Counter
from http import HTTPStatus
from typing import AsyncIterator, Callable, Optional

import h11
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from uvicorn.protocols.http.h11_impl import H11Protocol

from .image_header import ImageError

logger = logging.getLogger('mmext_pixel_runtime.server')


def raw_response(status: int, message: str, extra: str = '') -> bytes:
    """A whole HTTP/1.1 JSON error response that closes the connection."""
    body = json.dumps(dict(error=message, status=status)).encode()
    return (f'HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n'
            'content-type: application/json'
            f'\r\ncontent-length: {len(body)}\r\nconnection: close\r\n'
            f'{extra}\r\n').encode() + body


def client_name(client: Optional[tuple]) -> str:
    """'host:port' of a client address, if known."""
    return '%s:%d' % tuple(client) if client else 'a client'


def guarded_protocol(header_timeout: float, max_connections: int,
                     max_per_client: int, retry_after: Callable[[],
                                                                int]) -> type:
    """An ``H11Protocol`` subclass for ``uvicorn.Config(http=...)``.

    Args:
        header_timeout (float): Seconds from a connection's opening (or last
            response) to the end of the request headers; then a client still
            sending gets 408, an idle one is closed.
        max_connections (int): Open connections at most; one more gets 503
            and is closed.
        max_per_client (int): Likewise, from one address.
        retry_after (Callable): Seconds to put in ``Retry-After``.
    """

    per_client: Counter = Counter()
    warned = set()  # addresses refused since they last had none open

    class GuardedH11Protocol(H11Protocol):
        header_timer: Optional[object] = None
        address: Optional[str] = None
        draining = False

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            address = self.client[0] if self.client else ''
            if len(self.connections) > max_connections:
                address = ''
                refusal = (f'the server has {max_connections} connections '
                           'open, the most it takes')
            elif per_client[address] >= max_per_client:
                refusal = (f'{address} has {max_per_client} connections '
                           'open, the most one client may have')
            else:
                self.address = address
                per_client[address] += 1
                self.arm_header_timer()
                return
            if address not in warned:  # once per flood, not per connection
                warned.add(address)
                logger.warning('refusing connections from %s: %s',
                               client_name(self.client), refusal)
            transport.write(
                raw_response(503, f'{refusal}; retry later',
                             f'retry-after: {retry_after()}\r\n'))
            transport.close()

        def arm_header_timer(self) -> None:
            self.cancel_header_timer()
            self.header_timer = self.loop.call_later(header_timeout,
                                                     self.headers_overdue)

        def cancel_header_timer(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_overdue(self) -> None:
            self.header_timer = None
            if self.transport.is_closing() or \
                    self.conn.their_state is not h11.IDLE:
                return  # the headers are in: the body has its own deadline
            if self.conn.trailing_data[0]:
                logger.warning(
                    '408 to %s: its request headers did not arrive within '
                    '%g s', client_name(self.client), header_timeout)
                self.transport.write(
                    raw_response(
                        408, f'the request headers did not arrive within '
                        f'{header_timeout:g} s'))
                # closing with the client's bytes unread would reset the
                # connection and lose the 408: end our side, then discard
                # what comes for as long again
                self.draining = True
                self.transport.write_eof()
                self.loop.call_later(header_timeout, self.transport.close)
                return
            self.transport.close()

        def data_received(self, data: bytes) -> None:
            if not self.draining:
                super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self.arm_header_timer()

        def connection_lost(self, exc) -> None:
            self.cancel_header_timer()
            if self.address is not None:
                per_client[self.address] -= 1
                if not per_client[self.address]:
                    del per_client[self.address]
                    warned.discard(self.address)
                warned.discard('')  # the total bound's refusals
                self.address = None
            super().connection_lost(exc)

    return GuardedH11Protocol


class ClientGone(Exception):
    """The client closed its connection before its body was in."""


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request body: 413 past ``limit`` bytes, 408 if not in within
    ``timeout`` s, :class:`ClientGone` if the client leaves."""
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and int(declared) > limit:
        raise ImageError(
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
            raise ImageError(
                408, f'the request body did not arrive within {timeout:g} s '
                f'({size} bytes came)') from None
        if message['type'] == 'http.disconnect':
            raise ClientGone(f'after {size} bytes of its body')
        chunk = message.get('body', b'')
        size += len(chunk)
        if size > limit:
            raise ImageError(
                413, f'the upload is over {limit} bytes, the most this '
                'server takes')
        chunks.append(chunk)
        if not message.get('more_body', False):
            return b''.join(chunks)


async def read_upload(request: Request, limit: int, timeout: float) -> bytes:
    """The image of a request: its body, or a multipart form's file."""
    body = await read_body(request, limit, timeout)
    ctype = request.headers.get('content-type', '')
    if not ctype.startswith('multipart/form-data'):
        return body

    async def stream() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(
            Headers(raw=request.headers.raw), stream(), max_files=1).parse()
    except MultiPartException as e:
        raise ImageError(422, f'malformed multipart form: {e}') from None
    files = [v for v in form.values() if isinstance(v, UploadFile)]
    if len(files) != 1:
        raise ImageError(
            422, 'a multipart request must hold one file field (the image), '
            f'it has {len(files)}')
    return await files[0].read()
