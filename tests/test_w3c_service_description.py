"""The W3C SPARQL 1.1 Service Description tests (returns RDF, sd:endpoint, conforms to the schema)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pyoxigraph
import pytest
from rdflib import Graph, Namespace
from rdflib.collection import Collection

from plan_kg.config import Settings
from server_fixtures import PLAN_GRAPH, live_server, sample_settings

MANIFEST = Settings().shared_dir / "reference" / "w3c-sparql11" / "service-description" / "manifest.ttl"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

pytestmark = pytest.mark.skipif(not MANIFEST.is_file(), reason="W3C test suite extract not present")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(sample_settings(tmp_path_factory.mktemp("sd"))) as url:
        yield url


def test_the_manifest_has_the_three_cases() -> None:
    manifest = Graph().parse(MANIFEST)
    root = next(manifest.subjects(MF.entries, None))
    names = [str(e).rsplit("#", 1)[1] for e in Collection(manifest, manifest.value(root, MF.entries))]
    assert sorted(names) == ["conforms-to-schema", "has-endpoint-triple", "returns-rdf"]


def describe(endpoint: str, accept: str | None = None) -> list[pyoxigraph.Triple]:
    response = httpx.get(endpoint, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    fmt = pyoxigraph.RdfFormat.from_media_type(response.headers["content-type"].split(";")[0])
    assert fmt is not None
    return list(pyoxigraph.parse(response.content, format=fmt, base_iri=endpoint))


@pytest.mark.parametrize("accept", [None, "text/turtle", "application/rdf+xml", "application/n-triples", "application/ld+json"])
def test_returns_rdf(endpoint: str, accept: str | None) -> None:
    assert describe(endpoint, accept)


def test_has_endpoint_triple(endpoint: str) -> None:
    triples = describe(endpoint)
    services = {t.subject for t in triples if t.predicate.value == RDF_TYPE and t.object.value == SD + "Service"}
    assert any(t.subject in services and t.predicate.value == SD + "endpoint" and t.object.value == endpoint for t in triples)


def test_conforms_to_schema(endpoint: str) -> None:
    triples = describe(endpoint)
    by_predicate: dict[str, list[pyoxigraph.Triple]] = {}
    for t in triples:
        by_predicate.setdefault(t.predicate.value, []).append(t)
    assert {t.object.value for t in by_predicate[SD + "supportedLanguage"]} == {SD + "SPARQL11Query"}
    assert all(isinstance(t.object, pyoxigraph.NamedNode) for t in by_predicate[SD + "resultFormat"])
    (dataset,) = [t.object for t in by_predicate[SD + "defaultDataset"]]
    assert any(t.subject == dataset and t.object.value == SD + "Dataset" for t in by_predicate[RDF_TYPE])
    named = {t.object for t in by_predicate[SD + "namedGraph"] if t.subject == dataset}
    assert PLAN_GRAPH in {t.object.value for t in by_predicate[SD + "name"] if t.subject in named}
