"""plan_kg.sdg.suggest: the Japanese SDG suggester."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plan_kg.config import Settings
from plan_kg.errors import SourceError
from plan_kg.sdg.reference import load_reference
from plan_kg.sdg.suggest import Example, Suggester, SuggesterConfig, Suggestion, read_lexicon, suggest

SDG = "http://metadata.un.org/sdg/"
DATA = Settings().data_dir
LEXICON = read_lexicon(DATA / "sdg" / "lexicon-ja.csv")


def test_frailty_prevention_is_health_of_older_people() -> None:
    (result,) = suggest(["フレイル予防の推進"])
    assert result.text == "フレイル予防の推進"
    assert result.targets[0].iri == SDG + "3.4"
    assert result.goals[0].iri == SDG + "3"


def test_stormwater_flooding_is_disaster_and_climate_adaptation() -> None:
    (result,) = suggest(["雨水溢水対策の充実"])
    assert {SDG + "11.5", SDG + "13.1"} <= {t.iri for t in result.targets[:3]}
    assert {SDG + "11", SDG + "13"} <= {g.iri for g in result.goals}


@pytest.mark.parametrize(("text", "target"), [
    ("待機児童への対応", "4.2"),
    ("ごみの減量とリサイクルの推進", "12.5"),
    ("児童虐待の防止", "16.2"),
    ("障害者雇用の促進", "8.5"),
    ("温室効果ガス排出量の削減", "13.2"),
    ("文化財の保存と活用", "11.4"),
])
def test_short_policy_phrases_get_their_obvious_target(text: str, target: str) -> None:
    (result,) = suggest([text])
    assert target in {t.code for t in result.targets[:2]}, result.targets


def test_results_are_sorted_bounded_and_above_the_threshold() -> None:
    config = SuggesterConfig()
    for result in suggest(["地域包括ケアシステムの推進", "公園・緑地の充実", "行財政改革の推進"]):
        scores = [t.score for t in result.targets]
        assert scores == sorted(scores, reverse=True)
        assert all(config.target_threshold <= s <= 1 for s in scores)
        assert len(result.targets) <= config.max_targets and len(result.goals) <= config.max_goals


def test_text_without_content_gets_no_suggestion() -> None:
    (result,) = suggest(["の推進"])
    assert result.targets == () and result.goals == ()


def test_suggestions_are_deterministic_and_frozen() -> None:
    first = suggest(["心の健康づくりの支援"])
    assert first == suggest(["心の健康づくりの支援"])
    assert isinstance(first[0], Suggestion)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].text = "x"  # type: ignore[misc]


def test_the_lexicon_names_only_real_targets() -> None:
    reference = load_reference(DATA)
    assert all(reference.target(code) is not None for code in LEXICON)


def test_without_lexicon_the_target_text_alone_still_scores() -> None:
    suggester = Suggester(load_reference(DATA), config=SuggesterConfig(use_lexicon=False))
    assert suggester.suggest_one("貧困層への社会保護").targets[0].code == "1.3"
    assert suggester.suggest_one("極度の貧困").targets[0].code == "1.1"


def test_examples_pull_suggestions_towards_curated_neighbours() -> None:
    reference = load_reference(DATA)
    plain = Suggester(reference, lexicon=LEXICON)
    voted = Suggester(reference, lexicon=LEXICON,
                      examples=(Example(text="まち歩きの推進と案内", targets=(("8.9", 1.0),)),))
    index = [t.code for t in reference.targets].index("8.9")
    assert voted.target_scores("まち歩きの推進")[index] > plain.target_scores("まち歩きの推進")[index]


def test_a_lexicon_row_without_terms_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text("target,terms,note\n3.4,健康づくり,ok\n3.8,,empty\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no terms") as info:
        read_lexicon(path)
    assert (info.value.row, info.value.column) == (3, "terms")


SUGGESTER = Suggester(load_reference(DATA), lexicon=LEXICON)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_any_text_gets_bounded_sorted_scores(text: str) -> None:
    result = SUGGESTER.suggest_one(text)
    assert result.text == text
    for scored in (result.targets, result.goals):
        scores = [s.score for s in scored]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s <= 1 for s in scores)
    if result.targets:  # the best target's goal is always suggested (a goal scores as its best target)
        assert result.goals[0].score == result.targets[0].score
