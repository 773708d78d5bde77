"""The query API shared by the HTTP endpoint, the CLI (`plan-kg query`) and the web pages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from .. import formats
from ..config import Settings
from ..errors import QueryError
from ..named_queries import load_named_queries
from .cache import ResponseCache, etag, is_repeatable, job_digest
from .guard import may_use_service
from .lookup import MemoryCopy, OverBound, json_answer, read_lookup
from .named import QuickNamedQueries
from .negotiation import GRAPH_FORMATS, PAGE, RESULT_FORMATS, NegotiationError, negotiate
from .pool import WorkerPool
from .store import DUMP_NAME, LoadedStore, default_store_dir, load_store
from .jobs import QueryJob, QueryRejected, QueryResult
from .serialize import as_result
from .worker import run_job, run_known

_JSON = formats.by_name("json")

# Relative IRIs in queries resolve against the endpoint's stable public address.
ENDPOINT_PATH = "sparql"


@dataclass(frozen=True)
class QueryRequest:
    """A query as the SPARQL protocol sends it.

    `default_graphs`/`named_graphs` (the protocol's dataset) name local graphs only; when both
    are None the default graph is the union of all named graphs. `format` overrides `accept`.
    """

    query: str
    accept: str | None = None
    format: str | None = None
    default_graphs: Sequence[str] | None = None
    named_graphs: Sequence[str] | None = None


class QueryService:
    """Answers read-only SPARQL queries over a loaded store, each within the time limit.

    Use `async with QueryService(...)` (or `start`/`close`) in a server and `execute(QueryRequest(...))`
    (or its two halves, `prepare` and `answer`, to look at the job in between); `run` is a blocking one-shot
    for command-line use that starts and stops its own workers. Answers to repeatable queries
    are kept in a bounded `ResponseCache` (settings `response_cache_bytes`, 0 turns it off).
    A one-triple-pattern lookup with at most `in_process_rows` rows is answered in this process
    (see `lookup.read_lookup`: it cannot run away), from an in-memory copy of the store when the
    workers have one too (`lookup.MemoryCopy`), and so is a named query a worker has answered within
    `in_process_named_s` (`named.QuickNamedQueries`); every other query by a worker.
    """

    def __init__(self, settings: Settings, store: LoadedStore) -> None:
        self.settings = settings
        self.store = store
        self.base_iri = (settings.public_base_iri or settings.base_iri) + ENDPOINT_PATH
        self._pool: WorkerPool | None = None
        self._closed = False  # close() was called: a query reaching it later gets a 503, not an error
        self.memory: MemoryCopy | None = None  # the copy lookups are read from, when there is one
        self.in_process_answers = 0
        self.quick = QuickNamedQueries((), most_s=settings.in_process_named_s)  # read from queries_dir by start()
        self.named_in_process_answers = 0
        self.cache = ResponseCache(
            max_bytes=settings.response_cache_bytes, max_entry_bytes=settings.response_cache_entry_bytes
        )

    @classmethod
    def for_settings(cls, settings: Settings, *, store_dir: Path | None = None) -> "QueryService":
        """A service over `settings.dist_dir/plan-kg.nq`, loaded into `store_dir` (default `<root>/.cache/store`)."""
        dump = settings.dist_dir / DUMP_NAME
        return cls(settings, load_store(dump, store_dir or default_store_dir(settings)))

    @property
    def workers_in_memory(self) -> bool:
        """Whether the query workers answer from an in-memory copy of the store (`worker_memory_store_quads`)."""
        return 0 < self.store.quads <= self.settings.worker_memory_store_quads

    async def start(self) -> None:
        """Start the worker processes, and copy the store into memory for lookups when they copy it too."""
        if self.settings.in_process_named_s > 0:
            try:
                named = load_named_queries(self.settings)
            except QueryError:  # a file without its headers: the home page says which; here it is only not quick
                named = []
            self.quick = QuickNamedQueries(named, most_s=self.settings.in_process_named_s)
        pool = WorkerPool(
            self.store.path,
            size=self.settings.query_workers,
            max_rows=self.settings.max_result_rows,
            max_bytes=self.settings.max_response_bytes,
            timeout_s=self.settings.query_timeout_s,
            memory_bytes=self.settings.query_memory_bytes,
            in_memory=self.workers_in_memory,
            per_client=self.settings.workers_per_client,
            preempt_after_s=self.settings.preempt_after_s,
        )
        if self.workers_in_memory:
            # Copied as the workers copy theirs, and meanwhile, so the quads are in the same order:
            # a lookup's rows come in the same order whichever process answers it.
            try:
                _, self.memory = await asyncio.gather(pool.start(), asyncio.to_thread(MemoryCopy.of, self.store.reader))
            except BaseException:
                await pool.close()
                raise
        else:
            await pool.start()
        self._pool = pool

    async def close(self) -> None:
        """Stop the worker processes."""
        self._closed = True
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self.memory = None

    async def __aenter__(self) -> "QueryService":
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def execute(self, request: QueryRequest) -> QueryResult:
        """The serialised answer to `request`; QueryRejected (with an HTTP status) if there is none."""
        job = self.prepare(request)
        return await self.answer(job, key=self.key(job))

    def prepare(self, request: QueryRequest) -> QueryJob:
        """The job `execute` would run, formats negotiated; QueryRejected if refused (SERVICE is checked when it runs)."""
        try:
            wanted = negotiate(request.accept, request.format)
        except NegotiationError as exc:
            raise QueryRejected(400, str(exc)) from exc
        if wanted.results is None and wanted.graph is None:
            raise QueryRejected(406, _not_acceptable(request.accept, request.format))
        # SERVICE is checked by the worker (run_job), under the time limit: rdflib's parser can be made slow.
        dataset = request.default_graphs is not None or request.named_graphs is not None
        return QueryJob(
            query=request.query,
            base_iri=self.base_iri,
            default_graphs=tuple(request.default_graphs or ()) if dataset else None,
            named_graphs=tuple(request.named_graphs or ()) if dataset else None,
            results_format=wanted.results.name if wanted.results else None,
            graph_format=wanted.graph.name if wanted.graph else None,
            service_allow_list=tuple(self.settings.service_allow_list),
            page_base_iri=self.settings.base_iri if PAGE in (wanted.results, wanted.graph) else "",
            page_root=self.settings.public_path,
        )

    def key(self, job: QueryJob) -> str | None:
        """The request key of `job` for the cache and ETags; None when two runs may differ (SERVICE, NOW(), ...)."""
        return job_digest(job) if is_repeatable(job.query) else None

    def etag(self, key: str) -> str:
        """The strong ETag of the answer with request key `key` (it names this dataset's version too)."""
        return etag(self.store.version, key)

    def cached(self, key: str | None) -> QueryResult | None:
        """The kept answer for `key`, if there is one (no worker involved)."""
        return self.cache.get(key) if key is not None and self.cache.enabled else None

    def cached_gzip(self, key: str | None) -> bytes | None:
        """The gzip copy kept with the answer for `key`, if there is one."""
        return self.cache.gzipped(key) if key is not None and self.cache.enabled else None

    def keep_gzip(self, key: str | None, result: QueryResult, gzipped: bytes) -> None:
        """Keep `gzipped`, the gzip copy of `result`, with the kept answer for `key` (if `result` is what is kept)."""
        if key is not None and self.cache.enabled:
            self.cache.put_gzipped(key, result.body, gzipped)

    async def answer(self, job: QueryJob, *, key: str | None, client: str | None = None) -> QueryResult:
        """The answer to a prepared `job` with request key `key`: kept, or from a worker within the time limit.

        `client` (an address) may hold only so many workers at once (`WorkerPool.per_client`).
        """
        if self._pool is None:
            if self._closed:  # a request still arriving (a slow body) once its build's app was shut down, or the server
                raise QueryRejected(503, "this query reached the server as it stopped serving the build it was sent to "
                                         "(a new build is served now, or the server is shutting down); send it again")
            raise RuntimeError("QueryService.start() was not called")
        if (result := self.cached(key)) is not None:
            return result
        if (result := self._answer_in_process(job)) is None:
            named = self.quick.named(job)
            if named is not None and self.quick.is_quick(named, job):
                result = self._answer_named(named, job)
            if result is None:
                result = await self._pool.run(job, client=client)
                if named is not None and result.run_s is not None:
                    self.quick.note(named, job, result.run_s)
        if key is not None and self.cache.enabled:
            self.cache.put(key, result)
        return result

    def _answer_in_process(self, job: QueryJob) -> QueryResult | None:
        """The answer to a bounded lookup, run here; None: the query is not one, or it is over the bound."""
        rows = min(self.settings.in_process_rows, self.settings.max_result_rows)
        if rows <= 0 or job.default_graphs is not None or job.named_graphs is not None:
            return None
        if job.results_format == PAGE.name:  # a page shows the query as sent, not the bounded text run here
            return None
        if may_use_service(job.query):  # its check (rdflib's parser) belongs under the time limit
            return None
        if (lookup := read_lookup(job.query)) is None:
            return None
        store = self.memory.store if self.memory is not None and self.memory.covers(lookup) else self.store.reader
        try:
            body = json_answer(store, lookup, max_rows=rows) if job.results_format == _JSON.name else None
            if body is not None:
                result = as_result(_JSON, body, self.settings.max_response_bytes)
            else:
                result = run_job(store, replace(job, query=lookup.bounded(rows)), max_rows=rows,
                                 max_bytes=self.settings.max_response_bytes)
        except (QueryRejected, OverBound):  # more rows than the bound, or refused: a worker gives the full answer
            return None
        self.in_process_answers += 1
        return result

    def _answer_named(self, named: str, job: QueryJob) -> QueryResult | None:
        """The answer to the named query `named` in `job`'s formats, run here (a worker answered it quickly); None:
        it did not go as it went in the worker, whose answer (or reason for refusing) the caller asks for then."""
        # What a worker reads for this request's text: the same copy (row order without ORDER BY is the copy's).
        store = self.memory.stores.for_job(job) if self.memory is not None else self.store.reader
        known = replace(job, query=named)
        try:
            result = run_known(store, known, max_bytes=self.settings.max_response_bytes)
            if result is None:
                result = run_job(store, known, max_rows=self.settings.max_result_rows,
                                 max_bytes=self.settings.max_response_bytes)
        except Exception:  # noqa: BLE001 - the worker's answer is the one to give
            return None
        self.named_in_process_answers += 1
        return result

    def run(self, request: QueryRequest) -> QueryResult:
        """Blocking `execute` for one query from the command line (starts its own workers)."""

        # One query: one worker, on the on-disk store (copying it into memory would cost more than it saves), and no
        # named queries read for later requests (there are none).
        one_shot = replace(self.settings, query_workers=1, worker_memory_store_quads=0, in_process_named_s=0)

        async def once() -> QueryResult:
            async with QueryService(one_shot, self.store) as service:
                return await service.execute(request)

        return asyncio.run(once())


def _not_acceptable(accept: str | None, format_param: str | None) -> str:
    asked = f"format={format_param}" if format_param else f"Accept: {accept}"
    offered = ", ".join(f"{f.name} ({f.media_type})" for f in (*RESULT_FORMATS, *GRAPH_FORMATS, PAGE))
    return f"nothing this endpoint writes matches {asked}; it offers {offered}"
