"""OWL 2 RL closure with owlrl (the reference engine); inferred triples kept apart.

The inferred graph holds only what reasoning adds about the resources the asserted graph
describes (its subjects): axiomatic triples, facts about the vocabularies themselves and
tautologies such as `x owl:sameAs x` are left out, so it stays meaningful to query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import owlrl
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef

from .rdf import new_graph

# Types every resource gets under OWL RL that say nothing (owl:Thing, rdfs:Resource …).
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}


@dataclass(frozen=True)
class Inference:
    graph: Graph
    seconds: float
    engine: str


def keep_inferred(triple: tuple, subjects: set) -> bool:
    """Whether an inferred triple is worth publishing (see module docstring)."""
    s, p, o = triple
    if s not in subjects:
        return False
    if p == OWL.sameAs and s == o:
        return False
    if p == RDF.type and o in _TRIVIAL_TYPES:
        return False
    if isinstance(o, Literal) and p == RDF.type:
        return False
    return True


def infer(asserted: Graph, ontology: Graph, *, identifier: URIRef | None = None) -> Inference:
    """What OWL RL adds to `asserted` under `ontology`, about the resources `asserted` describes."""
    started = time.perf_counter()
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    for triple in ontology:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    subjects = set(asserted.subjects())
    inferred = new_graph(identifier)
    for triple in closure:
        if triple not in asserted and triple not in ontology and keep_inferred(triple, subjects):
            inferred.add(triple)
    return Inference(graph=inferred, seconds=time.perf_counter() - started, engine=f"owlrl {owlrl.__version__}")
