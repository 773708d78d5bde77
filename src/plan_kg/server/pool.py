"""A pool of query worker processes that can stop a runaway query by killing its worker.

Each worker opens the store read-only (and may answer from an in-memory copy of it). A request waits for an idle worker, sends it a
`QueryJob` over a socket pair and awaits the answer as an asyncio stream (no thread per
request, and a large answer never blocks the event loop). The worker side is a plain
`multiprocessing.connection.Connection`; this side reads and writes the same framing.
When the time budget runs out the worker is killed, a fresh one is started in the
background, and the caller gets a 503; never a partial answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import signal
import socket
import struct
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from ..errors import PlanKgError
from .worker import QueryJob, QueryRejected, QueryResult, memory_message, worker_main

# Spawned, not forked: the parent holds RocksDB and event-loop threads a fork would copy half-way.
_CONTEXT = multiprocessing.get_context("spawn")
_START_TIMEOUT_S = 120.0


class _Worker:
    def __init__(self, process: BaseProcess, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer

    async def send(self, message: object) -> None:
        # Connection's framing: a signed 32-bit big-endian length (-1 and 64 bits if larger).
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        header = struct.pack("!i", len(payload)) if len(payload) <= 0x7FFFFFFF else struct.pack("!iQ", -1, len(payload))
        self.writer.write(header + payload)
        await self.writer.drain()

    async def receive(self) -> tuple:
        (size,) = struct.unpack("!i", await self.reader.readexactly(4))
        if size == -1:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return pickle.loads(await self.reader.readexactly(size))

    def stop(self) -> None:
        self.writer.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class WorkerPool:
    """`size` worker processes answering `QueryJob`s within `timeout_s` each.

    With `in_memory` each worker answers from its own in-memory copy of the store (see `worker_main`).
    """

    def __init__(self, store_path: Path, *, size: int, max_rows: int, timeout_s: float, memory_bytes: int = 0,
                 in_memory: bool = False) -> None:
        self._store_path = str(store_path)
        self._memory_bytes = memory_bytes
        self._in_memory = in_memory
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
        started = await asyncio.gather(*(self._spawn() for _ in range(self._size)), return_exceptions=True)
        workers = [w for w in started if isinstance(w, _Worker)]
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
        # Shielded: if the client goes away, the exchange still ends cleanly and frees the worker
        # (or kills it at the deadline) instead of killing a worker per dropped connection.
        exchange = asyncio.ensure_future(self._exchange(worker, job, deadline))
        exchange.add_done_callback(_retrieve)
        return await asyncio.shield(exchange)

    async def _exchange(self, worker: _Worker, job: QueryJob, deadline: float) -> QueryResult:
        try:
            await worker.send(job)
            # asyncio.timeout, not wait_for: the same deadline without a second task per query.
            async with asyncio.timeout_at(asyncio.get_running_loop().time() + max(0.0, deadline - time.monotonic())):
                message = await worker.receive()
        except TimeoutError:
            self._discard(worker)
            raise QueryRejected(
                503, f"the query was stopped after {self._timeout_s:g} s, this endpoint's time limit"
            ) from None
        except (asyncio.IncompleteReadError, OSError):
            # The worker died (out of memory, a crash): answer, and start a fresh one.
            self._discard(worker)
            if self._memory_bytes and worker.process.exitcode == -signal.SIGABRT:  # Rust: allocation failed
                raise QueryRejected(503, memory_message(self._memory_bytes)) from None
            raise QueryRejected(503, "the query worker stopped unexpectedly; try again") from None
        except BaseException:
            self._discard(worker)  # its state is unknown (e.g. the pool is closing)
            raise
        if message[0] == "failed":  # answered, but the worker must not serve again
            self._discard(worker)
        else:
            self._release(worker)
        if message[0] == "ok":
            return message[1]
        raise QueryRejected(message[1], message[2])

    async def _acquire(self, deadline: float) -> _Worker:
        if self._closed:
            raise QueryRejected(503, "the endpoint is shutting down")
        if self._idle:
            # The worker released last: its caches (CPU and RocksDB blocks) are the warmest.
            worker = self._idle.pop()
        else:
            waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                worker = await asyncio.wait_for(asyncio.shield(waiter), max(0.0, deadline - time.monotonic()))
            except BaseException as exc:  # the time ran out, or the client went away
                if waiter.done() and not waiter.cancelled():
                    self._release(waiter.result())  # handed over just as we gave up
                else:
                    waiter.cancel()
                if isinstance(exc, TimeoutError):
                    raise QueryRejected(
                        503, f"every query worker stayed busy for {self._timeout_s:g} s; try again later"
                    ) from None
                raise
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
            task.add_done_callback(_retrieve)  # a failed start only shrinks the pool

    async def _replace(self) -> None:
        worker = await self._spawn()
        if self._closed:
            worker.stop()
        else:
            self._release(worker)

    async def _spawn(self) -> _Worker:
        parent_end, child_socket = socket.socketpair()
        child_end = Connection(child_socket.detach())
        process = _CONTEXT.Process(
            target=worker_main,
            args=(child_end, self._store_path, self._max_rows, self._memory_bytes, self._in_memory),
            name="plan-kg-query-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker: _Worker | None = None
        try:
            reader, writer = await asyncio.open_unix_connection(sock=parent_end)
            worker = _Worker(process, reader, writer)
            ready = await asyncio.wait_for(worker.receive(), _START_TIMEOUT_S)
        except BaseException as exc:  # it did not start in time, died, or the pool is closing: stop it
            died = isinstance(exc, (asyncio.IncompleteReadError, OSError))
            if died:
                await asyncio.to_thread(process.join, 2)  # for its exit code; it is exiting
            if worker is not None:
                worker.stop()
            else:
                parent_end.close()
                process.kill()
                process.join(timeout=5)
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
    """Mark the outcome of a background task as seen (an exchange whose caller went away)."""
    if not task.cancelled():
        task.exception()
