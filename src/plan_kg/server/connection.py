"""How `plan-kg serve` reads a connection: uvicorn's HTTP protocol (httptools) with this server's limits on what a
client sends (`HttpProtocol`, made for the settings by `http_protocol`)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import socket
import struct
import termios
from collections.abc import Awaitable, Callable

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from ..config import Settings
from .addresses import HeadClients
from .refusals import RefusalLog
from .responses import ABANDON, UNREAD


#: The longest URL uvicorn's parser can take apart (httptools stores its parts' offsets in 16 bits).
MAX_URL_BYTES = 65_535
#: The most bytes a request's line and header fields may take together, and a chunked body's chunk lines (with their
#: extensions) and trailer fields between one piece of data and the next: the
#: longest URL and 64 KiB of fields (Node's limit is 16 KiB). httptools gathers a field, and uvicorn the URL, by
#: appending each piece that arrives to a copy of all before it: a 100 MB header line held up every other client for
#: 4.7 s, and one sent for a minute could use all the memory there is.
MAX_HEAD_BYTES = MAX_URL_BYTES + 65_536


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools), with changes for a public server without a proxy in front.

    - A URL too long to parse gets 414 URI Too Long saying to send the query by POST (SPARQLWrapper
      raises URITooLong), not a bare 400 (read as a malformed query).
    - A request must arrive whole, headers and body, within `receive_timeout_s` of its first byte, and a
      new connection must start one within that time: uvicorn waits for ever, so clients sending a byte now
      and then (slowloris) or nothing at all could each hold a connection, and together every one this
      process may open. A late request gets 408 Request Timeout and the connection is closed (RFC 9110
      15.5.9); a silent connection is closed. While this server holds a request back (a pipelined one waits
      for the one before it), the time is not counted against it. Idle time between requests is uvicorn's
      keep-alive limit (5 s). Use `http_protocol` for a class with another limit.
    - A URL longer than `MAX_URL_BYTES` gets its 414 as soon as that many bytes of it are in, and a request line
      and header fields longer than `MAX_HEAD_BYTES` (or chunk lines and trailer fields of a chunked body) get
      431 Request Header Fields Too Large; the connection is closed. Neither is read to its end: what uvicorn and
      httptools hold of them is bounded, and so is the time taken to gather each piece.
    - A request with `Expect: 100-continue` answered before its body came (refused on its header fields, without
      100 Continue) closes the connection after the answer (`Connection: close`), as Go's server does: the client
      may send the body or not (RFC 9110 10.1.1), so where its next request starts is unknown. uvicorn kept the
      connection and read that next request as the body: it was never answered.
    - A request asking to upgrade to another protocol (`Upgrade: h2c`, as `curl --http2` sends) is read as if it
      had not asked, its body and any request after it too (RFC 9110 7.8: the server may ignore the field).
      httptools stops reading at the end of such a request's header fields, and uvicorn dropped what followed: a
      POST's query arrived empty (400), a pipelined request went unanswered. A WebSocket handshake too: the app
      has no WebSocket route, and uvicorn handed it to `websockets`, which left a POST with a body unanswered.
    - A body with a transfer coding other than chunked (`Transfer-Encoding: gzip, chunked`) gets 501 Not
      Implemented (RFC 9112 6.1) and the connection is closed: llhttp took the chunks and left the gzip, so the
      query was read still compressed.
    - Each of these refusals, and a request the parser cannot read (400), is said in `refusals` (`RefusalLog`: a line
      for each client and status at most every 10 s), where uvicorn wrote 'Invalid HTTP request received.' each time.
    """

    receive_timeout_s: float = 60.0  # 0: no limit
    refusals: RefusalLog | None = None  # where a refusal is said (`_refused`); None: nowhere
    head_clients = HeadClients(())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._receive_timer: asyncio.TimerHandle | None = None
        self._partial = False  # whether the request being read has begun and not yet ended
        self._headers_read = False  # whether that request's headers are in (then `cycle` is its own)
        self._unbodied = 0  # bytes since that request began, or since the last piece of its body: its head, trailers
        self._fresh = False  # whether a request began, or a piece of body came, in the bytes being read
        self._body_unsure = False  # whether that request expects 100-continue, and no body has come yet
        self._read_again: bytes | None = None  # that request's head without its Upgrade, to be read instead
        self._unsaid: Callable[[], None] | None = None  # a 501 to say once the parser has read on (`_feed`)
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._fresh = False
        self._feed(data)
        if self._partial and not self.transport.is_closing():
            # Bytes where a request began are not counted (some may be the one before it): a count too low by at
            # most one read, never too high.
            self._unbodied = 0 if self._fresh else self._unbodied + len(data)
            if not self._headers_read and len(self.url) > MAX_URL_BYTES:
                self.send_400_response("")  # the 414, before the rest of the URL
            elif self._unbodied > MAX_HEAD_BYTES:
                self._head_too_long()
        # Armed only for a request still incomplete once what came is read (one that arrives whole in one piece,
        # as nearly every request does, costs no timer), and for bytes that begin none while nothing is being
        # answered: uvicorn's keep-alive wait ends at any byte, and its parser skips blank lines between requests.
        if self._receive_timer is None and not self.transport.is_closing() and (self._partial or (
                self.timeout_keep_alive_task is None and (self.cycle is None or self.cycle.response_complete))):
            self._arm()

    def _feed(self, data: bytes) -> None:
        """uvicorn's `data_received`, except after a request asking to upgrade: it is read again from its head
        without the Upgrade field (`on_headers_complete`), then what came after it."""
        self._unset_keepalive_if_required()
        again = 0  # how many bytes at the start of `data` are a head read again
        try:
            while True:
                try:
                    self.parser.feed_data(data)
                except httptools.HttpParserError:
                    # The 400 is what is sent, before any answer to these bytes: not a 501 of `on_headers_complete`
                    # (llhttp refuses a coding that does not end in chunked once the head is read).
                    self._unsaid = None
                    self.send_400_response("Invalid HTTP request received.")
                except httptools.HttpParserUpgrade as upgrade:
                    if upgrade.args[0] <= again:  # a head read again asks again: refused, not read for ever
                        self.send_400_response("Invalid HTTP request received.")
                        return
                    head, self._read_again = self._read_again or b"", None
                    # A new parser: llhttp keeps what it read of the request it stopped at (its upgrade, and after a
                    # Connection: close it took nothing more, silently: that request was never answered).
                    self.parser = httptools.HttpRequestParser(self)
                    data, again = head + data[upgrade.args[0]:], len(head)
                    if data:
                        continue
                return
        finally:
            if self._unsaid is not None:
                say, self._unsaid = self._unsaid, None
                say()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._partial, self._headers_read, self._fresh = True, False, True
        self._disarm()  # the wait for a request is over; the request's own time begins

    def on_headers_complete(self) -> None:
        # httptools reads nothing more of a request that asks to upgrade, its body neither: it is not answered as it
        # is, but read again without the field (`_feed`). CONNECT is refused as before.
        if self.parser.should_upgrade() and self.parser.get_method() != b"CONNECT":
            self._read_again = self._head_without_upgrade()
            return
        codings = [value for name, value in self.headers if name == b"transfer-encoding"]
        if codings and any(coding.strip().lower() not in (b"chunked", b"") for value in codings
                           for coding in value.split(b",")):
            # llhttp reads the chunks and leaves the rest (gzip, chunked: a body read still compressed)
            message = _coding_message(b", ".join(codings))
            self._refused(501, message, told_later=True)
            app, self.app = self.app, _not_implemented(message)
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()
        self._headers_read = True
        cycle = self.cycle  # not this request's after an upgrade: uvicorn made none
        if self.scope is not None:  # the app may ask what the client has not read (`responses.send_while_read`)
            extensions = self.scope.setdefault("extensions", {})
            extensions[UNREAD] = self._unread
            if cycle is not None and cycle.scope is self.scope:  # and give up its answer (`responses.abandon`)
                extensions[ABANDON] = functools.partial(self._abandon, cycle)
        self._body_unsure = (self.expect_100_continue and cycle is not None and cycle.scope is self.scope
                             and cycle.keep_alive)
        if self._body_unsure:
            cycle.keep_alive = False  # until the body comes: an answer before it closes the connection

    def on_body(self, body: bytes) -> None:
        self._fresh = True
        self._body_came()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._read_again is not None:  # read again from its head (`_feed`), body and all
            return
        self._partial = False
        self._disarm()
        self._body_came()
        super().on_message_complete()

    def _should_upgrade(self) -> bool:
        return False  # to nothing: the app has no WebSocket route (uvicorn's asks whether `websockets` is installed)

    def _head_without_upgrade(self) -> bytes:
        """The request line and header fields of the request being read, without Upgrade and Connection: upgrade."""
        lines = [b"%s %s HTTP/%s\r\n" % (self.parser.get_method(), self.url, self.parser.get_http_version().encode())]
        for name, value in self.headers:
            if name == b"connection":
                value = b",".join(token for token in value.split(b",") if token.strip().lower() != b"upgrade")
            if name != b"upgrade" and value.strip():
                lines.append(b"%s: %s\r\n" % (name, value))
        return b"".join(lines) + b"\r\n"

    def shutdown(self) -> None:
        """The server stops (Ctrl-C, SIGTERM): a request still arriving is answered 503 now, the connection closed.
        uvicorn waited for its body for as long as it waits for answers in flight, then cut it off with a traceback
        in the log; a request whose head was arriving was dropped unanswered."""
        self._body_unsure = False  # uvicorn's graceful shutdown closes the connection after the answer: so it stays
        cycle = self.cycle
        answering = cycle is not None and not cycle.response_complete
        if self._partial and not self.transport.is_closing() and (
                self._headers_read and not cycle.response_started and not self.pipeline  # its body arriving
                or not self._headers_read and not answering):  # its head arriving, nothing sent before it pending
            if self._headers_read:
                # Over for the app too, as if the client had gone: else an app already running (it answers without
                # the body, as a download does) sent its own answer after the 503 wherever the transport still held
                # bytes the client had not read (closing waits for them): two answers to one request.
                cycle.disconnected = True
                cycle.message_event.set()
            self._close_with(503, "Service Unavailable", "the server is stopping and did not wait for the rest of this "
                                                         "request; send it again once it is back\n")
            return
        super().shutdown()

    def _abandon(self, cycle: RequestResponseCycle) -> None:
        """The app gives up on `cycle`'s answer (a client that does not read it): the connection is closed now, what
        the transport still holds dropped. uvicorn closed it gracefully, which waits for that to be read: the
        connection (and the kernel's send buffer, megabytes) stayed for as long as the client kept it open, a
        stopping server waited for it; and an answer given up before it began got uvicorn's ERROR and a 500, sent
        whenever the client read on."""
        cycle.disconnected = True  # uvicorn sends nothing more for it, and says nothing of an answer unfinished
        cycle.message_event.set()
        # Reset, not closed: the kernel otherwise went on sending what it had queued (megabytes) to the client after
        # the socket was gone from this process, at the client's pace (a client taking 4 KB/s: minutes).
        with contextlib.suppress(AttributeError, OSError):
            self.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                               struct.pack("ii", 1, 0))
        self.transport.abort()

    def _unread(self) -> int | None:
        """How many bytes sent on this connection the client has not taken: in the transport's buffer, and in the
        kernel's send queue (sent and not acknowledged, or not sent yet); None where the kernel does not say (only
        Linux's TIOCOUTQ is asked) or the connection is closing."""
        if self.transport.is_closing():
            return None
        sock = self.transport.get_extra_info("socket")
        try:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except (AttributeError, OSError, ValueError):
            return None
        return self.transport.get_write_buffer_size() + queued

    def _body_came(self) -> None:
        if self._body_unsure:
            self._body_unsure = False
            if not self.cycle.response_started:  # else the answer said Connection: close, and it is kept to
                self.cycle.keep_alive = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if self.receive_timeout_s > 0:
            self._receive_timer = self.loop.call_later(self.receive_timeout_s, self._receive_timed_out)

    def _disarm(self) -> None:
        if self._receive_timer is not None:
            self._receive_timer.cancel()
            self._receive_timer = None

    def _receive_timed_out(self) -> None:
        self._receive_timer = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if self.flow.read_paused or (self._partial and not self._headers_read and answering):
            # This server is not reading, or still answers the request before this one: not the client's time.
            self._arm()
            return
        if self._partial and not (self._headers_read and self.cycle.response_started):
            self._close_with(408, "Request Timeout", (
                f"the request did not arrive whole within {self.receive_timeout_s:g} s of its first byte, this "
                "server's limit; send the whole request at once\n"))
        else:  # no request begun (nothing sent, or blank lines), or its answer already begun: nothing to answer
            self.transport.close()

    def _head_too_long(self) -> None:
        if self._headers_read and self.cycle.response_started:  # trailers after the answer began: nobody to tell
            self.transport.close()
            return
        if self._headers_read:
            message = (f"the chunked body has more than {MAX_HEAD_BYTES:,} bytes of chunk lines and trailer fields "
                       "without data between, this server's limit\n")
        else:
            message = (f"the request line and header fields are longer than {MAX_HEAD_BYTES:,} bytes, this server's "
                       "limit; send a long query by POST (a form with query=..., or application/sparql-query)\n")
        self._close_with(431, "Request Header Fields Too Large", message)

    def send_400_response(self, msg: str) -> None:
        if len(getattr(self, "url", b"")) <= MAX_URL_BYTES:
            # uvicorn's warning before it, held back as a refusal is: a client sending junk wrote a line each time
            self._refused(400, msg)
            super().send_400_response(msg)
            return
        self._close_with(414, "URI Too Long", (
            f"the URL is longer than {MAX_URL_BYTES:,} bytes, this server's limit; send the query by POST "
            "(a form with query=..., or application/sparql-query)\n"))

    def _refused(self, status: int, message: str, *, told_later: bool = False) -> None:
        """Say in `refusals` that the request being read is refused with `status`, and the `message` it is told
        (`told_later`: by an answer still to come, said once the parser has read the bytes in hand without refusing
        them itself, `_feed`)."""
        if self.refusals is None:
            return
        url = getattr(self, "url", b"")  # what came of the request target (none: nor of the method)
        say = functools.partial(self.refusals.note, client=self.head_clients(self.client, self.headers or []),
                                method=self.parser.get_method().decode("latin-1") if url else "-",
                                path=url.partition(b"?")[0].decode("latin-1"), status=status, reason=message)
        if told_later:
            self._unsaid = say
        else:
            say()

    def _close_with(self, status: int, reason: str, message: str) -> None:
        """Send a plain-text answer to the request being read, then close the connection."""
        self._refused(status, message)
        body = message.encode("ascii")
        self.transport.write(b"".join([
            f"HTTP/1.1 {status} {reason}\r\n".encode("ascii"),
            *[name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers],
            b"content-type: text/plain; charset=utf-8\r\n",
            b"access-control-allow-origin: *\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]))
        self.transport.close()


def _coding_message(codings: bytes) -> str:
    """What a request whose body has a transfer coding other than chunked is told (`codings`: its Transfer-Encoding)."""
    return (f"this server reads no transfer coding but chunked, and the request's Transfer-Encoding is "
            f"{codings[:100].decode('latin-1')}; send the body as it is (with Content-Length) or chunked\n")


def _not_implemented(message: str) -> Callable[..., Awaitable[None]]:
    """An ASGI app that answers 501 with `message` to a request whose body has a transfer coding other than chunked
    (RFC 9112 6.1: a server SHOULD answer 501 to one it does not understand), without reading the body, and closes
    the connection."""
    body = message.encode("utf-8")

    async def app(scope: dict, receive: Callable[..., Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        await send({"type": "http.response.start", "status": 501, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode("ascii")),
            (b"access-control-allow-origin", b"*"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    return app


def http_protocol(settings: Settings, *, refusals: RefusalLog | None = None) -> type[HttpProtocol]:
    """`HttpProtocol` with `settings.receive_timeout_s`, for uvicorn's `http`, saying its refusals in `refusals`
    (the app's, `app.state.refusals`; default: a log of its own) with the client `trusted_proxies` name."""
    return type("HttpProtocol", (HttpProtocol,), {
        "receive_timeout_s": settings.receive_timeout_s,
        "refusals": RefusalLog() if refusals is None else refusals,
        "head_clients": HeadClients(settings.trusted_proxies),
    })
