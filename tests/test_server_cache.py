"""plan_kg.server.cache: kept answers and ETags, through the real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from plan_kg.server import create_app
from plan_kg.conditional import etag_matches, precondition_failed
from plan_kg.server.cache import ENTRY_OVERHEAD, ResponseCache, job_digest
from plan_kg.server.jobs import QueryJob, QueryResult
from server_fixtures import ONTOLOGY_GRAPH, live_app, sample_settings

LABELS = "SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } ORDER BY ?l"
JSON = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Starlette]]:
    settings = sample_settings(tmp_path_factory.mktemp("cache"), max_result_rows=5, response_cache_entry_bytes=1_000)
    app = create_app(settings)
    with live_app(app) as url:
        yield url, app


@pytest.fixture()
def cache(served: tuple[str, Starlette]) -> ResponseCache:
    kept = served[1].state.query_service.cache
    kept.clear()  # each test starts from an empty cache on the shared server
    return kept


def test_a_repeated_query_is_answered_from_the_cache_with_the_same_bytes(served, cache: ResponseCache) -> None:
    url, _ = served
    first = httpx.get(url, params={"query": LABELS}, headers=JSON)
    assert first.status_code == 200 and len(cache) == 1
    second = httpx.get(url, params={"query": LABELS}, headers=JSON)
    assert second.status_code == 200 and len(cache) == 1
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["cache-control"] == "public, max-age=300"
    # POST (form or direct) asks the same: the same kept answer.
    posted = httpx.post(url, content=LABELS, headers={**JSON, "Content-Type": "application/sparql-query"})
    assert posted.content == first.content and len(cache) == 1


def test_a_repeated_get_is_sent_again_before_the_framework_with_the_same_headers(served, cache: ResponseCache) -> None:
    url, app = served
    index = app.state.repeated_requests
    first = httpx.get(url, params={"query": LABELS}, headers=JSON)
    hits = index.hits
    second = httpx.get(url, params={"query": LABELS}, headers=JSON)
    assert index.hits == hits + 1  # answered by RepeatedRequests
    assert second.status_code == 200 and second.content == first.content
    same = ("content-type", "content-length", "etag", "cache-control", "vary")
    assert [second.headers.get(h) for h in same] == [first.headers.get(h) for h in same]
    # Without Origin: the answer still allows every origin (a cache may hand it to a cross-origin fetch).
    assert second.headers["access-control-allow-origin"] == first.headers["access-control-allow-origin"] == "*"
    # Another Accept is another request; Origin (CORS) and If-None-Match (304) take the full path.
    other = httpx.get(url, params={"query": LABELS}, headers={"Accept": "text/csv"})
    cors = httpx.get(url, params={"query": LABELS}, headers={**JSON, "Origin": "https://portal.example"})
    validated = httpx.get(url, params={"query": LABELS}, headers={**JSON, "If-None-Match": first.headers["etag"]})
    assert index.hits == hits + 1
    assert other.headers["content-type"].startswith("text/csv")
    assert cors.content == first.content and cors.headers["access-control-allow-origin"] == "*"
    assert validated.status_code == 304
    # A long request is not indexed (the index holds raw requests): it takes the full path each time.
    long_query = LABELS + " #" + "x" * 5000
    assert httpx.get(url, params={"query": long_query}, headers=JSON).content == first.content
    assert httpx.get(url, params={"query": long_query}, headers=JSON).content == first.content
    assert index.hits == hits + 1
    # Once the response cache lets the answer go, the request is run again, the full way.
    cache.clear()
    again = httpx.get(url, params={"query": LABELS}, headers=JSON)
    assert again.content == first.content and index.hits == hits + 1


@pytest.mark.parametrize(("query", "headers", "status"), [
    (LABELS, JSON, 200),
    ("SELECT ?s { ?s ?p ?o }", JSON, 400),  # over the row limit
    ("SELECT * {", JSON, 400),  # not SPARQL
    (LABELS, {"Accept": "image/png"}, 406),
    ("SELECT ?now { BIND(NOW() AS ?now) }", {"Accept": "text/csv"}, 200),  # never kept: no ETag
])
def test_a_plain_get_answered_without_the_framework_is_what_the_framework_sends(
    served, cache: ResponseCache, query: str, headers: dict[str, str], status: int
) -> None:
    # A plain GET goes to the endpoint directly (SparqlEndpoint.answer_get); the same request with
    # an Origin header takes Starlette's whole stack. Apart from CORS, the answers must be the same.
    url, app = served
    endpoint = app.state.sparql_endpoint
    before = endpoint.direct_answers
    direct = httpx.get(url, params={"query": query}, headers=headers)
    assert endpoint.direct_answers == before + 1
    cache.clear()  # the full path runs the query too, instead of taking the kept answer
    full = httpx.get(url, params={"query": query}, headers={**headers, "Origin": "https://portal.example"})
    assert endpoint.direct_answers == before + 1
    assert direct.status_code == full.status_code == status
    if "NOW" not in query:
        assert direct.content == full.content
    assert full.headers["access-control-allow-origin"] == "*"

    def without_cors(response: httpx.Response) -> list[tuple[str, str]]:
        # CORS adds its headers and "Origin" to Vary; the date and a NOW() answer's length differ.
        kept = []
        for k, v in response.headers.items():
            if k == "vary":
                v = ", ".join(part for part in v.split(", ") if part != "Origin")
            if v and not k.startswith("access-control-") and k != "date" and not (k == "content-length" and "NOW" in query):
                kept.append((k, v))
        return sorted(kept)

    assert without_cors(direct) == without_cors(full)
    assert ("etag" in direct.headers) == (status == 200 and "NOW" not in query)


def test_gets_the_endpoint_leaves_to_the_framework(served, cache: ResponseCache) -> None:
    url, app = served
    endpoint = app.state.sparql_endpoint
    before = endpoint.direct_answers
    description = httpx.get(url, params={"format": "turtle"})  # no query: the service description
    malformed = httpx.get(url + "?query=%ff")  # not UTF-8
    twice = httpx.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert description.status_code == 200 and description.headers["content-type"].startswith("text/turtle")
    assert malformed.status_code == 400 and "UTF-8" in malformed.text
    assert twice.status_code == 400 and "exactly one" in twice.text
    assert endpoint.direct_answers == before


def test_keys_do_not_mix_formats_or_datasets(served, cache: ResponseCache) -> None:
    url, _ = served
    as_json = httpx.get(url, params={"query": LABELS}, headers=JSON)
    as_csv = httpx.get(url, params={"query": LABELS}, headers={"Accept": "text/csv"})
    as_json_again = httpx.get(url, params={"query": LABELS}, headers={"Accept": "application/sparql-results+json;q=0.9"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0] == "l"
    assert as_json_again.content == as_json.content  # another header, the same format: the same entry
    assert len(cache) == 2
    only_ontology = httpx.get(url, params={"query": LABELS, "default-graph-uri": ONTOLOGY_GRAPH}, headers=JSON)
    values = [b["l"]["value"] for b in only_ontology.json()["results"]["bindings"]]
    assert values == ["Measure"]
    assert len(as_json.json()["results"]["bindings"]) == 3
    assert len({as_json.headers["etag"], as_csv.headers["etag"], only_ontology.headers["etag"]}) == 3
    assert len(cache) == 3


def test_errors_and_answers_over_a_limit_are_not_kept(served, cache: ResponseCache) -> None:
    url, _ = served
    for _ in range(2):
        assert httpx.get(url, params={"query": "SELECT * { ?s ?p"}).status_code == 400
        over_rows = httpx.get(url, params={"query": "SELECT * { GRAPH ?g { ?s ?p ?o } }"})
        assert over_rows.status_code == 400 and "limit" in over_rows.text
        assert "etag" not in over_rows.headers
        assert httpx.get(url, params={"query": LABELS}, headers={"Accept": "image/png"}).status_code == 406
    assert len(cache) == 0
    # Answered, but larger than one entry may be (1,000 bytes here): served, not kept.
    big = httpx.get(url, params={"query": "SELECT * { GRAPH ?g { ?s ?p ?o } } LIMIT 5"}, headers=JSON)
    assert big.status_code == 200 and len(big.content) > 1_000
    assert len(cache) == 0


def test_answers_that_may_change_are_neither_kept_nor_validated(served, cache: ResponseCache) -> None:
    url, _ = served
    response = httpx.get(url, params={"query": "SELECT (NOW() AS ?t) (RAND() AS ?r) {}"}, headers=JSON)
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert len(cache) == 0


def test_a_matching_if_none_match_is_answered_304(served, cache: ResponseCache) -> None:
    url, _ = served
    tag = httpx.get(url, params={"query": LABELS}, headers=JSON).headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    not_modified = httpx.get(url, params={"query": LABELS}, headers={**JSON, "If-None-Match": f'"other", {tag}'})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == tag
    assert httpx.get(url, params={"query": LABELS}, headers={**JSON, "If-None-Match": f"W/{tag}"}).status_code == 304
    assert httpx.get(url, params={"query": LABELS}, headers={**JSON, "If-None-Match": '"other"'}).status_code == 200
    # Another format is another answer: the tag does not validate it.
    assert httpx.get(url, params={"query": LABELS}, headers={"Accept": "text/csv", "If-None-Match": tag}).status_code == 200
    # A conditional POST is not a cache validation (RFC 9110 §13.1.2): it is answered in full.
    posted = httpx.post(url, data={"query": LABELS}, headers={**JSON, "If-None-Match": tag})
    assert posted.status_code == 200 and posted.content


def test_a_new_build_changes_the_etags(tmp_path: Path) -> None:
    tags = []
    for name in ("one", "two"):
        app = create_app(sample_settings(tmp_path / name))
        with live_app(app) as url:
            tags.append(httpx.get(url, params={"query": LABELS}, headers=JSON).headers["etag"])
    assert tags[0] != tags[1]


def test_the_cache_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(sample_settings(tmp_path, response_cache_bytes=0))
    with live_app(app) as url:
        first = httpx.get(url, params={"query": LABELS}, headers=JSON)
        second = httpx.get(url, params={"query": LABELS}, headers=JSON)
        description = httpx.get(url, headers={"Accept": "text/turtle"}).text
    assert first.content == second.content
    assert len(app.state.query_service.cache) == 0
    assert "in memory" not in description and "ETag" in description


def test_the_cache_keeps_within_its_bounds() -> None:
    assert ENTRY_OVERHEAD == 300
    cache = ResponseCache(max_bytes=1200, max_entry_bytes=800)
    keys = [job_digest(QueryJob(query=f"ASK {{}} # {n}", results_format="json")) for n in range(6)]  # 64 characters
    for key in keys[:5]:
        cache.put(key, QueryResult(media_type="application/json", body=b"x" * 36))  # 400 bytes with the overhead
    assert len(cache) == 3 and cache.size == 1200
    assert cache.get(keys[0]) is None  # the oldest went first
    assert cache.get(keys[4]) == QueryResult(media_type="application/json", body=b"x" * 36)
    cache.put(keys[5], QueryResult(media_type="application/json", body=b"x" * 437))  # 801 bytes: too large
    assert cache.get(keys[5]) is None and cache.size == 1200


def test_small_answers_count_with_the_memory_python_needs_to_keep_them() -> None:
    """20,000 kept ASK answers: what the cache counts is at least what they take (tracemalloc)."""
    import tracemalloc

    cache = ResponseCache(max_bytes=10**9, max_entry_bytes=10**6)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            key = job_digest(QueryJob(query=f"ASK {{}} # {n}", results_format="json"))
            # Each answer from a worker comes with its own media type string (made per answer).
            cache.put(key, QueryResult(media_type=f"application/sparql-results+json;n={n}",
                                       body=b'{"head":{},"boolean":true}'))
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.size >= taken, (cache.size, taken)


def test_if_none_match_lists_are_compared_weakly() -> None:
    assert etag_matches('"a", W/"b"', '"b"')
    assert not etag_matches('"a"', '"b"')
    assert not etag_matches("*", '"b"')  # `*` is precondition_failed's: it needs the answer to exist
    assert not etag_matches(None, '"b"')


def test_preconditions_are_evaluated_once_the_answer_exists(served, cache: ResponseCache) -> None:
    """RFC 9110 13.2.2 on GET and HEAD: If-Match (strong comparison, `*`) first, then If-None-Match."""
    url, _ = served
    tag = httpx.get(url, params={"query": LABELS}, headers=JSON).headers["etag"]

    def status(query: str, method: str = "GET", **fields: str) -> int:
        return httpx.request(method, url, params={"query": query}, headers={**JSON, **fields}).status_code

    assert status(LABELS, **{"If-None-Match": "*"}) == 304  # the answer exists
    assert status(LABELS, "HEAD", **{"If-None-Match": "*"}) == 304
    assert status(LABELS, **{"If-Match": f'"other", {tag}'}) == 200
    assert status(LABELS, **{"If-Match": "*"}) == 200
    failed = httpx.get(url, params={"query": LABELS}, headers={**JSON, "If-Match": '"other"'})
    assert failed.status_code == 412 and failed.content == b""
    assert failed.headers["cache-control"] == "no-store"  # a shared cache must not hand it to other clients
    assert status(LABELS, **{"If-Match": f"W/{tag}"}) == 412  # a weak tag never matches strongly
    # If-Match is evaluated first: it fails, so the matching If-None-Match does not give a 304.
    assert status(LABELS, **{"If-Match": '"other"', "If-None-Match": tag}) == 412
    assert status(LABELS, **{"If-Match": tag, "If-None-Match": tag}) == 304
    # An answer without an ETag (NOW() is never repeatable): `*` exists, no tag can match.
    now = "SELECT ?now { BIND(NOW() AS ?now) }"
    assert status(now, **{"If-None-Match": "*"}) == 304
    assert status(now, **{"If-Match": tag}) == 412
    assert status(now, **{"If-Match": "*"}) == 200
    # A request that would not succeed ignores its preconditions.
    assert status("SELECT ?x WHERE {", **{"If-None-Match": "*"}) == 400
    assert status("SELECT ?x WHERE {", **{"If-Match": '"other"'}) == 400
    # A query sent by POST is checked against the endpoint itself (a POST selects none of its representations),
    # before it runs: RFC 9110 13.1.1 and 13.1.2 say not to perform a method whose precondition fails.
    def posted(**fields: str) -> int:
        return httpx.post(url, data={"query": LABELS}, headers={**JSON, **fields}).status_code

    assert posted(**{"If-Match": '"other"'}) == 412
    assert posted(**{"If-Match": tag}) == 412  # the tag of a GET's answer is not the endpoint's
    assert posted(**{"If-None-Match": "*"}) == 412  # the endpoint exists: not 304, which is for GET and HEAD
    assert posted(**{"If-Match": "*"}) == 200
    assert posted(**{"If-None-Match": tag}) == 200
    # So a POST's answer carries no ETag to send back: it would tag /sparql, of which it is no representation;
    # nor a max-age, which no cache could use (it said public, max-age=300).
    answer = httpx.post(url, data={"query": LABELS}, headers={**JSON, "Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and "etag" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content == httpx.get(url, params={"query": LABELS}, headers=JSON).content
    direct = httpx.post(url, content=LABELS, headers={**JSON, "Content-Type": "application/sparql-query",
                                                      "If-Match": '"other"'})
    assert direct.status_code == 412 and direct.headers["cache-control"] == "no-store"
    assert direct.headers["access-control-allow-origin"] == "*"


def test_preconditions_read_every_line_of_a_field_and_bypass_the_repeated_request_index(served, cache) -> None:
    url, app = served
    first = httpx.get(url, params={"query": LABELS}, headers=JSON)
    again = httpx.get(url, params={"query": LABELS}, headers=JSON)  # now answered from the index
    assert again.status_code == 200 and app.state.repeated_requests.hits >= 1
    tag = first.headers["etag"]
    with httpx.Client() as client:
        two_lines = client.get(url, params={"query": LABELS},
                               headers=[("Accept", JSON["Accept"]), ("If-None-Match", '"other"'), ("If-None-Match", tag)])
        assert two_lines.status_code == 304
        refused = client.get(url, params={"query": LABELS}, headers=[("Accept", JSON["Accept"]), ("If-Match", '"other"')])
        assert refused.status_code == 412  # not the kept 200 of the index


def test_the_service_description_answers_preconditions_and_plain_options(served) -> None:
    url, _ = served
    assert httpx.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert httpx.get(url, headers={"If-Match": '"other"'}).status_code == 412
    assert httpx.get(url, headers={"If-Match": "*"}).status_code == 200
    options = httpx.options(url)  # not a CORS preflight: no Origin, no Access-Control-Request-Method
    assert options.status_code == 204
    assert {m.strip() for m in options.headers["allow"].split(",")} == {"GET", "HEAD", "POST", "OPTIONS"}
    preflight = httpx.options(url, headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"


def test_precondition_failed_follows_rfc_9110() -> None:
    tag = '"v-1"'
    assert precondition_failed(if_match=None, if_none_match=None, tag=tag) is None
    assert precondition_failed(if_match=f' "x" ,{tag}', if_none_match=None, tag=tag) is None
    assert precondition_failed(if_match=f"W/{tag}", if_none_match=None, tag=tag) == 412
    assert precondition_failed(if_match='"x"', if_none_match=None, tag=None) == 412
    assert precondition_failed(if_match="*", if_none_match=None, tag=None) is None
    assert precondition_failed(if_match=None, if_none_match=f"W/{tag}", tag=tag) == 304
    assert precondition_failed(if_match=None, if_none_match='"x", *', tag=None) == 304
    assert precondition_failed(if_match=None, if_none_match='"x"', tag=tag) is None
    assert precondition_failed(if_match='"x"', if_none_match="*", tag=tag) == 412
