"""A build beside a running server (plan_kg.server.rebuilt, and the build's files kept with the store): the app of
`create_app` (what `plan-kg serve` serves with `reload_builds = false`) goes on serving the build it loaded, its files
with its SPARQL answers, says once that dist/ was rebuilt, and serves the new build once restarted. By default
`plan-kg serve` serves the new build once loaded: tests/test_server_reload.py."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from plan_kg.build import BuildResult, _swap_in, build
from plan_kg.config import Settings
from plan_kg.server import create_app, rebuilt
from server_fixtures import BUILT_FILES, SAMPLE_NQUADS, live_server, sample_settings, served_files, write_dump

COUNT_QUADS = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
REBUILT = "was rebuilt at"


def _built(dist: Path) -> dict[str, bytes]:
    return {path: (dist / name).read_bytes() for path, name in BUILT_FILES.items()}


def _quads(sparql: str) -> int:
    """How many quads the endpoint's named graphs hold."""
    answer = httpx.get(sparql, params={"query": COUNT_QUADS}, headers={"Accept": "application/sparql-results+json"},
                       timeout=60)
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def _dump_quads(dump: bytes) -> int:
    return sum(1 for line in dump.splitlines() if line.strip())


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)


def _rebuilt(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if REBUILT in record.getMessage()]


@pytest.mark.slow
def test_a_build_beside_a_running_server_changes_nothing_it_serves_until_it_is_restarted(
    built: BuildResult, plan_copy: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server loaded the store once but read dist/ at each request: after a `plan-kg build` it served the new
    build's downloads, catalog and VoID (other counts, other dates) beside the old build's SPARQL answers, and said
    nothing of it."""
    monkeypatch.setattr(rebuilt, "CHECK_EVERY_S", 0.05)
    caplog.set_level(logging.WARNING, logger=rebuilt.__name__)
    shutil.copytree(built.out_dir, plan_copy.dist_dir)  # every city's build; the next one has Nishitokyo's plan alone
    first = _built(plan_copy.dist_dir)
    store_dir = tmp_path / "store"
    with live_server(plan_copy, store_dir=store_dir) as sparql:
        site = sparql.removesuffix("/sparql")
        assert served_files(site) == first
        build(plan_copy)  # the real one, which swaps its folder in for dist/
        second = _built(plan_copy.dist_dir)
        assert all(second[path] != first[path] for path in ("/downloads/plan-kg.nq", "/catalog", "/.well-known/void"))
        assert served_files(site) == first
        assert _quads(sparql) == _dump_quads(first["/downloads/plan-kg.nq"])
        dropped = [path.relative_to(built.out_dir).as_posix() for path in sorted(built.out_dir.rglob("*.csv"))
                   if not (plan_copy.dist_dir / path.relative_to(built.out_dir)).exists()]  # the other cities' plans
        assert dropped and f'href="/downloads/{dropped[0]}"' in httpx.get(site + "/").text
        assert httpx.get(f"{site}/downloads/{dropped[0]}").status_code == 200
        _wait_for(lambda: bool(_rebuilt(caplog)))
        # Another build: nothing more is said.
        staging = tmp_path / ".dist-building-again"
        shutil.copytree(plan_copy.dist_dir, staging)
        stat = (staging / "plan-kg.nq").stat()
        os.utime(staging / "plan-kg.nq", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        _swap_in(staging, plan_copy.dist_dir)
        time.sleep(20 * rebuilt.CHECK_EVERY_S)
        assert served_files(site) == first
    said = _rebuilt(caplog)
    assert len(said) == 1
    assert said[0].startswith(f"{plan_copy.dist_dir} was rebuilt at ")
    assert said[0].endswith("this server keeps serving the build it loaded; restart it to serve the new one")
    caplog.clear()
    with live_server(plan_copy, store_dir=store_dir) as sparql:  # restarted
        served = served_files(sparql.removesuffix("/sparql"))
        assert served == _built(plan_copy.dist_dir) and served["/.well-known/void"] == second["/.well-known/void"]
        assert _quads(sparql) == _dump_quads(second["/downloads/plan-kg.nq"])
        time.sleep(20 * rebuilt.CHECK_EVERY_S)
    assert not _rebuilt(caplog)


def test_a_server_over_a_temporary_store_serves_the_build_it_loaded_and_leaves_nothing(tmp_path: Path) -> None:
    """`create_app(settings)` keeps its store in a temporary directory of its own; the build's files are kept there
    too, and go with it."""
    settings = sample_settings(tmp_path)
    (settings.dist_dir / "void.ttl").write_text("# the first build\n", encoding="utf-8")
    app = create_app(settings)
    with TestClient(app) as client:
        staging = tmp_path / ".dist-building-1"
        write_dump(staging, SAMPLE_NQUADS + "<urn:x:new> <urn:x:in> <urn:x:build> <urn:x:graph> .\n")
        (staging / "void.ttl").write_text("# the second build\n", encoding="utf-8")
        _swap_in(staging, settings.dist_dir)
        assert client.get("/downloads/void.ttl").text == "# the first build\n"
        assert client.get("/.well-known/void", headers={"Accept": "text/turtle"}).text == "# the first build\n"
        assert client.get("/downloads/plan-kg.nq").text == SAMPLE_NQUADS
        asked = client.get("/sparql", params={"query": "ASK { <urn:x:new> ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"})
        assert asked.json()["boolean"] is False
        kept = app.state.store.files
    assert kept.is_relative_to(tempfile.gettempdir()) and not kept.parent.parent.exists()
