"""The one table mapping RDF and result formats to media types and file extensions.

Both the publisher (file names) and the server (content negotiation: `best_for_accept`, for
the SPARQL endpoint and the resource pages alike) use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

import mimeparse


class Kind(Enum):
    GRAPH = "graph"  # an RDF graph (CONSTRUCT, DESCRIBE, resource pages, dumps)
    DATASET = "dataset"  # RDF with named graphs
    RESULTS = "results"  # SELECT / ASK results
    PAGE = "page"  # HTML for people
    TABLE = "table"  # a flat CSV download
    IMAGE = "image"  # charts
    QUERY = "query"  # a SPARQL query (the named queries, queries/*.rq)


@dataclass(frozen=True)
class Format:
    name: str  # short name, used by ?format= and --format
    media_type: str  # the canonical IANA media type
    extension: str  # file suffix without the dot
    kinds: frozenset[Kind]
    rdflib: str | None = None  # rdflib serializer / parser name
    aliases: tuple[str, ...] = ()  # other media types clients send for it
    w3c: str | None = None  # its name in the W3C's registry of format IRIs, https://www.w3.org/ns/formats/
    label: str = ""  # its name for people: links to it, a distribution's title

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)

    @property
    def iri(self) -> str | None:
        """The W3C's IRI for this format (as the service description and VoID name formats), if it has one."""
        return W3C_FORMATS + self.w3c if self.w3c else None


_G, _D, _R = Kind.GRAPH, Kind.DATASET, Kind.RESULTS
#: The namespace of the W3C's format IRIs (pyoxigraph names JSON-LD otherwise: .../ns/formats/data/JSON-LD).
W3C_FORMATS = "http://www.w3.org/ns/formats/"

FORMATS: tuple[Format, ...] = (
    # Turtle is also N3 (N3 extends it); JSON-LD is also JSON, and application/x-json+ld its name before it was
    # registered (SPARQLWrapper still asks for it); RDF/XML and SPARQL XML are XML, of either XML media type.
    Format("turtle", "text/turtle", "ttl", frozenset({_G}), "turtle", ("application/x-turtle", "text/n3"), "Turtle",
           "Turtle"),
    Format("ntriples", "application/n-triples", "nt", frozenset({_G}), "nt11", ("text/plain",), "N-Triples", "N-Triples"),
    Format("jsonld", "application/ld+json", "jsonld", frozenset({_G, _D}), "json-ld",
           ("application/json", "application/x-json+ld"), "JSON-LD", "JSON-LD"),
    Format("rdfxml", "application/rdf+xml", "rdf", frozenset({_G}), "xml", ("application/xml", "text/xml"), "RDF_XML",
           "RDF/XML"),
    Format("trig", "application/trig", "trig", frozenset({_D}), "trig", w3c="TriG", label="TriG"),
    Format("nquads", "application/n-quads", "nq", frozenset({_D}), "nquads", w3c="N-Quads", label="N-Quads"),
    Format("json", "application/sparql-results+json", "srj", frozenset({_R}), None, ("application/json",),
           "SPARQL_Results_JSON", "SPARQL JSON"),
    Format("xml", "application/sparql-results+xml", "srx", frozenset({_R}), None, ("application/xml", "text/xml"),
           "SPARQL_Results_XML", "SPARQL XML"),
    Format("csv", "text/csv", "csv", frozenset({_R, Kind.TABLE}), None, w3c="SPARQL_Results_CSV", label="CSV"),
    Format("tsv", "text/tab-separated-values", "tsv", frozenset({_R}), None, w3c="SPARQL_Results_TSV", label="TSV"),
    Format("html", "text/html", "html", frozenset({Kind.PAGE}), None, ("application/xhtml+xml",), label="HTML"),
    Format("png", "image/png", "png", frozenset({Kind.IMAGE}), None, label="PNG"),
    Format("svg", "image/svg+xml", "svg", frozenset({Kind.IMAGE}), None, label="SVG"),
    Format("sparql", "application/sparql-query", "rq", frozenset({Kind.QUERY}), None, label="SPARQL query"),
)

_BY_NAME = {f.name: f for f in FORMATS}


def by_name(name: str) -> Format:
    """The format called `name` (as in ?format= or --format); KeyError if none."""
    return _BY_NAME[name]


def by_extension(extension: str) -> Format:
    """The format whose file suffix is `extension` (without the dot); KeyError if none."""
    for fmt in FORMATS:
        if fmt.extension == extension:
            return fmt
    raise KeyError(extension)


def for_kind(kind: Kind) -> tuple[Format, ...]:
    """Every format that can carry `kind`, canonical first in table order."""
    return tuple(f for f in FORMATS if kind in f.kinds)


def by_media_type(media_type: str, kind: Kind) -> Format | None:
    """The format of `kind` that `media_type` (canonical or alias) names, if any."""
    media_type = media_type.split(";")[0].strip().lower()
    for fmt in for_kind(kind):
        if media_type in fmt.media_types:
            return fmt
    return None


#: Media ranges, and characters, an Accept header may have. Clients send fewer than a dozen ranges in a
#: few hundred characters; the parser costs ~1 µs a character for every format weighed (an 8 KB
#: header: 8.7-15 ms a request).
MAX_ACCEPT_RANGES = 32
MAX_ACCEPT_CHARS = 1024
#: RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def read_accept(accept: str | None) -> str:
    """An Accept header as python-mimeparse should read it: each media range in lower case (type and
    subtype are case-insensitive, RFC 9110 8.3.1), empty list elements dropped (5.6.1), `*/*` if none.
    A weight outside the q-value grammar is read as the number it is, within 0 and 1 (`_weight`).
    ValueError if it lists more than `MAX_ACCEPT_RANGES`, is longer than `MAX_ACCEPT_CHARS` or has a weight
    that is not a number (`q=abc`, which python-mimeparse would read as 1, the highest preference)."""
    if len(accept or "") > MAX_ACCEPT_CHARS:
        raise ValueError(f"the Accept header is longer than {MAX_ACCEPT_CHARS} characters, this endpoint's "
                         "limit; list the formats you want")
    if (accept or "").count(",") >= MAX_ACCEPT_RANGES and \
            sum(1 for element in accept.split(",") if element.strip()) > MAX_ACCEPT_RANGES:  # type: ignore[union-attr]
        raise ValueError(f"the Accept header lists more than {MAX_ACCEPT_RANGES} media ranges, this endpoint's "
                         "limit; list the formats you want")
    ranges = []
    for element in (accept or "").split(","):
        media_range, semicolon, parameters = element.strip().partition(";")
        if media_range.strip() or semicolon:  # a bare ";...": kept, for mimeparse to refuse
            if "q" in parameters.lower():
                parameters = ";".join(_weight(parameter, media_range) for parameter in parameters.split(";"))
            ranges.append(media_range.strip().lower() + semicolon + parameters)
    return ", ".join(ranges) or "*/*"


def q_value(text: str) -> float | None:
    """A q parameter's value as a weight from 0 to 1, for Accept and Accept-Encoding alike: a number outside
    RFC 9110's grammar (Java's `.2`, `1e-1`, `2`) is read as the number it is, within 0 and 1; None if it
    is not a finite number (`abc`, `nan`, ``)."""
    try:
        weight = float(text)
    except ValueError:
        return None
    return min(max(weight, 0.0), 1.0) if math.isfinite(weight) else None


def _weight(parameter: str, media_range: str) -> str:
    """A media range's parameter, its weight as a q-value python-mimeparse reads as meant: it reads one
    outside the grammar (`q=abc`, `q=2`) as 1, the highest preference. A number is read (`q_value`), `q=`
    is the default weight; anything else is a ValueError."""
    name, _, value = parameter.strip().partition("=")
    value = value.strip()  # `q= 0.9`: outside the grammar, but plain enough
    if name.strip().lower() != "q" or _QVALUE.fullmatch(value):
        return f"q={value}" if name.strip().lower() == "q" else parameter
    if not value:  # `q=`: no weight given, the default one
        return "q=1"
    if (weight := q_value(value)) is None:
        raise ValueError(f"the Accept header's weight {parameter.strip()!r} (of {media_range.strip()!r}) is not a "
                         "q-value, a number from 0 to 1 (RFC 9110 12.4.2)")
    return f"q={weight:.3f}"


def best_for_accept(accept: str | None, candidates: tuple[Format, ...]) -> Format | None:
    """The candidate that best fits an Accept header (q-values, wildcards and aliases honoured, see `_standing`).

    The first candidate wins ties and answers a missing or empty header; None when nothing
    fits. ValueError when the header cannot be parsed.
    """
    ranges = _media_ranges(accept)
    best, standing = None, (0.0, -1)
    for fmt in candidates:  # the first of equals stays: only a better one replaces it
        if (this := _standing(fmt, ranges)) > standing:
            best, standing = fmt, this
    return best if standing[0] > 0 else None


def unreadable(accept: str | None, candidates: tuple[Format, ...]) -> str | None:
    """Why `accept` cannot be read (too long, too many ranges, a weight that is no number), as a sentence ("The
    Accept header lists more than 32 media ranges, …."), which makes `best_for_accept` raise where the header may
    well list one of `candidates`; None if it can be read."""
    try:
        best_for_accept(accept, candidates)
    except ValueError as exc:
        reason = str(exc)
        return f"{reason[:1].upper()}{reason[1:]}."
    return None


def quality(accept: str | None, fmt: Format | str) -> float:
    """How much an Accept header wants `fmt` (its q-value, see `_standing`; 0: not at all), or a media type
    that is no format of the table (`text/plain`: the range that decides it, `_decides`).

    ValueError when the header cannot be parsed.
    """
    ranges = _media_ranges(accept)
    return _decides(fmt, ranges)[0] if isinstance(fmt, str) else _standing(fmt, ranges)[0]


def refuses(accept: str | None, fmt: Format) -> bool:
    """Whether an Accept header refuses `fmt` in so many words: the range that decides its weight says q=0 (RFC 9110
    12.4.2, "not acceptable"); a type it merely does not list is not refused. ValueError when it cannot be parsed."""
    weight, specificity = _standing(fmt, _media_ranges(accept))
    return weight == 0 and specificity >= 0


_MediaRange = tuple[str, str, dict[str, str]]  # type, subtype, parameters (q among them), as python-mimeparse parses one


def _media_ranges(accept: str | None) -> list[_MediaRange]:
    """The media ranges of an Accept header (`read_accept`); ValueError when the header cannot be parsed."""
    elements = [element for element in read_accept(accept).split(",") if element.strip()]  # its ValueError as it is
    try:
        return [mimeparse.parse_media_range(element) for element in elements]
    except (mimeparse.MimeTypeParseException, ValueError, IndexError) as exc:
        raise ValueError(f"the Accept header cannot be parsed: {exc}") from exc


def _standing(fmt: Format, ranges: list[_MediaRange]) -> tuple[float, int]:
    """How much `ranges` want `fmt`, as (q-value, specificity of the range that gave it; -1: none applies), for the
    media type `fmt` is sent as, its canonical one (`_decides`).

    An alias (application/x-turtle, application/json) counts only where the header names it and not the canonical
    type: a client that asks for the alias gets the format (sent as its canonical type), but a wildcard stands for
    the canonical type alone, and a canonical type refused with q=0 stays refused (`text/turtle;q=0, text/n3`).
    """
    standing = _decides(fmt.media_type, ranges)
    if standing[1] < _NAMED:
        for alias in fmt.aliases:
            if (named := _decides(alias, ranges))[1] >= _NAMED:
                standing = max(standing, named)
    return standing


#: Specificity of a media range for a media type without parameters: `*/*`, `type/*`, the type with parameters
#: other than q (`text/html;level=1`), the type itself.
_ANY, _TYPE, _NAMED, _EXACT = 0, 1, 2, 3


def _decides(media_type: str, ranges: list[_MediaRange]) -> tuple[float, int]:
    """The q-value of the range that decides `media_type`'s weight, and its specificity: the most specific range that
    applies (RFC 9110 12.5.1), the first of equals; (0, -1) when none applies.

    A range with parameters besides q (`text/csv;level=1`) is for a representation with those parameters, which this
    server does not send, so one without them decides where the header has both; alone, it stands for the type
    (`application/ld+json;profile=…` asks for JSON-LD).
    """
    kind, _, subtype = media_type.partition("/")
    best = (0.0, -1)
    for named_kind, named_subtype, parameters in ranges:
        if named_kind == "*" and named_subtype == "*":
            specificity = _ANY
        elif named_kind != kind:
            continue
        elif named_subtype == "*":
            specificity = _TYPE
        elif named_subtype == subtype:
            specificity = _NAMED if len(parameters) > 1 else _EXACT  # q is always among them
        else:
            continue
        if specificity > best[1]:
            best = (float(parameters["q"]), specificity)
    return best


def prefers_html(accept: str | None, best: Format | None) -> bool:
    """Whether `accept` wants HTML (a page for people) strictly more than `best`, the best machine format for
    it (None: none fits); a tie goes to the machine format. ValueError when the header cannot be parsed."""
    ranges = _media_ranges(accept)
    page = _standing(by_name("html"), ranges)[0]
    return page > 0 and (best is None or page > _standing(best, ranges)[0])
