"""plan_kg.web.negotiation: Accept headers and suffixes, both read through plan_kg.formats."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from plan_kg import formats
from plan_kg.web import negotiation


def test_every_offered_format_comes_from_the_format_table() -> None:
    assert {f.name for f in negotiation.OFFERED} == {"html", "turtle", "ntriples", "jsonld", "rdfxml"}
    assert all(f in formats.FORMATS for f in negotiation.OFFERED)


def test_aliases_are_understood() -> None:
    assert negotiation.from_accept("application/x-turtle").name == "turtle"
    assert negotiation.from_accept("text/plain").name == "ntriples"
    assert negotiation.from_accept("application/xhtml+xml").name == "html"


def test_quality_values_decide() -> None:
    assert negotiation.from_accept("text/html;q=0.1, text/turtle").name == "turtle"
    assert negotiation.from_accept("text/turtle;q=0.2, application/n-triples;q=0.9").name == "ntriples"


def test_no_preference_means_html_and_nothing_acceptable_means_none() -> None:
    assert negotiation.from_accept(None).name == "html"
    assert negotiation.from_accept("*/*").name == "html"
    assert negotiation.from_accept("image/png") is None


def test_suffixes() -> None:
    assert negotiation.split_suffix("/id/132292/basic-plan-3/1-3-2.ttl") == (
        "/id/132292/basic-plan-3/1-3-2", formats.by_name("turtle")
    )
    assert negotiation.split_suffix("/id/132292/basic-plan-3/1-3-2") == ("/id/132292/basic-plan-3/1-3-2", None)
    assert negotiation.split_suffix("/id/132292/basic-plan-3/1-3-2.exe") == ("/id/132292/basic-plan-3/1-3-2.exe", None)
    assert negotiation.split_suffix("/id/a.ttl/b") == ("/id/a.ttl/b", None)  # only the last segment


def test_the_link_header_lists_every_format() -> None:
    header = negotiation.alternates("/id/x")
    for fmt in negotiation.OFFERED:
        assert f'</id/x.{fmt.extension}>; rel="alternate"; type="{fmt.media_type}"' in header


@given(st.text(max_size=200))
def test_any_accept_header_gives_an_offered_format_or_none(accept: str) -> None:
    assert negotiation.from_accept(accept) in (*negotiation.OFFERED, None)


def test_a_named_query_is_plain_text_to_browsers_and_sparql_to_everyone_else() -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
    for accept in (browser, "application/xhtml+xml,*/*;q=0.8", "text/plain", "text/*"):
        assert negotiation.query_media_type(accept) == "text/plain", accept
    for accept in (None, "", "*/*", "application/sparql-query", "text/html;q=0.1, application/sparql-query",
                   "image/png", "text"):  # the last cannot be read
        assert negotiation.query_media_type(accept) == formats.by_extension("rq").media_type, accept
    assert formats.by_extension("rq").media_type == "application/sparql-query"


@given(st.text(max_size=200))
def test_any_accept_header_gives_a_named_query_a_media_type(accept: str) -> None:
    assert negotiation.query_media_type(accept) in ("text/plain", "application/sparql-query")


def test_media_types_are_case_insensitive_and_empty_list_elements_ignored() -> None:
    """RFC 9110 8.3.1 and 5.6.1: `Text/Turtle` is text/turtle, and `text/turtle,` lists only it."""
    assert negotiation.from_accept("Text/Turtle") == formats.by_name("turtle")
    assert negotiation.from_accept("APPLICATION/LD+JSON;q=0.5, TEXT/HTML;q=0.1") == formats.by_name("jsonld")
    assert negotiation.from_accept("text/turtle,") == formats.by_name("turtle")
    assert negotiation.from_accept(", ,application/n-triples") == formats.by_name("ntriples")
    assert negotiation.query_media_type("TEXT/HTML") == negotiation.PLAIN_TEXT


def test_an_accept_header_of_too_many_ranges_is_not_acceptable() -> None:
    assert negotiation.from_accept(", ".join(["text/turtle"] * 33)) is None  # 406
    assert negotiation.from_accept(", ".join(["text/turtle"] * 32)) == formats.by_name("turtle")


def test_an_accept_header_that_cannot_be_read_is_told_why() -> None:
    assert "more than 32 media ranges" in negotiation.unreadable(", ".join(["text/turtle"] * 33))
    assert "'q=abc'" in negotiation.unreadable("text/html;q=abc")
    assert negotiation.unreadable("image/png") is None  # read, and nothing offered fits: another 406
    assert negotiation.unreadable(None) is None
