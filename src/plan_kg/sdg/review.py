"""Suggested links for a whole plan as a review table, and the merge of accepted rows into links.csv."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError
from ..source import PlanSource
from .links import COLUMNS as LINK_COLUMNS, LINKS_HEADER, table_rows
from .suggest import VERSION, Suggester
from .training import InitiativeText

REVIEW_COLUMNS = ("initiative", "initiative_label", "target", "target_label_ja", "score", "already_linked",
                  "accept", "rationale")
YES = frozenset({"y", "yes", "1", "true", "x", "○", "はい"})
NO = frozenset({"", "n", "no", "0", "false", "×", "いいえ"})


@dataclass(frozen=True)
class ReviewRow:
    initiative: str
    initiative_label: str
    target: str
    target_label_ja: str
    score: float
    already_linked: bool


@dataclass(frozen=True)
class MergeResult:
    added: int
    already_present: int
    rejected: int


def review_rows(suggester: Suggester, initiatives: tuple[InitiativeText, ...], *,
                existing: frozenset[tuple[str, str]] = frozenset()) -> tuple[ReviewRow, ...]:
    """One row per suggested (initiative, target), in plan order, best first within an initiative."""
    rows = []
    for initiative in initiatives:
        for scored in suggester.suggest_one(initiative.text).targets:
            target = suggester.reference.target(scored.code)
            assert target is not None
            rows.append(ReviewRow(initiative=initiative.code, initiative_label=initiative.label, target=scored.code,
                                  target_label_ja=target.text_ja, score=scored.score,
                                  already_linked=(initiative.code, scored.code) in existing))
    return tuple(rows)


def write_review(rows: tuple[ReviewRow, ...], path: Path) -> None:
    """The review table as UTF-8 CSV with BOM (so Excel shows the Japanese); 'accept' is left for the reviewer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REVIEW_COLUMNS)
        for row in rows:
            writer.writerow([row.initiative, row.initiative_label, row.target, row.target_label_ja, f"{row.score:.3f}",
                             "yes" if row.already_linked else "", "", ""])


def accepted_rows(path: Path) -> tuple[tuple[tuple[dict[str, str], int], ...], int]:
    """The rows of a review table whose 'accept' cell says yes, with their line numbers; and how many rows it has."""
    reader = table_rows(path, ("initiative", "target", "score", "accept"), "write the table with 'plan-kg sdg link'")
    out, number = [], 1
    for number, row in enumerate(reader, start=2):
        answer = (row.get("accept") or "").strip().lower()
        if answer in YES:
            out.append((row, number))
        elif answer not in NO:
            raise SourceError(path, f"'{row['accept']}' is neither yes nor no; write yes (or 1) to accept, "
                                    "leave it empty to reject", row=number, column="accept")
    return tuple(out), number - 1


def merge_accepted(review_csv: Path, links_csv: Path, *, date: dt.date, method_version: str = "1.0") -> MergeResult:
    """Append the accepted review rows to `links_csv` as curated links (confidence = the suggester's score).

    Rows already in the links table are left as they are. An empty rationale gets one that says the
    link came from the suggester and was accepted on review.
    """
    accepted, reviewed = accepted_rows(review_csv)
    present = {(r["initiative"], r["target"]) for r in table_rows(links_csv, ("initiative", "target"), LINKS_HEADER)}
    new_rows, duplicates = [], 0
    for row, number in accepted:
        key = (row["initiative"].strip(), row["target"].strip())
        if key in present:
            duplicates += 1
            continue
        try:
            score = float(row["score"])
        except ValueError:
            raise SourceError(review_csv, f"'{row['score']}' is not a number", row=number, column="score") from None
        rationale = (row.get("rationale") or "").strip() or f"Suggested by plan-kg SDG suggester {VERSION} (score {score:.2f}); accepted on review"
        new_rows.append({"initiative": key[0], "target": key[1], "confidence": f"{score:.2f}", "method": "curated",
                         "method_version": method_version, "rationale": rationale, "date": date.isoformat()})
        present.add(key)
    with links_csv.open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=LINK_COLUMNS, lineterminator="\n").writerows(new_rows)
    return MergeResult(added=len(new_rows), already_present=duplicates, rejected=reviewed - len(accepted))


def suggested_links(suggester: Suggester, plan: PlanSource, *, date: dt.date) -> list[dict[str, str]]:
    """Rows of a links table for the leaves of `plan` (elements without children), as the suggester sees
    them: method 'suggested', the score as confidence. For plans nobody has curated yet; a person's
    review (`sdg link` then `sdg merge`) turns rows into curated links."""
    by_code = {item.code: item for item in plan.items}
    parents = {item.parent for item in plan.items if item.parent}
    rows = []
    for item in plan.items:
        if item.code in parents or not item.label:
            continue
        parent = by_code.get(item.parent or "")
        text = f"{item.label}。{parent.label}" if parent is not None and parent.label else item.label
        for scored in suggester.suggest_one(text).targets:
            rows.append({"initiative": item.code, "target": scored.code, "confidence": f"{scored.score:.3f}",
                         "method": "suggested", "method_version": VERSION,
                         "rationale": "", "date": date.isoformat()})
    return rows


def write_links(rows: list[dict[str, str]], path: Path) -> None:
    """A links table (UTF-8, the columns of data/sdg/links.csv)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LINK_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
