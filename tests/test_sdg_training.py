"""plan_kg.sdg.training: initiative wording and curated examples."""

from __future__ import annotations

from plan_kg.config import Settings
from plan_kg.sdg.training import CURATED_PLAN, curated_examples, curated_targets, find_plan, initiative_texts

DATA = Settings().data_dir


def test_initiative_text_is_name_then_measure() -> None:
    plan = find_plan(DATA, *CURATED_PLAN)
    assert plan is not None
    texts = {t.code: t for t in initiative_texts(plan)}
    assert len(texts) == 109
    assert texts["3-2-2-2"].text == "フレイル予防の推進。高齢者の社会活動や生きがいづくりの充実"
    assert texts["3-2-2-2"].measure == "3-2-2"
    assert {t.text for t in initiative_texts(plan, with_measure=False)} >= {"フレイル予防の推進"}


def test_curated_targets_keep_confidence() -> None:
    targets = curated_targets(DATA / "sdg" / "links.csv")
    assert dict(targets["3-2-2-2"])["3.4"] == 0.9


def test_examples_leave_out_excluded_initiatives() -> None:
    everything = curated_examples(DATA)
    assert len(everything) == 109
    fewer = curated_examples(DATA, exclude=frozenset({"3-2-2-2"}))
    assert len(fewer) == 108
    assert not any(e.text.startswith("フレイル予防") for e in fewer)


def test_an_unknown_plan_is_none() -> None:
    assert find_plan(DATA, "132292", "no-such-plan") is None
