"""One query, run and serialised: in a worker process (`worker_main`) or in-process (`run_job`).

Queries run in separate processes because pyoxigraph has no query timeout and a thread
cannot be stopped: the pool kills the process instead. Results are serialised here so the
server only moves bytes.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection

import pyoxigraph

from .. import formats
from .negotiation import GRAPH_FORMATS, RESULT_FORMATS

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


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


def worker_main(conn: Connection, store_path: str, max_rows: int) -> None:
    """Serve jobs from `conn` until it closes. The parent owns shutdown, so SIGINT is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
        except Exception as exc:  # noqa: BLE001 - report, keep serving; the parent answers 500-free
            conn.send(("rejected", 400, f"the query could not be evaluated: {type(exc).__name__}: {exc}"))


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


def _serialize_solutions(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int) -> bytes:
    # pyoxigraph serialises only a whole, unread result, so the rows are read (and counted)
    # first, written as SPARQL JSON, and converted by pyoxigraph when another format is asked for.
    names = [v.value for v in solutions.variables]
    rows = list(islice(solutions, max_rows + 1))
    _check_rows(len(rows), max_rows, "rows")
    bindings = []
    for row in rows:
        binding = {}
        for name in names:
            term = row[name]
            if term is not None:
                binding[name] = _json_term(term)
        bindings.append(binding)
    body = json.dumps(
        {"head": {"vars": names}, "results": {"bindings": bindings}}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    target = pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)
    if target == pyoxigraph.QueryResultsFormat.JSON:
        return body
    return pyoxigraph.parse_query_results(body, pyoxigraph.QueryResultsFormat.JSON).serialize(format=target)


def _json_term(term: object) -> dict[str, object]:
    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, pyoxigraph.Literal):
        out: dict[str, object] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, pyoxigraph.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(term.subject),
                "predicate": _json_term(term.predicate),
                "object": _json_term(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")
