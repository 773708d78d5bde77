"""The named queries (queries/*.rq, plan_kg.named_queries): headers, and results pinned on the built data."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from plan_kg.config import Settings
from plan_kg.errors import QueryError
from plan_kg.named_queries import HEADER_KEYS, find_named_query, load_named_queries, parse_named_query

PKG = "https://w3id.org/plan-kg/ontology#"
PLAN = "https://w3id.org/plan-kg/id/132292/basic-plan-3"
ITEM = PLAN + "/"
MINE = (
    "counts-per-level", "editorial-notes", "hierarchy", "initiatives-of-policy", "measures-initiative-counts",
    "named-graphs", "ontology-classes", "planned-without-name", "search-label", "under-basic-goal",
)
needs_build = pytest.mark.skipif(
    importlib.util.find_spec("plan_kg.build") is None, reason="plan_kg.build (the pipeline) is not there yet"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> ox.Store:
    """The real dataset, built from data/ into a temporary dist/ and loaded as the server loads it."""
    from plan_kg.build import build

    out_dir = tmp_path_factory.mktemp("dist")
    build(Settings(), out_dir=out_dir)
    store = ox.Store()
    store.load(path=str(out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def run(store: ox.Store, name: str) -> list[dict[str, str | None]]:
    query = find_named_query(Settings(), name)
    solutions = store.query(query.text, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]


# -- the files and their headers ----------------------------------------------------
def test_every_query_file_has_all_four_headers() -> None:
    queries = load_named_queries(Settings())
    assert {q.name for q in queries} >= set(MINE)
    for query in queries:
        assert all(getattr(query, key).strip() for key in HEADER_KEYS), query.name
        assert query.text.splitlines()[0].startswith("# title: ")


def test_every_query_is_valid_sparql() -> None:
    store = ox.Store()
    for query in load_named_queries(Settings()):
        store.query(query.text)  # SyntaxError if not


def test_a_missing_header_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.rq"
    path.write_text("# title: t\n# title_ja: t\n# description: d\nSELECT * {}\n", encoding="utf-8")
    with pytest.raises(QueryError, match=r"broken\.rq.*# description_ja:"):
        parse_named_query(path)


def test_a_repeated_header_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "twice.rq"
    path.write_text("# title: a\n# title: b\n", encoding="utf-8")
    with pytest.raises(QueryError, match=r"twice\.rq, line 2"):
        parse_named_query(path)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(QueryError, match="known: .*hierarchy"):
        find_named_query(Settings(), "nope")


def test_a_path_is_reported_as_a_file_not_as_an_unknown_name(tmp_path: Path) -> None:
    missing = tmp_path / "x" / "nothere.rq"
    with pytest.raises(QueryError, match=rf"^file not found: {re.escape(str(missing))}; .*hierarchy") as caught:
        find_named_query(Settings(), str(missing))
    assert "no named query" not in str(caught.value)
    with pytest.raises(QueryError, match=r"^file not found: nothere\.rq; "):
        find_named_query(Settings(), "nothere.rq")
    other = tmp_path / "labels.sparql"
    other.write_text("SELECT * {}", encoding="utf-8")
    with pytest.raises(QueryError, match=r"labels\.sparql: a query file's name must end in \.rq"):
        find_named_query(Settings(), str(other))


def test_no_queries_dir_means_no_queries(tmp_path: Path) -> None:
    assert load_named_queries(replace(Settings(), queries_dir=tmp_path / "none")) == []


# -- results on the built data --------------------------------------------------------
@needs_build
def test_queries_name_only_terms_the_ontology_declares(built: ox.Store) -> None:
    for query in load_named_queries(Settings()):
        for local in set(re.findall(r"\bpkg:([A-Za-z][A-Za-z0-9_]*)", query.text)):
            term = ox.NamedNode(PKG + local)
            assert next(built.quads_for_pattern(term, None, None, None), None), f"{query.name}: pkg:{local} is not declared"


@needs_build
def test_every_named_query_runs_on_the_built_data(built: ox.Store) -> None:
    for query in load_named_queries(Settings()):
        list(built.query(query.text, use_default_graph_as_union=True))


@needs_build
def test_counts_per_level(built: ox.Store) -> None:
    rows = run(built, "counts-per-level")
    assert [(r["class"], r["levelName"], r["items"]) for r in rows] == [
        (PKG + "BasicGoal", "基本目標", "6"),
        (PKG + "Policy", "施策", "15"),
        (PKG + "Measure", "基本施策", "37"),
        (PKG + "Initiative", "目標の実現に向けた取組内容", "109"),
    ]


@needs_build
def test_hierarchy_has_a_row_per_initiative_plus_the_empty_measure_in_plan_order(built: ox.Store) -> None:
    rows = run(built, "hierarchy")
    assert len(rows) == 109 + 1
    assert rows[0]["initiativeCode"] == "1-1-1-1" and rows[0]["goal"] == "みんなでつくるまち"
    assert rows[-1]["goalCode"] == "6"
    planned = [r for r in rows if r["measureCode"] == "1-3-3"]
    assert planned == [{**planned[0], "measure": None, "initiativeCode": None, "initiative": None}]
    order = [r["initiativeCode"] or r["measureCode"] for r in rows]
    assert order.index("1-3-2-1") < order.index("1-3-3") < order.index("2-1-1-1")


@needs_build
def test_hierarchy_equals_the_plain_nested_optional_form(built: ox.Store) -> None:
    # hierarchy.rq nests one-pattern OPTIONALs for Oxigraph's planner; its rows (order included)
    # must be those of the plain form, where each level's patterns are one OPTIONAL block.
    text = find_named_query(Settings(), "hierarchy").text
    plain = text[:text.index("  # Each OPTIONAL")] + """  OPTIONAL {
    ?p pkg:parent ?g ; a pkg:Policy ; pkg:code ?policyCode ; skos:prefLabel ?policy ; pkg:sequence ?ps .
    OPTIONAL {
      ?m pkg:parent ?p ; a pkg:Measure ; pkg:code ?measureCode ; pkg:sequence ?ms .
      OPTIONAL { ?m skos:prefLabel ?measure }
      OPTIONAL {
        ?i pkg:parent ?m ; a pkg:Initiative ; pkg:code ?initiativeCode ; skos:prefLabel ?initiative ; pkg:sequence ?is .
      }
    }
  }
}
ORDER BY ?gs ?ps ?ms ?is
"""
    got, want = (built.query(q, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.TSV)
                 for q in (text, plain))
    assert got == want and got.count(b"\n") == 1 + 110


@needs_build
def test_under_basic_goal_lists_goal_1_in_order(built: ox.Store) -> None:
    rows = run(built, "under-basic-goal")
    codes = [r["code"] for r in rows]
    assert len(codes) == 31 and all(code.startswith("1-") for code in codes)
    assert codes[:3] == ["1-1", "1-1-1", "1-1-1-1"]
    assert {r["level"] for r in rows} == {"施策", "基本施策", "目標の実現に向けた取組内容"}


@needs_build
def test_search_label_finds_the_items_about_children(built: ox.Store) -> None:
    rows = run(built, "search-label")
    assert all("子ども" in r["label"] for r in rows)
    rows = [r for r in rows if r["item"].startswith(ITEM)]
    assert [r["code"] for r in rows] == [
        "2", "2-1", "2-1-1", "2-1-1-1", "2-1-1-2", "2-1-1-3", "2-1-2", "2-1-2-1", "2-1-2-2", "2-1-2-3", "2-2", "2-3",
    ]
    assert all("西東京市" in r["planTitle"] for r in rows)


@needs_build
def test_planned_without_name_is_measure_1_3_3(built: ox.Store) -> None:
    rows = [r for r in run(built, "planned-without-name") if r["plan"] == PLAN]
    assert [(r["code"], r["level"], r["item"]) for r in rows] == [("1-3-3", "基本施策", ITEM + "1-3-3")]
    assert "デジタル" in rows[0]["notes"]


@needs_build
def test_measures_with_their_initiative_counts(built: ox.Store) -> None:
    rows = run(built, "measures-initiative-counts")
    counts = {r["code"]: int(r["initiatives"]) for r in rows}
    assert len(counts) == 37 and sum(counts.values()) == 109
    assert counts["1-3-3"] == 0 and rows[[r["code"] for r in rows].index("1-3-3")]["label"] is None
    assert counts["1-3-2"] == 5 and max(counts.values()) == 5


@needs_build
def test_ontology_classes_have_both_labels(built: ox.Store) -> None:
    rows = {r["class"]: r for r in run(built, "ontology-classes")}
    for name in ("Municipality", "Plan", "PlanElement", "BasicGoal", "Policy", "Measure", "Initiative"):
        assert rows[PKG + name]["label_ja"] and rows[PKG + name]["label_en"], name
    assert PKG + "PlanElement" in rows[PKG + "Measure"]["superclasses"].split()


@needs_build
def test_named_graphs_with_triple_counts(built: ox.Store) -> None:
    rows = run(built, "named-graphs")
    graphs = {r["graph"]: int(r["triples"]) for r in rows}
    assert "https://w3id.org/plan-kg/graph/132292/basic-plan-3" in graphs
    assert "https://w3id.org/plan-kg/graph/132292/basic-plan-3/inferred" in graphs
    assert all(count > 0 for count in graphs.values())
    assert sum(graphs.values()) == sum(1 for _ in built.quads_for_pattern(None, None, None, None))


@needs_build
def test_initiatives_of_policy_2_1(built: ox.Store) -> None:
    rows = run(built, "initiatives-of-policy")
    assert [r["code"] for r in rows] == ["2-1-1-1", "2-1-1-2", "2-1-1-3", "2-1-2-1", "2-1-2-2", "2-1-2-3"]
    assert rows[0]["measureCode"] == "2-1-1"


@needs_build
def test_editorial_notes(built: ox.Store) -> None:
    rows = [r for r in run(built, "editorial-notes") if r["plan"] == PLAN]
    assert [r["code"] for r in rows] == [
        "1-1-2-1", "1-2-3-2", "1-3-1-4", "1-3-3", "2-1-2-1", "2-2-2", "3-1-1-1", "3-1-2-4",
        "3-1-4-1", "4-1-1-3", "4-2-2", "5-1-1", "5-1-3-1", "5-2-2", "6-1-1-5", "6-1-2-2",
    ]
    assert all(r["notes"] for r in rows)
