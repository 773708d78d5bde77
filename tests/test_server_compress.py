"""plan_kg.server.compress: /sparql answers gzip-compressed for clients that accept them, on the real server."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from plan_kg.server import create_app
from plan_kg.server.cache import ResponseCache
from plan_kg.server.jobs import QueryResult
from server_fixtures import live_app, sample_settings

#: A literal that makes any answer holding it a few KB, in a query short enough for the repeated-request index.
LONG = "地域福祉 " + "community welfare plan " * 80
SELECT = f'SELECT ?l {{ BIND("{LONG}" AS ?l) }}'
CONSTRUCT = f'CONSTRUCT {{ <urn:s> <urn:p> ?l }} WHERE {{ BIND("{LONG}" AS ?l) }}'
SMALL = 'SELECT ?l { BIND("short" AS ?l) }'
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FORMATS = [
    (SELECT, "application/sparql-results+json"), (SELECT, "application/sparql-results+xml"), (SELECT, "text/csv"),
    (SELECT, "text/tab-separated-values"), (CONSTRUCT, "text/turtle"), (CONSTRUCT, "application/n-triples"),
    (CONSTRUCT, "application/ld+json"), (CONSTRUCT, "application/rdf+xml"), (SELECT, BROWSER), (CONSTRUCT, BROWSER),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Starlette]]:
    app = create_app(sample_settings(tmp_path_factory.mktemp("compress"), max_result_rows=5))
    with live_app(app) as url:
        yield url, app


@pytest.fixture()
def url(served: tuple[str, Starlette]) -> str:
    served[1].state.query_service.cache.clear()  # each test starts from an empty cache on the shared server
    return served[0]


def fetch(url: str, query: str, accept: str, accept_encoding: str | None, method: str = "GET",
          **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (not decoded); no Accept-Encoding at all when `accept_encoding` is None."""
    with httpx.Client() as client:
        del client.headers["accept-encoding"]  # httpx's default: gzip, deflate
        sent = {"Accept": accept, **({"Accept-Encoding": accept_encoding} if accept_encoding is not None else {}),
                **{name.replace("_", "-"): value for name, value in headers.items()}}
        with client.stream(method, url, params={"query": query}, headers=sent) as response:
            return response, b"".join(response.iter_raw())


@pytest.mark.parametrize(("query", "accept"), FORMATS,
                         ids=[f"{query.split()[0]}-{accept.split(',')[0]}" for query, accept in FORMATS])
def test_a_compressed_answer_decodes_to_the_very_bytes_of_the_plain_one(url: str, query: str, accept: str) -> None:
    plain, plain_body = fetch(url, query, accept, None)
    packed, packed_body = fetch(url, query, accept, "gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed_body) == plain_body and len(packed_body) < len(plain_body) / 4
    assert int(packed.headers["content-length"]) == len(packed_body)
    assert packed.headers["content-type"] == plain.headers["content-type"]
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept, Accept-Encoding"
    # Another representation, another strong tag (RFC 9110 8.8.3).
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    # Sent again (kept, before the framework) and by the full path (Origin): the same bytes.
    again, again_body = fetch(url, query, accept, "gzip, deflate, br")
    cors, cors_body = fetch(url, query, accept, "gzip, deflate, br", Origin="https://portal.example")
    assert again_body == cors_body == packed_body and again.headers["etag"] == cors.headers["etag"] == packed.headers["etag"]
    if accept == BROWSER:  # a page keeps the site's policy
        assert "content-security-policy" in packed.headers and "content-security-policy" in again.headers


@pytest.mark.parametrize("accept_encoding", [None, "", "identity", "gzip;q=0", "gzip;q=0, *", "*;q=0", "br, deflate"])
def test_no_compression_for_a_client_that_does_not_accept_gzip(url: str, accept_encoding: str | None) -> None:
    for _ in range(2):  # the second time, from the kept answer
        response, body = fetch(url, SELECT, "text/csv", accept_encoding)
        assert response.status_code == 200 and "content-encoding" not in response.headers
        assert LONG in body.decode() and response.headers["vary"] == "Accept, Accept-Encoding"
        assert not response.headers["etag"].endswith('-gzip"')


@pytest.mark.parametrize("accept_encoding", ["gzip", "GZIP;q=0.5", "x-gzip", "*", "identity;q=0.5, gzip"])
def test_every_way_of_accepting_gzip_gets_it(url: str, accept_encoding: str) -> None:
    response, body = fetch(url, SELECT, "text/csv", accept_encoding)
    assert response.headers["content-encoding"] == "gzip" and LONG in gzip.decompress(body).decode()


def test_header_fields_on_several_lines_are_read_as_one_list(url: str) -> None:
    """RFC 9110 5.3: `Accept-Encoding: *` and `Accept-Encoding: gzip;q=0` on two lines refuse gzip, as on one line;
    two Accept lines choose among both. The same again from the kept answer (before the framework)."""
    for _ in range(2):
        with httpx.Client() as client:
            del client.headers["accept-encoding"]
            with client.stream("GET", url, params={"query": SELECT}, headers=[
                    ("Accept", "text/csv;q=0.1"), ("Accept", "text/tab-separated-values"),
                    ("Accept-Encoding", "*"), ("Accept-Encoding", "gzip;q=0")]) as response:
                body = b"".join(response.iter_raw())
        assert response.status_code == 200 and "content-encoding" not in response.headers
        assert response.headers["content-type"].startswith("text/tab-separated-values") and LONG in body.decode()


def test_a_small_answer_goes_as_it_is(url: str) -> None:
    response, body = fetch(url, SMALL, "application/sparql-results+json", "gzip")
    assert response.status_code == 200 and "content-encoding" not in response.headers
    assert b"short" in body and response.headers["vary"] == "Accept, Accept-Encoding"
    assert not response.headers["etag"].endswith('-gzip"')


@pytest.mark.parametrize("kept", [True, False])
def test_preconditions_are_evaluated_against_the_representation_sent(served, url: str, kept: bool) -> None:
    cache = served[1].state.query_service.cache
    plain_tag = fetch(url, SELECT, "text/csv", "identity")[0].headers["etag"]
    gzip_tag = fetch(url, SELECT, "text/csv", "gzip")[0].headers["etag"]
    assert plain_tag != gzip_tag
    for accept_encoding, if_none_match, status in [
        ("gzip", gzip_tag, 304), ("gzip", plain_tag, 200), ("identity", plain_tag, 304), ("identity", gzip_tag, 200),
        ("gzip", f'"other", W/{gzip_tag}', 304), (None, gzip_tag, 200),
    ]:
        if not kept:  # the 304 before the answer (the tag alone) as well as after it
            cache.clear()
        response, body = fetch(url, SELECT, "text/csv", accept_encoding, If_None_Match=if_none_match)
        assert response.status_code == status, (accept_encoding, if_none_match)
        expected = gzip_tag if accept_encoding == "gzip" else plain_tag
        assert response.headers["etag"] == expected and response.headers["vary"] == "Accept, Accept-Encoding"
        assert (response.headers.get("content-encoding") == "gzip") == (status == 200 and accept_encoding == "gzip")
    for accept_encoding, if_match, status in [("gzip", gzip_tag, 200), ("gzip", plain_tag, 412),
                                              ("identity", plain_tag, 200), ("identity", gzip_tag, 412)]:
        response = fetch(url, SELECT, "text/csv", accept_encoding, If_Match=if_match)[0]
        assert response.status_code == status and (response.headers.get("content-encoding") == "gzip") == (
            status == 200 and accept_encoding == "gzip")
    # `*` is evaluated once there is an answer: a 304 with the tag of what would have been sent.
    response = fetch(url, SELECT, "text/csv", "gzip", If_None_Match="*")[0]
    assert response.status_code == 304 and response.headers["etag"] == gzip_tag and "content-encoding" not in response.headers
    # A small answer is the same representation whatever the client accepts: one tag, which both may hold.
    small_tag = fetch(url, SMALL, "text/csv", "identity")[0].headers["etag"]
    assert fetch(url, SMALL, "text/csv", "gzip", If_None_Match=small_tag)[0].status_code == 304


def test_head_has_the_header_fields_of_the_same_get(url: str) -> None:
    for accept_encoding in ("gzip", "identity"):
        got, _ = fetch(url, SELECT, "text/csv", accept_encoding)
        head, body = fetch(url, SELECT, "text/csv", accept_encoding, method="HEAD")
        assert head.status_code == 200 and body == b""
        assert (head.headers.get("content-encoding") == "gzip") == (accept_encoding == "gzip")
        for name in ("content-length", "content-encoding", "etag", "vary", "content-type", "cache-control"):
            assert head.headers.get(name) == got.headers.get(name), (accept_encoding, name)


def test_the_repeated_request_index_keys_by_accept_encoding(served, url: str) -> None:
    index = served[1].state.repeated_requests
    for first, then in (("gzip", None), (None, "gzip"), ("gzip", "identity")):
        query = SELECT + f" # {first} then {then}"  # a request the index has not seen
        fetch(url, query, "text/csv", first)
        fetch(url, query, "text/csv", first)  # now sent again from the index
        hits = index.hits
        response, body = fetch(url, query, "text/csv", then)
        assert (response.headers.get("content-encoding") == "gzip") == (then == "gzip"), (first, then)
        assert LONG in (gzip.decompress(body) if then == "gzip" else body).decode()
        again, again_body = fetch(url, query, "text/csv", then)
        assert again_body == body and again.headers["etag"] == response.headers["etag"]
        assert index.hits == hits + 1  # each representation sent again from the index, once it has been sent


def test_a_compressed_answer_larger_than_a_piece_is_sent_in_pieces(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from plan_kg.server import responses

    monkeypatch.setattr(responses, "SEND_CHUNK_BYTES", 256)  # the compressed answer is several pieces
    query = "SELECT ?h { BIND(CONCAT(" + ", ".join(f'SHA512("{i}")' for i in range(20)) + ") AS ?h) }"
    plain, plain_body = fetch(url, query, "text/csv", "identity")
    packed, packed_body = fetch(url, query, "text/csv", "gzip")
    assert packed.headers["content-encoding"] == "gzip" and len(packed_body) > 4 * 256
    assert int(packed.headers["content-length"]) == len(packed_body) and gzip.decompress(packed_body) == plain_body


def test_the_gzip_copy_is_kept_with_its_answer_within_the_budget() -> None:
    cache = ResponseCache(max_bytes=10_000, max_entry_bytes=5_000)
    answer = QueryResult(media_type="text/csv", body=b"x" * 3_000)
    cache.put("a", answer)
    size = cache.size
    cache.put_gzipped("a", answer.body, b"z" * 100)
    assert cache.gzipped("a") == b"z" * 100 and cache.size == size + 100
    cache.put_gzipped("a", b"y" * 3_000, b"w" * 100)  # the copy of another run's bytes: not kept
    assert cache.gzipped("a") == b"z" * 100
    cache.put_gzipped("b", answer.body, b"z")  # no answer kept for "b": no copy either
    assert cache.gzipped("b") is None and len(cache) == 1
    # The entry's limit is the answer's: a copy that takes the two past it is kept (else an answer just under
    # the limit would be compressed again for every request), one that would not fit the whole cache is not.
    cache.put_gzipped("a", answer.body, b"z" * 2_500)
    assert cache.gzipped("a") == b"z" * 2_500 and cache.get("a") == answer and cache.size == size + 2_500
    cache.put_gzipped("a", answer.body, b"z" * 7_000)
    assert cache.gzipped("a") is None and cache.get("a") == answer and cache.size == size
    cache.put_gzipped("a", answer.body, b"z" * 100)
    for key in "bcd":  # the oldest entry goes, its copy with it
        cache.put(key, answer)
    assert cache.get("a") is None and cache.gzipped("a") is None and cache.size <= cache.max_bytes
