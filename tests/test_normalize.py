import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from plan_kg.normalize import clean_cell, normalize_code


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
