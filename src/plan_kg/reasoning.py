"""OWL 2 RL closure with owlrl (the reference engine) or reasonable; inferred triples kept apart.

The inferred graph holds only what reasoning adds about the resources the asserted graph
describes (its subjects): axiomatic triples, facts about the vocabularies themselves and
tautologies such as `x owl:sameAs x` are left out, so it stays meaningful to query.

Two engines give the same inferences on plan-kg's graphs after that filtering: owlrl
(pure Python, the reference) and reasonable (Rust, ~50x faster, for national scale).
reasonable re-types plain literals as xsd:string; in RDF 1.1 both are the same literal,
so its output is normalised back to plain literals before comparing with the input.
"""

from __future__ import annotations

import time
from importlib import metadata
from dataclasses import dataclass

import owlrl
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef

from .rdf import new_graph

ENGINES = ("owlrl", "reasonable")

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


def infer(asserted: Graph, ontology: Graph, *, identifier: URIRef | None = None,
          engine: str = "owlrl") -> Inference:
    """What OWL RL adds to `asserted` under `ontology`, about the resources `asserted` describes.

    `engine` is "owlrl" (the reference) or "reasonable" (needs the `reasonable` package).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}; use one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    if engine == "owlrl":
        closure, version = _owlrl_closure(asserted, ontology), f"owlrl {owlrl.__version__}"
    else:
        closure, version = _reasonable_closure(asserted, ontology)
    subjects = set(asserted.subjects())
    known = set(asserted) | set(ontology)
    inferred = new_graph(identifier)
    for triple in closure:
        if triple not in known and keep_inferred(triple, subjects):
            inferred.add(triple)
    return Inference(graph=inferred, seconds=time.perf_counter() - started, engine=version)


def _owlrl_closure(asserted: Graph, ontology: Graph) -> Graph:
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    for triple in ontology:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    return closure


def _reasonable_closure(asserted: Graph, ontology: Graph) -> tuple[set[tuple], str]:
    import reasonable  # optional: only national-scale builds need it

    chains = _property_chains(ontology)
    closure: set[tuple] = set()
    # reasonable 0.4 does not apply owl:propertyChainAxiom (OWL RL rule prp-spo2), so the
    # chains are applied here: first on the input (usually all that is needed, so reasoning
    # runs once), then on the closure, recomputing it until nothing new appears.
    given = set(asserted) | set(ontology)
    extra: list[tuple] = []
    while new_links := [t for t in _apply_chains(given, chains) if t not in given]:
        given.update(new_links)
        extra += new_links
    while True:
        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(asserted)
        reasoner.from_graph(ontology)
        if extra:
            reasoner.from_graph(_graph(extra))
        closure = {(s, p, _plain(o)) for s, p, o in reasoner.reason()}
        new = [t for t in _apply_chains(closure, chains) if t not in closure]
        if not new:
            break
        extra += new
    try:
        name = f"reasonable {metadata.version('reasonable')}"
    except metadata.PackageNotFoundError:  # run from a source tree
        name = "reasonable"
    return closure, name


def _graph(triples: list[tuple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def _property_chains(ontology: Graph) -> list[tuple[URIRef, list[URIRef]]]:
    """(property, [p1, p2, …]) for every owl:propertyChainAxiom in `ontology`."""
    from rdflib.collection import Collection

    return sorted((prop, list(Collection(ontology, head)))  # type: ignore[misc]
                  for prop, head in ontology.subject_objects(OWL.propertyChainAxiom))


def _apply_chains(closure: set[tuple], chains: list[tuple[URIRef, list[URIRef]]]) -> set[tuple]:
    """Triples (x, p, z) for every chain p = p1 o … o pn that `closure` satisfies."""
    by_property: dict[object, dict[object, set]] = {}
    for s, p, o in closure:
        by_property.setdefault(p, {}).setdefault(s, set()).add(o)
    derived = set()
    for prop, steps in chains:
        for start in by_property.get(steps[0], {}):
            frontier = {start}
            for step in steps:
                edges = by_property.get(step, {})
                frontier = {o for node in frontier for o in edges.get(node, ())}
            derived.update((start, prop, end) for end in frontier)
    return derived


def _plain(term: object) -> object:
    """A literal typed xsd:string as the plain literal it is in RDF 1.1 (reasonable adds the type)."""
    if isinstance(term, Literal) and term.datatype == XSD.string and term.language is None:
        return Literal(str(term))
    return term
