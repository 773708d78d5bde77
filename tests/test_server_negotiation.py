"""plan_kg.server.negotiation: Accept with q-values and lists, and the format= override."""

from __future__ import annotations

import mimeparse
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plan_kg import formats
from plan_kg.dcat.routes import best_format as catalog_format
from plan_kg.server.negotiation import GRAPH_FORMATS, NegotiationError, negotiate
from plan_kg.web import negotiation as web_negotiation


@pytest.mark.parametrize(
    ("accept", "results", "graph"),
    [
        (None, "json", "turtle"),
        ("*/*", "json", "turtle"),
        ("application/sparql-results+xml", "xml", "turtle"),  # only results: a graph in Turtle (12.5.1)
        ("application/xml", "xml", "rdfxml"),
        ("text/xml", "xml", "rdfxml"),  # XML's other media type: a graph in RDF/XML, not Turtle
        ("text/csv;q=0.9, text/tab-separated-values", "tsv", "turtle"),
        ("application/n-triples;q=0.2, text/turtle;q=0.1, text/csv;q=0.3", "csv", "ntriples"),
        ("text/*", "csv", "turtle"),
        ("application/ld+json, application/sparql-results+json;q=0.5", "json", "jsonld"),
        ("application/x-json+ld", None, "jsonld"),  # JSON-LD's name before it was registered (SPARQLWrapper)
        ("image/png", None, None),
        # Type and subtype are case-insensitive (RFC 9110 8.3.1); empty list elements are ignored (5.6.1).
        ("Application/SPARQL-Results+XML", "xml", "turtle"),
        ("TEXT/CSV;q=0.9, Text/Tab-Separated-Values", "tsv", "turtle"),
        ("Application/LD+JSON", None, "jsonld"),  # no results format: a SELECT is still 406
        ("application/sparql-results+xml, ", "xml", "turtle"),
        (" , text/turtle,,", None, "turtle"),
    ],
)
def test_accept(accept: str | None, results: str | None, graph: str | None) -> None:
    chosen = negotiate(accept)
    assert (chosen.results.name if chosen.results else None) == results
    assert (chosen.graph.name if chosen.graph else None) == graph


@pytest.mark.parametrize(
    ("value", "results", "graph"),
    [
        ("csv", "csv", None),
        ("json", "json", "jsonld"),
        ("xml", "xml", "rdfxml"),
        ("application/sparql-results+json", "json", None),
        ("text/turtle", None, "turtle"),
        ("json-ld", None, "jsonld"),
        ("n3", None, "turtle"),
        ("nope", None, None),
        ("application/sparql-results+json;charset=utf-8", "json", None),  # parameters, as in Content-Type
        ("Text/Turtle", None, "turtle"),
        # `format=application/sparql-results+json` in a URL written by hand: its `+` is read as a space.
        ("application/sparql-results json", "json", None),
        ("application/rdf xml", None, "rdfxml"),
    ],
)
def test_format_parameter_wins_over_accept(value: str, results: str | None, graph: str | None) -> None:
    chosen = negotiate("application/sparql-results+xml", value)
    assert (chosen.results.name if chosen.results else None) == results
    assert (chosen.graph.name if chosen.graph else None) == graph


def test_a_malformed_accept_is_an_error() -> None:
    with pytest.raises(NegotiationError):
        negotiate("garbage;;;")


@pytest.mark.parametrize("weight", ["q=abc", "q=0x1", "q=nan", "Q=inf", "q=0.5.1"])
def test_a_weight_that_is_not_a_number_is_an_error_not_the_highest_preference(weight: str) -> None:
    with pytest.raises(NegotiationError, match="is not a q-value, a number from 0 to 1"):
        negotiate(f"text/csv;{weight}, application/sparql-results+json")


@pytest.mark.parametrize(
    ("accept", "results"),
    [
        ("text/csv;q=2, application/sparql-results+json", "json"),  # 2 is 1: a tie, the first of the table wins
        ("text/csv;q=1.5, application/sparql-results+json;q=0.9", "csv"),
        ("text/csv;q=-1, application/sparql-results+json;q=0.1", "json"),  # below 0 is 0: not acceptable
        ("text/csv;q=0.1236, application/sparql-results+json;q=0.123", "csv"),  # read as 0.124
        ("text/csv;Q=0.125, application/sparql-results+json;q=0.12", "csv"),
        ("text/csv;q=0., application/sparql-results+json;q=0.001", "json"),
        ("text/csv;q=1.000;charset=utf-8, application/sparql-results+json;q=0.5", "csv"),
        # Java's HttpURLConnection: `q=.2` is outside the grammar, but means 0.2
        ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", "html"),
        ("text/csv; q=.3, application/sparql-results+json; q=.2", "csv"),
        ("text/csv; q= 0.9, application/sparql-results+json;q=0.1", "csv"),  # spaces around the number
        ("text/csv;q=1e-1, application/sparql-results+json;q=0.2", "json"),  # 0.1
        ("text/csv;q=, application/sparql-results+json;q=0.9", "csv"),  # no weight: the default, 1
    ],
)
def test_weights_are_read_as_the_numbers_they_are(accept: str, results: str) -> None:
    assert negotiate(accept).results.name == results


def test_graphs_default_to_turtle_and_go_to_a_page_only_for_a_client_that_prefers_one() -> None:
    # The service description is negotiated as a CONSTRUCT's answer is.
    assert negotiate(None).graph.name == "turtle"
    assert negotiate("*/*, text/html").graph.name == "turtle"  # a tie: the RDF format
    assert negotiate("text/html,application/xhtml+xml,*/*;q=0.8").graph.name == "html"
    # A client that accepts only SPARQL results gets a graph in Turtle (RFC 9110 12.5.1), not a 406;
    # one that accepts nothing of either kind, or names another format in format=, gets none.
    assert negotiate("application/sparql-results+json").graph.name == "turtle"
    assert negotiate("text/csv").graph.name == "turtle"
    assert negotiate("image/png").graph is None and negotiate("image/png").results is None
    assert negotiate(None, "csv").graph is None


def test_long_accept_headers_and_format_values_are_not_kept() -> None:
    """The negotiation caches are keyed by the Accept header and `format=` as sent: 600 different 5 MB
    headers kept 2 GB in memory. An Accept over MAX_ACCEPT_CHARS is refused, and kept neither when
    `format=` decides instead; a `format=` over MAX_CACHED_FORMAT characters is negotiated each time."""
    from plan_kg.formats import MAX_ACCEPT_CHARS
    from plan_kg.server.negotiation import MAX_CACHED_FORMAT, _negotiate_cached

    long_accept = "text/csv, */*;q=0.1;x=" + "a" * MAX_ACCEPT_CHARS
    kept = _negotiate_cached.cache_info().currsize
    with pytest.raises(NegotiationError, match="longer than"):
        negotiate(long_accept)
    assert negotiate(long_accept, "csv").results.name == "csv"
    assert negotiate("text/csv", "text/tab-separated-values;" + "x" * MAX_CACHED_FORMAT).results.name == "tsv"
    assert negotiate("text/csv", "x" * (MAX_CACHED_FORMAT + 1)).results is None
    assert _negotiate_cached.cache_info().currsize == kept
    negotiate("text/csv;q=0.9, application/x-only-in-this-test;q=0.8")  # a short one is kept
    negotiate("application/x-only-in-this-test-too", "tsv")  # and a short format= (keys no other test uses)
    assert _negotiate_cached.cache_info().currsize == kept + 2


def test_an_accept_header_of_more_ranges_than_any_client_sends_is_an_error_that_says_so() -> None:
    """Each range costs the parser ~1 µs a byte for every format: an 8 KB header of 480 held the
    server for 8.7 ms a request. Up to 32 are read (empty list elements do not count)."""
    ranges = [f"application/x-{i};q=0.1" for i in range(32)]
    assert negotiate(", ".join([*ranges[:31], "text/csv"]) + ", , ,").results.name == "csv"
    with pytest.raises(NegotiationError, match="more than 32 media ranges"):
        negotiate(", ".join([*ranges, "text/csv"]))



def test_an_accept_header_longer_than_any_client_sends_is_an_error_that_says_so() -> None:
    """Parameters cost the parser as much as ranges: 60 KB of them took 186 ms a request."""
    long = "application/sparql-results+json;" + ";".join(f"p{i}=v" for i in range(200))
    with pytest.raises(NegotiationError, match="longer than 1024 characters"):
        negotiate(long)
    assert negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8").results


def sent_weight(accept: str, fmt: formats.Format) -> float:
    """The weight `accept` gives the media type `fmt` is sent as (python-mimeparse, not the code under test)."""
    return mimeparse.quality(fmt.media_type, accept)


# Every format of the endpoint, the resource pages and the catalog, by the media types clients send for it.
_TYPES = sorted({media_type for fmt in formats.FORMATS for media_type in fmt.media_types}
                | {"*/*", "text/*", "application/*"})


@pytest.mark.parametrize(
    ("accept", "refused"),
    [
        ("*/*;q=0.5, text/turtle;q=0", "turtle"),  # text/n3, Turtle's alias, is under */* too
        ("application/*;q=0.5, application/ld+json;q=0", "jsonld"),  # and application/json, JSON-LD's
        ("application/*;q=0.5, application/ld+json;q=0, application/n-triples;q=0, application/rdf+xml;q=0", "rdfxml"),
    ],
)
def test_a_format_refused_with_q_0_is_not_sent_for_an_alias_under_a_wildcard(accept: str, refused: str) -> None:
    """RFC 9110 12.4.2: q=0 is "not acceptable". A format is sent as its canonical type: a wildcard that
    also covers one of its aliases does not make it acceptable again (the catalog, /id/ and CONSTRUCT sent
    exactly the refused types for these headers)."""
    assert negotiate(accept).graph is not formats.by_name(refused)
    for chosen in (web_negotiation.from_accept(accept), catalog_format(accept)):  # something acceptable, or 406
        assert chosen is None or chosen is not formats.by_name(refused) and sent_weight(accept, chosen) > 0


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("text/turtle;q=0, text/n3", "graph"),  # the canonical type refused: naming an alias does not undo it
        ("application/sparql-results+json;q=0, application/json", "results"),
        ("application/sparql-results+xml;q=0, application/xml", "results"),
        ("text/html;q=0, application/xhtml+xml", "results"),
        ("text/csv;level=1;q=0.5, text/csv;q=0", "results"),  # a range with a parameter is for another representation
        ("text/turtle;foo=bar, text/turtle;q=0, application/n-triples;q=0.5", "graph"),
    ],
)
def test_a_canonical_type_refused_with_q_0_stays_refused(accept: str, kind: str) -> None:
    refused = {formats.by_media_type(range_.partition(";")[0].strip(), kind_)
               for range_ in accept.split(",") if range_.strip().endswith(";q=0")
               for kind_ in (formats.Kind.GRAPH, formats.Kind.RESULTS, formats.Kind.PAGE)} - {None}
    assert refused
    negotiated = negotiate(accept)
    for chosen in (getattr(negotiated, kind), web_negotiation.from_accept(accept), catalog_format(accept)):
        assert chosen not in refused, (accept, chosen)


def test_a_range_with_a_parameter_alone_stands_for_its_type() -> None:
    compacted = 'application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"'
    assert negotiate(compacted).graph is formats.by_name("jsonld")
    assert negotiate("text/turtle;foo=bar, text/turtle;q=0, application/n-triples;q=0.5").graph is \
        formats.by_name("ntriples")


def test_a_client_that_names_an_alias_gets_its_format() -> None:
    assert negotiate("application/x-turtle").graph is formats.by_name("turtle")
    assert negotiate("application/json").results is formats.by_name("json")
    assert web_negotiation.from_accept("application/json;q=0.9, text/turtle;q=0.5") is formats.by_name("jsonld")


def test_only_results_accepted_gives_a_graph_in_a_format_not_refused() -> None:
    """The RFC 9110 12.5.1 fallback for SPARQLStore-like clients skips the graph formats the header refuses."""
    assert negotiate("application/sparql-results+json, text/turtle;q=0").graph is formats.by_name("ntriples")
    every_graph_refused = ", ".join(["application/sparql-results+json"]
                                    + [f"{fmt.media_type};q=0" for fmt in GRAPH_FORMATS])
    assert negotiate(every_graph_refused).graph is None


@given(st.lists(st.tuples(st.sampled_from(_TYPES), st.sampled_from(["", ";q=0", ";q=0.5", ";q=1"])),
                min_size=1, max_size=6))
def test_no_format_is_chosen_whose_own_media_type_the_header_refuses(ranges: list[tuple[str, str]]) -> None:
    accept = ", ".join(media_type + weight for media_type, weight in ranges)
    negotiated = negotiate(accept)
    chosen = [negotiated.results, negotiated.graph, web_negotiation.from_accept(accept), catalog_format(accept)]
    for fmt in chosen:
        if fmt is not None:
            assert not formats.refuses(accept, fmt), (accept, fmt.name)
            # Its own type named, the first time with q=0 (python-mimeparse's and RFC 9110's first of equals).
            own = next((weight for media_type, weight in ranges if media_type == fmt.media_type), None)
            assert own != ";q=0", (accept, fmt.name)
            named_alias = any(media_type in fmt.aliases and weight != ";q=0" for media_type, weight in ranges)
            fallback = fmt is negotiated.graph and fmt in GRAPH_FORMATS  # 12.5.1: a graph for a results-only client
            assert sent_weight(accept, fmt) > 0 or named_alias or fallback, (accept, fmt.name)
