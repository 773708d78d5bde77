"""`plan-kg serve` across builds (plan_kg.server.reload): a new build is served once its app has started, with no
request refused meanwhile; a request the old build was answering gets the old build's answer whole; a build that
cannot be served leaves the one loaded before in place."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from starlette.applications import Starlette

from plan_kg.build import BuildResult, _swap_in, build
from plan_kg.config import Settings
from plan_kg.locks import exclusive
from plan_kg.server import rebuilt, reload, store
from plan_kg.server.pool import WorkerPool, WorkerStartError
from plan_kg.server.reload import ReloadingApp
from plan_kg.server.run import serving_app
from server_fixtures import BIG_NQUADS, BUILT_FILES, SAMPLE_NQUADS, live_app, sample_settings, served_files, write_dump

NEW = "<urn:x:new> <urn:x:in> <urn:x:build> <urn:x:graph> .\n"
ASK_NEW = "ASK { <urn:x:new> ?p ?o }"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture(autouse=True)
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuilt, "CHECK_EVERY_S", 0.05)


def _reloading(settings: Settings, store_dir: Path) -> ReloadingApp:
    """What `plan-kg serve` serves."""
    app = serving_app(settings, store_dir=store_dir)
    assert isinstance(app, ReloadingApp)
    return app


def _wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.02)


def _build(settings: Settings, nquads: str, number: int, *, made: datetime | None = None) -> None:
    """Swap a `dist/` holding `nquads` in, as `plan-kg build` does (its dump modified at `made`, if given)."""
    staging = settings.dist_dir.with_name(f".dist-building-{number}")
    dump = write_dump(staging, nquads)
    if made is not None:
        os.utime(dump, (made.timestamp(), made.timestamp()))
    _swap_in(staging, settings.dist_dir)


def _asks_new(sparql: str) -> bool:
    answer = httpx.get(sparql, params={"query": ASK_NEW}, headers=JSON, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["boolean"]


class Clients:
    """A client asking the endpoint and fetching the dump, again and again, until stopped: every status it got."""

    def __init__(self, sparql: str) -> None:
        self.site = sparql.removesuffix("/sparql")
        self.sparql = sparql
        self.statuses: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    self.statuses.append(client.get(self.sparql, params={"query": ASK_NEW}, headers=JSON).status_code)
                    self.statuses.append(client.get(self.site + "/downloads/plan-kg.nq").status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Clients:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@contextlib.contextmanager
def _serving_asked(tmp_path: Path) -> Iterator[tuple[Settings, ReloadingApp, str, Clients]]:
    """The sample build served as `plan-kg serve` serves it, and `Clients` asking it all along."""
    settings = sample_settings(tmp_path)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql, Clients(sparql) as clients:  # type: ignore[arg-type]
        yield settings, app, sparql, clients


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    caplog.set_level(logging.WARNING, logger="plan_kg.server")
    yield lambda: [record.getMessage() for record in caplog.records]


def test_a_new_build_is_served_once_started_and_no_client_is_refused_meanwhile(
        tmp_path: Path, logged: Callable[[], list[str]]) -> None:
    with _serving_asked(tmp_path) as (settings, app, sparql, clients):
        site = sparql.removesuffix("/sparql")
        assert not _asks_new(sparql)
        first, refusals = weakref.ref(app.state.query_service), app.state.refusals
        tag = httpx.get(site + "/downloads/plan-kg.nq").headers["etag"]
        _wait_for(lambda: len(clients.statuses) > 20)
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: app.reloads == 1)
        assert _asks_new(sparql)
        download = httpx.get(site + "/downloads/plan-kg.nq")
        assert download.text == SAMPLE_NQUADS + NEW and download.headers["etag"] != tag
        # Once it answered nothing, the old build's app was shut down (its workers stopped) and let go (its store too).
        _wait_for(lambda: first() is None)
        assert app.state.query_service._pool is not None
        assert app.state.refusals is refusals  # one log, which the HTTP protocol writes to as well
        seen = len(clients.statuses)
        _wait_for(lambda: len(clients.statuses) > seen + 20)
    assert clients.errors == [] and set(clients.statuses) == {200}, (clients.errors, set(clients.statuses))
    said = logged()
    assert any(line.startswith(f"{settings.dist_dir} was rebuilt at ") and line.endswith(
        "; loading it (the build loaded before is served meanwhile)") for line in said), said
    assert any(line.startswith("serving the build of ") and line.endswith(" from now on (14 quads)")
               for line in said), said  # 7 quads in named graphs, each in the default graph too


def test_a_request_the_old_build_is_answering_gets_the_old_answer_whole(tmp_path: Path) -> None:
    """The old build's app is shut down once it answers nothing: a download it was sending goes on to its end."""
    big = BIG_NQUADS
    settings = sample_settings(tmp_path)
    write_dump(settings.dist_dir, big)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        site = sparql.removesuffix("/sparql")
        first = app.state.query_service
        # A small receive buffer: the kernel's buffers cannot take the whole dump, so the server waits to send the rest.
        slow = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)])
        with httpx.Client(transport=slow, timeout=60) as reader, reader.stream(
                "GET", site + "/downloads/plan-kg.nq", headers={"Accept-Encoding": "identity"}) as download:
            chunks = download.iter_bytes()
            received = [next(chunks)]  # the rest waits in the server: this request is not done
            _build(settings, SAMPLE_NQUADS + NEW, 1)
            _wait_for(lambda: app.reloads == 1)
            assert _asks_new(sparql)
            time.sleep(0.5)
            assert first._pool is not None  # still answering the download
            received.extend(chunks)
        assert b"".join(received).decode() == big
        _wait_for(lambda: first._pool is None)


def _post_without_body(sparql: str) -> tuple[socket.socket, bytes]:
    """A connection that has sent the header fields of a POST asking `ASK_NEW`, and the body it has yet to send."""
    body = f"query={ASK_NEW}".encode()
    host, port = sparql.removeprefix("http://").split("/")[0].split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    connection.sendall(b"POST /sparql HTTP/1.1\r\nHost: %s\r\nAccept: application/sparql-results+json\r\n"
                       b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
                       % (host.encode(), len(body)))
    return connection, body


def _answer(connection: socket.socket) -> tuple[int, str]:
    """The status and body of the one response read on `connection` (closed by the server after it)."""
    with connection, connection.makefile("rb") as stream:
        status = int(stream.readline().split()[1])
        headers = {}
        while (line := stream.readline().strip()):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        return status, stream.read(int(headers["content-length"])).decode()


def test_a_query_whose_body_is_still_arriving_gets_the_old_answer(tmp_path: Path) -> None:
    """The old build's app is kept while the request it began may still arrive (`receive_timeout_s`), not only for
    `query_timeout_s` + `send_timeout_s`: it got a 500 (the workers it needed were stopped)."""
    settings = sample_settings(tmp_path, query_timeout_s=0.5, send_timeout_s=0.5, receive_timeout_s=60.0)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        first = app.state.query_service
        connection, body = _post_without_body(sparql)
        _wait_for(lambda: app._serving.active == 1)  # taken by the first build's app
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: app.reloads == 1)
        time.sleep(2.0)  # twice the query and send time limits
        assert first._pool is not None  # still answering the request that began before the new build was served
        connection.sendall(body)
        status, answer = _answer(connection)
        assert status == 200, answer
        assert '"boolean":false' in answer.replace(" ", "")  # the old build's answer
        _wait_for(lambda: first._pool is None)


def test_a_query_reaching_an_app_shut_down_is_told_to_send_it_again(tmp_path: Path) -> None:
    """Without a limit on how long a request may take to arrive (`receive_timeout_s = 0`, behind a proxy), the old
    build's app is shut down while a request still comes: a 503 saying to send it again, not a 500."""
    settings = sample_settings(tmp_path, query_timeout_s=0.5, send_timeout_s=0.5, receive_timeout_s=0.0)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        first = weakref.ref(app.state.query_service)
        connection, body = _post_without_body(sparql)
        _wait_for(lambda: app._serving.active == 1)  # taken by the first build's app
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: app.reloads == 1)
        _wait_for(lambda: first() is None or first()._pool is None)  # type: ignore[union-attr]
        connection.sendall(body)
        status, answer = _answer(connection)
        assert status == 503, answer
        assert "stopped serving the build it was sent to" in answer and answer.rstrip().endswith("send it again")
        assert _asks_new(sparql)


def test_an_old_build_is_collected_when_another_was_let_go_before_it(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Two builds let go one after the other, each held by a request still arriving: the first one's release froze
    the second's app out of the collector's way (`gc.freeze`) while its request held it, and it was never collected
    (its store and version directory held) until a later build."""
    monkeypatch.setattr(reload, "_RELEASE_WAITS_S", (0.0, *[0.1] * 600))
    settings = sample_settings(tmp_path, query_timeout_s=0.5, send_timeout_s=0.5, receive_timeout_s=0.0)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        first = weakref.ref(app.state.query_service)
        holds_first, _ = _post_without_body(sparql)
        _wait_for(lambda: app._serving.active == 1)
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: app.reloads == 1)
        second = weakref.ref(app.state.query_service)
        holds_second, _ = _post_without_body(sparql)
        _wait_for(lambda: app._serving.active == 1)
        _build(settings, SAMPLE_NQUADS, 2)
        _wait_for(lambda: app.reloads == 2)
        _wait_for(lambda: second()._pool is None)  # type: ignore[union-attr]  # shut down, still held
        holds_first.close()
        _wait_for(lambda: first() is None and len(app._retiring) == 1)  # the first one's release is done with
        holds_second.close()
        _wait_for(lambda: second() is None, seconds=30)
        _wait_for(lambda: gc.get_freeze_count() > 0)  # frozen again once both were gone
        assert _asks_new(sparql) is False  # the third build serves


def test_the_log_names_the_build_served_when_another_came_while_it_loaded(
        tmp_path: Path, logged: Callable[[], list[str]]) -> None:
    """A build swapped in while the one found waits to load (another process loading into the same store): the log
    named the build found, and the next one was served."""
    settings = sample_settings(tmp_path)
    app = _reloading(settings, tmp_path / "store")
    found, loaded = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 6, 1, tzinfo=timezone.utc)
    with live_app(app) as sparql:  # type: ignore[arg-type]
        with exclusive(tmp_path / "store" / ".lock"):  # as a `plan-kg query` loading meanwhile holds it
            _build(settings, SAMPLE_NQUADS, 1, made=found)
            _wait_for(lambda: any("; loading it" in line for line in logged()))
            _build(settings, SAMPLE_NQUADS + NEW, 2, made=loaded)
        _wait_for(lambda: app.reloads == 1)
        assert _asks_new(sparql)
        time.sleep(10 * rebuilt.CHECK_EVERY_S)
    served = [line for line in logged() if line.startswith("serving the build of ")]
    assert served == [f"serving the build of {loaded.astimezone().isoformat(timespec='seconds')} from now on "
                      f"(14 quads)"], logged()


def test_the_server_stops_at_once_while_an_old_build_is_waited_for(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An old build's app still held once shut down (by a slow client's download, say) is looked for again after
    longer and longer waits, up to two minutes: a server stopped meanwhile waited for the rest of that wait."""
    monkeypatch.setattr(reload, "_RELEASE_WAITS_S", (0.0, 3600.0))
    settings = sample_settings(tmp_path)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app):  # type: ignore[arg-type]
        held = app._serving.app  # as a request still answered holds it
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: app.reloads == 1)
        _wait_for(lambda: held.state.query_service._pool is None)
        serving = app.state.query_service
        time.sleep(0.5)  # into the long wait
    assert serving._pool is None  # shut down (live_app waits 30 s for the server to stop)


def test_a_server_stopped_while_a_new_build_loads_gives_the_load_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     logged: Callable[[], list[str]]) -> None:
    """A new build loads in a thread, which Python cannot stop and waits for at exit: a server stopped while a large
    build loaded (minutes, at national scale) waited for the whole load. It is given up now, and nothing of it kept."""
    settings = sample_settings(tmp_path)
    app = _reloading(settings, tmp_path / "store")
    versions_before = set((tmp_path / "store").iterdir())
    threads_before = set(threading.enumerate())
    parse = pyoxigraph.parse
    read: list[object] = []

    def slowly(*args: object, **kwargs: object) -> Iterator[pyoxigraph.Quad]:  # 600 quads: a load of a minute
        for quad in parse(*args, **kwargs):
            read.append(quad)
            time.sleep(0.1)
            yield quad

    with live_app(app):  # type: ignore[arg-type]
        monkeypatch.setattr(pyoxigraph, "parse", slowly)
        monkeypatch.setattr(store, "_STOP_EVERY", 1, raising=False)  # raising: the code before had none
        _build(settings, "".join(f"<urn:x:s{i}> <urn:x:p> <urn:x:o> <urn:x:graph> .\n" for i in range(600)), 1)
        _wait_for(lambda: len(read) > 5)
        stopping = time.monotonic()
    stopped_s = time.monotonic() - stopping
    taken = len(read)
    time.sleep(0.5)
    assert len(read) == taken < 300, "the load went on after the server stopped"
    assert stopped_s < 20, f"the server took {stopped_s:.1f} s to stop: it waited for the load"
    assert not [thread.name for thread in set(threading.enumerate()) - threads_before if thread.name.startswith("uvicorn-")]
    assert set((tmp_path / "store").iterdir()) - versions_before == set(), "the load given up left its store"
    assert app.reloads == 0 and not any("cannot be served" in line for line in logged())


def test_a_build_that_cannot_be_served_leaves_the_one_loaded_before_and_the_next_one_is_served(
        tmp_path: Path, logged: Callable[[], list[str]]) -> None:
    with _serving_asked(tmp_path) as (settings, app, sparql, clients):
        site = sparql.removesuffix("/sparql")
        _build(settings, "<urn:x:s> <urn:x:p> not N-Quads .\n", 1)
        _wait_for(lambda: any("cannot be served" in line for line in logged()))
        time.sleep(20 * rebuilt.CHECK_EVERY_S)  # not tried again
        assert app.reloads == 0 and not _asks_new(sparql)
        assert httpx.get(site + "/downloads/plan-kg.nq").text == SAMPLE_NQUADS
        _build(settings, SAMPLE_NQUADS + NEW, 2)
        _wait_for(lambda: app.reloads == 1)
        assert _asks_new(sparql)
    assert clients.errors == [] and set(clients.statuses) == {200}, (clients.errors, set(clients.statuses))
    failed = [line for line in logged() if "cannot be served" in line]
    assert len(failed) == 1, failed
    assert f"in {settings.dist_dir} cannot be served (" in failed[0] and "not valid N-Quads" in failed[0]
    assert failed[0].endswith("; the build loaded before is still served; fix the sources and build again")


def test_a_build_whose_workers_do_not_start_is_said_with_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logged: Callable[[], list[str]]) -> None:
    """A valid build whose query workers do not start (short of memory with both builds loaded, say): the build loaded
    before goes on being served, and the log does not say to fix the sources, which are not the cause."""
    settings = sample_settings(tmp_path)
    app = _reloading(settings, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        first = app.state.query_service

        async def dies(self: WorkerPool) -> None:
            raise WorkerStartError("a query worker stopped (exit code -9) before it had opened the store")

        monkeypatch.setattr(WorkerPool, "_spawn", dies)
        _build(settings, SAMPLE_NQUADS + NEW, 1)
        _wait_for(lambda: any("cannot be served" in line for line in logged()))
        assert app.reloads == 0 and app.state.query_service is first and first._pool is not None
        assert not _asks_new(sparql)
    failed = [line for line in logged() if "cannot be served" in line]
    assert len(failed) == 1 and "(a query worker stopped (exit code -9) before it had opened the store)" in failed[0]
    assert failed[0].endswith("; the build loaded before is still served; its query workers did not start beside "
                              "those of the build served: restart plan-kg serve to serve it alone"), failed


def test_plan_kg_serve_serves_new_builds_unless_reload_builds_is_false(tmp_path: Path) -> None:
    """`reload_builds = false`: `plan-kg serve` serves the app of `create_app` alone, which says that dist/ was
    rebuilt (tests/test_server_rebuilt.py); by default, a `ReloadingApp` whose every build shares one refusal log."""
    assert isinstance(serving_app(sample_settings(tmp_path / "a"), store_dir=tmp_path / "a" / "store"), ReloadingApp)
    kept = serving_app(sample_settings(tmp_path / "b", reload_builds=False), store_dir=tmp_path / "b" / "store")
    assert isinstance(kept, Starlette)


@pytest.mark.slow
def test_plan_kg_build_beside_the_server_is_served_whole_once_loaded(built: BuildResult, plan_copy: Settings,
                                                                    tmp_path: Path) -> None:
    """The real build, which swaps its folder in for dist/: the SPARQL answers, downloads, catalog and VoID are all the
    new build's at once (the first build has every city's plan, the second Nishitokyo's alone)."""
    shutil.copytree(built.out_dir, plan_copy.dist_dir)
    app = _reloading(plan_copy, tmp_path / "store")
    with live_app(app) as sparql:  # type: ignore[arg-type]
        site = sparql.removesuffix("/sparql")
        first = served_files(site)
        assert first["/downloads/plan-kg.nq"] == (built.out_dir / "plan-kg.nq").read_bytes()
        build(plan_copy)
        _wait_for(lambda: app.reloads == 1, seconds=120)
        second = served_files(site)
        assert second == {path: (plan_copy.dist_dir / name).read_bytes() for path, name in BUILT_FILES.items()}
        assert all(second[path] != first[path] for path in ("/downloads/plan-kg.nq", "/catalog", "/.well-known/void"))
        quads = httpx.get(sparql, params={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"}, headers=JSON)
        lines = [line for line in second["/downloads/plan-kg.nq"].splitlines() if line.strip()]
        assert int(quads.json()["results"]["bindings"][0]["n"]["value"]) == len(lines)
