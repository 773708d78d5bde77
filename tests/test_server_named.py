"""plan_kg.server.named: named queries the server process answers itself once a worker has answered them quickly."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from plan_kg.server import QueryRequest, QueryService
from plan_kg.named_queries import NamedQuery
from plan_kg.server.jobs import QueryJob
from plan_kg.server.named import QuickNamedQueries, token_text
from server_fixtures import PLAN_GRAPH, jobs_run_here, sample_settings

#: A named query over the sample dump (two patterns: no one-pattern lookup), with what a reading of comments can
#: trip on: '#' in an IRI and in strings, quotes in a comment, an escaped quote, a long string over two lines.
NAMED = """\
# title: Parts and wholes
# title_ja: 部分と全体
# description: Every part, with its whole's label; "quotes" and 'quotes' in a comment
# description_ja: 部分と、全体のラベル
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?part ?label WHERE {
  ?part dct:isPartOf ?whole .   # a comment after a pattern
  ?whole rdfs:label ?label .
  FILTER(?label != "a # b" && ?label != 'c\\'d # e' && ?label != \"\"\"f
  # g\"\"\")
} ORDER BY ?part
"""


def test_comments_and_white_space_between_tokens_do_not_count_and_nothing_else_is_left_out() -> None:
    same = token_text(NAMED)
    assert token_text("\n\t" + NAMED.replace("  ?", " \r\n ?").replace(" .", "# x\n.") + "# mine\n") == same
    assert same.startswith("PREFIX dct: <http://purl.org/dc/terms/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
                           " SELECT ?part ?label WHERE { ?part dct:isPartOf ?whole . ?whole rdfs:label ?label .")
    assert '"a # b"' in same and "'c\\'d # e'" in same and '"""f\n  # g"""' in same  # strings as they are
    for other in [NAMED.replace("SELECT", "select"),  # the parser reads it alike; the token differs
                  NAMED.replace("?whole rdfs", "?whole  rdfs").replace("a # b", "a  # b"),  # in a string
                  NAMED.replace("# g", "# h"),  # in a long string, on its own line
                  NAMED.replace("\\'d # e", "\\'d # f"),  # after an escaped quote
                  NAMED.replace("ORDER BY ?part", "ORDER BY ?label"),
                  NAMED.replace("?label .", "?label . # x\n ?s ?p ?o .")]:
        assert token_text(other) != same
    # SPARQL's white space is four characters: an ideographic space, or a vertical tab, is no space to its parser.
    assert token_text("SELECT\u3000*") != token_text("SELECT *") != token_text("SELECT\x0b*")
    # An escaped character of a prefixed name is part of it, not a comment or a string.
    assert token_text("ASK { ex:a\\#b ?p 'x' }") != token_text("ASK { ex:a\\#c ?p 'x' }")
    assert token_text("ASK { ex:a\\'b ?p 'c #d' }") != token_text("ASK { ex:a\\'b ?p 'c #e' }")


def test_a_string_a_line_end_breaks_is_not_taken_for_the_named_query() -> None:
    """A short string cannot hold a line end: a text that puts one where the named query's string has white space
    is one the parser refuses (a worker says why), though the same characters are left once the line end is one
    space between a string left open and what follows."""
    named = HEADERS + 'SELECT (GROUP_CONCAT(?o; SEPARATOR=" | ") AS ?all) WHERE { ?s ?p ?o }'
    quick = QuickNamedQueries([NamedQuery("all", "t", "t", "d", "d", named)], most_s=1.0)
    for broken in ['"\n | "', '"\r | "', '"\r\n# mine\n | "', '" |\n"']:
        text = named.replace('" | "', broken)
        with pytest.raises(SyntaxError):
            ox.Store().query(text)
        assert quick.named(QueryJob(query=text, results_format="json")) is None, broken
    single = named.replace('" | "', "' | '")
    quick = QuickNamedQueries([NamedQuery("all", "t", "t", "d", "d", single)], most_s=1.0)
    assert quick.named(QueryJob(query=single.replace("' | '", "'\n | '"), results_format="json")) is None
    assert quick.named(QueryJob(query=single + "\n# mine", results_format="json")) == single


def test_a_text_with_far_more_brackets_quotes_and_hashes_than_a_named_query_is_not_split_for_its_tokens() -> None:
    """Splitting a text into IRIs, strings and comments took 200-600 µs for 4 KB of quotes and brackets, for every
    such request (after a named query, too). The characters a unit starts with are counted first; the text is read
    only with at most 128 more of them than the named query has: a comment full of them sends it to a worker."""
    quick = QuickNamedQueries([NamedQuery("parts", "t", "t", "d", "d", NAMED)], most_s=1.0)
    for room in (10, 120):
        assert quick.named(QueryJob(query="# " + "<" * room + "\n" + NAMED, results_format="json")) == NAMED
        assert quick.named(QueryJob(query=NAMED + "# " + "<" * room, results_format="json")) == NAMED
    assert quick.named(QueryJob(query="# " + "<" * 140 + "\n" + NAMED, results_format="json")) is None
    assert quick.named(QueryJob(query=NAMED + '"\n<' * 500, results_format="json")) is None
    assert quick.named(QueryJob(query=NAMED + "# " + '"\n<' * 500, results_format="json")) is None
    assert quick.named(QueryJob(query=NAMED + "# " + '"<' * 500, results_format="json")) == NAMED  # one comment


_STORE = ox.Store()
for _part, _whole, _label in [("p1", "w1", "a # b"), ("p2", "w1", "a # b"), ("p3", "w2", "whole"), ("p4", "w3", "f")]:
    _STORE.add(ox.Quad(ox.NamedNode(f"urn:x:{_part}"), ox.NamedNode("http://purl.org/dc/terms/isPartOf"),
                       ox.NamedNode(f"urn:x:{_whole}")))
    _STORE.add(ox.Quad(ox.NamedNode(f"urn:x:{_whole}"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                       ox.Literal(_label)))


def _answer(query: str) -> bytes | str:
    try:
        return _STORE.query(query).serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[union-attr]
    except SyntaxError:
        return "not SPARQL"


def _edited_and_taken(named: str, edits: list[tuple[int, str]]) -> tuple[str, str | None]:
    """`named` with each (position, characters) of `edits` put in, and the named query it is taken for (None: none)."""
    text = named
    for at, characters in sorted(edits, reverse=True):
        text = text[:at] + characters + text[at:]
    taken = QuickNamedQueries([NamedQuery("q", "t", "t", "d", "d", named)], most_s=1.0).named(
        QueryJob(query=text, results_format="json"))
    assert taken in (None, named)
    return text, taken


#: Named queries as a file may end: with a line end, or in a comment (what is sent after it is in the comment then).
ENDINGS = [NAMED, NAMED.rstrip("\n"), NAMED + "# the end, without a line end"]


@examples(max_examples=300, deadline=None)
@given(st.sampled_from(ENDINGS),
       st.lists(st.tuples(st.integers(0, len(NAMED) + 40), st.sampled_from([" ", "\n", "\t", "#", "# x\n", '"', "'", "\\",
                                                                             "<", ">", "x", "\r", "\x0b"])),
                min_size=1, max_size=4))
def test_a_text_taken_for_the_named_query_is_read_by_the_parser_as_the_named_query(named: str, edits) -> None:
    """pyoxigraph is the judge: characters put anywhere into the named query (or after it), whenever the text is taken
    for it, leave a query with the same answer (and a text that is not SPARQL is never taken for it)."""
    text, taken = _edited_and_taken(named, edits)
    assert (taken is not None) is (token_text(text) == token_text(named))  # a text starting with it, or any other
    if taken is not None:
        assert _answer(text) == _answer(named) != "not SPARQL"


#: A named query with less than before a quote: `_UNITS` reads the IRI <'>, then a comment to the line's end, where the
#: parser reads the string '>#' and code.
LESS_THAN = "# title: t\n# title_ja: t\n# description: d\n# description_ja: d\nSELECT ?x WHERE { VALUES ?x { 1 } FILTER(''<'>#' && ?x = 1)\n}"


def test_a_text_that_differs_from_a_named_query_where_its_less_than_is_read_for_an_iri_is_not_taken_for_it() -> None:
    """Read for its tokens, LESS_THAN had the tokens of a text that asks for ?x = 2 on that line (no rows, where it
    has one), and such a text got its answer. A named query with a quote in what is read as an IRI is matched by its
    own text only (and comments and white space after it)."""
    other = LESS_THAN.replace("?x = 1", "?x = 2")
    assert token_text(other) == token_text(LESS_THAN) and _answer(other) != _answer(LESS_THAN)
    quick = QuickNamedQueries([NamedQuery("less", "t", "t", "d", "d", LESS_THAN)], most_s=1.0)
    assert quick.named(QueryJob(query=other, results_format="json")) is None
    assert quick.named(QueryJob(query=LESS_THAN + "  # mine\n", results_format="json")) == LESS_THAN
    assert quick.named(QueryJob(query="# mine\n" + LESS_THAN, results_format="json")) is None  # to a worker


@examples(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(LESS_THAN) + 10), st.sampled_from([" ", "\n", "#", "# x\n", "'", "<", ">",
                                                                                  "2", "?x", "|| true"])),
                min_size=1, max_size=3))
def test_a_text_taken_for_a_named_query_with_less_than_is_read_by_the_parser_as_it(edits) -> None:
    """pyoxigraph is the judge, for a named query `_UNITS` does not read as the parser does."""
    text, taken = _edited_and_taken(LESS_THAN, edits)
    if taken is not None:
        assert _answer(text) == _answer(LESS_THAN) != "not SPARQL"


def _named_service(tmp: Path, named: str = NAMED, **settings: object) -> QueryService:
    """A service whose one named query is `named`; a worker's answer counts as quick within 1 s unless `settings`
    say otherwise (the default, 1 ms, is more than a worker takes on a busy machine now and then)."""
    queries = tmp / "queries"
    queries.mkdir(parents=True)
    (queries / "parts.rq").write_text(named, encoding="utf-8")
    settings = {"in_process_named_s": 1.0, **settings}
    return QueryService.for_settings(sample_settings(tmp, queries_dir=queries, **settings))


#: The other query forms, as named queries over the sample dump.
HEADERS = "# title: t\n# title_ja: t\n# description: d\n# description_ja: d\n"
ASK = HEADERS + "ASK { ?part <http://purl.org/dc/terms/isPartOf> ?whole . ?whole ?p ?o }"
CONSTRUCT = HEADERS + ("CONSTRUCT { ?whole <urn:x:has> ?part } WHERE { ?part <http://purl.org/dc/terms/isPartOf> ?whole"
                       " . ?whole ?p ?o }")


@pytest.mark.parametrize(("named", "formats"), [(NAMED, ("json", "xml", "csv", "tsv")),
                                                (ASK, ("json", "xml", "csv", "tsv")),
                                                (CONSTRUCT, ("turtle", "ntriples", "jsonld", "rdfxml"))])
def test_a_named_query_a_worker_answered_quickly_is_answered_here_with_the_workers_bytes(
        tmp_path: Path, monkeypatch, named: str, formats: tuple[str, ...]) -> None:
    service = _named_service(tmp_path, named)
    run_here = jobs_run_here(monkeypatch)

    async def answers() -> list[tuple[str, bytes]]:
        async with service:
            sent = [QueryRequest(named + f"\n# mine {n}", format=fmt) for fmt in formats for n in range(3)]
            return [(r.media_type, r.body) for r in [await service.execute(request) for request in sent]]

    got = asyncio.run(answers())
    # The first of each format went to a worker; the next two were run here, with the same bytes.
    assert service.named_in_process_answers == 2 * len(formats)
    assert [job.query for job in run_here] == [named] * 2 * len(formats)  # the named query's text, never the one sent
    by_format = [got[at:at + 3] for at in range(0, len(got), 3)]
    assert all(first == second == third for first, second, third in by_format)
    assert len({answer for answer, _, _ in by_format}) == len(formats)
    if named == NAMED:
        assert len(json.loads(got[0][1])["results"]["bindings"]) == 3  # 1 in the city, 1-1 and 1-2 in 1
    elif named == ASK:
        assert json.loads(got[0][1])["boolean"] is True and got[9][1].endswith(b"true\n")
    else:
        assert got[3][1].count(b"<urn:x:has>") == 3


def test_what_is_not_the_named_query_or_not_quick_goes_to_a_worker(tmp_path: Path) -> None:
    async def in_process(service: QueryService, requests: list[QueryRequest]) -> int:
        async with service:
            for request in requests:
                await service.execute(request)
            return service.named_in_process_answers

    twice = [QueryRequest(NAMED + f"# {n}", format="json") for n in range(2)]
    assert asyncio.run(in_process(_named_service(tmp_path / "on"), twice)) == 1
    assert asyncio.run(in_process(_named_service(tmp_path / "off", in_process_named_s=0), twice)) == 0
    assert asyncio.run(in_process(_named_service(tmp_path / "slow", in_process_named_s=1e-9), twice)) == 0
    others = [QueryRequest(NAMED.replace("ORDER BY ?part", "ORDER BY DESC(?part)"), format="json"),  # another query
              QueryRequest(NAMED, format="json", default_graphs=[PLAN_GRAPH]),  # another dataset
              QueryRequest(NAMED, accept="text/html"),  # a page shows the text as sent
              # Not read for its tokens: far more comments of its own (before it: comments after it are only read
              # for a token), or far longer, than a named query
              QueryRequest("# a comment\n" * 65 + NAMED, format="json"),
              QueryRequest(NAMED + "#" + "x" * 2_100, format="json")]
    assert asyncio.run(in_process(_named_service(tmp_path / "others"), [*twice, *others, *others])) == 1


def test_a_construct_asked_for_as_a_page_beside_another_results_format_goes_to_a_worker(tmp_path: Path) -> None:
    """A page shows the text as sent, comments and all: one for a CONSTRUCT is a page too where the client's Accept
    takes JSON for a SELECT's results (only the graph format is the page), and never the named query's own text."""
    accept = "application/sparql-results+json, text/html;q=0.5"
    service = _named_service(tmp_path, CONSTRUCT, in_process_named_s=1.0)

    async def pages() -> list[bytes]:
        async with service:
            return [(await service.execute(QueryRequest(CONSTRUCT + f"\n# mine {n}", accept=accept))).body
                    for n in range(3)]

    assert all(f"# mine {n}".encode() in page for n, page in enumerate(asyncio.run(pages())))
    assert service.named_in_process_answers == 0


def test_a_named_query_with_service_is_never_run_here() -> None:
    """SERVICE is checked under a time limit, and reaches out: a worker's, however quick it was."""
    text = NAMED.replace("?whole rdfs:label ?label .",
                         "SERVICE <https://other.example/sparql> { ?whole rdfs:label ?label }")
    quick = QuickNamedQueries([NamedQuery("parts", "t", "t", "d", "d", text),
                               NamedQuery("all", "t", "t", "d", "d", NAMED)], most_s=1.0)
    for named in (text, NAMED):
        job = QueryJob(query=named + "# mine", results_format="json")
        quick.note(named, job, 0.0001)
        assert (quick.named(job) is not None) is (named == NAMED)
        assert quick.is_quick(named, job) and not quick.is_quick(named, replace(job, results_format="xml"))


def test_a_folder_with_a_file_without_its_headers_leaves_every_named_query_to_the_workers(tmp_path: Path) -> None:
    """The home page refuses such a folder, saying which file; the endpoint still answers, from its workers."""
    service = _named_service(tmp_path)
    (service.settings.queries_dir / "headless.rq").write_text("SELECT * { ?s ?p ?o }", encoding="utf-8")

    async def run() -> list[bytes]:
        async with service:
            return [(await service.execute(QueryRequest(NAMED + f"# {n}", format="json"))).body for n in range(3)]

    assert len(set(asyncio.run(run()))) == 1
    assert service.named_in_process_answers == 0


#: A named query with less than before '#': `_UNITS` reads the IRIs <3#> and <=4#>, and code after each, where the
#: parser reads a comment from each '#' to the line's end (FILTER(?x < 3) only).
LESS_THAN_HASH = HEADERS + "SELECT ?x WHERE { VALUES ?x { 1 5 } FILTER(?x<3#> || ?x>=4#> \n) }"


def test_a_text_that_moves_a_line_end_into_what_the_parser_reads_as_a_comment_after_less_than_is_not_taken() -> None:
    """Found by hand after the rule for a quote in an IRI: a '#' in what `_UNITS` reads as an IRI starts a comment to
    the parser, and a text with a line end put into it (white space to `_UNITS`) has the named query's tokens where
    the parser reads more code (`|| ?x>=4`: two rows where the named query has one), and got its answer."""
    other = LESS_THAN_HASH.replace("#> ||", "#>\n||")
    assert token_text(other) == token_text(LESS_THAN_HASH) and _answer(other) != _answer(LESS_THAN_HASH)
    quick = QuickNamedQueries([NamedQuery("less", "t", "t", "d", "d", LESS_THAN_HASH)], most_s=1.0)
    assert quick.named(QueryJob(query=other, results_format="json")) is None
    assert quick.named(QueryJob(query=LESS_THAN_HASH + "  # mine\n", results_format="json")) == LESS_THAN_HASH
    # A '#' in an IRI the parser reads as one (as every shipped query's prefixes have) is still read for tokens.
    real = HEADERS + "PREFIX ex: <http://e/#>\nSELECT ?x WHERE { VALUES ?x { ex:a } FILTER(?x != <http://e/#b>) }"
    quick = QuickNamedQueries([NamedQuery("real", "t", "t", "d", "d", real)], most_s=1.0)
    assert quick.named(QueryJob(query="# mine\n" + real.replace(" }", "\n}"), results_format="json")) == real


@examples(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(LESS_THAN_HASH) + 10),
                          st.sampled_from([" ", "\n", "\r", "#", "# x\n", "<", ">", "2", "?x", "|| true"])),
                min_size=1, max_size=3))
def test_a_text_taken_for_a_named_query_with_less_than_before_a_hash_is_read_by_the_parser_as_it(edits) -> None:
    """pyoxigraph is the judge, for a named query with '#' in what `_UNITS` reads as an IRI and the parser does not."""
    text, taken = _edited_and_taken(LESS_THAN_HASH, edits)
    if taken is not None:
        assert _answer(text) == _answer(LESS_THAN_HASH) != "not SPARQL"
