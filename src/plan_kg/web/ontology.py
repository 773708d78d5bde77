"""The ontology page's look-ups: the plan-kg ontology's terms, its modules and its statements, read through a
`Describer` (labels, links and statements as every other page shows them)."""

from __future__ import annotations

from typing import Iterable

import pyoxigraph as ox

from .. import iris
from .describe import DEFINITIONS, LABELS, TYPE, Describer
from .views import OWL, PKG, RDF, RDFS, SKOS, Ontology, OntologyTerm, Text

#: The section of the ontology page a term is listed in, by its types; any other type (owl:NamedIndividual,
#: skos:Concept, a class of the ontology) makes it an individual.
_TERM_KINDS = {
    OWL + "Class": "class",
    RDFS + "Class": "class",
    OWL + "ObjectProperty": "property",
    OWL + "DatatypeProperty": "property",
    OWL + "AnnotationProperty": "property",
    RDF + "Property": "property",
    SKOS + "ConceptScheme": "scheme",
}
#: The sections of the ontology page, in order; "other" holds terms the ontology states things about but gives no type.
TERM_KINDS = ("class", "property", "scheme", "individual", "other")
_IN_SCHEME = ox.NamedNode(SKOS + "inScheme")
_OWL_ONTOLOGY = ox.NamedNode(OWL + "Ontology")
_VERSION_IRI = ox.NamedNode(OWL + "versionIRI")
_ONTOLOGY_TERMS = f"""
SELECT DISTINCT ?term WHERE {{
  ?term a ?kind .
  FILTER(STRSTARTS(STR(?term), "{PKG}"))
}} ORDER BY ?term
"""


class OntologyReader:
    """The ontology as its page shows it, over `describer`'s store."""

    def __init__(self, describer: Describer) -> None:
        self.describer = describer

    def terms(self) -> tuple[OntologyTerm, ...]:
        """Every term of the plan-kg ontology (classes, properties, concept schemes, individuals), with
        labels, definitions, types and schemes.

        The terms are the subjects in the ontology's namespace of the ontology's named graph, or,
        without one, every typed IRI in that namespace.
        """
        graph = ox.NamedNode(str(iris.ontology_graph_iri(self.describer.base_iri)))
        found = {q.subject.value for q in self.describer.store.quads_for_pattern(None, None, None, graph)
                 if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(PKG)}
        if not found:
            found = {s["term"].value for s in self.describer.store.query(_ONTOLOGY_TERMS, use_default_graph_as_union=True)}
        shown_apart = {p.value for p in (*LABELS, *DEFINITIONS, TYPE, _IN_SCHEME)}
        terms = []
        for iri in found:
            triples = self.describer.triples(iri)
            types = sorted({t.object.value for t in triples
                            if t.predicate == TYPE and isinstance(t.object, ox.NamedNode)})
            schemes = sorted({t.object.value for t in triples
                              if t.predicate == _IN_SCHEME and isinstance(t.object, ox.NamedNode)})
            members = sorted({q.subject.value
                              for q in self.describer.store.quads_for_pattern(None, _IN_SCHEME, ox.NamedNode(iri), None)
                              if isinstance(q.subject, ox.NamedNode)})
            terms.append(OntologyTerm(
                term=self.describer.link(iri),
                kind=_term_kind(types),
                types=tuple(self.describer.link(t) for t in types),
                schemes=tuple(self.describer.link(s) for s in schemes),
                members=tuple(self.describer.link(m) for m in members),
                definitions=tuple(Text(d.value, d.language) for d in self.describer.literals(iri, DEFINITIONS)),
                statements=self.describer.statements(triples, shown_apart),
            ))
        return tuple(sorted(terms, key=lambda t: (TERM_KINDS.index(t.kind), t.term.iri)))

    def ontologies(self) -> tuple[Ontology, ...]:
        """The ontology and its modules, as the store declares them (owl:Ontology), the ontology first."""
        found = {q.subject.value for q in self.describer.store.quads_for_pattern(None, TYPE, _OWL_ONTOLOGY, None)
                 if isinstance(q.subject, ox.NamedNode) and _in_ontology(q.subject.value)}
        ontologies = []
        for iri in sorted(found, key=lambda iri: (iri != iris.ONTOLOGY_IRI, iri)):
            versions = {q.object.value
                        for q in self.describer.store.quads_for_pattern(ox.NamedNode(iri), _VERSION_IRI, None, None)
                        if isinstance(q.object, ox.NamedNode)}
            ontologies.append(Ontology(self.describer.link(iri), tuple(sorted(versions))))
        return tuple(ontologies)

    def triples(self) -> list[ox.Triple]:
        """The ontology: its named graph when the build made one, else the statements about its terms."""
        graph = self.describer.graph_triples(str(iris.ontology_graph_iri(self.describer.base_iri)))
        if graph:
            return graph
        found: list[ox.Triple] = []
        described = [iris.ONTOLOGY_IRI, *(o.iri for o in self.ontologies()),
                     *(t.term.iri for t in self.terms())]
        for term in dict.fromkeys(described):
            found.extend(self.describer.triples(term))
        return found


def _in_ontology(iri: str) -> bool:
    """Whether `iri` is the ontology's IRI or one below it (a module, a version)."""
    return iri == iris.ONTOLOGY_IRI or iri.startswith(iris.ONTOLOGY_IRI + "/")


def _term_kind(types: Iterable[str]) -> str:
    """The page section of a term with these rdf:types: class before property before scheme before individual."""
    kinds = {_TERM_KINDS.get(t, "individual") for t in types}
    return next((kind for kind in TERM_KINDS if kind in kinds), "other")
