"""The SPARQL 1.1 Service Description answered by GET /sparql without a query.

The same settings, graphs, endpoint IRI and format give the same bytes (blank nodes named by their place
in the description, triples in a fixed order): a HEAD is sent the Content-Length of its GET, and the
document has a strong ETag (`ServiceDescriptions`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from ..conditional import content_tag
from ..config import Settings
from ..formats import W3C_FORMATS, Format
from .negotiation import GRAPH_FORMATS, RESULT_FORMATS
from .serialize import byte_size

SD = "http://www.w3.org/ns/sparql-service-description#"
_RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_COMMENT = NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
PREFIXES = {"sd": SD, "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "formats": W3C_FORMATS}


def _sd(name: str) -> NamedNode:
    return NamedNode(SD + name)


def service_description(endpoint: str, settings: Settings, graphs: tuple[str, ...]) -> list[Triple]:
    """Triples describing the endpoint at `endpoint`: language, formats, dataset and limits, in a fixed order.

    Its blank nodes are named by what they are (the dataset, its default graph, its n-th named graph), not
    at random: the same arguments give the same triples.
    """
    service = NamedNode(endpoint)
    dataset, default_graph = BlankNode("dataset"), BlankNode("defaultGraph")
    limits = (
        f"Read-only: updates are refused. A query that runs longer than {settings.query_timeout_s:g} s is "
        f"stopped (HTTP 503)"
        + (f", and so is one that needs more than {byte_size(settings.query_memory_bytes)} of memory"
           if settings.query_memory_bytes > 0 else "")
        + f". Results are limited to {settings.max_result_rows} rows or triples"
        + (f" and {byte_size(settings.max_response_bytes)} once written" if settings.max_response_bytes else "")
        + " (HTTP 400 beyond)."
        + f" Request bodies are limited to {settings.max_body_bytes} bytes (HTTP 413) and each client "
        f"to {settings.max_concurrent_per_client} concurrent queries (HTTP 429), of which at most "
        f"{settings.workers_per_client} run at once (the others wait their turn; HTTP 429 with Retry-After after "
        f"{settings.query_timeout_s:g} s)."
        + (f" When every worker is busy and a query has waited {settings.preempt_after_s:g} s, the longest-running"
           " query of the client holding the most workers is stopped for it (HTTP 503 with Retry-After)."
           if settings.preempt_after_s > 0 else "")
        + " SERVICE is refused"
        + (f" except to {', '.join(settings.service_allow_list)}." if settings.service_allow_list else ".")
        + _caching(settings)
    )
    triples = [
        Triple(service, _RDF_TYPE, _sd("Service")),
        Triple(service, _sd("endpoint"), service),
        Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        Triple(service, _sd("feature"), _sd("UnionDefaultGraph")),
        Triple(service, _sd("defaultDataset"), dataset),
        Triple(service, _COMMENT, Literal(limits, language="en")),
        Triple(dataset, _RDF_TYPE, _sd("Dataset")),
        Triple(dataset, _sd("defaultGraph"), default_graph),
        Triple(default_graph, _RDF_TYPE, _sd("Graph")),
        Triple(default_graph, _COMMENT, Literal("The union of all the named graphs of this dataset.", language="en")),
    ]
    if settings.service_allow_list:
        triples.append(Triple(service, _sd("feature"), _sd("BasicFederatedQuery")))
    for fmt in RESULT_FORMATS:
        triples.append(Triple(service, _sd("resultFormat"), NamedNode(_format_iri(fmt))))
    for fmt in GRAPH_FORMATS:
        triples.append(Triple(service, _sd("resultFormat"), NamedNode(_format_iri(fmt))))
    for number, graph in enumerate(graphs, start=1):
        named = BlankNode(f"namedGraph{number}")
        triples += [
            Triple(dataset, _sd("namedGraph"), named),
            Triple(named, _RDF_TYPE, _sd("NamedGraph")),
            Triple(named, _sd("name"), NamedNode(graph)),
        ]
    return triples


def _caching(settings: Settings) -> str:
    validators = (
        " Answers to GET queries without SERVICE, NOW, RAND, UUID, STRUUID or BNODE carry a strong ETag (a"
        " matching If-None-Match or `*` is answered 304, an If-Match that matches nothing 412) and"
        f" Cache-Control max-age={settings.response_max_age_s}; answers to POST carry neither (no-store). Query"
        " answers of 1 KB or more are sent gzip-compressed to a client whose Accept-Encoding accepts gzip."
    )
    if settings.response_cache_bytes <= 0:
        return validators
    return validators + (
        " The data does not change while served, so the server keeps those answers in memory (up to"
        f" {settings.response_cache_entry_bytes} bytes each, {settings.response_cache_bytes} in all) and"
        " answers a repeated request from there."
    )


def serialize_description(triples: list[Triple], fmt: Format) -> bytes:
    """`triples` written in `fmt` (an RDF graph format)."""
    rdf_format = pyoxigraph.RdfFormat.from_media_type(fmt.media_type)
    prefixes = PREFIXES if rdf_format in (pyoxigraph.RdfFormat.TURTLE, pyoxigraph.RdfFormat.RDF_XML) else None
    return pyoxigraph.serialize(triples, format=rdf_format, prefixes=prefixes)


@dataclass(frozen=True)
class DescriptionDocument:
    """The service description written in one format, with its strong entity tag."""

    body: bytes
    etag: str


#: Documents kept per `ServiceDescriptions`: one per format and endpoint IRI, which without public_base_iri
#: comes from the request's Host (any client's), so only the most recently used are kept.
KEPT_DOCUMENTS = 32


class ServiceDescriptions:
    """The service description of one endpoint (its settings and named graphs), written once per format and
    endpoint IRI and kept: the store does not change while served."""

    def __init__(self, settings: Settings, graphs: tuple[str, ...]) -> None:
        self.settings = settings
        self.graphs = graphs
        self._kept = functools.lru_cache(maxsize=KEPT_DOCUMENTS)(self._write)

    def document(self, endpoint: str, fmt: Format) -> DescriptionDocument:
        """The description of the endpoint at `endpoint` in `fmt` (an RDF graph format): the same bytes each time."""
        return self._kept(endpoint, fmt)

    def _write(self, endpoint: str, fmt: Format) -> DescriptionDocument:
        body = serialize_description(service_description(endpoint, self.settings, self.graphs), fmt)
        return DescriptionDocument(body=body, etag=content_tag(body))


def _format_iri(fmt: Format) -> str:
    assert fmt.iri is not None, fmt.name  # every format the endpoint writes is in the W3C's registry
    return fmt.iri
