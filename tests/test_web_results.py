"""plan_kg.web.results: a query's answer as an HTML page, written by the worker under the same limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
import pytest

from plan_kg.server.jobs import QueryJob, QueryRejected
from plan_kg.server.worker import run_job
from plan_kg.web import results

BASE = "https://w3id.org/plan-kg/"
MEASURE = BASE + "id/132292/basic-plan-3/1-3-2"
SKOS = "http://www.w3.org/2004/02/skos/core#"


class Page(HTMLParser):
    """What a person sees of a results page: the table's header and cells (as text), links, the form."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []  # every href in the page's main part
        self.cell_links: list[str] = []  # hrefs inside the results table
        self.scripts = 0
        self.textarea = ""
        self.hidden: list[tuple[str, str]] = []
        self._in: list[str] = []
        self._cell: list[str] | None = None
        self._header: list[str] | None = None
        self.feed(body.decode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._in.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and "tbody" in self._in:
            self.rows.append([])
        if tag == "td" and "tbody" in self._in:
            self._cell = []
        if tag == "th" and "thead" in self._in:
            self._header = []
        if tag == "a" and "main" in self._in:
            self.links.append(attributes["href"] or "")
            if self._cell is not None:
                self.cell_links.append(attributes["href"] or "")
        if tag == "input" and attributes.get("type") == "hidden":
            self.hidden.append((attributes["name"] or "", attributes["value"] or ""))

    def handle_endtag(self, tag: str) -> None:
        while self._in and self._in.pop() != tag:
            pass
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "th" and self._header is not None:
            self.headers.append("".join(self._header).strip())
            self._header = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._header is not None:
            self._header.append(data)
        if self._in and self._in[-1] == "textarea":
            self.textarea += data


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    measure = ox.NamedNode(MEASURE)
    store.extend([
        ox.Quad(measure, ox.NamedNode(SKOS + "prefLabel"), ox.Literal("<b>地域</b> & \"福祉\"", language="ja")),
        ox.Quad(measure, ox.NamedNode(SKOS + "notation"), ox.Literal("1-3-2")),
        ox.Quad(measure, ox.NamedNode(SKOS + "related"), ox.NamedNode("javascript:alert(1)")),
        ox.Quad(measure, ox.NamedNode(SKOS + "related"), ox.NamedNode("http://metadata.un.org/sdg/3")),
    ])
    return store


def page(store: ox.Store, query: str, *, fmt: str = "results", max_rows: int = 100, max_bytes: int = 0,
         **job: object) -> Page:
    formats = {"results_format": "html"} if fmt == "results" else {"graph_format": "html"}
    result = run_job(store, QueryJob(query=query, page_base_iri=BASE, **formats, **job),  # type: ignore[arg-type]
                     max_rows=max_rows, max_bytes=max_bytes)
    assert result.media_type == "text/html; charset=utf-8"
    return Page(result.body)


def test_select_rows_are_a_table_with_one_column_per_variable(store: ox.Store) -> None:
    shown = page(store, f"SELECT ?label ?none ?code WHERE {{ <{MEASURE}> <{SKOS}prefLabel> ?label ; <{SKOS}notation> ?code }}")
    assert shown.headers == ["#", "?label", "?none", "?code"]
    # The literal's markup is text, not markup; its language is shown; an unbound value is an empty cell.
    assert shown.rows == [["1", "<b>地域</b> & \"福祉\" @ja", "", "1-3-2"]]
    assert shown.scripts == 0


def test_only_http_iris_are_links_and_the_datasets_own_lead_to_this_servers_pages(store: ox.Store) -> None:
    shown = page(store, f"SELECT ?s ?o WHERE {{ ?s <{SKOS}related> ?o }} ORDER BY ?o")
    assert sorted(shown.cell_links) == ["/id/132292/basic-plan-3/1-3-2", "/id/132292/basic-plan-3/1-3-2",
                                        "http://metadata.un.org/sdg/3"]
    assert any("javascript:alert(1)" in row for row in shown.rows)  # shown as text ...
    assert not any(link.startswith("javascript:") for link in shown.links)  # ... never as a link


def test_an_iri_under_the_base_that_would_make_a_link_to_another_host_is_not_taken_as_ours(store: ox.Store) -> None:
    crafted = BASE + "/evil.example/phish"
    shown = page(store, f'SELECT ?x WHERE {{ BIND(IRI("{crafted}") AS ?x) }}')
    assert shown.cell_links == [crafted]  # the IRI itself (on w3id.org), not "//evil.example/phish"


def test_ask_shows_the_answer(store: ox.Store) -> None:
    assert b"<strong class=\"boolean\">true</strong>" in run_job(
        store, QueryJob(query=f"ASK {{ <{MEASURE}> ?p ?o }}", results_format="html"), max_rows=10).body
    assert b"<strong class=\"boolean\">false</strong>" in run_job(
        store, QueryJob(query="ASK { <urn:x> ?p ?o }", results_format="html"), max_rows=10).body


def test_construct_triples_are_a_table_of_subject_predicate_object(store: ox.Store) -> None:
    shown = page(store, f"CONSTRUCT {{ ?s <{SKOS}notation> ?o }} WHERE {{ ?s <{SKOS}notation> ?o }}", fmt="graph")
    assert shown.headers == ["#", "subject", "predicate", "object"]
    assert shown.rows == [["1", MEASURE, "skos:notation", "1-3-2"]]


def test_the_page_links_to_the_same_answer_in_each_machine_format_and_repeats_query_and_dataset(store: ox.Store) -> None:
    query = f"SELECT ?code WHERE {{ <{MEASURE}> <{SKOS}notation> ?code }}"
    shown = page(store, query, default_graphs=("urn:g",), named_graphs=())
    asked = [parse_qs(urlsplit(link).query) for link in shown.links if link.startswith("/sparql?")]
    assert sorted(a["format"][0] for a in asked) == ["csv", "json", "tsv", "xml"]
    assert all(a["query"] == [query] and a["default-graph-uri"] == ["urn:g"] for a in asked)
    assert shown.textarea == query and shown.hidden == [("default-graph-uri", "urn:g")]
    graph = page(store, f"DESCRIBE <{MEASURE}>", fmt="graph")
    assert sorted(parse_qs(urlsplit(link).query)["format"][0] for link in graph.links if link.startswith("/sparql?")) == [
        "jsonld", "ntriples", "rdfxml", "turtle"]


def test_row_counts_hold_for_empty_answers_and_answers_without_variables(store: ox.Store) -> None:
    assert "<strong>0</strong>" in render_text(store, "SELECT ?x WHERE { FILTER(false) }")
    empty_pattern = page(store, "SELECT * WHERE { }")
    assert empty_pattern.headers == ["#"] and empty_pattern.rows == [["1"]]


def test_a_query_too_long_for_a_url_is_sent_again_by_post(store: ox.Store) -> None:
    query = "SELECT ?x WHERE { VALUES ?x { " + " ".join(f'"{n}"' for n in range(800)) + " } } LIMIT 1"
    body = run_job(store, QueryJob(query=query, results_format="html"), max_rows=10).body.decode()
    assert "/sparql?" not in body and 'method="get"' not in body
    assert body.count('<form method="post" action="/sparql">') == 4  # one per machine format
    assert '<form class="plain-query" method="post" action="/sparql">' in body
    assert Page(body.encode()).textarea == query


def test_a_page_is_stopped_as_soon_as_it_is_over_the_size_limit() -> None:
    read: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(10_000):
            read.append(n)
            yield [ox.Literal(f"row {n} " + "x" * 100)]

    with pytest.raises(results.PageTooLarge):
        results.render("SELECT ?x {}", base_iri=BASE, variables=["x"], rows=rows(), count=10_000, max_bytes=50_000)
    assert 100 < len(read) < 1000  # ~130 bytes a row: stopped near the limit, not after all 10,000


def render_text(store: ox.Store, query: str) -> str:
    return run_job(store, QueryJob(query=query, results_format="html"), max_rows=10).body.decode()


def test_the_row_and_byte_limits_hold_for_pages_too(store: ox.Store) -> None:
    values = "SELECT ?x WHERE { VALUES ?x { 1 2 3 4 } }"
    assert len(page(store, values, max_rows=4).rows) == 4
    with pytest.raises(QueryRejected, match="more than 3 rows"):
        page(store, values, max_rows=3)
    with pytest.raises(QueryRejected, match="more than 1 triples"):
        page(store, f"DESCRIBE <{MEASURE}>", fmt="graph", max_rows=1)
    with pytest.raises(QueryRejected, match="larger than 2000 bytes"):
        page(store, values, max_bytes=2000)


@pytest.mark.parametrize(("status", "message", "setting", "japanese"), [
    (400, "the query is not valid SPARQL 1.1: at 1:35, ...", None, "SPARQL 1.1 の文法に合っていません"),
    (503, "the query was stopped after 30 s, this endpoint's time limit; ...", "query_timeout_s", "時間の上限を超えた"),
    (503, "the query was stopped: it needed more than 2000 MB, ...", "query_memory_bytes", "メモリの上限を超えた"),
    (400, "the result has more than 10000 rows, ...", "max_result_rows", "ORDER BY・LIMIT・OFFSET で分けて"),
    (400, "the result is larger than 64 MB, ...", "max_response_bytes", "結果の大きさがこのエンドポイントの上限"),
    (403, "this endpoint is read-only: SPARQL updates are not accepted", None, "読み取り専用"),
    (429, "this client already has 4 queries running, ...", None, "同時の問い合わせが上限に達して"),
    (503, "the query was stopped after 2.0 s to let another client's query run: ...", None, "しばらくしてから"),
    (403, "SERVICE <http://example.org/sparql> is not allowed: ...", "service_allow_list", "SERVICE（ほかの"),
    (400, "a SERVICE inside another SERVICE cannot be checked, so it is refused", "service_allow_list", "SERVICE（ほかの"),
    (400, "the query could not be evaluated: ...", None, "理由は下の英語の説明のとおりです"),
])
def test_an_error_page_says_why_in_japanese_too(status: int, message: str, setting: str | None, japanese: str) -> None:
    """The page around the reason was bilingual; the reason itself, the endpoint's own text, is English only."""
    page = results.error_page("ASK {}", status, message, setting=setting).decode()
    said = re.search(r'<p class="query-error-ja" lang="ja">(.*?)</p>', page)
    assert said is not None and japanese in said[1]
    assert said.end() < page.index('<pre class="query-error-message" lang="en">')  # before the English


def test_an_error_page_repeats_a_query_to_fix_unless_it_is_too_long() -> None:
    """The query comes back escaped in the form; one over MAX_REPEATED_CHARS does not (escaping and
    sending a megabyte for every refusal, a 429 too, held up the server process), and the page says so."""
    short = 'SELECT * { ?s ?p "</textarea><script>x()</script>" }'
    page = results.error_page(short, 400, "the query is not valid <SPARQL>").decode()
    assert "&lt;/textarea&gt;&lt;script&gt;" in page and "<script>x()" not in page
    assert "the query is not valid &lt;SPARQL&gt;" in page and "query-omitted" not in page
    long = "SELECT * { <a> <b> \"" + "<&>" * 330_000 + "\" }"
    page = results.error_page(long, 429, "too many queries at once").decode()
    assert "&lt;&amp;&gt;" not in page and len(page) < 20_000
    assert f"The query ({len(long)} characters) is too long to repeat here" in page
    at_limit = "#" * results.MAX_REPEATED_CHARS
    assert at_limit in results.error_page(at_limit, 400, "x").decode()
