"""Where a query the parser refused goes wrong (`server.syntax`, used by `worker.syntax_rejection`)."""

from __future__ import annotations

import pyoxigraph
import pytest

from plan_kg.server.syntax import pointer, undeclared_prefix
from plan_kg.server.worker import syntax_rejection


def _refusal(query: str) -> str:
    with pytest.raises(SyntaxError) as refused:
        pyoxigraph.Store().query(query)
    return syntax_rejection(query, str(refused.value)).message


@pytest.mark.parametrize(("query", "prefix", "line", "column"), [
    # pyoxigraph says "expected OPTIONAL" past the name for these: the prefix is named here, where it is used.
    ("SELECT * WHERE {\n  pkg:x ?p ?o .\n  ?o ?q ?r }", "pkg", 2, 3),
    ("SELECT * WHERE { ?s ex:p ?o }", "ex", 1, 21),
    ("SELECT * WHERE {\n  ?s skos:prefLabel ?o }", "skos", 2, 6),
    ('SELECT * { ?s ?p ?o FILTER(?o = "x"^^xsd:string) }', "xsd", 1, 38),
    ("SELECT * { ?s ?p :local }", "", 1, 18),
    # Japanese text before it: columns count characters, as the parser's do.
    ('PREFIX ex: <http://e/>\nSELECT * { ?s ex:p "西東京市" ; dc:title ?t }', "dc", 2, 29),
])
def test_an_undeclared_prefix_is_named_where_it_is_used(query: str, prefix: str, line: int, column: int) -> None:
    assert undeclared_prefix(query) == (prefix, line, column)
    message = _refusal(query)
    assert message.startswith(f"the query is not valid SPARQL 1.1: at {line}:{column}, '{prefix}:' is used but not "
                              "declared; add a PREFIX declaration")
    shown, caret = message.splitlines()[-2:]
    assert caret.index("^") - 4 == sum(2 if "\u3000" <= c <= "\u9fff" else 1 for c in shown[4:4 + column - 1])


@pytest.mark.parametrize("query", [
    "PREFIX ex: <http://e/> SELECT * { ?s ex:p ?o }",
    "prefix ex:<http://e/> SELECT * { ?s ex:p ?o }",  # keywords in any case, no space before the IRI
    'SELECT * { ?s <http://e/p:q> "12:00", \'a:b\', """x:\ny:""" } # rdfs:comment',  # colons in IRIs, strings, comments
    "SELECT * { _:b0 ?p ?o }",  # a blank node label
    "PREFIX : <http://e/> SELECT * { ?s :p ?o }",
])
def test_colons_that_are_no_undeclared_prefix_are_left_alone(query: str) -> None:
    assert undeclared_prefix(query) is None


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { ?s ?p <http://example.org/\\u00E9t\\u00E9> } LIMIT x",  # an IRI with escapes; the mistake after it
    "SELECT * WHERE { ?s ?p <http://example.org/a b> }",  # an IRI with a space, a brace, a backslash
    "SELECT * WHERE { ?s ?p <http://example.org/x {y}> }",
    "SELECT * WHERE { ?s ?p <http://example.org/a\\b> }",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 1 ex:y",  # a prefixed name where none belongs: declaring it does not help
])
def test_a_colon_that_is_not_the_mistake_leaves_the_parsers_message(query: str) -> None:
    message = _refusal(query)
    assert "is used but not declared" not in message and message.startswith("the query is not valid SPARQL 1.1: ")


def test_other_mistakes_get_the_parsers_message_and_the_line_it_points_at() -> None:
    message = _refusal('SELECT * WHERE { ?s ?p "<b>西</b>" ) }')
    said, shown, caret = message.splitlines()
    assert said.startswith("the query is not valid SPARQL 1.1: error at 1:")
    assert shown == '    SELECT * WHERE { ?s ?p "<b>西</b>" ) }'
    assert caret.strip() == "^" and len(caret) > len(shown)  # past the end (the parser's place); 西 is two wide


def test_a_long_line_is_cut_around_the_place() -> None:
    query = "SELECT * { " + "?s ?p ?o . " * 100 + ") }"
    shown, caret = pointer(query, 1, len(query) - 2).splitlines()
    assert shown.startswith("    …") and shown.endswith(") }") and len(shown) < 140
    assert shown[caret.index("^")] == ")"
    assert pointer(query, 3, 1) == ""


def test_reading_a_large_query_stays_linear() -> None:
    # Unterminated strings and long runs of colons are read in one pass (possessive patterns), not backtracked.
    assert undeclared_prefix('SELECT * { ?s ?p "' + "a:" * 200_000) is None
    assert undeclared_prefix("SELECT * { " + "x" * 400_000 + ":y }") == ("x" * 400_000, 1, 12)
