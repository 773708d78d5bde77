"""The two OWL RL engines (plan_kg.reasoning): owlrl, the reference, and reasonable agree.

Both outputs go through the same filter (`keep_inferred`: no `x owl:sameAs x`, no trivial
types, only facts about the plan's own resources). reasonable re-types plain literals as
xsd:string; `infer` normalises them back to plain literals, as RDF 1.1 says they are equal.
reasonable 0.4 lacks owl:propertyChainAxiom; `infer` applies the ontology's chains itself,
so the SDG shortcuts (pkg:contributesToTarget) are compared too. reasonable is given literals
as stand-in IRIs (its rdflib Literals cost most of its time); they come back as given.
"""

from __future__ import annotations

import pytest
from rdflib import RDFS, XSD, Graph, Literal, URIRef

from plan_kg.build import load_ontology
from plan_kg.config import Settings
from plan_kg.iris import PKG
from plan_kg.rdf import plan_graph
from plan_kg.reasoning import infer, inferred_triples
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


_STAND_IN_ONTOLOGY = """
@prefix ex: <https://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:code a owl:DatatypeProperty ; rdfs:subPropertyOf ex:notation ; rdfs:label "コード"@ja .
ex:name a owl:DatatypeProperty ; rdfs:subPropertyOf rdfs:label ; rdfs:range xsd:string .
ex:part a owl:ObjectProperty , owl:TransitiveProperty ; rdfs:subPropertyOf ex:within .
"""


def test_literals_come_back_exactly_as_given() -> None:
    """reasonable sees stand-in IRIs for literals; what it infers carries the original literals:
    lexical form ("0.50", not "0.5"), language tag and datatype, and a literal the ontology also uses."""
    ontology = Graph().parse(data=_STAND_IN_ONTOLOGY, format="turtle")
    ex = "https://example.org/"
    a, b, c = URIRef(ex + "a"), URIRef(ex + "b"), URIRef(ex + "c")
    values = [Literal("0.50", datatype=XSD.decimal), Literal("コード", lang="ja"), Literal("plain"),
              Literal("2026-11-28T00:00:00Z", datatype=XSD.dateTime)]
    asserted = {(a, URIRef(ex + "code"), value) for value in values}
    asserted |= {(a, URIRef(ex + "name"), Literal("名前", lang="ja")), (a, URIRef(ex + "part"), b),
                 (b, URIRef(ex + "part"), c)}
    reference, version = inferred_triples(asserted, ontology, engine="owlrl")
    fast, _ = inferred_triples(asserted, ontology, engine="reasonable")
    assert {(a, URIRef(ex + "notation"), value) for value in values} <= fast
    assert (a, RDFS.label, Literal("名前", lang="ja")) in fast
    assert (a, URIRef(ex + "part"), c) in fast
    lexical = {str(o) for _, _, o in fast if isinstance(o, Literal)}
    assert lexical == {str(value) for value in values} | {"名前"} and "0.50" in lexical
    assert fast == reference, version


def test_the_stand_in_namespace_is_reserved() -> None:
    reserved = URIRef("tag:plan-kg.invalid,2026:literal/d0")
    with pytest.raises(ValueError, match="reserved"):
        inferred_triples({(reserved, RDFS.label, Literal("x"))}, Graph(), engine="reasonable")


def test_same_inferences_on_synthetic_national_plans(tmp_path) -> None:
    """The national benchmark's path: plan triples and SDG link triples without Graphs, one of
    the plans with its own level names (pkg:PlanElement), reasoned by both engines."""
    import sys
    from pathlib import Path

    from plan_kg.rdf import plan_triples
    from plan_kg.sdg.links import plan_links, records_triples
    from plan_kg.sdg.reference import SDGO, load_reference, sdg_graph

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from national_generate import generate

    settings = Settings()
    reference = load_reference(settings.data_dir)
    ontology = load_ontology(settings)
    for triple in sdg_graph(reference).triples((None, SDGO.isTargetOf, None)):
        ontology.add(triple)
    codes = generate(tmp_path, cities=6)
    other_levels = 0
    for code in codes[:4]:
        plan = read_plan(tmp_path / code)
        other_levels += any(item.level_class == "PlanElement" for item in plan.items)
        records = plan_links(tmp_path, plan, reference=reference)
        asserted = set(plan_triples(plan, base=settings.base_iri))
        asserted |= set(records_triples(records, base=settings.base_iri, municipality_code=code,
                                        plan_id=plan.metadata.plan_id, reference=reference))
        fast, _ = inferred_triples(asserted, ontology, engine="reasonable")
        slow, _ = inferred_triples(asserted, ontology, engine="owlrl")
        assert any(p == PKG.contributesToGoal for _, p, _ in slow), code
        assert fast == slow, code
    assert other_levels, "no plan with its own level names among the first four: the test lost its point"
