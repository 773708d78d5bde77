"""The cities-*.rq named queries and the SDG heatmap (plan_kg.cities.heatmap), on all bundled plans.

The dataset here is what the build assembles (every plan, its inferences, the cross-city
links) plus Nishitokyo's SDG link graph, loaded into pyoxigraph as the server loads it.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from plan_kg.build import assemble
from plan_kg.cities.heatmap import GOALS, coverage_matrix, dataset_store, draw_heatmap, write_sdg_heatmap
from plan_kg.config import Settings
from plan_kg.named_queries import find_named_query, load_named_queries

PKG = "https://w3id.org/plan-kg/ontology#"
ID = "https://w3id.org/plan-kg/id/"
CITY_QUERIES = ("cities-counterparts", "cities-counts-per-level", "cities-sdg-coverage", "cities-sdg-coverage-links",
                "cities-themes-missing")


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    from plan_kg.sdg.links import link_graph

    settings = Settings()
    graphs = assemble(settings).graphs
    return [*graphs, link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                                links_csv=settings.data_dir / "sdg" / "links.csv")]


@pytest.fixture(scope="module")
def store(graphs: list[Graph]) -> ox.Store:
    return dataset_store(graphs)


def run(store: ox.Store, name: str) -> list[dict[str, str | None]]:
    solutions = store.query(find_named_query(Settings(), name).text, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]


def test_the_city_queries_exist_with_bilingual_headers() -> None:
    queries = {q.name: q for q in load_named_queries(Settings())}
    for name in CITY_QUERIES:
        assert queries[name].title_ja and queries[name].description_ja, name


def test_each_plans_sdg_coverage_counts_the_elements_that_carry_links_in_every_city(store: ox.Store) -> None:
    """sdg-coverage (per plan, every goal) agrees with cities-sdg-coverage (per city, non-empty cells): other
    cities' linked elements are pkg:PlanElement, not pkg:Initiative, and count too (they were all 0)."""
    per_plan = {(r["plan"].split("/id/")[1].split("/")[0], int(r["goalNumber"])): int(r["elements"])
                for r in run(store, "sdg-coverage")}
    per_city = {(r["code"], int(r["goal"])): int(r["items"]) for r in run(store, "cities-sdg-coverage")}
    assert per_city and {cell: n for cell, n in per_plan.items() if n} == per_city
    assert per_plan[("131202", 3)] > 0  # Nerima's elements serving goal 3


def test_sdg_coverage_has_a_row_per_goal_of_nishitokyo_and_none_for_plans_without_links(store: ox.Store) -> None:
    rows = run(store, "cities-sdg-coverage")
    # Higashimurayama's three goals get no suggestion (data/*/sdg-links.csv): no row for it
    assert {r["code"] for r in rows} == {"131202", "132039", "132110", "132292"}
    nishitokyo = [r for r in rows if r["code"] == "132292"]
    goals = [int(r["goal"]) for r in nishitokyo]
    assert goals == sorted(goals) and set(goals) <= set(GOALS)
    assert all(int(r["items"]) > 0 for r in rows) and nishitokyo[0]["name"] == "西東京市"


def test_sdg_coverage_from_the_inferred_graphs_equals_counting_the_link_nodes(store: ox.Store) -> None:
    expected = run(store, "cities-sdg-coverage-links")  # the portable form: every link node, over the union
    assert len(expected) > 20
    assert run(store, "cities-sdg-coverage") == expected


def test_counterparts_of_nerima_frailty_prevention_start_with_the_nishitokyo_initiative(store: ox.Store) -> None:
    rows = run(store, "cities-counterparts")
    assert rows[0]["counterpart"] == ID + "132292/basic-plan-3/3-2-2-2"
    assert rows[0]["label"] == "フレイル予防の推進" and rows[0]["city"] == "西東京市"
    assert rows[0]["relation"].endswith("closeMatch")
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(r["method"] and r["date"] for r in rows)


def test_themes_missing_lists_nerima_items_without_a_nishitokyo_counterpart(store: ox.Store) -> None:
    rows = run(store, "cities-themes-missing")
    codes = [r["code"] for r in rows]
    assert codes and all(c.startswith(("P", "S")) for c in codes)
    assert "S6" not in codes  # frailty prevention has a counterpart
    linked = {r["code"] for r in run(store, "cities-counterparts")}
    assert not linked & set(codes)


def test_themes_missing_equals_the_not_exists_form_for_every_pair_of_cities(store: ox.Store) -> None:
    # The query's OPTIONAL/!BOUND is a rewrite for Oxigraph's planner: it must keep the rows of
    # the textbook FILTER NOT EXISTS for every (city, other) pair, in both directions.
    text = find_named_query(Settings(), "cities-themes-missing").text
    pinned = "(<https://w3id.org/plan-kg/id/131202> <https://w3id.org/plan-kg/id/132292>)"
    start = text.index("  # No cross-city link")
    plain = text[:start] + """  FILTER NOT EXISTS {
    ?link pkg:linkedElement ?item , ?counterpart .
    ?counterpart pkg:inPlan ?otherPlan .
  }
""" + text[text.index("  FILTER(!BOUND(?linkedPlan))") + len("  FILTER(!BOUND(?linkedPlan))\n"):]
    assert pinned in text and "FILTER NOT EXISTS {" not in text and plain != text
    cities = sorted({str(s["c"].value) for s in store.query(
        f"SELECT DISTINCT ?c {{ ?plan <{PKG}municipality> ?c }}", use_default_graph_as_union=True)})
    assert len(cities) >= 5
    rows = 0
    for city, other in itertools.permutations(cities, 2):
        pair = f"(<{city}> <{other}>)"
        got, want = (store.query(q.replace(pinned, pair), use_default_graph_as_union=True).serialize(
            format=ox.QueryResultsFormat.TSV) for q in (text, plain))
        assert got == want, (city, other)
        rows += got.count(b"\n") - 1
    assert rows > 100  # the pairs have rows to compare, not only empty results


def test_counts_per_level_per_plan_keep_each_plans_own_level_names(store: ox.Store) -> None:
    rows = run(store, "cities-counts-per-level")
    counts = {(r["city"], r["levelName"]): int(r["items"]) for r in rows}
    assert counts[("西東京市", "基本目標")] == 6 and counts[("西東京市", "施策")] == 15
    assert counts[("西東京市", "基本施策")] == 37 and counts[("西東京市", "目標の実現に向けた取組内容")] == 109
    assert counts[("練馬区", "施策の柱")] == 6 and counts[("練馬区", "戦略計画")] == 20
    assert counts[("武蔵野市", "分野")] == 6 and counts[("小平市", "自治体経営方針")] == 1
    partial = {r["city"] for r in rows if r["completeness"] == PKG + "Partial"}
    assert partial == {"練馬区", "武蔵野市", "東村山市", "小平市"}
    nerima = [r["levelName"] for r in rows if r["city"] == "練馬区"]
    assert nerima == ["施策の柱", "戦略計画"]


def test_the_coverage_matrix_has_every_city_and_matches_the_query(graphs: list[Graph], store: ox.Store) -> None:
    matrix = coverage_matrix(graphs, settings=Settings())
    assert [code for code, _ in matrix.cities] == ["131202", "132039", "132110", "132136", "132292"]
    cells = {code: dict(zip(GOALS, counts, strict=True)) for (code, _), counts in zip(matrix.cities, matrix.counts)}
    rows = run(store, "cities-sdg-coverage")
    for row in rows:
        assert cells[row["code"]][int(row["goal"])] == int(row["items"])
    assert sum(int(r["items"]) for r in rows) == sum(map(sum, matrix.counts))
    assert sum(cells["132136"].values()) == 0  # no SDG link at all: a row of zeros


def test_the_heatmap_is_byte_identical_on_every_run(graphs: list[Graph], tmp_path: Path) -> None:
    first = write_sdg_heatmap(graphs, tmp_path / "a", settings=Settings())
    matrix = coverage_matrix(graphs, settings=Settings())
    second = draw_heatmap(matrix, tmp_path / "b")
    for a, b in ((first.png, second.png), (first.svg, second.svg)):
        assert a.stat().st_size > 1000
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest(), a.name
    assert first.png.read_bytes().startswith(b"\x89PNG") and b"<svg" in first.svg.read_bytes()[:500]
