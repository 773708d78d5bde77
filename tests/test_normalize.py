import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plan_kg.normalize import clean_cell, normalize_code, unusable_character


def test_full_width_digits_and_hyphens_become_ascii():
    assert normalize_code("１-３-３") == "1-3-3"
    assert normalize_code("１－３－３") == "1-3-3"
    assert normalize_code("１ー３ー３") == "1-3-3"  # katakana long vowel mark typed for a hyphen
    assert normalize_code("1‐3−3") == "1-3-3"  # U+2010 hyphen, U+2212 minus
    assert normalize_code(" 1-3-3\u3000") == "1-3-3"


def test_clean_cell_trims_only_the_ends():
    assert clean_cell("\u3000 子ども・教育 \t") == "子ども・教育"
    assert clean_cell("みどり　の保全") == "みどり　の保全"  # inside: kept exactly
    assert clean_cell(None) == ""


@given(st.text(alphabet="0123456789０１２３４５６７８９-－ー‐− \u3000", max_size=20))
def test_normalize_code_is_idempotent_and_ascii(raw):
    code = normalize_code(raw)
    assert normalize_code(code) == code
    assert code.isascii()
    assert " " not in code


@given(st.text(max_size=30))
def test_clean_cell_never_changes_the_inside(raw):
    cleaned = clean_cell(raw)
    assert cleaned in raw
    assert unicodedata.normalize("NFC", cleaned) == unicodedata.normalize("NFC", cleaned.strip(" \t\r\n\u3000\ufeff"))


def _xml_char(c: str) -> bool:
    """XML 1.0's Char production."""
    n = ord(c)
    return n in (0x9, 0xA, 0xD) or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or 0x10000 <= n <= 0x10FFFF


@given(st.text())
def test_unusable_characters_are_those_xml_cannot_carry_and_the_c1_controls(text):
    found = unusable_character(text)
    refused = [c for c in text if not _xml_char(c) or 0x7F <= ord(c) <= 0x9F]
    assert (found is None) == (not refused)
    if refused:
        assert f"U+{ord(refused[0]):04X} (character {text.index(refused[0]) + 1})" in found
        assert not any(c in found for c in refused)  # the message shows them as <U+…>, never as themselves


@pytest.mark.parametrize("text", ["み\tんな\r\nで", "みどり　の保全", "\u200b", "（UHC）", "\U0001f600", ""])
def test_text_and_its_line_breaks_are_usable(text):
    assert unusable_character(text) is None
