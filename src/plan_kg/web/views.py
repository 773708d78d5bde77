"""What a page shows of the store: small frozen records, the order their values are listed in, and where
an IRI is looked up (a path on this server or the IRI itself). `describe.Describer` fills them."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    href: str | None  # None: an IRI not to follow (see local_href)
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
    kind: str  # one of ontology.TERM_KINDS
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


def reading_order(value: Link | Text | Blank) -> tuple:
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


def local_href(iri: str, base_iri: str, root: str = "") -> tuple[str | None, bool]:
    """Where `iri` can be looked up: a path on this server (served under `root`, `Settings.public_path`) when
    it is under `base_iri` or the ontology's, else the IRI itself if it is http(s), else None (urn:, mailto:,
    javascript: ... are shown, never followed); and whether it is such a path."""
    if iri.startswith(iris.ONTOLOGY_IRI) and (len(iri) == len(iris.ONTOLOGY_IRI) or iri[len(iris.ONTOLOGY_IRI)] == "#"):
        return root + "/ontology" + iri[len(iris.ONTOLOGY_IRI):], True
    # Not when the rest begins with a slash: "//host/…" is a link to another host (a crafted IRI such
    # as {base}/evil.example/ would be shown as ours and lead there).
    if iri.startswith(base_iri) and not iri[len(base_iri):].startswith(("/", "\\")):
        return root + "/" + iri[len(base_iri):], True
    return (iri if iri.startswith(("http://", "https://")) else None), False


def qname(iri: str) -> str | None:
    """`iri` as prefix:local with a prefix of PREFIXES, if one fits; the longest namespace first (sdgo:isTargetOf,
    not sdg:ontology#isTargetOf)."""
    for prefix, namespace in _BY_LENGTH:
        local = iri[len(namespace):]
        if iri.startswith(namespace) and local and "/" not in local and "#" not in local:
            return f"{prefix}:{local}"
    return None


_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))
