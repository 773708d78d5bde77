"""What the store says about one resource, shaped for a page or a small RDF document.

Read-only, and only small bounded look-ups (quads of one subject, children of one item,
counts per class); arbitrary SPARQL belongs to the endpoint's worker pool.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Iterable

import pyoxigraph as ox

from .. import iris, rdf

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
PKG = str(iris.PKG)

#: The project's prefixes (plan_kg.rdf), for Turtle documents and for showing IRIs as prefix:local.
PREFIXES = {prefix: str(namespace) for prefix, namespace in rdf.PREFIXES.items()}

TYPE = ox.NamedNode(RDF + "type")
_LABELS = tuple(ox.NamedNode(p) for p in (SKOS + "prefLabel", DCTERMS + "title", RDFS + "label"))
_DEFINITIONS = tuple(ox.NamedNode(p) for p in (SKOS + "definition", RDFS + "comment"))
_CODE = ox.NamedNode(PKG + "code")
_LEVEL_NAME = ox.NamedNode(PKG + "levelName")
_IN_PLAN = ox.NamedNode(PKG + "inPlan")
_LINKED_ELEMENT = ox.NamedNode(PKG + "linkedElement")
_HAS_SDG_LINK = ox.NamedNode(PKG + "hasSdgLink")
#: Statements shown on the page of their object: an SDG link's element (its one way back), the cross-city link
#: nodes naming an element (their score, method and date are theirs alone).
_REFERRING = (_HAS_SDG_LINK, _LINKED_ELEMENT)
#: The most resources listed as linking to one.
MOST_LINKED_FROM = 100
_MUNICIPALITY = ox.NamedNode(PKG + "municipality")
_PRIMARY_SOURCE = ox.NamedNode("http://www.w3.org/ns/prov#hadPrimarySource")
#: The classes a page names as the resource's level, most specific first (the first four are Nishitokyo's
#: levels, counted on the home page; another city's element is a PlanElement, its level named by pkg:levelName).
LEVELS = tuple(PKG + name for name in ("BasicGoal", "Policy", "Measure", "Initiative", "PlanElement", "Plan",
                                       "Municipality"))
#: Statements shown as links out of the dataset (SDGs, other cities' plans).
LINKS_OUT = tuple(
    [PKG + "contributesToGoal", PKG + "contributesToTarget"]
    + [SKOS + p for p in ("exactMatch", "closeMatch", "relatedMatch", "broadMatch", "narrowMatch")]
)
#: Statements a page shows at the top, beside the label and level.
FACTS = (PKG + "field", PKG + "status", PKG + "inPlan", SKOS + "editorialNote", SKOS + "note")
#: Properties that point from a resource to the one above it, tried in this order.
UPWARD = tuple(ox.NamedNode(PKG + p) for p in ("parent", "topElementOf", "municipality"))
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
_FIRST = ox.NamedNode(RDF + "first")
_REST = ox.NamedNode(RDF + "rest")
_NIL = ox.NamedNode(RDF + "nil")
_PROPERTY_CHAIN = OWL + "propertyChainAxiom"
_Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
#: The most members of an RDF list a page shows (the rest elided), and how deep it shows blank nodes in blank nodes.
MOST_LIST_MEMBERS = 100
BLANK_DEPTH = 3
_IN_SCHEME = ox.NamedNode(SKOS + "inScheme")
_OWL_ONTOLOGY = ox.NamedNode(OWL + "Ontology")
_VERSION_IRI = ox.NamedNode(OWL + "versionIRI")

_CHILDREN = f"""
PREFIX pkg: <{PKG}>
SELECT DISTINCT ?resource ?child ?sequence ?code WHERE {{
  VALUES ?down {{ pkg:parent pkg:topElementOf pkg:municipality }}
  ?child ?down ?resource .
  OPTIONAL {{ ?child pkg:sequence ?sequence }}
  OPTIONAL {{ ?child pkg:code ?code }}
}} ORDER BY ?sequence ?code ?child
"""
_COUNT = "SELECT ?class (COUNT(DISTINCT ?item) AS ?n) WHERE { ?item a ?class } GROUP BY ?class"
_INSTANCES = "SELECT DISTINCT ?class ?item WHERE { ?item a ?class } ORDER BY ?item LIMIT 100"
_ONTOLOGY_TERMS = f"""
SELECT DISTINCT ?term WHERE {{
  ?term a ?kind .
  FILTER(STRSTARTS(STR(?term), "{PKG}"))
}} ORDER BY ?term
"""


@dataclass(frozen=True)
class Text:
    """A literal as a page shows it."""

    value: str
    lang: str | None = None
    datatype: str | None = None


@dataclass(frozen=True)
class Link:
    """An IRI with what a page needs to link to it: where it is served, its labels and code."""

    iri: str
    href: str
    label_ja: str | None = None
    label_en: str | None = None
    code: str | None = None
    local: bool = False  # served by this server
    qname: str | None = None  # e.g. skos:broader, when a known prefix fits
    place: str | None = None  # the city whose plan it is in, for links to other cities' items
    place_en: str | None = None  # the same city's English name

    @property
    def name(self) -> str:
        return self.label_ja or self.label_en or self.code or self.iri


@dataclass(frozen=True)
class Statement:
    """One property of a resource and all its values."""

    predicate: Link
    values: tuple[Link | Text | Blank, ...]


@dataclass(frozen=True)
class Blank:
    """A blank node as a page shows it, never by its label (which names it in one document only): an RDF list by
    its members in order (a property chain's properties, joined by ∘), anything else by what is said about it."""

    members: tuple[Link | Text | Blank, ...] | None  # None: not a list
    statements: tuple[Statement, ...] = ()
    chain: bool = False  # the list of an owl:propertyChainAxiom
    more: bool = False  # a list longer than MOST_LIST_MEMBERS: the rest not shown

    @property
    def key(self) -> str:
        """What it says, for ordering values: the same for the same node whatever its label."""
        if self.members is not None:
            return "(" + " ".join(_value_key(m) for m in self.members) + ")"
        return "[" + "; ".join(f"{row.predicate.iri} {' '.join(_value_key(v) for v in row.values)}"
                               for row in self.statements) + "]"


@dataclass(frozen=True)
class ResourceView:
    """Everything a resource page shows."""

    resource: Link
    level: Link | None
    level_name: str | None  # pkg:levelName, the source's own name of the level
    breadcrumbs: tuple[Link, ...]  # from the top down to the parent
    facts: tuple[Statement, ...]
    children: tuple[Link, ...]
    links_out: tuple[Statement, ...]
    statements: tuple[Statement, ...]
    definitions: tuple[Text, ...]
    source: Attribution | None = None  # the plan the resource is (in), for the page's attribution
    caption: tuple[str, str] | None = None  # (ja, en): what an unlabelled link node joins (`Describer.caption`)
    linked_from: tuple[Statement, ...] = ()  # the link nodes naming it, and an SDG link's element (`_REFERRING`)


@dataclass(frozen=True)
class Attribution:
    """Where a plan's data comes from, as CC BY asks a page to say: the plan, its municipality, its source document."""

    plan: Link
    municipality: Link | None
    document: str | None  # prov:hadPrimarySource: an http(s) address, or None


@dataclass(frozen=True)
class OntologyTerm:
    term: Link
    kind: str  # one of TERM_KINDS
    types: tuple[Link, ...]  # rdf:type
    schemes: tuple[Link, ...]  # skos:inScheme: the concept schemes it is a concept of
    members: tuple[Link, ...]  # for a concept scheme: the concepts in it
    definitions: tuple[Text, ...]
    statements: tuple[Statement, ...]  # everything else said about it


@dataclass(frozen=True)
class Ontology:
    """An owl:Ontology under the ontology's IRI: the ontology itself or one of its modules (.../ontology/sdg)."""

    ontology: Link
    version_iris: tuple[str, ...]  # owl:versionIRI

    @property
    def iri(self) -> str:
        return self.ontology.iri


@dataclass(frozen=True)
class LevelCount:
    level: Link
    count: int


class Describer:
    """Reads one store for pages and documents; maps IRIs to this server's paths."""

    def __init__(self, store: ox.Store, base_iri: str, root: str = "") -> None:
        self.store = store
        self.base_iri = base_iri
        self.root = root  # the path this server is served under (Settings.public_path)

    # -- IRIs and paths --------------------------------------------------------
    def href(self, iri: str) -> tuple[str, bool]:
        """Where `iri` can be looked up: a path on this server when it is ours, else the IRI itself."""
        return local_href(iri, self.base_iri, self.root)

    def iri(self, path: str) -> str:
        """The IRI a request path (without a suffix) stands for."""
        return self.base_iri + path.lstrip("/")

    # -- small look-ups ----------------------------------------------------------
    def triples(self, iri: str) -> list[ox.Triple]:
        """Every statement about `iri` in any graph, each once, in a stable order (none if it is not an IRI)."""
        subject = _named_node(iri)
        if subject is None:
            return []
        seen = {quad.triple for quad in self.store.quads_for_pattern(subject, None, None, None)}
        return sorted(seen, key=lambda t: (t.predicate.value, str(t.object)))

    def describes(self, iri: str) -> bool:
        """Whether the store has a statement about `iri` (one index look-up: `resource` builds the whole page)."""
        subject = _named_node(iri)
        return subject is not None and next(self.store.quads_for_pattern(subject, None, None, None), None) is not None

    def graph_triples(self, graph_iri: str) -> list[ox.Triple]:
        """Every statement in the named graph `graph_iri`."""
        graph = ox.NamedNode(graph_iri)
        return [quad.triple for quad in self.store.quads_for_pattern(None, None, None, graph)]

    def is_graph(self, graph_iri: str) -> bool:
        graph = _named_node(graph_iri)
        return graph is not None and self.store.contains_named_graph(graph)

    def _objects(self, iri: str, predicates: Iterable[ox.NamedNode]) -> list[ox.Literal]:
        subject = ox.NamedNode(iri)
        found: list[ox.Literal] = []
        for predicate in predicates:
            for quad in self.store.quads_for_pattern(subject, predicate, None, None):
                if isinstance(quad.object, ox.Literal) and quad.object not in found:
                    found.append(quad.object)
        return found

    def link(self, iri: str) -> Link:
        """`iri` with its Japanese and English labels and its code, if the store has them."""
        labels = self._objects(iri, _LABELS)
        codes = self._objects(iri, [_CODE])
        href, local = self.href(iri)
        return Link(
            iri=iri,
            href=href,
            label_ja=_in_language(labels, "ja"),
            label_en=_in_language(labels, "en"),
            code=codes[0].value if codes else None,
            local=local,
            qname=qname(iri),
        )

    def _value(self, term: _Term, *, chain: bool = False,
               depth: int = 0) -> Link | Text | Blank:
        if isinstance(term, ox.NamedNode):
            return self.link(term.value)
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            shown = None if datatype in (XSD + "string", RDF + "langString") else datatype
            return Text(term.value, term.language, shown)
        if isinstance(term, ox.BlankNode):
            return self.blank(term, chain=chain, depth=depth)
        return Text(str(term))

    def blank(self, node: ox.BlankNode, *, chain: bool = False, depth: int = 0) -> Blank:
        """`node` as a page shows it: its list's members, or its statements (blank nodes in it `BLANK_DEPTH` deep)."""
        if depth >= BLANK_DEPTH:
            return Blank(members=None)
        if (listed := self._list(node)) is not None:
            members, more = listed
            return Blank(members=tuple(self._value(m, depth=depth + 1) for m in members), chain=chain, more=more)
        triples = {q.triple for q in self.store.quads_for_pattern(node, None, None, None)}
        return Blank(members=None, statements=self.statements(triples, depth=depth + 1))

    def _list(self, head: ox.BlankNode) -> tuple[list[_Term], bool] | None:
        """The members of the RDF list starting at `head` (at most MOST_LIST_MEMBERS) and whether there are more;
        None when it is no well-formed list: a node without exactly one rdf:first and one rdf:rest, or a cycle."""
        members: list[_Term] = []
        seen: set[ox.BlankNode] = set()
        node: _Term = head
        while node != _NIL:
            if not isinstance(node, ox.BlankNode) or node in seen:
                return None
            if len(members) == MOST_LIST_MEMBERS:
                return members, True
            seen.add(node)
            firsts = {q.object for q in self.store.quads_for_pattern(node, _FIRST, None, None)}
            rests = {q.object for q in self.store.quads_for_pattern(node, _REST, None, None)}
            if len(firsts) != 1 or len(rests) != 1:
                return None
            members.append(firsts.pop())
            node = rests.pop()
        return members, False

    def statements(self, triples: Iterable[ox.Triple], skip: Iterable[str] = (), *,
                   depth: int = 0) -> tuple[Statement, ...]:
        """Triples grouped by predicate, predicates in IRI order."""
        skipped = set(skip)
        grouped: dict[str, list[Link | Text | Blank]] = {}
        for triple in triples:
            if triple.predicate.value in skipped:
                continue
            grouped.setdefault(triple.predicate.value, []).append(
                self._value(triple.object, chain=triple.predicate.value == _PROPERTY_CHAIN, depth=depth))
        return tuple(
            Statement(self.link(p), tuple(sorted(values, key=_reading_order))) for p, values in sorted(grouped.items())
        )

    # -- views --------------------------------------------------------------------
    def resource(self, iri: str) -> ResourceView | None:
        """The page of `iri`, or None when the store says nothing about it."""
        triples = self.triples(iri)
        if not triples:
            return None
        types = {t.object.value for t in triples if t.predicate == TYPE and isinstance(t.object, ox.NamedNode)}
        level = next((self.link(c) for c in LEVELS if c in types), None)
        level_names = self._objects(iri, [_LEVEL_NAME])
        return ResourceView(
            resource=self.link(iri),
            level=level,
            level_name=level_names[0].value if level_names else None,
            breadcrumbs=tuple(reversed(self._ancestors(iri))),
            facts=self.statements(t for t in triples if t.predicate.value in FACTS),
            children=self.children(iri),
            links_out=tuple(
                Statement(row.predicate, tuple(self._placed(v) for v in row.values))
                for row in self.statements(t for t in triples if t.predicate.value in LINKS_OUT)
            ),
            statements=self.statements(triples),
            definitions=tuple(Text(d.value, d.language) for d in self._objects(iri, _DEFINITIONS)),
            source=self._attribution(iri, types),
            caption=self.caption(iri, types),
            linked_from=self._linked_from(iri),
        )

    def caption(self, iri: str, types: set[str] | None = None) -> tuple[str, str] | None:
        """(ja, en) naming a cross-city or SDG link node by what it joins (it has no label); None for anything else."""
        node = ox.NamedNode(iri)
        if types is None:
            types = {q.object.value for q in self.store.quads_for_pattern(node, TYPE, None, None)}
        if PKG + "CrossCityLink" in types:
            ends = sorted({q.object.value for q in self.store.quads_for_pattern(node, _LINKED_ELEMENT, None, None)},
                          key=natural_key)
            names = [" ↔ ".join(self._short(end, english=english) for end in ends) for english in (False, True)]
            relation = self._object(node, ox.NamedNode(PKG + "matchRelation"))
            scores = [q.object.value for q in self.store.quads_for_pattern(node, ox.NamedNode(PKG + "similarityScore"),
                                                                            None, None)]
            how = ", ".join(filter(None, [qname(relation.value) if relation else None, scores[0] if scores else None]))
            return f"他自治体との対応 {names[0]}（{how}）", f"Cross-city link {names[1]} ({how})"
        if PKG + "SdgLink" in types:
            element = next((q.subject.value for q in self.store.quads_for_pattern(None, _HAS_SDG_LINK, node, None)
                            if isinstance(q.subject, ox.NamedNode)), None)
            target = self._object(node, ox.NamedNode(PKG + "sdgTarget"))
            target_code = target.value.rpartition("/")[2] if target else "?"
            ja, en = (self._short(element, english=english) if element else "?" for english in (False, True))
            return f"SDGs との対応 {ja} → ターゲット {target_code}", f"SDG link {en} → target {target_code}"
        return None

    def _short(self, iri: str, *, english: bool = False) -> str:
        """An element as a caption names it: its code (or name), with its city (in English for an English caption)."""
        link = self._placed(self.link(iri))
        place = link.place_en if english else link.place
        return f"{place} {link.code or link.name}" if place else link.code or link.name

    def _linked_from(self, iri: str) -> tuple[Statement, ...]:
        """The `_REFERRING` statements whose object is `iri`: property, then the resources (at most `MOST_LINKED_FROM`)."""
        node = _named_node(iri)
        if node is None:
            return ()
        rows = []
        for predicate in _REFERRING:
            subjects = sorted({q.subject.value for q in itertools.islice(
                self.store.quads_for_pattern(None, predicate, node, None), MOST_LINKED_FROM * 2)
                if isinstance(q.subject, ox.NamedNode)}, key=natural_key)[:MOST_LINKED_FROM]
            if subjects:
                rows.append(Statement(self.link(predicate.value), tuple(self._captioned(s) for s in subjects)))
        return tuple(rows)

    def _captioned(self, iri: str) -> Link:
        """`link(iri)`, a link node labelled by its caption."""
        link = self.link(iri)
        if link.label_ja or link.label_en or (caption := self.caption(iri)) is None:
            return self._placed(link)
        return replace(link, label_ja=caption[0], label_en=caption[1])

    def _attribution(self, iri: str, types: set[str]) -> Attribution | None:
        """The plan `iri` is, or is part of (pkg:inPlan), with its municipality and source document; None if neither."""
        plan = ox.NamedNode(iri) if PKG + "Plan" in types else self._object(ox.NamedNode(iri), _IN_PLAN)
        if plan is None:
            return None
        city = self._object(plan, _MUNICIPALITY)
        document = self._object(plan, _PRIMARY_SOURCE)
        return Attribution(plan=self.link(plan.value), municipality=self.link(city.value) if city else None,
                           document=document.value if document and document.value.startswith(("http://", "https://"))
                           else None)

    def _placed(self, value: Link | Text) -> Link | Text:
        """`value` with the name of the city whose plan it belongs to, when it is a plan element."""
        if not isinstance(value, Link):
            return value
        plan = self._object(ox.NamedNode(value.iri), _IN_PLAN)
        city = self._object(plan, _MUNICIPALITY) if plan is not None else None
        if city is None:
            return value
        link = self.link(city.value)
        return replace(value, place=link.label_ja or link.label_en, place_en=link.label_en or link.label_ja)

    def _object(self, subject: ox.NamedNode, predicate: ox.NamedNode) -> ox.NamedNode | None:
        """The first IRI `subject` has as `predicate` in any graph, if any (a plan's municipality, an element's plan)."""
        return next((q.object for q in self.store.quads_for_pattern(subject, predicate, None, None)
                     if isinstance(q.object, ox.NamedNode)), None)

    def _ancestors(self, iri: str) -> list[Link]:
        ancestors: list[Link] = []
        seen = {iri}
        current = ox.NamedNode(iri)
        while len(ancestors) < 16:  # plans are a few levels deep; never loop on bad data
            up = next(
                (q.object for p in UPWARD for q in self.store.quads_for_pattern(current, p, None, None)
                 if isinstance(q.object, ox.NamedNode)),
                None,
            )
            if up is None or up.value in seen:
                break
            seen.add(up.value)
            ancestors.append(self.link(up.value))
            current = up
        return ancestors

    def children(self, iri: str) -> tuple[Link, ...]:
        """The resources directly below `iri` (elements, top elements of a plan, plans of a city), in source order."""
        solutions = self.store.query(
            _CHILDREN, substitutions={ox.Variable("resource"): ox.NamedNode(iri)}, use_default_graph_as_union=True
        )
        children: list[Link] = []
        for solution in solutions:
            child = solution["child"]
            if isinstance(child, ox.NamedNode) and all(c.iri != child.value for c in children):
                children.append(self.link(child.value))
        return tuple(children)

    def count(self, class_iri: str) -> int:
        solutions = self.store.query(
            _COUNT, substitutions={ox.Variable("class"): ox.NamedNode(class_iri)}, use_default_graph_as_union=True
        )
        return next((int(s["n"].value) for s in solutions), 0)

    def level_counts(self) -> tuple[LevelCount, ...]:
        """How many basic goals, policies, measures and initiatives there are."""
        return tuple(LevelCount(self.link(c), self.count(c)) for c in LEVELS[:4])

    def instances(self, class_iri: str) -> tuple[Link, ...]:
        """Up to 100 resources of a class (plans, municipalities)."""
        solutions = self.store.query(
            _INSTANCES, substitutions={ox.Variable("class"): ox.NamedNode(class_iri)}, use_default_graph_as_union=True
        )
        return tuple(self.link(s["item"].value) for s in solutions)

    def ontology_terms(self) -> tuple[OntologyTerm, ...]:
        """Every term of the plan-kg ontology (classes, properties, concept schemes, individuals), with
        labels, definitions, types and schemes.

        The terms are the subjects in the ontology's namespace of the ontology's named graph, or,
        without one, every typed IRI in that namespace.
        """
        graph = ox.NamedNode(str(iris.ontology_graph_iri(self.base_iri)))
        found = {q.subject.value for q in self.store.quads_for_pattern(None, None, None, graph)
                 if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(PKG)}
        if not found:
            found = {s["term"].value for s in self.store.query(_ONTOLOGY_TERMS, use_default_graph_as_union=True)}
        shown_apart = {p.value for p in (*_LABELS, *_DEFINITIONS, TYPE, _IN_SCHEME)}
        terms = []
        for iri in found:
            triples = self.triples(iri)
            types = sorted({t.object.value for t in triples
                            if t.predicate == TYPE and isinstance(t.object, ox.NamedNode)})
            schemes = sorted({t.object.value for t in triples
                              if t.predicate == _IN_SCHEME and isinstance(t.object, ox.NamedNode)})
            members = sorted({q.subject.value
                              for q in self.store.quads_for_pattern(None, _IN_SCHEME, ox.NamedNode(iri), None)
                              if isinstance(q.subject, ox.NamedNode)})
            terms.append(OntologyTerm(
                term=self.link(iri),
                kind=_term_kind(types),
                types=tuple(self.link(t) for t in types),
                schemes=tuple(self.link(s) for s in schemes),
                members=tuple(self.link(m) for m in members),
                definitions=tuple(Text(d.value, d.language) for d in self._objects(iri, _DEFINITIONS)),
                statements=self.statements(triples, shown_apart),
            ))
        return tuple(sorted(terms, key=lambda t: (TERM_KINDS.index(t.kind), t.term.iri)))

    def ontologies(self) -> tuple[Ontology, ...]:
        """The ontology and its modules, as the store declares them (owl:Ontology), the ontology first."""
        found = {q.subject.value for q in self.store.quads_for_pattern(None, TYPE, _OWL_ONTOLOGY, None)
                 if isinstance(q.subject, ox.NamedNode) and _in_ontology(q.subject.value)}
        ontologies = []
        for iri in sorted(found, key=lambda iri: (iri != iris.ONTOLOGY_IRI, iri)):
            versions = {q.object.value
                        for q in self.store.quads_for_pattern(ox.NamedNode(iri), _VERSION_IRI, None, None)
                        if isinstance(q.object, ox.NamedNode)}
            ontologies.append(Ontology(self.link(iri), tuple(sorted(versions))))
        return tuple(ontologies)

    def ontology_triples(self) -> list[ox.Triple]:
        """The ontology: its named graph when the build made one, else the statements about its terms."""
        graph = self.graph_triples(str(iris.ontology_graph_iri(self.base_iri)))
        if graph:
            return graph
        found: list[ox.Triple] = []
        described = [iris.ONTOLOGY_IRI, *(o.iri for o in self.ontologies()),
                     *(t.term.iri for t in self.ontology_terms())]
        for term in dict.fromkeys(described):
            found.extend(self.triples(term))
        return found


def _in_ontology(iri: str) -> bool:
    """Whether `iri` is the ontology's IRI or one below it (a module, a version)."""
    return iri == iris.ONTOLOGY_IRI or iri.startswith(iris.ONTOLOGY_IRI + "/")


def _term_kind(types: Iterable[str]) -> str:
    """The page section of a term with these rdf:types: class before property before scheme before individual."""
    kinds = {_TERM_KINDS.get(t, "individual") for t in types}
    return next((kind for kind in TERM_KINDS if kind in kinds), "other")


def _reading_order(value: Link | Text | Blank) -> tuple:
    """Plan elements by code as people count (1-3-2 before 1-3-10, S9 before S10, parents before children), then
    the rest by IRI or text, numbers in them counted too (SDG goal 2 before 10, target 4.7 before 10.2), then
    blank nodes by what they say."""
    if isinstance(value, Link) and value.code:
        return (0, natural_key(value.code), value.iri)
    if isinstance(value, Blank):
        return (2, (), value.key)
    return (1, natural_key(value.iri if isinstance(value, Link) else value.value), ())


def _value_key(value: Link | Text | Blank) -> str:
    if isinstance(value, Link):
        return f"<{value.iri}>"
    if isinstance(value, Text):
        return repr((value.value, value.lang, value.datatype))
    return value.key


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """`text` to sort by as people read it: each run of digits by its number (`S9` before `S10`, `.../sdg/4.7` before
    `.../sdg/10.2`), the rest by its characters; a text before the longer ones it begins (1-3 before 1-3-1)."""
    return tuple((0, int(run), "") if run.isdigit() else (1, 0, run) for run in _RUNS.findall(text))


_RUNS = re.compile(r"[0-9]+|[^0-9]+")


def local_href(iri: str, base_iri: str, root: str = "") -> tuple[str, bool]:
    """Where `iri` can be looked up: a path on this server (served under `root`, `Settings.public_path`) when
    it is under `base_iri` or the ontology's, else the IRI itself; and whether it is such a path."""
    if iri.startswith(iris.ONTOLOGY_IRI) and (len(iri) == len(iris.ONTOLOGY_IRI) or iri[len(iris.ONTOLOGY_IRI)] == "#"):
        return root + "/ontology" + iri[len(iris.ONTOLOGY_IRI):], True
    # Not when the rest begins with a slash: "//host/…" is a link to another host (a crafted IRI such
    # as {base}/evil.example/ would be shown as ours and lead there).
    if iri.startswith(base_iri) and not iri[len(base_iri):].startswith(("/", "\\")):
        return root + "/" + iri[len(base_iri):], True
    return iri, False


def _named_node(iri: str) -> ox.NamedNode | None:
    """`iri` as a term, or None when it is not a valid IRI (a request path can hold anything)."""
    try:
        return ox.NamedNode(iri)
    except ValueError:
        return None


def qname(iri: str) -> str | None:
    """`iri` as prefix:local with a prefix of PREFIXES, if one fits; the longest namespace first (sdgo:isTargetOf,
    not sdg:ontology#isTargetOf)."""
    for prefix, namespace in _BY_LENGTH:
        local = iri[len(namespace):]
        if iri.startswith(namespace) and local and "/" not in local and "#" not in local:
            return f"{prefix}:{local}"
    return None


_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


def _in_language(literals: list[ox.Literal], language: str) -> str | None:
    for literal in literals:
        if literal.language and literal.language.lower().split("-")[0] == language:
            return literal.value
    if language == "ja":  # a plain literal is the source's own (Japanese) text
        return next((lit.value for lit in literals if not lit.language), None)
    return None
