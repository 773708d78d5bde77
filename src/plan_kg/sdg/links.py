"""SDG links tables -> typed records -> qualified link nodes in RDF.

A plan's table is `sdg-links.csv` in its folder, except the curated plan's, which is
`data/sdg/links.csv` (`plan_links_table` is the one place that says so). One row per
link: initiative, target, confidence, method, method_version, rationale, date. Each link
becomes the node `{item_iri}/sdg/{target}`; its provenance date comes from the table, so
the output is the same on every build.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

from ..config import Settings
from ..errors import SourceError
from ..iris import PKG, item_iri
from ..normalize import check_header, check_text, clean_cell, normalize_code
from ..rdf import decimal_text, literal_maker
from .reference import SdgReference, load_reference

if TYPE_CHECKING:
    from ..source import PlanSource

PROV = Namespace("http://www.w3.org/ns/prov#")
COLUMNS = ("initiative", "target", "confidence", "method", "method_version", "rationale", "date")
METHODS = ("curated", "suggested")

#: Which plan the curated table belongs to (municipality code, plan id), and where that table is.
CURATED_PLAN = ("132292", "basic-plan-3")
CURATED_TABLE = Path("sdg") / "links.csv"  # below the data folder
PLAN_TABLE = "sdg-links.csv"  # in a plan's own folder: any other plan's links (e.g. suggested ones)


@dataclass(frozen=True)
class SdgLinkRecord:
    """One row of the links table, checked."""

    initiative: str  # item code, e.g. "3-2-2-2"
    target: str  # SDG target code, e.g. "3.4"
    confidence: Decimal
    method: str  # "curated" | "suggested"
    method_version: str
    rationale: str
    date: dt.date
    row: int


def agent_iri(base: str, method: str) -> URIRef:
    """Who made links of this method: the plan-kg curators or the suggester."""
    return URIRef(f"{base}id/agent/sdg-{'curation' if method == 'curated' else 'suggester'}")


_AGENT_LABELS = {
    "curated": (PROV.Agent, "plan-kg の SDG 対応づけ担当", "plan-kg SDG curation"),
    "suggested": (PROV.SoftwareAgent, "plan-kg SDG 提案器", "plan-kg SDG suggester"),
}


def _agent_triples(base: str, method: str) -> Iterator[tuple]:
    agent = agent_iri(base, method)
    kind, label_ja, label_en = _AGENT_LABELS[method]
    yield agent, RDF.type, kind
    yield agent, RDFS.label, Literal(label_ja, lang="ja")
    yield agent, RDFS.label, Literal(label_en, lang="en")


def link_iri(base: str, municipality_code: str, plan_id: str, initiative: str, target: str) -> URIRef:
    return URIRef(f"{item_iri(base, municipality_code, plan_id, initiative)}/sdg/{target}")


def _cell(row: dict[str, str | None], column: str) -> str:
    return clean_cell(row.get(column))


def _record(row: dict[str, str | None], number: int, path: Path, *, initiatives: frozenset[str],
            reference: SdgReference) -> SdgLinkRecord:
    def fail(column: str, message: str) -> SourceError:
        return SourceError(path, message, row=number, column=column)

    initiative = normalize_code(_cell(row, "initiative"))
    if initiative not in initiatives:
        raise fail("initiative", f"'{initiative}' is not an initiative code of the plan's items.csv; "
                                 "use the code of a 取組 row there, e.g. 1-1-1-1")
    target = normalize_code(_cell(row, "target"))
    if reference.target(target) is None:
        raise fail("target", f"'{target}' is not an SDG target code; use one of the 169, e.g. 3.8 or 11.a")
    try:
        confidence = Decimal(_cell(row, "confidence"))
    except InvalidOperation:
        raise fail("confidence", f"'{_cell(row, 'confidence')}' is not a number; write a decimal from 0 to 1") from None
    if not Decimal(0) <= confidence <= Decimal(1):
        raise fail("confidence", f"{confidence} is outside 0..1; write a decimal from 0 to 1")
    method = _cell(row, "method")
    if method not in METHODS:
        raise fail("method", f"'{method}' is not a method; write one of {', '.join(METHODS)}")
    version = _cell(row, "method_version")
    if not version:
        raise fail("method_version", "empty; write the version of the method, e.g. 1.0")
    rationale = _cell(row, "rationale")
    if method == "curated" and not rationale:
        raise fail("rationale", "a curated link needs a short rationale; say why the initiative serves the target")
    try:
        date = dt.date.fromisoformat(_cell(row, "date"))
    except ValueError:
        raise fail("date", f"'{_cell(row, 'date')}' is not a date; write it as YYYY-MM-DD") from None
    return SdgLinkRecord(initiative=initiative, target=target, confidence=confidence, method=method,
                         method_version=version, rationale=rationale, date=date, row=number)


def table_text(path: Path) -> str:
    """The text of the CSV table at `path` (UTF-8, a BOM dropped); SourceError if it is in another encoding."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(path, "not UTF-8; save it as UTF-8 (CSV UTF-8 in Excel)") from None


#: What to do about a links table (or another table given for one) without the columns read from it.
LINKS_HEADER = f"a links table's header is {','.join(COLUMNS)}"


def table_rows(path: Path, columns: Sequence[str], fix: str) -> csv.DictReader:
    """The rows of the CSV table at `path` (`table_text`); SourceError on its header row if one of `columns` is
    missing, followed by `fix` (what to do)."""
    reader = csv.DictReader(io.StringIO(table_text(path), newline=""))  # not splitlines(): it breaks rows at U+2028 …
    if missing := [column for column in columns if column not in (reader.fieldnames or [])]:
        raise SourceError(path, f"missing column(s) {', '.join(missing)}; {fix}", row=1)
    return reader


def read_links(path: Path, *, initiatives: frozenset[str], reference: SdgReference) -> tuple[SdgLinkRecord, ...]:
    """The links table at `path`, every row checked; SourceError names the row and column of the first problem."""
    try:
        text = table_text(path)
    except FileNotFoundError:
        raise SourceError(path, "missing; create it with the columns " + ",".join(COLUMNS)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))  # not splitlines(): it breaks rows at U+0085, U+2028 …
    check_header(reader.fieldnames or [], path)  # a DictReader keeps the last of two columns of one name
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SourceError(path, f"missing column(s) {', '.join(missing)}; the header must be {','.join(COLUMNS)}", row=1)
    records, seen = [], {}
    for number, row in enumerate(reader, start=2):
        for column, value in row.items():
            if isinstance(value, str):  # not the list of cells beyond the header (csv's restkey)
                check_text(value, path, row=number, column=column)
        record = _record(row, number, path, initiatives=initiatives, reference=reference)
        key = (record.initiative, record.target)
        if key in seen:
            raise SourceError(path, f"{record.initiative} -> {record.target} is already on row {seen[key]}; keep one row",
                              row=number, column="target")
        seen[key] = number
        records.append(record)
    return tuple(records)


def plan_links_table(data_dir: Path, plan: PlanSource) -> Path | None:
    """The plan's SDG links table, or None when it has none.

    The curated plan's is data/sdg/links.csv; every other plan's is sdg-links.csv in its folder.
    """
    if (plan.metadata.municipality.code, plan.metadata.plan_id) == CURATED_PLAN:
        path = data_dir / CURATED_TABLE
    else:
        path = plan.items_path.parent / PLAN_TABLE
    return path if path.is_file() else None


def linkable_codes(plan: PlanSource) -> frozenset[str]:
    """Codes a plan's SDG links may name: its initiatives, or every element when it has no initiative level."""
    initiatives = frozenset(item.code for item in plan.items if item.level_class == "Initiative")
    return initiatives or frozenset(item.code for item in plan.items)


def plan_links(data_dir: Path, plan: PlanSource, *, reference: SdgReference | None = None) -> tuple[SdgLinkRecord, ...]:
    """The checked SDG link records of `plan` (none when it has no table)."""
    path = plan_links_table(data_dir, plan)
    if path is None:
        return ()
    return read_links(path, initiatives=linkable_codes(plan), reference=reference or load_reference(data_dir))


def plan_initiatives(settings: Settings, *, municipality_code: str, plan_id: str) -> frozenset[str]:
    """Codes of the initiatives of one plan, read from its items.csv."""
    from ..source import plan_folders, read_plan  # the lead's reader, one step up the flow

    for folder in plan_folders(settings.data_dir):
        plan = read_plan(folder)
        if plan.metadata.municipality.code == municipality_code and plan.metadata.plan_id == plan_id:
            return frozenset(item.code for item in plan.items if item.level_class == "Initiative")
    raise SourceError(settings.data_dir, f"no plan {municipality_code}/{plan_id} under this folder")


def records_graph(records: tuple[SdgLinkRecord, ...], *, base: str, municipality_code: str, plan_id: str,
                  reference: SdgReference) -> Graph:
    """Qualified link nodes (and the initiatives' pkg:hasSdgLink) for `records`."""
    graph = Graph()
    graph.bind("pkg", PKG)
    graph.bind("prov", PROV)
    for triple in records_triples(records, base=base, municipality_code=municipality_code, plan_id=plan_id,
                                  reference=reference):
        graph.add(triple)
    return graph


def records_triples(records: tuple[SdgLinkRecord, ...], *, base: str, municipality_code: str, plan_id: str,
                    reference: SdgReference) -> Iterator[tuple]:
    """`records_graph`'s triples without the Graph (national-scale builds make ~2,000 a plan)."""
    for method in sorted({record.method for record in records}):
        yield from _agent_triples(base, method)
    literal = literal_maker()  # a plan's links mostly share version, confidence and date
    for record in records:
        initiative = item_iri(base, municipality_code, plan_id, record.initiative)
        link = link_iri(base, municipality_code, plan_id, record.initiative, record.target)
        target = reference.target(record.target)
        assert target is not None  # checked by read_links
        yield initiative, PKG.hasSdgLink, link
        yield link, RDF.type, PKG.SdgLink
        yield link, PKG.sdgTarget, target.iri
        yield link, PKG.linkMethod, PKG[record.method]
        yield link, PKG.methodVersion, literal(record.method_version)
        yield link, PKG.confidence, literal(decimal_text(record.confidence), datatype=XSD.decimal)
        if record.rationale:
            yield link, PKG.rationale, Literal(record.rationale, lang=_language(record.rationale))
        yield link, PROV.wasAttributedTo, agent_iri(base, record.method)
        yield link, PROV.generatedAtTime, literal(f"{record.date.isoformat()}T00:00:00Z", datatype=XSD.dateTime)


def _language(text: str) -> str:
    """'ja' when the rationale has any Japanese character, else 'en'."""
    return "ja" if any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def link_graph(settings: Settings, *, municipality_code: str, plan_id: str, links_csv: Path,
               initiatives: frozenset[str] | None = None) -> Graph:
    """The qualified SDG link nodes of one plan, from `links_csv`.

    `initiatives` defaults to the initiative codes in the plan's items.csv.
    """
    if initiatives is None:
        initiatives = plan_initiatives(settings, municipality_code=municipality_code, plan_id=plan_id)
    reference = load_reference(settings.data_dir)
    records = read_links(links_csv, initiatives=initiatives, reference=reference)
    return records_graph(records, base=settings.base_iri, municipality_code=municipality_code, plan_id=plan_id,
                         reference=reference)
