"""plan_kg.server.lookup: which queries are one triple pattern, safe to answer in the server process."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.paths import Path as PropertyPath
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import BNode, Variable

from plan_kg.server.lookup import MAX_CHARACTERS, SHORT_LIST, MemoryCopy, OverBound, json_answer, read_lookup

def bounded_text(query: str, rows: int) -> str | None:
    """The text the service runs in process for `query` (`Lookup.bounded`), or None if it is not a lookup."""
    lookup = read_lookup(query)
    return None if lookup is None else lookup.bounded(rows)


SKOS = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
LOOKUP = SKOS + "SELECT ?label WHERE { <https://w3id.org/plan-kg/id/132292/basic-plan-3/1> skos:prefLabel ?label }"

ONE_PATTERN = [
    LOOKUP,
    LOOKUP + "\n# bench 17",  # a trailing comment must not swallow the limit
    "ASK { ?s ?p ?o }",
    "select * where { ?s a <urn:x:Class> . }",
    "SELECT ?s { ?s <urn:x:label> \"みんなでつくるまち\"@ja }",
    "SELECT ?s { ?s <urn:x:count> 3 }",
    "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT ?s { ?s <urn:x:code> '1-1'^^xsd:string }",
    "BASE <https://example.org/> PREFIX : <https://example.org/terms#> SELECT ?o { <item> :p ?o }",
    "SELECT $s ?o # which\n{ $s <urn:x:p> ?o }",
]

NOT_ONE_PATTERN = [
    "SELECT DISTINCT ?p { ?s ?p ?o }",  # DISTINCT may scan everything for a few rows
    "SELECT * { ?s ?p ?o . ?o ?q ?r }",
    "SELECT * { ?s ?p ?o ; ?q ?r }",
    "SELECT * { ?s ?p ?o , ?r }",
    "SELECT * { ?x ?p ?x }",  # a repeated variable filters a scan
    "SELECT * { ?s ?p ?o FILTER(?o = 1) }",
    "SELECT * { ?s <urn:x:p>* ?o }",
    "SELECT * { ?s ^<urn:x:p> ?o }",
    "SELECT * { ?s <urn:x:p>/<urn:x:q> ?o }",
    "SELECT * { _:b ?p ?o }",
    "SELECT * { [] ?p ?o }",
    "SELECT * { ?s ?p [ ?q ?r ] }",
    "SELECT * FROM <urn:x:g> { ?s ?p ?o }",
    "SELECT * { GRAPH ?g { ?s ?p ?o } }",
    "SELECT * { { ?s ?p ?o } }",
    "SELECT * { ?s ?p ?o } ORDER BY ?o",
    "SELECT * { ?s ?p ?o } LIMIT 5",
    "SELECT * { ?s ?p ?o } VALUES ?s { <urn:x:a> }",
    "SELECT * { ?s ?p ?o OPTIONAL { ?o ?q ?r } }",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "DESCRIBE <urn:x:a>",
    "SELECT * { ?s ?p \"\"\"long\"\"\" }",
    "SELECT * { ?s ?p \"\\u00e9\" }",
    "SELECT * { }",
    "ASK {}",
    "SELECT { ?s ?p ?o }",
    "PREFIX skos <http://x/> SELECT * { ?s ?p ?o }",
    "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }",
    "SELECT * {\u3000?s ?p ?o }",  # not SPARQL's white space (nor U+00A0, nor a vertical tab): a syntax error
    "SELECT * { ?s\u00a0?p ?o }",
    "SELECT * { ?s ?p\x0b?o }",
    "PREFIX ex: <http://e/> PREFIX : <http://x/> SELECT * { ex:a:b ?o }",  # one name, ex:a:b: two terms
    "PREFIX : <http://e/> SELECT * { ?s :: }",
    "SELECT * { ?s <http://p> +1 }",  # the path <http://p>+ and the object 1
    "SELECT * { ?s a +1.5 }",
    "SELECT * { ?s <http://p>+1 }",
]


@pytest.mark.parametrize("query", ONE_PATTERN)
def test_one_pattern_lookups_are_bounded(query: str) -> None:
    text = bounded_text(query, 100)
    assert text is not None
    assert _is_one_pattern(text)
    if query.lstrip().upper().startswith("ASK"):
        assert text == query  # ASK stops at the first solution by itself
    else:
        assert text.endswith("\nLIMIT 101")
        assert _limit(text) == 101


@pytest.mark.parametrize("query", NOT_ONE_PATTERN)
def test_anything_else_goes_to_a_worker(query: str) -> None:
    assert bounded_text(query, 100) is None


def test_a_long_text_is_not_read_in_the_server_process() -> None:
    """The event loop reads no long text: a worker parses it."""
    padded = LOOKUP + "\n#" + "x" * MAX_CHARACTERS
    assert bounded_text(padded[:MAX_CHARACTERS], 100) is not None
    assert bounded_text(padded, 100) is None
    many_prefixes = "".join(f"PREFIX p{i}: <urn:x:{i}/> " for i in range(MAX_CHARACTERS // 20)) + "ASK { ?s ?p ?o }"
    assert bounded_text(many_prefixes, 100) is None


def test_the_bound_stops_a_scan_of_the_whole_store() -> None:
    store = pyoxigraph.Store()
    store.extend(pyoxigraph.Quad(pyoxigraph.NamedNode(f"urn:x:{i}"), pyoxigraph.NamedNode("urn:x:p"),
                                 pyoxigraph.Literal(str(i))) for i in range(50))
    text = bounded_text("SELECT * { ?s ?p ?o }", 9)
    assert text is not None
    assert len(list(store.query(text))) == 10  # one more than the bound: "over it", answered by a worker


# Pieces of SPARQL, the narrow grammar's and others, that random queries are made of.
_HEADS = ["", SKOS, "BASE <https://example.org/> ", "PREFIX : <urn:x:> ", "PREFIX skos <urn:x:> "]
_FORMS = ["SELECT ?s ?o ", "SELECT * ", "ASK ", "SELECT DISTINCT ?s ", "SELECT (1 AS ?one) ", "CONSTRUCT ",
          "select $o "]
_TERMS = ["?s", "?o", "?p", "$s", "<urn:x:a>", "<item>", "skos:prefLabel", ":p", "a", "\"x\"", "'y'", "1", "2.5",
          "true", "+1", "-2", ":p:q"]
_PIECES = ["@ja", "^^", "<urn:x:t>", ".", ";", ",", "*", "/", "^", "|", "_:b", "[]", "[", "]", "(", ")", "{", "}",
           "FILTER", "OPTIONAL", "GRAPH", "UNION", "MINUS", "VALUES", "LIMIT", "WHERE", "# note\n", "\n"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.sampled_from(_HEADS), form=st.sampled_from(_FORMS), where=st.booleans(),
       body=st.lists(st.one_of(st.sampled_from(_TERMS), st.sampled_from(_PIECES)), max_size=6),
       tail=st.sampled_from(["", " ", "# end", " LIMIT 3"]))
def test_every_query_taken_as_bounded_is_one_triple_pattern(head, form, where, body, tail) -> None:
    """rdflib's SPARQL algebra is the judge: whatever `bounded_text` accepts and Oxigraph parses is one pattern."""
    query = f"{head}{form}{'WHERE ' if where else ''}{{ {' '.join(body)} }}{tail}"
    text = bounded_text(query, 100)
    if text is None:
        return
    try:
        pyoxigraph.Store().query(text)
    except SyntaxError:
        return  # not SPARQL: the in-process run fails and a worker answers with the reason
    assert _is_one_pattern(text), query


@settings(max_examples=100, deadline=None)
@given(subject=st.sampled_from(["?s", "<urn:x:a>", "skos:prefLabel"]),
       predicate=st.sampled_from(["?p", "a", "<urn:x:p>"]),
       obj=st.sampled_from(["?o", "\"x\"@en", "'y'^^<urn:x:t>", "1", "false", "<urn:x:b>"]),
       dot=st.booleans(), comment=st.sampled_from(["", "# c\n", " #}\n"]))
def test_every_well_formed_lookup_is_taken(subject, predicate, obj, dot, comment) -> None:
    """The random queries above are mostly refused; these, of the narrow grammar, must all be accepted."""
    query = f"{SKOS}SELECT * {comment}WHERE {{ {subject} {comment}{predicate} {obj}{' .' if dot else ''} }}{comment}"
    text = bounded_text(query, 100)
    assert text is not None, query
    assert _is_one_pattern(text)


def _is_one_pattern(text: str) -> bool:
    algebra = prepareQuery(text).algebra
    if algebra.datasetClause:
        return False
    node = algebra.p
    while node.name in ("Slice", "Project"):
        node = node.p
    if node.name != "BGP" or len(node.triples) != 1:
        return False
    terms = node.triples[0]
    variables = [t for t in terms if isinstance(t, Variable)]
    return (not any(isinstance(t, (BNode, PropertyPath)) for t in terms)
            and len(variables) == len(set(variables)))


def _limit(text: str) -> int | None:
    algebra = prepareQuery(text).algebra
    return algebra.p.length if algebra.p.name == "Slice" else None


# --- json_answer: the index read and the json module, against pyoxigraph's engine and writer ------

_EX = "urn:x:"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_VALUES = [
    pyoxigraph.Literal("plain"), pyoxigraph.Literal("みんなでつくるまち", language="ja"),
    pyoxigraph.Literal("tag", language="en-US"), pyoxigraph.Literal("q\"uote \\ back/slash"),
    pyoxigraph.Literal("".join(map(chr, range(32))) + "\x7f\u2028\U0001f600"),
    pyoxigraph.Literal("42", datatype=pyoxigraph.NamedNode(_XSD + "integer")),
    pyoxigraph.Literal("+007", datatype=pyoxigraph.NamedNode(_XSD + "integer")),
    pyoxigraph.Literal("2.50", datatype=pyoxigraph.NamedNode(_XSD + "decimal")),
    pyoxigraph.Literal("true", datatype=pyoxigraph.NamedNode(_XSD + "boolean")),
    pyoxigraph.Literal("x", datatype=pyoxigraph.NamedNode(_EX + "type")),
    pyoxigraph.BlankNode("b0"), pyoxigraph.NamedNode(_EX + "a"), pyoxigraph.NamedNode(_EX + "b/../c"),
]


def _tricky_quads() -> list[pyoxigraph.Quad]:
    quads = []
    subjects = [pyoxigraph.NamedNode(_EX + "a"), pyoxigraph.NamedNode(_EX + "b/../c"), pyoxigraph.BlankNode("b0")]
    predicates = [pyoxigraph.NamedNode(_EX + "p"), pyoxigraph.NamedNode(_EX + "q"),
                  pyoxigraph.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")]
    for i, value in enumerate(_VALUES):
        quads.append(pyoxigraph.Quad(subjects[i % 3], predicates[i % 2], value))
        quads.append(pyoxigraph.Quad(subjects[(i + 1) % 3], predicates[2], value))
    return quads


@pytest.fixture(scope="module")
def tricky_store(tmp_path_factory: pytest.TempPathFactory) -> pyoxigraph.Store:
    """Values whose JSON needs care (escapes, language tags, datatypes, blank nodes), on disk as served."""
    store = pyoxigraph.Store(str(tmp_path_factory.mktemp("tricky") / "store"))
    store.extend(_tricky_quads())
    return store


_SPARQL_TERMS = ["?s", "$o", "?p", "?s", "<urn:x:a>", "x:a", "x:a:p", "x::", "+42", "+2.50", "<urn:x:b/../c>", "x:p", "<urn:x:q>", "a", "<x:rel>",
                 "<relative>", "y:a", "\"plain\"", "'plain'", "\"tag\"@EN-us", "\"みんなでつくるまち\"@ja", "42", "+007",
                 "007", "2.50", "2.5", "true", "false", "'x'^^<urn:x:type>", "'x'^^x:type", "\"42\"^^<" + _XSD + "integer>",
                 "'plain'^^<" + _XSD + "string>", "\"q\\\"uote \\\\ back/slash\"", "'tag'@xx-invalid-tag-value"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(["SELECT *", "SELECT ?s ?o", "SELECT $o ?p ?s", "SELECT ?nothing ?o", "ASK", "SELECT ?o ?o",
                             "SELECT ?o WHERE"]),
       head=st.sampled_from(["PREFIX x: <urn:x:> ", "", "BASE <urn:x:> PREFIX x: <urn:x:> "]),
       subject=st.sampled_from(_SPARQL_TERMS), predicate=st.sampled_from(_SPARQL_TERMS),
       obj=st.sampled_from(_SPARQL_TERMS), rows=st.sampled_from([0, 1, 3, 100]),
       space=st.sampled_from([" ", "\t", "\r\n", "# c\n", "\u3000", "\u00a0", "\x0c"]))
def test_a_lookup_answered_from_the_index_is_pyoxigraphs_answer(tricky_store, form, head, subject, predicate, obj,
                                                                 rows, space) -> None:
    """Byte for byte the JSON the engine writes, whenever json_answer gives one (None: the engine's way;
    OverBound: more rows than the bound, a worker's)."""
    _same_as_the_engine(tricky_store, f"{head}{form}{space}{{ {subject}{space}{predicate} {obj} }}", rows)


@pytest.fixture(scope="module")
def tricky_copy(tricky_store: pyoxigraph.Store) -> MemoryCopy:
    return MemoryCopy.of(tricky_store)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(["SELECT *", "SELECT ?s ?o", "SELECT $o ?p ?s", "ASK"]),
       subject=st.sampled_from(_SPARQL_TERMS), predicate=st.sampled_from(_SPARQL_TERMS),
       obj=st.sampled_from(_SPARQL_TERMS), rows=st.sampled_from([0, 1, 3, 100]))
def test_a_lookup_read_from_a_copy_in_memory_is_the_engines_answer_there(tricky_copy, form, subject, predicate, obj,
                                                                          rows) -> None:
    """The same from an in-memory store, whose terms come back from another encoding and in another order."""
    _same_as_the_engine(tricky_copy.store, f"PREFIX x: <urn:x:> {form} {{ {subject} {predicate} {obj} }}", rows)


def _same_as_the_engine(store: pyoxigraph.Store, query: str, rows: int) -> None:
    lookup = read_lookup(query)
    if lookup is None:
        return
    try:
        answer: bytes | str | None = json_answer(store, lookup, max_rows=rows)
    except OverBound:
        answer = "over the bound"
    try:
        expected = store.query(lookup.bounded(rows), base_iri="http://example.org/sparql")
    except SyntaxError:
        assert answer is None, query  # the parser refuses it: so must the index read
        return
    body = expected.serialize(format=pyoxigraph.QueryResultsFormat.JSON)
    if isinstance(expected, pyoxigraph.QuerySolutions) and body.count(b"},{") + (b'"bindings":[{' in body) > rows:
        assert answer in (None, "over the bound"), query  # a worker answers
    elif answer is not None:
        assert answer == body, query


def test_the_index_read_takes_the_common_lookups(tricky_store) -> None:
    """The property above must not pass by answering None: the usual lookups, each kind of term in a
    pattern, and every value of the store (each term kind and escape), are answered this way, with rows,
    as the engine writes them."""
    for query in ["SELECT * { ?s ?p ?o }", "SELECT ?o ?s { ?s ?p ?o }", "PREFIX x: <urn:x:> SELECT ?o { x:a x:p ?o }",
                  "SELECT * { ?s <urn:x:q> ?o }", "ASK { <urn:x:b/../c> a 'x'^^<urn:x:type> }", "SELECT ?s { ?s ?p 42 }",
                  'SELECT ?s { ?s ?p "tag"@en-US }', "SELECT ?s { ?s ?p 2.50 }", "SELECT ?s { ?s ?p +007 }",
                  "SELECT ?s { ?s ?p true }", "SELECT ?s { ?s ?p 'plain' }", "SELECT ?s { ?s ?p <urn:x:b/../c> }",
                  'SELECT ?s { ?s ?p "q\\"uote \\\\ back/slash" }', "SELECT ?s { ?s ?p 'x'^^<urn:x:type> }"]:
        lookup = read_lookup(query)
        assert lookup is not None, query
        answer = json_answer(tricky_store, lookup, max_rows=100)
        assert answer == tricky_store.query(query).serialize(format=pyoxigraph.QueryResultsFormat.JSON), query
        assert b'"bindings":[{' in answer or answer.endswith(b"true}"), query
    everything = json_answer(tricky_store, read_lookup("SELECT * { ?s ?p ?o }"), max_rows=100)
    assert everything is not None and everything.count(b'"type":"literal"') == 2 * 10  # each literal, twice


def test_what_the_index_read_leaves_to_the_engine(tmp_path: Path) -> None:
    """A BASE, a relative IRI, an unknown prefix, a variable projected twice, and answers holding a
    triple term or a base direction go the engine's way (None); more rows than the bound, a worker's."""
    store = pyoxigraph.Store(str(tmp_path / "store"))  # with the two terms only the engine writes
    store.extend(_tricky_quads())
    store.add(pyoxigraph.Quad(pyoxigraph.NamedNode(_EX + "t"), pyoxigraph.NamedNode(_EX + "p"), pyoxigraph.Triple(
        pyoxigraph.NamedNode(_EX + "a"), pyoxigraph.NamedNode(_EX + "p"), pyoxigraph.NamedNode(_EX + "b"))))
    store.add(pyoxigraph.Quad(pyoxigraph.NamedNode(_EX + "d"), pyoxigraph.NamedNode(_EX + "p"),
                              pyoxigraph.Literal("x", language="ar", direction=pyoxigraph.BaseDirection.RTL)))
    for query, rows in [("BASE <urn:x:> SELECT * { <a> ?p ?o }", 100), ("SELECT * { <a> ?p ?o }", 100),
                        ("SELECT * { y:a ?p ?o }", 100), ("SELECT ?o ?o { <urn:x:a> ?p ?o }", 100),
                        ("SELECT * { <urn:x:t> ?p ?o }", 100), ("SELECT * { <urn:x:d> ?p ?o }", 100)]:
        lookup = read_lookup(query)
        assert lookup is not None, query
        assert json_answer(store, lookup, max_rows=rows) is None, query
    with pytest.raises(OverBound):
        json_answer(store, read_lookup("SELECT * { ?s <urn:x:p> ?o }"), max_rows=2)


def test_a_copy_in_memory_reads_a_lookup_only_by_an_iri_with_a_short_list(tmp_path: Path) -> None:
    """`MemoryCopy` names, by position, the IRIs in more than SHORT_LIST quads of the copy of the default graph (the
    graph a lookup reads; the named graphs' quads are not in that copy): a pattern whose bound terms are all such
    IRIs, or literals, is read from disk, where the index bounds the walk."""
    node, quad = pyoxigraph.NamedNode, pyoxigraph.Quad
    hub = [quad(node(f"{_EX}S"), node(f"{_EX}p{i}"), node(f"{_EX}o{i}")) for i in range(SHORT_LIST)]
    hub += [quad(node(f"{_EX}s{i}"), node(f"{_EX}P"), node(f"{_EX}O")) for i in range(SHORT_LIST)]
    hub += [quad(node(f"{_EX}S"), node(f"{_EX}P"), pyoxigraph.Literal("1")),  # S and P: one more than SHORT_LIST
            quad(node(f"{_EX}S"), node(f"{_EX}q"), node(f"{_EX}O"))]  # O: one more
    # Long in a named graph only: not in the copy lookups read (the store's default graph holds the union).
    hub += [quad(node(f"{_EX}r{i}"), node(f"{_EX}R"), node(f"{_EX}N"), node(f"{_EX}g")) for i in range(2 * SHORT_LIST)]
    disk = pyoxigraph.Store(str(tmp_path / "store"))
    disk.bulk_extend(hub)
    copy = MemoryCopy.of(disk)
    assert copy.long_lists == {(0, node(f"{_EX}S")), (1, node(f"{_EX}P")), (2, node(f"{_EX}O"))}
    assert len(copy.stores.whole) == len(disk) and len(copy.store) == len(disk) - 2 * SHORT_LIST
    assert copy.store is copy.stores.default

    def covered(query: str) -> bool:
        lookup = read_lookup(query)
        assert lookup is not None, query
        return copy.covers(lookup)

    assert covered("SELECT * { <urn:x:s3> ?p ?o }")  # a short list, in any position
    assert covered("SELECT * { <urn:x:S> <urn:x:p7> ?o }") and covered("SELECT * { ?s ?p <urn:x:o7> }")
    assert covered("SELECT * { ?s <urn:x:O> ?o }")  # long as an object, not as a predicate
    assert covered("SELECT * { ?s <urn:x:R> <urn:x:N> }")  # long in a named graph alone
    assert covered("SELECT * { <urn:x:s3> ?p ?o }\n# a comment line on a graph")  # comment lines aside,
    assert not covered("SELECT * { <urn:x:graph> ?p ?o }")  # a word that could name a graph: the whole copy's
    assert not covered("SELECT * { <urn:x:S> ?p ?o }") and not covered("SELECT * { <urn:x:S> <urn:x:P> ?o }")
    assert not covered("SELECT * { ?s <urn:x:P> <urn:x:O> }")
    assert not covered("SELECT * { ?s ?p ?o }") and not covered("SELECT * { ?s ?p 'x' }")  # nothing to walk
    assert not covered("PREFIX x: <urn:x:> SELECT * { ?s x:P 1 }")
    assert not covered("BASE <urn:x:> SELECT * { <s3> ?p ?o }")  # the engine's to read

    # The rows are the same from either store; a service reads the copy only when it covers the pattern.
    for query in ["SELECT * { <urn:x:s3> ?p ?o }", "SELECT ?o { <urn:x:S> <urn:x:P> ?o }", "ASK { ?s <urn:x:O> ?o }",
                  "SELECT ?s { ?s <urn:x:P> <urn:x:O> }"]:
        lookup = read_lookup(query)
        from_disk, from_memory = (json.loads(json_answer(store, lookup, max_rows=SHORT_LIST * 2) or b"null")
                                  for store in (disk, copy.store))
        if "results" in from_disk:
            for answer in (from_disk, from_memory):
                answer["results"]["bindings"].sort(key=json.dumps)
        assert from_disk == from_memory and from_disk is not None, query
