"""owlrl derives the SKOS view and the transitive part-of closure; inferences stay in their own graph."""

from __future__ import annotations

from rdflib import RDF, RDFS, Dataset, Literal, URIRef
from rdflib.namespace import SKOS

from plan_kg.iris import PKG

BASE = "https://w3id.org/plan-kg/"
PLAN = URIRef(BASE + "id/132292/basic-plan-3")
ASSERTED = URIRef(BASE + "graph/132292/basic-plan-3")
INFERRED = URIRef(BASE + "graph/132292/basic-plan-3/inferred")


def graphs(built):
    ds = Dataset()
    ds.parse(built.out_dir / "plan-kg.trig", format="trig")
    return ds.graph(ASSERTED), ds.graph(INFERRED)


def item(code: str) -> URIRef:
    return URIRef(f"{PLAN}/{code}")


def test_skos_view_is_inferred_not_asserted(built):
    asserted, inferred = graphs(built)
    for triple in [(item("1-1-1"), SKOS.broader, item("1-1")), (item("1-1"), SKOS.narrower, item("1-1-1")),
                   (item("1"), SKOS.topConceptOf, PLAN), (PLAN, SKOS.hasTopConcept, item("1")),
                   (item("1-1-1-1"), SKOS.inScheme, PLAN), (item("1-1-1-1"), RDF.type, SKOS.Concept),
                   (PLAN, RDF.type, SKOS.ConceptScheme), (item("1-1-1-1"), SKOS.notation, Literal("1-1-1-1")),
                   (item("1"), RDFS.label, Literal("みんなでつくるまち", lang="ja"))]:
        assert triple in inferred, triple
        assert triple not in asserted, triple


def test_part_of_is_transitive(built):
    _, inferred = graphs(built)
    assert (item("6-3-3-2"), PKG.partOf, item("6")) in inferred
    assert (item("6-3-3-2"), PKG.partOf, PLAN) in inferred
    assert (PLAN, PKG.hasPart, item("6-3-3-2")) in inferred
    # every initiative reaches the plan
    initiatives = set(inferred.subjects(RDF.type, PKG.Initiative)) | set(graphs(built)[0].subjects(RDF.type, PKG.Initiative))
    assert len(initiatives) == 109
    assert all((i, PKG.partOf, PLAN) in inferred for i in initiatives)


def test_inferred_graph_is_disjoint_and_about_the_plan(built):
    asserted, inferred = graphs(built)
    assert not set(asserted) & set(inferred)
    subjects = set(asserted.subjects())
    assert all(s in subjects for s in inferred.subjects())
    assert not any(p == URIRef("http://www.w3.org/2002/07/owl#sameAs") for _, p, _ in inferred)
