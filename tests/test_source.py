"""The reader accepts what city offices send and names file, row and column for what it can't use."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from plan_kg.errors import SourceError
from plan_kg.source import read_items, read_metadata, read_plan

from conftest import NISHITOKYO

LEVELS = dict(read_metadata(NISHITOKYO / "plan.toml").levels)
HEADER = "code,level,label,parent,field,notes\n"
GOOD = HEADER + "1,基本目標,みんなでつくるまち,,協働・行財政,\n1-1,施策,一人ひとりが力を発揮できるまちを実現するために,1,,\n"


def write(tmp_path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / "items.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def test_bundled_plan_has_the_seed_structure():
    plan = read_plan(NISHITOKYO)
    counts = Counter(item.level_class for item in plan.items)
    assert counts == {"BasicGoal": 6, "Policy": 15, "Measure": 37, "Initiative": 109}
    assert plan.metadata.municipality.code == "132292"
    planned = [item for item in plan.items if not item.label]
    assert [item.code for item in planned] == ["1-3-3"]
    assert "デジタル田園都市国家構想" in planned[0].notes


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis"])
def test_encodings_offices_send(tmp_path, encoding):
    items = read_items(write(tmp_path, GOOD, encoding), LEVELS)
    assert [i.label for i in items] == ["みんなでつくるまち", "一人ひとりが力を発揮できるまちを実現するために"]


def test_full_width_codes_and_stray_spaces(tmp_path):
    text = HEADER + " １ ,基本目標, みんなでつくるまち\u3000,,協働・行財政,\n１－１,施策 ,一人ひとり,１,,\n"
    items = read_items(write(tmp_path, text), LEVELS)
    assert [(i.code, i.parent, i.label, i.level) for i in items] == [
        ("1", None, "みんなでつくるまち", "基本目標"), ("1-1", "1", "一人ひとり", "施策")]


def test_crlf_and_blank_lines(tmp_path):
    items = read_items(write(tmp_path, GOOD.replace("\n", "\r\n") + "\r\n,,,,,\r\n"), LEVELS)
    assert len(items) == 2


@pytest.mark.parametrize(("text", "row", "column", "words"), [
    (HEADER + "1,基本目標,a,,f,\n1,施策,b,1,,\n", 3, "code", "used again (first on row 2)"),
    (HEADER + "1,基本目標,a,,f,\n1-1,施策,b,9,,\n", 3, "parent", "parent 9 is not a code in this table"),
    (HEADER + "1,基本目標,a,,f,\n1-1,分野,b,1,,\n", 3, "level", "unknown level '分野'"),
    (HEADER + "1,基本目標,a,,f,\n,施策,b,1,,\n", 3, "code", "the code is empty"),
    (HEADER + "1,基本目標,a,,f,\n1.1,施策,b,1,,\n", 3, "code", "is not of the form 1-3-2"),
    (HEADER + "1,基本目標,a,1-1,f,\n1-1,施策,b,1,,\n", 2, "parent", "cycle"),
    (HEADER + "1,基本目標,a,,f,,extra\n", 2, None, "quote cells that contain commas"),
    ("code,level,label\n1,基本目標,a\n", 1, None, "missing column(s) parent, notes"),
    # Characters no published text may hold: refused before anything quotes the cell.
    (HEADER + "1,基本目標,テ\x01スト,,f,\n", 2, "label", "'テ<U+0001>スト' holds the control character U+0001"),
    (HEADER + "1,基本目標,a,,f,注\x00\n", 2, "notes", "the control character U+0000 (character 2)"),
    (HEADER + "1\x1b,基本目標,a,,f,\n", 2, "code", "the control character U+001B"),
    (HEADER + "1,基本目標,a,,f,\x7f\n", 2, "notes", "the control character U+007F"),
    (HEADER + "1,基本目標,a\x9f,,f,\n", 2, "label", "the control character U+009F"),
    (HEADER + "1,基本目標,a\uffff,,f,\n", 2, "label", "the non-character U+FFFF"),
    (HEADER + "1,基本目標,a,,f,,\x0c\n", 2, "G", "the control character U+000C"),  # under no header
    ("code,level,lab\x01el,parent,notes\n1,基本目標,a,,\n", 1, "C", "the header 'lab<U+0001>el' holds"),
    # A column named twice: the second was dropped without a word.
    ("code,level,label,parent,notes,code\n1,基本目標,a,,,B\n", 1, None,
     "the header names a column more than once: 'code' in columns A and F; keep one column of each name"),
    ("code,Label,level,label ,parent,notes,LABEL\n1,a,基本目標,b,,,c\n", 1, None, "'label' in columns B, D and G"),
])
def test_bad_rows_name_row_and_column(tmp_path, text, row, column, words):
    with pytest.raises(SourceError) as info:
        read_items(write(tmp_path, text), LEVELS)
    error = info.value
    assert (error.row, error.column) == (row, column)
    assert words in str(error)
    assert "items.csv" in str(error)


def test_utf16_is_refused_with_advice(tmp_path):
    with pytest.raises(SourceError, match="UTF-16; save it as UTF-8"):
        read_items(write(tmp_path, GOOD, "utf-16"), LEVELS)


def test_undecodable_bytes_name_the_line(tmp_path):
    data = GOOD.encode("utf-8") + b"2,\x82\xff\xfe,x,,,\n"
    with pytest.raises(SourceError) as info:
        read_items(write(tmp_path, data), LEVELS)
    assert info.value.row == 4
    assert "UTF-8 or Shift_JIS" in str(info.value)


def test_empty_file(tmp_path):
    with pytest.raises(SourceError, match="empty"):
        read_items(write(tmp_path, ""), LEVELS)


def test_metadata_errors_say_what_to_fix(tmp_path):
    text = (NISHITOKYO / "plan.toml").read_text(encoding="utf-8")
    bad = tmp_path / "plan.toml"
    bad.write_text(text.replace('code = "132292"', 'code = "132291"'), encoding="utf-8")
    with pytest.raises(SourceError, match="did you mean 132292"):
        read_metadata(bad)
    bad.write_text(text.replace('status = "InterimDraft"', 'status = "Final"'), encoding="utf-8")
    with pytest.raises(SourceError, match="status 'Final' is not one of"):
        read_metadata(bad)
    bad.write_text(text.replace("period_end = 2034-03-31", "period_end = 2020-03-31"), encoding="utf-8")
    with pytest.raises(SourceError, match="before period_start"):
        read_metadata(bad)
    bad.write_text(text + "\n[[broken", encoding="utf-8")
    with pytest.raises(SourceError, match="not valid TOML"):
        read_metadata(bad)


def test_metadata_with_an_unusable_plan_id_source_or_license_is_refused(tmp_path):
    """These become IRIs: a build of such a plan.toml stopped with a traceback (plan_id 'Basic Plan/3', a source
    written as text), or published the page link <a href="javascript:..."> (a source of javascript:)."""
    text = (NISHITOKYO / "plan.toml").read_text(encoding="utf-8")
    bad = tmp_path / "plan.toml"
    bad.write_text(text.replace('plan_id = "basic-plan-3"', 'plan_id = "Basic Plan/3"'), encoding="utf-8")
    with pytest.raises(SourceError, match="plan_id 'Basic Plan/3' must be lower-case letters, digits and hyphens"):
        read_metadata(bad)
    source = 'source = "http://www.city.nishitokyo.lg.jp/siseizyoho/pub/kekka/index/daisanjityuukanmatome.html"'
    for written in ("市のホームページ <https://x>", "javascript:alert(1)", "https://example.jp/a b"):
        bad.write_text(text.replace(source, f'source = "{written}"'), encoding="utf-8")
        with pytest.raises(SourceError, match="source .* must be an http:// or https:// address"):
            read_metadata(bad)
    bad.write_text(text.replace('license = "https://', 'license = "CC BY 4.0 https://'), encoding="utf-8")
    with pytest.raises(SourceError, match="license .* must be an http:// or https:// address"):
        read_metadata(bad)


def test_tab_and_line_breaks_in_a_cell_are_text(tmp_path):
    items = read_items(write(tmp_path, HEADER + '1,基本目標,"み\tんな\r\nで",,f,\n'), LEVELS)
    assert items[0].label == "み\tんな\r\nで"


def test_metadata_with_a_control_character_is_refused(tmp_path):
    """TOML lets any character be written as an escape; a title holding U+0001 would be a broken literal."""
    text = (NISHITOKYO / "plan.toml").read_text(encoding="utf-8")
    bad = tmp_path / "plan.toml"
    bad.write_text(text.replace('name_ja = "', 'name_ja = "\\u0001', 1), encoding="utf-8")
    with pytest.raises(SourceError, match=r"municipality.name_ja = '<U\+0001>西東京市' holds the control character U\+0001"):
        read_metadata(bad)
    bad.write_text(text.replace('"基本目標" =', '"基本\\u0007目標" ='), encoding="utf-8")
    with pytest.raises(SourceError, match=r"a key in \[levels\] '基本<U\+0007>目標' holds"):
        read_metadata(bad)


def test_status_column_marks_planned_items(tmp_path):
    text = "code,level,label,parent,status,notes\n1,基本目標,a,,,\n1-1,施策,,1,新設予定,名称未定\n"
    items = read_items(write(tmp_path, text), LEVELS)
    assert [(i.code, i.planned, i.label) for i in items] == [("1", False, "a"), ("1-1", True, "")]
    with pytest.raises(SourceError) as info:
        read_items(write(tmp_path, text.replace("新設予定", "済")), LEVELS)
    assert (info.value.row, info.value.column) == (3, "status")
