"""Catalog and VoID documents in every format they are offered in, the same bytes for the same graph."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Graph

from .. import formats
from ..formats import Format
from ..rdf import PREFIXES

#: The formats the catalog and VoID are written and served in; Turtle is the default. N-Triples too: every IRI
#: under the base, the catalog's and its publisher's among them, is offered as HTML, Turtle, JSON-LD and N-Triples.
DOCUMENT_FORMATS: tuple[Format, ...] = tuple(formats.by_name(n) for n in ("turtle", "jsonld", "rdfxml", "ntriples"))
_EXTRA_PREFIXES = {
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "void": "http://rdfs.org/ns/void#",
    "dcatap": "http://data.europa.eu/r5r/",
}


def serialize(graph: Graph, fmt: Format) -> bytes:
    """`graph` (no blank nodes) in `fmt`, triples sorted so the output never varies between runs."""
    triples = sorted(ox.parse(graph.serialize(format="nt11", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES),
                     key=str)
    rdf_format = ox.RdfFormat.from_media_type(fmt.media_type)
    prefixes = None
    if rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML):
        prefixes = {p: str(ns) for p, ns in PREFIXES.items()} | _EXTRA_PREFIXES
    return ox.serialize(triples, format=rdf_format, prefixes=prefixes)
