"""One query, run and serialised: in a worker process (`worker_main`) or in-process (`run_job`).

Queries run in separate processes because pyoxigraph has no query timeout and a thread
cannot be stopped: the pool kills the process instead. (The exception, a lookup of one triple
pattern that cannot run away, is run in the server process with the same `run_job`: see
`lookup.py`.) Results are serialised here so the server only moves bytes.
"""

from __future__ import annotations

import csv
import io
import re
import resource
import signal
import threading
import xml.parsers.expat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection

import pyoxigraph

from .. import formats
from .guard import ForbiddenQuery, check_nesting, check_services, may_use_service
from .negotiation import GRAPH_FORMATS, PAGE, RESULT_FORMATS
from .syntax import POSITION, declaring_helps, pointer, undeclared_prefix

@dataclass(frozen=True)
class QueryJob:
    """A parsed request: the query text, its dataset and the formats acceptable per result kind."""

    query: str
    base_iri: str | None = None
    default_graphs: tuple[str, ...] | None = None  # protocol dataset; None: union of named graphs
    named_graphs: tuple[str, ...] | None = None
    results_format: str | None = None  # plan_kg.formats name for SELECT/ASK; None: not acceptable
    graph_format: str | None = None  # ... for CONSTRUCT/DESCRIBE
    service_allow_list: tuple[str, ...] = ()  # the endpoints SERVICE may name (guard.check_services)
    page_base_iri: str = ""  # the data's base IRI: an HTML answer links IRIs under it to this server's pages
    page_root: str = ""  # the path this server is served under (Settings.public_path): its pages' links start with it


@dataclass(frozen=True)
class QueryResult:
    """A serialised answer."""

    media_type: str  # what to send as Content-Type
    body: bytes


class QueryRejected(Exception):
    """The query cannot be answered; `status` is the HTTP status that says why, `retry_after_s`
    (None: do not) when to try again: a busy endpoint, not a query that fails whenever it is sent; and `setting` the
    one of `Settings` whose limit refused it (None: no limit did), which `plan-kg query` names to the operator."""

    def __init__(self, status: int, message: str, *, retry_after_s: int | None = None, setting: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
        self.setting = setting


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
        if may_use_service(job.query):
            check_services(job.query, base_iri=job.base_iri or "", allow_list=job.service_allow_list)
    except ForbiddenQuery as exc:
        raise QueryRejected(exc.status, str(exc)) from exc
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
                tsv = _serialize_solutions_exactly(result, _TSV, max_rows, max_bytes)
                solutions = pyoxigraph.parse_query_results(tsv, pyoxigraph.QueryResultsFormat.TSV)
                variables = [variable.value for variable in solutions.variables]  # type: ignore[union-attr]
                rows = ([row[v] for v in variables] for row in solutions)  # type: ignore[union-attr]
                return as_result(fmt, _page(job, max_bytes, variables=variables, rows=rows,
                                            count=tsv.count(b"\n") - 1), max_bytes)
            width = len(result.variables)
            body = _serialize_solutions(result, fmt, max_rows, max_bytes)
            if body is None:  # maybe over the limit: decide exactly, on a second run
                body = _serialize_solutions_exactly(run(), fmt, max_rows, max_bytes)
            if fmt == _CSV and not _csv_lines_up(body, width):  # an IRI with a comma: written here, on a third
                body = _csv_written_here(run(), max_rows, max_bytes)  # type: ignore[arg-type]
            return as_result(fmt, body, max_bytes)
        fmt = _format(job.graph_format, "RDF")
        if fmt == PAGE:
            triples = _page_triples(result, max_rows, max_bytes)  # type: ignore[arg-type]
            return as_result(fmt, _page(job, max_bytes, graph=True, count=len(triples),
                                        rows=[(t.subject, t.predicate, t.object) for t in triples]), max_bytes)
        return as_result(fmt, _serialize_triples(result, fmt, max_rows, max_bytes), max_bytes)  # type: ignore[arg-type]
    except SyntaxError as exc:
        raise syntax_rejection(job.query, str(exc)) from exc
    except OSError as exc:
        # Evaluation errors (SERVICE failures, unsupported features) surface as OSError.
        raise QueryRejected(400, f"the query could not be evaluated: {exc}") from exc


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
        raise _too_large(max_bytes) from None


def worker_main(
    conn: Connection, store_path: str, max_rows: int, memory_bytes: int = 0, in_memory: bool = False,
    max_bytes: int = 0,
) -> None:
    """Serve jobs from `conn` until it closes. The parent owns shutdown, so SIGINT is ignored.

    With `in_memory`, the worker copies the read-only store into an in-memory store first
    (blank nodes keep their identity) and answers from the copy: the same answers, faster.
    With `memory_bytes`, the process's heap is capped (RLIMIT_DATA) at what it holds once the
    store is open plus `memory_bytes`: a query that needs more ends this worker (Rust aborts on a
    failed allocation; Python raises MemoryError, answered as "failed" so that the pool replaces
    the worker), not the machine.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = pyoxigraph.Store.read_only(store_path)
    if in_memory:
        copy = pyoxigraph.Store()
        copy.bulk_extend(store.quads_for_pattern(None, None, None, None))
        del store  # the on-disk store's handle and caches
        store = copy
    # Queries run on a thread with a deep stack (see QUERY_STACK_BYTES); the limit below is set once
    # it exists, so that its reserved (not used) stack is not taken from a query's memory.
    threading.stack_size(QUERY_STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(conn, store, max_rows, memory_bytes, max_bytes),
                              name="plan-kg-queries")
    thread.start()
    thread.join()


#: The stack of the thread a worker runs queries on. pyoxigraph recurses over a query's syntax tree
#: (parsing, planning, evaluating, dropping it), and a main thread's 8 MB overflowed, killing the
#: worker, at ~1,000 nested calls and on flat chains too: 2,600 `MINUS {}` (24 KB), 4,087 items in a
#: list `( 1 1 ... )` (8 KB), 9,342 `!`. This is ~120 times that, for what the largest request body
#: (1 MB) can hold; only the pages a query's recursion touches are used.
QUERY_STACK_BYTES = 1 << 30


def _serve(conn: Connection, store: pyoxigraph.Store, max_rows: int, memory_bytes: int, max_bytes: int) -> None:
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
            conn.send(("ok", run_job(store, job, max_rows=max_rows, max_bytes=max_bytes)))
        except QueryRejected as exc:
            conn.send(("rejected", exc.status, exc.message, exc.setting))
        except MemoryError:
            conn.send(("failed", 503, memory_message(memory_bytes), "query_memory_bytes"))
            return
        except Exception as exc:  # noqa: BLE001 - report, keep serving; the parent answers 500-free
            conn.send(("rejected", 400, f"the query could not be evaluated: {type(exc).__name__}: {exc}", None))


# An update's first keyword, after the prologue and comments: never a query's.
_UPDATE_START = re.compile(
    r"(?:\s|#[^\n]*+|PREFIX\s*+[^\s:]*+:\s*+<[^>]*+>|BASE\s*+<[^>]*+>)*+"  # possessive: no backtracking
    r"(?:INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)


def syntax_rejection(query: str, message: str) -> QueryRejected:
    """Why a text that pyoxigraph's parser refused (`message`) is not answered: 400, or 403 for an update."""
    if not query.strip():
        return QueryRejected(400, "the query is empty; send a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    if _UPDATE_START.match(query):
        return QueryRejected(403, "this endpoint is read-only: SPARQL updates are not accepted")
    # The commonest mistake, which the parser misnames: said when declaring the prefix gets the parser further.
    if (undeclared := undeclared_prefix(query)) is not None and declaring_helps(query, undeclared[0], message):
        prefix, line, column = undeclared
        return QueryRejected(400, f"the query is not valid SPARQL 1.1: at {line}:{column}, '{prefix}:' is used but "
                                  "not declared; add a PREFIX declaration for it at the start of the query\n"
                                  + pointer(query, line, column))
    if position := POSITION.match(message):  # the line it points at, and where: its rule names alone say little
        return QueryRejected(400, f"the query is not valid SPARQL 1.1: {message}\n"
                                  + pointer(query, int(position[1]), int(position[2])))
    return QueryRejected(400, f"the query is not valid SPARQL 1.1: {message}")


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


def as_result(fmt: formats.Format, body: bytes, max_bytes: int = 0) -> QueryResult:
    """`body` as the answer in `fmt`; QueryRejected if it is over `max_bytes` (0: no limit), or if it is
    XML and holds a character XML 1.0 cannot carry (`xml_safe`)."""
    if max_bytes and len(body) > max_bytes:
        raise _too_large(max_bytes)
    if fmt.name in _XML_FORMATS:
        body = xml_safe(body, fmt)
    media_type = fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else "")
    return QueryResult(media_type=media_type, body=body)


_XML_FORMATS = frozenset({"xml", "rdfxml"})
# What XML 1.0 (2.2 Char) excludes and UTF-8 can hold: C0 controls but tab, LF and CR; U+FFFE and U+FFFF.
_NOT_XML = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")


def xml_safe(body: bytes, fmt: formats.Format) -> bytes:
    """pyoxigraph's XML `body` made well-formed: a CR in a value written `&#13;` (a parser would read a bare
    one as a line end, 2.11), and QueryRejected (406) for a character XML 1.0 cannot carry at all."""
    if (found := _NOT_XML.search(body)) is not None:
        character = found.group().decode("utf-8")
        raise QueryRejected(406, f"the answer holds the character U+{ord(character):04X}, which {fmt.media_type} "
                                 "(XML 1.0) cannot carry; ask for it as JSON, CSV or TSV (SELECT, ASK) or as "
                                 "Turtle, N-Triples or JSON-LD (CONSTRUCT, DESCRIBE)")
    body = body.replace(b"\r", b"&#13;")  # pyoxigraph ends its own lines with LF: a CR is in a value
    if fmt.name == "rdfxml":  # pyoxigraph writes a predicate it cannot split into a QName as `<oxprefix:`
        try:
            xml.parsers.expat.ParserCreate(namespace_separator=" ").Parse(body, True)  # namespaces: QNames are checked
        except xml.parsers.expat.ExpatError:
            raise QueryRejected(406, "this answer cannot be written as RDF/XML (a predicate IRI that does not end in "
                                     "a name, such as one ending in '/', has no XML form); ask for it as Turtle, "
                                     "N-Triples or JSON-LD") from None
    return body


def _check_rows(count: int, max_rows: int, what: str) -> None:
    if count > max_rows:
        paging = (f"page through it with ORDER BY, LIMIT {max_rows} and OFFSET" if what == "rows" else
                  "page through it with LIMIT and OFFSET (a DESCRIBE's LIMIT counts the resources, each with all "
                  "of its triples)")
        raise QueryRejected(400, f"the result has more than {max_rows} {what}, this endpoint's limit; narrow the "
                                 f"query, or {paging}", setting="max_result_rows")


def byte_size(count: int) -> str:
    """`count` bytes as people read it: "64 MB", or "2500 bytes" below a megabyte."""
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count} bytes"


def _too_large(max_bytes: int) -> QueryRejected:
    return QueryRejected(400, f"the result is larger than {byte_size(max_bytes)}, this endpoint's limit; "
                              "select fewer or shorter values, or add LIMIT", setting="max_response_bytes")


class _TooManyRows(Exception):
    pass


class _TooLarge(Exception):
    pass


class _CountingSink:
    """A binary writer that keeps what it is given and stops once `mark` (None: not counted) has
    occurred more than `most` times, or once it holds more than `max_bytes` bytes (0: no such limit)."""

    def __init__(self, mark: bytes | None, most: int, max_bytes: int = 0) -> None:
        self.mark = mark
        self.most = most
        self.max_bytes = max_bytes
        self.count = 0
        self.size = 0
        self.chunks: list[bytes] = []
        self._tail = b""  # the end of the last chunk, for a mark split between two chunks

    def write(self, data: bytes) -> int:
        data = bytes(data)
        self.size += len(data)
        if self.max_bytes and self.size > self.max_bytes:
            raise _TooLarge
        if self.mark is not None:
            seen = self._tail + data
            self.count += seen.count(self.mark)
            if self.count > self.most:
                raise _TooManyRows
            self._tail = seen[len(seen) - len(self.mark) + 1:]
        self.chunks.append(data)
        return len(data)

    def flush(self) -> None:
        pass


# What every row of a result writes at least once, and how many of them `max_rows` rows may write.
# XML escapes "<" in values and TSV escapes newlines, so their counts are exact; a JSON string or
# a CSV field may hold "},{" or a newline, so there a count over the limit is only a maybe.
_TSV = formats.by_name("tsv")
_ROW_MARKS: dict[str, tuple[bytes, int, bool]] = {  # format name -> (mark, marks allowed over max_rows, exact)
    "json": (b"},{", -1, False),  # between rows
    "xml": (b"<result>", 0, True),
    "csv": (b"\n", 1, False),  # + the header line
    "tsv": (b"\n", 1, True),
}


def _serialize_solutions(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int,
                         max_bytes: int = 0) -> bytes | None:
    """`solutions` written in `fmt`, stopped past the row limit; None if they may be over it (ask again exactly).

    pyoxigraph serialises only a whole, unread result and cannot be told to stop, so the writer
    counts each row's mark as the bytes come and aborts once there are too many.
    """
    mark, extra, exact = _ROW_MARKS[fmt.name]
    sink = _CountingSink(mark, max_rows + extra, max_bytes)
    try:
        solutions.serialize(sink, format=pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type))
    except _TooLarge:
        raise _too_large(max_bytes) from None
    except _TooManyRows:
        if exact:
            _check_rows(max_rows + 1, max_rows, "rows")
        return None
    return b"".join(sink.chunks)


def _serialize_triples(triples: Iterable[pyoxigraph.Triple], fmt: formats.Format, max_rows: int,
                       max_bytes: int = 0) -> bytes:
    """`triples` written in `fmt` as they come, stopped past the row or byte limit (not after: a
    CONSTRUCT can make each of 10,000 triples hold a megabyte)."""

    def counted() -> Iterator[pyoxigraph.Triple]:
        for number, triple in enumerate(triples, 1):
            if number > max_rows:
                raise _TooManyRows
            yield triple

    sink = _CountingSink(None, 0, max_bytes)
    try:
        pyoxigraph.serialize(counted(), sink, format=pyoxigraph.RdfFormat.from_media_type(fmt.media_type))
    except _TooLarge:
        raise _too_large(max_bytes) from None
    except _TooManyRows:
        _check_rows(max_rows + 1, max_rows, "triples")
    return b"".join(sink.chunks)


def _page_triples(triples: Iterable[pyoxigraph.Triple], max_rows: int, max_bytes: int = 0) -> list[pyoxigraph.Triple]:
    """The triples for a page, stopped past the row limit, or past the byte limit counting the text of
    their terms (a page shows every term of every triple, so it is larger still)."""
    kept: list[pyoxigraph.Triple] = []
    size = 0
    for triple in islice(triples, max_rows + 1):
        kept.append(triple)
        size += sum(len(term.value) for term in (triple.subject, triple.predicate, triple.object)
                    if not isinstance(term, pyoxigraph.Triple))
        if max_bytes and size > max_bytes:
            raise _too_large(max_bytes)
    _check_rows(len(kept), max_rows, "triples")
    return kept


_CSV = formats.by_name("csv")


def _csv_lines_up(body: bytes, width: int) -> bool:
    """Whether every record of pyoxigraph's CSV has `width` fields. pyoxigraph 0.5 does not quote an IRI
    with a comma (SPARQL 1.1 CSV/TSV results §3.2 asks for it), which then reads as two fields."""
    if csv.field_size_limit() < len(body):  # a field as long as the answer (131,072 characters by default)
        csv.field_size_limit(len(body))
    return all(len(record) == width for record in csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def _csv_written_here(solutions: pyoxigraph.QuerySolutions, max_rows: int, max_bytes: int = 0) -> bytes:
    """`solutions` as SPARQL CSV written with Python's csv module (a field with a comma, a quote or a
    line break is quoted), through TSV for the row and size limits."""
    tsv = _serialize_solutions_exactly(solutions, _TSV, max_rows, max_bytes)
    parsed = pyoxigraph.parse_query_results(tsv, pyoxigraph.QueryResultsFormat.TSV)
    variables = [variable.value for variable in parsed.variables]  # type: ignore[union-attr]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    writer.writerows([_csv_value(row[variable]) for variable in variables] for row in parsed)  # type: ignore[union-attr]
    return out.getvalue().encode("utf-8")


def _csv_value(term: object) -> str:
    """A term as SPARQL CSV writes it: an IRI or a literal as its text, a blank node as `_:label`, a
    triple term as its three values (as pyoxigraph writes it), an unbound variable as nothing."""
    if term is None:
        return ""
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, pyoxigraph.Triple):
        return " ".join(_csv_value(part) for part in (term.subject, term.predicate, term.object))
    return term.value  # type: ignore[attr-defined]


def _serialize_solutions_exactly(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int,
                                 max_bytes: int = 0) -> bytes:
    # TSV has exactly one line per row, so it decides the limit; then it is converted to `fmt`
    # (whose size `as_result` checks: TSV is the most compact of the four).
    body = _serialize_solutions(solutions, _TSV, max_rows, max_bytes)
    assert body is not None  # TSV's count is exact: over the limit raised instead
    if fmt == _TSV:
        return body
    target = pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)
    return pyoxigraph.parse_query_results(body, pyoxigraph.QueryResultsFormat.TSV).serialize(format=target)
