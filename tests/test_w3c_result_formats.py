"""W3C SPARQL 1.1 CSV/TSV and JSON result-format tests, through the real server.

Each `qt:data` file is loaded as a named graph and made the query's default graph with
`default-graph-uri` (the protocol's dataset). Results are compared as the specs allow:
CSV cell by cell (CSV drops types), TSV and JSON as parsed terms, blank nodes up to renaming.
Columns are matched by name: for `SELECT *` SPARQL leaves the order of the variables open
(pyoxigraph sorts them), and rows keep the order of the queries' ORDER BY.

Numbers are compared by value: the Oxigraph store keeps numeric literals as values, so it
answers "1.0E6"^^xsd:double as "1000000" and "-3"^^xsd:negativeInteger as "-3"^^xsd:integer
(the same value; the Oxigraph server answers the same). Everything else must match exactly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph
import pytest
from rdflib import Graph, Namespace
from rdflib.collection import Collection

from plan_kg.config import Settings
from server_fixtures import live_server, write_dump

SUITES = Settings().shared_dir / "reference" / "w3c-sparql11"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")

pytestmark = pytest.mark.skipif(not SUITES.is_dir(), reason="W3C test suite extract not present")


def load_cases(suite: str) -> list[tuple[str, Path, Path, Path]]:
    """(name, query file, data file, expected result file) for every entry of `suite`'s manifest."""
    path = SUITES / suite / "manifest.ttl"
    manifest = Graph().parse(path, publicID=path.as_uri())
    root = next(manifest.subjects(MF.entries, None))
    cases = []
    for entry in Collection(manifest, manifest.value(root, MF.entries)):
        action = manifest.value(entry, MF.action)
        files = (manifest.value(action, QT.query), manifest.value(action, QT.data), manifest.value(entry, MF.result))
        cases.append((str(entry).rsplit("#", 1)[1], *(SUITES / suite / Path(str(f)).name for f in files)))
    return cases


CSV_TSV = load_cases("csv-tsv-res") if SUITES.is_dir() else []
JSON = load_cases("json-res") if SUITES.is_dir() else []


def graph_name(data: Path) -> str:
    return f"http://example.org/w3c/{data.parent.name}/{data.name}"


def test_every_case_is_found() -> None:
    assert (len(CSV_TSV), len(JSON)) == (6, 4)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    lines = []
    for data in sorted({case[2] for case in CSV_TSV + JSON}):
        for quad in pyoxigraph.parse(path=str(data), format=pyoxigraph.RdfFormat.TURTLE, rename_blank_nodes=True):
            lines.append(f"{quad.subject} {quad.predicate} {quad.object} <{graph_name(data)}> .")
    tmp = tmp_path_factory.mktemp("w3c-results")
    write_dump(tmp / "dist", "\n".join(lines) + "\n")
    with live_server(Settings(root=tmp, dist_dir=tmp / "dist")) as url:
        yield url


def ask(endpoint: str, query: Path, data: Path, accept: str) -> httpx.Response:
    response = httpx.get(
        endpoint,
        params={"query": query.read_text(encoding="utf-8"), "default-graph-uri": graph_name(data)},
        headers={"Accept": accept},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == accept
    return response


class BlankNodes:
    """Checks that two results name blank nodes consistently (a bijection between labels)."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self.backward: dict[str, str] = {}

    def same(self, ours: str, theirs: str) -> bool:
        return self.forward.setdefault(ours, theirs) == theirs and self.backward.setdefault(theirs, ours) == ours


def test_the_suite_data_has_blank_nodes_to_compare() -> None:
    assert any("_:" in case[3].read_text(encoding="utf-8") for case in CSV_TSV)


@pytest.mark.parametrize("case", [c for c in CSV_TSV if c[3].suffix == ".csv"], ids=lambda c: c[0])
def test_csv(endpoint: str, case: tuple[str, Path, Path, Path]) -> None:
    _, query, data, expected = case
    ours = list(csv.DictReader(io.StringIO(ask(endpoint, query, data, "text/csv").text)))
    theirs = list(csv.DictReader(io.StringIO(expected.read_text(encoding="utf-8"))))
    assert len(ours) == len(theirs) > 0
    blanks = BlankNodes()
    for our_row, their_row in zip(ours, theirs, strict=True):
        assert our_row.keys() == their_row.keys()
        for name, their_cell in their_row.items():
            our_cell = our_row[name]
            if their_cell.startswith("_:"):
                assert our_cell.startswith("_:") and blanks.same(our_cell, their_cell)
            elif our_cell != their_cell:
                assert float(our_cell) == float(their_cell)


@pytest.mark.parametrize("case", [c for c in CSV_TSV if c[3].suffix == ".tsv"], ids=lambda c: c[0])
def test_tsv(endpoint: str, case: tuple[str, Path, Path, Path]) -> None:
    _, query, data, expected = case
    response = ask(endpoint, query, data, "text/tab-separated-values")
    assert_same_solutions(
        pyoxigraph.parse_query_results(response.content, pyoxigraph.QueryResultsFormat.TSV),
        pyoxigraph.parse_query_results(path=str(expected), format=pyoxigraph.QueryResultsFormat.TSV),
    )


@pytest.mark.parametrize("case", JSON, ids=lambda c: c[0])
def test_json(endpoint: str, case: tuple[str, Path, Path, Path]) -> None:
    _, query, data, expected = case
    ours = json.loads(ask(endpoint, query, data, "application/sparql-results+json").content)
    theirs = json.loads(expected.read_text(encoding="utf-8"))
    if "boolean" in theirs:
        assert ours["boolean"] == theirs["boolean"]
        return
    assert sorted(ours["head"]["vars"]) == sorted(theirs["head"]["vars"])
    our_rows, their_rows = ours["results"]["bindings"], theirs["results"]["bindings"]
    assert len(our_rows) == len(their_rows)
    blanks = BlankNodes()
    for our_row, their_row in zip(our_rows, their_rows, strict=True):  # the queries ORDER BY every variable
        assert our_row.keys() == their_row.keys()
        for var, their_term in their_row.items():
            our_term = our_row[var]
            if their_term["type"] == "bnode":
                assert our_term["type"] == "bnode" and blanks.same(our_term["value"], their_term["value"])
            else:
                assert our_term == their_term


def assert_same_solutions(ours: pyoxigraph.QuerySolutions, theirs: pyoxigraph.QuerySolutions) -> None:
    assert sorted(v.value for v in ours.variables) == sorted(v.value for v in theirs.variables)
    names = [v.value for v in theirs.variables]
    our_rows, their_rows = list(ours), list(theirs)
    assert len(our_rows) == len(their_rows)
    blanks = BlankNodes()
    for our_row, their_row in zip(our_rows, their_rows, strict=True):
        for name in names:
            our_term, their_term = our_row[name], their_row[name]
            if isinstance(their_term, pyoxigraph.BlankNode):
                assert isinstance(our_term, pyoxigraph.BlankNode) and blanks.same(our_term.value, their_term.value)
            elif our_term != their_term:
                assert same_number(our_term, their_term), (our_term, their_term)


def same_number(ours: object, theirs: object) -> bool:
    """Whether two literals are the same number of the same primitive XSD type."""
    if not (isinstance(ours, pyoxigraph.Literal) and isinstance(theirs, pyoxigraph.Literal)):
        return False
    family = {f"{XSD}{name}": f"{XSD}integer" for name in INTEGER_TYPES}
    primitive = [family.get(t.datatype.value, t.datatype.value) for t in (ours, theirs)]
    return primitive[0] == primitive[1] in NUMERIC and float(ours.value) == float(theirs.value)


XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = (
    "integer", "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte",
    "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "positiveInteger",
)  # fmt: skip
NUMERIC = {f"{XSD}integer", f"{XSD}decimal", f"{XSD}double", f"{XSD}float"}
