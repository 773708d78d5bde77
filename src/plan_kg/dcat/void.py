"""The VoID description of the dataset, served at /.well-known/void (RFC 5785, VoID §7).

The whole dataset is the same node as the catalog's "all plans" dataset; each plan is a
subset (void:subset) named by its plan IRI, as in the catalog. Linksets count the links
that leave a plan's IRI space: to the UN SDG KOS (http://metadata.un.org/sdg/) and to
another municipality's plans (`{base}id/{other code}/…`). Counts come from the built
graphs, so they are exact and the same for the same build.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF

from .. import formats
from ..config import Settings
from ..iris import SDG, inferred_graph_iri, municipality_iri, plan_graph_iri, plan_iri
from ..rdf import new_graph
from ..source import PlanSource
from .catalog import CC_BY_4, all_plans_iri, catalog_iri, download_url, site_url

VOID = Namespace("http://rdfs.org/ns/void#")
#: The UN SDG knowledge organisation system, as a void:Dataset.
SDG_KOS = URIRef("http://metadata.un.org/sdg/")
DUMP_FORMATS = ("nquads", "trig", "ntriples")


def void_iri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_iri}.well-known/void")


def _int(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)


def _stats(g: Graph, node: URIRef, triples: Iterable[tuple]) -> None:
    triples = list(triples)
    g.add((node, VOID.triples, _int(len(triples))))
    g.add((node, VOID.distinctSubjects, _int(len({t[0] for t in triples}))))
    g.add((node, VOID.properties, _int(len({t[1] for t in triples}))))
    g.add((node, VOID.distinctObjects, _int(len({t[2] for t in triples}))))
    g.add((node, VOID.classes, _int(len({t[2] for t in triples if t[1] == RDF.type}))))


def _local_name(iri: str) -> str:
    return iri[len(_namespace(iri)):]


def _namespace(iri: str) -> str:
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


def void_graph(settings: Settings, *, graphs: Sequence[Graph], plans: Sequence[PlanSource]) -> Graph:
    """VoID for the named `graphs` of a build of `plans`."""
    g = new_graph(void_iri(settings))
    g.bind("void", VOID)
    site = site_url(settings)
    doc = void_iri(settings)
    dataset = all_plans_iri(settings)
    g.add((doc, RDF.type, VOID.DatasetDescription))
    g.add((doc, DCTERMS.title, Literal("plan-kg の VoID 記述", lang="ja")))
    g.add((doc, DCTERMS.title, Literal("VoID description of plan-kg", lang="en")))
    g.add((doc, FOAF.primaryTopic, dataset))
    g.add((doc, DCTERMS.source, catalog_iri(settings)))

    every = {t for graph in graphs for t in graph}
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.title, Literal("plan-kg: all plans", lang="en")))
    g.add((dataset, DCTERMS.license, URIRef(CC_BY_4)))
    g.add((dataset, FOAF.homepage, URIRef(site)))
    g.add((dataset, VOID.sparqlEndpoint, URIRef(f"{site}sparql")))
    for name in DUMP_FORMATS:
        g.add((dataset, VOID.dataDump, download_url(settings, f"plan-kg.{formats.by_name(name).extension}")))
    g.add((dataset, VOID.uriSpace, Literal(f"{settings.base_iri}id/")))
    # The formats it is available in: its dumps', and those of the documents each IRI dereferences to.
    for name in sorted({*DUMP_FORMATS, *(fmt.name for fmt in formats.for_kind(formats.Kind.GRAPH))}):
        g.add((dataset, VOID.feature, URIRef(formats.by_name(name).iri)))
    vocabularies = {_namespace(str(p)) for _, p, _ in every} | {_namespace(str(o)) for _, p, o in every if p == RDF.type}
    for vocabulary in sorted(vocabularies):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    _stats(g, dataset, every)
    g.add((dataset, VOID.entities, _int(len({s for s, _, _ in every if isinstance(s, URIRef)
                                             and str(s).startswith(f"{settings.base_iri}id/")}))))

    by_plan: dict[str, set[tuple]] = {}
    for plan in plans:
        code, plan_id = plan.metadata.municipality.code, plan.metadata.plan_id
        prefix = str(plan_iri(settings.base_iri, code, plan_id))
        triples = {t for graph in graphs for t in graph if str(t[0]) == prefix or str(t[0]).startswith(prefix + "/")}
        by_plan[plan.slug] = triples
        # The subset's statistics are those of its dump (the plan's own graphs, asserted and inferred); its
        # links to other plans live in the cross-city graph and are counted in its linksets.
        own_graphs = {plan_graph_iri(settings.base_iri, code, plan_id), inferred_graph_iri(settings.base_iri, code, plan_id)}
        in_dump = {t for graph in graphs if graph.identifier in own_graphs for t in graph}
        subset = plan_iri(settings.base_iri, code, plan_id)
        g.add((dataset, VOID.subset, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, VOID.uriSpace, Literal(prefix + "/")))
        g.add((subset, VOID.dataDump, download_url(settings, f"plans/{plan.slug}.ttl")))
        g.add((subset, VOID.sparqlEndpoint, URIRef(f"{site}sparql")))
        _stats(g, subset, in_dump)
        _linksets(g, settings, subset, plan, triples, plans)
    return g


def _linksets(g: Graph, settings: Settings, subset: URIRef, plan: PlanSource, triples: set[tuple],
              plans: Sequence[PlanSource]) -> None:
    """Links from one plan to the SDG KOS and to other municipalities, one linkset per target and predicate."""
    own = str(municipality_iri(settings.base_iri, plan.metadata.municipality.code))
    id_space = f"{settings.base_iri}id/"
    known = {f"{p.metadata.municipality.code}/{p.metadata.plan_id}": plan_iri(
        settings.base_iri, p.metadata.municipality.code, p.metadata.plan_id) for p in plans}
    counts: Counter[tuple[URIRef, URIRef]] = Counter()
    for _, predicate, obj in triples:
        target = str(obj)
        if not isinstance(obj, URIRef):
            continue
        if target.startswith(str(SDG)):
            counts[(SDG_KOS, predicate)] += 1
        elif (target.startswith(id_space) and target != own and not target.startswith(own + "/")
              and target[len(id_space):][:6].isdigit()):
            parts = target[len(id_space):].split("/")
            other = known.get("/".join(parts[:2])) or municipality_iri(settings.base_iri, parts[0])
            counts[(other, predicate)] += 1
    for (target, predicate), count in sorted(counts.items()):
        if target == SDG_KOS:
            name = f"{plan.slug}-sdg-{_local_name(predicate)}"
            g.add((SDG_KOS, RDF.type, VOID.Dataset))
            g.add((SDG_KOS, DCTERMS.title, Literal("UN SDG knowledge organisation system", lang="en")))
        else:
            name = f"{plan.slug}-to-{target[len(id_space):].replace('/', '-')}-{_local_name(predicate)}"
            g.add((target, RDF.type, VOID.Dataset))
        linkset = URIRef(f"{void_iri(settings)}#{name}")
        g.add((subset, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, VOID.subjectsTarget, subset))
        g.add((linkset, VOID.objectsTarget, target))
        g.add((linkset, VOID.linkPredicate, predicate))
        g.add((linkset, VOID.triples, _int(count)))

