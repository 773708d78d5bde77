"""Property: whatever a client sends to /sparql, the answer is a result or a 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server_fixtures import Listener, live_server, sample_settings

PARAM_NAMES = ["query", "update", "default-graph-uri", "named-graph-uri", "format", "output", "using-graph-uri"]
CONTENT_TYPES = [
    "application/sparql-query",
    "application/sparql-update",
    "application/x-www-form-urlencoded",
    "application/sparql-query; charset=UTF-16",
    "application/x-www-form-urlencoded; charset=latin1",
    "text/plain",
    "multipart/form-data; boundary=x",
    ";;",
    "application/",
]
ACCEPTS = ["*/*", "text/csv", "application/ld+json;q=0.5, text/turtle", "image/png", "text/*;q=x", ";", "", "a/b/c",
           "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]
# What format= / output= may name, ours and others (a browser's page among them: the service description has none).
FORMAT_NAMES = ["json", "xml", "csv", "tsv", "html", "text/html", "turtle", "jsonld", "n3", "rdf+xml", "png", "srj"]
# Fragments of SPARQL, to reach the parsers and the guard more often than random text does.
TOKENS = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "*", "{", "}", "(", ")", ".", ";", "?s", "?p", "?o", "<a:b>",
    "FROM", "NAMED", "GRAPH", "SERVICE", "SILENT", "OPTIONAL", "FILTER", "EXISTS", "VALUES", "LIMIT 1", "COUNT(*)",
    "AS", "?n", "PREFIX x: <http://127.0.0.1:9/>", "x:y", "BASE <rel>", "\"lit\"", "'''", "\\u0053", "#", "\n",
    "INSERT DATA", "CLEAR ALL", "LOAD", "<http://127.0.0.1:9/>", "_:b", "[]", "<<", ">>", "1", "1.5e3", "@ja",
]  # fmt: skip

# Any printable ASCII a client can put in a header (h11 refuses surrounding white space).
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
sparqlish = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
text = st.one_of(sparqlish, st.text(max_size=200), st.sampled_from(FORMAT_NAMES))


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings_ = sample_settings(tmp_path_factory.mktemp("fuzz"), query_timeout_s=10, max_body_bytes=131_072)
    with live_server(settings_) as url:
        yield url


@pytest.fixture(scope="module")
def http(endpoint: str) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    port = Listener()
    yield port
    port.close()
    assert port.connections == 0


def assert_answered(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        assert response.text.strip(), "a refusal says why"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=10)), text), max_size=4),
    accept=st.one_of(st.none(), st.sampled_from(ACCEPTS), header_text),
)
def test_any_get(endpoint: str, http: httpx.Client, listener: Listener, params: list, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    assert_answered(http.get(endpoint, params=params, headers=headers))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(st.binary(max_size=600), text.map(lambda s: s.encode("utf-8")), text.map(lambda s: s.encode("utf-16"))),
    content_type=st.one_of(st.none(), st.sampled_from(CONTENT_TYPES), header_text),
    raw_query=st.binary(max_size=60),
)
def test_any_post(endpoint: str, http: httpx.Client, listener: Listener, body: bytes, content_type: str | None, raw_query: bytes) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    # Any bytes, percent-encoded except for the separators, so '%' sequences may be broken on purpose.
    url = httpx.URL(endpoint).copy_with(query=quote_from_bytes(raw_query, safe="=&%+").encode("ascii"))
    assert_answered(http.post(url, content=body, headers=headers))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=text)
def test_any_form_query(endpoint: str, http: httpx.Client, listener: Listener, query: str) -> None:
    assert_answered(http.post(endpoint, data={"query": query.replace("127.0.0.1:9", f"127.0.0.1:{listener.port}")}))


# Constructs pyoxigraph's parser recurses on, each fast to run at the nesting limit (256 levels).
NESTABLE = [("(", ")"), ("CONCAT(", ")"), ("STR(", ")"), ("{", "}"), ("{ SELECT * WHERE {", "} }"),
            ("[ <urn:p> ", " ]"), ("<<( <urn:a> <urn:p> ", " )>>"), ("IF(true, ", ", 2)")]
FRAMES = ["SELECT * WHERE {{ BIND({} AS ?x) }}", "SELECT * WHERE {{ {} }}", "ASK {{ ?s <urn:p> {} }}",
          "SELECT * WHERE {}", "CONSTRUCT {{ ?s <urn:p> {} }} WHERE {{}}",
          # Readings that could hide brackets from a count: a comparison without spaces looks like an
          # IRI, a local-name escape like the start of a string.
          "SELECT * WHERE {{ FILTER(?a<{}&&?b>0) }}", "PREFIX ex: <urn:x:> SELECT * WHERE {{ ?s ex:p\\' {} \"'\" }}"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.sampled_from(NESTABLE), depth=st.integers(1, 3000), frame=st.sampled_from(FRAMES))
def test_any_nesting(endpoint: str, http: httpx.Client, pair: tuple[str, str], depth: int, frame: str) -> None:
    """However deep a query nests (a stack overflow in the parser killed the worker: 503)."""
    opening, closing = pair
    query = frame.format(opening * depth + "1" + closing * depth)
    assert_answered(http.post(endpoint, content=query.encode(), headers={"Content-Type": "application/sparql-query"}))
