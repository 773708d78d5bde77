"""The least a Python server on plan-kg's stack can do to answer the benchmark's lookups: a ceiling, not a server.

`lookup_ceiling.py` serves it beside plan-kg and the Oxigraph server. It answers only the trivial
lookup of `endpoint_bench.py` (`PREFIX p: <…> SELECT ?v WHERE { <iri> p:name ?v }` and comments),
with pyoxigraph's bytes (`plan_kg.server.lookup.json_answer` over an in-memory copy of the store) and
the headers plan-kg sends (an ETag hashed from the text). It has none of what plan-kg owes a public
client: no per-client limit, no cache, no negotiation (every answer is SPARQL JSON), no refusal log, no
check that a query is one pattern beyond one regular expression. Any other text is run by pyoxigraph
as is, unbounded (`ASK {}` for the start-up check). Never serve it beyond loopback.

    python benchmarks/lean_lookup_server.py STORE_DIR PORT PROCESSES

With PROCESSES > 1, that many processes listen on the same port (SO_REUSEPORT; the kernel spreads
connections among them): what a server of several front processes could reach at best.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import unquote_plus

import pyoxigraph
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from plan_kg.server.lookup import Lookup, MemoryCopy, json_answer  # noqa: E402

_WS = r"[\x20\t\r\n]"
_IRI = r"<[^<>\"{}|^`\\\x00-\x20]*>"
#: The benchmark's lookup, one PREFIX and one pattern, then white space and comments.
LOOKUP = re.compile(
    rf"{_WS}*PREFIX{_WS}+([A-Za-z][\w-]*:){_WS}*({_IRI}){_WS}*SELECT{_WS}+\?([A-Za-z_]\w*){_WS}+WHERE{_WS}*\{{"
    rf"{_WS}*({_IRI}){_WS}+([A-Za-z][\w-]*:[A-Za-z][\w-]*){_WS}+\?([A-Za-z_]\w*){_WS}*\}}(?:{_WS}+|#[^\n\r]*)*"
)
JSON = b"application/sparql-results+json"
HEADERS = [
    (b"vary", b"Accept, Accept-Encoding"),
    (b"cache-control", b"public, max-age=300"),
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"Retry-After, ETag, Link, Location, Content-Location, Content-Range, "
                                       b"Accept-Ranges, Content-Encoding"),
    (b"content-type", JSON),
]


def serve(store_dir: str, port: int, loaded: object) -> None:
    copy = MemoryCopy.of(pyoxigraph.Store.read_only(store_dir))
    loaded.wait()  # type: ignore[attr-defined]  # every process listens once all have loaded: wrk's connections reach all

    def answer(query: str) -> bytes:
        match = LOOKUP.fullmatch(query)
        if match is None or match[3] != match[6]:
            return copy.store.query(query).serialize(format=pyoxigraph.QueryResultsFormat.JSON)  # type: ignore[union-attr]
        lookup = Lookup(query=query, ask=False, projected=(match[3],), prefixes={match[1]: match[2][1:-1]},
                        has_base=False, pattern=((("iri", match[4]),), (("name", match[5]),), (("var", "?" + match[6]),)))
        body = json_answer(copy.store, lookup, max_rows=10_000)
        assert body is not None
        return body

    async def app(scope: dict, receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        query_string: bytes = scope["query_string"]
        if scope["path"] != "/sparql" or not query_string.startswith(b"query="):
            await send({"type": "http.response.start", "status": 404, "headers": []})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]
            return
        query = unquote_plus(query_string[6:].decode("ascii"))
        body = answer(query)
        tag = b'"%s"' % hashlib.sha256(query.encode()).hexdigest()[:32].encode()
        headers = [*HEADERS, (b"etag", tag), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", loop="uvloop", http="httptools")
    uvicorn.Server(config).run(sockets=[listener])


def main() -> None:
    store_dir, port, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    context = multiprocessing.get_context("spawn")
    loaded = context.Barrier(processes)
    children = [context.Process(target=serve, args=(store_dir, port, loaded)) for _ in range(processes)]
    for child in children:
        child.start()

    def stop(*_: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
