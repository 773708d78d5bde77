"""SIGTERM taken as Ctrl-C while a command writes files, so that what it leaves half-written is removed."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def terminated_as_interrupted() -> Iterator[None]:
    """Within the block, SIGTERM (what `kill`, systemd and `docker stop` send) raises KeyboardInterrupt, as Ctrl-C does.

    Python's default for SIGTERM ends the process at once, without unwinding: a build stopped so left its
    `.dist-building-*` folder beside `dist/`, where a Ctrl-C removed it. Outside the main thread (where no signal
    handler can be set) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
