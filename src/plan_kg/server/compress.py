"""Answers sent gzip-compressed to clients that accept it: which ones, their ETag, and the compressed bytes.

An answer of `MIN_BYTES` or more is compressed (`content_coding.gzip_bytes`, the same bytes every time),
and the copy is kept with the answer in the `ResponseCache` (counted in its budget), so an answer sent
again is not compressed again. A smaller one goes as it is: a lookup's few hundred bytes gain little,
and the commonest request would pay for it. Every kind of answer is compressed, the HTML page too: a
browser always accepts gzip, and a page holds no secret that its compressed length could betray
(BREACH): no cookie, no token, only the query as sent.
"""

from __future__ import annotations

import asyncio

from ..content_coding import gzip_bytes, gzip_tag
from .service import QueryService
from .jobs import QueryResult

#: Smaller answers are sent as they are.
MIN_BYTES = 1024
#: Larger answers are compressed in a thread (zlib lets go of the interpreter's lock), which costs
#: ~0.2 ms more: on the event loop, 64 KiB of CSV held up every other client for ~0.7 ms, 256 KiB for
#: 3-4 ms, the 10,000-row answer (1.37 MB) for 14-20 ms; in a thread, the loop was late by 1-3 ms at
#: most (`benchmarks/RESULTS.md`). Not in the worker: its answer comes through the pipe in 0.06 ms
#: as it is, the kept and in-process answers never pass a worker, and a worker is the scarce resource.
IN_THREAD_BYTES = 64 * 1024


class AnswerCompression:
    """The gzip copies of `service`'s answers."""

    def __init__(self, service: QueryService) -> None:
        self.service = service

    @staticmethod
    def compresses(result: QueryResult) -> bool:
        """Whether `result` goes gzip-compressed to a client that accepts it."""
        return len(result.body) >= MIN_BYTES

    def tag_before_answer(self, key: str, tag: str, gzip_accepted: bool) -> str:
        """The ETag of the answer with request key `key` (`tag` as it is) for a request that accepts gzip or
        not, before there is an answer: for one that accepts gzip, that of the gzip copy unless the answer
        is kept and too small to be compressed (a client holding the copy's tag knows it is large enough)."""
        if not gzip_accepted:
            return tag
        kept = self.service.cached(key)
        return tag if kept is not None and not self.compresses(kept) else gzip_tag(tag)

    async def gzipped(self, key: str | None, result: QueryResult) -> bytes:
        """`result`'s body as gzip: the copy kept with it, or compressed now (a large one in a thread) and kept."""
        if (kept := self.service.cached_gzip(key)) is not None:
            return kept
        if len(result.body) > IN_THREAD_BYTES:
            gzipped = await asyncio.to_thread(gzip_bytes, result.body)
        else:
            gzipped = gzip_bytes(result.body)
        self.service.keep_gzip(key, result, gzipped)
        return gzipped
