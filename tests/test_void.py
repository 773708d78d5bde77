"""VoID: endpoint, dumps, URI space, vocabularies, exact counts, linksets to the SDG KOS and other cities."""

from __future__ import annotations

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from plan_kg.build import BuildResult, assemble
from plan_kg.config import Settings
from plan_kg.dcat.void import SDG_KOS, VOID, void_graph
from plan_kg.iris import PKG, item_iri

BASE = Settings().base_iri


@pytest.fixture(scope="module")
def assembled():
    assembly = assemble(Settings())
    graphs, built = assembly.graphs, assembly.built
    return graphs, [plan for plan, _, _ in built]


def test_void_file_describes_the_dataset(built: BuildResult) -> None:
    void = Graph().parse(built.out_dir / "void.ttl", format="turtle")
    dataset = next(void.subjects(VOID.uriSpace, Literal(f"{BASE}id/")))
    assert str(void.value(dataset, VOID.sparqlEndpoint)).endswith("/sparql")
    dumps = {str(d).rsplit("/", 1)[-1] for d in void.objects(dataset, VOID.dataDump)}
    assert dumps == {"plan-kg.nq", "plan-kg.trig", "plan-kg.nt"}
    # The formats it comes in: its dumps' and the documents' of /id/ (it listed JSON-LD but not TriG or N-Triples).
    features = {str(f).rsplit("/", 1)[-1] for f in void.objects(dataset, VOID.feature)}
    assert features == {"N-Quads", "TriG", "N-Triples", "Turtle", "JSON-LD", "RDF_XML"}
    vocabularies = {str(v) for v in void.objects(dataset, VOID.vocabulary)}
    assert str(PKG) in vocabularies and str(SKOS) in vocabularies
    lines = (built.out_dir / "plan-kg.nt").read_text(encoding="utf-8").splitlines()
    assert int(void.value(dataset, VOID.triples)) == len([line for line in lines if line.strip()])
    for plan in built.plans:
        assert (dataset, VOID.subset, URIRef(plan.iri)) in void


def test_linksets_count_links_to_the_sdg_kos_and_other_cities(assembled) -> None:
    graphs, plans = assembled
    plan = next(p for p in plans if p.metadata.municipality.code == "132292")
    code, plan_id = plan.metadata.municipality.code, plan.metadata.plan_id
    links = Graph(identifier=URIRef(f"{BASE}graph/test-links"))
    initiative = item_iri(BASE, code, plan_id, "9-9-9-9")  # no curated link can already be there
    for target in ("3.8", "11.a"):
        links.add((initiative, PKG.contributesToTarget, URIRef(f"http://metadata.un.org/sdg/{target}")))
    links.add((initiative, SKOS.exactMatch, URIRef(f"{BASE}id/131016/basic-plan-1/2-1")))  # a city not built
    links.add((initiative, SKOS.broadMatch, item_iri(BASE, code, plan_id, "1-1")))  # same plan: no linkset
    subset = URIRef(f"{BASE}id/{code}/{plan_id}")

    def linksets_of(void: Graph) -> dict:
        return {(void.value(ls, VOID.objectsTarget), void.value(ls, VOID.linkPredicate)): int(void.value(ls, VOID.triples))
                for ls in void.subjects(RDF.type, VOID.Linkset) if void.value(ls, VOID.subjectsTarget) == subset}

    before = linksets_of(void_graph(Settings(), graphs=graphs, plans=plans))
    linksets = linksets_of(void_graph(Settings(), graphs=[*graphs, links], plans=plans))
    sdg = (SDG_KOS, PKG.contributesToTarget)
    assert linksets[sdg] - before.get(sdg, 0) == 2
    assert linksets[(URIRef(f"{BASE}id/131016"), SKOS.exactMatch)] == 1
    assert all(predicate != SKOS.broadMatch for _, predicate in linksets)
    assert all(not str(target).startswith(f"{BASE}id/{code}") for target, _ in linksets)


def test_void_is_deterministic(assembled) -> None:
    graphs, plans = assembled
    first = void_graph(Settings(), graphs=graphs, plans=plans)
    second = void_graph(Settings(), graphs=list(reversed(graphs)), plans=plans)
    assert set(first) == set(second)
