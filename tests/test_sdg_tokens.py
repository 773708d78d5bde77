"""plan_kg.sdg.tokens: Sudachi content words for the suggester."""

from __future__ import annotations

from plan_kg.sdg.tokens import STOP_WORDS, tokenize


def test_policy_verbs_and_particles_are_dropped() -> None:
    assert tokenize("フレイル予防の推進") == ("フレイル", "予防")
    assert tokenize("雨水溢水対策の充実") == ("雨水", "溢水", "対策")


def test_compounds_are_kept_whole_and_split() -> None:
    tokens = tokenize("待機児童への対応")
    assert tokens[:1] == ("待機児童",)
    assert {"待機", "児童"} <= set(tokens)


def test_full_width_text_is_normalised_first() -> None:
    assert tokenize("ＤＶ相談") == tokenize("DV相談")


def test_target_boilerplate_is_dropped() -> None:
    tokens = tokenize("2030年までに、各国定義によるあらゆる次元の貧困状態にある子どもの割合を半減させる。")
    assert "貧困" in tokens
    assert not {"2030", "年", "各国", "割合", "半減"} & set(tokens)
    assert not set(tokens) & STOP_WORDS


def test_empty_text_has_no_tokens() -> None:
    assert tokenize("") == ()
    assert tokenize("の、を。") == ()
