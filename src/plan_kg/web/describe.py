"""What the store says about one resource, shaped for a page or a small RDF document.

Read-only, and only small bounded look-ups (quads of one subject, children of one item,
counts per class); arbitrary SPARQL belongs to the endpoint's worker pool. The records it fills are
`views`'; the ontology page's look-ups are `ontology`'s.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Iterable

import pyoxigraph as ox

from .views import (
    DCTERMS, OWL, PKG, RDF, RDFS, SKOS, XSD, Attribution, Blank, Link, LevelCount, ResourceView, Statement,
    Text, local_href, natural_key, qname, reading_order,
)

TYPE = ox.NamedNode(RDF + "type")
#: The properties that label a resource, and that define it, the first found first.
LABELS = tuple(ox.NamedNode(p) for p in (SKOS + "prefLabel", DCTERMS + "title", RDFS + "label"))
DEFINITIONS = tuple(ox.NamedNode(p) for p in (SKOS + "definition", RDFS + "comment"))
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
_FIRST = ox.NamedNode(RDF + "first")
_REST = ox.NamedNode(RDF + "rest")
_NIL = ox.NamedNode(RDF + "nil")
_PROPERTY_CHAIN = OWL + "propertyChainAxiom"
_Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
#: The most members of an RDF list a page shows (the rest elided), and how deep it shows blank nodes in blank nodes.
MOST_LIST_MEMBERS = 100
BLANK_DEPTH = 3

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


class Describer:
    """Reads one store for pages and documents; maps IRIs to this server's paths."""

    def __init__(self, store: ox.Store, base_iri: str, root: str = "") -> None:
        self.store = store
        self.base_iri = base_iri
        self.root = root  # the path this server is served under (Settings.public_path)

    # -- IRIs and paths --------------------------------------------------------
    def href(self, iri: str) -> tuple[str | None, bool]:
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

    def literals(self, iri: str, predicates: Iterable[ox.NamedNode]) -> list[ox.Literal]:
        subject = ox.NamedNode(iri)
        found: list[ox.Literal] = []
        for predicate in predicates:
            for quad in self.store.quads_for_pattern(subject, predicate, None, None):
                if isinstance(quad.object, ox.Literal) and quad.object not in found:
                    found.append(quad.object)
        return found

    def link(self, iri: str) -> Link:
        """`iri` with its Japanese and English labels and its code, if the store has them."""
        labels = self.literals(iri, LABELS)
        codes = self.literals(iri, [_CODE])
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
            Statement(self.link(p), tuple(sorted(values, key=reading_order))) for p, values in sorted(grouped.items())
        )

    # -- views --------------------------------------------------------------------
    def resource(self, iri: str) -> ResourceView | None:
        """The page of `iri`, or None when the store says nothing about it."""
        triples = self.triples(iri)
        if not triples:
            return None
        types = {t.object.value for t in triples if t.predicate == TYPE and isinstance(t.object, ox.NamedNode)}
        level = next((self.link(c) for c in LEVELS if c in types), None)
        level_names = self.literals(iri, [_LEVEL_NAME])
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
            definitions=tuple(Text(d.value, d.language) for d in self.literals(iri, DEFINITIONS)),
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



def _named_node(iri: str) -> ox.NamedNode | None:
    """`iri` as a term, or None when it is not a valid IRI (a request path can hold anything)."""
    try:
        return ox.NamedNode(iri)
    except ValueError:
        return None



def _in_language(literals: list[ox.Literal], language: str) -> str | None:
    for literal in literals:
        if literal.language and literal.language.lower().split("-")[0] == language:
            return literal.value
    if language == "ja":  # a plain literal is the source's own (Japanese) text
        return next((lit.value for lit in literals if not lit.language), None)
    return None
