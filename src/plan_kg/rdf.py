"""Typed plan records -> the asserted RDF graph of one plan.

Only plan-kg terms and standard terms used as they are (skos:prefLabel, dcterms:title,
prov:hadPrimarySource …) are asserted here; the SKOS view (skos:broader, inScheme,
topConceptOf …) is left to reasoning, which derives it from the ontology's alignments.
"""

from __future__ import annotations

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

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


def plan_graph(plan: PlanSource, *, base: str, identifier: URIRef | None = None) -> Graph:
    """The asserted graph of `plan`: municipality, plan and every element."""
    meta, muni = plan.metadata, plan.metadata.municipality
    g = new_graph(identifier)
    m = municipality_iri(base, muni.code)
    g.add((m, RDF.type, PKG.Municipality))
    g.add((m, PKG.municipalityCode, Literal(muni.code)))
    g.add((m, SKOS.prefLabel, Literal(muni.name_ja, lang="ja")))
    g.add((m, SKOS.prefLabel, Literal(muni.name_en, lang="en")))
    g.add((m, PKG.prefecture, Literal(muni.prefecture_ja, lang="ja")))
    g.add((m, PKG.prefecture, Literal(muni.prefecture_en, lang="en")))

    p = plan_iri(base, muni.code, meta.plan_id)
    g.add((p, RDF.type, PKG.Plan))
    g.add((p, PKG.planId, Literal(meta.plan_id)))
    g.add((p, PKG.municipality, m))
    for text, lang in ((meta.title_ja, "ja"), (meta.title_en, "en")):
        g.add((p, DCTERMS.title, Literal(text, lang=lang)))
        g.add((p, SKOS.prefLabel, Literal(text, lang=lang)))
    g.add((p, PKG.status, PKG[meta.status]))
    g.add((p, PKG.completeness, PKG[meta.completeness]))
    if meta.completeness_note:
        g.add((p, PKG.completenessNote, Literal(meta.completeness_note, lang="en")))
    if meta.completeness_note_ja:
        g.add((p, PKG.completenessNote, Literal(meta.completeness_note_ja, lang="ja")))
    g.add((p, SCHEMA.startDate, Literal(meta.period_start)))
    g.add((p, SCHEMA.endDate, Literal(meta.period_end)))
    g.add((p, DCTERMS.issued, Literal(meta.issued)))
    g.add((p, PROV.hadPrimarySource, URIRef(meta.source)))
    if meta.source_note:
        g.add((p, SKOS.note, Literal(meta.source_note)))
    g.add((p, DCTERMS.license, URIRef(meta.license)))
    g.add((p, PKG.hierarchicalCodes, Literal(meta.hierarchical_codes)))

    for item in plan.items:
        e = item_iri(base, muni.code, meta.plan_id, item.code)
        g.add((e, RDF.type, PKG[item.level_class]))
        g.add((e, PKG.code, Literal(item.code)))
        g.add((e, PKG.levelName, Literal(item.level, lang="ja")))
        g.add((e, PKG.sequence, Literal(item.sequence)))
        g.add((e, PKG.inPlan, p))
        if item.parent is None:
            g.add((e, PKG.topElementOf, p))
        else:
            g.add((e, PKG.parent, item_iri(base, muni.code, meta.plan_id, item.parent)))
        if item.label:
            g.add((e, SKOS.prefLabel, Literal(item.label, lang="ja")))
        if item.planned:
            g.add((e, PKG.status, PKG.Planned))
        if item.field:
            g.add((e, PKG.field, Literal(item.field, lang="ja")))
        if item.notes:
            g.add((e, SKOS.editorialNote, Literal(item.notes)))
    return g
