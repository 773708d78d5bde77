"""One query, run and serialised: in a worker process (`worker_main`) or in-process (`run_job`).

Queries run in separate processes because pyoxigraph has no query timeout and a thread
cannot be stopped: the pool kills the process instead. (The exceptions, run in the server process
with the same `run_job`: a lookup of one triple pattern that cannot run away, see `lookup.py`, and a
named query a worker has answered quickly, see `named.py`: a worker says how long each answer took.)
Results are serialised in the worker (`serialize.py`) so the server only moves bytes.
"""

from __future__ import annotations

import re
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection

import pyoxigraph

from .. import formats
from .guard import ForbiddenQuery, check_nesting, check_services, may_use_service
from .jobs import NOT_VALID, QueryJob, QueryRejected, QueryResult
from .memory import InMemory
from .negotiation import GRAPH_FORMATS, PAGE, RESULT_FORMATS
from .serialize import (CSV, TSV, as_result, byte_size, csv_lines_up, csv_written_here, page_triples,
                        serialize_solutions, serialize_solutions_exactly, serialize_triples, too_large)
from .syntax import (DECLARATION, POSITION, declaring_helps, full_width_mistake, full_width_said, misplaced_start,
                     pointer, readable, undeclared_prefix)


def _graph_name(parameter: str, value: str) -> pyoxigraph.NamedNode:
    """The graph a `parameter` (default-graph-uri, named-graph-uri) names; QueryRejected (400) saying which value of
    which parameter is no IRI, and how graphs are named (it said only that one of them was not)."""
    try:
        return pyoxigraph.NamedNode(value)
    except ValueError as exc:
        shown = value if len(value) <= 100 else value[:100] + "…"
        raise QueryRejected(400, f"{parameter}={shown!r} is not an absolute IRI ({exc}); name a graph by its full "
                                 "IRI, as the service description (GET /sparql) lists them") from exc


def run_job(store: pyoxigraph.Store, job: QueryJob, *, max_rows: int, max_bytes: int = 0) -> QueryResult:
    """Run `job` on `store` and serialise the result; QueryRejected if it cannot be answered.

    At most `max_rows` rows or triples, and `max_bytes` bytes once serialised (0: no byte limit).

    A query is checked for nesting pyoxigraph's parser cannot take (`guard.check_nesting`) first, and
    one that may use SERVICE against the allow-list (`guard.check_services`).
    """
    try:
        check_nesting(job.query)
    except ForbiddenQuery as exc:
        raise QueryRejected(exc.status, str(exc)) from exc
    if may_use_service(job.query):
        try:
            check_services(job.query, base_iri=job.base_iri or "", allow_list=job.service_allow_list)
        except ForbiddenQuery as exc:  # the allow-list's policy: what SERVICE may reach, and only what can be checked
            raise QueryRejected(exc.status, str(exc), setting="service_allow_list") from exc
    dataset: dict[str, object] = {}  # the store's default graph already holds the union
    if job.default_graphs is not None or job.named_graphs is not None:
        dataset = {
            "default_graph": [_graph_name("default-graph-uri", g) for g in job.default_graphs or ()],
            "named_graphs": [_graph_name("named-graph-uri", g) for g in job.named_graphs or ()],
        }
    def run() -> object:
        return store.query(job.query, base_iri=job.base_iri, **dataset)  # type: ignore[arg-type]

    try:
        result = run()
        if isinstance(result, pyoxigraph.QueryBoolean):
            fmt = _format(job.results_format, "SPARQL results")
            if fmt == PAGE:
                return as_result(fmt, _page(job, max_bytes, boolean=bool(result)), max_bytes)
            if fmt.name in _ASK_TABLES:  # the CSV/TSV results format has no boolean: a table of one cell
                return as_result(fmt, _ASK_TABLES[fmt.name] % (b"true" if result else b"false"), max_bytes)
            return as_result(fmt, result.serialize(format=pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)),
                             max_bytes)
        if isinstance(result, pyoxigraph.QuerySolutions):
            fmt = _format(job.results_format, "SPARQL results")
            if fmt == PAGE:
                # TSV first: written under the row and size limits without holding the rows (one line
                # each: the count), and smaller than the page, so a page over the limit stops there.
                tsv = serialize_solutions_exactly(result, TSV, max_rows, max_bytes)
                solutions = pyoxigraph.parse_query_results(tsv, pyoxigraph.QueryResultsFormat.TSV)
                variables = [variable.value for variable in solutions.variables]  # type: ignore[union-attr]
                rows = ([row[v] for v in variables] for row in solutions)  # type: ignore[union-attr]
                return as_result(fmt, _page(job, max_bytes, variables=variables, rows=rows,
                                            count=tsv.count(b"\n") - 1), max_bytes)
            width = len(result.variables)
            body = serialize_solutions(result, fmt, max_rows, max_bytes)
            if body is None:  # maybe over the limit: decide exactly, on a second run
                body = serialize_solutions_exactly(run(), fmt, max_rows, max_bytes)
            if fmt == CSV and not csv_lines_up(body, width):  # an IRI with a comma: written here, on a third
                body = csv_written_here(run(), max_rows, max_bytes)  # type: ignore[arg-type]
            return as_result(fmt, body, max_bytes)
        fmt = _format(job.graph_format, "RDF")
        if fmt == PAGE:
            triples = page_triples(result, max_rows, max_bytes)  # type: ignore[arg-type]
            return as_result(fmt, _page(job, max_bytes, graph=True, count=len(triples),
                                        rows=[(t.subject, t.predicate, t.object) for t in triples]), max_bytes)
        return as_result(fmt, serialize_triples(result, fmt, max_rows, max_bytes), max_bytes)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise syntax_rejection(job.query, str(exc)) from exc
    except OSError as exc:
        # Evaluation errors (SERVICE failures, unsupported features) surface as OSError.
        raise QueryRejected(400, f"the query could not be evaluated: {exc}") from exc


def run_known(store: pyoxigraph.Store, job: QueryJob, *, max_bytes: int = 0) -> QueryResult | None:
    """`run_job` for a query this server has answered before in `job`'s formats within its limits (a named query a
    worker answered: `named.py`; the store is read-only, so it answers alike): the same answer, without the checks
    the text has passed, or a writer that stops at a row limit it kept within (a quarter of a quick query's time).
    None for an answer that only `run_job` writes: CSV, a page, a protocol dataset."""
    if CSV.name == job.results_format or PAGE.name in (job.results_format, job.graph_format):
        return None
    if job.default_graphs is not None or job.named_graphs is not None:
        return None
    result = store.query(job.query, base_iri=job.base_iri)
    if isinstance(result, pyoxigraph.QueryTriples):
        fmt = _format(job.graph_format, "RDF")
        return as_result(fmt, pyoxigraph.serialize(result, format=pyoxigraph.RdfFormat.from_media_type(fmt.media_type)),
                         max_bytes)
    fmt = _format(job.results_format, "SPARQL results")
    if isinstance(result, pyoxigraph.QueryBoolean) and fmt.name in _ASK_TABLES:
        return as_result(fmt, _ASK_TABLES[fmt.name] % (b"true" if result else b"false"), max_bytes)
    return as_result(fmt, result.serialize(format=pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)),
                     max_bytes)


#: An ASK's answer in CSV and TSV, which SPARQL 1.1 defines for SELECT only: Jena's table of one column,
#: `_askResult` (pyoxigraph writes a bare `true`, which a CSV reader takes for a header without rows).
_ASK_TABLES = {"csv": b"_askResult\r\n%s\r\n", "tsv": b"?_askResult\n%s\n"}


def _page(job: QueryJob, max_bytes: int, **answer: object) -> bytes:
    """The answer as an HTML page (`plan_kg.web.results`, imported only when a page is asked for)."""
    from ..web.results import PageTooLarge, render

    try:
        return render(job.query, base_iri=job.page_base_iri, root=job.page_root, default_graphs=job.default_graphs,
                      named_graphs=job.named_graphs, max_bytes=max_bytes, **answer)  # type: ignore[arg-type]
    except PageTooLarge:
        raise too_large(max_bytes) from None


def worker_main(
    conn: Connection, store_path: str, max_rows: int, memory_bytes: int = 0, in_memory: bool = False,
    max_bytes: int = 0,
) -> None:
    """Serve jobs from `conn` until it closes. The parent owns shutdown, so SIGINT is ignored.

    With `in_memory`, the worker copies the read-only store into memory first, whole and its default graph
    alone (`memory.InMemory`; blank nodes keep their identity), and answers from the copies: the same answers, faster.
    With `memory_bytes`, the process's heap is capped (RLIMIT_DATA) at what it holds once the
    store is open plus `memory_bytes`: a query that needs more ends this worker (Rust aborts on a
    failed allocation; Python raises MemoryError, answered as "failed" so that the pool replaces
    the worker), not the machine.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if in_memory:  # the on-disk store's handle and caches are let go once copied
        store_for: Callable[[QueryJob], pyoxigraph.Store] = InMemory.of(pyoxigraph.Store.read_only(store_path)).for_job
    else:
        disk = pyoxigraph.Store.read_only(store_path)
        store_for = lambda job: disk  # noqa: E731
    # Queries run on a thread with a deep stack (see QUERY_STACK_BYTES); the limit below is set once
    # it exists, so that its reserved (not used) stack is not taken from a query's memory.
    threading.stack_size(QUERY_STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(conn, store_for, max_rows, memory_bytes, max_bytes),
                              name="plan-kg-queries")
    thread.start()
    thread.join()


#: The stack of the thread a worker runs queries on. pyoxigraph recurses over a query's syntax tree
#: (parsing, planning, evaluating, dropping it), and a main thread's 8 MB overflowed, killing the
#: worker, at ~1,000 nested calls and on flat chains too: 2,600 `MINUS {}` (24 KB), 4,087 items in a
#: list `( 1 1 ... )` (8 KB), 9,342 `!`. This is ~120 times that, for what the largest request body
#: (1 MB) can hold; only the pages a query's recursion touches are used.
QUERY_STACK_BYTES = 1 << 30


def _serve(conn: Connection, store_for: Callable[[QueryJob], pyoxigraph.Store], max_rows: int, memory_bytes: int,
           max_bytes: int) -> None:
    if memory_bytes > 0:
        limit = _data_bytes() + memory_bytes
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            started = time.perf_counter()
            result = run_job(store_for(job), job, max_rows=max_rows, max_bytes=max_bytes)
            conn.send(("ok", replace(result, run_s=time.perf_counter() - started)))
        except QueryRejected as exc:
            conn.send(("rejected", exc.status, exc.message, exc.setting))
        except MemoryError:
            conn.send(("failed", 503, memory_message(memory_bytes), "query_memory_bytes"))
            return
        except Exception as exc:  # noqa: BLE001 - report, keep serving; the parent answers 500-free
            conn.send(("rejected", 400, f"the query could not be evaluated: {type(exc).__name__}: {exc}", None))


# An update's first keyword, after the prologue and comments: never a query's. Any space (\s, not only SPARQL's):
# a text a little off is still told it is an update. A comment ends at CR too, as the parser ends it.
_UPDATE_START = re.compile(
    rf"(?:\s|#[^\n\r]*+|{DECLARATION})*+(?:INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)


def syntax_rejection(query: str, message: str) -> QueryRejected:
    """Why a text that pyoxigraph's parser refused (`message`) is not answered: 400, or 403 for an update."""
    if not query.strip():
        return QueryRejected(400, "the query is empty; send a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    if _UPDATE_START.match(query):
        return QueryRejected(403, "this endpoint is read-only: SPARQL updates are not accepted")
    position = POSITION.match(message)
    # A full-width space or sign (an input method's), or a curly quote, where the parser stopped or before: it names
    # a rule it tried further on, or a character of a name (`．` is a letter to it).
    if (wide := full_width_mistake(query, message)) is not None:
        character, ascii_form, line, column = wide
        said = f"at {line}:{column}, " + full_width_said(character, ascii_form)
    # The commonest mistake, which the parser misnames: said when declaring the prefix gets the parser further.
    elif (undeclared := undeclared_prefix(query)) is not None and declaring_helps(query, undeclared[0], message):
        prefix, line, column = undeclared
        said = (f"at {line}:{column}, '{prefix}:' is used but not declared; add a PREFIX declaration for it at the "
                "start of the query")
    elif (start := misplaced_start(query)) is not None:  # the parser names a place further on, or a rule
        word, line, column = start
        said = f"at {line}:{column}, " + (
            f"this {word.upper()} declaration is malformed: write PREFIX name: <IRI> or BASE <IRI>"
            if word.upper() in ("PREFIX", "BASE") else
            f"{word!r} is no query form: a query starts with SELECT, CONSTRUCT, DESCRIBE or ASK, after its PREFIX "
            "and BASE declarations")
    elif position is not None:  # the line it points at, and where: its rule names alone say little
        line, column, said = int(position[1]), int(position[2]), readable(query, message)
    else:
        return QueryRejected(400, f"{NOT_VALID}: {message}")
    return QueryRejected(400, f"{NOT_VALID}: {said}\n" + pointer(query, line, column))


def _data_bytes() -> int:
    """What this process's data segment holds now, as RLIMIT_DATA counts it (Linux: VmData)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def memory_message(memory_bytes: int) -> str:
    """Why a query that ran out of memory was stopped."""
    return (f"the query was stopped: it needed more than {byte_size(memory_bytes)}, this endpoint's "
            "memory limit for one query; narrow it or add LIMIT")


def _format(name: str | None, kind: str) -> formats.Format:
    if name is None:
        offered = RESULT_FORMATS if kind == "SPARQL results" else GRAPH_FORMATS
        names = ", ".join(f"{f.name} ({f.media_type})" for f in offered)
        raise QueryRejected(406, f"this query returns {kind}, offered as {names}; none of them is acceptable")
    return formats.by_name(name)
