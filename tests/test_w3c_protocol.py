"""The W3C SPARQL 1.1 Protocol test manifest, run against the real server on loopback.

Query tests must pass as written. This endpoint is read-only, so every update test must be
refused with a 4xx and a reason, and leave the data as it was; bad requests get a 4xx with
a plain-text reason. The manifest's graphs (`ut:graphData`) are preloaded as named graphs
named by their `rdfs:label`, never fetched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pyoxigraph
import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection

from plan_kg.config import Settings
from server_fixtures import live_server, write_dump

SUITE = Settings().shared_dir / "reference" / "w3c-sparql11" / "protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")

BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"application/rdf+xml", "text/turtle", "application/n-triples"}
ALL_QUADS = "SELECT ?g ?s ?p ?o { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"

pytestmark = pytest.mark.skipif(not SUITE.is_dir(), reason="W3C test suite extract not present")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: frozenset[str]  # hts:StatusCode2xx, ...
    expected_boolean: bool | None
    expected_format: str | None


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    title: str
    graphs: dict[str, Path]  # graph IRI -> data file
    requests: tuple[HttpRequest, ...]


def load_manifest() -> list[ProtocolTest]:
    manifest = Graph().parse(SUITE / "manifest.ttl", publicID=(SUITE / "manifest.ttl").as_uri())
    root = next(manifest.subjects(MF.entries, None))
    tests = []
    for entry in Collection(manifest, manifest.value(root, MF.entries)):
        graphs = {
            str(manifest.value(data, RDFS.label)): Path(urlsplit(str(manifest.value(data, UT.graph))).path)
            for data in manifest.objects(entry, UT.graphData)
        }
        action = manifest.value(entry, MF.action)
        requests = tuple(_request(manifest, node) for node in Collection(manifest, manifest.value(action, HT.requests)))
        tests.append(ProtocolTest(str(entry).rsplit("#", 1)[1], str(manifest.value(entry, MF.name)), graphs, requests))
    return tests


def _request(manifest: Graph, node: URIRef) -> HttpRequest:
    headers = {}
    header_list = manifest.value(node, HT.headers)
    if header_list is not None:
        for header in Collection(manifest, header_list):
            headers[str(manifest.value(header, HT.fieldName))] = str(manifest.value(header, HT.fieldValue))
    body = None
    if (body_node := manifest.value(node, HT.body)) is not None:
        encoding = str(manifest.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(manifest.value(body_node, CNT.chars)).encode(encoding)
    response = manifest.value(node, HT.resp)
    boolean = manifest.value(response, MF.expectedBoolean)
    fmt = manifest.value(response, MF.expectedFormat)
    return HttpRequest(
        method=str(manifest.value(node, HT.methodName)),
        path=str(manifest.value(node, HT.absolutePath)),
        headers=headers,
        body=body,
        statuses=frozenset(str(s).rsplit("#", 1)[1] for s in manifest.objects(response, MF.expectedStatus)),
        expected_boolean=None if boolean is None else bool(boolean.toPython()),
        expected_format=None if fmt is None else str(fmt),
    )


TESTS = load_manifest() if SUITE.is_dir() else []
UPDATE_TESTS = [t for t in TESTS if "update" in t.name]  # update_*, bad_update_*, bad_multiple_updates
BAD_QUERY_TESTS = [t for t in TESTS if t.name.startswith("bad_") and t not in UPDATE_TESTS]
QUERY_TESTS = [t for t in TESTS if t not in UPDATE_TESTS and t not in BAD_QUERY_TESTS]


def test_the_manifest_has_every_case() -> None:
    assert (len(QUERY_TESTS), len(BAD_QUERY_TESTS), len(UPDATE_TESTS)) == (13, 7, 14)
    assert len(TESTS) == 34


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    graphs: dict[str, Path] = {}
    for test in TESTS:
        for iri, path in test.graphs.items():
            assert graphs.setdefault(iri, path) == path  # one data file per graph name across the suite
    lines = []
    for iri, path in sorted(graphs.items()):
        for triple in pyoxigraph.parse(path=str(SUITE / path.name), format=pyoxigraph.RdfFormat.N_TRIPLES):
            lines.append(f"{triple.subject} {triple.predicate} {triple.object} <{iri}> .")
    tmp = tmp_path_factory.mktemp("w3c-protocol")
    write_dump(tmp / "dist", "\n".join(lines) + "\n")
    with live_server(Settings(root=tmp, dist_dir=tmp / "dist")) as url:
        yield url


def send(endpoint: str, request: HttpRequest) -> httpx.Response:
    assert request.path.startswith("/sparql/")
    url = endpoint + request.path.removeprefix("/sparql/")  # "/sparql/?query=…" -> "<endpoint>?query=…"
    return httpx.request(request.method, url, headers=request.headers, content=request.body, timeout=30)


def snapshot(endpoint: str) -> bytes:
    response = httpx.get(endpoint, params={"query": ALL_QUADS}, headers={"Accept": "text/tab-separated-values"})
    assert response.status_code == 200
    return b"\n".join(sorted(response.content.splitlines()))


def read_boolean(response: httpx.Response) -> bool:
    media_type = response.headers["content-type"].split(";")[0]
    fmt = pyoxigraph.QueryResultsFormat.from_media_type(media_type)
    result = pyoxigraph.parse_query_results(response.content, fmt)
    assert isinstance(result, pyoxigraph.QueryBoolean)
    return bool(result)


@pytest.mark.parametrize("test", QUERY_TESTS, ids=lambda t: t.name)
def test_query(endpoint: str, test: ProtocolTest) -> None:
    for request in test.requests:
        response = send(endpoint, request)
        assert "StatusCode2xx" in request.statuses
        assert 200 <= response.status_code < 400, response.text
        media_type = response.headers["content-type"].split(";")[0]
        expected_types = {"boolean": BOOLEAN_TYPES, "tabular": TABULAR_TYPES, "RDF": RDF_TYPES}[request.expected_format]
        assert media_type in expected_types
        if request.expected_boolean is not None:
            assert read_boolean(response) is request.expected_boolean
        if request.expected_format == "RDF":
            list(pyoxigraph.parse(response.content, format=pyoxigraph.RdfFormat.from_media_type(media_type)))


@pytest.mark.parametrize("test", BAD_QUERY_TESTS, ids=lambda t: t.name)
def test_bad_query_request(endpoint: str, test: ProtocolTest) -> None:
    (request,) = test.requests
    assert request.statuses == {"StatusCode4xx"}
    response = send(endpoint, request)
    assert 400 <= response.status_code < 500
    assert_reason(response)


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=lambda t: t.name)
def test_update_is_refused_and_changes_nothing(endpoint: str, test: ProtocolTest) -> None:
    before = snapshot(endpoint)
    update, *checks = test.requests
    response = send(endpoint, update)
    assert 400 <= response.status_code < 500
    assert_reason(response)
    for check in checks:  # the follow-up queries still run (their expected answers assume the update)
        assert 200 <= send(endpoint, check).status_code < 300
    assert snapshot(endpoint) == before


def assert_reason(response: httpx.Response) -> None:
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in ("text/plain", "application/json")
    if media_type == "application/json":
        json.loads(response.content)
    assert len(response.text.strip()) > 10
