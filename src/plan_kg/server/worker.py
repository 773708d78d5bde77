"""One query, run and serialised: in a worker process (`worker_main`) or in-process (`run_job`).

Queries run in separate processes because pyoxigraph has no query timeout and a thread
cannot be stopped: the pool kills the process instead. Results are serialised here so the
server only moves bytes.
"""

from __future__ import annotations

import resource
import signal
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection

import pyoxigraph

from .. import formats
from .negotiation import GRAPH_FORMATS, RESULT_FORMATS

@dataclass(frozen=True)
class QueryJob:
    """A parsed request: the query text, its dataset and the formats acceptable per result kind."""

    query: str
    base_iri: str | None = None
    default_graphs: tuple[str, ...] | None = None  # protocol dataset; None: union of named graphs
    named_graphs: tuple[str, ...] | None = None
    results_format: str | None = None  # plan_kg.formats name for SELECT/ASK; None: not acceptable
    graph_format: str | None = None  # ... for CONSTRUCT/DESCRIBE


@dataclass(frozen=True)
class QueryResult:
    """A serialised answer."""

    media_type: str  # what to send as Content-Type
    body: bytes


class QueryRejected(Exception):
    """The query cannot be answered; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def run_job(store: pyoxigraph.Store, job: QueryJob, *, max_rows: int) -> QueryResult:
    """Run `job` on `store` and serialise the result; QueryRejected if it cannot be answered."""
    dataset: dict[str, object] = {}  # the store's default graph already holds the union
    if job.default_graphs is not None or job.named_graphs is not None:
        try:
            dataset = {
                "default_graph": [pyoxigraph.NamedNode(g) for g in job.default_graphs or ()],
                "named_graphs": [pyoxigraph.NamedNode(g) for g in job.named_graphs or ()],
            }
        except ValueError as exc:
            raise QueryRejected(400, f"a default-graph-uri or named-graph-uri is not an IRI: {exc}") from exc
    try:
        result = store.query(job.query, base_iri=job.base_iri, **dataset)  # type: ignore[arg-type]
        if isinstance(result, pyoxigraph.QueryBoolean):
            fmt = _format(job.results_format, "SPARQL results")
            return _result(fmt, result.serialize(format=pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)))
        if isinstance(result, pyoxigraph.QuerySolutions):
            fmt = _format(job.results_format, "SPARQL results")
            return _result(fmt, _serialize_solutions(result, fmt, max_rows))
        fmt = _format(job.graph_format, "RDF")
        triples = list(islice(result, max_rows + 1))
        _check_rows(len(triples), max_rows, "triples")
        return _result(fmt, pyoxigraph.serialize(triples, format=pyoxigraph.RdfFormat.from_media_type(fmt.media_type)))
    except SyntaxError as exc:
        raise QueryRejected(400, f"the query is not valid SPARQL 1.1: {exc}") from exc
    except OSError as exc:
        # Evaluation errors (SERVICE failures, unsupported features) surface as OSError.
        raise QueryRejected(400, f"the query could not be evaluated: {exc}") from exc


def worker_main(conn: Connection, store_path: str, max_rows: int, memory_bytes: int = 0) -> None:
    """Serve jobs from `conn` until it closes. The parent owns shutdown, so SIGINT is ignored.

    With `memory_bytes`, the process's heap is capped (RLIMIT_DATA): a query that needs more
    ends this worker (Rust aborts on a failed allocation; Python raises MemoryError, answered
    as "failed" so that the pool replaces the worker), not the machine.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    store = pyoxigraph.Store.read_only(store_path)
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", run_job(store, job, max_rows=max_rows)))
        except QueryRejected as exc:
            conn.send(("rejected", exc.status, exc.message))
        except MemoryError:
            conn.send(("failed", 503, memory_message(memory_bytes)))
            return
        except Exception as exc:  # noqa: BLE001 - report, keep serving; the parent answers 500-free
            conn.send(("rejected", 400, f"the query could not be evaluated: {type(exc).__name__}: {exc}"))


def memory_message(memory_bytes: int) -> str:
    """Why a query that ran out of memory was stopped."""
    return (f"the query was stopped: it needed more than {memory_bytes // 1_000_000} MB, this endpoint's "
            "memory limit for one query; narrow it or add LIMIT")


def _format(name: str | None, kind: str) -> formats.Format:
    if name is None:
        offered = RESULT_FORMATS if kind == "SPARQL results" else GRAPH_FORMATS
        names = ", ".join(f"{f.name} ({f.media_type})" for f in offered)
        raise QueryRejected(406, f"this query returns {kind}, offered as {names}; none of them is acceptable")
    return formats.by_name(name)


def _result(fmt: formats.Format, body: bytes) -> QueryResult:
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else "")
    return QueryResult(media_type=media_type, body=body)


def _check_rows(count: int, max_rows: int, what: str) -> None:
    if count > max_rows:
        raise QueryRejected(
            400, f"the result has more than {max_rows} {what}, this endpoint's limit; add LIMIT or narrow the query"
        )


class _TooManyRows(Exception):
    pass


class _CountingSink:
    """A binary writer that keeps TSV output and stops it once it has more than `max_lines` lines."""

    def __init__(self, max_lines: int) -> None:
        self.max_lines = max_lines
        self.lines = 0
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        if self.lines > self.max_lines:
            raise _TooManyRows
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _serialize_solutions(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int) -> bytes:
    # pyoxigraph serialises only a whole, unread result, and cannot be told to stop. TSV has
    # exactly one line per row (newlines in literals are escaped), so the result is first
    # written as TSV into a sink that counts lines and aborts past the limit, then converted.
    sink = _CountingSink(max_rows + 1)  # + the header line
    try:
        solutions.serialize(sink, format=pyoxigraph.QueryResultsFormat.TSV)
    except _TooManyRows:
        _check_rows(max_rows + 1, max_rows, "rows")
    tsv = b"".join(sink.chunks)
    target = pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)
    if target == pyoxigraph.QueryResultsFormat.TSV:
        return tsv
    return pyoxigraph.parse_query_results(tsv, pyoxigraph.QueryResultsFormat.TSV).serialize(format=target)
