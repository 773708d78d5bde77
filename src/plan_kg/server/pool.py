"""A pool of query worker processes that can stop a runaway query by killing its worker.

Each worker opens the store read-only. A request waits for an idle worker, sends it a
`QueryJob` over a pipe and awaits the answer on the event loop (no thread per request).
When the time budget runs out the worker is killed, a fresh one is started in the
background, and the caller gets a 503; never a partial answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from .worker import QueryJob, QueryRejected, QueryResult, worker_main

# Spawned, not forked: the parent holds RocksDB and event-loop threads a fork would copy half-way.
_CONTEXT = multiprocessing.get_context("spawn")
_START_TIMEOUT_S = 120.0


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class WorkerPool:
    """`size` worker processes answering `QueryJob`s within `timeout_s` each."""

    def __init__(self, store_path: Path, *, size: int, max_rows: int, timeout_s: float) -> None:
        self._store_path = str(store_path)
        self._size = max(1, size)
        self._max_rows = max_rows
        self._timeout_s = timeout_s
        self._idle: deque[_Worker] = deque()
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._busy: set[_Worker] = set()
        self._replacing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Start every worker and wait until each has opened the store."""
        workers = await asyncio.gather(*(self._spawn() for _ in range(self._size)))
        self._idle.extend(workers)

    async def close(self) -> None:
        """Stop every worker; queries still waiting get a 503."""
        self._closed = True
        for task in list(self._replacing):
            task.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        for worker in [*self._idle, *self._busy]:
            worker.stop()
        self._idle.clear()
        self._busy.clear()

    async def run(self, job: QueryJob) -> QueryResult:
        """The serialised answer to `job`; QueryRejected (503) when it does not finish in time."""
        deadline = time.monotonic() + self._timeout_s
        worker = await self._acquire(deadline)
        try:
            worker.conn.send(job)
            message = await _receive(worker.conn, deadline - time.monotonic())
        except TimeoutError:
            self._discard(worker)
            raise QueryRejected(
                503, f"the query was stopped after {self._timeout_s:g} s, this endpoint's time limit"
            ) from None
        except (EOFError, OSError):
            # The worker died (out of memory, a crash): answer, and start a fresh one.
            self._discard(worker)
            raise QueryRejected(503, "the query worker stopped unexpectedly; try again") from None
        except asyncio.CancelledError:
            # Nobody waits for this answer any more; the worker may still be busy with it.
            self._discard(worker)
            raise
        self._release(worker)
        if message[0] == "ok":
            return message[1]
        raise QueryRejected(message[1], message[2])

    async def _acquire(self, deadline: float) -> _Worker:
        if self._closed:
            raise QueryRejected(503, "the endpoint is shutting down")
        if self._idle:
            worker = self._idle.popleft()
        else:
            waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                worker = await asyncio.wait_for(asyncio.shield(waiter), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                if waiter.done() and not waiter.cancelled():
                    self._release(waiter.result())  # handed over just as we gave up
                else:
                    waiter.cancel()
                raise QueryRejected(
                    503, f"every query worker stayed busy for {self._timeout_s:g} s; try again later"
                ) from None
        self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        worker.stop()
        if not self._closed:
            task = asyncio.get_running_loop().create_task(self._replace())
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        worker = await self._spawn()
        if self._closed:
            worker.stop()
        else:
            self._release(worker)

    async def _spawn(self) -> _Worker:
        parent_end, child_end = _CONTEXT.Pipe(duplex=True)
        process = _CONTEXT.Process(
            target=worker_main,
            args=(child_end, self._store_path, self._max_rows),
            name="plan-kg-query-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        try:
            ready = await _receive(parent_end, _START_TIMEOUT_S)
        except (TimeoutError, EOFError, OSError):
            worker.stop()
            raise
        if ready != ("ready",):
            worker.stop()
            raise RuntimeError(f"query worker sent {ready!r} instead of ready")
        return worker


async def _receive(conn: Connection, timeout_s: float) -> tuple:
    """The next message on `conn`, awaited on the event loop; TimeoutError after `timeout_s`."""
    if not conn.poll():
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await asyncio.wait_for(readable, max(0.0, timeout_s))
        finally:
            loop.remove_reader(fd)
    return conn.recv()
