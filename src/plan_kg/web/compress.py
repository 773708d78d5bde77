"""Downloads sent gzip-compressed to clients that accept it, each file compressed once and kept.

The dumps are text that compresses 7 to 22 times (`plan-kg.nq`: 4.2 MB, 0.27 MB as gzip). A file is
compressed on its first request, in a thread (zlib lets go of the interpreter's lock, so the event
loop goes on meanwhile), and the copy is kept in memory for as long as the file is unchanged
(keyed by its path, size and modification time). Requests that arrive while it is being
compressed wait for the same copy. Copies are deterministic (no time stamp or name in the gzip
header), so the same file always gives the same bytes and the same ETag.

Files over `MAX_INPUT_BYTES`, a client that does not accept gzip, and range requests get the file
as it is.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import shutil
from pathlib import Path

from ..content_coding import GZIP_LEVEL
from ..server.cache import ResponseCache
from ..server.jobs import QueryResult

#: Larger files are sent as they are: compressing one would hold a thread for seconds and its copy much memory.
MAX_INPUT_BYTES = 64_000_000


def gzip_file(path: Path) -> bytes:
    """`path`'s content as gzip, the same bytes on every call."""
    buffer = io.BytesIO()
    with path.open("rb") as source, gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0,
                                                   compresslevel=GZIP_LEVEL) as target:
        shutil.copyfileobj(source, target, 1 << 20)
    return buffer.getvalue()


class GzipCopies:
    """Compressed copies of files, at most `max_bytes` in all (0: none are made)."""

    def __init__(self, max_bytes: int) -> None:
        self._kept = ResponseCache(max_bytes=max_bytes, max_entry_bytes=max_bytes // 4)
        self._pending: dict[str, asyncio.Task[bytes]] = {}
        self._too_large: set[str] = set()  # copies the cache would not keep: not made again

    async def get(self, path: Path, stat: os.stat_result) -> bytes | None:
        """The gzip copy of `path` as `stat` describes it; None when it is not to be compressed."""
        key = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}"
        if not self._kept.enabled or stat.st_size > MAX_INPUT_BYTES or key in self._too_large:
            return None
        if (kept := self._kept.get(key)) is not None:
            return kept.body
        task = self._pending.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(gzip_file, path))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._done(key, done))
        try:
            return await asyncio.shield(task)  # a client that goes away does not stop the copy others wait for
        except OSError:  # the file went away meanwhile (a new build): the caller answers as for a missing file
            return None

    def _done(self, key: str, task: asyncio.Task[bytes]) -> None:
        del self._pending[key]
        if task.cancelled() or task.exception() is not None:
            return
        body = task.result()
        self._kept.put(key, QueryResult(media_type="application/gzip", body=body))
        if self._kept.get(key) is None:
            self._too_large.add(key)
