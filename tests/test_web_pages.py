"""plan_kg.web: dereferencing IRIs (303 to documents), pages, ontology, downloads, security headers."""

from __future__ import annotations

import asyncio
import gzip
import html as html_
import importlib.util
import json
import logging
import os
import subprocess
import sys
import re
import threading
import time
from dataclasses import replace
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic
from starlette.applications import Starlette
from starlette.testclient import TestClient

from plan_kg.config import Settings
from plan_kg.web import SECURITY_HEADERS, compress, pages, routes
from plan_kg.web.compress import gzip_file
from plan_kg.web.describe import Describer
from plan_kg.web.kept import KeptDocuments
from plan_kg.web.pages import Site

FIXTURE = Path(__file__).parent / "fixtures" / "web-sample.trig"
BASE = "https://w3id.org/plan-kg/"
PKG = "https://w3id.org/plan-kg/ontology#"
MEASURE = "/id/132292/basic-plan-3/1-3-2"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def sample_store() -> ox.Store:
    store = ox.Store()
    store.load(path=str(FIXTURE), format=ox.RdfFormat.TRIG)
    return store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    dist = tmp_path / "dist"
    (dist / "plans").mkdir(parents=True)
    (dist / "plan-kg.nq").write_text("", encoding="utf-8")
    (dist / "plans" / "132292-basic-plan-3.ttl").write_text("# turtle\n", encoding="utf-8")
    (dist / "notes.txt").write_text("not a dataset format\n", encoding="utf-8")
    return replace(Settings(), dist_dir=dist)


@pytest.fixture
def store() -> ox.Store:
    return sample_store()


@pytest.fixture
def client(settings: Settings, store: ox.Store) -> TestClient:
    return TestClient(Starlette(routes=routes(settings, store)), follow_redirects=False)


@pytest.mark.parametrize(
    ("accept", "suffix"),
    [
        (BROWSER_ACCEPT, "html"),
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "rdf"),
        ("application/x-json+ld", "jsonld"),  # JSON-LD's name before it was registered (SPARQLWrapper)
        ("text/xml", "rdf"),  # either XML media type: RDF/XML, as for a CONSTRUCT
        ("text/turtle;q=0.5, application/ld+json", "jsonld"),
        ("*/*", "html"),
        (None, "html"),
    ],
)
def test_an_iri_answers_303_to_the_document_the_client_prefers(client: TestClient, accept: str | None, suffix: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get(MEASURE, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == f"{MEASURE}.{suffix}"
    assert response.headers["vary"] == "Accept"
    assert f'<{MEASURE}.ttl>; rel="alternate"; type="text/turtle"' in response.headers["link"]


def test_an_unacceptable_type_gets_406_naming_what_is_offered(client: TestClient) -> None:
    response = client.get(MEASURE, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


@pytest.mark.parametrize("accept", ["text/html;q=abc", ", ".join(["text/html"] * 33)])
def test_an_accept_header_that_cannot_be_read_gets_406_saying_so(client: TestClient, accept: str) -> None:
    """It was told "Not available in the type you asked for" (it asked for text/html, which is offered)."""
    response = client.get(MEASURE, headers={"Accept": accept})
    assert response.status_code == 406
    assert re.match(r"The Accept header('s weight 'q=abc'| lists more than 32 media ranges)",
                    response.text) and "text/turtle" in response.text
    assert "Not available in the type you asked for" not in response.text


@pytest.mark.parametrize(
    ("suffix", "format_", "media_type"),
    [
        ("ttl", ox.RdfFormat.TURTLE, "text/turtle"),
        ("jsonld", ox.RdfFormat.JSON_LD, "application/ld+json"),
        ("nt", ox.RdfFormat.N_TRIPLES, "application/n-triples"),
        ("rdf", ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    ],
)
def test_each_document_holds_the_statements_about_the_resource(
    client: TestClient, store: ox.Store, suffix: str, format_: ox.RdfFormat, media_type: str
) -> None:
    response = client.get(f"{MEASURE}.{suffix}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "rel=\"alternate\"" in response.headers["link"]
    got = {quad.triple for quad in ox.parse(response.content, format=format_)}
    subject = ox.NamedNode(BASE + MEASURE.lstrip("/"))
    expected = {q.triple for q in store.quads_for_pattern(subject, None, None, None)}
    assert got == expected


def test_the_page_shows_label_code_level_breadcrumbs_children_and_links_out(client: TestClient) -> None:
    response = client.get(f"{MEASURE}.html")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ja">' in html
    assert "持続可能な行財政運営" in html and ">1-3-2<" in html
    assert "基本施策" in html and "Measure" in html  # level in both languages
    crumbs = html[html.index('class="breadcrumbs"'):html.index("</nav>", html.index('class="breadcrumbs"'))]
    assert crumbs.index("西東京市") < crumbs.index("基本計画") < crumbs.index("みんなでつくるまち") < crumbs.index("1-3<")
    # children in source order (pkg:sequence), not in the order of the data
    assert html.index("行財政改革の推進") < html.index("行政課題に対応しうる人材の確保と育成")
    assert 'href="http://metadata.un.org/sdg/16.6"' in html and "有効で説明責任" in html
    links_out = html[html.index('class="links-out"'):html.index('class="data"')]
    assert 'href="/id/132101/basic-plan-5/5-2-1"' in links_out and "八王子市" in links_out  # whose plan it is
    for suffix in ("ttl", "jsonld", "nt"):
        assert f'href="{MEASURE}.{suffix}"' in html


def test_values_are_listed_by_code_as_people_count() -> None:
    store = ox.Store()
    whole, has_part = ox.NamedNode("http://example.org/plan"), ox.NamedNode("http://purl.org/dc/terms/hasPart")
    for code in ("1-3-10", "1-3-2-1", "1-3-2", "1-10", "1-3"):
        item = ox.NamedNode(f"http://example.org/{code}")
        store.add(ox.Quad(item, ox.NamedNode("https://w3id.org/plan-kg/ontology#code"), ox.Literal(code)))
        store.add(ox.Quad(whole, has_part, item))
    (row,) = Describer(store, BASE).statements(q.triple for q in store.quads_for_pattern(whole, None, None, None))
    assert [v.code for v in row.values] == ["1-3", "1-3-2", "1-3-2-1", "1-3-10", "1-10"]


def test_codes_with_letters_and_iris_without_codes_are_listed_as_people_count() -> None:
    """Nerima's strategic plans S7 … S11 read S10, S11, S7 …; SDG goals 10, 2, 3 and targets 10.2, 16.b, 4.7."""
    store = ox.Store()
    whole, has_part = ox.NamedNode("http://example.org/plan"), ox.NamedNode("http://purl.org/dc/terms/hasPart")
    for code in ("S10", "S11", "S7", "S9", "S8"):
        item = ox.NamedNode(f"http://example.org/{code}")
        store.add(ox.Quad(item, ox.NamedNode("https://w3id.org/plan-kg/ontology#code"), ox.Literal(code)))
        store.add(ox.Quad(whole, has_part, item))
    goal = ox.NamedNode("https://w3id.org/plan-kg/ontology#contributesToGoal")
    for number in ("10", "2", "3", "16.b", "4.7"):
        store.add(ox.Quad(whole, goal, ox.NamedNode(f"http://metadata.un.org/sdg/{number}")))
    rows = Describer(store, BASE).statements(q.triple for q in store.quads_for_pattern(whole, None, None, None))
    by_predicate = {row.predicate.iri: row.values for row in rows}
    assert [v.code for v in by_predicate[has_part.value]] == ["S7", "S8", "S9", "S10", "S11"]
    assert [v.iri.rpartition("/")[2] for v in by_predicate[goal.value]] == ["2", "3", "4.7", "10", "16.b"]


def test_a_planned_measure_without_a_name_says_so(client: TestClient) -> None:
    html = client.get("/id/132292/basic-plan-3/1-3-3.html").text
    assert "名称未定" in html and "no name yet" in html
    assert "新設予定" in html  # pkg:Planned, by its label


def test_the_title_names_a_resource_by_code_and_label_and_one_without_a_label_by_its_code_once(
    client: TestClient,
) -> None:
    assert "<title>1-3-3 — plan-kg</title>" in client.get("/id/132292/basic-plan-3/1-3-3.html").text
    assert "<title>1-3-2 持続可能な行財政運営 — plan-kg</title>" in client.get(f"{MEASURE}.html").text


def test_the_plan_lists_its_basic_goals_and_the_city_its_plans(client: TestClient) -> None:
    assert 'href="/id/132292/basic-plan-3/1"' in client.get("/id/132292/basic-plan-3.html").text
    assert 'href="/id/132292/basic-plan-3"' in client.get("/id/132292.html").text


def test_every_response_carries_a_strict_content_security_policy(client: TestClient) -> None:
    for path in (MEASURE, f"{MEASURE}.html", f"{MEASURE}.ttl", "/id/132292/nothing", "/ontology.html", "/downloads/plan-kg.nq"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert csp == SECURITY_HEADERS["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_the_query_editor_page_allows_only_the_result_tables_own_style(client: TestClient) -> None:
    directives = dict(
        part.strip().split(" ", 1) for part in client.get("/").headers["content-security-policy"].split(";")
    )
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["style-src-elem"].startswith("'self' 'sha256-")  # one fixed <style> of YASR's table
    assert "unsafe" not in str(directives)


def _directives(policy: str) -> dict[str, str]:
    """A Content-Security-Policy as {directive: its value} (`sandbox` alone: "")."""
    return {name: value for name, _, value in (part.strip().partition(" ") for part in policy.split(";"))}


def test_charts_get_an_image_documents_policy_and_other_downloads_the_sites(settings: Settings,
                                                                             client: TestClient) -> None:
    """A chart opened on its own is a document styled inline (matplotlib's SVG, Chromium's page for a PNG):
    inline style allowed, nothing fetched but data: images, nothing run, in a sandbox. So on every answer
    about it, 304 included (a cache takes its headers for the stored chart's). Other downloads, a
    missing chart and the pages keep the site's policy."""
    svg = settings.dist_dir / "sdg-coverage-by-city.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><style>text{fill:red}</style>'
                   + '<text style="font-size:10px">1</text>' * 500 + "</svg>", encoding="utf-8")
    (settings.dist_dir / "plans" / "132292-basic-plan-3-sdg-coverage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (settings.dist_dir / "ontology.html").write_text("<!DOCTYPE html><title>pyLODE</title>", encoding="utf-8")
    answers = []
    for path in ("/downloads/sdg-coverage-by-city.svg", "/downloads/plans/132292-basic-plan-3-sdg-coverage.png"):
        for encoding in ("gzip", "identity"):
            first = client.get(path, headers={"Accept-Encoding": encoding})
            answers += [first, client.head(path, headers={"Accept-Encoding": encoding}),
                        client.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["etag"]}),
                        client.get(path, headers={"Accept-Encoding": encoding, "If-Match": '"other"'})]
        answers.append(client.get(path, headers={"Range": "bytes=0-9"}))
    assert [a.status_code for a in answers] == [200, 200, 304, 412] * 2 + [206] + [200, 200, 304, 412] * 2 + [206]
    assert answers[0].headers["content-encoding"] == "gzip"
    for answer in answers:
        directives = _directives(answer.headers["content-security-policy"])
        assert directives["default-src"] == "'none'" and directives["style-src"] == "'unsafe-inline'", answer.url
        assert directives["img-src"] == "data:" and "sandbox" in directives, answer.url
        assert "script-src" not in directives and "allow-scripts" not in directives["sandbox"], answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == SECURITY_HEADERS["Referrer-Policy"]
    for path in ("/downloads/plan-kg.nq", "/downloads/plans/132292-basic-plan-3.ttl", "/downloads/ontology.html",
                 "/downloads/missing.svg", "/downloads/", "/", f"{MEASURE}.html"):
        policy = client.get(path).headers["content-security-policy"]
        assert "'self'" in _directives(policy)["style-src"] and "unsafe-inline" not in policy, path


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    for path in ("/", f"{MEASURE}.html", "/ontology.html", "/id/132292/nothing"):
        html = client.get(path).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html and " onclick=" not in html


def test_literals_and_iris_are_escaped(settings: Settings, store: ox.Store) -> None:
    attack = "<script>alert(1)</script>"
    measure = ox.NamedNode(BASE + MEASURE.lstrip("/"))
    store.add(ox.Quad(measure, ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel"), ox.Literal(attack, language="ja")))
    store.add(ox.Quad(measure, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"), ox.NamedNode("http://example.org/?a=1&b='onmouseover'")))
    client = TestClient(Starlette(routes=routes(settings, store)))
    html = client.get(f"{MEASURE}.html").text
    assert attack not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "'onmouseover'" not in html and "?a=1&amp;b=&#39;onmouseover&#39;" in html


def test_an_unknown_iri_gets_a_helpful_404(client: TestClient) -> None:
    response = client.get("/id/132292/basic-plan-3/1-3-9", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert "https://w3id.org/plan-kg/id/132292/basic-plan-3/1-3-9" in response.text
    assert 'href="/id/132292/basic-plan-3/1-3"' in response.text  # the nearest resource above it
    turtle = client.get("/id/132292/basic-plan-3/1-3-9.ttl")
    assert turtle.status_code == 404 and turtle.headers["content-type"].startswith("text/plain")
    # Asked for RDF by Accept, not by suffix: not an HTML page either.
    asked = client.get("/id/132292/basic-plan-3/1-3-9", headers={"Accept": "text/turtle"})
    assert asked.status_code == 404 and asked.headers["content-type"].startswith("text/plain")
    # The Accept chose between the two: a shared cache must not hand one to the other (RFC 9110 12.5.5).
    assert response.headers["vary"] == asked.headers["vary"] == "Accept"
    assert "vary" not in turtle.headers  # the suffix chose
    for path in ("/graph/nope", "/ontology/nope"):
        assert client.get(path, headers={"Accept": "text/turtle"}).headers["vary"] == "Accept", path


@pytest.fixture
def site(settings: Settings, store: ox.Store, tmp_path: Path) -> TestClient:
    """The server's whole app over the sample, its answer to a path no route has too; no lifespan: no query workers."""
    from plan_kg.server import create_app

    store.dump(settings.dist_dir / "plan-kg.nq", ox.RdfFormat.N_QUADS)
    return TestClient(create_app(settings, store_dir=tmp_path / "store"), follow_redirects=False)


#: A control character as sent (percent-encoded), and as the IRI a 404 names has it: percent-encoded (as a path that
#: is not a valid IRI in other ways), NUL and ESC too (a NUL was said as it is).
CONTROLS = [("%0a", "%0A"), ("%0A", "%0A"), ("%0d", "%0D"), ("%09", "%09"), ("%00", "%00"), ("%1b", "%1B")]


@pytest.mark.parametrize(("sent", "named"), CONTROLS)
def test_a_control_character_in_an_iris_path_is_a_miss_like_any_other(site: TestClient, sent: str, named: str) -> None:
    # Starlette's `.*` stops at a newline (no route: the site's HTML page), and request.url.path drops a tab, CR or LF
    # (urllib's urlsplit), which served the measure's own document: a document asked for by suffix gets plain text.
    for suffix in (".ttl", ".nt", ".jsonld"):
        missed = site.get(f"{MEASURE}{sent}{suffix}")
        assert missed.status_code == 404 and missed.headers["content-type"].startswith("text/plain"), suffix
        assert missed.text.startswith(f"This dataset says nothing about <{BASE}{MEASURE[1:]}{named}>. ")
        assert missed.text == site.get(f"/id/nonexistent{suffix}").text.replace(
            f"{BASE}id/nonexistent", f"{BASE}{MEASURE[1:]}{named}")
        assert "vary" not in missed.headers  # the suffix chose, as for any document
        for name, value in SECURITY_HEADERS.items():
            assert missed.headers[name] == value, (suffix, name)
    for path, headers in ((f"{MEASURE}{sent}.html", {}), (f"{MEASURE}{sent}", {"Accept": BROWSER_ACCEPT}),
                          (f"/graph/132292{sent}.html", {}), (f"/ontology/sdg{sent}", {})):
        page = site.get(path, headers=headers)  # an HTML page, as now, naming the IRI
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert html_.escape(f"{BASE}{path[1:].removesuffix('.html').replace(sent, named)}") in page.text, path
        assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"], path
    for path in (f"/graph/132292{sent}.ttl", f"/ontology/sdg{sent}.nt", f"{MEASURE}{sent}/x.jsonld"):
        missed = site.get(path)
        assert missed.status_code == 404 and missed.headers["content-type"].startswith("text/plain"), path


@pytest.mark.parametrize("sent", ["%0a", "%0d", "%09"])
def test_a_control_character_at_the_end_of_a_path_names_no_other_resource(site: TestClient, sent: str) -> None:
    # Starlette's `$` matches before a newline at the end, and request.url.path dropped a tab, CR or LF: each of these
    # was answered as the path without it (the document, the download, robots.txt, the endpoint's description).
    for path in (f"{MEASURE}.ttl", MEASURE, "/robots.txt", "/downloads/plan-kg.nq", "/ontology.ttl", "/shapes",
                 "/", "/sparql", "/assets/site/style.css", "/queries/counts-per-level.rq"):
        for accept in (BROWSER_ACCEPT, "text/turtle"):
            missed = site.get(path + sent, headers={"Accept": accept})
            assert missed.status_code == 404, (path, accept, missed.status_code)
            assert missed.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"], path
    plain = site.get(f"/robots.txt{sent}", headers={"Accept": "text/turtle"})  # no route: it names the path sent
    assert plain.text.startswith(f"No such path on this server: /robots.txt{sent.upper()}. ")


#: A path segment: any text but a dot-segment, which the client resolves away (RFC 3986 5.2.4: `/id/../0.ttl` is sent
#: as `/0.ttl`, a path under neither prefix).
_ANY_SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                       max_size=12).filter(lambda segment: segment not in (".", ".."))


@settings_(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(_ANY_SEGMENT, min_size=1, max_size=3), suffix=st.sampled_from([".ttl", ".nt", ".jsonld"]))
def test_any_path_with_a_documents_suffix_gets_that_document_or_a_plain_404(
    site: TestClient, segments: list[str], suffix: str
) -> None:
    for prefix in ("/id/", "/graph/"):
        path = prefix + "/".join(quote(s, safe="") for s in segments) + suffix
        response = site.get(path, headers={"Accept": BROWSER_ACCEPT})  # the suffix chooses, not the Accept
        assert response.status_code in (200, 303, 404), (path, response.status_code)
        if response.status_code == 404:
            assert response.headers["content-type"].startswith("text/plain"), path


def test_a_configured_base_iri_is_served_at_the_same_paths(store: ox.Store) -> None:
    moved = ox.Store()
    for quad in store:
        def rebase(term):  # noqa: ANN001, ANN202 - test helper
            if isinstance(term, ox.NamedNode) and term.value.startswith(BASE + "id/"):
                return ox.NamedNode("http://example.org/kg/" + term.value[len(BASE):])
            return term
        moved.add(ox.Quad(rebase(quad.subject), quad.predicate, rebase(quad.object), quad.graph_name))
    client = TestClient(Starlette(routes=routes(Settings(base_iri="http://example.org/kg/"), moved)))
    response = client.get(f"{MEASURE}.ttl")
    assert response.status_code == 200 and "http://example.org/kg/id/132292/basic-plan-3/1-3-2" in response.text


def test_a_graph_page_lists_its_subjects_and_a_large_graphs_links_to_a_query_for_all_of_them(
    client: TestClient, store: ox.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = BASE + "graph/132292/basic-plan-3"
    subjects = {q.subject.value for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
                if isinstance(q.subject, ox.NamedNode)}
    listed = client.get("/graph/132292/basic-plan-3.html").text
    assert f"Subjects ({len(subjects)})" in listed and "All of them, by a query" not in listed
    monkeypatch.setattr(pages, "GRAPH_PAGE_SUBJECTS", 1)
    first = client.get("/graph/132292/basic-plan-3/inferred.html")  # not built yet: with the smaller cap
    inferred = {q.subject.value for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph + "/inferred"))
                if isinstance(q.subject, ox.NamedNode)}
    assert len(inferred) == 2 and "Subjects (the first 1 of 2)" in first.text and first.text.count('<li><a href="/id/') == 1
    link = html_.unescape(first.text.split('<p class="more"><a href="', 1)[1].split('"', 1)[0])
    assert link.startswith("/sparql?")
    query = parse_qs(urlsplit(link).query)["query"][0]
    assert {row["subject"].value for row in store.query(query)} == inferred


def test_named_graphs_are_dereferenceable(client: TestClient) -> None:
    assert client.get("/graph/132292/basic-plan-3/inferred").headers["location"] == "/graph/132292/basic-plan-3/inferred.html"
    page = client.get("/graph/132292/basic-plan-3/inferred.html")
    assert page.status_code == 200 and "<strong>5</strong>" in page.text
    data = client.get("/graph/132292/basic-plan-3/inferred.nt").text
    assert len(list(ox.parse(data.encode(), format=ox.RdfFormat.N_TRIPLES))) == 5


def test_the_ontology_is_documented_and_negotiated(client: TestClient) -> None:
    assert client.get("/ontology", headers={"Accept": "text/turtle"}).headers["location"] == "/ontology.ttl"
    page = client.get("/ontology.html").text
    assert 'id="Measure"' in page and "基本施策" in page and "A measure under a policy." in page
    assert page.index('id="Measure"') < page.index('id="parent"') < page.index('id="Planned"')  # classes, properties, individuals
    turtle = client.get("/ontology.ttl")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "@prefix pkg:" in turtle.text
    # a term's IRI is a fragment of the ontology's page
    assert 'href="/ontology#Measure"' in client.get(f"{MEASURE}.html").text
    # Only the ontology's own documents: a made-up name is not another copy of it.
    for made_up in ("/ontology.xyz", "/ontology.xyz.html", "/ontology.foo.ttl", "/ontology.%3Cscript%3E"):
        response = client.get(made_up, headers={"Accept": "text/turtle"}, follow_redirects=False)
        assert response.status_code == 404, made_up
    assert "<script>" not in client.get("/ontology.%3Cscript%3E.html").text


def ontology_store() -> ox.Store:
    """The ontology as a build loads it (every module of ontology/), in its named graph."""
    from plan_kg.build import load_ontology

    store = ox.Store()
    store.load(load_ontology(Settings()).serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES,
               to_graph=ox.NamedNode(BASE + "graph/ontology"))
    return store


def test_documents_with_blank_nodes_are_the_same_bytes_however_the_store_was_loaded(settings: Settings) -> None:
    """The ontology's property chains are RDF lists, blank nodes a store names as it loads them (rdflib's parse at
    random, pyoxigraph's bulk_load at random again): its documents were written with those labels, in the store's
    order, and differed from one load (a restart, `publish --static`) to the next."""
    from plan_kg.build import load_ontology

    first = ontology_store()
    reloaded = ox.Store()  # as `publish --static` loads the dump
    reloaded.bulk_load(ox.serialize(ontology_store(), format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
    paths = [f"{document}.{suffix}" for document in ("/ontology", "/graph/ontology")
             for suffix in ("ttl", "nt", "rdf", "jsonld")]
    documents = [{path: TestClient(Starlette(routes=routes(settings, store))).get(path) for path in paths}
                 for store in (first, reloaded)]
    for path in paths:
        assert documents[0][path].status_code == documents[1][path].status_code == 200, path
        assert documents[0][path].content == documents[1][path].content, path
        assert documents[0][path].headers["etag"] == documents[1][path].headers["etag"], path
    turtle = documents[0]["/ontology.ttl"]
    assert "_:cb" in turtle.text  # the build's labels (publish.canonical), the chains' lists still there
    parsed = Graph().parse(data=turtle.text, format="turtle")
    assert isomorphic(parsed, load_ontology(Settings()))


def _term_section(page: str, local: str) -> str:
    """The text of the ontology page's section about pkg:{local}, unescaped."""
    start = page.index(f'<section class="term" id="{local}">')
    return html_.unescape(page[start:page.index("</section>", start)])


def test_every_term_the_ontology_states_anything_about_is_documented_with_an_anchor(settings: Settings) -> None:
    store = ontology_store()
    page = TestClient(Starlette(routes=routes(settings, store))).get("/ontology.html").text
    subjects = {q.subject.value for q in store
                if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(PKG)}
    assert len(subjects) > 50 and PKG + "Draft" in subjects and PKG + "SdgLinkMethods" in subjects
    missing = sorted(s for s in subjects if f'id="{s[len(PKG):]}"' not in page)
    assert not missing, missing
    literal = lambda term, prop: [q.object for q in store.quads_for_pattern(  # noqa: E731
        ox.NamedNode(term), ox.NamedNode(prop), None, None)]
    for term in subjects:
        section = _term_section(page, term[len(PKG):])
        labels = literal(term, "http://www.w3.org/2004/02/skos/core#prefLabel") + literal(
            term, "http://www.w3.org/2000/01/rdf-schema#label")
        for language in {label.language for label in labels}:
            assert any(label.value in section for label in labels if label.language == language), (term, language)
        for definition in literal(term, "http://www.w3.org/2004/02/skos/core#definition"):
            assert definition.value in section, term
        for scheme in literal(term, "http://www.w3.org/2004/02/skos/core#inScheme"):
            assert f'href="/ontology#{scheme.value[len(PKG):]}"' in section, term
    # an individual says what it is and which scheme it belongs to; a scheme lists its concepts
    draft = _term_section(page, "Draft")
    assert "素案" in draft and "Draft" in draft
    assert "A draft under preparation." in draft and "策定中の素案・原案。" in draft
    assert "pkg:Status" in draft and "pkg:StatusScheme" in draft
    curated = _term_section(page, "curated")
    assert "pkg:SdgLinkMethod" in curated and "pkg:SdgLinkMethods" in curated
    scheme = _term_section(page, "StatusScheme")
    assert all(f"pkg:{s}" in scheme for s in ("InterimDraft", "Draft", "Adopted", "Planned"))


def test_a_property_chain_is_shown_as_its_properties_in_order_never_as_a_blank_node_label(settings: Settings) -> None:
    """owl:propertyChainAxiom is an RDF list: the page showed its head's label (`_:cb0`), which names nothing."""
    page = TestClient(Starlette(routes=routes(settings, ontology_store()))).get("/ontology.html").text
    assert "_:" not in page
    target = _term_section(page, "contributesToTarget")
    assert ('<a href="/ontology#hasSdgLink" title="SDG 対応をもつ / has SDG link"><code>pkg:hasSdgLink</code></a> ∘ '
            '<a href="/ontology#sdgTarget" title="対応するターゲット / SDG target"><code>pkg:sdgTarget</code></a>') in target
    assert "（プロパティの連鎖：左からたどる）" in target and "(property chain, followed from the left)" in target
    goal = _term_section(page, "contributesToGoal")  # a term of the UN's ontology by its own prefix
    assert ('<code>pkg:contributesToTarget</code></a> ∘ <a href="http://metadata.un.org/sdg/ontology#isTargetOf" '
            'rel="external"><code>sdgo:isTargetOf</code></a>') in goal


def test_lists_and_other_blank_nodes_are_shown_by_what_they_hold(settings: Settings, store: ox.Store) -> None:
    """Any RDF list is shown as its members in order, a blank node that is none (or a list read twice over, as two
    graphs sharing a label made it) by its statements: a page never shows a blank node's label."""
    measure, rdf = BASE + MEASURE.lstrip("/"), "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    store.load(f"""
        @prefix ex: <http://example.org/> .
        <{measure}> ex:order ( <{BASE}id/132292/basic-plan-3/1-3> "二番目"@ja ( ex:inner ) ) ;
                    ex:restriction [ ex:onProperty ex:p ; ex:someValuesFrom ex:C ] ;
                    ex:empty () .
        <{measure}> ex:broken _:b1 . _:b1 <{rdf}first> ex:one, ex:two ; <{rdf}rest> <{rdf}nil> .
        """, format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(BASE + "graph/132292/basic-plan-3"))
    client = TestClient(Starlette(routes=routes(settings, store)))
    page = client.get(f"{MEASURE}.html").text
    assert "_:" not in page
    assert '<ol class="rdf-list"><li><a href="/id/132292/basic-plan-3/1-3">' in page
    assert '<li><span class="literal" lang="ja">二番目</span> <span class="tag">@ja</span></li>' in page
    assert '<li><ol class="rdf-list"><li><a href="http://example.org/inner" rel="external">' in page
    assert ('<dl class="blank-node"><dt><a href="http://example.org/onProperty" title="http://example.org/onProperty">'
            '<code>http://example.org/onProperty</code></a></dt><dd><a href="http://example.org/p"') in page
    assert "（空のリスト）" not in page  # () is rdf:nil, an IRI
    broken = page[page.index("http://example.org/broken"):]
    assert broken.index('<dl class="blank-node">') < broken.index("http://example.org/one") < broken.index(
        "http://example.org/two")


def test_an_iri_of_another_scheme_in_the_data_is_shown_never_linked(settings: Settings, store: ox.Store) -> None:
    """A javascript: or data: IRI in the data (a plan's `source` in an imported plan.toml, say) is shown as text, as
    on the results page, not made a link that would run it: the page linked `<a href="javascript:...">`."""
    measure = BASE + MEASURE.lstrip("/")
    store.load(f"""
        @prefix ex: <http://example.org/> .
        <{measure}> ex:seeAlso <javascript:alert(1)> , <data:text/html,x> , <urn:isbn:4000000000> ;
                    ex:order ( <javascript:alert(2)> ) .
        """, format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(BASE + "graph/132292/basic-plan-3"))
    client = TestClient(Starlette(routes=routes(settings, store)))
    page = client.get(f"{MEASURE}.html").text
    for iri in ("javascript:alert(1)", "data:text/html,x", "urn:isbn:4000000000", "javascript:alert(2)"):
        assert f'<span class="iri">{iri}</span>' in page
        assert f'href="{iri}"' not in page
    assert 'href="http://example.org/seeAlso"' in page  # an http IRI stays a link


@pytest.mark.parametrize("path", ["/ontology/sdg", "/ontology/0.1.0"])
@pytest.mark.parametrize(("accept", "suffix"), [(BROWSER_ACCEPT, "html"), ("text/turtle", "ttl"), (None, "html")])
def test_the_ontologys_module_and_version_iris_answer_303_to_its_documents(
    settings: Settings, path: str, accept: str | None, suffix: str
) -> None:
    client = TestClient(Starlette(routes=routes(settings, ontology_store())), follow_redirects=False)
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 303
    assert response.headers["location"] == f"/ontology.{suffix}"
    assert response.headers["vary"] == "Accept"
    assert '</ontology.ttl>; rel="alternate"; type="text/turtle"' in response.headers["link"]
    document = client.get(response.headers["location"])
    assert document.status_code == 200
    assert BASE + "ontology/sdg" in document.text and BASE + "ontology/0.1.0" in document.text


def test_an_ontology_iri_the_store_does_not_declare_is_not_found(settings: Settings) -> None:
    client = TestClient(Starlette(routes=routes(settings, ontology_store())), follow_redirects=False)
    for path in ("/ontology/0.2.0", "/ontology/nothing", "/ontology/"):
        response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 404, path
        assert 'href="/ontology"' in response.text  # the nearest resource above it
    assert client.get("/ontology/sdg.ttl").status_code == 404  # the documents are the ontology's: /ontology.ttl


def test_the_home_page_shows_counts_downloads_and_named_queries(client: TestClient) -> None:
    html = client.get("/").text
    assert "西東京市" in html and "linked open data" in html
    assert 'href="/downloads/plan-kg.nq"' in html and 'href="/downloads/plans/132292-basic-plan-3.ttl"' in html
    assert "notes.txt" not in html
    assert "hierarchy.rq" in html and "計画の体系" in html
    assert 'data-endpoint="/sparql"' in html and '<code class="endpoint">/sparql</code>' in html  # no public address set
    assert '<form class="plain-query" method="get" action="/sparql">' in html  # works without JavaScript


def test_the_home_pages_charts_are_named_by_the_plan_they_draw(settings: Settings, client: TestClient) -> None:
    """Each chart's text alternative and caption were its file name alone
    ("plans/132292-basic-plan-3-sdg-coverage.svg"): a screen reader, or anyone, could not tell one city's chart
    from another's without opening it."""
    for name in ("plans/132292-basic-plan-3-sdg-coverage.svg", "sdg-coverage-by-city.svg"):
        (settings.dist_dir / name).write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    figures = re.findall(r"<figure>.*?</figure>", client.get("/").text, flags=re.DOTALL)
    assert len(figures) == 2
    plan, by_city = sorted(figures, key=lambda f: "by-city" in f)
    assert ('alt="SDGs との対応：西東京市第3次総合計画 基本計画 / '
            'SDG coverage: Nishitokyo City 3rd Comprehensive Plan: Basic Plan"') in plan
    assert '<figcaption><a href="/id/132292/basic-plan-3">' in plan
    assert 'alt="SDGs との対応：自治体ごと / SDG coverage: by city"' in by_city and "By city" in by_city


def test_downloads_are_served_with_the_format_tables_media_type(client: TestClient) -> None:
    response = client.get("/downloads/plans/132292-basic-plan-3.ttl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    assert client.get("/downloads/notes.txt").status_code == 404
    assert client.get("/downloads/../pyproject.toml").status_code == 404
    assert client.get("/downloads/%2e%2e/%2e%2e/etc/passwd").status_code == 404
    assert client.get("/downloads/plan-kg.nq%00").status_code == 404  # not a path: not a 500
    assert client.get("/downloads/plans").status_code == 404  # a folder


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_download_answers_conditional_requests(settings: Settings, client: TestClient, encoding: str) -> None:
    """RFC 9110 13.1.2-3: the validators a download is sent with (ETag, Last-Modified) give 304 when
    they match, so `wget -N`, `curl -z` and caches do not fetch the whole file again."""
    path = "/downloads/plans/132292-basic-plan-3.ttl"
    (settings.dist_dir / "plans" / "132292-basic-plan-3.ttl").write_text("# a plan\n" * 2000, encoding="utf-8")
    first = client.get(path, headers={"Accept-Encoding": encoding})
    assert first.status_code == 200 and (first.headers.get("content-encoding") == "gzip") == (encoding == "gzip")
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    later = formatdate(parsedate_to_datetime(modified).timestamp() + 60, usegmt=True)
    earlier = formatdate(parsedate_to_datetime(modified).timestamp() - 60, usegmt=True)
    for conditions, status in [({"If-None-Match": tag}, 304), ({"If-None-Match": f'"other", W/{tag}'}, 304),
                               ({"If-None-Match": "*"}, 304), ({"If-None-Match": '"other"'}, 200),
                               ({"If-Modified-Since": modified}, 304), ({"If-Modified-Since": later}, 304),
                               ({"If-Modified-Since": earlier}, 200), ({"If-Modified-Since": "not a date"}, 200),
                               # If-None-Match decides when both are sent (13.2.2)
                               ({"If-None-Match": '"other"', "If-Modified-Since": later}, 200),
                               # If-Match (strong comparison) and If-Unmodified-Since come first: 412 (13.1.1, 13.1.4)
                               ({"If-Match": tag}, 200), ({"If-Match": "*"}, 200), ({"If-Match": '"other"'}, 412),
                               ({"If-Match": f"W/{tag}"}, 412), ({"If-Match": '"other"', "If-None-Match": tag}, 412),
                               ({"If-Unmodified-Since": modified}, 200), ({"If-Unmodified-Since": earlier}, 412),
                               ({"If-Unmodified-Since": "not a date"}, 200),
                               # A date without a time zone is no HTTP date: ignored (it was a 500)
                               ({"If-Unmodified-Since": "Sat, 29 Nov 2025 10:00:00 -0000"}, 200),
                               ({"If-Modified-Since": "Sat, 29 Nov 2035 10:00:00 -0000"}, 200),
                               ({"If-Match": tag, "If-Unmodified-Since": earlier}, 200)]:
        answer = client.get(path, headers={"Accept-Encoding": encoding, **conditions})
        assert answer.status_code == status, conditions
        assert answer.headers["etag"] == tag, conditions
        assert (answer.content == b"") == (status in (304, 412)), conditions


def test_a_range_that_cannot_be_read_is_ignored(settings: Settings, client: TestClient) -> None:
    """RFC 9110 14.2: another unit, or a range that is not one, is ignored (the whole file); a
    readable range past the end is 416."""
    path = "/downloads/plans/132292-basic-plan-3.ttl"
    whole = ("# a plan\n" * 2000).encode()
    (settings.dist_dir / "plans" / "132292-basic-plan-3.ttl").write_bytes(whole)
    for ignored in ("lines=0-1", "bytes=5-1", "bytes=abc", "bytes=", "bytes=-", "0-9",
                    "bytes=1-" + "9" * 5000, "bytes=" + "1" * 4301 + "-"):  # past int()'s 4,300 digits: was a 500
        answer = client.get(path, headers={"Range": ignored, "Accept-Encoding": "identity"})
        assert answer.status_code == 200 and answer.content == whole, ignored
    assert client.get(path, headers={"Range": "lines=0-1", "Accept-Encoding": "gzip"}).headers["content-encoding"] == "gzip"
    ranged = client.get(path, headers={"Range": "Bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == whole[:10]
    assert client.get(path, headers={"Range": "bytes=-5"}).content == whole[-5:]
    assert client.get(path, headers={"Range": f"bytes={len(whole)}-"}).status_code == 416
    # A HEAD gets the whole file's fields: Range is for GET only (RFC 9110 14.2).
    head = client.head(path, headers={"Range": "bytes=0-9", "Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.headers["content-length"] == str(len(whole))


def test_the_home_page_is_built_at_most_once_per_window_and_then_lists_new_downloads(
    settings: Settings, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[bool] = []
    build = Site._home_page
    monkeypatch.setattr(Site, "_home_page", lambda self, *args: built.append(True) or build(self, *args))
    answers = [client.get("/") for _ in range(20)]
    assert len(built) == 1  # a flood of requests builds it once
    assert {a.content for a in answers} == {answers[0].content} and all(
        a.headers["content-security-policy"] == answers[0].headers["content-security-policy"] for a in answers)
    (settings.dist_dir / "plans" / "132292-basic-plan-3.jsonld").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(pages, "HOME_KEPT_S", 0.0)  # the window has passed
    assert 'href="/downloads/plans/132292-basic-plan-3.jsonld"' in client.get("/").text and len(built) == 2


def test_downloads_go_gzip_compressed_to_clients_that_accept_it(settings: Settings, client: TestClient) -> None:
    dump = settings.dist_dir / "plans" / "132292-basic-plan-3.ttl"
    dump.write_text("@prefix ex: <http://example.org/> .\n" + "ex:s ex:p \"地域福祉\" .\n" * 5000, encoding="utf-8")
    path = "/downloads/plans/132292-basic-plan-3.ttl"
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip" and "Accept-Encoding" in response.headers["vary"]
    assert response.headers["content-type"].startswith("text/turtle")
    assert gzip.decompress(raw) == dump.read_bytes() and len(raw) < dump.stat().st_size / 20
    assert raw == gzip_file(dump)  # the same bytes every time: no time stamp in the gzip header
    tag = response.headers["etag"]
    assert response.headers["last-modified"] == client.get(path, headers={"Accept-Encoding": "identity"}).headers["last-modified"]
    assert client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": tag}).status_code == 304
    # Not accepted (or asked for a range of it): the file as it is.
    for headers in ({"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, *"},
                    {"Accept-Encoding": "gzip", "Range": "bytes=0-9"}):
        plain = client.get(path, headers=headers)
        assert "content-encoding" not in plain.headers and plain.headers.get("etag") != tag, headers
        assert plain.content == dump.read_bytes()[:10 if "Range" in headers else None]
    # A new build of the file: a new copy, with a new tag.
    dump.write_text("# rebuilt\n" * 1000, encoding="utf-8")
    rebuilt = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert rebuilt.content == dump.read_bytes() and rebuilt.headers["etag"] != tag


def test_a_download_that_goes_away_while_it_is_compressed_is_a_404(
    settings: Settings, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = settings.dist_dir / "plans" / "132292-basic-plan-3.ttl"

    def removed_meanwhile(path: Path) -> bytes:
        path.unlink()  # a new build took it away
        raise FileNotFoundError(path)

    monkeypatch.setattr(compress, "gzip_file", removed_meanwhile)
    response = client.get("/downloads/plans/132292-basic-plan-3.ttl", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 404 and not dump.exists()


def test_clients_asking_at_once_share_one_compression(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []

    def counted(path: Path) -> bytes:
        made.append(path)
        time.sleep(0.2)  # long enough for every request to arrive while the first compresses
        return gzip_file(path)

    monkeypatch.setattr(compress, "gzip_file", counted)
    dump = tmp_path / "plan-kg.nq"
    dump.write_bytes(b"<urn:s> <urn:p> <urn:o> .\n" * 1000)
    copies = compress.GzipCopies(max_bytes=1_000_000)

    async def ask(times: int) -> list[bytes | None]:
        return await asyncio.gather(*(copies.get(dump, dump.stat()) for _ in range(times)))

    answers = asyncio.run(ask(5)) + asyncio.run(ask(2))  # then once more, from the kept copy
    assert made == [dump] and len(set(answers)) == 1 and gzip.decompress(answers[0]) == dump.read_bytes()
    assert asyncio.run(compress.GzipCopies(max_bytes=0).get(dump, dump.stat())) is None  # cache off: not compressed


@pytest.mark.parametrize("accept",
                         [None, "*/*", "application/sparql-query", "application/sparql-query, text/plain;q=0.5"])
def test_named_queries_are_served_as_sparql_to_clients(client: TestClient, accept: str | None) -> None:
    response = client.get("/queries/hierarchy.rq", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/sparql-query; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert response.text.startswith("# title:")
    assert client.get("/queries/no-such-query.rq").status_code == 404


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/plain", "text/html"])
def test_named_queries_are_shown_as_text_to_browsers(client: TestClient, accept: str) -> None:
    response = client.get("/queries/hierarchy.rq", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"  # shown, not downloaded
    assert response.headers["vary"] == "Accept"
    assert response.text.startswith("# title:")


def test_yasgui_is_served_from_this_server_when_installed(client: TestClient, settings: Settings) -> None:
    built = settings.root / "node_modules" / "@zazuko" / "yasgui" / "build" / "yasgui.min.js"
    if not built.is_file():
        pytest.skip("@zazuko/yasgui is not installed: run `npm ci` at the repository root")
    html = client.get("/").text
    assert '<script src="/assets/yasgui/yasgui.min.js" defer></script>' in html
    assert client.get("/assets/yasgui/yasgui.min.js").status_code == 200
    assert client.get("/assets/site/home.js").status_code == 200
    assert "http" not in "".join(line for line in html.splitlines() if "<script" in line or "stylesheet" in line)


def test_the_sites_own_files_honour_every_precondition(tmp_path: Path, store: ox.Store) -> None:
    """The stylesheets and scripts (the site's, the query editor's) are answered as downloads are: If-Match
    and If-Unmodified-Since that fail are a 412 without the file (RFC 9110 13.1.1, 13.1.4; they were
    ignored), If-None-Match and If-Modified-Since a 304, anything else the file; a Range as downloads take it."""
    build = tmp_path / "node_modules" / "@zazuko" / "yasgui" / "build"
    build.mkdir(parents=True)
    (build / "yasgui.min.js").write_text("/* yasgui */\n", encoding="utf-8")
    client = TestClient(Starlette(routes=routes(replace(Settings(), root=tmp_path, dist_dir=tmp_path / "dist"), store)))
    for path in ("/assets/site/home.js", "/assets/yasgui/yasgui.min.js"):
        first = client.get(path)
        assert first.status_code == 200 and first.content, path
        tag, modified = first.headers["etag"], first.headers["last-modified"]
        earlier = formatdate(parsedate_to_datetime(modified).timestamp() - 60, usegmt=True)
        for conditions, status in [({"If-Match": '"other"'}, 412), ({"If-Match": f"W/{tag}"}, 412),
                                   ({"If-Unmodified-Since": earlier}, 412), ({"If-Match": '"other"', "If-None-Match": tag}, 412),
                                   ({"If-Match": tag}, 200), ({"If-Match": "*"}, 200), ({"If-Unmodified-Since": modified}, 200),
                                   ({"If-None-Match": tag}, 304), ({"If-Modified-Since": modified}, 304),
                                   ({"If-Match": tag, "If-None-Match": tag}, 304)]:
            answer = client.get(path, headers=conditions)
            assert answer.status_code == status, (path, conditions)
            assert answer.headers["etag"] == tag, (path, conditions)
            assert (answer.content == first.content) == (status == 200), (path, conditions)
        # A Range that cannot be read is ignored (RFC 9110 14.2; it was a 400), as for a download
        for ignored in ("bytes=5-1", "lines=0-1", "bytes=abc"):
            answer = client.get(path, headers={"Range": ignored})
            assert answer.status_code == 200 and answer.content == first.content, (path, ignored)
        ranged = client.get(path, headers={"Range": "bytes=0-3"})
        assert ranged.status_code == 206 and ranged.content == first.content[:4], path


def test_without_npm_ci_the_query_editors_files_are_a_404_that_says_what_to_run(
    tmp_path: Path, store: ox.Store, caplog: pytest.LogCaptureFixture
) -> None:
    bare = replace(Settings(), root=tmp_path, dist_dir=tmp_path / "dist")  # no node_modules/
    with caplog.at_level(logging.WARNING, logger="plan_kg.web"):
        client = TestClient(Starlette(routes=routes(bare, store)))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "query editor" in warnings[0].getMessage() and "npm ci" in warnings[0].getMessage()
    for path in ("/assets/yasgui/yasgui.min.js", "/assets/yasgui/yasgui.min.css"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")
        assert "npm ci" in response.text and "repository root" in response.text
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    home = client.get("/").text
    assert "/assets/yasgui/" not in home and '<textarea id="plain-query-text"' in home  # the plain form instead
    # `npm ci` on a running server is enough: the files are served from then on, as the home page links them
    build = tmp_path / "node_modules" / "@zazuko" / "yasgui" / "build"
    build.mkdir(parents=True)
    (build / "yasgui.min.js").write_text("/* yasgui */\n", encoding="utf-8")
    assert client.get("/assets/yasgui/yasgui.min.js").text == "/* yasgui */\n"
    assert '<script src="/assets/yasgui/yasgui.min.js" defer></script>' in client.get("/").text


def test_with_the_query_editor_installed_nothing_is_logged(tmp_path: Path, store: ox.Store,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "node_modules" / "@zazuko" / "yasgui" / "build").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="plan_kg.web"):
        routes(replace(Settings(), root=tmp_path, dist_dir=tmp_path / "dist"), store)
    assert not caplog.records


def test_json_ld_documents_use_the_published_context_inline(client: TestClient) -> None:
    document = json.loads(client.get(f"{MEASURE}.jsonld").text)
    assert document["@context"]["pkg"] == "https://w3id.org/plan-kg/ontology#"  # no fetch needed to read it
    nodes = document.get("@graph", [document])
    measure = next(node for node in nodes if node["@id"] == BASE + MEASURE.lstrip("/"))
    assert measure["code"] == "1-3-2" and measure["label"] == {"ja": "持続可能な行財政運営"}


_SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings_(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(["/id/", "/id/132292/basic-plan-3/", "/graph/", "/ontology", "/downloads/", "/queries/"]),
    segments=st.lists(_SEGMENT, max_size=3),
    suffix=st.sampled_from(["", ".html", ".ttl", ".jsonld", ".nt", ".rdf", ".rq", ".csv", "."]),
    accept=st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["text/turtle", "*/*", "image/png"])),
)
def test_any_path_gets_a_document_a_redirect_or_a_4xx_never_a_5xx(
    client: TestClient, prefix: str, segments: list[str], suffix: str, accept: str | None
) -> None:
    path = prefix + "/".join(quote(s, safe="") for s in segments) + suffix
    headers = {"Accept": accept} if accept is not None and accept.isprintable() and accept.isascii() else {}
    response = client.get(path, headers=headers)
    assert response.status_code in (200, 303, 307, 404, 405, 406), (path, response.status_code)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("plan_kg.build") is None, reason="plan_kg.build (the pipeline) is not there yet")
def test_every_item_of_the_built_plan_has_a_page_and_documents(tmp_path: Path) -> None:
    from plan_kg.build import build

    built = replace(Settings(), dist_dir=tmp_path / "dist")
    build(built, out_dir=built.dist_dir)
    store = ox.Store()
    store.load(path=str(built.dist_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    client = TestClient(Starlette(routes=routes(built, store)), follow_redirects=False)
    codes = [line.split(",", 1)[0] for line in (built.data_dir / "nishitokyo" / "items.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert len(codes) == 167
    for code in codes:
        page = client.get(f"/id/132292/basic-plan-3/{code}.html")
        assert page.status_code == 200 and f'<span class="code">{code}</span>' in page.text, code
    turtle = client.get("/id/132292/basic-plan-3/1-3-3.ttl")
    assert "pkg:Planned" in turtle.text
    home = client.get("/").text
    assert all(f">{n}</td>" in home for n in (6, 15, 37, 109))
    assert 'href="/downloads/plans/132292-basic-plan-3.csv"' in home


@pytest.mark.slow
def test_every_ontology_iri_in_the_built_dump_dereferences(built, tmp_path: Path) -> None:  # noqa: ANN001
    from plan_kg.server import create_app

    settings = Settings.load(dist_dir=built.out_dir)
    ontology = "https://w3id.org/plan-kg/ontology"
    found = {term.value for quad in ox.parse(path=str(built.out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
             for term in quad if isinstance(term, ox.NamedNode) and term.value.startswith(ontology)}
    documents = {iri.partition("#")[0] for iri in found}
    assert documents == {ontology, ontology + "/sdg", ontology + "/0.1.0"}  # what the build declares today
    client = TestClient(create_app(settings, store_dir=tmp_path / "store"))  # no lifespan: no query workers
    for iri in sorted(documents):
        for accept in (BROWSER_ACCEPT, "text/turtle", "application/ld+json"):
            response = client.get("/" + iri[len(BASE):], headers={"Accept": accept})
            assert response.status_code == 200, (iri, accept)
            assert response.history and response.history[0].status_code == 303
    page = client.get("/ontology", headers={"Accept": BROWSER_ACCEPT}).text
    fragments = sorted(iri.partition("#")[2] for iri in found if "#" in iri)
    assert "curated" in fragments and "Partial" in fragments
    assert not [f for f in fragments if f'id="{f}"' not in page]  # every term used anywhere has its anchor


@pytest.mark.parametrize("cache_bytes", [64_000_000, 0])
def test_a_document_is_built_once_and_kept(settings: Settings, store: ox.Store, cache_bytes: int) -> None:
    """The store does not change while served, so a document built once is sent again as it was
    (a named graph as JSON-LD takes ~0.3 s of the event loop to build). The test changes the
    store behind the server's back to see which answers were kept: all of them, with the same
    headers, unless the cache is off."""
    client = TestClient(Starlette(routes=routes(replace(settings, response_cache_bytes=cache_bytes), store)))
    paths = ["/graph/132292/basic-plan-3/inferred.jsonld", "/graph/132292/basic-plan-3/inferred.html",
             f"{MEASURE}.ttl", f"{MEASURE}.html", "/ontology.nt"]
    first = {path: client.get(path) for path in paths}
    graph = ox.NamedNode(BASE + "graph/132292/basic-plan-3/inferred")
    measure = ox.NamedNode(BASE + MEASURE.lstrip("/"))
    added = ox.Literal("added later")
    store.add(ox.Quad(measure, ox.NamedNode(PKG + "note"), added, graph))
    store.add(ox.Quad(ox.NamedNode(PKG + "Measure"), ox.NamedNode(PKG + "note"), added,
                      ox.NamedNode(BASE + "graph/ontology")))
    for path, response in first.items():
        again = client.get(path)
        assert response.status_code == again.status_code == 200
        assert (again.content == response.content) is bool(cache_bytes), path  # built again: it has the changes
        if cache_bytes:
            assert again.headers == response.headers, path


def test_a_document_being_built_holds_up_no_other_client_and_is_built_once(
        settings: Settings, store: ox.Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large document takes a while to build the first time (a named graph as JSON-LD: ~0.3 s). It is
    built in a thread: meanwhile the event loop answers others. Here the build waits until another
    client has been answered; built on the event loop, it would wait in vain (and fail)."""
    release = threading.Event()
    builds: list[int] = []
    real_json_ld = pages._json_ld

    def held(triples: list[ox.Triple]) -> bytes:
        builds.append(len(triples))
        assert release.wait(timeout=10), "another client was not answered while the document was built"
        return real_json_ld(triples)

    monkeypatch.setattr(pages, "_json_ld", held)
    app = Starlette(routes=routes(settings, store))
    document = "/graph/132292/basic-plan-3/inferred.jsonld"

    async def clients() -> tuple[httpx.Response, list[httpx.Response]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            waiting = [asyncio.create_task(client.get(document)) for _ in range(3)]
            while not builds:
                await asyncio.sleep(0.01)
            other = await client.get("/queries/hierarchy.rq")
            release.set()
            return other, await asyncio.gather(*waiting)

    other, documents = asyncio.run(clients())
    assert other.status_code == 200 and "SELECT" in other.text
    assert [d.status_code for d in documents] == [200] * 3 and len({d.content for d in documents}) == 1
    assert len(builds) == 1  # the three requests shared one build
    json.loads(documents[0].content)


def test_a_json_ld_document_is_the_same_from_every_server_process(settings: Settings) -> None:
    """Two processes (other hash seeds, other blank node labels from the load) build the same bytes:
    rdflib's JSON-LD follows its graph's hash order, so the document is put in a canonical order."""
    script = (
        "import hashlib, sys\n"
        "from pathlib import Path\n"
        "import pyoxigraph as ox\n"
        "from starlette.testclient import TestClient\n"
        "from starlette.applications import Starlette\n"
        "from plan_kg.config import Settings\n"
        "from plan_kg.web import routes\n"
        "store = ox.Store()\n"
        f"store.load(path={str(FIXTURE)!r}, format=ox.RdfFormat.TRIG)\n"
        "client = TestClient(Starlette(routes=routes(Settings(), store)))\n"
        "for path in sys.argv[1:]:\n"
        "    response = client.get(path)\n"
        "    print(response.status_code, hashlib.sha256(response.content).hexdigest())\n"
    )
    paths = ["/graph/132292/basic-plan-3.jsonld", "/graph/132292/basic-plan-3/inferred.jsonld", f"{MEASURE}.jsonld"]
    runs = [subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")]
    assert runs[0].count("200 ") == len(paths)
    assert runs[0] == runs[1] == runs[2]


def test_a_made_up_path_of_thousands_of_parts_gets_its_404_after_a_few_look_ups(
        settings: Settings, store: ox.Store, client: TestClient) -> None:
    """The 404 page looks for the nearest resource above the path, a bounded number of steps up:
    a path of 30,000 code parts took 3.5 s of the event loop when every step was tried."""
    site = Site(settings, store)
    looked_up: list[str] = []
    triples = site.describer.triples
    site.describer.triples = lambda iri: looked_up.append(iri) or triples(iri)  # type: ignore[method-assign]
    assert site._nearest(BASE + "id/132292/basic-plan-3/" + "a-" * 30_000 + "x") is None
    assert len(looked_up) <= 16
    found = site._nearest(BASE + "id/132292/basic-plan-3/1-3-2-9-9")  # still found a few steps up
    assert found is not None and found.iri == BASE + MEASURE.lstrip("/")
    response = client.get("/id/132292/basic-plan-3/" + "a-" * 30_000 + "x", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404


def test_a_redirect_or_a_404_builds_no_page_and_takes_no_build_slot(client: TestClient,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The 303 from a bare IRI and every 404 are one index look-up: building a resource's view (31 ms
    for a plan) to decide them let a flood of bare IRIs hold up every other client; a 404 with a
    suffix waited for one of the two build slots and was never kept."""
    views: list[str] = []
    builds: list[str] = []
    view = Describer.resource
    build = KeptDocuments._build
    monkeypatch.setattr(Describer, "resource", lambda self, iri: views.append(iri) or view(self, iri))
    monkeypatch.setattr(KeptDocuments, "_build", lambda self, key, *args: builds.append(key) or build(self, key, *args))
    assert client.get(MEASURE, headers={"Accept": "text/html"}).status_code == 303
    assert client.get(MEASURE, headers={"Accept": "text/turtle"}).status_code == 303
    assert client.get("/graph/plan/132292-basic-plan-3").status_code in (303, 404)
    for missing in ("/id/132292/nothing", "/id/132292/nothing.html", "/id/132292/nothing.ttl",
                    "/graph/nothing.jsonld", "/ontology.foo.ttl"):
        assert client.get(missing).status_code == 404, missing
    assert views == [] and builds == []
    assert client.get(f"{MEASURE}.html").status_code == 200 and views and builds == [f"{MEASURE}.html"]


def test_documents_carry_a_strong_etag_and_answer_preconditions(client: TestClient) -> None:
    """RFC 9110 8.8.3: a document (the same bytes while served) has a validator, so a crawler's conditional
    GET is a 304 instead of the whole document again; a failed If-Match is a 412."""
    for path in ("/id/132292/basic-plan-3/1.ttl", "/id/132292/basic-plan-3/1.html", "/graph/132292/basic-plan-3.nt",
                 "/ontology.ttl"):
        first, again = client.get(path), client.get(path)  # built, then kept
        assert first.status_code == 200 and first.headers["etag"] == again.headers["etag"], path
        tag = first.headers["etag"]
        assert tag.startswith('"') and first.headers["cache-control"].startswith("public, max-age="), path
        not_modified = client.get(path, headers={"If-None-Match": f'"x", {tag}'})
        assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["etag"] == tag
        assert "link" in not_modified.headers, path
        assert client.get(path, headers={"If-None-Match": '"x"'}).status_code == 200
        failed = client.get(path, headers={"If-Match": '"x"'})
        assert failed.status_code == 412 and failed.headers["cache-control"] == "no-store", path  # not for a shared cache
        assert "content-security-policy" in failed.headers and "content-security-policy" in not_modified.headers
        assert client.get(path, headers={"If-Match": tag}).status_code == 200
    assert client.get("/id/132292/basic-plan-3/1.ttl").headers["etag"] != client.get("/id/132292/basic-plan-3/1.nt").headers["etag"]
    # A 303 and a 404 have no validator (the first depends on Accept, the second is nothing to keep).
    assert "etag" not in client.get("/id/132292/basic-plan-3/1", follow_redirects=False).headers
    assert "etag" not in client.get("/id/132292/basic-plan-3/1-3-9.ttl").headers


def test_an_encoded_slash_is_not_a_path_separator(client: TestClient) -> None:
    """RFC 3986 6.2.2.2: `%2F` is not `/`, so `/id/132292%2Fbasic-plan-3` names another IRI (nothing
    here); Starlette decodes it, and it was answered as the plan."""
    for path in ("/id/132292%2Fbasic-plan-3", "/id/132292%2fbasic-plan-3.ttl", "/graph/132292%2Fbasic-plan-3"):
        response = client.get(path, headers={"Accept": "text/turtle"}, follow_redirects=False)
        assert response.status_code == 404, path
    assert client.get("/id/132292/basic-plan-3", headers={"Accept": "text/turtle"}, follow_redirects=False).status_code == 303


def test_the_folders_of_the_iris_lead_to_the_home_page(client: TestClient) -> None:
    """`/downloads`, `/id` and `/graph` (with or without the slash) name no resource: they were a redirect to
    a 404; they lead to the home page, which lists the downloads and the plans."""
    for path, location in [("/downloads/", "/#downloads"), ("/downloads", "/#downloads"), ("/id/", "/"), ("/id", "/"),
                           ("/graph/", "/"), ("/graph", "/")]:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200 and response.url.path == "/", path
        assert (client.get(path.rstrip("/") + "/", follow_redirects=False).headers["location"] == location), path
    assert 'id="downloads"' in client.get("/").text
    assert client.get("/downloads/plans").status_code == 404  # a folder inside is still no download


def test_another_citys_element_shows_its_level_by_the_sources_name(built) -> None:
    store = ox.Store()
    store.load(path=str(built.out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    page = TestClient(Starlette(routes=routes(Settings.load(dist_dir=built.out_dir), store))).get(
        "/id/131202/vision-3/S6.html").text
    facts = page.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert '<span lang="en" class="en">Level</span>' in facts
    assert '<span lang="ja">戦略計画</span> · ' in facts and "ontology#PlanElement" in facts


def test_each_page_credits_the_plan_it_comes_from(built) -> None:
    """CC BY: a page of another city's plan names that plan and its source, not Nishitokyo's (it did, on every page)."""
    store = ox.Store()
    store.load(path=str(built.out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    client = TestClient(Starlette(routes=routes(Settings.load(dist_dir=built.out_dir), store)))

    def footer(path: str) -> str:
        page = client.get(path)
        assert page.status_code == 200, path
        return page.text.split("<footer>", 1)[1].split("</p>", 1)[0]

    nerima = footer("/id/131202/vision-3/S6.html")
    assert "出典：練馬区 第3次みどりの風吹くまちビジョン" in nerima and "Source: Nerima City, Nerima Third Vision" in nerima
    assert 'href="http://www.city.nerima.tokyo.jp/' in nerima and "西東京市" not in nerima
    nishitokyo = footer("/id/132292/basic-plan-3/1-1-1.html")
    assert "出典：西東京市第3次総合計画 基本計画（中間のまとめ）" in nishitokyo  # the city's name once
    assert 'href="http://www.city.nishitokyo.lg.jp/' in nishitokyo
    assert footer("/id/132292/basic-plan-3.html") == nishitokyo  # the plan itself
    assert "各自治体の総合計画" in footer("/") and "Sources: the municipalities' comprehensive plans" in footer("/id/131202.html")


@pytest.mark.parametrize(("path", "accept", "caching"), [
    ("/", "text/html", "no-cache"),  # lists what may change: asked again each time, a 304 when unchanged
    ("/queries/hierarchy.rq", "application/sparql-query", "public, max-age=300"),
    ("/queries/hierarchy.rq", "text/html", "public, max-age=300"),
])
def test_the_home_page_and_named_queries_carry_validators(client: TestClient, path: str, accept: str,
                                                           caching: str) -> None:
    """RFC 9110 13.1: a strong ETag, 304 to an If-None-Match that lists it, 412 to an If-Match that does not."""
    first = client.get(path, headers={"Accept": accept})
    tag = first.headers["etag"]
    assert first.status_code == 200 and first.headers["cache-control"] == caching
    unchanged = client.get(path, headers={"Accept": accept, "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.headers["etag"] == tag and not unchanged.content
    assert unchanged.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert client.get(path, headers={"Accept": accept, "If-Match": '"other"'}).status_code == 412
    assert client.get(path, headers={"Accept": accept, "If-Match": tag}).status_code == 200


def test_a_named_query_as_sparql_and_as_text_are_two_representations(client: TestClient) -> None:
    sparql = client.get("/queries/hierarchy.rq", headers={"Accept": "application/sparql-query"})
    text = client.get("/queries/hierarchy.rq", headers={"Accept": "text/html"})
    assert sparql.content == text.content and sparql.headers["content-type"] != text.headers["content-type"]
    assert sparql.headers["etag"] != text.headers["etag"]  # RFC 9110 8.8.3: a strong tag names one representation
    assert client.get("/queries/hierarchy.rq", headers={"Accept": "text/html",
                                                        "If-None-Match": sparql.headers["etag"]}).status_code == 200
