"""/catalog, /catalog.{ttl,jsonld,rdf} and /.well-known/void: exact types, negotiation, the built bytes."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.dcat import routes


@pytest.fixture(scope="module")
def client(built: BuildResult) -> TestClient:
    return TestClient(Starlette(routes=routes(Settings.load(dist_dir=built.out_dir))))


@pytest.mark.parametrize(("suffix", "media_type"), [
    ("ttl", "text/turtle"), ("jsonld", "application/ld+json"), ("rdf", "application/rdf+xml"),
])
def test_each_catalog_file_has_its_exact_type(client: TestClient, built: BuildResult, suffix: str, media_type: str) -> None:
    response = client.get(f"/catalog.{suffix}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.content == (built.out_dir / f"catalog.{suffix}").read_bytes()


@pytest.mark.parametrize(("accept", "suffix"), [
    (None, "ttl"), ("*/*", "ttl"), ("text/turtle", "ttl"), ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdf"), ("application/ld+json;q=0.5, application/rdf+xml", "rdf"),
    ("text/html;q=1, application/ld+json;q=0.1", "jsonld"),
])
def test_catalog_is_negotiated(client: TestClient, built: BuildResult, accept: str | None, suffix: str) -> None:
    response = client.get("/catalog", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept"
    assert response.headers["content-location"] == f"/catalog.{suffix}"
    assert response.content == (built.out_dir / f"catalog.{suffix}").read_bytes()


def test_unacceptable_and_unknown(client: TestClient) -> None:
    assert client.get("/catalog", headers={"Accept": "image/png"}).status_code == 406
    assert client.get("/catalog.xlsx").status_code == 404


def test_void_is_turtle(client: TestClient, built: BuildResult) -> None:
    response = client.get("/.well-known/void")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/turtle"
    assert response.content == (built.out_dir / "void.ttl").read_bytes()


def test_nothing_built_is_a_clear_404(tmp_path) -> None:
    client = TestClient(Starlette(routes=routes(Settings.load(dist_dir=tmp_path))))
    response = client.get("/catalog.ttl")
    assert response.status_code == 404 and "plan-kg build" in response.text


def test_the_ontology_docs_stylesheet_is_served(client: TestClient, built: BuildResult) -> None:
    from plan_kg.dcat.docs import STYLESHEET_PATH, pylode_available

    if not pylode_available():
        pytest.skip("pyLODE is not installed")
    response = client.get(STYLESHEET_PATH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert f'href="{STYLESHEET_PATH}"' in (built.out_dir / "ontology.html").read_text(encoding="utf-8")
