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

import functools
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
_TRIVIAL_TYPE_KEYS = {str(t) for t in _TRIVIAL_TYPES}
_TYPE, _SAME_AS = str(RDF.type), str(OWL.sameAs)
_SCHEMA_CACHE: dict[int, "_Schema"] = {}


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
        known = given | set(ontology)
        return {t for t in closure if t not in known and keep_inferred(t, subjects)}, version
    kept, version = _reasonable_closure(given, ontology, subjects)  # keep_inferred already applied
    schema = _schema(ontology).triples  # made once per ontology graph (a build reasons many plans)
    return {t for t in kept if t not in given and t not in schema}, version


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
    """The part of the OWL RL closure that `keep_inferred` keeps: triples about `subjects`.

    reasonable takes and returns rdflib terms; making them is most of its cost here, and a
    Literal costs five times an IRI (rdflib parses its value). So every literal goes in as a
    stand-in IRI, one per distinct literal term, and comes back as the literal object it
    stands for. That is a renaming of nodes, which OWL RL's rules commute with: only the
    datatype rules look inside a literal, and plan-kg leaves them off (owlrl's
    datatype_axioms=False, the reference). Triples about a stand-in (a literal subject in
    generalised RDF) are not about `subjects`, so none is kept.
    """
    import reasonable  # optional: only national-scale builds need it

    chains = _property_chains(ontology)
    steps = {step for _, chain in chains for step in chain}
    chained = steps | {prop for prop, _ in chains}
    # reasonable 0.4 does not apply owl:propertyChainAxiom (OWL RL rule prp-spo2), so the
    # chains are applied here: first on the input (usually all that is needed, so reasoning
    # runs once), then on the closure, recomputing it until nothing new appears.
    schema = _schema(ontology)
    given = {t for t in asserted if t[1] in chained}
    given.update(t for t in schema.triples if t[1] in chained)
    extra: list[tuple] = []
    while new_links := [t for t in _apply_chains(given, chains) if t not in given]:
        given.update(new_links)
        extra += new_links
    # rdflib terms compare in Python, plain strings in C: the tests on the ~10,000 triples of
    # a plan's closure are made on str copies of the terms.
    named = {str(s) for s in subjects if type(s) is URIRef}
    if any(name.startswith(_STAND_IN) for name in named):
        raise ValueError(f"IRIs starting with {_STAND_IN} are reserved for reasoning")
    unnamed = {s for s in subjects if type(s) is not URIRef}
    chained_keys = {str(p) for p in chained}
    stand_ins = _StandIns(schema)
    data = stand_ins.replace(asserted)
    while True:
        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(data)
        reasoner.from_graph(schema.stood_in)
        if extra:
            reasoner.from_graph(stand_ins.replace(extra))
        closure, links = [], set()
        for s, p, o in reasoner.reason():
            key = str(p)
            if not (str(s) in named if type(s) is URIRef else s in unnamed):
                if key in chained_keys:
                    links.add((s, p, stand_ins.restore(o)))
                continue
            o = stand_ins.restore(o)
            if type(o) is Literal:
                if key == _TYPE:
                    continue
            elif key == _TYPE and type(o) is URIRef and str(o) in _TRIVIAL_TYPE_KEYS:
                continue
            elif key == _SAME_AS and str(s) == str(o) and type(s) is type(o):
                continue
            if key in chained_keys:
                links.add((s, p, o))
            closure.append((s, p, o))
        new = [t for t in _apply_chains(links, chains) if t not in links]
        if not new:
            break
        extra += new
    return closure, _reasonable_version()


@functools.cache
def _reasonable_version() -> str:
    try:
        return f"reasonable {metadata.version('reasonable')}"
    except metadata.PackageNotFoundError:  # run from a source tree
        return "reasonable"


_STAND_IN = "tag:plan-kg.invalid,2026:literal/"


@dataclass(frozen=True)
class _Schema:
    """An ontology graph prepared once for reasoning many plans."""

    graph: Graph
    size: int
    triples: frozenset[tuple]
    stood_in: list[tuple]  # its triples with literals as stand-in IRIs
    names: dict[Literal, URIRef]  # literal -> stand-in
    literals: dict[str, Literal]  # stand-in -> literal


def _schema(ontology: Graph) -> _Schema:
    """`ontology` prepared for reasoning, kept for the last graph seen (one a build reasons every
    plan with); prepared again when another graph comes, or this one changed size."""
    cached = _SCHEMA_CACHE.get(id(ontology))
    if cached is None or cached.graph is not ontology or cached.size != len(ontology):
        names: dict[Literal, URIRef] = {}
        literals: dict[str, Literal] = {}
        stood_in = [(s, p, _stand_in(o, names, literals, "o")) for s, p, o in ontology]
        cached = _Schema(ontology, len(ontology), frozenset(ontology), stood_in, names, literals)
        _SCHEMA_CACHE.clear()
        _SCHEMA_CACHE[id(ontology)] = cached
    return cached


def _stand_in(term: object, names: dict, literals: dict, prefix: str) -> object:
    if type(term) is not Literal:
        return term
    name = names.get(term)
    if name is None:
        name = names[term] = URIRef(f"{_STAND_IN}{prefix}{len(names)}")
        literals[str(name)] = term
    return name


class _StandIns:
    """Literal <-> stand-in IRI for one reasoning run; the ontology's literals keep their stand-ins."""

    def __init__(self, schema: _Schema) -> None:
        self.names = dict(schema.names)
        self.literals = dict(schema.literals)

    def replace(self, triples: Iterable[tuple]) -> list[tuple]:
        names, literals = self.names, self.literals
        return [(s, p, _stand_in(o, names, literals, "d") if type(o) is Literal else o) for s, p, o in triples]

    def restore(self, term: object) -> object:
        if type(term) is URIRef:
            return self.literals.get(str(term), term)
        if type(term) is Literal:  # made by the reasoner, not one of ours
            return _plain(term)
        return term


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
