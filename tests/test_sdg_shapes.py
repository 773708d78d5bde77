"""shapes/sdg.ttl: each shape has fixtures that must fail it and fixtures that must pass; the real links conform."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from plan_kg.config import Settings
from plan_kg.sdg.links import link_graph
from plan_kg.sdg.reference import reference_graphs

SH = Namespace("http://www.w3.org/ns/shacl#")
PKG = Namespace("https://w3id.org/plan-kg/ontology#")
PKGSH = Namespace("https://w3id.org/plan-kg/shapes#")
ROOT = Settings().root
FIXTURES = ROOT / "tests" / "fixtures" / "sdg"
SHAPES = Graph().parse(ROOT / "shapes" / "sdg.ttl", format="turtle")
ONTOLOGY = Graph()  # the whole ontology, as the build validates with it (Initiative ⊑ PlanElement)
for _module in sorted((ROOT / "ontology").glob("*.ttl")):
    ONTOLOGY.parse(_module, format="turtle")
FAILING = sorted(FIXTURES.glob("*Shape/fail*.ttl"))
PASSING = sorted(FIXTURES.glob("*Shape/pass*.ttl"))


def _node_shape(shape: URIRef) -> URIRef:
    owner = SHAPES.value(predicate=SH.property, object=shape)
    return owner if owner is not None else shape


def _results(data: Graph) -> tuple[bool, Graph]:
    conforms, results, _ = validate(data, shacl_graph=SHAPES, ont_graph=ONTOLOGY, inference="none", advanced=True)
    return conforms, results


def test_every_node_shape_has_failing_and_passing_fixtures() -> None:
    shapes = {str(s).rsplit("#", 1)[-1] for s in SHAPES.subjects(RDF.type, SH.NodeShape)}
    assert shapes == {"SdgLinkShape", "CuratedSdgLinkShape", "ContributesToTargetShape", "ContributesToGoalShape"}
    for name in shapes:
        assert list((FIXTURES / name).glob("fail*.ttl")) and list((FIXTURES / name).glob("pass*.ttl")), name


def test_every_shape_has_messages_in_japanese_and_english() -> None:
    for shape in set(SHAPES.subjects(SH.message, None)):
        assert {m.language for m in SHAPES.objects(shape, SH.message)} == {"ja", "en"}, shape
    for node_shape in SHAPES.subjects(RDF.type, SH.NodeShape):
        has_message = any(SHAPES.objects(node_shape, SH.message)) or all(
            any(SHAPES.objects(p, SH.message)) for p in SHAPES.objects(node_shape, SH.property))
        assert has_message, node_shape


@pytest.mark.parametrize("fixture", FAILING, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_failing_fixture_violates_its_shape(fixture: Path) -> None:
    conforms, results = _results(Graph().parse(fixture, format="turtle"))
    assert not conforms
    shapes = {_node_shape(s) for s in results.objects(None, SH.sourceShape)}
    assert PKGSH[fixture.parent.name] in shapes
    messages = {m.language for m in results.objects(None, SH.resultMessage) if isinstance(m, Literal)}
    assert {"ja", "en"} <= messages


@pytest.mark.parametrize("fixture", PASSING, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_passing_fixture_conforms(fixture: Path) -> None:
    conforms, results = _results(Graph().parse(fixture, format="turtle"))
    assert conforms, results.serialize(format="turtle")


def test_the_curated_links_conform_with_the_reference_graph() -> None:
    settings = Settings()
    data = link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                      links_csv=settings.data_dir / "sdg" / "links.csv")
    for initiative in set(data.subjects(PKG.hasSdgLink, None)):
        data.add((initiative, RDF.type, PKG.Initiative))  # in the build, the plan graph says this
    data += reference_graphs(settings)[URIRef(f"{settings.base_iri}graph/sdg")]
    conforms, results = _results(data)
    assert conforms, results.serialize(format="turtle")[:2000]
