"""plan_kg.sdg.reference: normalised Japanese SDG text, corrections, reference graphs."""

from __future__ import annotations

import csv

import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import RDF, SKOS, BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from plan_kg.config import Settings
from plan_kg.errors import SourceError
from plan_kg.sdg.reference import (
    SDGO, is_target_code, load_reference, normalise_sdg_ja, reference_graphs, target_iri,
)

SDG = "http://metadata.un.org/sdg/"


def test_normalise_makes_digits_half_width_and_drops_stray_spaces() -> None:
    assert normalise_sdg_ja("現在１日1.25ドル") == "現在1日1.25ドル"
    assert normalise_sdg_ja("すべての国々は 各国の能力") == "すべての国々は各国の能力"
    # The MOFA translation's full-width brackets are its own typography, kept as the source has them.
    assert normalise_sdg_ja("ドーハ・ラウンド（ DDA）") == "ドーハ・ラウンド（DDA）"


def test_normalise_leaves_ordinary_japanese_alone() -> None:
    text = "あらゆる場所のあらゆる形態の貧困を終わらせる"
    assert normalise_sdg_ja(text) == text


def test_17_goals_and_169_targets() -> None:
    reference = load_reference(Settings().data_dir)
    assert [g.number for g in reference.goals] == list(range(1, 18))
    assert len(reference.targets) == 169
    assert all(is_target_code(t.code) for t in reference.targets)


def test_every_japanese_target_text_is_normalised_and_otherwise_the_sources() -> None:
    source = {row["target"]: row["text_ja"] for row in csv.DictReader(
        (Settings().data_dir / "sdg" / "reference" / "sdg-targets.csv").open(encoding="utf-8"))}
    corrected = {row["target"] for row in csv.DictReader(
        (Settings().data_dir / "sdg" / "ja-corrections.csv").open(encoding="utf-8")) if row["action"] == "fix"}
    brackets = 0
    for target in load_reference(Settings().data_dir).targets:
        assert not any("\uff10" <= c <= "\uff19" for c in target.text_ja), target.code
        assert " " not in target.text_ja and "\u3000" not in target.text_ja, target.code
        if target.code not in corrected:  # what the source says, its spaces and full-width digits aside
            kept = "".join(source[target.code].split())
            assert target.text_ja == "".join(unicodedata.normalize("NFKC", c) if "\uff10" <= c <= "\uff19" else c
                                             for c in kept), target.code
        brackets += target.text_ja.count("（")
    assert brackets > 0  # the MOFA translation's full-width brackets, kept (NFKC made them ASCII)


def test_suspected_errors_are_fixed_and_noted() -> None:
    reference = load_reference(Settings().data_dir)
    t174 = reference.target("17.4")
    assert t174 is not None and "重債務貧困国" in t174.text_ja and "、責務貧困国" not in t174.text_ja
    t43 = reference.target("4.3")
    assert t43 is not None and t43.text_ja.startswith("2030年までに、すべての人々が男女の区別なく")
    t85 = reference.target("8.5")
    assert t85 is not None and "すべての男性及び女性の、完全かつ" in t85.text_ja
    for code in ("4.3", "8.5", "17.4", "9.4", "17.2", "17.10", "13.b"):
        target = reference.target(code)
        assert target is not None and target.notes, code


def test_short_names_keep_their_deliberate_space() -> None:
    goals = {g.number: g for g in load_reference(Settings().data_dir).goals}
    assert goals[12].short_ja == "つくる責任 つかう責任"
    assert goals[2].short_ja == "飢餓をゼロに"


def test_target_iri_rejects_non_codes() -> None:
    assert target_iri("11.a") == URIRef(SDG + "11.a")
    with pytest.raises(ValueError, match="not an SDG target code"):
        target_iri("3-8")


def test_reference_graphs_are_named_under_the_base() -> None:
    graphs = reference_graphs(Settings(base_iri="https://example.org/kg/"))
    assert set(graphs) == {URIRef("https://example.org/kg/graph/sdg"), URIRef("https://example.org/kg/graph/un-sdg-kos")}
    assert all(g.identifier == iri for iri, g in graphs.items())


def test_sdg_graph_has_goals_targets_and_bilingual_labels() -> None:
    graph = reference_graphs(Settings())[URIRef("https://w3id.org/plan-kg/graph/sdg")]
    goals = set(graph.subjects(RDF.type, SDGO.Goal))
    targets = set(graph.subjects(RDF.type, SDGO.Target))
    assert len(goals) == 17 and len(targets) == 169
    for concept in goals | targets:
        languages = {label.language for label in graph.objects(concept, SKOS.prefLabel)}
        assert languages == {"ja", "en"}, concept
    assert (URIRef(SDG + "3.8"), SDGO.isTargetOf, URIRef(SDG + "3")) in graph
    assert (URIRef(SDG + "2"), SKOS.altLabel, Literal("飢餓をゼロに", lang="ja")) in graph
    notes = {n.language for n in graph.objects(URIRef(SDG + "17.4"), SKOS.editorialNote)}
    assert notes == {"ja", "en"}
    assert not any(isinstance(term, BNode) for triple in graph for term in triple)


def test_sdg_graph_is_the_same_on_every_call() -> None:
    first = reference_graphs(Settings())[URIRef("https://w3id.org/plan-kg/graph/sdg")]
    second = reference_graphs(Settings())[URIRef("https://w3id.org/plan-kg/graph/sdg")]
    assert sorted(first.serialize(format="nt").splitlines()) == sorted(second.serialize(format="nt").splitlines())


def test_kos_graph_is_the_dump_unchanged() -> None:
    settings = Settings()
    kos = reference_graphs(settings)[URIRef("https://w3id.org/plan-kg/graph/un-sdg-kos")]
    expected = Graph()
    for name in ("sdg-kos-goals-targets-indicators.ttl", "sdgs-ontology.ttl"):
        expected.parse(settings.data_dir / "sdg" / "reference" / name, format="turtle")
    assert isomorphic(kos, expected)
    assert (URIRef(SDG + "3.8"), SKOS.broader, URIRef(SDG + "3")) in kos


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(Settings().data_dir / "sdg", data / "sdg")
    return data


def test_a_correction_that_no_longer_applies_is_an_error(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    path = data / "sdg" / "ja-corrections.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("責務貧困国,重債務", "存在しない語,重債務"), encoding="utf-8")
    with pytest.raises(SourceError, match="target 17.4: '存在しない語' is not in the text") as info:
        load_reference(data)
    assert info.value.column == "find"


def test_a_missing_kos_dump_is_an_error(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    (data / "sdg" / "reference" / "sdgs-ontology.ttl").unlink()
    with pytest.raises(SourceError, match="missing"):
        reference_graphs(Settings(data_dir=data))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_sdg_ja(text)
    assert normalise_sdg_ja(once) == once
    assert not any(ch.isspace() for ch in once)
