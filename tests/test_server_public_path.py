"""Behind a reverse proxy at the path of `public_base_iri` (`https://data.example.jp/nishitokyo/`): the real
server on loopback, reached as a proxy that keeps the prefix reaches it (`/nishitokyo/id/…`) and as one that
strips it does (`/id/…`). Every path it sends carries the prefix, so each one resolves inside the mount."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from SPARQLWrapper import GET, JSON, POST, SPARQLWrapper
from starlette.applications import Starlette

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.server import create_app
from server_fixtures import live_app

PUBLIC = "https://data.example.jp/nishitokyo/"
ROOT = "/nishitokyo"
MEASURE = "/id/132292/basic-plan-3/1-3-2"
BASE = "https://w3id.org/plan-kg/"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_ATTRIBUTE = re.compile(r'\b(href|src|action|data-endpoint)="([^"]*)"')


@dataclass(frozen=True)
class Served:
    origin: str  # http://127.0.0.1:{port}, what the proxy forwards to
    app: Starlette


@pytest.fixture(scope="module")
def served(built: BuildResult) -> Iterator[Served]:
    app = create_app(Settings.load(dist_dir=built.out_dir, public_base_iri=PUBLIC))
    with live_app(app) as url:
        yield Served(url.removesuffix("/sparql"), app)


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.origin, headers={"Accept": BROWSER_ACCEPT}, timeout=30) as http:
        yield http


@pytest.mark.parametrize("path", ["/", f"{MEASURE}.html", f"{MEASURE}.ttl", "/ontology.html", "/graph/ontology.html",
                                  "/assets/site/style.css", "/downloads/ontology.ttl", "/catalog.ttl"])
def test_each_path_answers_the_same_with_the_prefix_and_without(client: httpx.Client, path: str) -> None:
    kept, stripped = client.get(ROOT + path), client.get(path)
    assert kept.status_code == stripped.status_code == 200
    assert kept.content == stripped.content


def test_only_the_prefix_itself_and_paths_below_it_are_the_site(client: httpx.Client) -> None:
    assert client.get(ROOT).status_code == 200  # the home page, as /nishitokyo/
    assert client.get(f"{ROOT}-old{MEASURE}.html").status_code == 404
    # A %2F under the prefix is still no separator: the 404 names the IRI as sent.
    encoded = client.get(f"{ROOT}/id/132292%2Fbasic-plan-3")
    assert encoded.status_code == 404 and f"{BASE}id/132292%2Fbasic-plan-3" in encoded.text


def test_the_endpoint_answers_with_the_prefix_and_without(served: Served) -> None:
    answers = {}
    for prefix, method in itertools.product((ROOT, ""), (GET, POST)):
        sparql = SPARQLWrapper(f"{served.origin}{prefix}/sparql")
        sparql.setQuery(f"SELECT ?label {{ <{BASE}{MEASURE[1:]}> <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }}")
        sparql.setReturnFormat(JSON)
        sparql.setMethod(method)
        answers[prefix, method] = sparql.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert answers[ROOT, GET] and all(rows == answers[ROOT, GET] for rows in answers.values())


def test_a_plain_get_under_the_prefix_takes_the_direct_path(served: Served, client: httpx.Client) -> None:
    endpoint = served.app.state.sparql_endpoint
    before = endpoint.direct_answers
    answer = client.get(f"{ROOT}/sparql", params={"query": "ASK { ?s ?p ?o }"},
                        headers={"Accept": "application/sparql-results+json"})
    assert answer.json()["boolean"] is True
    assert endpoint.direct_answers == before + 1


@pytest.mark.parametrize("prefix", [ROOT, ""])
def test_redirects_and_links_in_headers_carry_the_prefix(client: httpx.Client, prefix: str) -> None:
    see_other = client.get(prefix + MEASURE, headers={"Accept": "text/turtle"})
    assert see_other.status_code == 303
    assert see_other.headers["location"] == f"{ROOT}{MEASURE}.ttl"
    links = re.findall(r"<([^>]*)>", see_other.headers["link"])
    assert links and all(link.startswith(f"{ROOT}{MEASURE}.") for link in links)
    assert re.findall(r"<([^>]*)>", client.get(f"{prefix}{MEASURE}.html").headers["link"]) == links
    redirects = {
        "/sparql": f"{ROOT}/#query",  # a browser asking for the endpoint gets the query editor
        "/id/": f"{ROOT}/",
        "/graph/": f"{ROOT}/",
        "/downloads/": f"{ROOT}/#downloads",
        "/catalog": f"{ROOT}/",
        "/id/agent/plan-kg": f"{ROOT}/",
        "/shapes": f"{ROOT}/downloads/ontology.html#shapes",
        "/ontology/sdg": f"{ROOT}/ontology.html",
    }
    for path, location in redirects.items():
        response = client.get(prefix + path)
        assert (response.status_code, response.headers.get("location")) == (303, location), path
    catalog = client.get(f"{prefix}/catalog", headers={"Accept": "text/turtle"})
    assert catalog.headers["content-location"] == f"{ROOT}/catalog.ttl"
    assert all(link.startswith(f"{ROOT}/catalog.") for link in re.findall(r"<([^>]*)>", catalog.headers["link"]))


def _site_links(page: str) -> list[tuple[str, str]]:
    """Each attribute of `page` that names a path on this host (root-absolute), as (attribute, path)."""
    found = [(name, html.unescape(value)) for name, value in _ATTRIBUTE.findall(page)]
    return [(name, value) for name, value in found if value.startswith("/") and not value.startswith("//")]


@pytest.mark.parametrize("page", ["/", f"{MEASURE}.html", "/ontology.html", "/id/132292/basic-plan-3/9-9-9",
                                  "/sparql?format=html&query=SELECT+*+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+3",
                                  "/sparql?format=html&query=SELEC"])
def test_every_link_on_a_page_stays_under_the_prefix_and_leads_somewhere(client: httpx.Client, page: str) -> None:
    response = client.get(ROOT + page)
    assert response.status_code in (200, 400, 404)  # a result, a query's refusal, an IRI nothing is said about
    links = _site_links(response.text)
    assert len(links) >= 5
    outside = [value for _, value in links if not value.startswith(ROOT + "/")]
    assert not outside, outside
    if page == "/":  # the stylesheet, the query editor and the plain query form
        assert {("data-endpoint", f"{ROOT}/sparql"), ("action", f"{ROOT}/sparql"),
                ("src", f"{ROOT}/assets/yasgui/yasgui.min.js")} <= set(links)
        # The address a researcher copies into SPARQLWrapper: the public one, not a path on this host.
        assert f'<code class="endpoint">{PUBLIC}sparql</code>' in response.text
    broken = {}
    for value in sorted({value.partition("#")[0] for _, value in links}):
        if (status := client.get(value).status_code) == 404 or status >= 500:
            broken[value] = status
    assert not broken, broken


@pytest.mark.parametrize("path", ["/id", "/graph", "/downloads", "/catalog/", "/sparql/?query=ASK%7B%7D"])
@pytest.mark.parametrize("prefix", [ROOT, ""])
def test_a_path_without_its_trailing_slash_is_redirected_within_the_prefix(
        client: httpx.Client, served: Served, path: str, prefix: str) -> None:
    """Starlette redirects /id to /id/ (and /sparql/ to /sparql) from the path the routes see, which has no
    prefix: behind the proxy that led to https://data.example.jp/id/, outside the mount."""
    for headers in ({"Host": "data.example.jp"}, {}):
        answer = client.get(prefix + path, headers=headers, follow_redirects=False)
        assert 300 <= answer.status_code < 400, (path, answer.status_code)
        location = httpx.URL(answer.headers["location"])
        assert location.path.startswith(ROOT + "/"), (path, str(location))
        assert location.host in ("", "data.example.jp", "127.0.0.1")
        # Where it leads, as the proxy forwards it (keeping the prefix), answers.
        assert client.get(location.raw_path.decode(), follow_redirects=True).status_code == 200
