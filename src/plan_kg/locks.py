"""An advisory lock between plan-kg processes on one machine (two servers starting at once, a build beside a server)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold `path` alone: a directory, or a lock file (created if missing). An advisory lock (flock), released when
    the process ends, whatever happens; a directory's leaves nothing behind."""
    if path.is_dir():
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # which releases the lock


def shared(directory: Path) -> int:
    """Hold `directory` in use, beside other users, until the descriptor returned is closed (or the process ends):
    `unused` is then false for it."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


@contextmanager
def sharing(directory: Path) -> Iterator[None]:
    """Hold `directory` beside other such holders for the block (`shared`): none holds it `exclusive` meanwhile."""
    descriptor = shared(directory)
    try:
        yield
    finally:
        os.close(descriptor)


@contextmanager
def unused(directory: Path) -> Iterator[bool]:
    """Whether no process holds `directory` (`shared`), at once; while true, none can take it until the block ends."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(descriptor)
