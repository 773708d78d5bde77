"""Query workers that answer from an in-memory copy of the store (setting `worker_memory_store_quads`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.named_queries import load_named_queries
from plan_kg.server import load_store
from plan_kg.server.pool import WorkerPool
from plan_kg.server.service import QueryService
from plan_kg.server.store import LoadedStore
from plan_kg.server.jobs import QueryJob, QueryRejected, QueryResult
from plan_kg.server.worker import run_job
from server_fixtures import MEMORY_HOG_QUERY, doubling_query, write_dump

#: Blank nodes that are both in a named graph and, the same node, in the default graph's union.
SHARED_BLANK_NODES = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } ?s ?p ?o FILTER isBlank(?s) }"


@pytest.fixture(scope="module")
def bundled(built: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> LoadedStore:
    return load_store(built.out_dir / "plan-kg.nq", tmp_path_factory.mktemp("store"))


def _answers(store: LoadedStore, jobs: list[QueryJob], *, in_memory: bool) -> tuple[list[QueryResult], list[str]]:
    """What a one-worker pool answers to `jobs`, and the store files its worker holds open."""

    async def scenario() -> tuple[list[QueryResult], list[str]]:
        pool = WorkerPool(store.path, size=1, max_rows=100_000, timeout_s=60, memory_bytes=2_000_000_000,
                          in_memory=in_memory)  # fmt: skip
        await pool.start()
        try:
            answers = [await pool.run(job) for job in jobs]
            (worker,) = pool._idle
            return answers, _open_files_under(worker.process.pid, store.path)
        finally:
            await pool.close()

    return asyncio.run(scenario())


def _open_files_under(pid: int, directory: Path) -> list[str]:
    fd_dir = Path(f"/proc/{pid}/fd")
    targets = (os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir))
    return sorted(t for t in targets if t.startswith(str(directory.resolve())))


def test_every_named_query_gives_the_same_bytes_from_memory_as_from_disk(bundled: LoadedStore) -> None:
    """21 named queries x 4 formats on the bundled build, and the blank nodes shared by two graphs."""
    formats = [("json", "turtle"), ("xml", "ntriples"), ("csv", "jsonld"), ("tsv", "rdfxml")]
    jobs = [QueryJob(query.text, base_iri="https://w3id.org/plan-kg/sparql", results_format=results, graph_format=graph)
            for query in load_named_queries(Settings.load()) for results, graph in formats]  # fmt: skip
    jobs.append(QueryJob(SHARED_BLANK_NODES, results_format="csv"))
    from_disk, disk_files = _answers(bundled, jobs, in_memory=False)
    from_memory, memory_files = _answers(bundled, jobs, in_memory=True)
    assert len(jobs) >= 4 * 21 + 1
    for job, disk, memory in zip(jobs, from_disk, from_memory, strict=True):
        assert (memory.media_type, memory.body) == (disk.media_type, disk.body), job.query[:200]
    shared = int(from_disk[-1].body.decode().split()[-1])
    assert shared > 0  # the copy kept each blank node one node, in its graph and in the union
    assert any(name.endswith(".sst") for name in disk_files)  # on disk: RocksDB's table files are open
    assert memory_files == []  # in memory: the worker let go of the on-disk store


def test_the_service_copies_the_store_up_to_the_configured_size(tmp_path: Path) -> None:
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")
    assert store.quads > 0
    assert load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store").quads == store.quads  # kept with the store
    for limit, expected in [(store.quads, True), (store.quads - 1, False), (0, False), (1_000_000, True)]:
        service = QueryService(Settings(root=tmp_path, worker_memory_store_quads=limit), store)
        assert service.workers_in_memory is expected, limit


def test_the_memory_limit_counts_from_the_copied_store(bundled: LoadedStore) -> None:
    """With a 30 MB limit a query may still use 10 MB on top of the copied store, not a terabyte."""
    quads = QueryJob("SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }", results_format="csv")
    ten_mb = QueryJob(doubling_query(12), results_format="csv")  # 4 MB at the end, 8 MB in all
    huge = QueryJob(MEMORY_HOG_QUERY, results_format="csv")

    async def scenario() -> tuple[list[QueryResult], QueryRejected]:
        pool = WorkerPool(bundled.path, size=1, max_rows=10, timeout_s=60, memory_bytes=30_000_000, in_memory=True)
        await pool.start()
        try:
            answers = [await pool.run(quads), await pool.run(ten_mb)]
            with pytest.raises(QueryRejected) as stopped:
                await pool.run(huge)
            return answers, stopped.value
        finally:
            await pool.close()

    (counted, ten_mb_long), stopped = asyncio.run(scenario())
    assert counted.body.decode().split()[-1] == str(bundled.quads)
    assert ten_mb_long.body.decode().split()[-1] == str(1000 * 2**12)
    assert stopped.status == 503 and "30 MB, this endpoint's memory limit" in stopped.message


def test_a_large_answer_comes_through_the_pool_whole(bundled: LoadedStore) -> None:
    """Megabytes arrive in many socket reads: the pool's framing puts them back together."""
    jobs = [QueryJob("SELECT * { ?s ?p ?o }", results_format=f) for f in ("json", "xml")]
    (json_answer, xml_answer), _ = _answers(bundled, jobs, in_memory=False)
    for job, answer in zip(jobs, (json_answer, xml_answer), strict=True):
        assert len(answer.body) > 2_000_000
        assert answer == run_job(bundled.reader, job, max_rows=10_000_000)
