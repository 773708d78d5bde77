"""plan_kg.server.worker: the row limit, enforced while the result is written in the format asked for."""

from __future__ import annotations

import csv
import io

import pyoxigraph as ox
import pytest

from plan_kg import formats
from plan_kg.server.jobs import QueryJob, QueryRejected
from plan_kg.server.serialize import _CountingSink, serialize_solutions_exactly
from plan_kg.server.worker import run_job

LIMIT = 3
RESULT_FORMATS = ("json", "xml", "csv", "tsv")


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return ox.Store()


def answer(store: ox.Store, query: str, fmt: str) -> bytes:
    return run_job(store, QueryJob(query=query, results_format=fmt), max_rows=LIMIT).body


def rows(body: bytes, fmt: str) -> list[str | None]:
    """The values of ?x, row by row (None: unbound)."""
    if fmt == "csv":  # pyoxigraph does not read CSV results back (the format is lossy)
        header, *lines = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
        assert header == ["x"]
        return [line[0] if line and line[0] else None for line in lines]  # an unbound value: an empty line
    media_type = formats.by_name(fmt).media_type
    parsed = ox.parse_query_results(body, ox.QueryResultsFormat.from_media_type(media_type))
    return [s["x"].value if s["x"] is not None else None for s in parsed]


def values(terms: list[str]) -> str:
    return "SELECT ?x WHERE { VALUES ?x { " + " ".join(terms) + " } }"


@pytest.mark.parametrize("fmt", RESULT_FORMATS)
def test_a_result_at_the_limit_is_answered_and_one_row_more_is_refused(store: ox.Store, fmt: str) -> None:
    body = answer(store, values(["1", "2", "3"]), fmt)
    assert rows(body, fmt) == ["1", "2", "3"]
    with pytest.raises(QueryRejected) as refused:
        answer(store, values(["1", "2", "3", "4"]), fmt)
    assert refused.value.status == 400 and f"more than {LIMIT} rows" in refused.value.message
    assert f"LIMIT {LIMIT} and OFFSET" in refused.value.message  # how to get every row, not only "add LIMIT"


@pytest.mark.parametrize("fmt", RESULT_FORMATS)
def test_rows_without_bindings_count_too(store: ox.Store, fmt: str) -> None:
    # JSON writes them as {},{}: the separators are all there is to count.
    assert rows(answer(store, values(["UNDEF"] * 3), fmt), fmt) == [None] * 3
    with pytest.raises(QueryRejected):
        answer(store, values(["UNDEF"] * 4), fmt)


@pytest.mark.parametrize("fmt", RESULT_FORMATS)
def test_values_that_look_like_row_marks_do_not_make_a_result_too_long(store: ox.Store, fmt: str) -> None:
    # Three rows whose literals hold JSON's and CSV's row marks many times: the direct count says
    # "maybe over", the exact second pass says not, and the bytes are what the exact path writes.
    tricky = '"a},{b},{c},{d\\n\\n\\n\\ne<result>"'
    query = values([tricky, tricky.replace("a", "A"), tricky.replace("a", "α")])
    body = answer(store, query, fmt)
    assert [value[0] for value in rows(body, fmt)] == ["a", "A", "α"]
    assert body == serialize_solutions_exactly(store.query(query), formats.by_name(fmt), LIMIT)
    with pytest.raises(QueryRejected):
        answer(store, values([tricky, tricky, tricky, '"x"']), fmt)


def test_a_mark_split_between_two_writes_is_counted_once() -> None:
    sink = _CountingSink(b"},{", most=1)
    for chunk in (b'[{"a":1}', b",", b'{"a":2}', b"]"):
        sink.write(chunk)
    assert sink.count == 1 and b"".join(sink.chunks) == b'[{"a":1},{"a":2}]'


#: Two rows of one string of 4,000 characters each, ~8,100 bytes in every format.
BIG_STRINGS = ('SELECT ?x WHERE { VALUES ?n { 1 2 } BIND("' + "x" * 1000 + '" AS ?a) '
               "BIND(CONCAT(?a, ?a, ?a, ?a) AS ?x) }")


@pytest.mark.parametrize("fmt", RESULT_FORMATS)
def test_a_result_over_the_byte_limit_is_refused_while_it_is_written(store: ox.Store, fmt: str) -> None:
    whole = run_job(store, QueryJob(query=BIG_STRINGS, results_format=fmt), max_rows=LIMIT).body
    assert 8_000 < len(whole) < 9_000
    fits = run_job(store, QueryJob(query=BIG_STRINGS, results_format=fmt), max_rows=LIMIT, max_bytes=len(whole))
    assert fits.body == whole
    with pytest.raises(QueryRejected) as refused:
        run_job(store, QueryJob(query=BIG_STRINGS, results_format=fmt), max_rows=LIMIT, max_bytes=len(whole) - 1)
    assert refused.value.status == 400
    assert refused.value.message.startswith(f"the result is larger than {len(whole) - 1} bytes, this endpoint's limit")
    # Stopped early: the writer gives up once past the limit, long before the whole result.
    with pytest.raises(QueryRejected):
        run_job(store, QueryJob(query=BIG_STRINGS, results_format=fmt), max_rows=LIMIT, max_bytes=100)


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "rdfxml"])
def test_a_graph_over_the_byte_limit_is_refused(store: ox.Store, fmt: str) -> None:
    query = (BIG_STRINGS.replace("SELECT ?x WHERE", "CONSTRUCT { ?n <http://example.org/p> ?x } WHERE")
             .replace("{ 1 2 }", "{ <http://example.org/1> <http://example.org/2> }"))
    whole = run_job(store, QueryJob(query=query, graph_format=fmt), max_rows=LIMIT).body
    assert len(whole) > 8_000
    assert run_job(store, QueryJob(query=query, graph_format=fmt), max_rows=LIMIT, max_bytes=len(whole)).body == whole
    with pytest.raises(QueryRejected) as refused:
        run_job(store, QueryJob(query=query, graph_format=fmt), max_rows=LIMIT, max_bytes=len(whole) - 1)
    assert refused.value.status == 400 and "this endpoint's limit" in refused.value.message


#: Run in a fresh process: the peak memory (KB) of a CONSTRUCT whose answer would be ~200 MB, each of
#: 2,000 triples holding the same literal of 100,000 characters, refused at a 1 MB limit.
_HUGE_GRAPH = """
import resource, sys
import pyoxigraph as ox
from plan_kg.server.jobs import QueryJob, QueryRejected
from plan_kg.server.worker import run_job
store = ox.Store()
store.extend(ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), ox.Literal(str(i))) for i in range(2000))
query = 'CONSTRUCT { ?s <urn:p> ?big } WHERE { ?s <urn:p> ?o VALUES ?big { "' + "x" * 100_000 + '" } }'
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    run_job(store, QueryJob(query=query, graph_format=sys.argv[1]), max_rows=10_000, max_bytes=1_000_000)
except QueryRejected as refused:
    print(refused.status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, refused.message)
"""


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "rdfxml"])
def test_a_graph_is_refused_as_it_passes_the_byte_limit_not_after(fmt: str) -> None:
    """A CONSTRUCT is written as its triples come and stopped at the limit: before, all of them were
    held first (up to the row limit), so a worker could grow to its memory cap (2 GB) on a graph of
    10,000 triples of a megabyte each and be answered 503 instead of 400."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _HUGE_GRAPH, fmt], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    status, grown_kb, message = done.stdout.split(" ", 2)
    assert status == "400" and message.startswith("the result is larger than 1 MB, this endpoint's limit")
    assert int(grown_kb) < 50_000, f"{fmt}: the worker grew by {grown_kb} KB for a 1 MB limit"


def test_a_graph_past_the_row_limit_is_refused_with_the_limit(store: ox.Store) -> None:
    query = "CONSTRUCT { ?s <urn:p> 1 } WHERE { VALUES ?s { " + " ".join(f"<urn:s{i}>" for i in range(LIMIT + 1)) + " } }"
    for fmt in ("turtle", "ntriples", "jsonld", "rdfxml", "html"):
        with pytest.raises(QueryRejected) as refused:
            run_job(store, QueryJob(query=query, graph_format=fmt), max_rows=LIMIT)
        assert refused.value.status == 400 and f"more than {LIMIT} triples" in refused.value.message, fmt
        assert "a DESCRIBE's LIMIT counts the resources" in refused.value.message, fmt
    fits = query.replace(f" <urn:s{LIMIT}>", "")
    assert run_job(store, QueryJob(query=fits, graph_format="ntriples"), max_rows=LIMIT).body.count(b"\n") == LIMIT


def test_a_graph_page_stops_at_the_byte_limit_while_the_triples_are_read(store: ox.Store) -> None:
    query = ('CONSTRUCT { ?s <urn:p> ?big } WHERE { VALUES ?s { <urn:a> <urn:b> <urn:c> } VALUES ?big { "'
             + "x" * 5_000 + '" } }')
    job = QueryJob(query=query, graph_format="html", page_base_iri="https://example.org/")
    assert b"xxxxx" in run_job(store, job, max_rows=LIMIT, max_bytes=100_000).body
    with pytest.raises(QueryRejected) as refused:
        run_job(store, job, max_rows=LIMIT, max_bytes=9_000)  # two values alone are 10,000 characters
    assert refused.value.status == 400 and "larger than 9000 bytes" in refused.value.message


def test_a_query_nested_too_deeply_for_the_parser_is_refused_with_where(store: ox.Store) -> None:
    """pyoxigraph's parser overflows its stack (the worker dies) at ~1,000 nested calls: refused first, 400."""
    deep = "SELECT * WHERE {\n  BIND(" + "CONCAT(" * 5000 + "'a'" + ")" * 5000 + " AS ?x) }"
    with pytest.raises(QueryRejected) as refused:
        run_job(store, QueryJob(query=deep, results_format="json"), max_rows=LIMIT)
    assert refused.value.status == 400
    assert "nests brackets more than 256 deep (at 2:" in refused.value.message
