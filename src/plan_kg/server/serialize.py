"""A query's result serialised in the format asked for, under the row and byte limits (`worker.run_job`).

pyoxigraph writes a whole result and cannot be told to stop: the writers here count rows and bytes as
they come and abort past a limit. They also mend what pyoxigraph's writers get wrong for a client: XML
a parser refuses (`xml_safe`), CSV whose IRIs hold commas (`csv_written_here`).
"""

from __future__ import annotations

import csv
import io
import re
import xml.parsers.expat
from collections.abc import Iterable, Iterator
from itertools import islice

import pyoxigraph

from .. import formats
from .jobs import QueryRejected, QueryResult


def as_result(fmt: formats.Format, body: bytes, max_bytes: int = 0) -> QueryResult:
    """`body` as the answer in `fmt`; QueryRejected if it is over `max_bytes` (0: no limit), or if it is
    XML and holds a character XML 1.0 cannot carry (`xml_safe`)."""
    if max_bytes and len(body) > max_bytes:
        raise too_large(max_bytes)
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


def too_large(max_bytes: int) -> QueryRejected:
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
TSV = formats.by_name("tsv")
_ROW_MARKS: dict[str, tuple[bytes, int, bool]] = {  # format name -> (mark, marks allowed over max_rows, exact)
    "json": (b"},{", -1, False),  # between rows
    "xml": (b"<result>", 0, True),
    "csv": (b"\n", 1, False),  # + the header line
    "tsv": (b"\n", 1, True),
}


def serialize_solutions(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int,
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
        raise too_large(max_bytes) from None
    except _TooManyRows:
        if exact:
            _check_rows(max_rows + 1, max_rows, "rows")
        return None
    return b"".join(sink.chunks)


def serialize_triples(triples: Iterable[pyoxigraph.Triple], fmt: formats.Format, max_rows: int,
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
        raise too_large(max_bytes) from None
    except _TooManyRows:
        _check_rows(max_rows + 1, max_rows, "triples")
    return b"".join(sink.chunks)


def page_triples(triples: Iterable[pyoxigraph.Triple], max_rows: int, max_bytes: int = 0) -> list[pyoxigraph.Triple]:
    """The triples for a page, stopped past the row limit, or past the byte limit counting the text of
    their terms (a page shows every term of every triple, so it is larger still)."""
    kept: list[pyoxigraph.Triple] = []
    size = 0
    for triple in islice(triples, max_rows + 1):
        kept.append(triple)
        size += sum(len(term.value) for term in (triple.subject, triple.predicate, triple.object)
                    if not isinstance(term, pyoxigraph.Triple))
        if max_bytes and size > max_bytes:
            raise too_large(max_bytes)
    _check_rows(len(kept), max_rows, "triples")
    return kept


CSV = formats.by_name("csv")


def csv_lines_up(body: bytes, width: int) -> bool:
    """Whether every record of pyoxigraph's CSV has `width` fields. pyoxigraph 0.5 does not quote an IRI
    with a comma (SPARQL 1.1 CSV/TSV results §3.2 asks for it), which then reads as two fields."""
    if csv.field_size_limit() < len(body):  # a field as long as the answer (131,072 characters by default)
        csv.field_size_limit(len(body))
    return all(len(record) == width for record in csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


def csv_written_here(solutions: pyoxigraph.QuerySolutions, max_rows: int, max_bytes: int = 0) -> bytes:
    """`solutions` as SPARQL CSV written with Python's csv module (a field with a comma, a quote or a
    line break is quoted), through TSV for the row and size limits."""
    tsv = serialize_solutions_exactly(solutions, TSV, max_rows, max_bytes)
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


def serialize_solutions_exactly(solutions: pyoxigraph.QuerySolutions, fmt: formats.Format, max_rows: int,
                                 max_bytes: int = 0) -> bytes:
    # TSV has exactly one line per row, so it decides the limit; then it is converted to `fmt`
    # (whose size `as_result` checks: TSV is the most compact of the four).
    body = serialize_solutions(solutions, TSV, max_rows, max_bytes)
    assert body is not None  # TSV's count is exact: over the limit raised instead
    if fmt == TSV:
        return body
    target = pyoxigraph.QueryResultsFormat.from_media_type(fmt.media_type)
    return pyoxigraph.parse_query_results(body, pyoxigraph.QueryResultsFormat.TSV).serialize(format=target)
