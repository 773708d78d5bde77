"""plan_kg.server.refusals: a request refused at one of the server's limits is said in the log (client, method, path,
status, reason), at most one line per client and status in an interval, the next saying how many were held back; on
the real server on loopback, the endpoint's refusals and those of the HTTP protocol alike."""

from __future__ import annotations

import concurrent.futures
import logging
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from plan_kg.server import create_app
from server_fixtures import RUNAWAY_QUERY, live_app, sample_settings

LOGGER = "plan_kg.server.refusals"
#: How a line ends when refusals were held back before it: their count, the interval and when it began.
HELD = r"; and (\d+) more like it in the \d+ s from \d\d:\d\d:\d\d"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Starlette]]:
    # One worker, one query at a time per client, no cache: a second query while a runaway runs gets 429. Behind a
    # "proxy" on loopback, so that X-Forwarded-For names a client of its own to each test.
    settings = sample_settings(tmp_path_factory.mktemp("refusals"), query_timeout_s=4, query_workers=1, max_result_rows=5,
                               max_concurrent_per_client=1, max_body_bytes=100, receive_timeout_s=1,
                               response_cache_bytes=0, in_process_rows=0, query_memory_bytes=0,
                               trusted_proxies=("127.0.0.1",))
    app = create_app(settings)
    with live_app(app) as url:
        yield url, app


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The refusal log's lines, as they come (a list read at any time)."""
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage() if record.levelno == logging.WARNING else f"not a warning: {record}")

    handler = Lines()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def _raw(url: str, request: bytes, *, without_end: bool = False) -> bytes:
    """What the server answers to `request` sent over a socket as it is, then (`without_end`) `a` a piece at a time
    until the server answers or closes."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        for _ in range(100 if without_end else 0):
            if select.select([sock], [], [], 0.002)[0]:
                break  # an answer, or the end of the connection
            sock.sendall(b"a" * 8192)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_429_and_a_503_are_said_once_for_a_flood_then_with_how_many_were_held_back(
        served: tuple[str, Starlette], logged: list[str]) -> None:
    url, app = served
    client = {"X-Forwarded-For": "203.0.113.10"}
    # A newline in the query cannot forge a line: the query is never in the log (nor the URL's query string).
    forged = "ASK {}\nWARNING:  refused 503 to 198.51.100.1 (GET /sparql): forged"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        runaway = pool.submit(httpx.get, url, params={"query": RUNAWAY_QUERY}, headers=client, timeout=60)
        time.sleep(1)  # let it start; it then runs until stopped at 4 s
        flood = [httpx.get(url, params={"query": forged}, headers=client, timeout=60) for _ in range(20)]
        assert [refused.status_code for refused in flood] == [429] * 20
        assert logged == ["refused 429 to 203.0.113.10 (GET /sparql): this client already has 1 queries running, "
                          "this endpoint's limit; wait for one to finish"]
        app.state.refusals.interval_s = 0  # as if the interval were over: the next line says how many were held back
        try:
            assert httpx.get(url, params={"query": "ASK {}"}, headers=client, timeout=60).status_code == 429
        finally:
            app.state.refusals.interval_s = 10.0
        assert runaway.result().status_code == 503
    assert re.fullmatch(r"refused 429 to 203\.0\.113\.10 \(GET /sparql\): this client already has 1 queries running, "
                        r"this endpoint's limit; wait for one to finish" + HELD, logged[1]).group(1) == "19"
    stopped = [line for line in logged if line.startswith("refused 503 ")]
    assert stopped == [f"refused 503 to 203.0.113.10 (GET /sparql): {runaway.result().text.strip()[:200]}…"]
    assert "stopped after 4 s, this endpoint's time limit" in stopped[0] and "?s0" not in stopped[0]
    assert len(logged) == 3 and not any("forged" in line or "\n" in line for line in logged)


def test_a_body_too_large_is_said_with_the_client_and_the_reason_and_a_400_or_404_is_not(
        served: tuple[str, Starlette], logged: list[str]) -> None:
    url, _ = served
    client = {"X-Forwarded-For": "203.0.113.20"}
    for _ in range(3):
        refused = httpx.post(url, content="ASK {}" + " " * 200, headers={
            "Content-Type": "application/sparql-query", **client})
        assert refused.status_code == 413
    # The client's own business, and answered: a syntax error, a path that is not there.
    assert httpx.get(url, params={"query": "SELEC * {}"}, headers=client).status_code == 400
    assert httpx.get(url.replace("/sparql", "/no-such-path"), headers=client).status_code == 404
    assert logged == ["refused 413 to 203.0.113.20 (POST /sparql): the request body is larger than 100 bytes, this "
                      "endpoint's limit"]


def test_a_refusal_a_setting_decided_is_said_though_its_status_is_400(
        served: tuple[str, Starlette], logged: list[str]) -> None:
    url, _ = served
    client = {"X-Forwarded-For": "203.0.113.30"}
    over = httpx.get(url, params={"query": "SELECT * { ?s ?p ?o }"}, headers=client)
    assert over.status_code == 400 and "max_result_rows" not in over.text  # the client is told the limit, not its name
    assert logged == [f"refused 400 to 203.0.113.30 (GET /sparql): {over.text.strip()[:200]}"
                      + ("…" if len(over.text.strip()) > 200 else "")]
    assert "the result has more than 5 rows, this endpoint's limit" in logged[0], logged


@pytest.mark.parametrize(("request_bytes", "without_end", "said"), [
    # A URL without end (414), header fields without end (431, the client named by its trusted proxy's
    # X-Forwarded-For), a request that stops coming (408), a body in a transfer coding not read (501).
    (b"GET /sparql?query=", True,
     "refused 414 to 127.0.0.1 (GET /sparql): the URL is longer than 65,535 bytes, this server's limit; send the "
     "query by POST (a form with query=..., or application/sparql-query)"),
    (b"GET /sparql?query=ASK%20%7B%7D HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.7\r\nX-Long: ", True,
     "refused 431 to 198.51.100.7 (GET /sparql): the request line and header fields are longer than 131,071 bytes, "
     "this server's limit; send a long query by POST (a form with query=..., or application/sparql-query)"),
    # (httptools hands over a field once the next one begins: the last one sent is not read yet)
    (b"GET /sparql HTTP/1.1\r\nX-Forwarded-For: 198.51.100.8\r\nHost: test\r\n", False,
     "refused 408 to 198.51.100.8 (GET /sparql): the request did not arrive whole within 1 s of its first byte, "
     "this server's limit; send the whole request at once"),
    (b"POST /sparql HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.9\r\nTransfer-Encoding: gzip, chunked\r\n"
     b"Content-Type: application/sparql-query\r\n\r\n6\r\nASK {}\r\n0\r\n\r\n", False,
     "refused 501 to 198.51.100.9 (POST /sparql): this server reads no transfer coding but chunked, and the "
     "request's Transfer-Encoding is gzip, chunked; send the body as it is (with Content-Length) or chunked"),
    # A coding that does not end in chunked: the parser refuses the request (RFC 9112 6.3), and the 400 is all the
    # client is told (a 501 was said too, as if told).
    (b"POST /sparql HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: 198.51.100.10\r\nTransfer-Encoding: gzip\r\n\r\n",
     False, "refused 400 to 198.51.100.10 (POST /sparql): Invalid HTTP request received."),
])
def test_a_refusal_of_the_http_protocol_is_said_with_the_client_it_counts(
        served: tuple[str, Starlette], logged: list[str], request_bytes: bytes, without_end: bool, said: str) -> None:
    url, _ = served
    received = _raw(url, request_bytes, without_end=without_end)
    assert received.startswith(f"HTTP/1.1 {said.split()[1]} ".encode()), received[:100]
    assert logged == [said]


def test_requests_the_parser_cannot_read_are_said_once_with_the_client(served: tuple[str, Starlette],
                                                                       logged: list[str]) -> None:
    """uvicorn wrote 'Invalid HTTP request received.' for each, without the client: a client sending junk filled
    the log as fast as it sent."""
    url, _ = served
    for _ in range(5):
        assert _raw(url, b"G\x01T / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert logged == ["refused 400 to 127.0.0.1 (-): Invalid HTTP request received."]


class Clock:
    """Monotonic seconds that move when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_client_and_status_in_an_interval_then_how_many_were_held_back(logged: list[str]) -> None:
    from plan_kg.server.refusals import RefusalLog

    clock = Clock()
    log = RefusalLog(interval_s=10, clock=clock)
    for _ in range(57):
        log.note(client="192.0.2.1", method="GET", path="/sparql", status=429, reason="too many")
    log.note(client="192.0.2.1", method="GET", path="/sparql", status=503, reason="stopped")  # another status
    log.note(client="192.0.2.2", method="GET", path="/sparql", status=429, reason="too many")  # another client
    assert logged == ["refused 429 to 192.0.2.1 (GET /sparql): too many",
                      "refused 503 to 192.0.2.1 (GET /sparql): stopped",
                      "refused 429 to 192.0.2.2 (GET /sparql): too many"]
    clock.now += 9.9
    log.note(client="192.0.2.1", method="GET", path="/sparql", status=429, reason="too many")
    assert len(logged) == 3
    clock.now += 0.1
    log.note(client="192.0.2.1", method="POST", path="/sparql", status=429, reason="too many")
    assert re.fullmatch(r"refused 429 to 192\.0\.2\.1 \(POST /sparql\): too many" + HELD, logged[3]).group(1) == "57"
    clock.now += 10
    log.note(client="192.0.2.1", method="GET", path="/sparql", status=429, reason="too many")
    assert logged[4] == "refused 429 to 192.0.2.1 (GET /sparql): too many"  # none held back since


def test_the_bookkeeping_is_bounded_and_a_flood_from_many_addresses_is_counted(logged: list[str]) -> None:
    from plan_kg.server.refusals import RefusalLog

    clock = Clock()
    log = RefusalLog(interval_s=10, max_clients=100, clock=clock)
    for number in range(10_000):
        log.note(client=f"10.{number // 256}.{number % 256}.1", method="GET", path="/sparql", status=503, reason="busy")
        assert log.remembered <= 100
    # A line for each of the first 100 clients, and one for all the others together.
    assert len(logged) == 101 and "the others share a line for each status" in logged[100]
    clock.now += 10
    log.note(client="192.0.2.1", method="GET", path="/sparql", status=503, reason="busy")
    assert log.remembered == 1  # the others' time is over: forgotten
    assert re.fullmatch(r"refused 503 9899 more times to clients past the 100 this log follows in the 10 s from "
                        r"\d\d:\d\d:\d\d, not logged one by one", logged[101])
    assert logged[102] == "refused 503 to 192.0.2.1 (GET /sparql): busy"


def test_a_pair_forgotten_says_the_refusals_held_back_for_it(logged: list[str]) -> None:
    from plan_kg.server.refusals import RefusalLog

    clock = Clock()
    log = RefusalLog(interval_s=10, clock=clock)
    for _ in range(3):
        log.note(client="192.0.2.1", method="GET", path="/sparql", status=429, reason="too many")
    clock.now += 11
    log.note(client="192.0.2.2", method="GET", path="/sparql", status=429, reason="too many")
    assert re.fullmatch(r"refused 429 to 192\.0\.2\.1 2 more times in the 10 s from \d\d:\d\d:\d\d, not logged one "
                        r"by one", logged[1])
    assert log.remembered == 1


def test_the_count_of_the_clients_past_the_bound_is_said_also_while_others_are_remembered(logged: list[str]) -> None:
    from plan_kg.server.refusals import RefusalLog

    clock = Clock()
    log = RefusalLog(interval_s=10, max_clients=2, clock=clock)
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"):  # the last two past the bound
        log.note(client=client, method="GET", path="/sparql", status=503, reason="busy")
    clock.now += 10
    log.note(client="192.0.2.1", method="GET", path="/sparql", status=503, reason="busy")  # its interval begins again
    clock.now += 0.5
    log.note(client="192.0.2.5", method="GET", path="/sparql", status=503, reason="busy")
    assert re.fullmatch(r"refused 503 1 more times to clients past the 2 this log follows in the 10 s from "
                        r"\d\d:\d\d:\d\d, not logged one by one", logged[4])
    assert logged[5] == "refused 503 to 192.0.2.5 (GET /sparql): busy" and log.remembered == 2


def test_no_text_from_a_request_can_forge_a_line_or_fill_one(logged: list[str]) -> None:
    from plan_kg.server.refusals import REASON_CHARS, RefusalLog

    log = RefusalLog()
    log.note(client="192.0.2.1\nWARNING:  refused 503 to 192.0.2.9", method="GET\r\n", path="/sparql\u2028x\x1b[2K",
             status=503, reason="stopped\nWARNING:  forged " + "x" * 100_000)
    assert len(logged) == 1
    line = logged[0]
    assert line.splitlines() == [line] and "\x1b" not in line and len(line) < 500
    assert line.startswith("refused 503 to 192.0.2.1\\nWARNING:  refused 503 to 192.0.2.9 (GET\\r\\n "
                           "/sparql\\u2028x\\x1b[2K): stopped\\nWARNING:  forged xxx")
    assert line.endswith("x…") and len(line.partition("): ")[2]) == REASON_CHARS + 1
    log.note(client="192.0.2.2", method="GET", path="/sparql", status=503, reason="子ども　の 計画\n")
    assert logged[1] == "refused 503 to 192.0.2.2 (GET /sparql): 子ども　の 計画"  # Japanese as it is


def test_behind_a_path_prefix_a_refusal_names_the_path_as_the_client_sent_it(
        tmp_path: Path, logged: list[str]) -> None:
    """The endpoint's refusals and the HTTP protocol's name the same path: with the prefix when the proxy forwarded
    it (the endpoint's said `/sparql`), without it when the proxy took it off; percent-encoded as sent."""
    settings = sample_settings(tmp_path, max_body_bytes=100, public_base_iri="https://data.example.jp/nishitokyo/",
                               trusted_proxies=("127.0.0.1",))
    paths = ("/nishitokyo/sparql", "/sparql", "/nishitok%79o/sparql")
    with live_app(create_app(settings)) as url:
        root = url.removesuffix("/sparql")
        for number, path in enumerate(paths, 1):
            refused = httpx.post(root + path, content="ASK {}" + " " * 200, headers={
                "Content-Type": "application/sparql-query", "X-Forwarded-For": f"203.0.113.{number}"})
            assert refused.status_code == 413
        assert _raw(url, b"GET /nishitokyo/sparql?query=", without_end=True).startswith(b"HTTP/1.1 414 ")
    assert logged == [*(f"refused 413 to 203.0.113.{number} (POST {path}): the request body is larger than 100 bytes, "
                        "this endpoint's limit" for number, path in enumerate(paths, 1)),
                      "refused 414 to 127.0.0.1 (GET /nishitokyo/sparql): the URL is longer than 65,535 bytes, this "
                      "server's limit; send the query by POST (a form with query=..., or application/sparql-query)"]
