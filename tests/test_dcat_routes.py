"""/catalog, /catalog.{ttl,jsonld,rdf,nt} and /.well-known/void: exact types, negotiation, the built bytes."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.dcat.routes import routes
from plan_kg.dcat.docs import STYLESHEET_PATH
from plan_kg.web.security import SECURITY_HEADERS


@pytest.fixture(scope="module")
def client(built: BuildResult) -> TestClient:
    return TestClient(Starlette(routes=routes(Settings.load(dist_dir=built.out_dir), SECURITY_HEADERS)))


@pytest.mark.parametrize(("suffix", "media_type"), [
    ("ttl", "text/turtle"), ("jsonld", "application/ld+json"), ("rdf", "application/rdf+xml"),
    ("nt", "application/n-triples"),
])
def test_each_catalog_file_has_its_exact_type(client: TestClient, built: BuildResult, suffix: str, media_type: str) -> None:
    response = client.get(f"/catalog.{suffix}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.content == (built.out_dir / f"catalog.{suffix}").read_bytes()


@pytest.mark.parametrize(("accept", "suffix"), [
    (None, "ttl"), ("*/*", "ttl"), ("text/turtle", "ttl"), ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdf"), ("application/ld+json;q=0.5, application/rdf+xml", "rdf"),
    ("text/html;q=0.1, application/ld+json", "jsonld"), ("application/n-triples", "nt"),
    ("application/n-triples, text/turtle;q=0.5", "nt"),
])
def test_catalog_is_negotiated(client: TestClient, built: BuildResult, accept: str | None, suffix: str) -> None:
    response = client.get("/catalog", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept"
    assert response.headers["content-location"] == f"/catalog.{suffix}"
    assert response.content == (built.out_dir / f"catalog.{suffix}").read_bytes()


def test_unacceptable_and_unknown(client: TestClient) -> None:
    refused = client.get("/catalog", headers={"Accept": "image/png"})
    assert refused.status_code == 406 and refused.text.startswith("The catalog is offered as text/turtle")
    assert client.get("/catalog.xlsx").status_code == 404


@pytest.mark.parametrize("path", ["/catalog", "/.well-known/void"])
@pytest.mark.parametrize(("accept", "reason"), [
    ("text/turtle;q=abc", "The Accept header's weight 'q=abc'"),
    (", ".join(["text/turtle"] * 33), "The Accept header lists more than 32 media ranges"),
])
def test_an_accept_header_that_cannot_be_read_is_told_so(client: TestClient, path: str, accept: str, reason: str) -> None:
    """It was told only what is offered, though it may list Turtle (found by an audit; /id/ pages say so too)."""
    refused = client.get(path, headers={"Accept": accept})
    assert refused.status_code == 406
    assert refused.text.startswith(reason), refused.text
    assert " is offered as text/turtle" in refused.text


def test_void_is_turtle(client: TestClient, built: BuildResult) -> None:
    response = client.get("/.well-known/void")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/turtle"
    assert response.content == (built.out_dir / "void.ttl").read_bytes()


@pytest.mark.parametrize(("accept", "suffix", "media_type"), [
    ("text/turtle", "ttl", "text/turtle"), ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/rdf+xml", "rdf", "application/rdf+xml"), ("application/n-triples", "nt", "application/n-triples"),
    ("application/ld+json;q=0.5, application/n-triples", "nt", "application/n-triples"),
])
def test_void_is_negotiated(client: TestClient, built: BuildResult, accept: str, suffix: str, media_type: str) -> None:
    """Its IRIs (the dataset, its linksets) are under the base: offered as every other one is. It was Turtle to all."""
    from rdflib import Graph
    from rdflib.compare import isomorphic

    response = client.get("/.well-known/void", headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["vary"] == "Accept"
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.content == (built.out_dir / f"void.{suffix}").read_bytes()
    # The same file among the downloads, in this format and the others (it named none: there is no /void.ttl).
    assert response.headers["content-location"] == f"/downloads/void.{suffix}"
    assert f'</downloads/void.{suffix}>; rel="alternate"; type="{media_type}"' in response.headers["link"]
    parsed = Graph().parse(data=response.content, format={"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml", "nt": "nt"}[suffix])
    assert isomorphic(parsed, Graph().parse(built.out_dir / "void.ttl", format="turtle"))
    browser = client.get("/.well-known/void", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/"
    assert client.get("/.well-known/void", headers={"Accept": "image/png"}).status_code == 406


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


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html;q=1, application/ld+json;q=0.1", "text/html"])
def test_people_asking_for_the_catalog_are_sent_to_the_home_page(client: TestClient, accept: str) -> None:
    """The catalog has no HTML of its own (it was a 406 to a browser): the home page tells of the dataset
    and lists every file the catalog lists."""
    response = client.get("/catalog", headers={"Accept": accept}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert response.headers["vary"] == "Accept"


@pytest.fixture(scope="module")
def site(built: BuildResult) -> TestClient:
    from plan_kg import web

    store = ox.Store()
    store.bulk_load(path=built.out_dir / "plan-kg.nq", format=ox.RdfFormat.N_QUADS)
    return TestClient(Starlette(routes=web.routes(Settings.load(dist_dir=built.out_dir), store)))


def test_the_catalogs_publisher_dereferences_to_the_catalog(site: TestClient, built: BuildResult) -> None:
    """Every IRI under /id/ dereferences (Cool URIs): the catalog's publisher, which only the catalog
    describes, was the one 404 of a crawl of 3,915 links."""
    publisher = "https://w3id.org/plan-kg/id/agent/plan-kg"
    assert f"<{publisher}>" in (built.out_dir / "catalog.ttl").read_text(encoding="utf-8")
    for accept, location in [("text/turtle", "/catalog.ttl"), ("application/ld+json", "/catalog.jsonld"),
                             ("application/rdf+xml", "/catalog.rdf"), (BROWSER_ACCEPT, "/"), (None, "/catalog.ttl"),
                             ("application/n-triples", "/catalog.nt")]:
        response = site.get("/id/agent/plan-kg", headers={"Accept": accept} if accept else {}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == location, accept
        assert response.headers["vary"] == "Accept"
    # Like every other IRI under the base, it is offered in N-Triples too (above; it was a 406, unlike its neighbours).
    assert f"<{publisher}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://xmlns.com/foaf/0.1/Agent> ." in (
        built.out_dir / "catalog.nt").read_text(encoding="utf-8")
    assert site.get("/id/agent/plan-kg", headers={"Accept": "image/png"}).status_code == 406
    # Its documents, linked as every resource's are (`….ttl`; the static export writes them), were a 404 here.
    for suffix, location in [("ttl", "/catalog.ttl"), ("jsonld", "/catalog.jsonld"), ("rdf", "/catalog.rdf"),
                             ("nt", "/catalog.nt"), ("html", "/")]:
        response = site.get(f"/id/agent/plan-kg.{suffix}", headers={"Accept": "image/png"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == location, suffix
    assert site.get("/id/agent/nobody", headers={"Accept": "text/turtle"}).status_code == 404
    # The SDG agents are in the data: their own documents, as before.
    curation = site.get("/id/agent/sdg-curation", headers={"Accept": "text/turtle"}, follow_redirects=False)
    assert curation.status_code == 303 and curation.headers["location"] == "/id/agent/sdg-curation.ttl"


def test_the_shapes_namespace_dereferences(site: TestClient, built: BuildResult) -> None:
    """`https://w3id.org/plan-kg/shapes#…` names every shape (and validation reports cite them): a 303 to
    their Turtle, or for people to their documentation."""
    assert "<https://w3id.org/plan-kg/shapes#>" in (built.out_dir / "shapes.ttl").read_text(encoding="utf-8")
    turtle = site.get("/shapes", headers={"Accept": "text/turtle"}, follow_redirects=False)
    assert turtle.status_code == 303 and turtle.headers["location"] == "/downloads/shapes.ttl"
    assert site.get(turtle.headers["location"]).text == (built.out_dir / "shapes.ttl").read_text(encoding="utf-8")
    if (built.out_dir / "ontology.html").is_file():  # pyLODE is optional
        page = site.get("/shapes", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
        assert page.headers["location"] == "/downloads/ontology.html#shapes"
        assert 'id="shapes"' in site.get("/downloads/ontology.html").text


@pytest.mark.parametrize("path", ["/catalog.ttl", "/catalog.jsonld", "/.well-known/void"])
def test_catalog_documents_carry_a_strong_etag(client: TestClient, path: str) -> None:
    """A harvester polls the catalog: a conditional GET is a 304 while it is the same build (RFC 9110 13.1.2)."""
    first = client.get(path)
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith('"') and "max-age=" in first.headers["cache-control"]
    assert client.get(path, headers={"If-None-Match": tag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    failed = client.get(path, headers={"If-Match": '"other"'})
    assert failed.status_code == 412 and failed.headers["cache-control"] == "no-store"  # not for a shared cache
    assert first.headers["x-content-type-options"] == "nosniff"
    negotiated = client.get("/catalog", headers={"Accept": "application/ld+json", "If-None-Match": tag})
    assert negotiated.status_code == (304 if path == "/catalog.jsonld" else 200)


def test_each_plans_void_statistics_are_those_of_its_dump(built: BuildResult) -> None:
    """void:triples of a plan's subset is the number of triples in its void:dataDump (it counted the
    cross-city links about the plan's elements too, which live in another graph: 1,479 against 1,230)."""
    from rdflib import Graph, Namespace

    void = Namespace("http://rdfs.org/ns/void#")
    description = Graph().parse(built.out_dir / "void.ttl")
    plans = 0
    for subset, dump in description.subject_objects(void.dataDump):
        path = str(dump).split("/downloads/", 1)[1]
        if not path.startswith("plans/"):
            continue
        plans += 1
        triples = int(description.value(subset, void.triples))
        assert triples == len(Graph().parse(built.out_dir / path)), path
    assert plans == len(list((built.out_dir / "plans").glob("*.ttl")))


@pytest.mark.parametrize(("path", "accept", "status"), [
    ("/catalog.ttl", None, 200), ("/catalog.rdf", None, 200), ("/catalog", "application/ld+json", 200),
    ("/catalog", "text/html", 303), ("/catalog", "image/png", 406), ("/catalog.xyz", None, 404),
    ("/.well-known/void", None, 200), (STYLESHEET_PATH, None, 200),
])
def test_every_catalog_answer_has_the_sites_security_headers(client: TestClient, path: str, accept: str | None,
                                                             status: int) -> None:
    # RDF/XML is an XML document a browser may render: under the site's policy nothing in it may run or load.
    response = client.get(path, headers={"Accept": accept} if accept else {}, follow_redirects=False)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name


def test_a_catalog_304_keeps_the_security_headers(client: TestClient) -> None:
    tag = client.get("/catalog.ttl").headers["etag"]
    unchanged = client.get("/catalog.ttl", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]


@pytest.mark.parametrize(("path", "said"), [
    ("/catalog.xyz", "No catalog.xyz; try .ttl, .jsonld, .rdf, .nt\n"),
    # A control character of the path is said percent-encoded: not a line of its own, not a NUL in the answer.
    ("/catalog.ttl%0A", "No catalog.ttl%0A; try .ttl, .jsonld, .rdf, .nt\n"),
    ("/catalog.ttl%00x%0D", "No catalog.ttl%00x%0D; try .ttl, .jsonld, .rdf, .nt\n"),
])
def test_a_catalog_format_there_is_not_is_said_on_one_line(client: TestClient, path: str, said: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.headers["content-type"], response.text) == (
        404, "text/plain; charset=utf-8", said)
