"""RDF documents of the store's statements (Turtle, N-Triples, RDF/XML): the same bytes for the same statements.

A store names blank nodes as it loads them (pyoxigraph's `bulk_load` at random, as `publish --static` loads the
dump), and lists a pattern's quads in the order of its own encoding of them: a document written as the store gives
them differed from one load to the next wherever the ontology has an RDF list (a property chain). Here blank nodes
are labelled by `publish.canonical`, as the build labels those of a file of one graph (dist/ontology.ttl; the dumps
of several graphs put each graph's own prefix before them), and the triples are sorted, as `dcat.serialize` sorts
the catalog's.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from ..formats import Format
from ..publish import canonical
from ..rdf import new_graph
from .views import PREFIXES


def canonical_triples(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """`triples` with their blank nodes relabelled canonically, sorted.

    Only the triples with a blank node go through rdflib: it colours a blank node by those alone (its neighbours),
    so the labels are those of the whole graph, and a graph of thousands of triples with a list or two is quick.
    """
    plain: list[ox.Triple] = []
    blank: list[ox.Triple] = []
    for triple in triples:
        (blank if isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)
         else plain).append(triple)
    if blank:
        graph = new_graph()
        graph.parse(data=ox.serialize(blank, format=ox.RdfFormat.N_TRIPLES), format="nt")
        relabelled = canonical(graph).serialize(format="nt11", encoding="utf-8")
        plain += ox.parse(relabelled, format=ox.RdfFormat.N_TRIPLES)
    return sorted(plain, key=str)


def serialize(triples: Iterable[ox.Triple], fmt: Format) -> bytes:
    """`triples` in `fmt` (an RDF graph format pyoxigraph writes; JSON-LD is `pages._json_ld`'s), canonical."""
    prefixes = PREFIXES if fmt.name in ("turtle", "rdfxml") else None
    return ox.serialize(canonical_triples(triples), format=ox.RdfFormat.from_media_type(fmt.media_type),
                        prefixes=prefixes)
