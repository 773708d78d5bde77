"""plan_kg.sdg.links: the curated links table and the qualified link nodes it becomes."""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, XSD, BNode, Literal, Namespace, URIRef

from plan_kg.config import Settings
from plan_kg.errors import SourceError
from plan_kg.sdg.links import COLUMNS, link_graph, plan_initiatives, read_links
from plan_kg.sdg.reference import load_reference

PKG = Namespace("https://w3id.org/plan-kg/ontology#")
PROV = Namespace("http://www.w3.org/ns/prov#")
LINKS = Settings().data_dir / "sdg" / "links.csv"
INITIATIVES = frozenset({"3-2-2-2", "5-2-1-3"})
GOOD = {"initiative": "3-2-2-2", "target": "3.4", "confidence": "0.9", "method": "curated",
        "method_version": "1.0", "rationale": "フレイル予防は高齢者の健康を保つ", "date": "2026-11-28"}


def _table(tmp_path: Path, *rows: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> Path:
    path = tmp_path / "links.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _read(path: Path):
    return read_links(path, initiatives=INITIATIVES, reference=load_reference(Settings().data_dir))


def test_every_initiative_has_one_to_four_curated_targets() -> None:
    initiatives = plan_initiatives(Settings(), municipality_code="132292", plan_id="basic-plan-3")
    assert len(initiatives) == 109
    records = read_links(LINKS, initiatives=initiatives, reference=load_reference(Settings().data_dir))
    per_initiative = Counter(r.initiative for r in records)
    assert set(per_initiative) == initiatives
    assert all(1 <= n <= 4 for n in per_initiative.values())
    assert all(r.method == "curated" and r.rationale for r in records)


def test_a_good_row_is_read_with_its_types(tmp_path: Path) -> None:
    (record,) = _read(_table(tmp_path, GOOD))
    assert (record.initiative, record.target, record.confidence, record.row) == ("3-2-2-2", "3.4", Decimal("0.9"), 2)
    assert record.date.isoformat() == "2026-11-28"


def test_full_width_codes_are_normalised(tmp_path: Path) -> None:
    (record,) = _read(_table(tmp_path, GOOD | {"initiative": "３－２－２－２"}))
    assert record.initiative == "3-2-2-2"


@pytest.mark.parametrize(("change", "column", "message"), [
    ({"target": "3.99"}, "target", "'3.99' is not an SDG target code"),
    ({"target": "18.1"}, "target", "not an SDG target code"),
    ({"confidence": "1.2"}, "confidence", "outside 0..1"),
    ({"confidence": "-0.1"}, "confidence", "outside 0..1"),
    ({"confidence": "high"}, "confidence", "not a number"),
    ({"initiative": "9-9-9-9"}, "initiative", "not an initiative code"),
    ({"initiative": "3-2-2"}, "initiative", "not an initiative code"),
    ({"method": "guessed"}, "method", "not a method"),
    ({"method_version": ""}, "method_version", "empty"),
    ({"rationale": ""}, "rationale", "needs a short rationale"),
    ({"date": "28/11/2026"}, "date", "YYYY-MM-DD"),
    ({"rationale": "高齢者の\x85健康"}, "rationale", r"'高齢者の<U\+0085>健康' holds the control character U\+0085"),
    ({"rationale": "高齢者の\u2028健康\x01"}, "rationale", r"the control character U\+0001 \(character 8\)"),
])
def test_bad_rows_name_row_column_and_what_to_do(tmp_path: Path, change: dict[str, str], column: str,
                                                  message: str) -> None:
    path = _table(tmp_path, GOOD | {"target": "3.8"}, GOOD | change)
    with pytest.raises(SourceError, match=message) as info:
        _read(path)
    assert (info.value.row, info.value.column, info.value.path) == (3, column, path)


def test_a_suggested_link_needs_no_rationale(tmp_path: Path) -> None:
    (record,) = _read(_table(tmp_path, GOOD | {"method": "suggested", "rationale": ""}))
    assert record.method == "suggested"


def test_a_repeated_link_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="already on row 2") as info:
        _read(_table(tmp_path, GOOD, GOOD))
    assert info.value.row == 3


def test_a_missing_column_is_an_error(tmp_path: Path) -> None:
    path = _table(tmp_path, GOOD, columns=tuple(c for c in COLUMNS if c != "confidence"))
    with pytest.raises(SourceError, match="missing column.*confidence"):
        _read(path)


def test_a_column_named_twice_is_an_error(tmp_path: Path) -> None:
    path = _table(tmp_path, GOOD, columns=(*COLUMNS, "rationale"))
    with pytest.raises(SourceError, match="'rationale' in columns F and H") as info:
        _read(path)
    assert info.value.row == 1


def test_link_nodes_are_iris_under_their_initiative(tmp_path: Path) -> None:
    path = _table(tmp_path, GOOD, GOOD | {"target": "2.2", "confidence": "0.6", "rationale": "Older persons' nutrition"})
    graph = link_graph(Settings(), municipality_code="132292", plan_id="basic-plan-3", links_csv=path,
                       initiatives=INITIATIVES)
    initiative = URIRef("https://w3id.org/plan-kg/id/132292/basic-plan-3/3-2-2-2")
    link = URIRef(f"{initiative}/sdg/3.4")
    assert set(graph.objects(initiative, PKG.hasSdgLink)) == {link, URIRef(f"{initiative}/sdg/2.2")}
    assert (link, RDF.type, PKG.SdgLink) in graph
    assert (link, PKG.sdgTarget, URIRef("http://metadata.un.org/sdg/3.4")) in graph
    assert (link, PKG.confidence, Literal(Decimal("0.9"), datatype=XSD.decimal)) in graph
    assert (link, PKG.linkMethod, PKG.curated) in graph
    assert (link, PKG.rationale, Literal(GOOD["rationale"], lang="ja")) in graph
    assert (URIRef(f"{initiative}/sdg/2.2"), PKG.rationale, Literal("Older persons' nutrition", lang="en")) in graph
    assert (link, PROV.generatedAtTime, Literal("2026-11-28T00:00:00Z", datatype=XSD.dateTime)) in graph
    assert (link, PROV.wasAttributedTo, URIRef("https://w3id.org/plan-kg/id/agent/sdg-curation")) in graph
    assert (URIRef("https://w3id.org/plan-kg/id/agent/sdg-curation"), RDF.type, PROV.Agent) in graph
    assert not any(isinstance(term, BNode) for triple in graph for term in triple)


def test_the_base_iri_is_honoured(tmp_path: Path) -> None:
    graph = link_graph(Settings(base_iri="https://example.org/"), municipality_code="132292", plan_id="basic-plan-3",
                       links_csv=_table(tmp_path, GOOD), initiatives=INITIATIVES)
    assert {str(s) for s in graph.subjects(RDF.type, PKG.SdgLink)} == {
        "https://example.org/id/132292/basic-plan-3/3-2-2-2/sdg/3.4"}


def test_the_real_link_graph_is_the_same_on_every_build() -> None:
    def build() -> list[str]:
        graph = link_graph(Settings(), municipality_code="132292", plan_id="basic-plan-3", links_csv=LINKS)
        return sorted(graph.serialize(format="nt").splitlines())

    first = build()
    assert first == build()
    rows = LINKS.read_text(encoding="utf-8").strip().count("\n")
    assert sum(1 for line in first if line.endswith("<https://w3id.org/plan-kg/ontology#SdgLink> .")) == rows


def test_an_unknown_plan_is_an_error() -> None:
    with pytest.raises(SourceError, match="no plan 132292/other-plan"):
        plan_initiatives(Settings(), municipality_code="132292", plan_id="other-plan")


def test_each_plan_has_the_links_table_the_build_reads() -> None:
    from plan_kg.sdg.links import CURATED_PLAN, plan_links_table
    from plan_kg.source import plan_folders, read_plan

    data = Settings().data_dir
    tables = {}
    for folder in plan_folders(data):
        plan = read_plan(folder)
        tables[(plan.metadata.municipality.code, plan.metadata.plan_id)] = plan_links_table(data, plan)
    assert tables.pop(CURATED_PLAN) == data / "sdg" / "links.csv"
    assert tables[("131202", "vision-3")] == data / "nerima" / "sdg-links.csv"
    assert tables[("132136", "comprehensive-plan-5")] is None  # Higashimurayama: nothing suggested
    assert {t for t in tables.values() if t} == set(data.glob("*/sdg-links.csv"))


def test_plan_links_reads_suggested_links_of_a_plan_without_initiatives() -> None:
    from plan_kg.sdg.links import plan_links
    from plan_kg.source import read_plan

    records = plan_links(Settings().data_dir, read_plan(Settings().data_dir / "musashino"))
    assert records and {r.method for r in records} == {"suggested"}
