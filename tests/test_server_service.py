"""plan_kg.server.service and .store: the query API the CLI reuses, over a store loaded once."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from plan_kg.server import LoadedStore, QueryRejected, QueryRequest, QueryService, StoreError, load_store
from plan_kg.server.lookup import read_lookup
from server_fixtures import ONTOLOGY_GRAPH, PLAN_GRAPH, SAMPLE_NQUADS, jobs_run_here, sample_settings, write_dump


def test_the_store_holds_the_named_graphs_and_is_reused(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path)
    first = load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store")
    assert first.graphs == (PLAN_GRAPH, ONTOLOGY_GRAPH)  # sorted
    marker = first.path / "KEEP"
    marker.write_text("")
    assert load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store").path == first.path
    assert marker.exists()  # unchanged dump: not reloaded
    write_dump(settings.dist_dir, f"<urn:x:a> <urn:x:b> <urn:x:c> <{PLAN_GRAPH}> .\n")
    reloaded = load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store")
    assert reloaded.graphs == (PLAN_GRAPH,)
    assert reloaded.path != first.path and marker.exists()  # a running server may still read the old one


def test_the_default_graph_is_the_set_union_of_the_named_graphs(tmp_path: Path) -> None:
    """A triple in two graphs is in the default graph once; a blank node is one node in both."""
    import pyoxigraph

    other = PLAN_GRAPH + "/other"
    write_dump(tmp_path / "dist", (f"<urn:x:a> <urn:x:b> <urn:x:c> <{PLAN_GRAPH}> .\n"
                                   f"<urn:x:a> <urn:x:b> <urn:x:c> <{other}> .\n"
                                   f"_:n <urn:x:label> \"ノード\"@ja <{PLAN_GRAPH}> .\n"
                                   f"<urn:x:a> <urn:x:has> _:n <{other}> .\n"))
    store = pyoxigraph.Store.read_only(str(load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store").path))
    default = list(store.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph()))
    assert len(default) == 3
    # The label reached through the default graph is the one of the node in the named graphs.
    rows = list(store.query("SELECT ?l { <urn:x:a> <urn:x:has> ?n . GRAPH ?g { ?n <urn:x:label> ?l } }"))
    assert [str(r["l"].value) for r in rows] == ["ノード"]


def test_only_the_three_newest_store_versions_are_kept(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        write_dump(tmp_path / "dist", f"<urn:x:a> <urn:x:b> \"{i}\" <{PLAN_GRAPH}> .\n")
        paths.append(load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store").path)
    assert [p.exists() for p in paths] == [False, False, True, True, True]


def test_a_missing_or_broken_dump_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="plan-kg build"):
        load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store")
    write_dump(tmp_path / "dist", "not n-quads\n")
    with pytest.raises(StoreError, match="N-Quads"):
        load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store")


def test_a_dump_that_cannot_be_loaded_leaves_nothing_in_the_store_directory(tmp_path: Path) -> None:
    """A server serving new builds (`reload_builds`) tries each: the half-loaded store and kept files of each broken
    one stayed, and only the next build that loaded pruned them."""
    settings = sample_settings(tmp_path)
    served = load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store", with_files=True)
    for i in range(4):
        write_dump(settings.dist_dir, SAMPLE_NQUADS * 50 + f"<urn:x:a> <urn:x:b> broken{i} .\n")
        with pytest.raises(StoreError, match="N-Quads"):
            load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store", with_files=True)
    assert [version.name for version in (tmp_path / "store").iterdir() if version.is_dir()] == [served.version]


def _rebuild(dist: Path, nquads: str, files: dict[str, str]) -> None:
    """Swap a new build holding `nquads` and `files` (path -> text) in for `dist`, as `plan-kg build` does."""
    from plan_kg.build import _swap_in

    staging = dist.with_name(f".{dist.name}-building-{time.time_ns()}")
    write_dump(staging, nquads)
    for name, text in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_text(text, encoding="utf-8")
    _swap_in(staging, dist)


def test_a_servers_store_keeps_the_builds_files_and_they_go_with_its_version(tmp_path: Path) -> None:
    """A server serves the files of the build it loaded (`with_files`), linked beside its store: once the version is
    pruned, nothing of them is left."""
    dist, store_dir = tmp_path / "dist", tmp_path / "store"
    _rebuild(dist, SAMPLE_NQUADS, {"void.ttl": "# the first build\n", "plans/p.ttl": "# a plan\n"})
    first = load_store(dist / "plan-kg.nq", store_dir, with_files=True)
    kept = first.files
    assert kept is not None and kept.parent == first.path.parent  # in the version's own directory
    assert sorted(p.relative_to(kept) for p in kept.rglob("*")) == sorted(p.relative_to(dist) for p in dist.rglob("*"))
    assert (kept / "void.ttl").stat().st_ino == (dist / "void.ttl").stat().st_ino  # linked, not copied
    assert load_store(dist / "plan-kg.nq", store_dir, with_files=True).files == kept  # the same build: shared
    del first  # no longer served: the next loads may prune it
    for i in range(3):
        _rebuild(dist, f"<urn:x:a> <urn:x:b> \"{i}\" <{PLAN_GRAPH}> .\n", {"void.ttl": f"# build {i}\n"})
        last = load_store(dist / "plan-kg.nq", store_dir, with_files=True)
    assert not kept.exists() and not kept.parent.exists()
    assert (last.files / "void.ttl").read_text(encoding="utf-8") == "# build 2\n"
    versions = [p for p in store_dir.iterdir() if p.is_dir()]
    assert len(versions) == 3
    # Each version holds its store, its stamp and the files of its build: nothing half-made is left behind.
    assert {tuple(sorted(c.name.partition("-")[0] for c in v.iterdir())) for v in versions} == {
        ("build", "oxigraph", "source.json")}


def test_a_servers_store_copies_the_builds_files_where_it_cannot_link_them(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A store on another file system than dist/ (the temporary store of `create_app(settings)`, a cache elsewhere)
    gets copies, with their times: a download's ETag and Last-Modified are made of them."""
    import errno
    import os

    def cross_device(source: str, target: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    dist = sample_settings(tmp_path).dist_dir
    (dist / "void.ttl").write_text("# built\n", encoding="utf-8")
    monkeypatch.setattr(os, "link", cross_device)
    kept = load_store(dist / "plan-kg.nq", tmp_path / "store", with_files=True).files
    assert kept is not None
    for name in ("plan-kg.nq", "void.ttl"):
        copied, built = (kept / name).stat(), (dist / name).stat()
        assert copied.st_ino != built.st_ino and copied.st_mtime_ns == built.st_mtime_ns
        assert (kept / name).read_bytes() == (dist / name).read_bytes()


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "copied"])
def test_a_servers_store_keeps_links_inside_dist_and_leaves_out_those_leading_out_or_nowhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked: bool) -> None:
    """A symbolic link in dist/ is kept as a link to the same kept file or folder when it leads inside dist/, and left
    out when it leads out of it or to nothing, as the downloads never served one of those: a `loop -> .` stopped the
    server from starting (copied 40 levels deep, then 'Too many levels of symbolic links'), a link to nothing did on
    another file system, and there a file outside dist/ a link led to was copied in and served."""
    import errno
    import os

    dist = sample_settings(tmp_path).dist_dir
    (dist / "void.ttl").write_text("# built\n", encoding="utf-8")
    (dist / "plans").mkdir()
    (dist / "plans" / "p.ttl").write_text("# a plan\n", encoding="utf-8")
    (tmp_path / "private.ttl").write_text("# not for the public\n", encoding="utf-8")
    for name, target in {"loop": ".", "alias.ttl": "void.ttl", "absolute.ttl": str(dist / "void.ttl"),
                         "plans-too": "plans", "outside.ttl": str(tmp_path / "private.ttl"),
                         "nowhere.ttl": str(tmp_path / "nothing.ttl"), "itself.ttl": "itself.ttl"}.items():
        (dist / name).symlink_to(target)
    if not linked:
        def cross_device(source: str, target: str) -> None:
            raise OSError(errno.EXDEV, "Invalid cross-device link")

        monkeypatch.setattr(os, "link", cross_device)
    kept = load_store(dist / "plan-kg.nq", tmp_path / "store", with_files=True).files
    assert kept is not None
    for name, leads_to in {"loop": ".", "alias.ttl": "void.ttl", "absolute.ttl": "void.ttl",
                           "plans-too": "plans"}.items():
        assert (kept / name).is_symlink() and (kept / name).resolve() == (kept / leads_to).resolve()
    assert (kept / "plans-too" / "p.ttl").read_text(encoding="utf-8") == "# a plan\n"
    assert (kept / "loop" / "loop" / "void.ttl").read_text(encoding="utf-8") == "# built\n"
    for name in ("outside.ttl", "nowhere.ttl", "itself.ttl"):
        assert not (kept / name).exists() and not (kept / name).is_symlink()
    assert sorted(p.name for p in kept.iterdir() if not p.is_symlink()) == ["plan-kg.nq", "plans", "void.ttl"]


def test_a_store_without_space_left_is_a_store_error_and_leaves_no_copies(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A store on a file system with no space left: plan-kg serve stopped with a traceback (shutil.Error, OSError),
    and the files copied until then were left in the store, holding space. Now it is a StoreError, which plan-kg
    serve says as such, and no copy is left."""
    import errno
    import os
    import shutil

    import pyoxigraph

    def cross_device(source: str, target: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    copied: list[str] = []

    def copy_until_full(source: str, target: str, **_: object) -> str:
        if copied:
            raise OSError(errno.ENOSPC, "No space left on device")
        copied.append(shutil.copyfile(source, target))
        return target

    dist = sample_settings(tmp_path).dist_dir
    (dist / "void.ttl").write_text("# built\n", encoding="utf-8")
    monkeypatch.setattr(os, "link", cross_device)
    monkeypatch.setattr(shutil, "copy2", copy_until_full)
    with pytest.raises(StoreError, match=r"could not be kept beside the query store .*No space left on device"):
        load_store(dist / "plan-kg.nq", tmp_path / "store", with_files=True)
    assert copied and not [p for p in (tmp_path / "store").rglob("*") if "build-" in p.name]
    monkeypatch.undo()

    def no_space(**_: object) -> Iterator[object]:
        raise OSError(errno.ENOSPC, "No space left on device")
        yield

    monkeypatch.setattr(pyoxigraph, "parse", no_space)
    with pytest.raises(StoreError, match=r"could not be loaded into the query store .*No space left on device"):
        load_store(dist / "plan-kg.nq", tmp_path / "other-store")


def test_a_servers_store_waits_for_a_build_swapping_dist_in_and_keeps_one_builds_files(tmp_path: Path) -> None:
    """The dump is looked at, loaded and its folder's files kept under the lock a build swaps its folder in under:
    taken between the build's two renames, the files would be of no build, or of another than the store's."""
    from plan_kg.locks import exclusive

    dist = sample_settings(tmp_path).dist_dir
    (dist / "void.ttl").write_text("# the first build\n", encoding="utf-8")
    newer = f"<urn:x:a> <urn:x:b> <urn:x:c> <{PLAN_GRAPH}> .\n"
    loaded: dict[str, object] = {}
    loader = threading.Thread(target=lambda: loaded.update(
        store=load_store(dist / "plan-kg.nq", tmp_path / "store", with_files=True)))
    with exclusive(dist.parent):  # as `build._swap_in` holds it
        loader.start()
        loader.join(0.5)
        assert loader.is_alive()  # waiting for the swap
        dist.rename(tmp_path / ".dist-old")  # the swap's two renames
        write_dump(dist, newer)
        (dist / "void.ttl").write_text("# the second build\n", encoding="utf-8")
    loader.join(30)
    store = loaded["store"]
    assert isinstance(store, LoadedStore) and store.files is not None
    assert (store.files / "void.ttl").read_text(encoding="utf-8") == "# the second build\n"
    assert (store.files / "plan-kg.nq").read_text(encoding="utf-8") == newer and store.graphs == (PLAN_GRAPH,)


def test_run_answers_one_query_from_the_command_line(tmp_path: Path) -> None:
    service = QueryService.for_settings(sample_settings(tmp_path))
    assert service.store.path.is_relative_to(tmp_path / ".cache" / "store")
    result = service.run(QueryRequest("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", format="json"))
    assert result.media_type == "application/sparql-results+json"
    assert json.loads(result.body)["results"]["bindings"][0]["n"]["value"] == "6"
    csv = service.run(QueryRequest("SELECT ?g { GRAPH ?g { } }", format="csv", named_graphs=[ONTOLOGY_GRAPH],
                                   default_graphs=[]))
    assert csv.body.decode().split() == ["g", ONTOLOGY_GRAPH]
    with pytest.raises(QueryRejected) as rejected:
        service.run(QueryRequest("SELECT * {"))
    assert rejected.value.status == 400


#: 150 items with a Japanese label, an English one, a number and a blank node each, in two graphs.
ITEMS_NQUADS = "".join(
    f"<urn:x:item/{i}> <http://www.w3.org/2004/02/skos/core#prefLabel> \"施策{i}\"@ja <{PLAN_GRAPH}> .\n"
    f"<urn:x:item/{i}> <http://www.w3.org/2004/02/skos/core#prefLabel> \"Policy \\\"{i}\\\"\\n, tab\\t\"@en <{PLAN_GRAPH}> .\n"
    f"<urn:x:item/{i}> <urn:x:rank> \"{i}\"^^<http://www.w3.org/2001/XMLSchema#integer> <{ONTOLOGY_GRAPH}> .\n"
    f"<urn:x:item/{i}> <urn:x:note> _:n{i} <{PLAN_GRAPH}> .\n"
    for i in range(150)
)

LOOKUPS = [
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?label WHERE { <urn:x:item/7> skos:prefLabel ?label }",
    "SELECT * { <urn:x:item/7> ?p ?o }\n# which: another text, the same rows",
    "SELECT ?s { ?s <urn:x:rank> 42 }",
    "SELECT ?s { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> \"施策3\"@ja . }",
    "ASK { ?s <urn:x:rank> 149 }",
    "ASK { ?s <urn:x:rank> 150 }",
]


def items_services(tmp: Path, **limits: int) -> tuple[QueryService, QueryService, QueryService]:
    """Three services over the items store: lookups in process (bound 100), then every query in a worker,
    the workers reading the on-disk store (the engine and index of the in-process path) or a copy in memory."""
    settings = replace(sample_settings(tmp), in_process_rows=100, worker_memory_store_quads=0, **limits)
    write_dump(tmp / "dist", ITEMS_NQUADS)  # instead of the sample
    in_process = QueryService.for_settings(settings)  # past the bound, its workers read the disk too
    on_disk = QueryService(replace(settings, in_process_rows=0), in_process.store)
    in_memory = QueryService(replace(settings, in_process_rows=0, worker_memory_store_quads=10**6), in_process.store)
    assert not on_disk.workers_in_memory and in_memory.workers_in_memory
    return in_process, on_disk, in_memory


def unordered(answer: tuple[str, bytes] | tuple[int, str]) -> object:
    """An answer with its rows as a sorted list: a store in memory lists the rows of a pattern in another order."""
    kind, body = answer
    if isinstance(kind, int) or not isinstance(body, bytes):
        return answer  # a refusal
    if kind.startswith("text/csv"):  # lossy, so pyoxigraph does not read it back
        header, *rows = csv.reader(io.StringIO(body.decode(), newline=""))
        return kind, header, sorted(rows)
    results = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(kind))
    if isinstance(results, ox.QueryBoolean):
        return kind, bool(results)
    return kind, [str(v) for v in results.variables], sorted(tuple(str(t) for t in row) for row in results)


def test_a_one_pattern_lookup_is_answered_in_process_with_the_workers_bytes(tmp_path: Path) -> None:
    """The same bytes as a worker's on the on-disk store, for every result format (and the same rows as
    from a copy in memory); over the bound, a worker answers."""
    in_process, in_workers, in_memory = items_services(tmp_path)

    async def answers(service: QueryService, requests: list[QueryRequest]) -> list[tuple[str, bytes]]:
        async with service:
            return [(r.media_type, r.body) for r in [await service.execute(q) for q in requests]]

    requests = [QueryRequest(q, format=f) for q in LOOKUPS for f in ("json", "xml", "csv", "tsv")]
    mine = asyncio.run(answers(in_process, requests))
    assert mine == asyncio.run(answers(in_workers, requests))
    assert [unordered(a) for a in mine] == [unordered(a) for a in asyncio.run(answers(in_memory, requests))]
    assert in_process.in_process_answers == len(requests) and in_workers.in_process_answers == 0
    assert any(b"\\n, tab\\t" in body for _, body in mine)  # escapes went through the same writer

    # 300 labels: over the bound of 100, so a worker gives all of them.
    everything = QueryRequest("SELECT ?s ?l { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }", format="tsv")
    before = in_process.in_process_answers
    (_, body), = asyncio.run(answers(in_process, [everything]))
    assert len(body.splitlines()) == 1 + 300
    assert in_process.in_process_answers == before
    # A protocol dataset, and anything but one pattern, go to a worker too.
    others = [QueryRequest(LOOKUPS[0], format="json", named_graphs=[PLAN_GRAPH], default_graphs=[PLAN_GRAPH]),
              QueryRequest("SELECT DISTINCT ?p { ?s ?p ?o }", format="json")]
    asyncio.run(answers(in_process, others))
    assert in_process.in_process_answers == before


def test_a_json_lookup_is_read_from_the_index_without_the_engine(tmp_path: Path, monkeypatch) -> None:
    """SPARQL JSON, the answer most clients ask for, is written from the index without pyoxigraph's
    parser and writer (`lookup.json_answer`); the other formats still go through them, and every
    answer is a worker's, byte for byte."""
    in_process, in_workers, _ = items_services(tmp_path)
    engine_runs = jobs_run_here(monkeypatch)

    async def answers(service: QueryService, requests: list[QueryRequest]) -> list[bytes]:
        async with service:
            return [(await service.execute(q)).body for q in requests]

    requests = [QueryRequest(q, format=f) for q in LOOKUPS for f in ("json", "xml")]
    mine = asyncio.run(answers(in_process, requests))
    assert [job.results_format for job in engine_runs] == ["xml"] * len(LOOKUPS)  # only the XML ones took the engine
    assert in_process.in_process_answers == len(requests)
    engine_runs.clear()
    assert mine == asyncio.run(answers(in_workers, requests))
    assert engine_runs == []  # all in the workers


def test_a_lookup_read_from_the_servers_copy_in_memory_is_the_in_memory_workers_answer(tmp_path: Path) -> None:
    """When the workers answer from a copy in memory, the server process reads lookups from a copy of its
    own (`lookup.MemoryCopy`), made the same way: the same bytes as those workers', for every format,
    whenever an IRI of the pattern has a short list there; otherwise from disk, with the same rows."""
    in_process, on_disk, in_memory = items_services(tmp_path)
    mine = QueryService(replace(in_process.settings, worker_memory_store_quads=10**6), in_process.store)
    requests = [QueryRequest(q, format=f) for q in [*LOOKUPS, "ASK { ?s ?p 'none' }", "SELECT * { ?s ?p 42 }"]
                for f in ("json", "xml", "csv", "tsv")]

    async def answers(service: QueryService) -> tuple[list[tuple[str, bytes]], list[bool]]:
        async with service:
            covered = [service.memory is not None and service.memory.covers(read_lookup(r.query)) for r in requests]
            return [(r.media_type, r.body) for r in [await service.execute(q) for q in requests]], covered

    (copied, covered), (workers, _) = asyncio.run(answers(mine)), asyncio.run(answers(in_memory))
    assert mine.in_process_answers == len(requests) and mine.memory is None  # closed: let go
    assert 0 < sum(covered) < len(requests)  # both ways were taken
    for request, read_from_copy, answer, expected in zip(requests, covered, copied, workers, strict=True):
        assert (answer == expected) if read_from_copy else (unordered(answer) == unordered(expected)), request
    assert asyncio.run(answers(in_process))[1] == [False] * len(requests)  # workers on disk: no copy here either


def test_the_row_limit_holds_for_a_lookup_past_it(tmp_path: Path) -> None:
    """With a row limit under the bound, a lookup past it is refused with the limit, as every query is."""
    service, _, _ = items_services(tmp_path, max_result_rows=50)
    with pytest.raises(QueryRejected) as rejected:
        service.run(QueryRequest("SELECT * { ?s <urn:x:rank> ?rank }", format="json"))
    assert rejected.value.status == 400
    assert "more than 50 rows" in rejected.value.message
    assert len(service.run(QueryRequest("SELECT * { <urn:x:item/1> ?p ?o }", format="tsv")).body.splitlines()) == 5


@pytest.fixture(scope="module")
def three_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Callable, QueryService, QueryService, QueryService]]:
    """The same store served three times (see `items_services`); `ask(service, request)`."""
    services = items_services(tmp_path_factory.mktemp("lookups"), max_result_rows=200)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coroutine: Awaitable[object]) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=120)  # type: ignore[arg-type]

    def ask(service: QueryService, request: QueryRequest) -> tuple[str, bytes] | tuple[int, str]:
        try:
            result = call(service.execute(request))
        except QueryRejected as exc:
            return exc.status, exc.message
        return result.media_type, result.body  # type: ignore[attr-defined]

    for service in services:
        call(service.start())
    yield ask, *services
    for service in services:
        call(service.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


_SUBJECTS = st.one_of(st.sampled_from(["?s", "$s", "<urn:x:item/7>", "<urn:x:item/149>", "x:item/3", "<urn:x:none>"]),
                      st.integers(0, 160).map(lambda i: f"<urn:x:item/{i}>"))
_PREDICATES = st.sampled_from(["?p", "a", "skos:prefLabel", "<urn:x:rank>", "<urn:x:note>", "x:rank", "<urn:x:none>"])
_OBJECTS = st.one_of(
    st.sampled_from(["?o", "?s", "$o", "\"施策3\"@ja", "'施策3'", "42", "true", "<urn:x:item/1>",
                     "\"42\"^^<http://www.w3.org/2001/XMLSchema#integer>"]),
    st.integers(-1, 200).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'),
)


@examples(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(["SELECT *", "SELECT ?s ?o", "ASK", "SELECT ?o WHERE"]), subject=_SUBJECTS,
       predicate=_PREDICATES, obj=_OBJECTS, fmt=st.sampled_from(["json", "xml", "csv", "tsv", "turtle"]))
def test_any_lookup_gets_what_a_worker_would_give(three_services, form, subject, predicate, obj, fmt) -> None:
    """Random lookups: the answer (or refusal) of the in-process path is byte for byte the on-disk workers',
    and has the rows of the in-memory workers'."""
    ask, in_process, in_workers, in_memory = three_services
    query = (f"PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX x: <urn:x:> "
             f"{form} {{ {subject} {predicate} {obj} }}")
    request = QueryRequest(query, format=fmt)
    mine = ask(in_process, request)
    assert mine == ask(in_workers, request)
    assert unordered(mine) == unordered(ask(in_memory, request))
    assert in_workers.in_process_answers == in_memory.in_process_answers == 0


def test_the_random_lookups_do_take_the_in_process_path(three_services) -> None:
    ask, in_process, _, _ = three_services
    before = in_process.in_process_answers
    assert ask(in_process, QueryRequest("SELECT * { ?s <urn:x:rank> 3 }", format="json"))[0].startswith("application/")
    assert in_process.in_process_answers == before + 1
