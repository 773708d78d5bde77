"""plan_kg.server.memory: a query that reads the default graph alone runs on a copy of that graph; any other on the
whole copy. (The answers of every named query, from memory and from disk: tests/test_server_memory_store.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyoxigraph as ox
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from plan_kg.server import load_store
from plan_kg.server.jobs import QueryJob
from plan_kg.server.memory import InMemory, names_no_graph, reads_default_graph_only
from plan_kg.server.pool import WorkerPool
from server_fixtures import PLAN_GRAPH, SAMPLE_QUADS, write_dump

#: Queries that read a named graph, and what they answer over the sample dump (6 quads in two named graphs, 5 of them
#: in the plan's; the default graph holds their union, as a loaded store's does).
NAMED_GRAPH_READS = {
    "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }": SAMPLE_QUADS,
    f"SELECT (COUNT(*) AS ?n) FROM <{PLAN_GRAPH}> {{ ?s ?p ?o }}": 5,
    f"SELECT (COUNT(*) AS ?n) FROM NAMED <{PLAN_GRAPH}> {{ GRAPH ?g {{ ?s ?p ?o }} }}": 5,
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o . FILTER EXISTS { gRaPh ?g { ?s ?p ?o } } }": SAMPLE_QUADS,
}


def test_a_text_that_could_name_a_graph_outside_its_comments_is_run_on_the_whole_copy() -> None:
    for query in NAMED_GRAPH_READS:
        assert not names_no_graph(query), query
    assert not names_no_graph("SELECT * { \\u0047RAPH ?g { ?s ?p ?o } }")  # a codepoint escape could spell it
    assert not names_no_graph("SELECT * { ?s ?p <urn:x:graph> }")  # in an IRI or a string: a false yes, only slower
    assert not names_no_graph('SELECT * { ?s ?p "from" }')
    assert names_no_graph("# Oxigraph evaluates this from the start\nSELECT * { ?s ?p ?o }")
    assert names_no_graph("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    assert not reads_default_graph_only(QueryJob("SELECT * { ?s ?p ?o }", default_graphs=(PLAN_GRAPH,)))
    assert not reads_default_graph_only(QueryJob("SELECT * { ?s ?p ?o }", named_graphs=()))
    assert reads_default_graph_only(QueryJob("SELECT * { ?s ?p ?o }"))


#: A store whose named graph holds what its default graph does not (no union): a query run on the wrong copy says so.
_WHOLE = ox.Store()
_WHOLE.add(ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.Literal("default")))
_WHOLE.add(ox.Quad(ox.NamedNode("urn:x:b"), ox.NamedNode("urn:x:p"), ox.Literal("named"), ox.NamedNode("urn:x:g")))
_COPIES = InMemory.of(_WHOLE)

#: Query forms, some reading the named graph (GRAPH, FROM, FROM NAMED), with a place for the keyword's spelling.
_FORMS = ["SELECT ?o {{ ?s ?p ?o }}", "SELECT ?o {{ {kw} ?g {{ ?s ?p ?o }} }}", "SELECT ?o {kw} <urn:x:g> {{ ?s ?p ?o }}",
          "SELECT ?o {kw} NAMED <urn:x:g> {{ {graph} ?g {{ ?s ?p ?o }} }}", "ASK {{ ?s ?p 'named' }}",
          "DESCRIBE <urn:x:b>", "CONSTRUCT WHERE {{ ?s ?p ?o }}"]


def _answer(store: ox.Store, query: str) -> object:
    try:
        result = store.query(query)
    except SyntaxError:
        return "not SPARQL"
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        return sorted(str(row[0]) for row in result)
    return sorted(str(triple) for triple in result)  # type: ignore[union-attr]


@examples(max_examples=200, deadline=None)
@given(st.sampled_from(_FORMS), st.sampled_from(["GRAPH", "graph", "Graph", "gRAPH"]),
       st.sampled_from(["FROM", "from", "From"]),
       st.lists(st.sampled_from(["# graph from\n", "# Oxigraph\n", " ", "\n", "\t"]), max_size=3))
def test_a_text_run_on_the_copy_of_the_default_graph_has_the_whole_copys_answer(form: str, graph: str, from_: str,
                                                                                comments: list[str]) -> None:
    """pyoxigraph is the judge: over a named graph that holds what the default graph does not, a text taken to read
    the default graph alone gets the same answer from its copy as from the whole store."""
    keyword = graph if "{kw} ?g" in form else from_
    query = "".join(comments) + form.format(kw=keyword, graph=graph) + "".join(comments)
    if names_no_graph(query):
        assert _answer(_COPIES.default, query) == _answer(_WHOLE, query), query
    assert _COPIES.for_job(QueryJob(query)) is (_COPIES.default if names_no_graph(query) else _COPIES.whole)


#: Texts that read the named graph where '<' is less than and what follows up to a '>' looks like an IRI to a regular
#: expression: a quote or '#' in it starts, to the parser, a string or a comment that runs past the '>', and a '#' the
#: expression then takes for a comment's start is, to the parser, in a string (or after a comment's end). Reading texts
#: for their comments with `named.token_text` ran these on the copy of the default graph (an audit found them).
_LESS_THAN_READS = [
    "SELECT ?o { FILTER(''<'>#') GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?o {BIND(''<'>#'AS ?x)GRAPH ?g { ?s ?p ?o } }",
    "SELECT ((''<'>#')\tAS ?x) ?o FROM <urn:x:g> { ?s ?p ?o }",
    "SELECT ?o { FILTER(0<1#>'''\n) BIND('''#''' AS ?x) GRAPH ?g {?s ?p ?o} }",
]


def test_only_comment_lines_are_left_out_so_a_less_than_hides_no_graph() -> None:
    for query in _LESS_THAN_READS:
        assert _answer(_WHOLE, query) != _answer(_COPIES.default, query), query  # each reads the named graph
        assert not names_no_graph(query), query
    assert names_no_graph("PREFIX ex: <urn:x#>\n  # from the plan\r\t# graph\nSELECT * { ?s ex:p ?o }")
    assert not names_no_graph("SELECT * { ?s ?p ?o } # no graph here")  # a comment after code counts: only slower
    assert not names_no_graph("SELECT * {\n\u3000# graph\n}")  # U+3000 is no white space to the parser


_SEPARATORS = st.sampled_from(["", " ", "\n", "\r", "\t", "#c\n", "# graph from\n", "\n# graph\n", " #x'\"<>\n"])


@examples(max_examples=300, deadline=None)
@given(st.sampled_from(["", "PREFIX ex: <urn:x:#> ", "PREFIX ex: <urn:x'> ", "BASE <urn:x:> "]),
       st.sampled_from(["SELECT ?o {{ {b}{s}{g} ?g {{ ?s ?p ?o }} }}", "ASK {{ {b}{s}{g}{t}?g{{ ?s ?p 'named' }} }}",
                        "SELECT ?o {{ {b}{s}FILTER EXISTS {{ {g} ?g {{ ?s ?p ?o }} }} ?s ?p ?o }}",
                        "SELECT (({e}){s}AS ?x) ?o FROM <urn:x:g> {{ ?s ?p ?o }}",
                        "SELECT ?o FROM NAMED <urn:x:g> {{ {b}{s}{g} ?g {{ ?s ?p ?o }} }}"]),
       st.sampled_from(["FILTER({e})", "BIND({e} AS ?z)", "OPTIONAL {{ FILTER({e}) }}", "?s ?p ?o FILTER({e})",
                        "BIND(ex:a\\#b AS ?z)", "BIND('''{t}''' AS ?z)", "FILTER({e}#>'''\n) BIND('''#''' AS ?z)"]),
       st.sampled_from(["''<'>#'", "0<1", "?o<'>#'||true", "'#'='#'", "<urn:x#a>=<urn:x#a>", "<urn:x'a>=<urn:x'a>",
                        "''<\"x>#\"", "'a'<'b>#c'", "1<2&&3>2"]),
       _SEPARATORS, _SEPARATORS)
def test_a_text_with_less_than_signs_run_on_the_copy_of_the_default_graph_has_the_whole_copys_answer(
        prologue: str, form: str, before: str, expression: str, separator: str, other: str) -> None:
    """pyoxigraph is the judge, over texts where '<' is less than next to quotes, '#' and '>' (see above)."""
    query = prologue + form.format(b=before.format(e=expression, t=other), e=expression, g="GRAPH", s=separator,
                                   t=other)
    if names_no_graph(query):
        assert _answer(_COPIES.default, query) == _answer(_WHOLE, query), query


def test_workers_on_the_copies_answer_what_the_disk_answers(tmp_path: Path) -> None:
    """Through a real worker pool, in memory and on disk: a query that reads a named graph finds it."""
    loaded = load_store(write_dump(tmp_path / "dist"), tmp_path / "store")
    queries = {**NAMED_GRAPH_READS, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o } # graph": SAMPLE_QUADS,
               "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }": SAMPLE_QUADS}

    async def counts(in_memory: bool) -> list[int]:
        pool = WorkerPool(loaded.path, size=1, max_rows=100, timeout_s=60, in_memory=in_memory)
        await pool.start()
        try:
            answers = [await pool.run(QueryJob(query, results_format="csv")) for query in queries]
        finally:
            await pool.close()
        return [int(answer.body.split()[-1]) for answer in answers]

    assert asyncio.run(counts(True)) == asyncio.run(counts(False)) == list(queries.values())
