"""How the endpoint's answers are sent: any origin allowed on every one (`AllowAnyOrigin`), and a large one
a piece at a time, for as long as the client reads (`SentInChunks`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

#: CORS headers on every answer, with or without Origin in the request (as CORSMiddleware sends them with
#: it): an HTTP cache may serve a browser's cross-origin request with an answer to a plain one. A script
#: may read these fields beyond the CORS-safelisted ones: validators, limits, links to other formats, ranges.
EXPOSED = ("Retry-After", "ETag", "Link", "Location", "Content-Location", "Content-Range", "Accept-Ranges",
           "Content-Encoding")
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": ", ".join(EXPOSED)}
ANY_ORIGIN_RAW = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in ANY_ORIGIN.items()]


#: The key of `scope["extensions"]` under which the HTTP protocol (`connection.HttpProtocol`) gives how many bytes of
#: what was sent on the request's connection the client has not taken yet: a function, None where it cannot say.
UNREAD = "plan_kg.unread"
#: The key of `scope["extensions"]` under which the HTTP protocol gives a function that gives up the request's answer:
#: the connection closed at once, uvicorn told the client went away (`abandon`).
ABANDON = "plan_kg.abandon"


def abandon(scope: Scope) -> None:
    """Give up the answer to `scope`'s request on purpose (after a line in the log saying why): its connection is
    closed now and uvicorn told the client went away, so it logs no error of its own for the answer left unfinished,
    where the protocol can (`ABANDON`); else uvicorn closes it once the app returns."""
    if (close := scope.get("extensions", {}).get(ABANDON)) is not None:
        close()


#: How often a send that waits looks whether the client took anything (`send_while_read`), at most: and four times
#: within its time limit.
_LOOK_EVERY_S = 1.0
#: The slowest a client may take an answer by default, on average over a wait longer than its time limit
#: (`send_while_read`; setting send_min_bytes_per_s): a 64 kbit/s line. A client taking a byte now and then would
#: otherwise hold its connection, its task and (a /sparql answer) the whole answer in memory for as long as it liked:
#: about 1.2 KB per send_timeout_s kept one going (measured in an audit), days for a large answer.
MIN_READ_BYTES_PER_S = 8_192


class Unread(TimeoutError):
    """The client took an answer too slowly (`send_while_read`); the text says how: for the log, where the answer is
    given up."""


async def send_while_read(send: Send, message: Message, scope: Scope, timeout_s: float,
                          least_rate: float = MIN_READ_BYTES_PER_S) -> None:
    """`send(message)`; `Unread` once the client has taken no byte of what was sent on its connection for `timeout_s`,
    or, after that long, has taken less than `least_rate` bytes a second on average since the wait began (0: no
    least rate). uvicorn waits
    before a message while the connection's buffer is full, and the kernel's buffers took megabytes of a download at
    once (loopback: 4 MB): a wait bounded as a whole cut off clients reading steadily but slowly (160 KB/s, measured,
    with a 5 s limit). Where the protocol cannot say what is unread (`UNREAD`), the wait as a whole is bounded."""
    unread = scope.get("extensions", {}).get(UNREAD)
    why = f"the client read none of it for {timeout_s:g} s (send_timeout_s)"
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            if unread is None or (left := unread()) is None:
                await send(message)
                return
            loop = asyncio.get_running_loop()
            every_s = min(_LOOK_EVERY_S, timeout_s / 4)
            # The looks alone say when the time is up: a deadline of its own fired in the same turn as a look, before
            # it (the fourth look of a limit is due when it is), and cut off a client that had taken bytes since the
            # look before, with a traceback in the log (RuntimeError: reschedule of an expiring Timeout, in the look).
            deadline.reschedule(None)
            began = last = loop.time()  # when the wait began; when the client was last seen taking bytes
            taken = 0  # what it took since the wait began

            def look() -> None:
                nonlocal left, last, taken, looking, why
                now, at = unread(), loop.time()
                if now is not None and now < left:  # the client took some: the time limit starts again
                    last, taken = at, taken + left - now
                left = left if now is None else now
                slow = at - began >= timeout_s and taken < least_rate * (at - began)
                if at - last >= timeout_s or slow:
                    if slow and at - last < timeout_s:
                        why = (f"the client read it at {taken / (at - began):,.0f} bytes/s over {at - began:.0f} s, "
                               f"slower than {least_rate:,.0f} bytes/s (send_min_bytes_per_s)")
                    deadline.reschedule(at)  # the wait ends now, with TimeoutError
                    return
                looking = loop.call_later(max(0.0, min(every_s, last + timeout_s - at)), look)

            looking = loop.call_later(every_s, look)
            try:
                await send(message)
            finally:
                looking.cancel()
    except TimeoutError:
        raise Unread(why) from None


#: Answers larger than this are sent in pieces of this size (see `SentInChunks`).
SEND_CHUNK_BYTES = 1 << 20


class SentInChunks(Response):
    """A large answer, sent a piece at a time so that it waits for a client that reads slowly.

    Written whole, an answer sits in the connection's buffer until the client reads it: a client that
    never reads kept 58 MB of the server's memory per connection, for as long as it stayed connected.
    A piece is written only once the previous one has gone (uvicorn's flow control), and if no piece
    goes for `timeout_s`, the rest is given up and the connection closed. `done` runs once it is over.
    """

    def __init__(self, body: bytes, *, media_type: str, headers: dict[str, str], done: Callable[[], None],
                 timeout_s: float, least_rate: float = MIN_READ_BYTES_PER_S) -> None:
        super().__init__(body, media_type=media_type, headers=headers)
        self._done = done
        self._timeout_s = timeout_s
        self._least_rate = least_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        def sent(message: Message) -> Awaitable[None]:
            return send_while_read(send, message, scope, self._timeout_s, self._least_rate)

        try:
            # Every message under the time limit: uvicorn waits before each until the connection's buffer
            # has room, the first one too (after an earlier answer on the same connection, unread).
            await sent({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            pieces = range(0, len(self.body), SEND_CHUNK_BYTES) if scope["method"] != "HEAD" else range(0)
            for start in pieces:
                piece = self.body[start:start + SEND_CHUNK_BYTES]
                last = start + SEND_CHUNK_BYTES >= len(self.body)
                await sent({"type": "http.response.body", "body": piece, "more_body": not last})
            if not pieces:
                await sent({"type": "http.response.body", "body": b""})
        except Unread as exc:
            logger.warning("gave up sending %s %s (%d bytes): %s", scope["method"], scope.get("path", ""), len(self.body),
                           exc)
            abandon(scope)
        finally:
            self.body = b""
            self._done()


class _Unread(Exception):
    """`Unread`, raised through the app (which may catch a TimeoutError of its own): the text says how."""


class GiveUpUnread:
    """ASGI middleware: an answer whose client reads none of it for `timeout_s` is given up, the connection closed.

    uvicorn waits before each message until the connection's buffer has room. A client that never read a download
    held its connection, its task and the file open for as long as it stayed connected, and a shutdown waited for it
    (minutes, measured with one such client). The answers of /sparql have their own limit (`SentInChunks`).
    """

    def __init__(self, app: ASGIApp, *, timeout_s: float, least_rate: float = MIN_READ_BYTES_PER_S) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.least_rate = least_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return

        async def send_in_time(message: Message) -> None:
            try:
                await send_while_read(send, message, scope, self.timeout_s, self.least_rate)
            except Unread as exc:
                raise _Unread(str(exc)) from None

        try:
            await self.app(scope, receive, send_in_time)
        except _Unread as exc:  # the connection is closed (`abandon`), the answer unfinished
            logger.warning("gave up sending %s %s: %s", scope["method"], scope["path"], exc)
            abandon(scope)


class AllowAnyOrigin:
    """ASGI middleware: every response allows any origin, also one to a request without Origin.

    (Starlette's CORSMiddleware adds the header only when the request has Origin; a cached copy
    of an answer to a plain request may serve a browser's too.) So no answer varies by Origin:
    the `Origin` CORSMiddleware adds to Vary is taken out again, and a HEAD (the full path) is sent
    the header fields of the same GET (answered before the framework), as RFC 9110 9.3.2 asks.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_allowing_any_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                # `*` in any case: older Starlette echoes an Origin sent with a cookie, which without
                # Vary: Origin a shared cache could hand to another site.
                headers, varies = [], []
                for name, value in message.get("headers", ()):
                    if name.lower() == b"vary":
                        varies += [part.strip() for part in value.split(b",")
                                   if part.strip() and part.strip().lower() != b"origin"]
                    elif name.lower() != b"access-control-allow-origin":
                        headers.append((name, value))
                if varies:
                    headers.append((b"vary", b", ".join(varies)))
                headers.append(ANY_ORIGIN_RAW[0])
                if not any(name.lower() == b"access-control-expose-headers" for name, _ in headers):
                    headers.append(ANY_ORIGIN_RAW[1])
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_allowing_any_origin)
