"""A bounded in-memory cache of successful query answers, and their HTTP validators.

The store is read-only for the server's lifetime, so the bytes of an answer are fixed by its
`QueryJob`: the query text, base IRI, protocol dataset and negotiated formats (not the raw
Accept header: two headers that choose the same format share an entry). Answers that may
change between two runs of the same text are never cached: queries with SERVICE (another
endpoint's data) or with a function whose value changes per call (NOW, RAND, UUID, ...).
Refusals, errors and over-limit answers never reach the cache: only an answer does (a worker's, or an
in-process lookup's).

The strong ETag is a hash of the loaded dataset's identity and the request key, so a client
holding it gets `304 Not Modified` without the query being run again, and a new build (a
new dataset identity) changes every ETag. (One caveat: blank nodes a CONSTRUCT template mints
get fresh labels on each run, so a re-run after eviction is the same graph, not the same bytes.)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict

from .guard import may_use_service
from .jobs import QueryJob, QueryResult

# SPARQL 1.1 functions whose value is not fixed by the data (§17.4): never cached, never validated.
_VOLATILE = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID|BNODE)\s*\(", re.IGNORECASE)
_VOLATILE_NAMES = ("now", "rand", "uuid", "bnode")  # STRUUID contains UUID


def is_repeatable(query: str) -> bool:
    """True if every run of `query` over the same read-only dataset gives the same answer."""
    if may_use_service(query):
        return False
    # A plain substring test first: the regular expression costs ~6 µs per request, this under 1 µs.
    lowered = query.lower()
    return not any(name in lowered for name in _VOLATILE_NAMES) or not _VOLATILE.search(query)


def job_digest(job: QueryJob) -> str:
    """The request key: a hash of everything in `job` (SHA-256, independent of the process's hash seed)."""
    # JSON, not a separator character: no query text can make two different jobs encode alike.
    fields = [job.query, job.base_iri, job.default_graphs, job.named_graphs, job.results_format, job.graph_format]
    return hashlib.sha256(json.dumps(fields).encode("ascii")).hexdigest()


def etag(dataset_id: str, key: str) -> str:
    """The strong entity tag of the answer with request key `key` over the dataset `dataset_id` (quoted, as sent)."""
    return f'"{dataset_id}-{key[:32]}"'


#: Bytes an entry takes beyond its key and body: the objects that hold them (str and bytes headers,
#: the media type, the tuple, the dictionary's node). Without it, a cache of small answers (an ASK's
#: is 26 bytes) would take about four times its budget.
ENTRY_OVERHEAD = 300


class ResponseCache:
    """Least-recently-used answers by request key, at most `max_bytes` in all and answers of at most
    `max_entry_bytes` each (0: off); an answer's gzip copy (`put_gzipped`) is kept beside it, within the total.

    The key is `job_digest(job)`; an entry's size is its body and key, its gzip copy if one is kept with
    it, plus `ENTRY_OVERHEAD`, what Python's objects around them take (measured with
    tracemalloc: ~280 bytes). Entries are kept as
    tuples of bytes and strings, which the garbage collector does not need to traverse, so a
    full cache does not slow down every collection.
    """

    def __init__(self, *, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self.max_entry_bytes = min(max(0, max_entry_bytes), self.max_bytes)
        self.size = 0
        self._entries: OrderedDict[str, tuple[str, bytes, bytes | None]] = OrderedDict()  # type, body, gzip copy

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Let every answer go."""
        self._entries.clear()
        self.size = 0

    def get(self, key: str) -> QueryResult | None:
        """The cached answer for `key`, if any (and mark it recently used)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return QueryResult(media_type=entry[0], body=entry[1])

    def gzipped(self, key: str) -> bytes | None:
        """The gzip copy kept with the answer for `key`, if any (and mark it recently used)."""
        entry = self._entries.get(key)
        if entry is None or entry[2] is None:
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def put(self, key: str, result: QueryResult) -> None:
        """Keep `result` unless it is larger than one entry may be; evict the oldest beyond the total."""
        self._keep(key, result.media_type, result.body, None)

    def put_gzipped(self, key: str, body: bytes, gzipped: bytes) -> None:
        """Keep `gzipped`, the gzip copy of `body`, with the answer kept for `key` if that is `body`; else nothing.

        The copy is counted in the cache's total, not in the entry's limit, which is the answer's: an answer
        just under the limit whose copy was dropped would be compressed again for every request."""
        entry = self._entries.get(key)
        # `body`, not a re-run's (a CONSTRUCT's blank nodes get new labels): the copy must decode to what is kept.
        if entry is not None and (entry[1] is body or entry[1] == body):
            self._keep(key, entry[0], entry[1], gzipped)

    def _keep(self, key: str, media_type: str, body: bytes, gzipped: bytes | None) -> None:
        if _size(key, body, None) > self.max_entry_bytes:
            return
        if gzipped is not None and _size(key, body, gzipped) > self.max_bytes:
            gzipped = None  # the two would not fit in the whole cache: the answer alone is kept
        size = _size(key, body, gzipped)
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= _size(key, old[1], old[2])
        self._entries[key] = (media_type, body, gzipped)
        self.size += size
        while self.size > self.max_bytes:
            evicted_key, (_, evicted, evicted_gzipped) = self._entries.popitem(last=False)
            self.size -= _size(evicted_key, evicted, evicted_gzipped)


def _size(key: str, body: bytes, gzipped: bytes | None) -> int:
    """What an entry counts against the cache's budget."""
    return len(key) + len(body) + (len(gzipped) if gzipped is not None else 0) + ENTRY_OVERHEAD
