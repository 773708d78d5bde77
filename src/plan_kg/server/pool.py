"""A pool of query worker processes that can stop a runaway query by killing its worker.

Each worker opens the store read-only (and may answer from an in-memory copy of it). A request
waits for an idle worker and sends it a `QueryJob` over a socket pair (`worker_link.py`: the
answer settles the request from event-loop callbacks). When the time budget runs out (a timer on
the loop) the worker is killed, a fresh one is started in the background, and the caller gets a
503; never a partial answer. A caller that goes away does not
stop the exchange: its worker is still freed when it answers, or killed at the deadline.

No client may hold every worker: one client's queries run on at most `per_client` workers at a
time (default: all but one), and its further queries wait for one of its own to finish. So a
client sending runaway queries delays its own queries, never everybody else's. Clients at several
addresses can still hold every worker together; with `preempt_after_s`, a query that has waited that
long for a worker stops the longest-running query of the client holding the most workers (more than
the waiting client holds), if it has run that long too: its caller gets a 503 that says why, and the
waiting query gets the replacement. A freed worker goes to the waiting client that holds the fewest.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from collections import Counter, deque
from multiprocessing.connection import Connection
from pathlib import Path

from ..config import workers_per_client
from ..errors import PlanKgError
from .jobs import QueryJob, QueryRejected, QueryResult
from .worker import memory_message, worker_main
from .worker_link import PREEMPTED, TIMED_OUT, Outcome, WorkerLink

logger = logging.getLogger(__name__)

# Spawned, not forked: the parent holds RocksDB and event-loop threads a fork would copy half-way.
_CONTEXT = multiprocessing.get_context("spawn")
_START_TIMEOUT_S = 120.0
#: The Retry-After of a query refused because the workers were busy (not of one stopped at the time limit,
#: which would be stopped again): about a worker's start on a small machine.
RETRY_AFTER_S = 5


#: What a query stopped at the time limit may do instead (sent again as it is, it would be stopped again).
TIME_LIMIT_ADVICE = ("ask for less (a LIMIT, a more selective pattern, fewer OPTIONALs), or load the data "
                     "(the downloads, /downloads/plan-kg.nq) into a store of your own for longer queries")


class WorkerPool:
    """`size` worker processes answering `QueryJob`s within `timeout_s` each.

    With `in_memory` each worker answers from its own in-memory copy of the store (see `worker_main`).
    A client (as named to `run`) holds at most `per_client` workers at once; default: all but one.
    """

    def __init__(self, store_path: Path, *, size: int, max_rows: int, timeout_s: float, memory_bytes: int = 0,
                 in_memory: bool = False, per_client: int = 0, max_bytes: int = 0, preempt_after_s: float = 0.0) -> None:
        self._store_path = str(store_path)
        self._memory_bytes = memory_bytes
        self._in_memory = in_memory
        self._size = max(1, size)
        self.per_client = workers_per_client(self._size, per_client)
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._preempt_after_s = preempt_after_s  # 0: never
        self.preempted = 0
        self._preempted_for: dict[WorkerLink, tuple[str | None, asyncio.Future[WorkerLink]]] = {}  # its replacement's taker
        self._stopped: dict[str, float] = {}  # client -> when a query of its was last stopped (loop time)
        self._idle: deque[WorkerLink] = deque()
        self._waiters: deque[tuple[str | None, asyncio.Future[WorkerLink]]] = deque()
        self._busy: dict[WorkerLink, str | None] = {}  # worker -> the client it works for
        self._held: Counter[str] = Counter()  # client -> workers it holds
        self._replacing: set[asyncio.Task[None]] = set()
        self._start_failed = False  # a replacement did not start (the log says why)
        self._closed = False

    async def start(self) -> None:
        """Start every worker and wait until each has opened the store."""
        started = await asyncio.gather(*(self._spawn() for _ in range(self._size)), return_exceptions=True)
        workers = [w for w in started if isinstance(w, WorkerLink)]
        if failed := [e for e in started if isinstance(e, BaseException)]:
            for worker in workers:  # none is left running when the pool does not start
                worker.stop()
            raise failed[0]
        self._idle.extend(workers)

    async def close(self) -> None:
        """Stop every worker; queries still waiting for one are cancelled."""
        self._closed = True
        for task in list(self._replacing):
            task.cancel()
        # Wait for them: a worker still starting is stopped before the caller removes its store.
        await asyncio.gather(*self._replacing, return_exceptions=True)
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        for worker in [*self._idle, *self._busy]:
            worker.stop()
        self._idle.clear()
        self._busy.clear()
        self._held.clear()

    async def run(self, job: QueryJob, *, client: str | None = None) -> QueryResult:
        """The serialised answer to `job`; QueryRejected (503) when it does not finish in time.

        `client` (an address) is held to `per_client` workers at once; None: no such limit.
        """
        deadline = time.monotonic() + self._timeout_s
        worker = await self._acquire(deadline, client)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[QueryResult] = loop.create_future()
        try:
            worker.ask(job, loop.time() + max(0.0, deadline - time.monotonic()),
                       lambda outcome: self._settle(worker, outcome, answer))
        except BaseException:
            self._release(worker)  # nothing was sent (a job that cannot be pickled)
            raise
        # If the caller goes away, only `answer` is cancelled: the exchange still ends cleanly and
        # frees the worker (or kills it at the deadline) instead of killing a worker per dropped connection.
        return await answer

    def _settle(self, worker: WorkerLink, outcome: Outcome, answer: asyncio.Future[QueryResult]) -> None:
        """End an exchange: free, or stop and replace, the worker; answer the caller if it still waits."""
        result: QueryResult | None = None
        error: QueryRejected | None = None
        taker = self._preempted_for.pop(worker, None)  # also when the query ended just before it was stopped
        if outcome is TIMED_OUT or outcome is PREEMPTED or outcome is None:
            self._note_stopped(self._busy.get(worker))
        if outcome is TIMED_OUT:
            self._discard(worker)
            error = QueryRejected(503, f"the query was stopped after {self._timeout_s:g} s, this endpoint's time limit; "
                                       f"{TIME_LIMIT_ADVICE}", setting="query_timeout_s")
        elif outcome is PREEMPTED:
            ran = asyncio.get_running_loop().time() - worker.asked_at
            self._discard(worker, taker)
            error = QueryRejected(503, f"the query was stopped after {ran:.1f} s to let another client's query run: "
                                       "every query worker was busy, and this client held the most; try again later",
                                  retry_after_s=RETRY_AFTER_S)
        elif outcome is None:  # the worker died (out of memory, a crash), or the pool is closing
            self._discard(worker)
            if self._closed:
                error = QueryRejected(503, "the endpoint is shutting down")
            elif self._memory_bytes and worker.process.exitcode == -signal.SIGABRT:  # Rust: allocation failed
                error = QueryRejected(503, memory_message(self._memory_bytes), setting="query_memory_bytes")
            else:
                error = QueryRejected(503, "the query worker stopped unexpectedly while running this query; if it "
                                           "stops again on the same query, the query is one this endpoint cannot run")
        else:
            if outcome[0] == "failed":  # answered, but the worker must not serve again
                self._discard(worker)
            else:
                self._release(worker)
            if outcome[0] == "ok":
                result = outcome[1]
            else:
                error = QueryRejected(outcome[1], outcome[2], setting=outcome[3])
        if answer.done():  # the caller went away
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result)  # type: ignore[arg-type]

    def _may_take(self, client: str | None) -> bool:
        return client is None or self._held[client] < self.per_client

    async def _acquire(self, deadline: float, client: str | None) -> WorkerLink:
        if self._closed:
            raise QueryRejected(503, "the endpoint is shutting down")
        if self._none_left():
            raise self._none_left_refusal()
        if self._idle and self._may_take(client):
            # The worker released last: its caches (the CPU's, and RocksDB's on disk) are the warmest.
            worker = self._idle.pop()
            self._hold(worker, client)
            return worker
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[WorkerLink] = loop.create_future()
        self._waiters.append((client, waiter))
        if self._preempt_after_s > 0:
            self._check_later(client, waiter)
        try:
            # `_dispatch` hands a worker over already held for `client`.
            return await asyncio.wait_for(asyncio.shield(waiter), max(0.0, deadline - time.monotonic()))
        except BaseException as exc:  # the time ran out, or the client went away
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed over just as we gave up
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise self._busy_refusal(client) from None
            raise

    def _check_later(self, client: str | None, waiter: asyncio.Future[WorkerLink]) -> None:
        """In `preempt_after_s`, preempt for `waiter` if it still waits (and check again after that)."""
        timer = asyncio.get_running_loop().call_later(self._preempt_after_s, self._preempt_for, client, waiter)
        waiter.add_done_callback(lambda _: timer.cancel())

    def _preempt_for(self, client: str | None, waiter: asyncio.Future[WorkerLink]) -> None:
        """Stop a query for `waiter` (see the module's doc), unless a worker is on its way."""
        if waiter.done() or self._closed:
            return
        self._check_later(client, waiter)
        if self._idle or self._replacing or not self._may_take(client):
            return  # a worker is coming (a replacement goes to the client holding the fewest), or it waits for its own
        now = asyncio.get_running_loop().time()
        if client is not None and now - self._stopped.get(client, -self._timeout_s) < self._timeout_s:
            return  # a client whose query was stopped lately stops nobody's: runaways would stop each other
        mine = self._held_by(client)
        candidates = [(self._held[owner], now - worker.asked_at, worker) for worker, owner in self._busy.items()
                      if owner is not None and owner != client and self._held[owner] > mine
                      and worker.answering and now - worker.asked_at >= self._preempt_after_s]
        if candidates:
            self.preempted += 1
            victim = max(candidates, key=lambda candidate: candidate[:2])[2]
            self._preempted_for[victim] = (client, waiter)
            victim.preempt()

    def _note_stopped(self, client: str | None) -> None:
        if client is None:
            return
        now = asyncio.get_running_loop().time()
        if len(self._stopped) >= 10_000:  # bounded: forget clients stopped longer ago than the time limit
            self._stopped = {c: at for c, at in self._stopped.items() if now - at < self._timeout_s}
        self._stopped[client] = now

    def _busy_refusal(self, client: str | None) -> QueryRejected:
        """Why a query waited the whole time limit for a worker: 429 when its client held all it may hold
        (RFC 6585: its own queries were in the way), else 503 (everybody's were); both say when to retry."""
        if client is not None and self.per_client < self._size and self._held_by(client) >= self.per_client:
            return QueryRejected(429, f"this client's queries held every query worker it may use for {self._timeout_s:g} s "
                                      f"(one client's queries run on at most {self.per_client} of the {self._size} "
                                      "workers at once); wait for one to finish", retry_after_s=RETRY_AFTER_S)
        return QueryRejected(503, f"every query worker stayed busy for {self._timeout_s:g} s; try again later",
                             retry_after_s=RETRY_AFTER_S)

    def _none_left(self) -> bool:
        """Whether no worker is left, nor one starting (those that replaced stopped ones failed to start)."""
        return self._start_failed and not (self._idle or self._busy or self._replacing)

    def _refuse_waiters_if_none_left(self) -> None:
        """Refuse the queries waiting for a worker once none is left: nobody would hand them one."""
        if self._none_left():
            for _, waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(self._none_left_refusal())
            self._waiters.clear()

    def _none_left_refusal(self) -> QueryRejected:
        return QueryRejected(503, "no query worker is running: they stopped and could not be started again; the "
                                  "endpoint's operator has to restart it (its log says why)")

    def _held_by(self, client: str | None) -> int:
        return self._held[client] if client is not None else 0

    def _hold(self, worker: WorkerLink, client: str | None) -> None:
        self._busy[worker] = client
        if client is not None:
            self._held[client] += 1

    def _unhold(self, client: str | None) -> None:
        if client is not None and client in self._held:
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]

    def _release(self, worker: WorkerLink) -> None:
        self._unhold(self._busy.pop(worker, None))
        self._idle.append(worker)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand idle workers to waiting callers under their share: of the clients that hold the fewest
        workers, first come first served."""
        while self._idle and self._waiters:
            found = None
            for entry in self._waiters:
                client, waiter = entry
                if not waiter.done() and self._may_take(client) and (
                        found is None or self._held_by(client) < self._held_by(found[0])):
                    found = entry
            self._waiters = deque(entry for entry in self._waiters if entry is not found and not entry[1].done())
            if found is None:
                return
            worker = self._idle.pop()
            self._hold(worker, found[0])
            found[1].set_result(worker)

    def _discard(self, worker: WorkerLink, taker: tuple[str | None, asyncio.Future[WorkerLink]] | None = None) -> None:
        """Stop `worker` and start another, for `taker` (a waiting caller) if given and still waiting."""
        client = self._busy.pop(worker, None)
        worker.stop()
        if self._closed:
            self._unhold(client)
            return
        # The client keeps the stopped worker's place in its share until the replacement is up:
        # else its next runaway would take a worker another client is using meanwhile.
        task = asyncio.get_running_loop().create_task(self._replace(client, taker))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)
        task.add_done_callback(_retrieve)  # a failed start only shrinks the pool (and is logged)
        task.add_done_callback(lambda _: self._refuse_waiters_if_none_left())

    async def _replace(self, client: str | None, taker: tuple[str | None, asyncio.Future[WorkerLink]] | None) -> None:
        try:
            worker = await self._spawn()
        except WorkerStartError as exc:
            # The pool is one worker smaller until the endpoint is restarted: said where the operator looks.
            self._start_failed = True
            logger.error("a query worker could not be started again (%d of %d left): %s",
                         len(self._idle) + len(self._busy), self._size, exc)
            raise
        finally:
            self._unhold(client)
            self._dispatch()  # if the start failed: the client may take another idle worker now
        if self._closed:
            worker.stop()
        elif taker is not None and not taker[1].done() and self._may_take(taker[0]):
            # The query it was stopped for: not the stopped client's next one, queued before it.
            self._hold(worker, taker[0])
            taker[1].set_result(worker)
        else:
            self._release(worker)

    async def _spawn(self) -> WorkerLink:
        parent_end, child_socket = socket.socketpair()
        child_end = Connection(child_socket.detach())
        process = _CONTEXT.Process(
            target=worker_main,
            args=(child_end, self._store_path, self._max_rows, self._memory_bytes, self._in_memory, self._max_bytes),
            name="plan-kg-query-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = WorkerLink(process)
        try:
            await asyncio.get_running_loop().create_unix_connection(lambda: worker, sock=parent_end)
            ready = await asyncio.wait_for(worker.ready, _START_TIMEOUT_S)
        except BaseException as exc:  # it did not start in time, died, or the pool is closing: stop it
            died = isinstance(exc, OSError)
            if died:
                await asyncio.to_thread(process.join, 2)  # for its exit code; it is exiting
            if not worker.connected:
                parent_end.close()  # else the transport owns it, and stop() closes it
            worker.stop()
            if died:
                raise WorkerStartError(self._start_failure(process.exitcode)) from None
            raise
        if ready != ("ready",):
            worker.stop()
            raise RuntimeError(f"query worker sent {ready!r} instead of ready")
        return worker

    def _start_failure(self, exitcode: int | None) -> str:
        what = f"a query worker stopped (exit code {exitcode}) before it had opened the store {self._store_path}"
        if self._in_memory:
            return (f"{what} and copied it into memory; if the machine is short of memory, lower "
                    "worker_memory_store_quads in plan-kg.toml (0 keeps the workers on the on-disk store)")
        return f"{what}; check that the directory exists and is readable (its error is printed above)"


class WorkerStartError(PlanKgError):
    """A query worker died while it opened the store: the pool cannot answer queries."""


def _retrieve(task: asyncio.Future[object]) -> None:
    """Mark the outcome of a background task as seen (a replacement worker that failed to start)."""
    if not task.cancelled():
        task.exception()
