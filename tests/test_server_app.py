"""plan_kg.server.app: the SPARQL 1.1 Protocol over the real server on loopback, with its limits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import csv
import gzip
import html
import http.client
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit
from collections.abc import Iterator
from pathlib import Path
from xml.dom import minidom

import httpx
import pyoxigraph
import pytest

from server_fixtures import (
    BIG_NQUADS,
    MEMORY_HOG_QUERY,
    ONTOLOGY_GRAPH,
    PLAN_GRAPH,
    RUNAWAY_QUERY,
    SAMPLE_QUADS,
    Listener,
    held_download,
    live_server,
    sample_settings,
    write_dump,
)

from plan_kg.web import SECURITY_HEADERS

SD = "http://www.w3.org/ns/sparql-service-description#"
COUNT = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = sample_settings(tmp_path_factory.mktemp("server"), max_result_rows=5, query_timeout_s=20)
    with live_server(settings) as url:
        yield url


def count_quads(url: str) -> int:
    response = httpx.get(url, params={"query": COUNT})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_the_default_graph_is_the_union_and_named_graphs_stay_addressable(endpoint: str) -> None:
    labels = httpx.get(endpoint, params={"query": "SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"})
    assert {b["l"]["value"] for b in labels.json()["results"]["bindings"]} == {"西東京市", "基本目標1", "Measure"}
    only = httpx.get(
        endpoint,
        params={"query": "SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }", "default-graph-uri": ONTOLOGY_GRAPH},
    )
    assert [b["l"]["value"] for b in only.json()["results"]["bindings"]] == ["Measure"]
    graphs = httpx.get(endpoint, params={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"})
    assert {b["g"]["value"] for b in graphs.json()["results"]["bindings"]} == {PLAN_GRAPH, ONTOLOGY_GRAPH}


def test_an_unknown_graph_is_empty_and_never_fetched(endpoint: str) -> None:
    listener = Listener()
    try:
        remote = f"http://127.0.0.1:{listener.port}/x"
        for params in (
            {"query": "ASK { ?s ?p ?o }", "default-graph-uri": remote},
            {"query": f"ASK FROM <{remote}> {{ ?s ?p ?o }}"},
            {"query": f"ASK FROM NAMED <{remote}> {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
            {"query": f"ASK {{ GRAPH <{remote}> {{ ?s ?p ?o }} }}"},
        ):
            response = httpx.get(endpoint, params=params)
            assert response.status_code == 200, response.text
            assert response.json()["boolean"] is False
    finally:
        listener.close()
    assert listener.connections == 0


def test_service_is_refused_without_any_connection(endpoint: str) -> None:
    listener = Listener()
    try:
        for query in (
            f"SELECT * {{ SERVICE <http://127.0.0.1:{listener.port}/sparql> {{ ?s ?p ?o }} }}",
            f"SELECT * {{ ?a ?b ?c OPTIONAL {{ SERVICE SILENT <http://127.0.0.1:{listener.port}/sparql> {{ ?s ?p ?o }} }} }}",
            f"PREFIX x: <http://127.0.0.1:{listener.port}/> ASK {{ FILTER EXISTS {{ sErViCe x:sparql {{ }} }} }}",
            "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
            # A comment ends at CR for pyoxigraph, not for rdflib: this one reached the listener.
            f"SELECT * WHERE {{ #\rSERVICE <http://127.0.0.1:{listener.port}/sparql> {{ ?a ?b ?c }}\n}}",
            f"PREFIX s: <http://x/ns#> SELECT * {{ ?a s:p '#' . SERVICE <http://127.0.0.1:{listener.port}/> {{ }} }}",
        ):
            response = httpx.post(endpoint, content=query, headers={"Content-Type": "application/sparql-query"})
            assert response.status_code == 403, (query, response.text)
            assert "SERVICE" in response.text
    finally:
        listener.close()
    assert listener.connections == 0


def test_a_refused_service_page_says_why_in_japanese(endpoint: str) -> None:
    """A SERVICE refusal is a 403, as an update's is: its page named the read-only rule, found by status, where
    the allow-list refused it. The refusal now carries its setting, as the limits' do."""
    listener = Listener()
    try:
        query = f"SELECT * {{ SERVICE <http://127.0.0.1:{listener.port}/sparql> {{ ?s ?p ?o }} }}"
        response = httpx.get(endpoint, params={"query": query}, headers={"Accept": "text/html"})
    finally:
        listener.close()
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    said = re.search(r'<p class="query-error-ja" lang="ja">(.*?)</p>', response.text)
    assert said is not None and "SERVICE（ほかのエンドポイントへの問い合わせ）" in said[1], response.text
    assert "読み取り専用" not in said[1]
    assert listener.connections == 0


def test_an_allow_listed_service_is_queried(tmp_path: Path, endpoint: str) -> None:
    settings = sample_settings(tmp_path, service_allow_list=(endpoint,))
    with live_server(settings) as federating:
        query = f"SELECT ?l {{ SERVICE <{endpoint}> {{ <https://w3id.org/plan-kg/id/132292> ?p ?l }} }}"
        response = httpx.get(federating, params={"query": query})
        assert response.status_code == 200, response.text
        assert [b["l"]["value"] for b in response.json()["results"]["bindings"]] == ["西東京市"]
        other = httpx.get(federating, params={"query": query.replace(endpoint, endpoint + "2")})
        assert other.status_code == 403


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("GET", {"params": {"update": "CLEAR ALL"}}),
        ("POST", {"data": {"update": "CLEAR ALL"}}),
        ("POST", {"content": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}}),
        ("POST", {"content": "DROP ALL", "headers": {"Content-Type": "application/sparql-update; charset=utf-8"}}),
        ("POST", {"content": "INSERT DATA { <a:s> <a:p> <a:o> }", "headers": {"Content-Type": "application/sparql-query"}}),
        ("GET", {"params": {"query": "DELETE WHERE { ?s ?p ?o }"}}),
        ("GET", {"params": {"query": "LOAD <http://127.0.0.1:9/x>"}}),
        ("POST", {"data": {"query": "ASK {}", "update": "CLEAR ALL"}}),
    ],
)
def test_updates_are_refused_and_change_nothing(endpoint: str, method: str, kwargs: dict) -> None:
    response = httpx.request(method, endpoint, **kwargs)
    # An update sent as a query says so too, not only that it is not a valid query.
    assert response.status_code == 403, response.text
    assert "read-only" in response.text
    assert count_quads(endpoint) == SAMPLE_QUADS


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("text/csv;q=0.4, application/sparql-results+xml;q=0.9, */*;q=0.1", "application/sparql-results+xml"),
        ("application/json", "application/sparql-results+json"),
        ("text/xml", "application/sparql-results+xml"),
        ("*/*", "application/sparql-results+json"),
        ("text/*", "text/csv"),
        # A browser (the query form without JavaScript, a pasted query URL): a page of the answer.
        ("text/html, application/xhtml+xml, */*;q=0.8", "text/html"),
        ("text/html;q=0.5, application/sparql-results+json", "application/sparql-results+json"),
        # A tie never goes to the page, also when the machine format is named by an alias.
        ("application/json, text/html", "application/sparql-results+json"),
        ("application/xml, text/html", "application/sparql-results+xml"),
        ("*/*, text/html", "application/sparql-results+json"),
    ],
)
def test_select_results_are_negotiated(endpoint: str, accept: str | None, media_type: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = httpx.get(endpoint, params={"query": "SELECT ?s { ?s ?p ?o } LIMIT 2"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, pyoxigraph.RdfFormat.TURTLE),
        ("application/n-triples", pyoxigraph.RdfFormat.N_TRIPLES),
        ("application/ld+json", pyoxigraph.RdfFormat.JSON_LD),
        ("application/rdf+xml", pyoxigraph.RdfFormat.RDF_XML),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.6", pyoxigraph.RdfFormat.TURTLE),
        ("text/n3", pyoxigraph.RdfFormat.TURTLE),  # Turtle is N3
        ("application/json", pyoxigraph.RdfFormat.JSON_LD),  # JSON-LD is JSON
        ("application/x-json+ld", pyoxigraph.RdfFormat.JSON_LD),  # its name before it was registered (SPARQLWrapper)
        ("text/xml", pyoxigraph.RdfFormat.RDF_XML),  # either XML media type, as SELECT's SPARQL XML
    ],
)
def test_graph_results_are_negotiated_and_parse(endpoint: str, accept: str | None, fmt: pyoxigraph.RdfFormat) -> None:
    headers = {"Accept": accept} if accept else {}
    query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <%s> { ?s ?p ?o } }" % PLAN_GRAPH
    response = httpx.get(endpoint, params={"query": query}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == fmt.media_type
    assert len(list(pyoxigraph.parse(response.content, format=fmt))) == 5


def test_the_format_parameter_overrides_accept(endpoint: str) -> None:
    response = httpx.get(
        endpoint, params={"query": "SELECT ?s { ?s ?p ?o } LIMIT 1", "format": "csv"}, headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    graph = httpx.get(endpoint, params={"query": "DESCRIBE <https://w3id.org/plan-kg/id/132292>", "format": "ntriples"})
    assert graph.headers["content-type"] == "application/n-triples"


def test_nothing_acceptable_is_406(endpoint: str) -> None:
    assert httpx.get(endpoint, params={"query": "ASK {}"}, headers={"Accept": "image/png"}).status_code == 406
    construct = httpx.get(endpoint, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "csv"})
    assert construct.status_code == 406  # format= names what the client wants: never disregarded
    assert "turtle" in construct.text


def test_a_client_of_sparql_results_only_gets_a_graph_in_turtle(endpoint: str) -> None:
    """rdflib's SPARQLStore with returnFormat "json" or "csv" accepts only SPARQL results, also for a
    CONSTRUCT: it got a 406. RFC 9110 12.5.1 lets the server disregard Accept: it gets Turtle, and reads it."""
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    construct = "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3"  # the sample server's limit is 5 triples
    answer = httpx.get(endpoint, params={"query": construct}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/turtle")
    assert "Accept" in answer.headers["vary"]
    for return_format in ("json", "csv"):
        graph = Graph(SPARQLStore(query_endpoint=endpoint, returnFormat=return_format))
        assert len(graph.query(construct).graph) == 3, return_format
        assert len(graph.query("SELECT * { ?s ?p ?o } LIMIT 3")) == 3, return_format


def test_the_service_description_lists_graphs_formats_and_limits(endpoint: str) -> None:
    response = httpx.get(endpoint)
    assert response.headers["content-type"].startswith("text/turtle")
    triples = list(pyoxigraph.parse(response.content, format=pyoxigraph.RdfFormat.TURTLE))
    objects = {(t.predicate.value, getattr(t.object, "value", None)) for t in triples}
    assert (SD + "feature", SD + "UnionDefaultGraph") in objects
    assert (SD + "name", PLAN_GRAPH) in objects and (SD + "name", ONTOLOGY_GRAPH) in objects
    assert (SD + "resultFormat", "http://www.w3.org/ns/formats/SPARQL_Results_CSV") in objects
    # Every format by the W3C's registered IRI (pyoxigraph names JSON-LD .../formats/data/JSON-LD).
    assert (SD + "resultFormat", "http://www.w3.org/ns/formats/JSON-LD") in objects
    assert all(o.startswith("http://www.w3.org/ns/formats/") for p, o in objects if p == SD + "resultFormat")
    comment = next(t.object.value for t in triples if t.predicate.value.endswith("#comment") and "Read-only" in t.object.value)
    assert "20 s" in comment and "5 rows" in comment
    assert "Cache-Control max-age=300;" in comment and "{" not in comment  # every setting filled in
    jsonld = httpx.get(endpoint, headers={"Accept": "application/ld+json"})
    assert jsonld.headers["content-type"] == "application/ld+json"
    json.loads(jsonld.content)


@pytest.mark.parametrize("accept", ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"])
def test_the_service_description_is_the_same_bytes_each_time_with_a_strong_etag(endpoint: str, accept: str) -> None:
    """RFC 9110 9.3.2 (a HEAD's fields are its GET's) and 8.8.3: its blank nodes were named at random on each request."""
    answers = [httpx.get(endpoint, headers={"Accept": accept}) for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len({a.headers["etag"] for a in answers}) == 1
    first = answers[0]
    tag = first.headers["etag"]
    assert tag.startswith('"') and first.headers["cache-control"].startswith("public, max-age=")
    head = httpx.head(endpoint, headers={"Accept": accept})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == first.headers["content-length"] == str(len(first.content))
    assert head.headers["etag"] == tag
    unchanged = httpx.get(endpoint, headers={"Accept": accept, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == tag and unchanged.headers["vary"] == "Accept"
    assert httpx.get(endpoint, headers={"Accept": accept, "If-Match": tag}).status_code == 200
    assert httpx.get(endpoint, headers={"Accept": accept, "If-Match": '"other"'}).status_code == 412


def test_the_service_description_of_another_host_names_that_host_and_has_its_own_tag(endpoint: str) -> None:
    """Without public_base_iri the endpoint IRI comes from the request: one document per Host, each kept the same."""
    mine = httpx.get(endpoint, headers={"Accept": "text/turtle"})
    other = [httpx.get(endpoint, headers={"Accept": "text/turtle", "Host": "data.example.org"}) for _ in range(2)]
    assert b"<http://data.example.org/sparql>" in other[0].content and other[0].content == other[1].content
    assert other[0].headers["etag"] == other[1].headers["etag"] != mine.headers["etag"]
    assert httpx.get(endpoint, headers={"Accept": "text/turtle", "If-None-Match": other[0].headers["etag"]}).status_code == 200


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("SELECT ?s { ?s ?p ?o } LIMIT 2", '<table class="results">'),
        ("ASK { ?s ?p ?o }", '<strong class="boolean">true</strong>'),
        ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "<th scope=\"col\">predicate</th>"),
    ],
)
def test_a_browser_gets_the_answer_as_a_page_under_the_sites_security_policy(endpoint: str, query: str, shown: str) -> None:
    for headers, params in (({"Accept": BROWSER_ACCEPT}, {}), ({}, {"format": "html"})):
        response = httpx.get(endpoint, params={"query": query, **params}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert shown in response.text and "<script" not in response.text
        # Sent again from the kept answer (before the framework): the same policy.
        again = httpx.get(endpoint, params={"query": query, **params}, headers=headers)
        assert again.content == response.content
        assert again.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_the_page_of_a_one_pattern_lookup_shows_the_query_as_sent(endpoint: str) -> None:
    # Such a lookup may be run in the server process with LIMIT added; the page must not show that text.
    query = "SELECT ?s WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }"
    page = httpx.get(endpoint, params={"query": query}, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert textarea(page.text) == query
    assert "LIMIT" not in page.text


def test_a_browser_is_told_why_a_query_was_not_answered_on_a_page_with_the_query_to_fix(endpoint: str) -> None:
    query = "SELECT * WHERE { ?s ?p <b>\"&' }"
    page = httpx.get(endpoint, params={"query": query}, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 400 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert "not valid SPARQL 1.1" in page.text and "<b>" not in page.text  # the message, escaped
    assert '<p class="query-error-ja" lang="ja">問い合わせが SPARQL 1.1 の文法に合っていません。' in page.text  # and in Japanese
    assert textarea(page.text) == query
    # Over the row limit (5 here), as a page too; anyone else still gets the reason as plain text.
    over = httpx.get(endpoint, params={"query": "SELECT * { ?s ?p ?o }", "format": "html"})
    assert over.status_code == 400 and "5 rows" in over.text and over.headers["content-type"].startswith("text/html")
    assert "結果の行数がこのエンドポイントの上限を超えました" in over.text
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/sparql-results+json, text/html"}):
        plain = httpx.get(endpoint, params={"query": query}, headers=headers)
        assert plain.status_code == 400 and plain.headers["content-type"].startswith("text/plain"), headers


def textarea(page: str) -> str:
    """The text of a page's (first) textarea, as the browser shows it."""
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.DOTALL)
    assert found is not None, "no textarea"
    return html.unescape(found[1])


def test_a_browser_opening_the_endpoint_is_sent_to_the_query_editor(endpoint: str) -> None:
    browser = httpx.get(endpoint, headers={"Accept": BROWSER_ACCEPT})
    assert browser.status_code == 303
    assert browser.headers["location"] == "/#query" and "Accept" in browser.headers["vary"]
    # So is one asking for the endpoint as HTML by name.
    for name in ("html", "text/html"):
        named = httpx.get(endpoint, params={"format": name})
        assert named.status_code == 303 and named.headers["location"] == "/#query"
    # Anything else that accepts any type still gets the service description, also on a tie with HTML.
    for accept in ("*/*", "text/turtle, text/html;q=0.5", "*/*, text/html"):
        described = httpx.get(endpoint, headers={"Accept": accept})
        assert described.status_code == 200 and described.headers["content-type"].startswith("text/turtle")
    as_json = httpx.get(endpoint, headers={"Accept": "application/json, text/html"})
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/ld+json"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "", {}),  # the service description
        ("GET", "", {"params": {"query": "ASK {}"}}),
        ("GET", "", {"params": {"query": "SELECT * {"}}),  # an error, answered without the framework
        ("POST", "", {"content": "ASK {}" + " " * 2_000_000, "headers": {"Content-Type": "application/sparql-query"}}),
        ("GET", "/../", {}),  # the home page
        ("GET", "/../id/132292", {"headers": {"Accept": "text/turtle"}}),
    ],
)
def test_every_answer_allows_any_origin_also_without_origin(endpoint: str, method: str, path: str, kwargs: dict) -> None:
    plain = httpx.request(method, endpoint + path, **kwargs)
    assert plain.headers["access-control-allow-origin"] == "*", plain.status_code
    if method == "GET":  # HEAD (the full path) sends the header fields of GET (answered before the framework)
        head = httpx.head(endpoint + path, **kwargs)
        same = ("content-type", "vary", "etag", "cache-control", "access-control-allow-origin")
        assert [head.headers.get(name) for name in same] == [plain.headers.get(name) for name in same]
    assert "access-control-allow-credentials" not in plain.headers
    # The same CORS headers as to a browser's request: a cache may serve either to the other.
    kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "Origin": "https://example.org"}}
    browser = httpx.request(method, endpoint + path, **kwargs)
    cors = ("access-control-allow-origin", "access-control-expose-headers", "vary")
    assert [plain.headers.get(name) for name in cors] == [browser.headers.get(name) for name in cors]
    assert "origin" not in plain.headers.get("vary", "").lower()  # no answer varies by Origin


def test_cors_allows_any_origin_without_credentials(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    # A script reads the validators and limits, the links to other formats and a ranged download's fields.
    exposed = {name.strip().lower() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "retry-after", "link", "content-range", "accept-ranges", "content-location"} <= exposed
    preflight = httpx.options(
        endpoint,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-requested-with, cache-control",
        },
    )
    assert preflight.status_code == 200, preflight.text  # any header a client adds
    assert "x-requested-with" in preflight.headers["access-control-allow-headers"]
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/sparql", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/", {"GET", "HEAD", "OPTIONS"}),
        ("/id/132292/basic-plan-3/1", {"GET", "HEAD", "OPTIONS"}),
        ("/downloads/plan-kg.nq", {"GET", "HEAD", "OPTIONS"}),
        ("/assets/site/style.css", {"GET", "HEAD", "OPTIONS"}),
        ("/no-such-path", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_preflight_allows_the_methods_the_path_takes(endpoint: str, path: str, allowed: set[str]) -> None:
    """Only /sparql takes POST: a preflight elsewhere listed it too (one CORS layer for every path), and one
    asking for it succeeded, for a request the path then refuses (405)."""
    def preflight(method: str) -> httpx.Response:
        return httpx.options(endpoint.removesuffix("/sparql") + path,
                             headers={"Origin": "https://example.org", "Access-Control-Request-Method": method})

    asked = preflight("GET")
    assert asked.status_code == 200, asked.text
    assert {method.strip() for method in asked.headers["access-control-allow-methods"].split(",")} == allowed
    assert asked.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in asked.headers
    post = preflight("POST")
    assert (post.status_code == 200) == ("POST" in allowed)
    if "POST" not in allowed:  # Starlette's own words were "Disallowed CORS method"
        assert post.status_code == 400
        assert post.text == "a cross-origin POST is not allowed here: this path takes GET, HEAD, OPTIONS\n"
        assert post.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"params": {"query": "SELECT * { ?s ?p"}}, 400),
        ({"params": [("query", "ASK {}"), ("query", "ASK {}")]}, 400),
        ({"content": "ASK {}".encode("utf-16"), "headers": {"Content-Type": "application/sparql-query; charset=UTF-16"}}, 400),
        ({"content": b"ASK { FILTER(\xff) }", "headers": {"Content-Type": "application/sparql-query"}}, 400),
        ({"content": b"query=ASK%20%7B%7D%FF", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400),
        ({"content": "ASK {}", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"content": "ASK {}"}, 415),
        ({"content": "ASK {}", "headers": {"Content-Type": "application/sparql-query"}, "params": {"query": "ASK {}"}}, 400),
        ({"params": {"query": "ASK {}", "default-graph-uri": "not an iri"}}, 400),
        ({"params": {"query": "ASK {}"}, "headers": {"Accept": "garbage;;;"}}, 400),
        ({"params": {"query": ""}}, 400),
        ({"content": b"query=ASK%20%7B%7D" + b"&a=" * 1000, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400),
        ({"params": [("query", "ASK {}")] + [("a", "")] * 1000}, 400),
        ({"content": "format=json", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400),
        ({"content": gzip.compress(b"ASK {}"), "headers": {"Content-Type": "application/sparql-query",
                                                           "Content-Encoding": "gzip"}}, 415),
        # Nested deeper than pyoxigraph's parser can take (it would kill the worker: 503): refused first.
        ({"content": "SELECT * WHERE { BIND(" + "(" * 5000 + "1" + ")" * 5000 + " AS ?x) }",
          "headers": {"Content-Type": "application/sparql-query"}}, 400),
    ],
)
def test_bad_requests_get_a_4xx_with_a_reason(endpoint: str, kwargs: dict, status: int) -> None:
    method = "POST" if "content" in kwargs else "GET"
    response = httpx.request(method, endpoint, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert len(response.text.strip()) > 10


def test_an_empty_format_leaves_the_choice_to_output_or_accept(endpoint: str) -> None:
    """An empty format= (a form's "any format") names no format: a later output= chooses, else Accept. The first
    format/output parameter was taken even when empty, so output=csv was not read."""
    for params, media_type in [([("format", ""), ("output", "csv")], "text/csv"),
                               ([("output", ""), ("format", "xml")], "application/sparql-results+xml"),
                               ([("format", ""), ("output", "")], "text/tab-separated-values")]:
        for method in ("GET", "POST"):
            answer = httpx.request(method, endpoint, headers={"Accept": "text/tab-separated-values"},
                                   **({"params": [("query", "ASK {}"), *params]} if method == "GET" else
                                      {"data": {"query": "ASK {}", **dict(params)}}))
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type), (params, method)


def test_a_graph_name_that_is_no_iri_is_refused_saying_which_and_what_to_do(endpoint: str) -> None:
    """It said "a default-graph-uri or named-graph-uri is not an IRI", naming neither the parameter nor the value."""
    graph = "https://w3id.org/plan-kg/graph/132292/basic-plan-3"
    for params, named in [({"default-graph-uri": [graph, "graph/132292/basic-plan-3"]}, "default-graph-uri="),
                          ({"named-graph-uri": "graph/132292/basic-plan-3"}, "named-graph-uri=")]:
        refused = httpx.get(endpoint, params={"query": "ASK {}", **params})
        assert refused.status_code == 400
        assert f"{named}'graph/132292/basic-plan-3' is not an absolute IRI" in refused.text, refused.text
        assert "service description (GET /sparql)" in refused.text
    long = httpx.post(endpoint, data={"query": "ASK {}", "default-graph-uri": "x" * 5000})
    assert long.status_code == 400 and len(long.text) < 400  # the value shown, not all of it


def test_a_compressed_body_is_refused_saying_which_coding_would_do(endpoint: str) -> None:
    refused = httpx.post(endpoint, content=gzip.compress(b"ASK {}"),
                         headers={"Content-Type": "application/sparql-query", "Content-Encoding": "gzip"})
    assert refused.status_code == 415 and refused.headers["accept-encoding"] == "identity"
    assert "Content-Encoding: gzip" in refused.text


def test_a_query_body_may_start_with_a_byte_order_mark(endpoint: str) -> None:
    """As Windows editors save UTF-8: the mark is not part of the query (it was a syntax error at 1:1)."""
    answer = httpx.post(endpoint, content="\ufeffASK {}".encode(), headers={"Content-Type": "application/sparql-query",
                                                                          "Accept": "application/sparql-results+json"})
    assert answer.status_code == 200 and answer.json()["boolean"] is True
    # The same file sent as a form field (`curl --data-urlencode query@file.rq`) or in the URL.
    json_answer = {"Accept": "application/sparql-results+json"}
    assert httpx.post(endpoint, data={"query": "\ufeffASK {}"}, headers=json_answer).json()["boolean"] is True
    assert httpx.get(endpoint, params={"query": "\ufeffASK {}"}, headers=json_answer).json()["boolean"] is True


def test_a_form_may_carry_utf_8_as_it_is(endpoint: str) -> None:
    """`curl -d 'query=…子ども…'` sends UTF-8 without percent-encoding it (the URL standard reads such a form):
    it was refused as "not percent-encoded UTF-8". Bytes that are not UTF-8 still are, saying where."""
    query = 'SELECT ?l { VALUES ?l { "子ども"@ja } }'
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/csv"}
    raw = httpx.post(endpoint, content=b"query=" + query.encode("utf-8"), headers=form)
    assert raw.status_code == 200 and raw.text.splitlines()[1] == "子ども"
    mixed = httpx.post(endpoint, content=b"query=" + query.replace(" ", "+").encode("utf-8"), headers=form)
    assert mixed.status_code == 200 and mixed.text == raw.text
    refused = httpx.post(endpoint, content=b"query=ASK {} \xff", headers=form)
    assert refused.status_code == 400 and "form body is not UTF-8 (byte 14" in refused.text
    escaped = httpx.post(endpoint, content=b"query=ASK%20%7B%7D%20%FF", headers=form)
    assert escaped.status_code == 400 and "percent-encoded bytes that are not UTF-8" in escaped.text


def test_a_client_that_goes_away_mid_body_leaves_no_traceback(endpoint: str) -> None:
    """An aborted POST is nobody's error: it logged 3.8 KB of traceback each (7.7 MB for 2,000)."""
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = errors.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        url = httpx.URL(endpoint)
        for _ in range(3):
            with socket.create_connection((url.host, url.port)) as raw:
                raw.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                            b"Content-Length: 100\r\n\r\nASK")
        time.sleep(0.5)
        assert httpx.get(endpoint, params={"query": "ASK {}"}).status_code == 200
    finally:
        logger.removeHandler(handler)
    assert [record.getMessage() for record in errors] == []


def test_a_syntax_error_says_where(endpoint: str) -> None:
    response = httpx.get(endpoint, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert "1:" in response.text
    undeclared = httpx.get(endpoint, params={"query": "SELECT * WHERE {\n  ?s skos:prefLabel ?o }"})
    assert undeclared.status_code == 400
    assert undeclared.text == ("the query is not valid SPARQL 1.1: at 2:6, 'skos:' is used but not declared; "
                               "add a PREFIX declaration for it at the start of the query\n"
                               "      ?s skos:prefLabel ?o }\n"
                               "         ^\n")


def test_other_methods_are_refused(endpoint: str) -> None:
    assert httpx.put(endpoint, params={"query": "ASK {}"}).status_code == 405
    assert httpx.delete(endpoint).status_code == 405


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", {"GET", "HEAD", "OPTIONS"}),
        ("/id/132292/basic-plan-3/1", {"GET", "HEAD", "OPTIONS"}),
        ("/id/132292/basic-plan-3/1.ttl", {"GET", "HEAD", "OPTIONS"}),
        ("/downloads/plan-kg.nq", {"GET", "HEAD", "OPTIONS"}),
        ("/ontology", {"GET", "HEAD", "OPTIONS"}),
        ("/assets/site/style.css", {"GET", "HEAD", "OPTIONS"}),
        ("/sparql", {"GET", "HEAD", "POST", "OPTIONS"}),
    ],
)
def test_plain_options_says_what_each_path_allows(endpoint: str, path: str, allowed: set[str]) -> None:
    """RFC 9110 9.3.7: OPTIONS asks what a resource allows; it is not a method the resource refuses (405)."""
    response = httpx.options(endpoint.removesuffix("/sparql") + path)  # no Origin: not a CORS preflight
    assert response.status_code == 204, response.text
    assert {method.strip() for method in response.headers["allow"].split(",")} == allowed
    assert "content-length" not in response.headers and not response.content
    assert response.headers["access-control-allow-origin"] == "*"


def test_options_on_no_route_is_404_and_a_preflight_stays_cors(endpoint: str) -> None:
    root = endpoint.removesuffix("/sparql")
    assert httpx.options(root + "/no-such-path").status_code == 404
    # A path of a route but of no resource: 404, as GET says (this sample has no catalog built)
    for missing in ("/id/132292/no-such-plan", "/downloads/nope.ttl", "/assets/site/nope.css", "/catalog.ttl"):
        assert httpx.options(root + missing).status_code == httpx.get(root + missing).status_code == 404, missing
    preflight = httpx.options(root + "/ontology", headers={"Origin": "https://example.org",
                                                           "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    assert httpx.put(root + "/ontology").status_code == 405


@pytest.mark.parametrize("path", ["/ontology", "/id/132292/basic-plan-3/1", "/sparql", "/downloads/plan-kg.nq"])
def test_a_405_allows_what_options_says(endpoint: str, path: str) -> None:
    """RFC 9110 10.2.1: Allow lists the methods the resource takes, OPTIONS among them (it gets 204, not 405)."""
    url = endpoint.removesuffix("/sparql") + path
    refused = httpx.request("PATCH", url)
    assert refused.status_code == 405
    allowed = {method.strip() for method in refused.headers["allow"].split(",")}
    assert allowed == {method.strip() for method in httpx.options(url).headers["allow"].split(",")}
    assert "OPTIONS" in allowed and "PATCH" in refused.text
    for name, value in SECURITY_HEADERS.items():
        assert refused.headers[name] == value


@pytest.mark.parametrize("path", ["/no-such-path", "/favicon.ico", "/assets/site/nope.css", "/a/b/c.html", "/sitemap.xml"])
def test_a_path_no_route_has_gets_the_sites_404_in_both_languages(endpoint: str, path: str) -> None:
    url = endpoint.removesuffix("/sparql") + path
    page = httpx.get(url, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=True)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "見つかりません" in page.text and "Not found" in page.text
    assert path.rsplit("/", 1)[-1] in page.text and 'href="/"' in page.text  # what was asked, and the way home
    plain = httpx.get(url, headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert plain.status_code == 404 and plain.headers["content-type"].startswith("text/plain")
    for response in (page, plain):
        assert response.headers["vary"] == "Accept"
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert httpx.head(url, headers={"Accept": BROWSER_ACCEPT}, follow_redirects=True).status_code == 404


def test_a_404_page_escapes_the_path(endpoint: str) -> None:
    page = httpx.get(endpoint.removesuffix("/sparql") + "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                     headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 404 and "<script>alert" not in page.text and "&lt;script&gt;alert(1)" in page.text


@pytest.mark.parametrize(("path", "location"), [
    ("/id", "/id/"), ("/graph", "/graph/"), ("/catalog/", "/catalog"), ("/sparql/?query=ASK%7B%7D", "/sparql?query=ASK%7B%7D"),
    ("/downloads", "/downloads/"),
])
def test_a_path_without_its_trailing_slash_is_redirected_to_a_path_whatever_the_host(endpoint: str, path: str,
                                                                                    location: str) -> None:
    # Starlette sent a URL built from Host: behind a proxy sending `$host` (no port), or its own address, it led elsewhere.
    moved = httpx.get(endpoint.removesuffix("/sparql") + path, headers={"Host": "proxy.example"})
    assert moved.status_code == 307 and moved.headers["location"] == location
    followed = httpx.get(endpoint.removesuffix("/sparql") + path, follow_redirects=True)
    assert followed.history[0].headers["location"] == location and followed.status_code in (200, 404)  # no catalog here


def test_a_routes_own_404_is_not_redirected(endpoint: str) -> None:
    for path in ("/assets/site/nope.css", "/downloads/nope.ttl/"):
        assert httpx.get(endpoint.removesuffix("/sparql") + path).status_code == 404, path


def test_the_servers_catalog_routes_send_the_sites_security_headers(endpoint: str) -> None:
    for path in ("/catalog.ttl", "/catalog", "/.well-known/void"):  # this sample has no catalog built: 404s, as sent
        response = httpx.get(endpoint.removesuffix("/sparql") + path)
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"], path


def test_robots_txt_keeps_crawlers_off_the_endpoint(endpoint: str) -> None:
    robots = httpx.get(endpoint.removesuffix("/sparql") + "/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    rules = robots.text.splitlines()
    assert rules[0] == "User-agent: *" and "Disallow: /sparql" in rules and "Allow: /" in rules


def test_results_over_the_row_limit_are_refused_with_the_limit(endpoint: str) -> None:
    ok = httpx.get(endpoint, params={"query": "SELECT * { GRAPH ?g { ?s ?p ?o } } LIMIT 5", "format": "csv"})
    assert ok.status_code == 200
    assert len(list(csv.reader(io.StringIO(ok.text)))) == 6
    for query in ("SELECT * { GRAPH ?g { ?s ?p ?o } }", "CONSTRUCT WHERE { ?s ?p ?o }"):
        response = httpx.get(endpoint, params={"query": query})
        assert response.status_code == 400
        assert "5" in response.text and "limit" in response.text


def test_an_answer_over_the_size_limit_is_refused_with_the_limit(tmp_path: Path) -> None:
    """A few rows can still make a huge answer (strings built by the query): it is refused in the
    worker, before the server process receives it, and the service description states the limit."""
    query = ('SELECT ?x WHERE { VALUES ?n { 1 2 } BIND("' + "x" * 1000 + '" AS ?a) '
             "BIND(CONCAT(?a, ?a, ?a, ?a) AS ?x) }")
    with live_server(sample_settings(tmp_path, max_response_bytes=5000)) as url:
        refused = httpx.get(url, params={"query": query})
        assert refused.status_code == 400
        assert refused.text.startswith("the result is larger than 5000 bytes, this endpoint's limit")
        assert httpx.get(url, params={"query": query.replace("?a, ?a, ?a, ?a", "?a")}).status_code == 200
        assert "and 5000 bytes once written" in httpx.get(url, headers={"Accept": "text/turtle"}).text


def test_the_body_size_is_limited(tmp_path: Path) -> None:
    with live_server(sample_settings(tmp_path, max_body_bytes=100)) as url:
        small = httpx.post(url, content="ASK {}", headers={"Content-Type": "application/sparql-query"})
        assert small.status_code == 200
        big = httpx.post(url, content="ASK {}" + " " * 200, headers={"Content-Type": "application/sparql-query"})
        assert big.status_code == 413
        assert "100 bytes" in big.text and big.headers["content-type"].startswith("text/plain")
        # A browser (the home page's form without JavaScript) is told on a page, with a form to try again.
        form = httpx.post(url, data={"query": "ASK {}" + " " * 200}, headers={"Accept": BROWSER_ACCEPT})
        assert form.status_code == 413 and form.headers["content-type"] == "text/html; charset=utf-8"
        assert "100 bytes" in form.text and textarea(form.text) == ""
        asked = httpx.post(url + "?format=html", data={"query": "ASK {}" + " " * 200})  # format=html: a page too
        assert asked.status_code == 413 and asked.headers["content-type"] == "text/html; charset=utf-8"
        assert form.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_a_browser_is_told_on_a_page_why_a_request_could_not_be_read(endpoint: str) -> None:
    """Refused before the query is read (here: not UTF-8; a form without a query): a page for a browser,
    plain text for anyone else."""
    for method, kwargs in (("GET", {"url": endpoint + "?query=ASK%20%FF"}), ("POST", {"url": endpoint, "data": {"default-graph-uri": "urn:x:g"}})):
        page = httpx.request(method, headers={"Accept": BROWSER_ACCEPT}, **kwargs)
        assert page.status_code == 400 and page.headers["content-type"] == "text/html; charset=utf-8", method
        assert textarea(page.text) == "" and page.headers["content-security-policy"]
        plain = httpx.request(method, **kwargs)
        assert plain.status_code == 400 and plain.headers["content-type"].startswith("text/plain"), method
        assert "Accept" in plain.headers["vary"] and "Accept" in page.headers["vary"]  # one URL, two answers
        assert plain.text.rstrip("\n") in html.unescape(page.text)  # the same reason on both


def test_runaway_queries_are_stopped_and_other_clients_are_still_answered(tmp_path: Path) -> None:
    """One client sends two runaways at once: they hold only one of the two workers (one client may
    use all but one), so another client's queries are answered meanwhile, each within a second."""
    # Without the response cache or in-process lookups, so that every lookup is answered by the other worker.
    settings = sample_settings(tmp_path, query_timeout_s=3, query_workers=2, response_cache_bytes=0, in_process_rows=0,
                               query_memory_bytes=0,  # stopped by the time limit, whatever memory it takes
                               trusted_proxies=("127.0.0.1",))  # X-Forwarded-For names two clients
    runaway_client, other_client = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    with live_server(settings) as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            runaways = [pool.submit(httpx.get, url, params={"query": RUNAWAY_QUERY + f" # {i}"},
                                    headers=runaway_client, timeout=60) for i in range(2)]
            time.sleep(0.5)  # both sent: one runs, the other waits for its client's share
            answered = []
            while not all(runaway.done() for runaway in runaways):
                started = time.monotonic()
                status = httpx.get(url, params={"query": "ASK { ?s ?p ?o }"}, headers=other_client, timeout=60)
                answered.append((status.status_code, time.monotonic() - started))
            stopped = [runaway.result() for runaway in runaways]
        # Each was stopped at the time limit (503, no Retry-After: it would be stopped again), or the second
        # waited that long behind its client's own query (429, RFC 6585, with when to try again).
        assert all("3 s" in r.text for r in stopped)
        for runaway in stopped:
            if runaway.status_code == 503:
                assert "time limit" in runaway.text and "retry-after" not in runaway.headers, runaway.text
            else:
                assert runaway.status_code == 429 and runaway.headers["retry-after"] == "5", runaway.text
        assert 503 in {r.status_code for r in stopped}
        assert answered and {status for status, _ in answered} == {200}
        assert max(seconds for _, seconds in answered) < 1.0, answered  # never waited for a runaway
        # The killed workers are replaced: the pool still answers.
        assert httpx.get(url, params={"query": "ASK {}"}).status_code == 200
        assert count_quads(url) == SAMPLE_QUADS


def test_a_text_slow_to_check_for_service_is_stopped_by_the_time_limit(tmp_path: Path) -> None:
    """Checking SERVICE needs rdflib's parser, which takes ~7 s on this 56 kB text (3,000 FILTERs and the
    word "service" in a comment). It runs in the worker, under the time limit: the text is stopped like a
    runaway query, and the server process answers other clients meanwhile (before, it parsed the text
    in one of its own threads, which nothing could stop, holding the interpreter's lock)."""
    slow = "# service\nSELECT * WHERE { ?s ?p ?o " + " ".join(f"FILTER(?o != {i})" for i in range(3000)) + " }"
    settings = sample_settings(tmp_path, query_timeout_s=2, query_workers=2, response_cache_bytes=0,
                               trusted_proxies=("127.0.0.1",))
    with live_server(settings) as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            started = time.monotonic()
            checked = pool.submit(httpx.post, url, data={"query": slow}, headers={"X-Forwarded-For": "203.0.113.1"},
                                  timeout=60)
            answered = []
            while not checked.done():
                answered.append(httpx.get(url, params={"query": "ASK { ?s ?p ?o }"}, timeout=60).status_code)
            stopped = checked.result()
            seconds = time.monotonic() - started
        assert stopped.status_code == 503, stopped.text
        assert "stopped after 2 s" in stopped.text and seconds < 5
        assert answered and set(answered) == {200}


def test_a_lookup_is_answered_while_every_worker_is_busy(tmp_path: Path) -> None:
    """A one-pattern lookup needs no worker: it is answered while a runaway holds the only one."""
    settings = sample_settings(tmp_path, query_timeout_s=4, query_workers=1, response_cache_bytes=0,
                               query_memory_bytes=0)  # the runaway must run until the time limit
    lookup = ("SELECT ?label { <https://w3id.org/plan-kg/id/132292> "
              "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
    with live_server(settings) as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            runaway = pool.submit(httpx.get, url, params={"query": RUNAWAY_QUERY}, timeout=60)
            time.sleep(1)  # let it start; it then holds the worker until stopped at 4 s
            answered = httpx.get(url, params={"query": lookup}, headers={"Accept": "text/csv"}, timeout=60)
            assert not runaway.done()  # the lookup came back while the only worker was still busy
            assert runaway.result().status_code == 503
        assert answered.status_code == 200
        assert answered.text.split() == ["label", "西東京市"]


@pytest.mark.parametrize("trusted", [(), ("127.0.0.1",)])
def test_the_per_client_limit_trusts_x_forwarded_for_only_from_a_trusted_proxy(tmp_path: Path, trusted) -> None:
    settings = sample_settings(tmp_path, query_timeout_s=4, query_workers=2, max_concurrent_per_client=1,
                               trusted_proxies=trusted, response_cache_bytes=0, query_memory_bytes=0)
    with live_server(settings) as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            runaway = pool.submit(httpx.get, url, params={"query": RUNAWAY_QUERY},
                                  headers={"X-Forwarded-For": "203.0.113.1"}, timeout=60)
            time.sleep(1)  # let it start; it then runs until stopped at 4 s
            same = httpx.get(url, params={"query": "ASK {}"}, headers={"X-Forwarded-For": "203.0.113.1"}, timeout=60)
            other = httpx.get(url, params={"query": "ASK {}"}, headers={"X-Forwarded-For": "203.0.113.2"}, timeout=60)
            assert runaway.result().status_code == 503
        assert same.status_code == 429
        # From a trusted proxy the header names another client; from anyone else it is ignored.
        assert other.status_code == (200 if trusted else 429), other.text


def test_a_query_past_the_memory_limit_is_stopped_and_its_worker_replaced(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path, query_timeout_s=60, query_workers=1, response_cache_bytes=0,
                               query_memory_bytes=400_000_000)
    with live_server(settings) as url:
        description = httpx.get(url, headers={"Accept": "text/turtle"}).text
        assert "needs more than 400 MB of memory" in description
        started = time.monotonic()
        stopped = httpx.get(url, params={"query": MEMORY_HOG_QUERY}, timeout=120)
        assert stopped.status_code == 503, stopped.text
        assert "400 MB, this endpoint's memory limit" in stopped.text
        assert time.monotonic() - started < 30  # stopped by the memory cap, long before the time limit
        # The one worker was replaced: the endpoint still answers, from the whole store.
        assert count_quads(url) == SAMPLE_QUADS


def test_concurrent_queries_per_client_are_limited(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path, query_timeout_s=5, query_workers=1, max_concurrent_per_client=1,
                               query_memory_bytes=0)  # the runaway must run until the time limit
    with live_server(settings) as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            runaway = pool.submit(httpx.get, url, params={"query": RUNAWAY_QUERY}, timeout=60)
            time.sleep(1)  # let it start; it then runs until stopped at 5 s
            refused = httpx.get(url, params={"query": "ASK {}"}, timeout=60)
            page = httpx.get(url, params={"query": "ASK {}"}, headers={"Accept": BROWSER_ACCEPT}, timeout=60)
            assert runaway.result().status_code == 503
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "1 queries running" in refused.text
        # A browser is told on a page, with the query to run again.
        assert page.status_code == 429 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["retry-after"] == "1" and textarea(page.text) == "ASK {}"
        assert httpx.get(url, params={"query": "ASK {}"}).status_code == 200


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    """One host or site holds a whole /64: counted by address, it would be 2**64 clients to the limits."""
    from plan_kg.server.addresses import client_of

    assert client_of({"client": ("2001:db8::1", 5)}) == client_of({"client": ("2001:db8::ffff:2", 6)}) == "2001:db8::/64"
    assert client_of({"client": ("2001:db8:0:1::1", 5)}) == "2001:db8:0:1::/64"
    assert client_of({"client": ("::ffff:192.0.2.7", 5)}) == "192.0.2.7"  # an IPv4 client on a dual-stack socket
    assert client_of({"client": ("192.0.2.7", 5)}) == "192.0.2.7" and client_of({}) == "unknown"



def test_answers_a_client_does_not_read_hold_its_place_and_are_given_up(tmp_path: Path) -> None:
    """A large answer is sent a piece at a time: while a client leaves its answers unread, they count
    among its concurrent queries (429 past the limit), and after send_timeout_s without a piece read
    they are given up, the connection closed. Before, each stayed in the server's memory (58 MB each
    in the audit) for as long as the client kept the connection open, and never counted."""
    big = ('SELECT ?x { VALUES ?n { ' + " ".join(map(str, range(16))) + ' } BIND("' + "x" * 1000 + '" AS ?v0) '
           + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(10)) + " BIND(?v10 AS ?x) }")
    settings = sample_settings(tmp_path, max_concurrent_per_client=2, send_timeout_s=1.5)
    with live_server(settings) as url:
        whole = httpx.get(url, params={"query": big}, headers={"Accept": "application/sparql-results+json"},
                          timeout=60)  # a client that reads gets all of it
        assert whole.status_code == 200 and len(whole.json()["results"]["bindings"]) == 16
        assert len(whole.content) > 16_000_000
        target = httpx.URL(url)
        request = (f"GET {target.raw_path.decode()}?{urlencode({'query': big + ' # unread'})} HTTP/1.1\r\n"
                   f"Host: {target.host}\r\nAccept: application/sparql-results+json\r\n\r\n").encode()
        stalled = []
        for _ in range(2):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((target.host, target.port))
            sock.sendall(request)
            stalled.append(sock)
        try:
            time.sleep(1.0)  # both answered, neither read
            busy = httpx.get(url, params={"query": "ASK { ?s ?p 1 } # 1"})
            assert busy.status_code == 429, busy.text
            time.sleep(2.0)  # past send_timeout_s: given up
            assert httpx.get(url, params={"query": "ASK { ?s ?p 1 } # 2"}).status_code == 200
        finally:
            for sock in stalled:
                sock.close()



def test_a_download_a_client_does_not_read_is_given_up_and_the_server_goes_on(tmp_path: Path) -> None:
    """A client that never read its download held the connection, its task and the file for as long as it stayed
    connected (send_timeout_s held for /sparql answers alone); now the download is given up after send_timeout_s."""
    dump = BIG_NQUADS
    settings = sample_settings(tmp_path, send_timeout_s=1.0)
    write_dump(settings.dist_dir, dump)
    with live_server(settings) as url:
        target = httpx.URL(url)
        sock = held_download(target.host, target.port)
        time.sleep(3.0)  # reading nothing, past send_timeout_s
        received = bytearray()
        sock.settimeout(30)
        try:  # what the server had sent before it gave up, then the end of the connection: reset (what was sent and
            while chunk := sock.recv(1 << 16):  # not read may be dropped with it)
                received += chunk
        except ConnectionResetError:
            pass
        sock.close()
        assert (bytes(received) + b"HTTP/1.1 200").startswith(b"HTTP/1.1 200")
        assert len(received) < len(dump)
        whole = httpx.get(url.removesuffix("/sparql") + "/downloads/plan-kg.nq", headers={"Accept-Encoding": "identity"},
                          timeout=60)  # a client that reads gets all of it
        assert whole.status_code == 200 and whole.text == dump


def _read_slowly(host: str, port: int, request: bytes, *, piece: int, every_s: float) -> bytes:
    """What a client with a small receive buffer that reads `piece` bytes every `every_s` gets, to the connection's
    end or the end of the answer (its Content-Length)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect((host, port))
    sock.settimeout(30)
    sock.sendall(request)
    received, whole = bytearray(), None
    try:
        while whole is None or len(received) < whole:
            chunk = sock.recv(piece)
            if not chunk:
                break
            received += chunk
            if whole is None and b"\r\n\r\n" in received:
                head = bytes(received).partition(b"\r\n\r\n")[0].lower()
                whole = len(head) + 4 + int(re.search(rb"content-length: (\d+)", head).group(1))
            time.sleep(every_s)
    finally:
        sock.close()
    return bytes(received)


def test_a_client_reading_slowly_but_steadily_gets_the_whole_download_and_the_whole_answer(tmp_path: Path) -> None:
    """send_timeout_s gives up on a client that reads none of an answer for that long, not on one that reads slowly.
    The kernel's buffers take megabytes of an answer at once, and uvicorn's wait for room was bounded as a whole: a
    client reading 1 MB/s was cut off a few megabytes before the end with send_timeout_s = 1 (downloads and large
    /sparql answers alike)."""
    dump = BIG_NQUADS
    settings = sample_settings(tmp_path, send_timeout_s=1.0, max_result_rows=50_000)
    write_dump(settings.dist_dir, dump)
    big = 'SELECT ?s ?o { ?s <urn:x:p> ?o }'
    with live_server(settings) as url:
        target = httpx.URL(url)
        download = (f"GET /downloads/plan-kg.nq HTTP/1.1\r\nHost: {target.host}\r\n"
                    "Accept-Encoding: identity\r\n\r\n").encode()
        answer = (f"GET {target.raw_path.decode()}?{urlencode({'query': big})} HTTP/1.1\r\nHost: {target.host}\r\n"
                  "Accept: text/tab-separated-values\r\n\r\n").encode()
        for request, expected in ((download, dump.encode()), (answer, None)):
            began = time.monotonic()
            got = _read_slowly(target.host, target.port, request, piece=65536, every_s=0.05)  # ~1 MB/s
            head, _, body = got.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            assert time.monotonic() - began > 3 * settings.send_timeout_s  # slow: many times the limit
            if expected is not None:
                assert body == expected
            else:
                assert body.count(b"\n") == 40_001 and len(body) > 8_000_000  # the header line, every row


def _serving(tmp_path: Path, settings: str) -> tuple[subprocess.Popen, re.Match, list[str]]:
    """`plan-kg serve` of `tmp_path / "dist"` with `settings` (plan-kg.toml lines) on a free port, once it serves: the
    process, the match of its line saying where (group 1: the port), and what it said until then."""
    config = tmp_path / "plan-kg.toml"
    config.write_text('root = "."\ndist_dir = "dist"\n' + settings, encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "plan_kg", "--config", str(config), "serve", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
    said: list[str] = []
    for line in process.stderr:  # type: ignore[union-attr]
        said.append(line)
        if found := re.search(r"plan-kg serves http://127\.0\.0\.1:(\d+)/", line):
            return process, found, said
    process.wait()
    raise AssertionError("".join(said))


@contextlib.contextmanager
def _serving_a_held_download(tmp_path: Path, settings: str) -> Iterator[tuple[subprocess.Popen, int, socket.socket,
                                                                               list[str]]]:
    """`_serving` the 9 MB dump while a client holds its download unread (`held_download`): the process, its port, that
    connection and what the process said. The block tells the process to stop; once it ends, the connection is
    closed, the process killed if it still runs, and the rest of what it said added."""
    write_dump(tmp_path / "dist", BIG_NQUADS)
    process, found, said = _serving(tmp_path, settings)
    port = int(found.group(1))
    try:
        sock = held_download("127.0.0.1", port)
        try:
            yield process, port, sock, said
        finally:
            sock.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        said += process.stderr.readlines()  # type: ignore[union-attr]


@pytest.mark.parametrize("begun", [False, True])
def test_a_request_cut_off_as_the_server_stops_is_told_503_if_its_answer_had_not_begun(
        begun: bool, caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn cancels what is still in flight once a stopping server's wait (query_timeout_s) is over, and logged it as
    "Exception in ASGI application" with every frame, then sent a 500 if the answer had not begun. `CutOffAtStop`
    says it in one line and sends a 503 saying to come back; an answer begun is left as it is (uvicorn closes the
    connection). A task cancelled while the server is not stopping is cancelled as before. (plan-kg's own time limit
    ends a query before that wait is over, so this is for what else may be pending; Ctrl-C in `plan-kg serve` is
    tested below.)"""
    from plan_kg.server.run import CutOffAtStop

    async def scenario(stopping: bool) -> tuple[list[dict], bool]:
        sent: list[dict] = []
        started = asyncio.Event()

        async def send(message: dict) -> None:  # as uvicorn's: a second start is refused
            if message["type"] == "http.response.start" and any(m["type"] == message["type"] for m in sent):
                raise RuntimeError("Unexpected ASGI message 'http.response.start' sent, after response already started.")
            sent.append(message)

        async def pending(scope: dict, receive: object, send: object) -> None:
            if begun:
                await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
            started.set()
            await asyncio.Event().wait()

        app = CutOffAtStop(pending, stopping=lambda: stopping, wait_s=30)
        task = asyncio.create_task(app({"type": "http", "method": "GET", "path": "/sparql"}, None, send))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return sent, True
        return sent, False

    with caplog.at_level(logging.WARNING, logger="plan_kg"):
        sent, cancelled = asyncio.run(scenario(stopping=True))
    assert not cancelled
    if begun:
        assert [m.get("status") for m in sent] == [200]
    else:
        assert sent[0]["status"] == 503 and (b"retry-after", b"10") in sent[0]["headers"]
        assert sent[1]["body"] == b"the server stopped before this request was answered; send it again once it is back\n"
    assert "cut off GET /sparql: the server stopped, and it waits 30 s (query_timeout_s)" in caplog.text
    sent, cancelled = asyncio.run(scenario(stopping=False))
    assert cancelled and len(sent) == int(begun)


def test_plan_kg_serve_stops_on_ctrl_c_while_a_client_holds_a_download_unread(tmp_path: Path) -> None:
    """uvicorn waited for every connection to close: one client not reading its download kept a Ctrl-C'd server
    running for as long as it stayed connected (minutes). In-flight requests now get query_timeout_s, and what is cut
    off then is said in a line; a request still arriving is answered 503 at once."""
    with _serving_a_held_download(tmp_path, 'query_timeout_s = 2\nsend_timeout_s = 3600\n') as (process, port, sock, said):
        assert sock.recv(12) == b"HTTP/1.1 200"
        arriving = socket.create_connection(("127.0.0.1", port))  # a query whose body is arriving
        arriving.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: 100\r\n\r\nASK")
        time.sleep(0.5)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            arriving.settimeout(30)
            told = arriving.recv(4096)
            told_after_s = time.monotonic() - stopped_at
            process.wait(timeout=60)  # the client would hold it for as long as it stays connected
        finally:
            arriving.close()
    # Stopped, not killed: uvicorn raises the SIGINT again once it has stopped, which click reports ("Aborted!", 1),
    # unless the process started with SIGINT ignored, as a background job of a shell script does (0).
    assert process.returncode in (0, 1), "".join(said)
    assert any("Finished server process" in line for line in said), "".join(said)
    assert any("Cancel 1 running task(s), timeout graceful shutdown exceeded" in line for line in said), "".join(said)
    assert any("Application shutdown complete." in line for line in said), "".join(said)  # its workers stopped
    # The download cut off is said in one line, not as a traceback (uvicorn's "Exception in ASGI application"), nor as
    # uvicorn's error for an answer left unfinished.
    assert any("WARNING:  cut off GET /downloads/plan-kg.nq: the server stopped" in line for line in said), "".join(said)
    assert not any("Traceback" in line or "without completing response" in line for line in said), "".join(said)
    # The query still arriving is told at once (not after query_timeout_s, then cut off with a traceback) to send it
    # again, and that is said in the log as a refusal.
    assert told.startswith(b"HTTP/1.1 503 ") and b"send it again once it is back" in told, told
    assert told_after_s < 1.5, told_after_s
    assert any("refused 503 to 127.0.0.1 (POST /sparql): the server is stopping" in line for line in said), "".join(said)


def test_a_large_answer_gives_up_also_when_its_first_message_cannot_be_sent() -> None:
    """uvicorn waits before every message while the connection's buffer is full, the first one too
    (an earlier answer on the connection, unread): that wait is under send_timeout_s as well, so
    the client's place is given back, not held for as long as it stays connected."""
    from plan_kg.server.responses import SEND_CHUNK_BYTES, SentInChunks

    released: list[bool] = []

    async def stalled_send(message: dict) -> None:
        await asyncio.Event().wait()  # never returns: the buffer never drains

    async def scenario() -> None:
        answer = SentInChunks(b"x" * (SEND_CHUNK_BYTES + 1), media_type="text/csv", headers={},
                              done=lambda: released.append(True), timeout_s=0.2)
        scope = {"type": "http", "method": "GET"}
        await asyncio.wait_for(answer(scope, None, stalled_send), 30)  # type: ignore[arg-type]

    asyncio.run(scenario())
    assert released == [True]


def test_any_origin_is_sent_as_star_even_if_the_cors_layer_echoed_one() -> None:
    """Without Vary: Origin (no answer varies by it), an echoed origin in a shared cache would be
    handed to other sites: older Starlette echoes one sent with a cookie."""
    from plan_kg.server.responses import AllowAnyOrigin

    sent: list[dict] = []

    async def echoing(scope: dict, receive: object, send) -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"access-control-allow-origin", b"https://a.example"), (b"vary", b"Accept, Origin"),
            (b"cache-control", b"public, max-age=300")]})

    async def record(message: dict) -> None:
        sent.append(message)

    asyncio.run(AllowAnyOrigin(echoing)({"type": "http"}, None, record))  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])
    assert headers[b"access-control-allow-origin"] == b"*" and headers[b"vary"] == b"Accept"


def test_csv_quotes_an_iri_with_a_comma(endpoint: str) -> None:
    """SPARQL 1.1 CSV/TSV results §3.2: a field with a comma is quoted. pyoxigraph 0.5 writes such an IRI
    bare, so a CSV reader (pandas, Excel) shifted every column after it; it is written here instead."""
    query = ('SELECT ?iri ?label ?plain WHERE { VALUES (?iri ?label ?plain) { '
             '(<http://example.org/a,b> "x,y" <http://example.org/c>) (<http://example.org/d> UNDEF "日本") } }')
    answer = httpx.get(endpoint, params={"query": query}, headers={"Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    records = list(csv.reader(io.StringIO(answer.content.decode("utf-8"), newline="")))
    assert records == [["iri", "label", "plain"], ["http://example.org/a,b", "x,y", "http://example.org/c"],
                       ["http://example.org/d", "", "日本"]]
    assert answer.content.endswith(b"\r\n") and answer.content.count(b"\r\n") == 3
    # A value longer than the csv module's default field limit (131,072 characters) is answered as it is.
    long_value = httpx.post(endpoint, data={"query": 'SELECT ?v { BIND("' + "a" * 1000 + '" AS ?k) BIND(CONCAT('
                                                   + ", ".join(["?k"] * 300) + ') AS ?v) }'}, headers={"Accept": "text/csv"})
    assert long_value.status_code == 200 and long_value.text == "v\r\n" + "a" * 300_000 + "\r\n"


def test_xml_answers_are_well_formed_whatever_the_literals_hold(endpoint: str) -> None:
    """A CR in a value is written &#13; (a parser reads a bare one as a line end: XML 1.0 2.11), and a
    character XML 1.0 cannot carry (U+0001) is a 406 that names the formats that can, not broken XML."""
    xml_results = {"Accept": "application/sparql-results+xml"}
    answer = httpx.get(endpoint, params={"query": 'SELECT ?a { BIND("x\\r\\ny" AS ?a) }'}, headers=xml_results)
    assert answer.status_code == 200
    assert minidom.parseString(answer.content).getElementsByTagName("literal")[0].firstChild.data == "x\r\ny"
    graph = httpx.get(endpoint, params={"query": 'CONSTRUCT { <http://a/> <http://b/p> ?a } { BIND("x\\ry" AS ?a) }'},
                      headers={"Accept": "application/rdf+xml"})
    assert graph.status_code == 200 and minidom.parseString(graph.content).documentElement is not None
    # A predicate with no name to split off has no RDF/XML form (pyoxigraph wrote `<oxprefix:`): 406.
    unnamed = httpx.get(endpoint, params={"query": "CONSTRUCT { <http://a/> <http://b/> 1 } {}"},
                        headers={"Accept": "application/rdf+xml"})
    assert unnamed.status_code == 406 and "Turtle" in unnamed.text
    for query, accept in (('SELECT ?a { BIND("a\\u0001b" AS ?a) }', xml_results["Accept"]),
                          ('CONSTRUCT { <http://a/> <http://b/p> ?a } { BIND("a\\u0001b" AS ?a) }', "application/rdf+xml")):
        refused = httpx.get(endpoint, params={"query": query}, headers={"Accept": accept})
        assert refused.status_code == 406 and "U+0001" in refused.text and "JSON" in refused.text
        assert httpx.get(endpoint, params={"query": query}, headers={"Accept": "application/json, text/turtle"}).status_code == 200


def test_a_url_too_long_to_parse_is_a_414_that_says_to_post(endpoint: str) -> None:
    """uvicorn's parser cannot take apart a URL over 65,535 bytes: it sent a bare 400, which SPARQLWrapper
    reports as a badly formed query. A 414 is what it is (SPARQLWrapper raises URITooLong)."""
    from SPARQLWrapper import SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import URITooLong

    query = "SELECT ?x { VALUES ?x { " + " ".join(f'"{i}"' for i in range(9000)) + " } } LIMIT 5"
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)  # httpx builds no such URL
    connection.request("GET", f"{address.path}?{urlencode({'query': query})}")
    too_long = connection.getresponse()
    assert too_long.status == 414 and "send the query by POST" in too_long.read().decode()
    assert too_long.getheader("access-control-allow-origin") == "*"
    connection.close()
    client = SPARQLWrapper(endpoint, returnFormat="json")
    client.setQuery(query)
    with pytest.raises(URITooLong):
        client.query()
    client.setMethod("POST")
    assert len(client.queryAndConvert()["results"]["bindings"]) == 5
    # Just under the limit the request is read and answered.
    assert httpx.get(endpoint, params={"query": "ASK {} #" + "x" * 60_000}).status_code == 200
    assert httpx.get(endpoint, params={"query": "ASK {}"}).status_code == 200  # the server is still up


@pytest.mark.parametrize(("accept", "table"), [("text/csv", [["_askResult"], ["{}"]]),
                                                ("text/tab-separated-values", [["?_askResult"], ["{}"]])])
def test_an_ask_in_csv_or_tsv_is_a_table_of_one_cell(endpoint: str, accept: str, table: list[list[str]]) -> None:
    """The CSV/TSV results format defines no boolean. pyoxigraph wrote a bare `true`, which pandas and
    rdflib read as a header without rows (rdflib's bool() of it: False); Jena's one-column table reads right."""
    for query, value in (("ASK { ?s ?p ?o }", "true"), ("ASK { <urn:x:a> <urn:x:b> <urn:x:c> }", "false")):
        answer = httpx.get(endpoint, params={"query": query}, headers={"Accept": accept})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(accept)
        rows = list(csv.reader(io.StringIO(answer.text, newline=""), delimiter="," if accept == "text/csv" else "\t"))
        assert rows == [table[0], [value]], answer.text


def test_a_client_that_took_bytes_just_before_the_time_limit_is_not_cut_off_and_nothing_is_logged_as_an_error() -> None:
    """Found in the audit with clients reading ~600 B/s under send_timeout_s = 3 ("Exception in callback ... look",
    RuntimeError: Cannot change state of expiring Timeout, in the server's log): `send_while_read` looked whether the
    client took bytes four times per limit, the fourth as the limit ran out, and the limit's own timer fired first in
    that turn. A client that took bytes after the third look was cut off though it read, and the look raised."""
    from plan_kg.server.responses import UNREAD, send_while_read

    async def scenario() -> tuple[bool, list[dict]]:
        loop = asyncio.get_running_loop()
        errors: list[dict] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        began = loop.time()

        def unread() -> int:  # the client takes bytes once (faster than the least rate), after the third look
            return 100_000 if loop.time() - began < 0.35 else 50_000

        async def send(message: dict) -> None:  # room once the client has read on (0.6 s)
            await asyncio.sleep(0.6)

        try:
            await send_while_read(send, {"type": "http.response.body", "body": b"x"},  # type: ignore[arg-type]
                                  {"type": "http", "extensions": {UNREAD: unread}}, 0.4)
        except TimeoutError:
            return False, errors
        return True, errors

    sent, errors = asyncio.run(scenario())
    assert errors == [] and sent, errors


class _UnflushedTransport(asyncio.Transport):
    """A transport whose buffer holds an earlier answer the client has not read: closing it loses the connection only
    once that is read (`flushed`), as asyncio's does; what is written meanwhile is sent after it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False
        self.protocol: asyncio.Protocol | None = None

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written += data

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 1 << 20

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def flushed(self) -> None:
        assert self.protocol is not None
        self.protocol.connection_lost(None)


def test_a_request_told_503_as_the_server_stops_gets_no_second_answer_from_the_app() -> None:
    """Found in the audit (plan-kg serve, a pipelined GET of a download with a body still arriving behind an answer
    the client had not read, then Ctrl-C): the request was told 503 and the connection closed, but the app, already
    running and waiting for room to send, sent its own answer after the 503 once the client read on: two answers to
    one request. The request told 503 is now over for the app too (it is told the client went away)."""
    import uvicorn
    from uvicorn.server import ServerState

    from plan_kg.config import Settings
    from plan_kg.server.connection import http_protocol

    async def scenario() -> bytes:
        go = asyncio.Event()

        async def app(scope: dict, receive: object, send: object) -> None:  # answers without reading the body
            await go.wait()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

        config = uvicorn.Config(app, lifespan="off", log_level="warning")
        config.load()
        protocol = http_protocol(Settings())(config, ServerState(), {})
        transport = _UnflushedTransport()
        transport.protocol = protocol
        protocol.connection_made(transport)
        protocol.data_received(b"GET /downloads/plan-kg.nq HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        await asyncio.sleep(0.05)  # the app runs, its body still arriving
        protocol.shutdown()  # Ctrl-C
        assert transport.written.startswith(b"HTTP/1.1 503 ")
        go.set()  # the app answers; the client then reads what was sent
        await asyncio.sleep(0.05)
        transport.flushed()
        await asyncio.sleep(0.05)
        return bytes(transport.written)

    written = asyncio.run(scenario())
    assert written.count(b"HTTP/1.1 ") == 1, written


def test_plan_kg_serve_says_what_it_cut_off_also_when_stopped_with_sigterm(tmp_path: Path) -> None:
    """Found in the audit: uvicorn cancels what is still in flight at the end of its wait and does not wait for it, so
    `CutOffAtStop` ran only in asyncio.run's clean-up after a Ctrl-C (its line after "Finished server process"), and
    never after SIGTERM (what systemd and docker stop send): raised again once the server stopped, it ended the process
    first. No line said what was cut off, and a request whose answer had not begun got no 503."""
    with _serving_a_held_download(tmp_path, 'query_timeout_s = 1\nsend_timeout_s = 3600\n') as (process, _, sock, said):
        assert sock.recv(12) == b"HTTP/1.1 200"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert any("Cancel 1 running task(s), timeout graceful shutdown exceeded" in line for line in said), "".join(said)
    cut_off = [at for at, line in enumerate(said) if "WARNING:  cut off GET /downloads/plan-kg.nq" in line]
    finished = [at for at, line in enumerate(said) if "Finished server process" in line]
    assert cut_off and finished and cut_off[0] < finished[0], "".join(said)
    assert not any("Traceback" in line for line in said), "".join(said)


def test_an_answer_given_up_before_it_began_gets_no_500_and_its_connection_is_closed_at_once() -> None:
    """Found in the audit (plan-kg serve: a download left unread, another request after it on the connection, whose
    answer could not begin): the answer given up before its start was sent got uvicorn's ERROR "ASGI callable returned
    without starting response." and a 500, which waited for the client to read on: the request's task and connection
    were held for as long as the client stayed. Given up now, the connection is closed at once."""
    import uvicorn
    from uvicorn.server import ServerState

    from plan_kg.config import Settings
    from plan_kg.server.connection import http_protocol
    from plan_kg.server.responses import GiveUpUnread

    class Transport(_UnflushedTransport):
        aborted = False

        def abort(self) -> None:
            self.aborted = True
            self.closing = True
            assert self.protocol is not None
            self.protocol.connection_lost(None)

    async def answer(scope: dict, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    async def scenario() -> tuple[Transport, bool]:
        config = uvicorn.Config(GiveUpUnread(answer, timeout_s=0.2), lifespan="off", log_level="warning")
        config.load()
        state = ServerState()
        protocol = http_protocol(Settings())(config, state, {})
        transport = Transport()
        transport.protocol = protocol
        protocol.connection_made(transport)
        protocol.pause_writing()  # an earlier answer on the connection, unread: no room for this one's start
        protocol.data_received(b"GET /downloads/plan-kg.nq HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(1.0)
        pending = [task for task in state.tasks if not task.done()]
        for task in pending:
            task.cancel()
        return transport, bool(pending)

    transport, held = asyncio.run(scenario())
    assert not held and transport.aborted and b"HTTP/1.1 500" not in transport.written, bytes(transport.written)


def test_a_download_given_up_leaves_no_connection_for_a_stopping_server_to_wait_for(tmp_path: Path) -> None:
    """Found in the audit: a download given up was closed gracefully by uvicorn, which waits for what the transport
    holds to be read: the connection (and megabytes of the kernel's send buffer) stayed for as long as the client kept
    it open (20 s and more, measured), and a stopping server waited for it to the end of its wait ("Cancel 0 running
    task(s), timeout graceful shutdown exceeded"). It is closed at once now."""
    with _serving_a_held_download(tmp_path, 'query_timeout_s = 6\nsend_timeout_s = 0.5\n') as (process, _, _, said):
        time.sleep(2.5)  # given up, never read
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    took_s = time.monotonic() - stopped_at
    assert any("gave up sending GET /downloads/plan-kg.nq" in line for line in said), "".join(said)
    assert not any("graceful shutdown exceeded" in line for line in said), "".join(said)
    assert took_s < 5, took_s


def test_a_client_taking_an_answer_a_few_bytes_at_a_time_is_given_up_below_the_least_rate() -> None:
    """A client that took a byte now and then, within every send_timeout_s, kept its answer (for /sparql, the whole of
    it in memory), its connection and its task for as long as it liked (the audit: ~1.2 KB per send_timeout_s did).
    Past send_timeout_s, a wait is given up once the client has taken less than MIN_READ_BYTES_PER_S on average; one
    taking more goes on."""
    from plan_kg.server.responses import MIN_READ_BYTES_PER_S, UNREAD, Unread, send_while_read

    async def scenario(rate: float) -> str | None:
        loop = asyncio.get_running_loop()
        began = loop.time()

        def unread() -> int:  # 10 MB waiting, taken at `rate` bytes a second
            return 10_000_000 - int(rate * (loop.time() - began))

        async def send(message: dict) -> None:  # room after 1.5 s
            await asyncio.sleep(1.5)

        try:
            await send_while_read(send, {"type": "http.response.body", "body": b"x"},  # type: ignore[arg-type]
                                  {"type": "http", "extensions": {UNREAD: unread}}, 0.4)
        except Unread as exc:
            return str(exc)
        return None

    slow = asyncio.run(scenario(MIN_READ_BYTES_PER_S / 4))
    assert slow is not None and f"slower than {MIN_READ_BYTES_PER_S:,} bytes/s" in slow, slow
    assert asyncio.run(scenario(MIN_READ_BYTES_PER_S * 4)) is None


@pytest.mark.parametrize("least", [8_192, 0])
def test_plan_kg_gives_up_a_download_a_client_trickles(least: int, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The real server, a client reading 1 KB every quarter of a second (4 KB/s) of a 9 MB download: given up
    within seconds, not in forty minutes, and said in the log; with send_min_bytes_per_s = 0, still served."""
    dump = BIG_NQUADS
    # The client's kernel says it took bytes every ~1.5 s (6 KB at a time, with this receive buffer): a limit of 3 s
    # is not reached by taking none, but by taking too little.
    settings = sample_settings(tmp_path, send_timeout_s=3.0, send_min_bytes_per_s=least)
    write_dump(settings.dist_dir, dump)
    with caplog.at_level(logging.WARNING, logger="plan_kg"), live_server(settings) as url:
        target = httpx.URL(url)
        sock = held_download(target.host, target.port)
        sock.settimeout(30)
        began, received = time.monotonic(), 0
        try:
            while time.monotonic() - began < (40 if least else 10) and (chunk := sock.recv(1024)):
                received += len(chunk)
                time.sleep(0.25)
        except ConnectionResetError:  # given up: the connection is aborted
            pass
        finally:
            sock.close()
        took_s = time.monotonic() - began
    if not least:
        assert took_s >= 10 and "gave up" not in caplog.text, (took_s, caplog.text)
        return
    assert took_s < 30 and received < len(dump) // 2, (took_s, received)
    assert ("gave up sending GET /downloads/plan-kg.nq: the client read it at" in caplog.text
            and "slower than 8,192 bytes/s (send_min_bytes_per_s)" in caplog.text), caplog.text
