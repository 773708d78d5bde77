"""plan_kg.server.pool: worker processes that a runaway query cannot outlive."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from pathlib import Path

import pytest

from plan_kg.server import QueryRejected, load_store
from plan_kg.server.pool import RETRY_AFTER_S, TIME_LIMIT_ADVICE, WorkerPool, WorkerStartError
from plan_kg.server.jobs import QueryJob
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
SHORTER_QUERY = "SELECT (COUNT(*) AS ?n) {" + " ".join(f"GRAPH ?g{i} {{ ?s{i} ?p{i} ?o{i} }}" for i in range(8)) + "}"


# The runaway's caller goes away 2 s into its 4 s: the next query then has 2 s after the runaway
# is stopped to get the replacement worker (which takes 0.3-1 s to start on a busy machine).
@pytest.mark.parametrize("query, timeout_s, running_s, same_worker",
                         [(SLOW_QUERY, 120.0, 0.5, True), (RUNAWAY_QUERY, 4.0, 2.0, False)])
def test_a_caller_that_goes_away_frees_its_worker_when_it_answers_or_at_the_deadline(
        tmp_path: Path, query: str, timeout_s: float, running_s: float, same_worker: bool) -> None:
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
            await asyncio.sleep(running_s)  # the worker is running it
            cancelled = caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
            answer = await pool.run(QueryJob("ASK { ?s ?p ?o }", results_format="csv"))
            (now,) = pool._idle
            return cancelled, answer.body.decode(), first.process.pid, now.process.pid, len(pool._busy)
        finally:
            await pool.close()

    cancelled, answer, first_pid, pid_now, busy = asyncio.run(scenario())
    assert cancelled  # the caller went away while its query ran
    assert answer.split() == ["_askResult", "true"]
    assert (pid_now == first_pid) is same_worker
    assert busy == 0
    assert _workers_alive() == []


def test_one_client_cannot_hold_every_worker(tmp_path: Path) -> None:
    """Two runaways from one client hold one of the two workers; another client is answered at
    once, and the runaway client's second query waits until its first one is stopped."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[dict, int, float, list[float], list[str]]:
        loop = asyncio.get_running_loop()
        pool = WorkerPool(store.path, size=2, max_rows=10, timeout_s=2.0, memory_bytes=0)
        await pool.start()
        ended: list[float] = []

        async def run_away() -> tuple[int, str, int | None] | str:
            try:
                await pool.run(QueryJob(RUNAWAY_QUERY, results_format="csv"), client="a")
                return "answered"
            except QueryRejected as exc:
                return exc.status, exc.message, exc.retry_after_s
            finally:
                ended.append(loop.time() - started)

        try:
            started = loop.time()
            runaways = [asyncio.create_task(run_away()) for _ in range(2)]
            await asyncio.sleep(0.3)  # the first runaway runs; the second waits for client a's share
            held, waiting = dict(pool._held), len(pool._waiters)
            await pool.run(QueryJob("ASK { ?s ?p ?o }", results_format="csv"), client="b")
            other_at = loop.time() - started
            outcomes = await asyncio.gather(*runaways)
            return held, waiting, other_at, ended, outcomes
        finally:
            await pool.close()

    held, waiting, other_at, ended, outcomes = asyncio.run(scenario())
    assert held == {"a": 1} and waiting == 1
    assert other_at < 1.5  # answered while client a's first runaway still ran (stopped at 2 s)
    assert min(ended) >= 1.9  # neither runaway got a 503 before the first one's deadline
    # The first was stopped by the time limit (a 503 without Retry-After: it would be stopped again); the
    # second either got the freed worker just before its own deadline or gave up waiting behind its own
    # query: a 429 (RFC 6585) that says when to try again.
    assert outcomes[0] == (503, f"the query was stopped after 2 s, this endpoint's time limit; {TIME_LIMIT_ADVICE}", None)
    assert outcomes[1] in (outcomes[0], (429, "this client's queries held every query worker it may use for 2 s (one "
                                              "client's queries run on at most 1 of the 2 workers at once); wait for "
                                              "one to finish", RETRY_AFTER_S))


def test_a_client_under_its_share_takes_a_free_worker_and_waits_only_behind_its_own_queries(tmp_path: Path) -> None:
    """With a share of two, one client uses both workers when nobody else asks; a freed worker goes
    to the first waiting caller whose client is under its share, skipping one that is not."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[list[str], list[str]]:
        pool = WorkerPool(store.path, size=3, max_rows=10, timeout_s=60.0, memory_bytes=0, per_client=2)
        await pool.start()
        finished: list[str] = []

        async def run(client: str, query: str, name: str) -> str:
            result = await pool.run(QueryJob(query, results_format="csv"), client=client)
            finished.append(name)
            return result.body.decode().split()[-1]

        try:
            slow = [asyncio.create_task(run("a", SLOW_QUERY, f"a-slow-{i}")) for i in range(2)]
            await asyncio.sleep(0.3)
            held = dict(pool._held)
            blocker = asyncio.create_task(run("c", SHORTER_QUERY, "c-slow"))  # takes the third worker
            await asyncio.sleep(0.3)
            queued = [asyncio.create_task(run("a", "ASK {}", "a-ask")),  # client a is at its share: waits
                      asyncio.create_task(run("b", "ASK {}", "b-ask"))]  # first for the next free worker
            answers = await asyncio.gather(*slow, blocker, *queued)
            return [str(held)] + answers, finished
        finally:
            await pool.close()

    answers, finished = asyncio.run(scenario())
    assert answers[0] == "{'a': 2}"
    assert answers[1:] == [str(6 ** 9), str(6 ** 9), str(6 ** 8), "true", "true"]
    # c's query ends first (a sixth of the work): its worker goes to b's ASK, though a's came first,
    # because client a still holds two; a's ASK runs once one of a's own queries has ended.
    assert finished[:2] == ["c-slow", "b-ask"], finished
    assert finished.index("a-ask") > min(finished.index("a-slow-0"), finished.index("a-slow-1")), finished


def test_a_query_waiting_for_a_worker_stops_the_longest_query_of_the_client_holding_the_most(tmp_path: Path) -> None:
    """Two clients (addresses) with a runaway each hold both workers, each within its share. A third
    client's query, after `preempt_after_s` of waiting, stops the runaway that has run longest (its
    caller gets a 503 that says why) and runs on the replacement, long before the time limit."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[list[str], float, str, int]:
        loop = asyncio.get_running_loop()
        pool = WorkerPool(store.path, size=2, max_rows=10, timeout_s=8.0, per_client=1, preempt_after_s=0.5)
        await pool.start()

        async def run_away(client: str) -> str:
            try:
                await pool.run(QueryJob(RUNAWAY_QUERY, results_format="csv"), client=client)
                return "answered"
            except QueryRejected as exc:
                return f"{exc.message} (retry after {exc.retry_after_s})"

        try:
            first = asyncio.create_task(run_away("a"))
            await asyncio.sleep(0.2)
            second = asyncio.create_task(run_away("b"))
            await asyncio.sleep(0.1)
            queued = asyncio.create_task(run_away("a"))  # a is at its share: it waits for its own worker
            await asyncio.sleep(0.5)  # both have run past preempt_after_s
            started = loop.time()
            answer = await pool.run(QueryJob("ASK { ?s ?p ?o }", results_format="csv"), client="c")
            waited = loop.time() - started
            preempted = pool.preempted
            await asyncio.gather(first, second, queued)
            return [first.result(), second.result()], waited, answer.body.decode().split()[-1], preempted
        finally:
            await pool.close()

    # One stop is enough: the replacement goes to c's query, not to a's next one, queued before it.
    (first, second), waited, answer, preempted = asyncio.run(scenario())
    assert answer == "true" and preempted == 1
    assert waited < 5.0, waited  # the preemption after 0.5 s and a worker's start, not the 8 s limit
    assert first.startswith("the query was stopped after ") and first.endswith(
        " s to let another client's query run: every query worker was busy, and this client held the most; "
        f"try again later (retry after {RETRY_AFTER_S})"), first  # a's ran longest: it may try again
    # b's ran on
    assert second == f"the query was stopped after 8 s, this endpoint's time limit; {TIME_LIMIT_ADVICE} (retry after None)"


def test_a_query_deep_without_brackets_does_not_kill_its_worker(tmp_path: Path) -> None:
    """pyoxigraph recurses over flat chains too; on a main thread's 8 MB stack the worker died (503) at
    9,342 `!` or 2,615 `MINUS {}`. Queries run on a thread with a deep stack: these are answered."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> list[str]:
        pool = WorkerPool(store.path, size=1, max_rows=10, timeout_s=60.0, memory_bytes=2_000_000_000)
        await pool.start()
        try:
            answers = []
            for query in ("ASK { FILTER(" + "!" * 50_000 + "!true) }", "ASK { " + "MINUS {} " * 5_000 + "}"):
                answers.append((await pool.run(QueryJob(query, results_format="csv"))).body.decode().split()[-1])
            return answers
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == ["false", "true"]


def test_a_pool_whose_worker_cannot_be_started_again_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A replacement that failed to start (its store gone: a prune under a running server did that) only shrank
    the pool, with nothing in the server's log; with no worker left, every query then waited the whole time limit
    for "every query worker stayed busy". The failure is logged, and a query finding no worker is told at once."""
    store = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")

    async def scenario() -> tuple[QueryRejected, QueryRejected]:
        pool = WorkerPool(store.path, size=1, max_rows=10, timeout_s=1.0, memory_bytes=0)
        await pool.start()
        try:
            pool._store_path = str(tmp_path / "gone")  # what its replacement will fail to open
            with pytest.raises(QueryRejected) as stopped:
                await pool.run(QueryJob(RUNAWAY_QUERY, results_format="json"))
            for _ in range(600):  # the replacement's start, and its failure: at most a minute
                if not pool._replacing:
                    break
                await asyncio.sleep(0.1)
            with pytest.raises(QueryRejected) as refused:
                await asyncio.wait_for(pool.run(QueryJob("ASK {}", results_format="json")), 0.5)  # not the time limit
            return stopped.value, refused.value
        finally:
            await pool.close()

    with caplog.at_level(logging.ERROR, logger="plan_kg.server.pool"):
        stopped, refused = asyncio.run(scenario())
    assert stopped.status == 503 and "1 s" in stopped.message
    assert refused.status == 503 and refused.message.startswith("no query worker is running"), refused.message
    logged = [record.getMessage() for record in caplog.records]
    assert any("could not be started again (0 of 1 left)" in line and str(tmp_path / "gone") in line for line in logged), logged
    assert _workers_alive() == []
