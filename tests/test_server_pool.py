"""plan_kg.server.pool: worker processes that a runaway query cannot outlive."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

from plan_kg.server import QueryRejected, load_store
from plan_kg.server.pool import WorkerPool, WorkerStartError
from plan_kg.server.worker import QueryJob
from server_fixtures import RUNAWAY_QUERY, write_dump


def _workers_alive() -> list[str]:
    return [p.name for p in multiprocessing.active_children() if p.name == "plan-kg-query-worker"]


def test_a_runaway_is_stopped_and_closing_stops_its_replacement_too(tmp_path: Path) -> None:
    """The killed worker's replacement may still be starting when the pool closes: it is stopped too."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[QueryRejected, list[str], str]:
        pool = WorkerPool(store.path, size=1, max_rows=10, timeout_s=1.0, memory_bytes=0)
        await pool.start()
        answer = await pool.run(QueryJob("ASK { ?s ?p ?o }", results_format="json"))
        with pytest.raises(QueryRejected) as stopped:
            await pool.run(QueryJob(RUNAWAY_QUERY, results_format="json"))
        starting = _workers_alive()  # the replacement, just started
        await pool.close()
        return stopped.value, starting, answer.body.decode()

    stopped, starting, answer = asyncio.run(scenario())
    assert answer == '{"head":{},"boolean":true}'
    assert stopped.status == 503 and "1 s" in stopped.message
    assert starting == ["plan-kg-query-worker"]
    assert _workers_alive() == []  # closing waited for the replacement and stopped it


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_worker_that_cannot_open_the_store_is_a_clear_error_and_leaves_nothing_running(tmp_path: Path,
                                                                                          in_memory: bool) -> None:
    missing = tmp_path / "no-store"
    pool = WorkerPool(missing, size=2, max_rows=10, timeout_s=5.0, memory_bytes=0, in_memory=in_memory)
    with pytest.raises(WorkerStartError) as failed:
        asyncio.run(pool.start())
    message = str(failed.value)
    assert f"before it had opened the store {missing}" in message and "exit code 1" in message
    assert ("worker_memory_store_quads" in message) is in_memory
    assert _workers_alive() == []


#: Counts 10 million rows on the sample store: a few seconds, then it finishes.
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) {" + " ".join(f"GRAPH ?g{i} {{ ?s{i} ?p{i} ?o{i} }}" for i in range(9)) + "}"


@pytest.mark.parametrize("query, timeout_s, same_worker", [(SLOW_QUERY, 120.0, True), (RUNAWAY_QUERY, 1.5, False)])
def test_a_caller_that_goes_away_frees_its_worker_when_it_answers_or_at_the_deadline(
        tmp_path: Path, query: str, timeout_s: float, same_worker: bool) -> None:
    """A client that disconnects must not kill a worker (a cheap way to make the pool start workers
    all day), nor leave it busy for ever: it serves the next query once it answers, or is
    replaced once the time limit stops the query."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[bool, str, int, int, int]:
        pool = WorkerPool(store.path, size=1, max_rows=10, timeout_s=timeout_s, memory_bytes=0)
        await pool.start()
        try:
            (first,) = pool._idle
            caller = asyncio.create_task(pool.run(QueryJob(query, results_format="csv")))
            await asyncio.sleep(0.5)  # the worker is running it
            cancelled = caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
            answer = await pool.run(QueryJob("ASK { ?s ?p ?o }", results_format="csv"))
            (now,) = pool._idle
            return cancelled, answer.body.decode(), first.process.pid, now.process.pid, len(pool._busy)
        finally:
            await pool.close()

    cancelled, answer, first_pid, pid_now, busy = asyncio.run(scenario())
    assert cancelled  # the caller went away while its query ran
    assert answer.split() == ["true"]
    assert (pid_now == first_pid) is same_worker
    assert busy == 0
    assert _workers_alive() == []
