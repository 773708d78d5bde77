"""Real SPARQL clients (SPARQLWrapper; urllib, as pandas opens a URL) against the live server: every result format, GET and POST."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote

import pyoxigraph
import pytest
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, GET, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from plan_kg import formats
from server_fixtures import PLAN_GRAPH, live_server, sample_settings

SELECT = f"SELECT ?s ?o {{ GRAPH <{PLAN_GRAPH}> {{ ?s <http://purl.org/dc/terms/isPartOf> ?o }} }} ORDER BY ?s"
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{PLAN_GRAPH}> {{ ?s ?p ?o }} }}"
PARTS = 3  # isPartOf statements in the sample


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(sample_settings(tmp_path_factory.mktemp("clients"))) as url:
        yield url


def client(endpoint: str, query: str, fmt: str, method: str) -> SPARQLWrapper:
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    sparql.setMethod(method)
    return sparql


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_select_in_every_results_format(endpoint: str, fmt: str, method: str) -> None:
    result = client(endpoint, SELECT, fmt, method).query()
    body = result.response.read()
    media_type = result.response.headers["Content-Type"].split(";")[0]
    expected = formats.by_name({JSON: "json", XML: "xml", CSV: "csv", TSV: "tsv"}[fmt])
    assert media_type == expected.media_type
    results_format = pyoxigraph.QueryResultsFormat.from_extension(expected.extension)
    if fmt == CSV:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))[1:]
    else:
        rows = list(pyoxigraph.parse_query_results(body, results_format))
    assert len(rows) == PARTS


@pytest.mark.parametrize("method", [GET, POST])
def test_select_converted_by_the_client(endpoint: str, method: str) -> None:
    bindings = client(endpoint, SELECT, JSON, method).queryAndConvert()["results"]["bindings"]
    assert [b["s"]["value"].rsplit("/", 1)[1] for b in bindings] == ["1", "1-1", "1-2"]


@pytest.mark.parametrize("method", [GET, POST])
def test_ask(endpoint: str, method: str) -> None:
    assert client(endpoint, "ASK { ?s ?p ?o }", JSON, method).queryAndConvert()["boolean"] is True
    xml = client(endpoint, "ASK { <urn:x:none> ?p ?o }", XML, method).query().response.read()
    assert bool(pyoxigraph.parse_query_results(xml, pyoxigraph.QueryResultsFormat.XML)) is False


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize(
    ("fmt", "rdf_format"),
    [
        (TURTLE, pyoxigraph.RdfFormat.TURTLE),
        (N3, pyoxigraph.RdfFormat.TURTLE),
        (XML, pyoxigraph.RdfFormat.RDF_XML),
        (RDFXML, pyoxigraph.RdfFormat.RDF_XML),
        (JSONLD, pyoxigraph.RdfFormat.JSON_LD),
    ],
)
def test_construct_in_every_rdf_format(endpoint: str, fmt: str, rdf_format: pyoxigraph.RdfFormat, method: str) -> None:
    result = client(endpoint, CONSTRUCT, fmt, method).query()
    body = result.response.read()
    assert result.response.headers["Content-Type"].split(";")[0] == rdf_format.media_type
    assert len(list(pyoxigraph.parse(body, format=rdf_format))) == 5
    if fmt == JSONLD:
        json.loads(body)


@pytest.mark.parametrize("method", [GET, POST])
def test_describe_converts_to_an_rdflib_graph(endpoint: str, method: str) -> None:
    graph = client(endpoint, "DESCRIBE <https://w3id.org/plan-kg/id/132292>", XML, method).queryAndConvert()
    assert len(graph) == 1


def test_a_bad_query_is_reported_to_the_client(endpoint: str) -> None:
    with pytest.raises(QueryBadFormed):
        client(endpoint, "SELECT * { ?s ?p", JSON, GET).query()


@pytest.mark.parametrize(
    ("query", "value"),
    [
        pytest.param(SELECT, "application/sparql-results+json", id="select-json"),
        pytest.param(SELECT, "application/sparql-results+xml", id="select-xml"),
        pytest.param(CONSTRUCT, "application/rdf+xml", id="construct-rdfxml"),
        pytest.param(CONSTRUCT, "application/ld+json", id="construct-jsonld"),
    ],
)
def test_a_format_in_a_url_written_by_hand(endpoint: str, query: str, value: str) -> None:
    """A URL as Virtuoso's documentation and tutorials write it, `format=` with the media type's `+` left as it
    is (a space, once the query string is decoded), opened by urllib, as pandas.read_csv or a browser opens one."""
    with urllib.request.urlopen(f"{endpoint}?query={quote(query)}&format={value}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].split(";")[0] == value
