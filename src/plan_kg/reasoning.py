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
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata

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
    started = time.perf_counter()
    triples, version = inferred_triples(asserted, ontology, engine=engine)
    inferred = new_graph(identifier)
    for triple in triples:
        inferred.add(triple)
    return Inference(graph=inferred, seconds=time.perf_counter() - started, engine=version)


def inferred_triples(asserted: Iterable[tuple], ontology: Graph, *, engine: str = "owlrl") -> tuple[set[tuple], str]:
    """`infer` without building a Graph: the inferred triples and the engine's name and version.

    `asserted` may be any iterable of rdflib triples (e.g. several graphs chained), which is
    what national-scale builds use: building rdflib graphs costs more than reasoning there.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown reasoning engine {engine!r}; use one of {', '.join(ENGINES)}")
    given = asserted if isinstance(asserted, (set, frozenset)) else set(asserted)
    subjects = {s for s, _, _ in given}
    if engine == "owlrl":
        closure, version = _owlrl_closure(given, ontology), f"owlrl {owlrl.__version__}"
    else:
        closure, version = _reasonable_closure(given, ontology, subjects)
    known = given | set(ontology)
    return {t for t in closure if t not in known and keep_inferred(t, subjects)}, version


def _owlrl_closure(asserted: set[tuple], ontology: Graph) -> Graph:
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    for triple in ontology:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    return closure


def _reasonable_closure(asserted: set[tuple], ontology: Graph, subjects: set) -> tuple[list[tuple], str]:
    """The part of the OWL RL closure that `keep_inferred` may keep: triples about `subjects`."""
    import reasonable  # optional: only national-scale builds need it

    chains = _property_chains(ontology)
    steps = {step for _, chain in chains for step in chain}
    chained = steps | {prop for prop, _ in chains}
    # reasonable 0.4 does not apply owl:propertyChainAxiom (OWL RL rule prp-spo2), so the
    # chains are applied here: first on the input (usually all that is needed, so reasoning
    # runs once), then on the closure, recomputing it until nothing new appears.
    given = {t for t in asserted if t[1] in chained}
    given.update(t for t in ontology if t[1] in chained)
    extra: list[tuple] = []
    while new_links := [t for t in _apply_chains(given, chains) if t not in given]:
        given.update(new_links)
        extra += new_links
    while True:
        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(list(asserted))
        reasoner.from_graph(ontology)
        if extra:
            reasoner.from_graph(extra)
        # Only what can be kept, or can feed a chain, is looked at (the closure is mostly axioms).
        closure = [(s, p, _plain(o) if type(o) is Literal else o)
                   for s, p, o in reasoner.reason() if s in subjects or p in chained]
        links = {t for t in closure if t[1] in chained}
        new = [t for t in _apply_chains(links, chains) if t not in links]
        if not new:
            break
        extra += new
    try:
        name = f"reasonable {metadata.version('reasonable')}"
    except metadata.PackageNotFoundError:  # run from a source tree
        name = "reasonable"
    return closure, name


def _property_chains(ontology: Graph) -> list[tuple[URIRef, list[URIRef]]]:
    """(property, [p1, p2, …]) for every owl:propertyChainAxiom in `ontology`."""
    from rdflib.collection import Collection

    return sorted((prop, list(Collection(ontology, head)))  # type: ignore[misc]
                  for prop, head in ontology.subject_objects(OWL.propertyChainAxiom))


def _apply_chains(closure: Iterable[tuple], chains: list[tuple[URIRef, list[URIRef]]]) -> set[tuple]:
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
