"""plan_kg.server.guard: SERVICE is found by parsing, wherever it stands, and refused unless allowed."""

from __future__ import annotations

import pytest

from plan_kg.server.guard import ForbiddenQuery, check_nesting, check_services, may_use_service

BASE = "https://w3id.org/plan-kg/sparql"
ALLOWED = "http://127.0.0.1:1/sparql"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { SERVICE <http://evil.example/sparql> { ?s ?p ?o } }",
        "select * { service silent <http://evil.example/sparql> { ?s ?p ?o } }",
        "PREFIX e: <http://evil.example/> SELECT * { SERVICE e:sparql { } }",
        "BASE <http://evil.example/> SELECT * { SERVICE <sparql> { } }",
        "SELECT * { OPTIONAL { { SERVICE <http://evil.example/> { } } UNION { } } }",
        "ASK { FILTER NOT EXISTS { SERVICE <http://evil.example/> { } } }",
        "SELECT * { ?s ?p ?o MINUS { SERVICE <http://evil.example/> { ?s ?p ?o } } }",
        "SELECT (COUNT(*) AS ?n) { { SELECT * { SERVICE <http://evil.example/> { ?s ?p ?o } } } }",
        "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
        f"SELECT * {{ SERVICE <{ALLOWED}> {{ SERVICE <http://evil.example/> {{ }} }} }}",
    ],
)
def test_service_to_anything_not_allowed_is_refused(query: str) -> None:
    with pytest.raises(ForbiddenQuery) as refused:
        check_services(query, base_iri=BASE, allow_list=(ALLOWED,))
    # 403; nested SERVICE overflows rdflib's algebra translation and is refused as unparsable (400).
    assert refused.value.status == (400 if query.count("SERVICE") > 1 else 403)


def test_an_allowed_service_passes() -> None:
    check_services(f"SELECT * {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}", base_iri=BASE, allow_list=(ALLOWED,))


def test_the_word_service_elsewhere_is_harmless() -> None:
    check_services('SELECT * { ?s ?p "public service" } # SERVICE <http://x/>', base_iri=BASE, allow_list=())


def test_codepoint_escapes_cannot_hide_a_service() -> None:
    # rdflib decodes \u0022 before parsing and would read a string where pyoxigraph reads SERVICE.
    query = 'SELECT * { ?s ?p "\\u0022" . SERVICE <http://evil.example/> { } . ?a ?b "\\u0022" }'
    with pytest.raises(ForbiddenQuery):
        check_services(query, base_iri=BASE, allow_list=())


def test_an_unparsable_query_that_mentions_service_is_a_400() -> None:
    with pytest.raises(ForbiddenQuery) as refused:
        check_services("SELECT * { SERVICE <http://x/> { ", base_iri=BASE, allow_list=())
    assert refused.value.status == 400


def test_a_hash_in_a_string_or_iri_before_a_service_on_its_line_is_text() -> None:
    """rdflib's parser reads such a '#' as a comment and failed on the rest of the line (a one-line
    query with `PREFIX s: <...#>` was refused): the check now reads the SERVICE, allowed or not."""
    one_line = f"PREFIX s: <http://x/ns#> SELECT ?l {{ SERVICE <{ALLOWED}> {{ ?a s:p ?l }} }}"
    check_services(one_line, base_iri=BASE, allow_list=(ALLOWED,))
    check_services(f"SELECT * {{ ?s ?p '# x', \"\"\"#\"\"\" . SERVICE <{ALLOWED}> {{ ?a ?b ?c }} }}",
                   base_iri=BASE, allow_list=(ALLOWED,))
    for hidden in (one_line.replace(ALLOWED, "http://evil.example/"),
                   "SELECT * { ?s <http://x/#p> '# x' . SERVICE <http://evil.example/> { } }"):
        with pytest.raises(ForbiddenQuery, match="SERVICE <http://evil.example/> is not allowed") as refused:
            check_services(hidden, base_iri=BASE, allow_list=(ALLOWED,))
        assert refused.value.status == 403
    # An endpoint whose IRI has a '#' is compared with the allow-list as written.
    fragment = f"PREFIX s: <http://x/ns#> SELECT * {{ SERVICE <{ALLOWED}#main> {{ ?a s:p ?l }} }}"
    check_services(fragment, base_iri=BASE, allow_list=(f"{ALLOWED}#main",))
    with pytest.raises(ForbiddenQuery, match=f"SERVICE <{ALLOWED}#main> is not allowed"):
        check_services(fragment, base_iri=BASE, allow_list=(ALLOWED,))


@pytest.mark.parametrize("tail", ["1)", "1 || ?a > 2)", '"""\n)', "?b) # x"])
def test_where_a_hash_may_be_read_two_ways_the_query_is_refused(tail: str) -> None:
    """`?a<ex:b#>` is a comparison and a comment to pyoxigraph, an IRI to the reading that marks its '#':
    the mark cannot be code, so rdflib fails on it and the query is refused (fail closed), never passed."""
    query = f"PREFIX ex: <http://x/> SELECT * {{ ?s ?p ?a FILTER(?a<ex:b#>{tail}\nSERVICE <http://evil.example/> {{ }} }}"
    with pytest.raises(ForbiddenQuery) as refused:
        check_services(query, base_iri=BASE, allow_list=())
    assert refused.value.status in (400, 403)


def test_a_service_inside_a_service_is_refused_in_plain_words() -> None:
    nested = f"SELECT * {{ SERVICE <{ALLOWED}> {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }} }}"
    with pytest.raises(ForbiddenQuery) as refused:
        check_services(nested, base_iri=BASE, allow_list=(ALLOWED,))
    assert refused.value.status == 400 and "inside another SERVICE" in str(refused.value)


def test_the_cheap_test_skips_only_queries_without_the_keyword() -> None:
    assert not may_use_service("SELECT * { ?s ?p ?o }")
    assert may_use_service("select * { sErViCe <x:y> {} }")
    assert may_use_service("SELECT * {SERVICE<x:y>{}}") and may_use_service("SELECT * { ?s a dcat:Service }")


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_a_comment_ends_at_a_carriage_return_for_the_check_too(line_end: str) -> None:
    """pyoxigraph ends a comment at CR; rdflib only at LF, so `#\\rSERVICE <…>` passed the check and
    pyoxigraph sent the request (a reviewer's find: the server could be made to query any endpoint)."""
    query = f"SELECT * WHERE {{ #{line_end}SERVICE <http://evil.example/sparql> {{ ?a ?b ?c }}\n}}"
    with pytest.raises(ForbiddenQuery, match="SERVICE <http://evil.example/sparql> is not allowed"):
        check_services(query, base_iri=BASE, allow_list=())
    check_services(query.replace("http://evil.example/sparql", ALLOWED), base_iri=BASE, allow_list=(ALLOWED,))


def test_a_service_beside_text_that_mentions_it_is_still_checked() -> None:
    '''Whether the word is only in text cannot be told without the parser's own reading: pyoxigraph runs
    the first two queries, where `<'x>'` and `<ex:b#>` followed by a long string, read as an IRI then a
    string, would hide the SERVICE (so `may_use_service` is a plain test for the word, and rdflib decides).'''
    for query in ("SELECT * { ?s ?p ?a FILTER(?a<'x>') SERVICE <http://evil.example/> { } }",
                  'PREFIX ex: <http://x/> SELECT * { ?s ?p ?a FILTER(?a<ex:b#>"""\n)\nSERVICE <http://evil.example/> { } }',
                  'SELECT * { ?s ?p "service" . SERVICE <http://evil.example/> { } }',
                  "SELECT * { ?s ?p '''#\n''' SERVICE <http://evil.example/> { } } # service",
                  'SELECT * { ?s ?p "\\u0022" . SERVICE <http://evil.example/> { } }'):
        assert may_use_service(query), query
        with pytest.raises(ForbiddenQuery):
            check_services(query, base_iri=BASE, allow_list=())


# Shapes whose brackets another reading of the text could hide: a comparison without spaces reads
# as an IRI (`?a<(...)&&?b>`), a local-name escape (`ex:p\'`) or a quote inside an IRI as the start of a
# string, closers inside a string. The parser recurses into each of them: at 5,000 it dies.
_HIDDEN = {
    "comparison": "SELECT * { FILTER(?a<OPEN1CLOSE&&?b>0) }",
    "escape": "PREFIX ex: <urn:x:> SELECT * { ?s ex:p\\' OPEN1CLOSE \"'\" }",
    "iri quote and comparison": "SELECT * { FILTER(<urn:x'> = ?y && ?a<OPEN1CLOSE&&?b>0) }",
    "closers in a string": "SELECT * { BIND(HALF\"CLOSERS\"HALF1CLOSE AS ?x) }",
}


@pytest.mark.parametrize("shape", sorted(_HIDDEN))
def test_nesting_cannot_be_hidden_from_the_count(shape: str) -> None:
    query = (_HIDDEN[shape].replace("OPEN", "(" * 5000).replace("CLOSERS", ")" * 2500)
             .replace("CLOSE", ")" * 5000).replace("HALF", "(" * 2500))
    with pytest.raises(ForbiddenQuery, match="nests brackets more than 256 deep"):
        check_nesting(query)


def test_brackets_in_strings_iris_and_comments_do_not_add_up() -> None:
    """What only reads as text, balanced in each string, IRI or comment, is never refused."""
    check_nesting("SELECT * { VALUES ?l { " + " ".join('"Foo (bar)"' for _ in range(400)) + " } }")
    check_nesting("SELECT * { VALUES ?i { " + " ".join("<http://x/Foo_(bar)>" for _ in range(400)) + " } }")
    check_nesting("PREFIX x: <http://x/a#>\nSELECT * " + "{" * 256 + "}" * 256 + " # " + "(x) " * 300)
    with pytest.raises(ForbiddenQuery, match=r"\(at 2:"):
        check_nesting("SELECT *\n" + "{" * 257 + "}" * 257)


def test_an_iri_with_codepoint_escapes_is_read_as_one() -> None:
    """The parser decodes \\u and \\U in IRIs: `<x:\\u0061)>` is one IRI, and its `)` closes nothing."""
    for escape in ("\\u0061", "\\U00000061"):
        query = "SELECT * { BIND(" + f"CONCAT(<x:{escape})>, " * 5000 + "1" + ")" * 5000 + " AS ?x) }"
        with pytest.raises(ForbiddenQuery, match="nests brackets more than 256 deep"):
            check_nesting(query)
