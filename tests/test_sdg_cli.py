"""plan_kg.sdg.cli: `plan-kg sdg suggest | link | merge | chart`."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from plan_kg.cli import main
from plan_kg.config import Settings
from plan_kg.sdg.chart import coverage_chart, goal_counts
from plan_kg.sdg.cli import sdg
from plan_kg.sdg.training import curated_targets

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
    assert result.exit_code == 2 and not out.exists()  # unusable input, as for import and validate
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
    assert result.exit_code == 2
    assert "row 2, column 'accept'" in result.output and "Traceback" not in result.output


def test_chart_writes_png_and_svg(tmp_path: Path) -> None:
    result = CliRunner().invoke(sdg, ["chart", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sdg-coverage.png").is_file() and (tmp_path / "sdg-coverage.svg").is_file()


@pytest.fixture()
def data_copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of the Nishitokyo plan and the SDG folder, given with --data; the project's own links table is
    checked (and put back) afterwards: a command that writes it instead of the copy's fails the test."""
    copy = tmp_path / "data"
    shutil.copytree(DATA / "nishitokyo", copy / "nishitokyo")
    shutil.copytree(DATA / "sdg", copy / "sdg")
    project_links = DATA / "sdg" / "links.csv"
    before = project_links.read_bytes()
    try:
        yield copy
    finally:
        after = project_links.read_bytes()
        project_links.write_bytes(before)
        assert after == before, f"{project_links} was written"


def test_link_reads_the_plan_in_the_data_folder_given(data_copy: Path, tmp_path: Path) -> None:
    items = data_copy / "nishitokyo" / "items.csv"
    header, *rows = items.read_text(encoding="utf-8").splitlines(keepends=True)
    items.write_text(header + "".join(r for r in rows if r.split(",")[0] == "1" or r.startswith("1-")), encoding="utf-8")
    out = tmp_path / "review.csv"
    result = CliRunner().invoke(main, ["--data", str(data_copy), "sdg", "link", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        initiatives = {r["initiative"] for r in csv.DictReader(handle)}
    assert initiatives and all(i.startswith("1-") for i in initiatives)  # the copy holds basic goal 1 alone


def test_merge_extends_the_links_in_the_data_folder_given(data_copy: Path, tmp_path: Path) -> None:
    review = tmp_path / "review.csv"
    review.write_text("initiative,target,score,accept\n5-2-1-3,6.4,0.47,yes\n", encoding="utf-8")
    links = data_copy / "sdg" / "links.csv"
    before = links.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, ["--data", str(data_copy), "sdg", "merge", "--review", str(review),
                                       "--date", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "added 1, already present 0, not accepted 0"
    added = links.read_text(encoding="utf-8")[len(before):]
    assert added.startswith("5-2-1-3,6.4,") and "2026-12-01" in added


@pytest.mark.parametrize("given", ["--data", "--config"])
def test_suggest_reads_the_lexicon_in_the_data_folder_given(data_copy: Path, tmp_path: Path, given: str) -> None:
    lexicon = data_copy / "sdg" / "lexicon-ja.csv"
    lexicon.write_text(lexicon.read_text(encoding="utf-8").replace("\n14.1,", "\n14.1,火星探査機|"), encoding="utf-8")
    config = tmp_path / "plan-kg.toml"
    config.write_text('data_dir = "data"\n', encoding="utf-8")  # relative to the settings file
    option = ["--data", str(data_copy)] if given == "--data" else ["--config", str(config)]
    result = CliRunner().invoke(main, [*option, "sdg", "suggest"], input="火星探査機の推進\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["targets"][0]["iri"] == "http://metadata.un.org/sdg/14.1"


def test_chart_draws_the_links_in_the_data_folder_given(data_copy: Path, tmp_path: Path) -> None:
    links = data_copy / "sdg" / "links.csv"
    links.write_text("".join(links.read_text(encoding="utf-8").splitlines(keepends=True)[:3]), encoding="utf-8")
    result = CliRunner().invoke(main, ["--data", str(data_copy), "sdg", "chart", "--out", str(tmp_path / "chart")])
    assert result.exit_code == 0, result.output
    expected = {code: tuple(t for t, _ in targets) for code, targets in curated_targets(links).items()}
    drawn = coverage_chart(goal_counts(expected), tmp_path / "expected")
    assert (tmp_path / "chart" / "sdg-coverage.svg").read_bytes() == drawn.svg.read_bytes()


def test_suggest_reads_shift_jis_and_a_bom_as_the_importer_does() -> None:
    expected = CliRunner().invoke(sdg, ["suggest"], input="子ども食堂の支援\nフレイル予防の推進\n").output
    for data in ("子ども食堂の支援\r\nフレイル予防の推進\r\n".encode("cp932"),
                 "\ufeff子ども食堂の支援\nフレイル予防の推進\n".encode("utf-8")):
        result = CliRunner().invoke(sdg, ["suggest"], input=data)
        assert result.exit_code == 0, result.output
        assert result.output == expected
    assert json.loads(expected.splitlines()[0])["text"] == "子ども食堂の支援"


def test_suggest_on_text_in_another_encoding_says_where_and_what_to_do() -> None:
    result = CliRunner().invoke(main, ["sdg", "suggest"], input="地域\n".encode() + "子ども食堂の支援\n".encode("euc-jp"))
    assert result.exit_code == 2, result.output
    assert "standard input, row 2: cannot be read as UTF-8 or Shift_JIS/CP932 (bad byte at offset" in result.output
    assert "iconv -f EUC-JP -t UTF-8" in result.output and "Traceback" not in result.output


def test_suggest_in_a_pipe_reads_shift_jis_and_refuses_euc_jp_without_a_traceback() -> None:
    """As a user meets it: the bytes of a real pipe (Python's own stdin decoding turned them into a traceback)."""
    def run(data: bytes) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "plan_kg", "sdg", "suggest"], input=data, capture_output=True,
                              timeout=120)

    shift_jis = run("子ども食堂の支援\n".encode("cp932"))
    assert shift_jis.returncode == 0, shift_jis.stderr.decode()
    assert json.loads(shift_jis.stdout.decode("utf-8"))["text"] == "子ども食堂の支援"
    euc_jp = run("子ども食堂の支援\n".encode("euc-jp"))
    assert euc_jp.returncode == 2 and b"Traceback" not in euc_jp.stderr
    assert b"standard input, row 1: cannot be read as UTF-8 or Shift_JIS/CP932" in euc_jp.stderr


@pytest.mark.parametrize("table, said", [
    ("initiative,initiative_label,target,score,accept\n1-1-1-1,地域,11.3,0.5,yes\n",  # a review table
     "row 1: missing column(s) confidence, method; a links table's header is initiative,target,confidence,"),
    ("initiative,target,confidence,method,method_version,rationale,date\n1-1-1-1,11.3,high,curated,1.0,r,2026-01-01\n",
     "row 2, column 'confidence': 'high' is not a number"),
], ids=["a review table", "a confidence that is no number"])
def test_chart_and_link_on_a_table_that_is_no_links_table_say_where_and_what_without_a_traceback(
        tmp_path: Path, table: str, said: str) -> None:
    links = tmp_path / "links.csv"
    links.write_text(table, encoding="utf-8")
    for args in (["chart", "--out", str(tmp_path / "chart")], ["link", "--out", str(tmp_path / "review.csv")]):
        result = CliRunner().invoke(sdg, [*args, "--links", str(links)])
        assert result.exit_code == 2, result.output
        assert f"{links}, {said}" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("review_bytes, links_bytes, said", [
    ("initiative,target,score,accept\n5-2-1-3,6.4,0.47,yes\n".encode("cp932"), b"a,b\n1,2\n",
     "links.csv, row 1: missing column(s) initiative, target; a links table's header is initiative,target,"),
    ("initiative,target,score,accept\n5-2-1-3,6.4,0.47,はい\n".encode("cp932"), None,
     "review.csv: not UTF-8; save it as UTF-8"),
], ids=["a links table without its columns", "a review table in Shift_JIS"])
def test_merge_on_a_table_it_cannot_read_says_which_and_what_to_do_without_a_traceback(
        tmp_path: Path, review_bytes: bytes, links_bytes: bytes | None, said: str) -> None:
    review, links = tmp_path / "review.csv", tmp_path / "links.csv"
    review.write_bytes(review_bytes)
    links.write_bytes(links_bytes or (DATA / "sdg" / "links.csv").read_bytes())
    before = links.read_bytes()
    result = CliRunner().invoke(sdg, ["merge", "--review", str(review), "--links", str(links), "--date", "2026-12-01"])
    assert result.exit_code == 2, result.output
    assert f"{tmp_path}/{said}" in result.output and "Traceback" not in result.output
    assert links.read_bytes() == before


def test_suggest_links_on_the_curated_plan_writes_nothing_the_build_would_not_read(data_copy: Path) -> None:
    plan = data_copy / "nishitokyo"
    result = CliRunner().invoke(main, ["--data", str(data_copy), "sdg", "suggest-links", "--plan", str(plan),
                                       "--date", "2026-12-01"])
    assert result.exit_code == 2, result.output
    assert f"this plan's SDG links are curated, in {data_copy / 'sdg' / 'links.csv'}" in result.output
    assert not (plan / "sdg-links.csv").exists()
