"""Helpers for the endpoint tests: a small N-Quads dump and the real server on a loopback port."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from plan_kg.config import Settings
from plan_kg.dcat.docs import STYLESHEET_PATH
from plan_kg.server import create_app
from plan_kg.server import service
from plan_kg.server.connection import http_protocol
from plan_kg.server.jobs import QueryJob

BASE = "https://w3id.org/plan-kg/"
PLAN_GRAPH = BASE + "graph/132292/basic-plan-3"
ONTOLOGY_GRAPH = BASE + "graph/ontology"

#: A tiny plan: one city, a goal, two measures, across two named graphs.
SAMPLE_NQUADS = f"""\
<{BASE}id/132292> <http://www.w3.org/2000/01/rdf-schema#label> "西東京市"@ja <{PLAN_GRAPH}> .
<{BASE}id/132292/basic-plan-3/1> <http://purl.org/dc/terms/isPartOf> <{BASE}id/132292> <{PLAN_GRAPH}> .
<{BASE}id/132292/basic-plan-3/1> <http://www.w3.org/2000/01/rdf-schema#label> "基本目標1" <{PLAN_GRAPH}> .
<{BASE}id/132292/basic-plan-3/1-1> <http://purl.org/dc/terms/isPartOf> <{BASE}id/132292/basic-plan-3/1> <{PLAN_GRAPH}> .
<{BASE}id/132292/basic-plan-3/1-2> <http://purl.org/dc/terms/isPartOf> <{BASE}id/132292/basic-plan-3/1> <{PLAN_GRAPH}> .
<{BASE}ontology#Measure> <http://www.w3.org/2000/01/rdf-schema#label> "Measure"@en <{ONTOLOGY_GRAPH}> .
"""
SAMPLE_QUADS = len(SAMPLE_NQUADS.splitlines())

#: Never finishes on any data: a cross product of 30 patterns (every worker runs it until killed).
RUNAWAY_QUERY = "SELECT (COUNT(*) AS ?n) {" + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(30)) + "}"


def doubling_query(times: int) -> str:
    """Doubles a 1,000-character string `times` times; its answer is the length, 1000 * 2 ** times."""
    return (f"SELECT (STRLEN(?v{times}) AS ?n) {{ BIND(\"" + "x" * 1000 + "\" AS ?v0) "
            + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(times)) + " }")


#: A terabyte: it runs out of any memory limit within a second.
MEMORY_HOG_QUERY = doubling_query(40)


#: A dump of about 9 MB, more than the kernel's buffers take at once from a client with a small receive buffer: its
#: download waits on the client (`held_download`).
BIG_NQUADS = "".join(f"<urn:x:s{i}> <urn:x:p> \"{'x' * 200}\" <urn:x:graph> .\n" for i in range(40_000))


def held_download(host: str, port: int) -> socket.socket:
    """A connection that asks for /downloads/plan-kg.nq with a 4 KB receive buffer and has read nothing yet."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel's buffers cannot take the whole file
    sock.connect((host, port))
    sock.sendall(f"GET /downloads/plan-kg.nq HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode())
    return sock


def write_dump(dist_dir: Path, nquads: str = SAMPLE_NQUADS) -> Path:
    """Write `nquads` as `dist_dir/plan-kg.nq`, as `plan-kg build` would."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    path = dist_dir / "plan-kg.nq"
    path.write_text(nquads, encoding="utf-8")
    return path


def sample_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings whose dist/ holds the sample dump, with server limits overridden."""
    write_dump(tmp / "dist")
    return replace(Settings(), root=tmp, dist_dir=tmp / "dist", **overrides)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def live_server(settings: Settings, *, store_dir: Path | None = None) -> Iterator[str]:
    """Serve `create_app(settings)` with uvicorn on a free loopback port; yields the /sparql URL."""
    with live_app(create_app(settings, store_dir=store_dir)) as url:
        yield url


@contextlib.contextmanager
def live_app(app: Starlette) -> Iterator[str]:
    """Serve `app` (from `create_app`) with uvicorn on a free loopback port; yields the /sparql URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on",
                            proxy_headers=False,  # as `plan-kg serve`: trusted_proxies decide
                            http=http_protocol(app.state.sparql_endpoint.settings, refusals=app.state.refusals))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/sparql"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class Listener:
    """A loopback TCP port that records whether anything ever connects to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def jobs_run_here(monkeypatch: pytest.MonkeyPatch) -> list[QueryJob]:
    """Every job the server process runs itself from now on (a lookup's, a quick named query's), as they come."""
    jobs: list[QueryJob] = []

    def watched(run):  # noqa: ANN001, ANN202 - run_job or run_known, and what it answers
        def watched_run(store, job, **limits):  # noqa: ANN001, ANN202
            if (result := run(store, job, **limits)) is not None:
                jobs.append(job)  # run_known answered it, or run_job did
            return result
        return watched_run

    for name in ("run_job", "run_known"):
        monkeypatch.setattr(service, name, watched(getattr(service, name)))
    return jobs


#: What the server reads of dist/ while serving, each path with the built file it answers with.
BUILT_FILES = {
    "/downloads/plan-kg.nq": "plan-kg.nq",
    "/downloads/void.ttl": "void.ttl",
    "/downloads/catalog.jsonld": "catalog.jsonld",
    "/downloads/ontology.html": "ontology.html",
    "/catalog": "catalog.ttl",
    "/catalog.ttl": "catalog.ttl",
    "/.well-known/void": "void.ttl",
    STYLESHEET_PATH: "pylode.css",
}


def served_files(site: str) -> dict[str, bytes]:
    """What the server sends for each of `BUILT_FILES` (each must be a 200)."""
    answers = {path: httpx.get(site + path, headers={"Accept": "text/turtle"}) for path in BUILT_FILES}
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(BUILT_FILES, 200)
    return {path: answer.content for path, answer in answers.items()}
