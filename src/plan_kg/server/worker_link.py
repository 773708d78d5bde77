"""The server's end of one query worker process: a job sent, its answer read by event-loop callbacks.

The worker side is a plain `multiprocessing.connection.Connection`; this side reads and writes the
same framing over a socket with an asyncio protocol, so a large answer never blocks the event loop
and no thread or task waits per request. The pool (`pool.py`) decides which worker takes a job and
what happens to a worker whose exchange ended at its deadline.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from .jobs import QueryJob


#: What ends an exchange: the worker's message, the deadline, or the worker gone (None).
Outcome = tuple | None
TIMED_OUT = ("timed out",)
PREEMPTED = ("preempted",)


class WorkerLink(asyncio.Protocol):
    """The parent's end of one worker process: Connection's framing over a socket, read by callbacks.

    One exchange at a time: `ask` sends a job and calls `settle` exactly once, with the worker's
    message, `TIMED_OUT` at the deadline, or None if the worker is gone.
    """

    def __init__(self, process: BaseProcess) -> None:
        self.process = process
        self.ready: asyncio.Future[tuple] = asyncio.get_running_loop().create_future()  # its first message
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._lost = False
        self._settle: Callable[[Outcome], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.asked_at = 0.0  # loop time of the job it runs

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (message := self._next_message()) is not None:
            self._deliver(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionResetError("the query worker closed its socket"))
            self.ready.exception()  # seen: nobody awaits it if the start was given up (the pool closing)
        self._end(None)

    def ask(self, job: QueryJob, deadline: float, settle: Callable[[Outcome], None]) -> None:
        """Send `job`; `settle` is called once with the outcome (`deadline` is in loop time).

        If the job cannot be written (pickled), that is raised before anything is sent or armed.
        """
        # Connection's framing: a signed 32-bit big-endian length (-1 and 64 bits if larger).
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        header = struct.pack("!i", len(payload)) if len(payload) <= 0x7FFFFFFF else struct.pack("!iQ", -1, len(payload))
        loop = asyncio.get_running_loop()
        self._settle = settle
        if self._lost or self._transport is None or self._transport.is_closing():
            loop.call_soon(self._end, None)
            return
        self._timer = loop.call_at(deadline, self._end, TIMED_OUT)
        self.asked_at = loop.time()
        self._transport.write(header + payload)

    @property
    def answering(self) -> bool:
        """Whether a job was sent and its exchange has not ended."""
        return self._settle is not None

    def preempt(self) -> None:
        """End the exchange now, as at its deadline (the pool stops this worker and starts another)."""
        if self._settle is not None:
            self._end(PREEMPTED)

    @property
    def connected(self) -> bool:
        return self._transport is not None

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)

    def _next_message(self) -> tuple | None:
        if len(self._buffer) < 4:
            return None
        (size,) = struct.unpack_from("!i", self._buffer)
        start = 4
        if size == -1:
            if len(self._buffer) < 12:
                return None
            (size,) = struct.unpack_from("!Q", self._buffer, 4)
            start = 12
        if len(self._buffer) < start + size:
            return None
        with memoryview(self._buffer) as view, view[start:start + size] as frame:
            message = pickle.loads(frame)
        del self._buffer[:start + size]  # the views are released: the buffer may shrink
        return message

    def _deliver(self, message: tuple) -> None:
        if not self.ready.done():
            self.ready.set_result(message)
        else:
            self._end(message)

    def _end(self, outcome: Outcome) -> None:
        settle, self._settle = self._settle, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if settle is not None:
            settle(outcome)
