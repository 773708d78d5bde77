"""queries/sdg-*.rq: run with pyoxigraph on the Nishitokyo plan, its curated links and the SDG reference graph."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Dataset, URIRef

from plan_kg.config import Settings
from plan_kg.named_queries import find_named_query, load_named_queries
from plan_kg.rdf import plan_graph
from plan_kg.sdg.links import link_graph
from plan_kg.sdg.reference import reference_graphs
from plan_kg.source import read_plan

ITEM = "https://w3id.org/plan-kg/id/132292/basic-plan-3/"
PLAN = "https://w3id.org/plan-kg/id/132292/basic-plan-3"
SDG_QUERIES = ("sdg-basic-goal-profile", "sdg-coverage", "sdg-element-profile", "sdg-goals-not-served", "sdg-initiatives-for-goal",
               "sdg-initiatives-for-target")


@pytest.fixture(scope="module")
def store() -> ox.Store:
    """Plan + links + both reference graphs, each in its named graph, as the build publishes them."""
    settings = Settings()
    dataset = Dataset()
    graphs = dict(reference_graphs(settings))
    graphs[URIRef(settings.base_iri + "graph/132292/basic-plan-3")] = (
        plan_graph(read_plan(settings.data_dir / "nishitokyo"), base=settings.base_iri)
        + link_graph(settings, municipality_code="132292", plan_id="basic-plan-3",
                     links_csv=settings.data_dir / "sdg" / "links.csv"))
    for name, graph in graphs.items():
        target = dataset.graph(name)
        for triple in graph:
            target.add(triple)
    store = ox.Store()
    store.load(dataset.serialize(format="nquads").encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    return store


def run(store: ox.Store, name: str) -> list[dict[str, str | None]]:
    solutions = store.query(find_named_query(Settings(), name).text, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]


def test_the_sdg_queries_are_named_queries_with_headers() -> None:
    names = {q.name for q in load_named_queries(Settings())}
    assert set(SDG_QUERIES) <= names
    for name in SDG_QUERIES:
        query = find_named_query(Settings(), name)
        assert query.title and query.title_ja and query.description and query.description_ja


def test_coverage_counts_initiatives_per_goal_including_zero(store: ox.Store) -> None:
    rows = run(store, "sdg-coverage")
    assert [int(r["goalNumber"]) for r in rows] == list(range(1, 18))
    counts = {int(r["goalNumber"]): int(r["elements"]) for r in rows}
    assert counts[6] == 0
    assert counts[11] == max(counts.values())
    assert counts[3] > counts[7] > 0
    assert {r["plan"] for r in rows} == {PLAN}
    assert rows[0]["goalLabel"] == "貧困をなくそう"


def test_goals_not_served_is_goal_6_alone(store: ox.Store) -> None:
    rows = run(store, "sdg-goals-not-served")
    assert [(r["goalNumber"], r["goalLabel"]) for r in rows] == [("6", "安全な水とトイレを世界中に")]


def test_initiatives_for_target_lists_the_flood_and_disaster_initiatives(store: ox.Store) -> None:
    rows = run(store, "sdg-initiatives-for-target")
    codes = [r["code"] for r in rows]
    assert {"5-2-1-1", "5-2-1-3", "5-2-1-4"} <= set(codes)
    confidences = [float(r["confidence"]) for r in rows]
    assert confidences == sorted(confidences, reverse=True)
    assert all(r["rationale"] for r in rows)


def test_initiatives_for_goal_lists_health_initiatives(store: ox.Store) -> None:
    rows = run(store, "sdg-initiatives-for-goal")
    codes = {r["code"] for r in rows}
    assert {"3-2-2-2", "3-2-1-5", "3-1-4-2", "5-2-2-2"} <= codes
    assert "4-2-2-1" not in codes  # waste: goals 11, 12 and 14 only
    assert all(r["target"].startswith("http://metadata.un.org/sdg/3.") for r in rows)


def test_basic_goal_profile_rolls_initiatives_up_to_each_basic_goal(store: ox.Store) -> None:
    rows = run(store, "sdg-basic-goal-profile")
    top = {}
    for r in rows:
        top.setdefault(r["basicGoalCode"], int(r["goalNumber"]))  # rows are sorted most served first
    # 協働・行財政 -> 16, 子ども・教育 -> 4, 健康・福祉 -> 3, 環境 -> 11, 都市基盤・安全 -> 11, 産業・学び・文化 -> 8
    assert top == {"1": 16, "2": 4, "3": 3, "4": 11, "5": 11, "6": 8}
    environment = {int(r["goalNumber"]): int(r["initiatives"]) for r in rows if r["basicGoalCode"] == "4"}
    # 4-2-1-1..3 serve goal 13; 4-1-1-1, 4-1-1-2, 4-1-2-1..3 serve goal 15
    assert (environment[13], environment[15]) == (3, 5)
    assert all(int(r["initiatives"]) > 0 for r in rows)


def test_element_profile_rolls_up_to_policies_and_measures(store: ox.Store) -> None:
    rows = run(store, "sdg-element-profile")
    classes = {r["class"].rsplit("#", 1)[-1] for r in rows}
    assert classes == {"Policy", "Measure"}
    frailty_measure = {int(r["goalNumber"]): int(r["initiatives"]) for r in rows if r["code"] == "3-2-2"}
    assert frailty_measure == {2: 1, 3: 2, 8: 1, 10: 1}
    zero_carbon_policy = {int(r["goalNumber"]) for r in rows if r["code"] == "4-2"}
    assert {7, 12, 13} <= zero_carbon_policy
    assert all(0 < float(r["bestConfidence"]) <= 1 for r in rows)
