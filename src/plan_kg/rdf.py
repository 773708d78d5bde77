"""Typed plan records -> the asserted RDF graph of one plan.

Only plan-kg terms and standard terms used as they are (skos:prefLabel, dcterms:title,
prov:hadPrimarySource …) are asserted here; the SKOS view (skos:broader, inScheme,
topConceptOf …) is left to reasoning, which derives it from the ontology's alignments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS
from rdflib.term import Node

from .iris import PKG, item_iri, municipality_iri, plan_iri
from .source import PlanSource

SCHEMA = Namespace("https://schema.org/")

#: Prefixes bound in every graph plan-kg writes (and in the JSON-LD context).
PREFIXES = {
    "pkg": PKG,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "prov": PROV,
    "schema": SCHEMA,
    "xsd": XSD,
    "rdf": RDF,
    "rdfs": Namespace("http://www.w3.org/2000/01/rdf-schema#"),
    "owl": Namespace("http://www.w3.org/2002/07/owl#"),
    "foaf": Namespace("http://xmlns.com/foaf/0.1/"),
    "dcat": Namespace("http://www.w3.org/ns/dcat#"),
    "adms": Namespace("http://www.w3.org/ns/adms#"),
    "sdg": Namespace("http://metadata.un.org/sdg/"),
    "sdgo": Namespace("http://metadata.un.org/sdg/ontology#"),
    "vann": Namespace("http://purl.org/vocab/vann/"),
}


def new_graph(identifier: URIRef | None = None) -> Graph:
    """An empty graph with plan-kg's prefixes bound (and no others)."""
    graph = Graph(identifier=identifier, bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def decimal_text(value: Decimal) -> str:
    """The canonical lexical form of an xsd:decimal (XSD 1.1: no trailing zeros, an integer without a
    point), as Oxigraph stores it: "0.430" is served and dumped as "0.43", so dumps and store agree."""
    return format(value.normalize(), "f")


def literal_maker() -> Callable[..., Literal]:
    """`Literal(value, datatype=, lang=)`, one object per distinct literal: for triple writers whose
    literals repeat (a links table's dates, methods and scores), where making each costs more than
    looking it up. Keyed by the lexical form, not the value: Decimal("0.5") == Decimal("0.50")."""
    made: dict[tuple, Literal] = {}

    def literal(value: object, *, datatype: URIRef | None = None, lang: str | None = None) -> Literal:
        key = (type(value), str(value), datatype, lang)
        found = made.get(key)
        if found is None:
            found = made[key] = Literal(value, datatype=datatype, lang=lang)
        return found

    return literal


def plan_graph(plan: PlanSource, *, base: str, identifier: URIRef | None = None) -> Graph:
    """The asserted graph of `plan`: municipality, plan and every element."""
    g = new_graph(identifier)
    for triple in plan_triples(plan, base=base):
        g.add(triple)
    return g


def plan_triples(plan: PlanSource, *, base: str) -> Iterator[tuple[URIRef, URIRef, Node]]:
    """The triples of `plan_graph`, one by one (for writers that need no Graph, e.g. at national scale)."""
    meta, muni = plan.metadata, plan.metadata.municipality
    m = municipality_iri(base, muni.code)
    yield m, RDF.type, PKG.Municipality
    yield m, PKG.municipalityCode, Literal(muni.code)
    yield m, SKOS.prefLabel, Literal(muni.name_ja, lang="ja")
    yield m, SKOS.prefLabel, Literal(muni.name_en, lang="en")
    yield m, PKG.prefecture, Literal(muni.prefecture_ja, lang="ja")
    yield m, PKG.prefecture, Literal(muni.prefecture_en, lang="en")

    p = plan_iri(base, muni.code, meta.plan_id)
    yield p, RDF.type, PKG.Plan
    yield p, PKG.planId, Literal(meta.plan_id)
    yield p, PKG.municipality, m
    for text, lang in ((meta.title_ja, "ja"), (meta.title_en, "en")):
        yield p, DCTERMS.title, Literal(text, lang=lang)
        yield p, SKOS.prefLabel, Literal(text, lang=lang)
    yield p, PKG.status, PKG[meta.status]
    yield p, PKG.completeness, PKG[meta.completeness]
    if meta.completeness_note:
        yield p, PKG.completenessNote, Literal(meta.completeness_note, lang="en")
    if meta.completeness_note_ja:
        yield p, PKG.completenessNote, Literal(meta.completeness_note_ja, lang="ja")
    yield p, SCHEMA.startDate, Literal(meta.period_start)
    yield p, SCHEMA.endDate, Literal(meta.period_end)
    yield p, DCTERMS.issued, Literal(meta.issued)
    yield p, PROV.hadPrimarySource, URIRef(meta.source)
    if meta.source_note:
        yield p, SKOS.note, Literal(meta.source_note)
    yield p, DCTERMS.license, URIRef(meta.license)
    yield p, PKG.hierarchicalCodes, Literal(meta.hierarchical_codes)

    for item in plan.items:
        e = item_iri(base, muni.code, meta.plan_id, item.code)
        yield e, RDF.type, PKG[item.level_class]
        yield e, PKG.code, Literal(item.code)
        yield e, PKG.levelName, Literal(item.level, lang="ja")
        yield e, PKG.sequence, Literal(item.sequence)
        yield e, PKG.inPlan, p
        if item.parent is None:
            yield e, PKG.topElementOf, p
        else:
            yield e, PKG.parent, item_iri(base, muni.code, meta.plan_id, item.parent)
        if item.label:
            yield e, SKOS.prefLabel, Literal(item.label, lang="ja")
        if item.planned:
            yield e, PKG.status, PKG.Planned
        if item.field:
            yield e, PKG.field, Literal(item.field, lang="ja")
        if item.notes:
            yield e, SKOS.editorialNote, Literal(item.notes)
