"""Slow, silent and endless clients on the real server (`connection.HttpProtocol`, setting `receive_timeout_s`):
a request must arrive whole within the limit of its first byte, or it gets 408 and its connection is closed; a head
without end gets 414 or 431 before its end; others are answered."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.errors import SourceError
from plan_kg.server.app import create_app
from plan_kg.server.connection import MAX_HEAD_BYTES, MAX_URL_BYTES, http_protocol
from server_fixtures import live_app

LIMIT_S = 0.3
JSON = {"Accept": "application/sparql-results+json"}
ASK = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def url(built: BuildResult) -> Iterator[str]:
    with live_app(create_app(Settings.load(dist_dir=built.out_dir, receive_timeout_s=LIMIT_S))) as sparql:
        yield sparql


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_request_sent_a_header_at_a_time_gets_408_and_others_are_answered_meanwhile(url: str) -> None:
    with _connect(url) as slow:
        slow.sendall(f"GET /sparql?query={quote(ASK)} HTTP/1.1\r\nHost: test\r\n".encode())
        began = time.monotonic()
        slow.settimeout(0.1)
        answered = []
        closed_after = None
        while time.monotonic() - began < 5:
            answered.append(httpx.get(url, params={"query": ASK}, headers=JSON, timeout=5).status_code)
            try:
                slow.sendall(b"X-Slow: 1\r\n")  # one more header line, never the blank line that ends them
                received = slow.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            slow.settimeout(5)
            received += _read_all(slow)
            closed_after = time.monotonic() - began
            break
    assert closed_after is not None and closed_after < 3, "the slow request was not given up"
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"connection: close" in head.lower()
    assert f"within {LIMIT_S:g} s of its first byte".encode() in body and b"send the whole request at once" in body
    assert answered and set(answered) == {200}


def test_a_connection_that_sends_nothing_is_closed(url: str) -> None:
    with _connect(url) as silent:
        began = time.monotonic()
        assert _read_all(silent) == b""  # closed without a word: there was no request to answer
        assert time.monotonic() - began < 3


def test_a_body_that_stops_coming_gets_408(url: str) -> None:
    with _connect(url) as slow:
        slow.sendall(b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
                     b"Accept: application/sparql-results+json\r\nContent-Length: 100\r\n\r\nASK {")
        received = _read_all(slow)
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert httpx.post(url, content=ASK, headers={**JSON, "Content-Type": "application/sparql-query"}).json() == {
        "head": {}, "boolean": True}


def test_the_limit_counts_receiving_only_not_answering_nor_idle_time_between_requests(url: str) -> None:
    # A query that runs several times the limit (about 1 s here), then a second request on the same
    # connection after it was idle for longer than the limit (uvicorn's keep-alive allows 5 s).
    long = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?q ?x . FILTER(?a != ?b) }"
    with httpx.Client(headers=JSON, timeout=30) as client:
        began = time.monotonic()
        first = client.get(url, params={"query": long})
        took = time.monotonic() - began
        time.sleep(3 * LIMIT_S)
        second = client.get(url, params={"query": ASK})
    assert first.status_code == 200 and int(first.json()["results"]["bindings"][0]["n"]["value"]) > 0
    assert took > LIMIT_S, f"the query took {took:.2f} s: too short to show the limit is not counted"
    assert second.status_code == 200 and second.json()["boolean"] is True


def _answered_then(sock: socket.socket, request: bytes) -> None:
    """Send `request` (one whole GET) on `sock` and read its whole answer, leaving the connection open."""
    sock.sendall(request)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(65536)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    body = head.partition(b"\r\n\r\n")[2]
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")


GET = f"GET /sparql?query={quote(ASK)} HTTP/1.1\r\nHost: test\r\nAccept: application/sparql-results+json\r\n\r\n".encode()


def test_blank_lines_after_an_answer_do_not_hold_the_connection(url: str) -> None:
    # uvicorn's keep-alive wait ends at any byte, and its parser skips blank lines before a request.
    with _connect(url) as sock:
        _answered_then(sock, GET)
        sock.sendall(b"\r\n")
        began = time.monotonic()
        assert _read_all(sock) == b""
        assert time.monotonic() - began < 3


def test_a_second_request_on_a_connection_that_stops_coming_gets_408(url: str) -> None:
    with _connect(url) as sock:
        _answered_then(sock, GET)
        sock.sendall(b"GET /sparql HTTP/1.1\r\nHost: test\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_a_stalled_pipelined_request_waits_for_the_answer_before_it(url: str) -> None:
    # The first request runs several times the limit (about 1 s here); the second stops half-way. The first is
    # answered in full, then the second gets its 408: the time spent answering the first is not the client's.
    long = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?x . ?b ?q ?x . FILTER(?a != ?b) }"
    first = (f"GET /sparql?query={quote(long)} HTTP/1.1\r\nHost: test\r\n"
             "Accept: application/sparql-results+json\r\n\r\n").encode()
    with _connect(url) as sock:
        sock.settimeout(30)
        sock.sendall(first + b"GET /sparql HTTP/1.1\r\nHost: test\r\n")
        received = _read_all(sock)
    answers = received.split(b"HTTP/1.1 ")
    assert [answer[:3] for answer in answers[1:]] == [b"200", b"408"], received[:300]
    assert b'"n"' in answers[1]


def test_pipelined_requests_are_each_answered(url: str) -> None:
    request = f"GET /sparql?query={quote(ASK)} HTTP/1.1\r\nHost: test\r\nAccept: application/sparql-results+json\r\n\r\n"
    with _connect(url) as sock:
        sock.sendall((request * 3 + request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")).encode())
        received = _read_all(sock)
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 4


def _expecting_continue(content_type: str, body: bytes) -> bytes:
    return (f"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
            f"Accept: application/sparql-results+json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n").encode()


def test_an_answer_before_the_body_a_client_waits_to_send_closes_the_connection(url: str) -> None:
    """Refused on its header fields, without 100 Continue, the client may send its body or not (RFC 9110 10.1.1):
    uvicorn kept the connection, and read the next request on it as that body, never answering it."""
    with _connect(url) as sock:
        sock.sendall(_expecting_continue("application/sparql-update", b"INSERT DATA { <a:a> <a:b> <a:c> }"))
        received = _read_all(sock)
    head = received.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 403 forbidden\r\n") and b"connection: close" in head, received[:300]
    with _connect(url) as sock:  # the body sent after 100 Continue: the connection is kept for the next request
        sock.sendall(_expecting_continue("application/sparql-query", ASK.encode()))
        continued = b""
        while len(continued) < len(b"HTTP/1.1 100 Continue\r\n\r\n"):
            continued += sock.recv(100)
        assert continued == b"HTTP/1.1 100 Continue\r\n\r\n"
        _answered_then(sock, ASK.encode())
        _answered_then(sock, GET)


def test_a_request_asking_for_an_upgrade_this_server_does_not_make_is_answered_as_if_it_had_not(url: str) -> None:
    """`curl --http2 -d query=…` asks to upgrade to h2c: httptools stops reading at the end of the header fields, and
    uvicorn dropped the rest: the POST's query arrived empty (400), and the requests after it went unanswered."""
    upgrade = b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
    post = (b"POST /sparql HTTP/1.1\r\nHost: test\r\n" + upgrade + b"Content-Type: application/sparql-query\r\n"
            b"Accept: application/sparql-results+json\r\nContent-Length: %d\r\n\r\n%s" % (len(ASK), ASK.encode()))
    with _connect(url) as sock:
        sock.sendall(post + GET.replace(b"\r\n\r\n", b"\r\n" + upgrade + b"\r\n")
                     + GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answers = _read_all(sock).split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"] * 3, answers
    assert all(b'{"head":{},"boolean":true}' in answer for answer in answers)
    handshake = b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    with _connect(url) as sock:  # a WebSocket handshake too: there is no WebSocket route; `websockets` sent nothing
        sock.sendall(post.replace(b"Upgrade: h2c\r\n", handshake)
                     + GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answers = _read_all(sock).split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"] * 2, answers
    # One that also says Connection: close (curl's h2c upgrade with -H 'Connection: close'): llhttp, read on from
    # where it stopped, took nothing more and said nothing: the request was never answered (found by
    # test_server_fuzz.test_any_raw_request)
    with _connect(url) as sock:
        sock.sendall(post.replace(b"Host: test\r\n", b"Host: test\r\nConnection: close\r\n"))
        answers = _read_all(sock).split(b"HTTP/1.1 ")[1:]
    assert [answer[:3] for answer in answers] == [b"200"], answers
    with _connect(url) as sock:  # CONNECT is refused as before (it names no path)
        sock.sendall(b"CONNECT example.org:80 HTTP/1.1\r\nHost: example.org:80\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_a_body_in_a_transfer_coding_this_server_does_not_read_is_refused_with_501(url: str) -> None:
    """RFC 9112 6.1: a transfer coding the server does not understand gets 501. llhttp decodes only chunked: with
    `gzip, chunked` the query was read still compressed (a 400 at best, or a wrong query answered)."""
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(ASK), ASK.encode())
    head = (b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
            b"Accept: application/sparql-results+json\r\n")
    for codings in (b"gzip, chunked", b"x-custom,chunked", b"br\r\nTransfer-Encoding: chunked"):
        with _connect(url) as sock:
            sock.sendall(head + b"Transfer-Encoding: " + codings + b"\r\n\r\n" + chunked + GET)
            received = _read_all(sock)  # closed after the one answer: the GET after it is not read
        assert received.startswith(b"HTTP/1.1 501 Not Implemented\r\n") and received.count(b"HTTP/1.1 ") == 1, received
        assert b"chunked" in received.partition(b"\r\n\r\n")[2]  # the reason says what it reads
    with _connect(url) as sock:  # chunked alone, in any case: read as always
        sock.sendall(head + b"Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n" + chunked)
        assert _read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def _sent_without_end(url: str, start: bytes) -> bytes:
    """What the server answers to `start`, then `a` without end, sent a piece at a time (each read on
    its own) until the server answers or closes, or three times `MAX_HEAD_BYTES` went unanswered."""
    with _connect(url) as sock:
        sock.sendall(start)
        for _ in range(3 * MAX_HEAD_BYTES // 8192):
            if select.select([sock], [], [], 0.002)[0]:
                break  # an answer, or the end of the connection
            sock.sendall(b"a" * 8192)
        return _read_all(sock)


def test_a_url_without_end_gets_414_before_its_end(url: str) -> None:
    """httptools hands uvicorn the URL a piece at a time, and uvicorn appended each to a copy of the rest: a 100 MB
    URL held up every other client for 5.9 s. It was refused once whole, or at the time limit (408)."""
    received = _sent_without_end(url, b"GET /sparql?query=")
    assert received.startswith(b"HTTP/1.1 414 URI Too Long\r\n"), received[:100]
    assert f"longer than {MAX_URL_BYTES:,} bytes".encode() in received
    assert httpx.get(url, params={"query": ASK}, headers=JSON).json()["boolean"] is True


_HEAD_TOO_LONG = f"the request line and header fields are longer than {MAX_HEAD_BYTES:,} bytes".encode()
_FRAMING_TOO_LONG = (f"the chunked body has more than {MAX_HEAD_BYTES:,} bytes of chunk lines and trailer fields"
                     .encode())


@pytest.mark.parametrize(("start", "said"), [
    (b"GET /sparql HTTP/1.1\r\nHost: test\r\nX-Long: ", _HEAD_TOO_LONG),
    (b"GET /sparql HTTP/1.1\r\nHost: test\r\n", _HEAD_TOO_LONG),  # a field name without end
    (b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nASK {\r\n3\r\n } \r\n0\r\nX-Trailer: ",
     _FRAMING_TOO_LONG),
    (b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nASK {\r\n3;extension=", _FRAMING_TOO_LONG),
])
def test_header_fields_without_end_get_431_before_their_end(url: str, start: bytes, said: bytes) -> None:
    """httptools gathers a field (a trailer field too) by appending each piece to a copy of the rest: a 100 MB one
    held up every other client for 4.7 s, and one sent for as long as the time limit allows could fill the memory.
    A chunk extension without end is refused as well (llhttp holds none of it, but it is no body either)."""
    received = _sent_without_end(url, start)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), received[:100]
    assert b"connection: close" in head.lower() and b"access-control-allow-origin: *" in head.lower()
    assert said in body
    assert httpx.get(url, params={"query": ASK}, headers=JSON).json()["boolean"] is True


def test_long_header_fields_within_the_limit_and_long_chunked_bodies_are_answered(url: str) -> None:
    """The limit counts a request's head, and what a chunked body holds besides data: not the body itself."""
    fields = "".join(f"X-Field-{i}: {'v' * 500}\r\n" for i in range((MAX_HEAD_BYTES - MAX_URL_BYTES) // 520))
    request = f"GET /sparql?query={quote(ASK)} HTTP/1.1\r\nHost: test\r\nAccept: application/sparql-results+json\r\n"
    with _connect(url) as sock:
        sock.sendall(request.encode())
        for start in range(0, len(fields), 4096):  # each piece read on its own, as a slow network delivers them
            sock.sendall(fields[start:start + 4096].encode())
            time.sleep(0.001)
        sock.sendall(b"Connection: close\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in [b" " * 100] * 3000 + [ASK.encode()])
    with _connect(url) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: test\r\nContent-Type: application/sparql-query\r\n"
                     b"Accept: application/sparql-results+json\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")
        for start in range(0, len(chunks), 4096):
            sock.sendall(chunks[start:start + 4096])
            time.sleep(0.001)
        sock.sendall(b"0\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200 OK\r\n")


def test_the_limit_is_a_setting_and_0_turns_it_off() -> None:
    assert http_protocol(Settings.load(receive_timeout_s=0)).receive_timeout_s == 0
    assert http_protocol(Settings.load()).receive_timeout_s == 60
    with pytest.raises(SourceError, match="'receive_timeout_s' is -1.0; it must be a number of at least 0 "
                                          r"\(0: no limit \(a reverse proxy in front sets its own\)\)"):
        Settings.load(receive_timeout_s=-1.0)
