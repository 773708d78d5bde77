"""plan_kg.sdg.review: review tables and the merge of accepted suggestions into links.csv."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from plan_kg.config import Settings
from plan_kg.errors import SourceError
from plan_kg.sdg.links import plan_initiatives, read_links
from plan_kg.sdg.reference import load_reference
from plan_kg.sdg.review import REVIEW_COLUMNS, merge_accepted, review_rows, write_review
from plan_kg.sdg.suggest import Suggester, read_lexicon
from plan_kg.sdg.training import InitiativeText

DATA = Settings().data_dir
SUGGESTER = Suggester(load_reference(DATA), lexicon=read_lexicon(DATA / "sdg" / "lexicon-ja.csv"))
FRAILTY = InitiativeText(code="3-2-2-2", label="フレイル予防の推進", measure="3-2-2", text="フレイル予防の推進")
FLOODS = InitiativeText(code="5-2-1-3", label="雨水溢水対策の充実", measure="5-2-1", text="雨水溢水対策の充実")


def _review(tmp_path: Path) -> Path:
    path = tmp_path / "review.csv"
    write_review(review_rows(SUGGESTER, (FRAILTY, FLOODS), existing=frozenset({("3-2-2-2", "3.4")})), path)
    return path


def _answer(path: Path, answers: dict[tuple[str, str], str], rationale: str = "") -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["accept"] = answers.get((row["initiative"], row["target"]), "")
        row["rationale"] = rationale if row["accept"] else ""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REVIEW_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _links(tmp_path: Path) -> Path:
    path = tmp_path / "links.csv"
    shutil.copyfile(DATA / "sdg" / "links.csv", path)
    return path


def test_review_table_lists_suggestions_and_marks_existing_links(tmp_path: Path) -> None:
    with _review(tmp_path).open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == REVIEW_COLUMNS
    assert (rows[0]["initiative"], rows[0]["target"], rows[0]["already_linked"]) == ("3-2-2-2", "3.4", "yes")
    assert {r["initiative"] for r in rows} == {"3-2-2-2", "5-2-1-3"}
    assert all(r["accept"] == "" and r["target_label_ja"] for r in rows)


def test_accepted_rows_become_curated_links(tmp_path: Path) -> None:
    review, links = _review(tmp_path), _links(tmp_path)
    before = links.read_text(encoding="utf-8").count("\n")
    _answer(review, {("3-2-2-2", "3.4"): "yes", ("5-2-1-3", "6.4"): "1"}, rationale="雨水の浸透・貯留")
    result = merge_accepted(review, links, date=dt.date(2026, 12, 1))
    assert (result.added, result.already_present) == (1, 1)
    assert links.read_text(encoding="utf-8").count("\n") == before + 1
    initiatives = plan_initiatives(Settings(), municipality_code="132292", plan_id="basic-plan-3")
    records = read_links(links, initiatives=initiatives, reference=load_reference(DATA))
    added = [r for r in records if (r.initiative, r.target) == ("5-2-1-3", "6.4")]
    assert len(added) == 1 and added[0].method == "curated" and added[0].rationale == "雨水の浸透・貯留"
    assert added[0].date == dt.date(2026, 12, 1) and 0 < added[0].confidence <= 1


def test_an_accepted_row_without_rationale_says_where_it_came_from(tmp_path: Path) -> None:
    review, links = _review(tmp_path), _links(tmp_path)
    _answer(review, {("5-2-1-3", "6.4"): "yes"})
    merge_accepted(review, links, date=dt.date(2026, 12, 1))
    assert "accepted on review" in links.read_text(encoding="utf-8").splitlines()[-1]


def test_an_unclear_answer_is_an_error(tmp_path: Path) -> None:
    review, links = _review(tmp_path), _links(tmp_path)
    _answer(review, {("5-2-1-3", "6.4"): "maybe"})
    with pytest.raises(SourceError, match="'maybe' is neither yes nor no") as info:
        merge_accepted(review, links, date=dt.date(2026, 12, 1))
    assert info.value.column == "accept"
    assert links.read_bytes() == (DATA / "sdg" / "links.csv").read_bytes()


def test_a_table_that_is_not_a_review_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="missing column"):
        merge_accepted(path, _links(tmp_path), date=dt.date(2026, 12, 1))
