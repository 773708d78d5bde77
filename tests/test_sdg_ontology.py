"""ontology/sdg.ttl: every term documented in both languages; OWL RL derives the shortcut properties."""

from __future__ import annotations

import re

import owlrl
import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Namespace, URIRef

from plan_kg.config import Settings
from plan_kg.sdg.links import link_graph
from plan_kg.sdg.reference import reference_graphs

PKG = Namespace("https://w3id.org/plan-kg/ontology#")
SDG = "http://metadata.un.org/sdg/"
ITEM = "https://w3id.org/plan-kg/id/132292/basic-plan-3/"
ROOT = Settings().root


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ROOT / "ontology" / "sdg.ttl", format="turtle")


@pytest.fixture(scope="module")
def reasoned(ontology: Graph) -> Graph:
    settings = Settings()
    graph = Graph()
    graph += ontology
    graph += reference_graphs(settings)[URIRef(f"{settings.base_iri}graph/sdg")]
    graph += link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                        links_csv=settings.data_dir / "sdg" / "links.csv")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    return graph


def _declared(graph: Graph) -> set[URIRef]:
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, PKG.SdgLinkMethod, SKOS.ConceptScheme)
    return {s for kind in kinds for s in graph.subjects(RDF.type, kind) if str(s).startswith(str(PKG))}


def test_every_term_has_label_and_definition_in_japanese_and_english(ontology: Graph) -> None:
    terms = _declared(ontology)
    assert {PKG.SdgLink, PKG.hasSdgLink, PKG.sdgTarget, PKG.contributesToTarget, PKG.contributesToGoal,
            PKG.confidence, PKG.methodVersion, PKG.rationale, PKG.linkMethod, PKG.curated, PKG.suggested} <= terms
    for term in terms:
        for predicate in (RDFS.label, SKOS.definition):
            assert {o.language for o in ontology.objects(term, predicate)} >= {"ja", "en"}, (term, predicate)


def test_reasoning_derives_contributes_to_target(reasoned: Graph) -> None:
    frailty = URIRef(ITEM + "3-2-2-2")
    assert set(reasoned.objects(frailty, PKG.contributesToTarget)) == {
        URIRef(SDG + "3.4"), URIRef(SDG + "2.2"), URIRef(SDG + "3.8")}


def test_reasoning_derives_contributes_to_goal_from_the_targets_goal(reasoned: Graph) -> None:
    flooding = URIRef(ITEM + "5-2-1-3")
    assert set(reasoned.objects(flooding, PKG.contributesToGoal)) == {
        URIRef(SDG + "13"), URIRef(SDG + "11"), URIRef(SDG + "9")}


def test_every_initiative_contributes_to_some_goal_after_reasoning(reasoned: Graph) -> None:
    initiatives = set(reasoned.subjects(PKG.hasSdgLink, None))
    assert len(initiatives) == 109
    assert all(next(reasoned.objects(i, PKG.contributesToGoal), None) is not None for i in initiatives)


def test_shapes_and_queries_name_only_declared_terms(ontology: Graph) -> None:
    core = Graph().parse(ROOT / "ontology" / "plan-kg.ttl", format="turtle")
    known = {str(s) for s in (core + ontology).subjects() if str(s).startswith(str(PKG))}
    texts = [(ROOT / "shapes" / "sdg.ttl").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "queries").glob("sdg-*.rq"))]
    used = {str(PKG) + name for text in texts for name in re.findall(r"\bpkg:([A-Za-z][A-Za-z0-9_]*)", text)}
    assert used and used <= known, used - known


@pytest.mark.parametrize("engine", ["owlrl", "reasonable"])
def test_the_pipelines_reasoner_derives_the_shortcuts_with_the_sdg_graph_as_background(engine: str) -> None:
    """How the build should call it: links asserted; ontology + {base}graph/sdg as background knowledge."""
    if engine == "reasonable":
        pytest.importorskip("reasonable")
    from plan_kg.reasoning import infer

    settings = Settings()
    background = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        background.parse(path, format="turtle")
    background += reference_graphs(settings)[URIRef(f"{settings.base_iri}graph/sdg")]
    links = link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                       links_csv=settings.data_dir / "sdg" / "links.csv")
    inferred = infer(links, background, engine=engine).graph
    frailty = URIRef(ITEM + "3-2-2-2")
    assert (frailty, PKG.contributesToTarget, URIRef(SDG + "3.4")) in inferred
    assert (frailty, PKG.contributesToGoal, URIRef(SDG + "3")) in inferred
    assert not any(str(s).startswith(SDG) for s in inferred.subjects())
