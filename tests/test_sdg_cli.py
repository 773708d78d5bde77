"""plan_kg.sdg.cli: `plan-kg sdg suggest | link | merge | chart`."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from plan_kg.config import Settings
from plan_kg.sdg.cli import sdg

DATA = Settings().data_dir


def test_suggest_prints_one_json_object_per_input_line() -> None:
    result = CliRunner().invoke(sdg, ["suggest"], input="フレイル予防の推進\n\n雨水溢水対策の充実\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["text"] for line in lines] == ["フレイル予防の推進", "雨水溢水対策の充実"]
    assert lines[0]["targets"][0] == {"iri": "http://metadata.un.org/sdg/3.4", "score": lines[0]["targets"][0]["score"]}
    assert set(lines[1]) == {"text", "goals", "targets"}
    assert [g["score"] for g in lines[1]["goals"]] == sorted((g["score"] for g in lines[1]["goals"]), reverse=True)


def test_link_writes_a_review_table_for_the_whole_plan(tmp_path: Path) -> None:
    out = tmp_path / "review.csv"
    result = CliRunner().invoke(sdg, ["link", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["initiative"] for r in rows}) >= 100
    assert "written to" in result.output


def test_link_on_a_plan_without_initiatives_says_what_to_run_instead(tmp_path: Path) -> None:
    out = tmp_path / "review.csv"
    result = CliRunner().invoke(sdg, ["link", "--plan", str(DATA / "higashimurayama"), "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert "has no initiatives (pkg:Initiative)" in result.output
    assert f"plan-kg sdg suggest-links --plan {DATA / 'higashimurayama'} --date YYYY-MM-DD" in result.output


def test_merge_adds_accepted_rows_and_reports_counts(tmp_path: Path) -> None:
    review, links = tmp_path / "review.csv", tmp_path / "links.csv"
    shutil.copyfile(DATA / "sdg" / "links.csv", links)
    review.write_text("initiative,target,score,accept\n5-2-1-3,6.4,0.47,yes\n5-2-1-3,3.d,0.40,\n", encoding="utf-8")
    result = CliRunner().invoke(sdg, ["merge", "--review", str(review), "--links", str(links), "--date", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "added 1, already present 0, not accepted 1"


def test_merge_turns_a_bad_table_into_a_clear_message(tmp_path: Path) -> None:
    review, links = tmp_path / "review.csv", tmp_path / "links.csv"
    shutil.copyfile(DATA / "sdg" / "links.csv", links)
    review.write_text("initiative,target,score,accept\n5-2-1-3,6.4,0.47,perhaps\n", encoding="utf-8")
    result = CliRunner().invoke(sdg, ["merge", "--review", str(review), "--links", str(links), "--date", "2026-12-01"])
    assert result.exit_code == 1
    assert "row 2, column 'accept'" in result.output and "Traceback" not in result.output


def test_chart_writes_png_and_svg(tmp_path: Path) -> None:
    result = CliRunner().invoke(sdg, ["chart", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sdg-coverage.png").is_file() and (tmp_path / "sdg-coverage.svg").is_file()
