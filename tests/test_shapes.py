"""Every SHACL shape is proven by fixtures: one that must fail it, one that must pass it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, Graph, Namespace

from plan_kg.build import load_ontology
from plan_kg.config import PROJECT_ROOT, Settings

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_FILE = PROJECT_ROOT / "shapes" / "plan-kg.ttl"
FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
SHAPES = Graph().parse(SHAPES_FILE)
ONTOLOGY = load_ontology(Settings())
NODE_SHAPES = sorted(str(s).rsplit("#", 1)[-1] for s in SHAPES.subjects(RDF.type, SH.NodeShape)
                     if str(s).startswith("https://w3id.org/plan-kg/shapes#"))


def results_by_shape(data: Graph) -> dict[str, list[str]]:
    """Node shape local name -> severities of its results."""
    _, report, _ = validate(data, shacl_graph=SHAPES, ont_graph=ONTOLOGY, advanced=True, allow_warnings=True)
    found: dict[str, list[str]] = {}
    for result in report.subjects(RDF.type, SH.ValidationResult):
        shape = report.value(result, SH.sourceShape)
        owner = SHAPES.value(predicate=SH.property, object=shape)
        name = str(owner if owner is not None else shape).rsplit("#", 1)[-1]
        found.setdefault(name, []).append(str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1])
    return found


def test_every_node_shape_has_fixtures():
    assert len(NODE_SHAPES) >= 10
    for name in NODE_SHAPES:
        files = {p.name for p in (FIXTURES / name).glob("*.ttl")}
        assert "pass.ttl" in files, name
        assert any(f.startswith("fail") for f in files), name


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*/fail*.ttl")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fail_fixture_violates_its_shape(fixture):
    shape = fixture.parent.name
    expected = "Warning" if SHAPES.value(Namespace("https://w3id.org/plan-kg/shapes#")[shape], SH.severity) \
        == SH.Warning else "Violation"
    assert expected in results_by_shape(Graph().parse(fixture)).get(shape, []), shape


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*/pass*.ttl")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pass_fixture_conforms_to_its_shape(fixture):
    found = results_by_shape(Graph().parse(fixture))
    assert fixture.parent.name not in found
    if fixture.name == "pass.ttl":
        assert found == {}  # the minimal plan conforms to every shape
