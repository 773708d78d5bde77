"""The two OWL RL engines (plan_kg.reasoning): owlrl, the reference, and reasonable agree.

Both outputs go through the same filter (`keep_inferred`: no `x owl:sameAs x`, no trivial
types, only facts about the plan's own resources). reasonable re-types plain literals as
xsd:string; `infer` normalises them back to plain literals, as RDF 1.1 says they are equal.
reasonable 0.4 lacks owl:propertyChainAxiom; `infer` applies the ontology's chains itself,
so the SDG shortcuts (pkg:contributesToTarget) are compared too.
"""

from __future__ import annotations

import pytest
from rdflib import XSD, Graph, Literal, URIRef

from plan_kg.build import load_ontology
from plan_kg.config import Settings
from plan_kg.iris import PKG
from plan_kg.rdf import plan_graph
from plan_kg.reasoning import infer
from plan_kg.source import read_plan

pytest.importorskip("reasonable")


@pytest.fixture(scope="module")
def nishitokyo() -> tuple[Graph, Graph]:
    settings = Settings()
    asserted = plan_graph(read_plan(settings.data_dir / "nishitokyo"), base=settings.base_iri)
    return asserted, load_ontology(settings)


@pytest.fixture(scope="module")
def nishitokyo_with_sdg_links(nishitokyo: tuple[Graph, Graph]) -> tuple[Graph, Graph]:
    from plan_kg.sdg.links import link_graph

    settings = Settings()
    asserted, ontology = nishitokyo
    graph = Graph()
    graph += asserted
    graph += link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                        links_csv=settings.data_dir / "sdg" / "links.csv")
    return graph, ontology


def _both(asserted: Graph, ontology: Graph) -> tuple[set, set]:
    reference = infer(asserted, ontology, engine="owlrl")
    fast = infer(asserted, ontology, engine="reasonable")
    assert reference.engine.startswith("owlrl") and fast.engine.startswith("reasonable")
    return set(reference.graph), set(fast.graph)


def test_same_inferences_on_the_nishitokyo_plan(nishitokyo: tuple[Graph, Graph]) -> None:
    reference, fast = _both(*nishitokyo)
    assert reference, "owlrl inferred nothing: the comparison would prove nothing"
    assert reference - fast == set()
    assert fast - reference == set()


def test_same_inferences_with_sdg_links_and_property_chains(nishitokyo_with_sdg_links: tuple[Graph, Graph]) -> None:
    reference, fast = _both(*nishitokyo_with_sdg_links)
    assert any(p == PKG.contributesToTarget for _, p, _ in reference)
    assert reference == fast


def test_reasonable_output_has_no_xsd_string_literals(nishitokyo: tuple[Graph, Graph]) -> None:
    inferred = infer(*nishitokyo, engine="reasonable").graph
    assert not any(isinstance(o, Literal) and o.datatype == XSD.string for o in inferred.objects())


def test_neither_engine_publishes_sameas_tautologies(nishitokyo: tuple[Graph, Graph]) -> None:
    same_as = URIRef("http://www.w3.org/2002/07/owl#sameAs")
    for engine in ("owlrl", "reasonable"):
        assert not any(s == o for s, o in infer(*nishitokyo, engine=engine).graph.subject_objects(same_as))


def test_unknown_engine_is_refused(nishitokyo: tuple[Graph, Graph]) -> None:
    with pytest.raises(ValueError, match="owlrl, reasonable"):
        infer(*nishitokyo, engine="hermit")
