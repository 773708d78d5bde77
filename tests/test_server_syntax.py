"""Where a query the parser refused goes wrong (`server.syntax`, used by `worker.syntax_rejection`)."""

from __future__ import annotations

import unicodedata

import pyoxigraph
import pytest

from plan_kg.server.syntax import full_width_mistake, full_widths, pointer, undeclared_prefix
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
    assert said.startswith("the query is not valid SPARQL 1.1: at 1:")
    assert shown == '    SELECT * WHERE { ?s ?p "<b>西</b>" ) }'
    assert caret.strip() == "^" and len(caret) > len(shown)  # past the end (the parser's place); 西 is two wide


@pytest.mark.parametrize(("query", "said"), [
    # pyoxigraph: "expected one of HAVING, OFFSET, OPTIONAL, VALUES, ['0'..='9']"
    ("SELECT * WHERE { ?s ?p ?o } LIMIT x", "at 1:35, where the query has 'x'; the parser expected one of HAVING, "
                                           "OFFSET, OPTIONAL, VALUES, a digit there"),
    # a character class of ~20 Unicode ranges over three lines
    ("SELECT ?x WHERE { ?s ?p ?o } GROUP BY", 'at 1:38, where the query ends; the parser expected one of "$", "(", ":", '
                                             '"<", "?", a name there'),
    # "expected [_]" alone: the parser's catch-all, which names nothing
    ("SELECT * WHERE { ?s ?p ?o }}", "at 1:29, where the query ends; the parser could not read on from there; a '}' "
                                    "closes more than was opened"),
    ('SELECT * WHERE { ?s ?p ?o FILTER(regex(?o, "a") }', "where the query ends; the parser expected NOT there; "
                                                         "1 '(' is never closed"),
    ('SELECT * WHERE { { ?s ?p ?o } # a } in a comment', "1 '{' is never closed"),
    ('ASK { ?s ?p "x\\q" }', 'at 1:16, where the query has \'q\'; the parser expected an escape (\\t \\b \\n \\r \\f \\" '
                            "\\' \\\\) there"),
    # the parser's furthest try stopped inside WHERE: no word is shown from there
    ("SELECT (COUNT(*) ?c) WHERE { ?s ?p ?o }", "at 1:23; the parser expected DISTINCT there"),
    # A sentence in the parser's list is its reason, said whole: it was said word by word, as tokens the parser
    # expected ("the parser expected one of Duplicated, variable, name, in, SELECT there").
    # pyoxigraph: "expected one of Duplicated variable name in SELECT, [_]"
    ("SELECT ?x (1 AS ?x) {}", "at 1:23, where the query ends; SELECT names the same variable twice: name it once "
                               "(the parser: Duplicated variable name in SELECT)"),
    ("SELECT (COUNT(*) AS ?n) ?s { ?s ?p ?o }", "; SELECT names a variable that is not grouped"),
    ("SELECT (COUNT(*) AS ?n) ?s { ?s ?p ?o }", "(the parser: The SELECT contains a variable that is unbound)"),
    # pyoxigraph: "expected one of The query limit should be a non negative integer, ['0'..='9']"
    ("SELECT * {} LIMIT 99999999999999999999999", "; The query limit should be a non negative integer"),
])
def test_the_parsers_message_is_said_in_words(query: str, said: str) -> None:
    message = _refusal(query).splitlines()[0]
    assert said in message and message.startswith("the query is not valid SPARQL 1.1: at ")
    assert "[_]" not in message and "..=" not in message and "error at" not in message
    if "(the parser: " in message or "The query limit" in message:  # its sentence, not the tokens that could go on
        assert "the parser expected" not in message


@pytest.mark.parametrize(("query", "said", "column"), [
    # pyoxigraph: "error at 1:10: expected CONSTRUCT"
    ("SELEC * WHERE { ?s ?p ?o }", "at 1:1, 'SELEC' is no query form: a query starts with SELECT, CONSTRUCT, DESCRIBE "
                                  "or ASK, after its PREFIX and BASE declarations", 1),
    ("# list\nPREFIX ex: <http://e/>\n  WHERE { ?s ex:p ?o }", "at 3:3, 'WHERE' is no query form", 3),
    ("{ ?s ?p ?o }", "at 1:1, '{' is no query form", 1),
    # pyoxigraph: "error at 1:10: expected one of ".", ":", CONSTRUCT, ['-' | '0' ..= '9' | ..."
    ("PREFIX ex <http://e/> SELECT * {}", "at 1:1, this PREFIX declaration is malformed: write PREFIX name: <IRI> or "
                                         "BASE <IRI>", 1),
    ("prefix ex: <http://e/>\nbase http://e/ SELECT * {}", "at 2:1, this BASE declaration is malformed", 1),
    # The parser ends a comment at CR too (pyoxigraph: "error at 1:14: expected CONSTRUCT"); so does the reading here.
    ("# list\rSELEC * WHERE { ?s ?p ?o }", "at 1:8, 'SELEC' is no query form", 8),
])
def test_a_query_that_does_not_start_with_its_form_is_told_so(query: str, said: str, column: int) -> None:
    message = _refusal(query)
    assert said in message.splitlines()[0]
    shown, caret = message.splitlines()[-2:]
    assert caret.index("^") == 4 + column - 1


@pytest.mark.parametrize("query", [
    "LOAD <http://127.0.0.1:9/x>",
    # A comment ended by CR, as the parser ends it: an update after it was refused as "not valid SPARQL" (400).
    "# a comment\rLOAD <http://127.0.0.1:9/x>",
    "PREFIX ex: <http://e/> # a comment\rDROP ALL",
])
def test_an_update_sent_as_a_query_is_told_the_endpoint_is_read_only(query: str) -> None:
    with pytest.raises(SyntaxError) as refused:
        pyoxigraph.Store().query(query)
    rejection = syntax_rejection(query, str(refused.value))
    assert (rejection.status, rejection.message) == (403, "this endpoint is read-only: SPARQL updates are not accepted")


@pytest.mark.parametrize("query", [
    "PREFIX ex: <http://e/a b> SELECT * { ?s ?p ?o } LIMIT x",  # an IRI the parser refuses: its message, not a form's
    "  select * { ?s ?p ?o } LIMIT x",
    "BASE <http://e/> # a comment\nDESCRIBE ?s { ?s ?p ?o } LIMIT x",
    "ASK WHERE { ?s ?p ?o } x",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT x",
])
def test_a_query_that_starts_with_its_form_is_not_told_otherwise(query: str) -> None:
    assert "no query form" not in _refusal(query) and "declaration is malformed" not in _refusal(query)


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


@pytest.mark.parametrize(("query", "character", "typed", "column"), [
    # An input method's space: pyoxigraph says "expected OPTIONAL" at 1:26, at the 'o' of ?o.
    ("SELECT ?s WHERE {\u3000?s ?p ?o }", "\u3000", " ", 18),
    # Its full stop, a letter of a name to the parser: "expected [_]" where the query ends.
    ("SELECT ?s WHERE { ?s ?p ?o \uff0e }", "\uff0e", ".", 28),
    ("SELECT * { ?s ?p ?o } LIMIT \uff11\uff10", "\uff11", "1", 29),
    ("SELECT \uff1fs WHERE { ?s ?p ?o }", "\uff1f", "?", 8),
    # A word processor's quotes: "expected OPTIONAL" past them.
    ("SELECT ?s WHERE { ?s ?p \u201cabc\u201d }", "\u201c", '"', 25),
    ("SELECT ?s WHERE {\u00a0?s ?p ?o }", "\u00a0", " ", 18),
    # Japanese text in a string before it: columns count characters, as the parser's do.
    ('SELECT * WHERE { ?s ?p "西東京市" .\n  ?s ?q ?o\u3000}', "\u3000", " ", 11),
])
def test_a_full_width_character_is_named_with_what_to_type(query: str, character: str, typed: str, column: int) -> None:
    line = query.count("\n", 0, query.index(character)) + 1
    with pytest.raises(SyntaxError) as refused:
        pyoxigraph.Store().query(query)
    assert full_width_mistake(query, str(refused.value)) == (character, typed, line, column)
    message = _refusal(query)
    said = message.splitlines()[0]
    assert said.startswith(f"the query is not valid SPARQL 1.1: at {line}:{column}, '{character}' (U+{ord(character):04X}")
    assert f"type {typed!r} instead" in said and f"半角の「{typed}」で入力してください" in said
    shown, caret = message.splitlines()[-2:]
    assert caret.index("^") - 4 == sum(2 if "\u3000" <= c <= "\u9fff" else 1 for c in shown[4:4 + column - 1])


@pytest.mark.parametrize("query", [
    # In strings, IRIs, comments and names (full-width forms are letters of a name to SPARQL), they are SPARQL's.
    'PREFIX ex: <http://e/\uff11> SELECT * { ?s ex:第\uff11章 ?o ; ?p "\u3000\u201cx\u201d" } # \uff0e\u3000\n LIMIT x',
    'SELECT ?値\uff11 { ?s ?p ?値\uff11 } LIMIT x',
])
def test_full_width_characters_where_sparql_takes_them_are_left_alone(query: str) -> None:
    assert next(full_widths(query), None) is None
    assert "全角" not in _refusal(query) and "where the query has 'x'" in _refusal(query)


def test_a_full_width_character_after_the_parsers_place_is_not_blamed() -> None:
    # The parser stops at the x (1:29, "expected one of HAVING, ..."); the full-width signs come later.
    query = "SELECT * { ?s ?p ?o } LIMIT x \uff0e\u3000"
    assert next(full_widths(query), None) is not None
    assert "全角" not in _refusal(query) and "where the query has 'x'" in _refusal(query)


@pytest.mark.parametrize(("query", "said"), [
    # pyoxigraph: "The SELECT contains a variable that is unbound", for a variable that is bound but not grouped
    ("SELECT ?s (COUNT(?o) AS ?n) WHERE { ?s ?p ?o }", "SELECT names a variable that is not grouped: with GROUP BY or "
                                                      "an aggregate"),
    ("SELECT (?o AS ?n) { ?s ?p ?o } GROUP BY ?s", "an expression in SELECT uses a variable that is not grouped"),
    ("SELECT (1 AS ?s) { ?s ?p ?o }", "(... AS ?name) in SELECT names a variable the WHERE pattern already binds"),
    # pyoxigraph: "SELECT * is not authorized with GROUP BY", for each of these
    ("SELECT * { ?s ?p ?o } GROUP BY ?s", "SELECT * cannot be used with GROUP BY or an aggregate"),
    ("SELECT * { ?s ?p ?o FILTER(COUNT(?o) > 1) }", "an aggregate belongs in SELECT, HAVING or ORDER BY, not in FILTER"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } GROUP BY ?s", "a CONSTRUCT query cannot group"),
    ("PREFIX ex: <http://e/>\nask { ?s ?p ?o } GROUP BY ?s", "a ASK query cannot group"),
    # pyoxigraph: "expected [_]" where the query ends: the sentence of the rule broken is lost
    ("SELECT ?x { BIND(1 AS ?x) BIND(2 AS ?x) }", "the query reads to its end, but breaks a rule SPARQL checks once a "
                                                 "group is read, which the parser does not name: most often BIND"),
])
def test_a_rule_the_parser_checks_after_reading_is_said_as_what_to_change(query: str, said: str) -> None:
    message = _refusal(query).splitlines()[0]
    assert said in message
    assert "[_]" not in message and "<unreported>" not in message


def test_a_refusal_naming_nothing_is_not_said_as_a_token_expected() -> None:
    # pyoxigraph: "error at 1:42: expected <unreported>"
    message = _refusal("SELECT * { { _:a ?p ?o } UNION { _:a ?q ?r } }").splitlines()[0]
    assert "unreported" not in message and "expected" not in message




@pytest.mark.parametrize(("query", "character", "column"), [
    # Typed straight after a variable, a name or a keyword, a full-width sign is one more letter of that name to the
    # parser, which then says a rule further on ("expected one of LATERAL, SERVICE" where the query ends).
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:p ?o\uff1bex:q ?r }", "\uff1b", 51),
    ("SELECT * WHERE { ?s ?p ?o FILTER(BOUND(?o\uff09) }", "\uff09", 42),
    ("SELECT (COUNT\uff08?s) AS ?n) WHERE { ?s ?p ?o }", "\uff08", 14),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o > 1\uff0e5) }", "\uff0e", 40),
])
def test_a_full_width_sign_after_a_name_is_named(query: str, character: str, column: int) -> None:
    said = _refusal(query).splitlines()[0]
    assert said.startswith(f"the query is not valid SPARQL 1.1: at 1:{column}, '{character}' (U+{ord(character):04X}")
    assert f"半角の「{unicodedata.normalize('NFKC', character)}」で入力してください" in said


@pytest.mark.parametrize("query", [
    # Full-width letters start a prefix SPARQL takes (PN_CHARS_BASE holds U+FF01-U+FF5E): declared and used, they are
    # not the mistake; the parser's place is (the x).
    "PREFIX ｅｘ: <http://e/> SELECT * { ?s ｅｘ:p ?o } LIMIT x",
    "PREFIX ｅｘ: <http://e/>\nSELECT * {\n  ?s ｅｘ:名前 ?o }\nLIMIT x",
    # A full-width sign SPARQL takes in a name, where the mistake is elsewhere (the x).
    "PREFIX ex: <http://e/> SELECT * { ?s ex:株式会社\uff08仮\uff09 ?o } LIMIT x",
    "SELECT ?値\uff08\uff11\uff09 { ?s ?p ?値\uff08\uff11\uff09 } LIMIT x",
])
def test_a_full_width_prefix_or_sign_in_a_name_is_not_blamed(query: str) -> None:
    message = _refusal(query)
    assert "全角" not in message and "where the query has 'x'" in message


@pytest.mark.parametrize("query", [
    # pyoxigraph: "expected [_]" (or <unreported>) past the end, for something after the query's last part: not a
    # query read whole that breaks a rule of its groups.
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10;",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 10 .",
    "SELECT * { ?s ?p ?o } x",
    "ASK { ?s ?p ?o } LIMIT 1 1",
    "SELECT * WHERE { _:a ?p ?o } ORDER BY ?o LIMIT 1 OFFSET",
])
def test_something_after_the_query_is_not_said_as_a_rule_of_its_groups(query: str) -> None:
    message = _refusal(query).splitlines()[0]
    assert "reads to its end" not in message and "BIND" not in message


@pytest.mark.parametrize(("query", "said", "not_said"), [
    # pyoxigraph: "The SELECT contains a variable that is unbound", naming none: the variable is named, and one bound
    # nowhere (a misspelt name) is not told to be grouped.
    ("SELECT ?s ?o (COUNT(?p) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?s", "take SAMPLE(?it) (not grouped: ?o)",
     "bound nowhere"),
    ("SELECT ?s ?nmae (COUNT(?o) AS ?n) WHERE { ?s ?p ?o ; ?q ?name } GROUP BY ?s",
     "?nmae is bound nowhere in the query: a misspelt name?", "add the variable to GROUP BY"),
])
def test_a_variable_of_select_not_grouped_is_named(query: str, said: str, not_said: str) -> None:
    message = _refusal(query).splitlines()[0]
    assert said in message and not_said not in message
