"""The cross-city links table (data/links/cross-city.csv) -> typed records -> RDF.

One row per pair of items of different municipalities: a, b (item paths such as
132292/basic-plan-3/3-1-1), relation (closeMatch | relatedMatch), score, method, date.
Each row becomes a qualified node pkg:CrossCityLink under a's IRI
(`{a}/match/{b-path}`) plus the SKOS mapping triple in both directions (SKOS mapping
relations are symmetric). The date comes from the table, so builds stay byte-identical.

Pairs a person reviewed and found not to be counterparts go into data/links/cross-city-rejected.csv
(a, b, reason, date): `plan-kg link-cities` leaves them out however high they score, and the build
refuses a links table that still has one.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import RDF, XSD, Graph, Namespace, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from ..config import Settings
from ..errors import SourceError
from ..iris import PKG
from ..normalize import check_header, check_text, clean_cell
from ..rdf import decimal_text, literal_maker, new_graph
from .similarity import CLOSE_THRESHOLD, METHOD, PER_PLAN, RELATED_THRESHOLD, ScoredPair, candidate_pairs, plan_items

PROV = Namespace("http://www.w3.org/ns/prov#")
COLUMNS = ("a", "b", "relation", "score", "method", "date")
RELATIONS = ("closeMatch", "relatedMatch")
LINKS_TABLE = Path("links") / "cross-city.csv"
REJECTED_TABLE = Path("links") / "cross-city-rejected.csv"
REJECTED_COLUMNS = ("a", "b", "reason", "date")


@dataclass(frozen=True)
class CrossCityLinkRecord:
    a: str  # item path below {base}id/, e.g. "132292/basic-plan-3/3-1-1"
    b: str
    relation: str
    score: Decimal
    method: str
    date: dt.date
    row: int = 0


def links_graph_iri(base: str) -> URIRef:
    return URIRef(f"{base}graph/cross-city-links")


def link_iri(base: str, a: str, b: str) -> URIRef:
    return URIRef(f"{base}id/{a}/match/{b}")


def records_from_pairs(pairs: list[ScoredPair], *, date: dt.date, previous: tuple[CrossCityLinkRecord, ...] = (),
                       method: str = METHOD) -> tuple[CrossCityLinkRecord, ...]:
    """Records for freshly scored pairs; a link unchanged since `previous` keeps its old date."""
    before = {(r.a, r.b): r for r in previous}
    records = []
    for pair in pairs:
        score = Decimal(f"{pair.score:.3f}")
        old = before.get((pair.a.key, pair.b.key))
        same = old is not None and (old.relation, old.score, old.method) == (pair.relation, score, method)
        records.append(CrossCityLinkRecord(a=pair.a.key, b=pair.b.key, relation=pair.relation, score=score,
                                           method=method, date=old.date if same and old else date))
    return tuple(records)


def write_links(records: tuple[CrossCityLinkRecord, ...], path: Path) -> None:
    """Write `records` as the links table (UTF-8, sorted, LF line ends)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(records, key=lambda r: (r.a, r.b)):
        writer.writerow([r.a, r.b, r.relation, f"{r.score:.3f}", r.method, r.date.isoformat()])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")


@dataclass(frozen=True)
class KnownItems:
    """The item paths (132292/basic-plan-3/3-1-1) of every plan under `data_dir`: what a pair may name."""

    paths: frozenset[str]
    data_dir: Path


def read_links(path: Path, *, known_items: KnownItems | None = None) -> tuple[CrossCityLinkRecord, ...]:
    """The links table at `path`; SourceError names the row and column of the first problem.

    `known_items` checks that every link names an item of a plan under its data folder.
    """
    records = []
    # `plan-kg link-cities` writes this table from the plans: running it again drops a link to a gone item.
    for number, row, fail, (a, b) in _pair_rows(path, COLUMNS, known_items=known_items,
                                                unknown="run `plan-kg link-cities` again"):
        relation = clean_cell(row["relation"])
        if relation not in RELATIONS:
            raise fail("relation", f"'{relation}' is not one of {', '.join(RELATIONS)}")
        try:
            score = Decimal(clean_cell(row["score"]))
        except InvalidOperation:
            raise fail("score", f"'{row['score']}' is not a number; write a decimal from 0 to 1") from None
        if not Decimal(0) <= score <= Decimal(1):
            raise fail("score", f"{score} is outside 0..1")
        method = clean_cell(row["method"])
        if not method:
            raise fail("method", "empty; name the method and its version")
        date = _date(row, fail)
        records.append(CrossCityLinkRecord(a=a, b=b, relation=relation, score=score, method=method, date=date,
                                           row=number))
    return tuple(records)


_RowError = Callable[[str, str], SourceError]  # (column, message) -> the error naming the row and column


def _pair_rows(path: Path, columns: tuple[str, ...], *, known_items: KnownItems | None,
               unknown: str) -> Iterator[tuple[int, dict[str, str], _RowError, tuple[str, str]]]:
    """The rows of a table of pairs at `path` (none if there is no file): each with its number (the header is
    row 1), a maker of the SourceError that names it and a column, and its pair (`_pair`), each pair once;
    SourceError if the file is not UTF-8, lacks a column, or a pair is bad or written again."""
    seen: dict[tuple[str, str], int] = {}
    for number, row, fail in _rows(path, columns):
        pair = _pair(row, fail, known_items=known_items, unknown=unknown)
        if pair in seen:
            raise fail("b", f"the pair is already on row {seen[pair]}")
        seen[pair] = number
        yield number, row, fail, pair


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], _RowError]]:
    """The rows of the CSV table at `path` (none if there is no file), each with its number (the header is row 1)
    and a maker of the SourceError that names it and a column; SourceError if the file is not UTF-8 or lacks a column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return
    except UnicodeDecodeError:
        raise SourceError(path, "not UTF-8; save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    check_header(reader.fieldnames or [], path)  # a DictReader keeps the last of two columns of one name
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(missing)}; the header must be {','.join(columns)}", row=1)
    for number, row in enumerate(reader, start=2):
        for column, value in row.items():
            if isinstance(value, str):  # not the list of cells beyond the header (csv's restkey)
                check_text(value, path, row=number, column=column)
        yield number, row, functools.partial(_row_error, path, number)


def _row_error(path: Path, row: int, column: str, message: str) -> SourceError:
    return SourceError(path, message, row=row, column=column)


def _pair(row: dict[str, str], fail: _RowError, *,
          known_items: KnownItems | None, unknown: str) -> tuple[str, str]:
    """Columns a and b of a row of either table: two item paths of different municipalities, the smaller first.
    `unknown` says what to do about an item not in `known_items`."""
    a, b = clean_cell(row["a"]), clean_cell(row["b"])
    for column, value in (("a", a), ("b", b)):
        if value.count("/") < 2:
            raise fail(column, f"'{value}' is not an item path such as 132292/basic-plan-3/3-1-1")
        if known_items is not None and value not in known_items.paths:
            raise fail(column, f"'{value}' is not an item of any plan under {known_items.data_dir}; {unknown}")
    if a.split("/")[0] == b.split("/")[0]:
        raise fail("b", "both items belong to the same municipality; cross-city links join different ones")
    if not a < b:
        raise fail("b", "write each pair once, the smaller path in column a")
    return a, b


def _date(row: dict[str, str], fail: _RowError) -> dt.date:
    try:
        return dt.date.fromisoformat(clean_cell(row["date"]))
    except ValueError:
        raise fail("date", f"'{row['date']}' is not a date; write YYYY-MM-DD") from None


@dataclass(frozen=True)
class Rejection:
    """A pair a person reviewed and found not to be counterparts: never linked, however high it scores."""

    a: str
    b: str
    reason: str
    date: dt.date
    row: int = 0  # its row in the rejections table (the header is row 1)


def read_rejections(path: Path, *, known_items: KnownItems | None = None) -> dict[tuple[str, str], Rejection]:
    """The rejections table at `path` by pair (empty if there is none); SourceError names the row and column."""
    rejected: dict[tuple[str, str], Rejection] = {}
    # People write this table (link-cities only reads it): a row naming a gone item is theirs to fix.
    for number, row, fail, (a, b) in _pair_rows(path, REJECTED_COLUMNS, known_items=known_items,
                                                unknown="correct the row to name the item as it is now, or delete the row"):
        reason = clean_cell(row["reason"])
        if not reason:
            raise fail("reason", "empty; say why the two are not counterparts, for the next reviewer")
        date = _date(row, fail)
        rejected[(a, b)] = Rejection(a=a, b=b, reason=reason, date=date, row=number)
    return rejected


def links_graph(records: tuple[CrossCityLinkRecord, ...], *, base: str) -> Graph:
    """The named graph {base}graph/cross-city-links: qualified link nodes and SKOS mapping triples."""
    graph = new_graph(links_graph_iri(base))
    for triple in link_triples(records, base=base):
        graph.add(triple)
    return graph


def link_triples(records: Iterable[CrossCityLinkRecord], *, base: str) -> Iterator[tuple[URIRef, URIRef, Node]]:
    """The triples of `links_graph`, one link after another (for writers that need no Graph)."""
    literal = literal_maker()  # methods, dates and scores repeat
    for r in records:
        a, b = URIRef(f"{base}id/{r.a}"), URIRef(f"{base}id/{r.b}")
        relation = SKOS[r.relation]
        yield a, relation, b
        yield b, relation, a
        link = link_iri(base, r.a, r.b)
        yield link, RDF.type, PKG.CrossCityLink
        yield link, PKG.linkedElement, a
        yield link, PKG.linkedElement, b
        yield link, PKG.matchRelation, relation
        yield link, PKG.similarityScore, literal(decimal_text(r.score), datatype=XSD.decimal)
        yield link, PKG.similarityMethod, literal(r.method)
        yield link, PROV.generatedAtTime, literal(f"{r.date.isoformat()}T00:00:00Z", datatype=XSD.dateTime)


@dataclass(frozen=True)
class LinkingResult:
    path: Path
    links: int
    close: int
    related: int
    changed: int  # links new or changed since the previous table
    rejected: int = 0  # pairs that scored high enough but are in the rejections table


def link_cities(settings: Settings, *, date: dt.date, per_plan: int = PER_PLAN, related: float = RELATED_THRESHOLD,
                close: float = CLOSE_THRESHOLD) -> LinkingResult:
    """Recompute the cross-city links of every plan under settings.data_dir and rewrite the links table."""
    path = settings.data_dir / LINKS_TABLE
    previous = read_links(path)
    rejected = read_rejections(settings.data_dir / REJECTED_TABLE)
    pairs = candidate_pairs(plan_items(settings), per_plan=per_plan, related=related, close=close)
    kept = [pair for pair in pairs if (pair.a.key, pair.b.key) not in rejected]
    records = records_from_pairs(kept, date=date, previous=previous)
    write_links(records, path)
    before = {(r.a, r.b, r.relation, r.score, r.method) for r in previous}
    return LinkingResult(path=path, links=len(records), close=sum(r.relation == "closeMatch" for r in records),
                         related=sum(r.relation == "relatedMatch" for r in records),
                         changed=sum((r.a, r.b, r.relation, r.score, r.method) not in before for r in records),
                         rejected=len(pairs) - len(kept))


def cross_city_graph(settings: Settings, *, known_items: frozenset[str]) -> Graph | None:
    """The cross-city links graph for the build, or None when there is no links table."""
    path = settings.data_dir / LINKS_TABLE
    if not path.exists():
        return None
    known = KnownItems(paths=known_items, data_dir=settings.data_dir)
    records = read_links(path, known_items=known)
    rejections = settings.data_dir / REJECTED_TABLE
    rejected = read_rejections(rejections, known_items=known)
    for record in records:
        if (found := rejected.get((record.a, record.b))) is not None:
            raise SourceError(path, f"the pair is rejected on row {found.row} of {rejections} ({found.reason}); "
                                    "run `plan-kg link-cities` again, or delete the rejection if it no longer holds",
                              row=record.row, column="b")
    return links_graph(records, base=settings.base_iri)
