"""Behind a reverse proxy at the path of `public_base_iri` (`https://data.example.jp/nishitokyo/`): the real
server on loopback, reached as a proxy that keeps the prefix reaches it (`/nishitokyo/id/…`) and as one that
strips it does (`/id/…`), then through a real nginx set up both ways. Every path it sends carries the prefix,
so each one resolves inside the mount."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import rdflib
from SPARQLWrapper import GET, JSON, POST, SPARQLWrapper
from starlette.applications import Starlette

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.server import create_app
from loopback import free_port, nginx
from server_fixtures import RUNAWAY_QUERY, live_app, live_server, sample_settings

PUBLIC = "https://data.example.jp/nishitokyo/"
ROOT = "/nishitokyo"
MEASURE = "/id/132292/basic-plan-3/1-3-2"
BASE = "https://w3id.org/plan-kg/"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_ATTRIBUTE = re.compile(r'\b(href|src|action|data-endpoint)="([^"]*)"')
#: A page of each kind: the home page, a resource's, the ontology's, an IRI nothing is said about (404), a query's
#: answer and a query's refusal (400).
PAGES = {"/": 200, f"{MEASURE}.html": 200, "/ontology.html": 200, "/id/132292/basic-plan-3/9-9-9": 404,
         "/sparql?format=html&query=SELECT+*+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+3": 200,
         "/sparql?format=html&query=SELEC": 400}
#: What a site operator writes beside `proxy_pass` in nginx: Debian's proxy_params, with the Host of most guides
#: ($host, which has no port, where proxy_params has $http_host).
FORWARDED = ("proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; "
             "proxy_set_header X-Forwarded-Proto $scheme;")
#: How nginx forwards /nishitokyo/ to the server ({origin}, http://127.0.0.1:{port}), by name: keeping the prefix,
#: stripping it, and stripping it with nginx's defaults (no header set: Host is the address nginx forwards to, which
#: its `proxy_redirect default` turns back into /nishitokyo/ in a Location).
NGINX_LOCATIONS = {"kept": "proxy_pass {origin}; " + FORWARDED, "stripped": "proxy_pass {origin}/; " + FORWARDED,
                   "stripped, nginx's defaults": "proxy_pass {origin}/;"}


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
    # The prefix spelled another way: the rest of the path keeps its spelling (a %2F was a separator then, and
    # served the plan), and the IRI is named as sent; and a path that only decodes to one under the prefix is answered.
    for prefix in (ROOT, "/nishitok%79o", "/%6Eishitokyo"):
        for rest, iri in (("/id/132292%2Fbasic-plan-3", "id/132292%2Fbasic-plan-3"),
                          ("/id/132292%2F%E3%81%AA", "id/132292%2F%E3%81%AA")):
            missing = client.get(prefix + rest)
            assert missing.status_code == 404 and f"{BASE}{iri}</" in missing.text, prefix + rest
    # The prefix then an encoded slash: the first segment is `nishitokyo/id`, no path of the site (it served the plan).
    assert client.get(f"{ROOT}%2Fid/132292/basic-plan-3").status_code == 404


def test_a_long_path_as_sent_is_read_for_the_prefix_only_as_far_as_the_prefix_can_reach(monkeypatch) -> None:
    """The prefix spelled another way is looked for where the path as sent has a slash: each such place was decoded
    from the start, so one URL of 65,535 bytes, /nishitokyo%2F then `%2F/` again and again (no slash ends the
    prefix there), kept the server process busy for 21 s. No spelling of the prefix is longer than each of its
    bytes percent-encoded."""
    from plan_kg.server import public_path

    decoded: list[str] = []
    real_unquote = public_path.unquote
    monkeypatch.setattr(public_path, "unquote", lambda text: decoded.append(text) or real_unquote(text))
    seen: list[dict] = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001 - an ASGI app that keeps the scope it is given
        seen.append(scope)

    middleware = public_path.PublicPath(app, prefix=ROOT)
    for raw in (b"/nishitokyo%2F" + b"%2F/" * 16_000, b"/nishitok%79o" + b"/a%2Fb" * 10_000):
        path = real_unquote(raw.decode("ascii"))
        asyncio.run(middleware({"type": "http", "path": path, "raw_path": raw, "headers": []}, None, None))
    assert seen[0]["raw_path"].startswith(b"/nishitokyo%2F")  # no slash ends the prefix as sent: not the site's path
    assert seen[1]["raw_path"] == b"/a%2Fb" * 10_000  # the prefix taken off the path as sent, the rest as sent
    assert sum(map(len, decoded)) < 1_000  # a few of its first bytes, where 16,000 decodings of up to 65 kB were


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


@pytest.mark.parametrize("page", list(PAGES))
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
    prefix: behind the proxy that led to https://data.example.jp/id/, outside the mount. It is sent as a path
    alone, which no Host or scheme the proxy sends can lead elsewhere (the nginx tests below)."""
    for headers in ({"Host": "data.example.jp"}, {}):
        answer = client.get(prefix + path, headers=headers, follow_redirects=False)
        assert 300 <= answer.status_code < 400, (path, answer.status_code)
        location = httpx.URL(answer.headers["location"])
        assert location.path.startswith(ROOT + "/"), (path, str(location))
        assert not location.scheme and not location.host, str(location)
        # Where it leads, as the proxy forwards it (keeping the prefix), answers.
        assert client.get(location.raw_path.decode(), follow_redirects=True).status_code == 200


@dataclass(frozen=True)
class Proxied:
    site: str  # http://127.0.0.1:{port}/nishitokyo: the site through nginx
    http: httpx.Client  # a browser's Accept, following redirects


@pytest.fixture(scope="module")
def proxies(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One nginx in front of `served`, a port for each of NGINX_LOCATIONS: the site's URL through it, by name."""
    ports = {name: free_port() for name in NGINX_LOCATIONS}
    with nginx(tmp_path_factory.mktemp("nginx"), {
            ports[name]: f"location {ROOT}/ {{ {text.format(origin=served.origin)} }}"
            for name, text in NGINX_LOCATIONS.items()}):
        yield {name: f"http://127.0.0.1:{port}{ROOT}" for name, port in ports.items()}


@pytest.fixture(scope="module", params=list(NGINX_LOCATIONS))
def proxied(proxies: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Proxied]:
    site = proxies[request.param]
    with httpx.Client(headers={"Accept": BROWSER_ACCEPT}, timeout=30, follow_redirects=True) as http:
        yield Proxied(site, http)


def test_through_nginx_sparqlwrapper_gets_rows_by_get_and_post(proxied: Proxied) -> None:
    parent = f"<{BASE}id/132292/basic-plan-3/1-3>"
    queries = {  # a lookup the server answers itself, and a query a worker runs
        "lookup": f"SELECT ?label {{ <{BASE}{MEASURE[1:]}> <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }}",
        "worker": ("SELECT ?code { ?measure <https://w3id.org/plan-kg/ontology#parent> " + parent
                   + " ; <https://w3id.org/plan-kg/ontology#code> ?code } ORDER BY ?code"),
    }
    for (name, query), method in itertools.product(queries.items(), (GET, POST)):
        sparql = SPARQLWrapper(f"{proxied.site}/sparql")
        sparql.setQuery(query)
        sparql.setReturnFormat(JSON)
        sparql.setMethod(method)
        rows = sparql.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
        if name == "lookup":
            assert len(rows) == 1 and rows[0]["label"]["value"], (method, rows)
        else:
            assert [row["code"]["value"] for row in rows] == ["1-3-1", "1-3-2", "1-3-3"], (method, rows)


def test_through_nginx_a_resource_iri_leads_to_its_page_within_the_prefix(proxied: Proxied) -> None:
    for accept, media_type, extension in ((BROWSER_ACCEPT, "text/html", "html"), ("text/turtle", "text/turtle", "ttl")):
        see_other = proxied.http.get(proxied.site + MEASURE, headers={"Accept": accept}, follow_redirects=False)
        assert see_other.status_code == 303
        assert see_other.headers["location"] == f"{ROOT}{MEASURE}.{extension}"
        assert all(link.startswith(f"{ROOT}{MEASURE}.") for link in re.findall(r"<([^>]*)>", see_other.headers["link"]))
        document = proxied.http.get(proxied.site + MEASURE, headers={"Accept": accept})
        assert (document.status_code, document.url) == (200, f"{proxied.site}{MEASURE}.{extension}")
        assert document.headers["content-type"].startswith(media_type)
        assert f"{BASE}{MEASURE[1:]}" in document.text


@pytest.mark.parametrize(("path", "leads_to"), [("", "/"), ("/id", "/id/"), ("/graph", "/graph/"),
                                                ("/downloads", "/downloads/"), ("/catalog/", "/catalog"),
                                                ("/sparql/?query=ASK%7B%7D", "/sparql?query=ASK%7B%7D")])
def test_through_nginx_a_path_without_its_trailing_slash_is_redirected_within_the_prefix(
        proxied: Proxied, path: str, leads_to: str) -> None:
    """The first is nginx's own redirect (/nishitokyo to /nishitokyo/), the others Starlette's, built from the Host
    the proxy sends: nginx's $host has no port, its default Host is the server's own address (a Location to which
    `proxy_redirect default` maps to /nishitokyo/). Each must lead under the prefix on the port the client used."""
    first = proxied.http.get(proxied.site + path, follow_redirects=False)
    assert 300 <= first.status_code < 400, (path, first.status_code)
    assert str(first.url.join(first.headers["location"])) == proxied.site + leads_to
    assert proxied.http.get(proxied.site + path).status_code == 200


def test_through_nginx_every_link_on_each_kind_of_page_stays_under_the_prefix_and_answers(proxied: Proxied) -> None:
    links = set()
    for page, status in PAGES.items():
        response = proxied.http.get(proxied.site + page)
        assert response.status_code == status, page
        links |= {value for _, value in _site_links(response.text)}
    outside = sorted(value for value in links if not value.startswith(ROOT + "/"))
    assert not outside, outside
    origin = proxied.site.removesuffix(ROOT)
    broken = {}
    for value in sorted({value.partition("#")[0] for value in links}):
        answer = proxied.http.get(origin + value)
        hops = [hop.url.path for hop in (*answer.history, answer)]
        if answer.status_code != 200 or not all(hop.startswith(ROOT + "/") for hop in hops):
            broken[value] = (answer.status_code, hops)
    assert not broken, broken


def test_through_nginx_the_service_description_names_the_public_endpoint(proxied: Proxied) -> None:
    description = proxied.http.get(f"{proxied.site}/sparql", headers={"Accept": "text/turtle"})
    assert description.status_code == 200
    graph = rdflib.Graph().parse(data=description.text, format="turtle")
    endpoints = set(graph.objects(None, rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#endpoint")))
    assert endpoints == {rdflib.URIRef(PUBLIC + "sparql")}


def test_through_nginx_a_client_is_its_own_address_only_when_the_proxy_is_trusted(tmp_path: Path) -> None:
    """With trusted_proxies = ["127.0.0.1"], nginx's X-Forwarded-For names each client to the per-client limit,
    and a client cannot pass for another by sending one itself (nginx appends the address it sees, which is not
    trusted). Through an nginx the server does not trust (here bound to 127.0.0.9) every client is that one.
    The clients come from other loopback addresses, as clients beyond the proxy would."""
    settings = sample_settings(tmp_path, public_base_iri=PUBLIC, trusted_proxies=("127.0.0.1",), query_workers=3,
                               max_concurrent_per_client=1, query_timeout_s=3, response_cache_bytes=0,
                               query_memory_bytes=0)  # the runaways must run until the time limit
    trusted, untrusted = free_port(), free_port()
    with live_server(settings) as url, contextlib.ExitStack() as stack:
        upstream = url.removesuffix("/sparql")
        stack.enter_context(nginx(tmp_path / "nginx", {
            trusted: f"location {ROOT}/ {{ proxy_pass {upstream}; {FORWARDED} }}",
            untrusted: f"location {ROOT}/ {{ proxy_pass {upstream}; proxy_bind 127.0.0.9; {FORWARDED} }}"}))
        first, second = (stack.enter_context(httpx.Client(transport=httpx.HTTPTransport(local_address=address),
                                                          timeout=60)) for address in ("127.0.0.2", "127.0.0.3"))
        through = {proxy: f"http://127.0.0.1:{port}{ROOT}/sparql" for proxy, port in
                   (("trusted", trusted), ("untrusted", untrusted))}
        ask = {"query": "ASK {}"}
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            # 127.0.0.2 holds its one place as itself, and the place of everyone behind the untrusted nginx.
            runaways = [pool.submit(first.get, through[proxy], params={"query": RUNAWAY_QUERY})
                        for proxy in ("trusted", "untrusted")]
            time.sleep(1)  # let them start; they then run until stopped at 3 s
            posing = first.get(through["trusted"], params=ask, headers={"X-Forwarded-For": "127.0.0.3"})
            other = second.get(through["trusted"], params=ask)
            unknown = second.get(through["untrusted"], params=ask)
            assert [runaway.result().status_code for runaway in runaways] == [503, 503]
        assert posing.status_code == 429, posing.text
        assert other.status_code == 200, other.text
        assert unknown.status_code == 429, unknown.text
