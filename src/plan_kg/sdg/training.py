"""Curated links as training examples: each initiative's wording with its curated targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError
from ..source import PlanSource, plan_folders, read_plan
from .links import CURATED_PLAN, CURATED_TABLE, LINKS_HEADER, table_rows
from .suggest import Example

__all__ = ["CURATED_PLAN", "InitiativeText", "curated_examples", "curated_targets", "find_plan", "initiative_texts"]


@dataclass(frozen=True)
class InitiativeText:
    """An initiative with the wording the suggester reads: its name, then its measure's name."""

    code: str
    label: str
    measure: str  # code of the parent measure (基本施策)
    text: str


def initiative_texts(plan: PlanSource, *, with_measure: bool = True) -> tuple[InitiativeText, ...]:
    """Every initiative of `plan` in plan order; the text is 'initiative。measure' (or the name alone)."""
    by_code = {item.code: item for item in plan.items}
    out = []
    for item in plan.items:
        if item.level_class != "Initiative":
            continue
        parent = by_code.get(item.parent or "")
        text = f"{item.label}。{parent.label}" if with_measure and parent is not None and parent.label else item.label
        out.append(InitiativeText(code=item.code, label=item.label, measure=item.parent or "", text=text))
    return tuple(out)


def find_plan(data_dir: Path, municipality_code: str, plan_id: str) -> PlanSource | None:
    for folder in plan_folders(data_dir):
        plan = read_plan(folder)
        if (plan.metadata.municipality.code, plan.metadata.plan_id) == (municipality_code, plan_id):
            return plan
    return None


def curated_targets(links_csv: Path) -> dict[str, tuple[tuple[str, float], ...]]:
    """Initiative code -> ((target code, confidence), …) of the curated rows of a links table."""
    table: dict[str, list[tuple[str, float]]] = {}
    # A review table or another CSV given for the links table lacks some of these columns.
    reader = table_rows(links_csv, ("initiative", "target", "confidence", "method"), LINKS_HEADER)
    for number, row in enumerate(reader, start=2):
        if row["method"] == "curated":
            value = row["confidence"] or ""
            try:
                confidence = float(value)
            except ValueError:
                raise SourceError(links_csv, f"{value!r} is not a number; write a decimal from 0 to 1",
                                  row=number, column="confidence") from None
            table.setdefault(row["initiative"], []).append((row["target"], confidence))
    return {code: tuple(targets) for code, targets in table.items()}


def curated_examples(data_dir: Path, *, exclude: frozenset[str] = frozenset(), with_measure: bool = True) -> tuple[Example, ...]:
    """Examples from the curated plan's links, leaving out the initiatives in `exclude`."""
    plan = find_plan(data_dir, *CURATED_PLAN)
    links = data_dir / CURATED_TABLE
    if plan is None or not links.is_file():
        return ()
    targets = curated_targets(links)
    return tuple(Example(text=i.text, targets=targets[i.code])
                 for i in initiative_texts(plan, with_measure=with_measure) if i.code in targets and i.code not in exclude)
