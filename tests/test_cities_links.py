"""Cross-city links (plan_kg.cities.similarity, plan_kg.cities.links): scores, table, RDF, command."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from plan_kg.build import load_ontology
from plan_kg.cli import main
from plan_kg.config import PROJECT_ROOT, Settings
from plan_kg.errors import SourceError
from plan_kg.cities.links import (REJECTED_TABLE, KnownItems, cross_city_graph, link_cities, links_graph,
                                  read_links, read_rejections, records_from_pairs, write_links)
from plan_kg.cities.similarity import (SDG_WEIGHT, SUGGESTED_SDG_WEIGHT, LinkItem, Scorer, candidate_pairs, combine,
                                      features, plan_items, sdg_weight)
from plan_kg.iris import PKG
from plan_kg.rdf import plan_graph
from plan_kg.source import plan_folders, read_plan
from plan_kg.validation import load_shapes, validate

pytest.importorskip("sudachipy")
DATA = PROJECT_ROOT / "data"


def item(city: str, code: str, label: str, goals: tuple[int, ...] = ()) -> LinkItem:
    return LinkItem(municipality_code=city, plan_id="p", code=code, level="施策", label=label, text=label,
                    goals=frozenset(goals))


@pytest.fixture(scope="module")
def real_items() -> list[LinkItem]:
    return plan_items(Settings())


def test_features_are_content_words_and_kanji_bigrams_not_stock_phrases() -> None:
    found = features("脱炭素社会の実現に向けた環境施策の展開")
    assert "c:炭素" in found and ("w:脱炭素" in found or "w:炭素" in found)
    assert not any("向けた" in f or "の実" in f for f in found), "hiragana-bridging grams match stock phrases"


def test_sdg_goals_mix_in_only_when_both_items_have_some() -> None:
    assert combine(0.4, frozenset(), frozenset({3})) == (0.4, None)
    score, sdg = combine(0.4, frozenset({3, 11}), frozenset({3}))
    assert sdg == 0.5 and score == pytest.approx(0.75 * 0.4 + 0.25 * 0.5)


def test_suggested_sdg_goals_weigh_less_than_curated_ones() -> None:
    curated, other = item("131202", "S1", "a", goals=(3,)), item("132292", "1", "b", goals=(3,))
    suggested = replace(curated, goals_suggested=True)
    assert sdg_weight(curated, other) == SDG_WEIGHT
    assert sdg_weight(suggested, other) == sdg_weight(other, suggested) == SUGGESTED_SDG_WEIGHT < SDG_WEIGHT
    assert sdg_weight(suggested, other, suggested=0.0) == 0.0


def test_the_sdg_part_counts_between_cities_that_both_have_sdg_links(real_items: list[LinkItem]) -> None:
    # Nerima's goals come from its suggested data/nerima/sdg-links.csv, Nishitokyo's from the curated table
    index = {i.key: n for n, i in enumerate(real_items)}
    nerima, nishitokyo = index["131202/vision-3/S11"], index["132292/basic-plan-3/3-2-1-1"]
    assert real_items[nerima].goals and real_items[nerima].goals_suggested
    assert real_items[nishitokyo].goals and not real_items[nishitokyo].goals_suggested
    scored = Scorer(real_items).score(nerima, nishitokyo)
    assert scored.sdg_score == 1.0  # both: goal 3
    assert scored.score == pytest.approx((1 - SUGGESTED_SDG_WEIGHT) * scored.text_score + SUGGESTED_SDG_WEIGHT)
    assert scored.score > scored.text_score


def test_every_plan_with_an_sdg_links_table_gives_its_items_goals(real_items: list[LinkItem]) -> None:
    with_goals = {i.municipality_code for i in real_items if i.goals}
    assert with_goals == {"131202", "132039", "132110", "132292"}  # Higashimurayama has no table


def test_pairs_join_only_different_municipalities_each_once() -> None:
    items = [item("131202", "S5", "高齢者地域包括ケアシステムの深化・推進"),
             item("131202", "S6", "地域包括ケアの推進"),
             item("132292", "3-1-2-1", "西東京市版地域包括ケアシステムの推進"),
             item("132039", "F1", "健康・福祉")]
    pairs = candidate_pairs(items, related=0.2)
    assert pairs and all(p.a.municipality_code != p.b.municipality_code for p in pairs)
    keys = [(p.a.key, p.b.key) for p in pairs]
    assert len(keys) == len(set(keys)) and all(a < b for a, b in keys)
    assert ("131202/p/S5", "132292/p/3-1-2-1") in keys


def test_a_nerima_strategic_plan_finds_the_nishitokyo_measure_or_initiative(real_items: list[LinkItem]) -> None:
    scorer = Scorer(real_items)
    index = {i.key: n for n, i in enumerate(real_items)}
    best = scorer.ranking(index["131202/vision-3/S6"], ("132292", "basic-plan-3"))[0]
    assert real_items[best.item].code == "3-2-2-2"  # フレイル予防の推進: an initiative
    best = scorer.ranking(index["131202/vision-3/S9"], ("132292", "basic-plan-3"))[0]
    assert real_items[best.item].code == "3-1-1"  # 地域福祉の推進: a measure


def test_nishitokyo_items_carry_the_goals_of_their_initiatives(real_items: list[LinkItem]) -> None:
    goals = {i.key: i.goals for i in real_items}
    measure = goals["132292/basic-plan-3/3-1-1"]
    below = [g for k, g in goals.items() if k.startswith("132292/basic-plan-3/3-1-1-")]
    assert measure and measure == frozenset().union(*below)


def test_the_table_round_trips_and_keeps_dates_of_unchanged_links(tmp_path: Path) -> None:
    items = [item("131202", "S5", "地域包括ケアシステムの推進"), item("132292", "3-1-2-1", "地域包括ケアシステムの推進")]
    pairs = candidate_pairs(items)
    first = records_from_pairs(pairs, date=dt.date(2026, 1, 1))
    path = tmp_path / "links.csv"
    write_links(first, path)
    assert tuple(replace(r, row=0) for r in read_links(path)) == first
    again = records_from_pairs(pairs, date=dt.date(2026, 6, 1), previous=read_links(path))
    assert [r.date for r in again] == [dt.date(2026, 1, 1)]


@pytest.mark.parametrize(("line", "column", "words"), [
    ("132292/p/1,132292/p/2,closeMatch,0.5,m,2026-11-28", "b", "same municipality"),
    ("131202/p/1,132292/p/2,sameAs,0.5,m,2026-11-28", "relation", "closeMatch"),
    ("131202/p/1,132292/p/2,closeMatch,1.5,m,2026-11-28", "score", "outside"),
    ("131202/p/1,132292/p/2,closeMatch,0.5,m,28.11.2026", "date", "YYYY-MM-DD"),
    ("132292/p/2,131202/p/1,closeMatch,0.5,m,2026-11-28", "b", "smaller path"),
    ("131202/p/1,132292/p/2,closeMatch,0.5,m\x01,2026-11-28", "method", "'m<U+0001>' holds the control character U+0001"),
])
def test_a_bad_row_is_reported_with_row_and_column(tmp_path: Path, line: str, column: str, words: str) -> None:
    path = tmp_path / "links.csv"
    path.write_text("a,b,relation,score,method,date\n" + line + "\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_links(path)
    assert (caught.value.row, caught.value.column) == (2, column) and words in str(caught.value)


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("a,b,relation,score,method,date,score\n131202/p/1,132292/p/2,closeMatch,0.5,m,2026-11-28,0.9\n",
                    encoding="utf-8")
    with pytest.raises(SourceError, match="'score' in columns D and G") as caught:
        read_links(path)
    assert caught.value.row == 1


def test_a_link_to_an_unknown_item_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("a,b,relation,score,method,date\n131202/p/1,132292/p/2,closeMatch,0.5,m,2026-11-28\n",
                    encoding="utf-8")
    with pytest.raises(SourceError, match="link-cities"):
        read_links(path, known_items=KnownItems(paths=frozenset({"131202/p/1"}), data_dir=tmp_path))


def _tables(data: Path, links: str, rejections: str) -> None:
    (data / "links").mkdir(parents=True)
    (data / "links" / "cross-city.csv").write_text("a,b,relation,score,method,date\n" + links, encoding="utf-8")
    (data / REJECTED_TABLE).write_text("a,b,reason,date\n" + rejections, encoding="utf-8")


def test_a_link_to_a_gone_item_names_the_data_folder_given_and_link_cities(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"  # --data: not the project's data/
    _tables(data, "131202/p/1,132292/p/9,closeMatch,0.8,m,2026-11-28\n", "")
    with pytest.raises(SourceError) as caught:
        cross_city_graph(replace(Settings(), data_dir=data), known_items=frozenset({"131202/p/1", "132292/p/2"}))
    assert (caught.value.path, caught.value.row, caught.value.column) == (data / "links" / "cross-city.csv", 2, "b")
    assert (f"'132292/p/9' is not an item of any plan under {data}; run `plan-kg link-cities` again"
            in str(caught.value))


def test_a_rejection_of_a_gone_item_says_to_correct_or_delete_the_row_not_to_run_link_cities(tmp_path: Path) -> None:
    """link-cities never rewrites the rejections table (people write it): running it again would not help."""
    data = tmp_path / "elsewhere"
    _tables(data, "131202/p/1,132292/p/2,closeMatch,0.8,m,2026-11-28\n",
            "131202/p/1,132292/p/3,only a stock phrase shared,2026-11-29\n"
            "131202/p/9,132292/p/2,only a stock phrase shared,2026-11-29\n")
    with pytest.raises(SourceError) as caught:
        cross_city_graph(replace(Settings(), data_dir=data),
                         known_items=frozenset({"131202/p/1", "132292/p/2", "132292/p/3"}))
    assert (caught.value.path, caught.value.row, caught.value.column) == (data / REJECTED_TABLE, 3, "a")
    assert (f"'131202/p/9' is not an item of any plan under {data}; correct the row to name the item as it is now, "
            "or delete the row" in str(caught.value))
    assert "link-cities" not in str(caught.value)


def test_the_committed_links_graph_conforms_to_the_shapes() -> None:
    settings = Settings()
    records = read_links(DATA / "links" / "cross-city.csv")
    assert records, "data/links/cross-city.csv is empty: run plan-kg link-cities"
    data = Graph()
    for folder in plan_folders(settings.data_dir):
        data += plan_graph(read_plan(folder), base=settings.base_iri)
    links = links_graph(records, base=settings.base_iri)
    data += links
    report = validate(data, load_shapes(settings.shapes_dir), ontology=load_ontology(settings))
    assert report.conforms, report.text()
    first = records[0]
    a, b = URIRef(settings.base_iri + "id/" + first.a), URIRef(settings.base_iri + "id/" + first.b)
    relation = SKOS[first.relation]
    assert (a, relation, b) in links and (b, relation, a) in links
    assert len(list(links.subjects(predicate=PKG.similarityScore))) == len(records)


def test_every_committed_link_joins_two_cities_and_carries_method_score_date() -> None:
    for record in read_links(DATA / "links" / "cross-city.csv"):
        assert record.a.split("/")[0] != record.b.split("/")[0]
        assert record.method and Decimal(0) <= record.score <= Decimal(1) and record.date


def test_link_cities_command_rewrites_the_table(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("nishitokyo", "nerima"):
        shutil.copytree(DATA / name, data / name)
    shutil.copytree(DATA / "sdg", data / "sdg")
    result = CliRunner().invoke(main, ["--data", str(data), "link-cities", "--date", "2026-11-28"])
    assert result.exit_code == 0, result.output
    records = read_links(data / "links" / "cross-city.csv")
    assert records and {r.a.split("/")[0] for r in records} | {r.b.split("/")[0] for r in records} == {"131202", "132292"}
    assert f"{len(records)} links" in result.output
    again = link_cities(replace(Settings(), data_dir=data), date=dt.date(2027, 1, 1))
    assert again.changed == 0 and {r.date for r in read_links(data / "links" / "cross-city.csv")} == {dt.date(2026, 11, 28)}


def test_link_cities_refuses_a_bad_date() -> None:
    result = CliRunner().invoke(main, ["link-cities", "--date", "tomorrow"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


@pytest.mark.parametrize(("line", "column", "words"), [
    ("131202/p/1,132292/p/2,,2026-11-29", "reason", "say why"),
    ("132292/p/2,131202/p/1,not the same,2026-11-29", "b", "smaller path"),
    ("131202/p/1,131202/p/2,not the same,2026-11-29", "b", "same municipality"),
    ("131202/p/1,132292/p/2,not the same,yesterday", "date", "YYYY-MM-DD"),
])
def test_a_bad_rejection_is_reported_with_row_and_column(tmp_path: Path, line: str, column: str, words: str) -> None:
    path = tmp_path / "rejected.csv"
    path.write_text("a,b,reason,date\n131202/p/0,132292/p/0,ok,2026-11-29\n" + line + "\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_rejections(path)
    assert (caught.value.row, caught.value.column) == (3, column) and words in str(caught.value)


def test_a_rejected_pair_is_left_out_however_high_it_scores(tmp_path: Path) -> None:
    """G3 くらしの質の向上 and 4-1-2-3 みどりの質の向上 share only 質の向上: the best-scoring pair of the method, and false."""
    data = tmp_path / "data"
    for name in ("nishitokyo", "higashimurayama", "sdg"):
        shutil.copytree(DATA / name, data / name)
    settings = replace(Settings(), data_dir=data)
    pair = ("132136/comprehensive-plan-5/G3", "132292/basic-plan-3/4-1-2-3")
    link_cities(settings, date=dt.date(2026, 11, 28))
    linked = {(r.a, r.b): r for r in read_links(data / "links" / "cross-city.csv")}
    assert linked[pair].relation == "closeMatch"  # what the method finds on its own
    shutil.copy(DATA / REJECTED_TABLE, data / REJECTED_TABLE)
    result = CliRunner().invoke(main, ["--data", str(data), "link-cities", "--date", "2026-11-29"])
    assert result.exit_code == 0, result.output
    assert "1 pair(s) left out as rejected" in result.output
    again = {(r.a, r.b) for r in read_links(data / "links" / "cross-city.csv")}
    assert again == set(linked) - {pair}


def test_the_build_refuses_a_links_table_with_a_rejected_pair(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "links").mkdir(parents=True)
    (data / "links" / "cross-city.csv").write_text(
        "a,b,relation,score,method,date\n131202/p/1,132292/p/2,relatedMatch,0.4,m,2026-11-28\n"
        "131202/p/1,132292/p/3,closeMatch,0.8,m,2026-11-28\n", encoding="utf-8")
    (data / REJECTED_TABLE).write_text("a,b,reason,date\n131202/p/1,132292/p/3,only a stock phrase shared,2026-11-29\n",
                                       encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        cross_city_graph(replace(Settings(), data_dir=data), known_items=frozenset({"131202/p/1", "132292/p/2",
                                                                                   "132292/p/3"}))
    assert (caught.value.row, caught.value.column) == (3, "b")
    assert "rejected on row 2" in str(caught.value) and "only a stock phrase shared" in str(caught.value)


def test_no_committed_link_is_a_rejected_pair() -> None:
    rejected = read_rejections(DATA / REJECTED_TABLE)
    assert rejected, "data/links/cross-city-rejected.csv holds the reviewed false matches"
    assert not {(r.a, r.b) for r in read_links(DATA / "links" / "cross-city.csv")} & set(rejected)
