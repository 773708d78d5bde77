"""Content negotiation for query results, over the one format table in `plan_kg.formats`.

The query form (and so the kind of result) is only known once the query is parsed, so a
request is negotiated for both kinds up front: `Negotiated.results` for SELECT/ASK and
`Negotiated.graph` for CONSTRUCT/DESCRIBE. Either may be None (nothing acceptable: 406).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .. import formats
from ..formats import Format, Kind

#: What the endpoint answers with, canonical (and default) first.
RESULT_FORMATS: tuple[Format, ...] = tuple(f for f in formats.for_kind(Kind.RESULTS))
GRAPH_FORMATS: tuple[Format, ...] = tuple(
    formats.by_name(name) for name in ("turtle", "ntriples", "jsonld", "rdfxml")
)

#: For people: the answer as an HTML page (`plan_kg.web.results`). Only a client that wants it more
#: than every machine format (a browser: `text/html` first, the rest at most q=0.9) or names it in
#: `format=` gets it; a tie goes to the machine format (`application/json, text/html`: JSON).
PAGE: Format = formats.by_name("html")
_QUERY_RESULTS = (*RESULT_FORMATS, PAGE)
_QUERY_GRAPHS = (*GRAPH_FORMATS, PAGE)

# Names clients put in ?format= / ?output= that are not our own short names (SPARQLWrapper
# sends "xml" and "json" for both kinds of result, and "n3", which Turtle satisfies).
_CLIENT_NAMES = {"json-ld": "jsonld", "rdf+xml": "rdfxml", "rdf/xml": "rdfxml", "n-triples": "ntriples"}
_CLIENT_GRAPH_NAMES = {**_CLIENT_NAMES, "xml": "rdfxml", "json": "jsonld", "n3": "turtle"}


class NegotiationError(ValueError):
    """The Accept header or the format parameter cannot be understood (400)."""


@dataclass(frozen=True)
class Negotiated:
    results: Format | None
    graph: Format | None


#: A `format=` value longer than this names no format; like an Accept header longer than
#: `formats.MAX_ACCEPT_CHARS` (refused, unless `format=` decides), it is negotiated without the cache
#: below, which would keep it in memory.
MAX_CACHED_FORMAT = 64


def negotiate(accept: str | None, format_param: str | None = None) -> Negotiated:
    """The best result and graph format for `accept` (q-values honoured) or the `format=` override."""
    if len(accept or "") > formats.MAX_ACCEPT_CHARS or len(format_param or "") > MAX_CACHED_FORMAT:
        return _negotiate(accept, format_param)
    return _negotiate_cached(accept, format_param)


def _negotiate(accept: str | None, format_param: str | None) -> Negotiated:
    if format_param:
        return Negotiated(
            _by_param(format_param, _QUERY_RESULTS, _CLIENT_NAMES),
            _by_param(format_param, _QUERY_GRAPHS, _CLIENT_GRAPH_NAMES),
        )
    results, graph = _best_or_page(accept, RESULT_FORMATS), _best_or_page(accept, GRAPH_FORMATS)
    if graph is None and results is not None and results != PAGE:
        # RFC 9110 12.5.1 lets a server disregard Accept: a client that accepts only SPARQL results (rdflib's
        # SPARQLStore with returnFormat "json" or "csv") gets a CONSTRUCT's graph in Turtle, which it reads
        # by its Content-Type, rather than a 406 it cannot use; or in the first format it has not refused with
        # q=0 (none: 406). `format=` is never disregarded.
        graph = next((fmt for fmt in GRAPH_FORMATS if not formats.refuses(accept, fmt)), None)
    return Negotiated(results, graph)


def _best_or_page(accept: str | None, machine: tuple[Format, ...]) -> Format | None:
    """The best of `machine` for `accept`, or the page if `accept` wants it strictly more."""
    best = _best(accept, machine)
    try:
        return PAGE if formats.prefers_html(accept, best) else best
    except ValueError as exc:
        raise NegotiationError(str(exc)) from exc


def _best(accept: str | None, candidates: tuple[Format, ...]) -> Format | None:
    try:
        return formats.best_for_accept(accept, candidates)
    except ValueError as exc:
        raise NegotiationError(str(exc)) from exc


def _by_param(value: str, candidates: tuple[Format, ...], aliases: dict[str, str]) -> Format | None:
    value = value.partition(";")[0].strip().lower()  # a media type's parameters (charset=utf-8) do not choose
    # A media type holds no space: one inside it is the `+` of a URL written by hand (Virtuoso's
    # `format=application/sparql-results+json`), which the query string's form encoding reads as a space.
    value = value.replace(" ", "+")
    value = aliases.get(value, value)
    for fmt in candidates:
        if value in (fmt.name, fmt.extension) or value in fmt.media_types:
            return fmt
    return None


# mimeparse takes ~0.1 ms; clients repeat their headers.
_negotiate_cached = functools.lru_cache(maxsize=512)(_negotiate)
