"""`plan-kg import` (plan_kg.cities.importer): any municipality's plan, as CSV or .xlsx."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from rdflib import Literal, URIRef

from plan_kg.cli import main
from plan_kg.config import Settings
from plan_kg.errors import BuildError, SourceError
from plan_kg.cities.importer import import_plan, plan_toml_text
from plan_kg.iris import PKG
from plan_kg.rdf import plan_graph
from plan_kg.source import read_plan

ITEMS = """code,level,label,parent,field,notes
P1,施策の柱,子どもたちの笑顔輝くまち,,,
S1,戦略計画,子育てのかたちを選択できる社会の実現,P1,,
S2,戦略計画,学齢期の子どもや若者の居場所の充実,P1,,素案の名称
"""

METADATA = {
    "plan_id": "vision-3",
    "title_ja": "第3次みどりの風吹くまちビジョン",
    "title_en": "Nerima Third Vision",
    "status": "Draft",
    "completeness": "Partial",
    "completeness_note": "Only one pillar and two strategic plans.",
    "period_start": dt.date(2024, 4, 1),
    "period_end": dt.date(2027, 3, 31),
    "issued": dt.date(2023, 12, 1),
    "source": "https://www.city.nerima.tokyo.jp/",
    "license": "https://creativecommons.org/licenses/by/4.0/",
    "municipality": {"name_ja": "練馬区", "name_en": "Nerima City", "prefecture_ja": "東京都", "prefecture_en": "Tokyo"},
}


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "data").mkdir()
    return replace(Settings(), data_dir=tmp_path / "data", dist_dir=tmp_path / "dist")


def write_inputs(tmp_path: Path, items: str = ITEMS, **metadata: object) -> tuple[Path, Path]:
    items_path = tmp_path / "items.csv"
    items_path.write_text(items, encoding="utf-8")
    meta = tmp_path / "meta.toml"
    meta.write_text(plan_toml_text({**METADATA, **metadata}), encoding="utf-8")
    return items_path, meta


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_a_csv_plan_is_added_with_its_own_level_names(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    result = import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="nerima")
    assert result.report.conforms
    assert result.levels == (("施策の柱", "PlanElement"), ("戦略計画", "PlanElement"))
    plan = read_plan(settings.data_dir / "nerima")
    assert [i.code for i in plan.items] == ["P1", "S1", "S2"]
    assert plan.metadata.completeness == "Partial" and "two strategic plans" in plan.metadata.completeness_note
    graph = plan_graph(plan, base=settings.base_iri)
    s1 = URIRef(settings.base_iri + "id/131202/vision-3/S1")
    assert (s1, PKG.levelName, Literal("戦略計画", lang="ja")) in graph
    assert set(graph.objects(s1, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"))) == {PKG.PlanElement}


def test_a_basic_goal_of_another_city_is_not_taken_for_a_nishitokyo_basic_goal(tmp_path: Path,
                                                                                  settings: Settings) -> None:
    items, meta = write_inputs(tmp_path, "code,level,label,parent,notes\nG1,基本目標,まちの価値の向上,,\n")
    result = import_plan(items, municipality_code="132136", metadata_path=meta, settings=settings)
    assert result.levels == (("基本目標", "PlanElement"),)
    assert result.folder == settings.data_dir / "132136"


def test_an_xlsx_plan_gives_the_same_items_table_as_the_csv(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    workbook = write_xlsx(tmp_path / "items.xlsx", [line.split(",") for line in ITEMS.splitlines()])
    import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="nerima")
    other = replace(settings, data_dir=tmp_path / "data2")
    other.data_dir.mkdir()
    import_plan(workbook, municipality_code="131202", metadata_path=meta, settings=other, folder="nerima")
    for name in ("items.csv", "plan.toml"):
        assert (other.data_dir / "nerima" / name).read_bytes() == (settings.data_dir / "nerima" / name).read_bytes()


def test_xlsx_numbers_typed_as_codes_are_read_as_text(tmp_path: Path, settings: Settings) -> None:
    workbook = write_xlsx(tmp_path / "items.xlsx", [["code", "level", "label", "parent", "notes"],
                                                   [1, "分野", "健康・福祉", None, None],
                                                   [2, "分野", "子ども・教育", None, None]])
    _, meta = write_inputs(tmp_path)
    result = import_plan(workbook, municipality_code="132039", metadata_path=meta, settings=settings)
    assert [i.code for i in result.plan.items] == ["1", "2"]


@pytest.mark.parametrize(("rows", "row", "column", "words"), [
    ([["code", "level", "label", "parent", "notes"], ["P1", "施策の柱", "柱", "P9", ""]], 2, "parent", "P9"),
    ([["code", "level", "label", "parent", "notes"], ["P1", "施策の柱", "柱", None, None],
      ["P1", "施策の柱", "同じ番号", None, None]], 3, "code", "used again"),
    ([["code", "level", "label", "parent", "notes"], ["P 1!", "施策の柱", "柱", None, None]], 2, "code", "not of the form"),
])
def test_xlsx_errors_name_the_sheet_row_and_column(tmp_path: Path, settings: Settings, rows: list, row: int,
                                                   column: str, words: str) -> None:
    workbook = write_xlsx(tmp_path / "bad.xlsx", rows)
    _, meta = write_inputs(tmp_path)
    with pytest.raises(SourceError) as caught:
        import_plan(workbook, municipality_code="131202", metadata_path=meta, settings=settings)
    error = caught.value
    assert Path(error.path) == workbook and error.row == row and error.column.startswith(column)
    assert words in str(error) and f"column '{column} (" in str(error)
    assert not any(settings.data_dir.iterdir()), "nothing may be written on error"


def test_an_xlsx_date_cell_is_reported_with_its_position(tmp_path: Path, settings: Settings) -> None:
    workbook = write_xlsx(tmp_path / "dates.xlsx", [["code", "level", "label", "parent", "notes"],
                                                   [dt.datetime(2024, 1, 3), "分野", "健康", None, None]])
    _, meta = write_inputs(tmp_path)
    with pytest.raises(SourceError, match=r"row 2, column 'code \(A\)'.*date"):
        import_plan(workbook, municipality_code="132039", metadata_path=meta, settings=settings)
    # Named as every other workbook error names a column (docs/import-format.md): its header and letter.
    workbook = write_xlsx(tmp_path / "dates.xlsx", [["code", "level", "label", "parent", "notes"],
                                                   ["1", "分野", "健康", None, None],
                                                   ["1-3", "分野", "健康", dt.datetime(2024, 1, 3), None]])
    with pytest.raises(SourceError, match=r"row 3, column 'parent \(D\)'.*date"):
        import_plan(workbook, municipality_code="132039", metadata_path=meta, settings=settings)


def test_csv_errors_name_the_row_and_column(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path, ITEMS + "S3,戦略計画,名称,P7,,\n")
    with pytest.raises(SourceError, match=r"row 5, column 'parent'.*P7"):
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings)


def test_a_control_character_in_a_cell_is_refused_with_its_place(tmp_path: Path, settings: Settings) -> None:
    """It was imported, and its element's .rdf document served as broken XML."""
    items = tmp_path / "items.csv"
    items.write_bytes("code,level,label,parent,notes\nA,柱,テ\x01スト\x00,,\n".encode())
    _, meta = write_inputs(tmp_path / "..", ITEMS)
    result = CliRunner().invoke(main, ["--data", str(settings.data_dir), "import", str(items), "--municipality",
                                       "131202", "--metadata", str(meta)])
    assert result.exit_code == 2, result.output
    assert (f"{items}, row 2, column 'label': the cell 'テ<U+0001>スト<U+0000>' holds the control character U+0001 "
            "(character 2)") in result.output
    assert "delete it" in result.output and "Traceback" not in result.output
    assert not any(settings.data_dir.iterdir())


def test_a_control_character_in_a_workbook_is_refused_with_its_header_and_letter(tmp_path: Path,
                                                                                 settings: Settings) -> None:
    """Excel writes a control character in a cell as _x0001_ (OOXML's escape), which openpyxl leaves as it is."""
    workbook = write_xlsx(tmp_path / "items.xlsx", [["code", "level", "label", "parent", "notes"],
                                                    ["P1", "施策の柱", "柱_x0041_", None, None],
                                                    ["S1", "戦略計画", "戦略_x0001_計画", "P1", None]])
    _, meta = write_inputs(tmp_path)
    with pytest.raises(SourceError, match=r"row 3, column 'label \(C\)': the cell '戦略_x0001_計画' holds _x0001_, "
                                          r"which is how Excel writes the control character U\+0001"):
        import_plan(workbook, municipality_code="131202", metadata_path=meta, settings=settings)


@pytest.mark.parametrize("label", ["柱_x0041_", "柱_x005F_x0001_", "柱_x0009_", "柱_x3042_"])
def test_a_workbook_cell_is_kept_as_it_reads(tmp_path: Path, settings: Settings, label: str) -> None:
    """No OOXML escape is undone: openpyxl has undone Excel's escape of a typed `_x…_` in shared strings, so a
    typed `柱_x0041_` reads as it is shown, and must not become 柱A (nor an escaped one a control character)."""
    workbook = write_xlsx(tmp_path / "items.xlsx", [["code", "level", "label", "parent", "notes"],
                                                    ["P1", "施策の柱", label, None, None]])
    _, meta = write_inputs(tmp_path)
    result = import_plan(workbook, municipality_code="131202", metadata_path=meta, settings=settings)
    assert result.plan.items[0].label == label


def test_a_column_named_twice_is_refused_with_both_letters(tmp_path: Path, settings: Settings) -> None:
    """The second 'code' was ignored, and its cells with it."""
    items = tmp_path / "items.csv"
    items.write_text("code,level,label,parent,notes,code\nA,柱,テスト,,,B\n", encoding="utf-8")
    _, meta = write_inputs(tmp_path / "..", ITEMS)
    result = CliRunner().invoke(main, ["--data", str(settings.data_dir), "import", str(items), "--municipality",
                                       "131202", "--metadata", str(meta)])
    assert result.exit_code == 2, result.output
    assert f"{items}, row 1: the header names a column more than once: 'code' in columns A and F" in result.output
    assert "Traceback" not in result.output and not any(settings.data_dir.iterdir())
    workbook = write_xlsx(tmp_path / "items.xlsx", [["code", "level", "label", "parent", "notes", "Label"],
                                                    ["P1", "施策の柱", "柱", None, None, "もう一つ"]])
    with pytest.raises(SourceError, match=r"items.xlsx, row 1: .*'label' in columns C and F"):
        import_plan(workbook, municipality_code="131202", metadata_path=meta, settings=settings)


def test_a_level_missing_from_the_levels_table_is_reported(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path, ITEMS + "S3,章,名称,P1,,\n")
    text = meta.read_text(encoding="utf-8").replace(
        "\n[municipality]", '\n[levels]\n"施策の柱" = "PlanElement"\n"戦略計画" = "PlanElement"\n\n[municipality]')
    meta.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=r"row 5, column 'level'.*unknown level '章'"):
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings)


@pytest.mark.parametrize(("code", "words"), [("131203", "check digit 3, expected 2"), ("13120", "6 ASCII digits")])
def test_a_bad_municipality_code_is_refused(tmp_path: Path, settings: Settings, code: str, words: str) -> None:
    items, meta = write_inputs(tmp_path)
    with pytest.raises(SourceError, match=words):
        import_plan(items, municipality_code=code, metadata_path=meta, settings=settings)


def test_a_partial_plan_without_a_note_is_refused(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path, completeness_note="")
    with pytest.raises(SourceError, match="completeness_note"):
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings)


def test_a_plan_mapping_a_level_to_a_nishitokyo_class_must_meet_its_shape(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    text = meta.read_text(encoding="utf-8").replace(
        "\n[municipality]", '\n[levels]\n"施策の柱" = "BasicGoal"\n"戦略計画" = "Policy"\n\n[municipality]')
    meta.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError, match="violation"):  # a BasicGoal needs a 分野 and a numeric code
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings)
    assert not any(settings.data_dir.iterdir())


def test_an_existing_folder_is_kept_unless_replace_is_given(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="nerima")
    with pytest.raises(SourceError, match="--replace"):
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="nerima")
    import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="nerima",
                replace_existing=True)


@pytest.mark.parametrize("folder", ["../escape", "../../tmp/escape", "a/b", "..", ".hidden", "/tmp/escape", ""])
def test_a_folder_is_one_name_under_the_data_folder(tmp_path: Path, settings: Settings, folder: str) -> None:
    items, meta = write_inputs(tmp_path)
    with pytest.raises(SourceError, match="is not a folder name under") as info:
        import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder=folder or ".")
    assert "--folder" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "items.csv", "meta.toml"]  # nothing written
    assert not list(settings.data_dir.iterdir())


def test_a_folder_name_may_be_japanese(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    result = import_plan(items, municipality_code="131202", metadata_path=meta, settings=settings, folder="練馬区-vision_3")
    assert result.folder == settings.data_dir / "練馬区-vision_3"


def test_the_command_reports_success_and_errors(tmp_path: Path, settings: Settings) -> None:
    items, meta = write_inputs(tmp_path)
    runner = CliRunner()
    args = ["--data", str(settings.data_dir), "import", str(items), "--municipality", "131202", "--metadata", str(meta)]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert "imported 3 items" in ok.output and "施策の柱 -> pkg:PlanElement" in ok.output
    shutil.rmtree(settings.data_dir / "131202")
    bad = runner.invoke(main, args[:-4] + ["--municipality", "131209", "--metadata", str(meta)])
    assert bad.exit_code == 2 and "check digit" in bad.output and "Traceback" not in bad.output
