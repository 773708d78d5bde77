"""The endpoint over a real `plan-kg build`: its graphs, the named queries, and the mounted web pages."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pyoxigraph
import pytest

from plan_kg.config import Settings
from server_fixtures import live_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("plan_kg.build") is None, reason="plan_kg.build not there yet"),
]

SD_NAME = "http://www.w3.org/ns/sparql-service-description#name"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from plan_kg.build import build

    tmp = tmp_path_factory.mktemp("build")
    settings = replace(Settings.load(), dist_dir=tmp / "dist")
    build(settings, out_dir=settings.dist_dir)
    return settings


@pytest.fixture(scope="module")
def endpoint(built: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(built, store_dir=tmp_path_factory.mktemp("store")) as url:
        yield url


def test_the_service_description_lists_the_built_graphs(endpoint: str, built: Settings) -> None:
    description = httpx.get(endpoint, headers={"Accept": "application/n-triples"})
    triples = pyoxigraph.parse(description.content, format=pyoxigraph.RdfFormat.N_TRIPLES)
    names = {t.object.value for t in triples if t.predicate.value == SD_NAME}
    plan = f"{built.base_iri}graph/132292/basic-plan-3"
    assert {plan, plan + "/inferred", f"{built.base_iri}graph/ontology"} <= names


def test_every_named_query_runs(endpoint: str, built: Settings) -> None:
    from plan_kg.named_queries import load_named_queries

    queries = load_named_queries(built)
    assert queries
    for query in queries:
        response = httpx.get(endpoint, params={"query": query.text}, timeout=60)
        assert response.status_code == 200, (query.name, response.text)


def test_the_web_pages_are_mounted_beside_the_endpoint(endpoint: str) -> None:
    if importlib.util.find_spec("plan_kg.web") is None:
        pytest.skip("plan_kg.web not there yet")
    home = httpx.get(endpoint.removesuffix("/sparql") + "/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
