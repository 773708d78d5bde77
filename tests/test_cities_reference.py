"""The four reference plans (plan_kg.cities.reference): data/<city>/ matches ../shared/reference/cities."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from plan_kg.cities.reference import REFERENCE_PLANS, import_reference_cities, read_structure
from plan_kg.config import PROJECT_ROOT, Settings
from plan_kg.municipality import check_municipality_code
from plan_kg.source import read_plan

REFERENCE = Settings().shared_dir / "reference" / "cities"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference/cities is not here")


@pytest.mark.parametrize("folder", sorted(REFERENCE_PLANS))
def test_each_committed_plan_is_partial_with_a_note_source_and_valid_code(folder: str) -> None:
    plan = read_plan(PROJECT_ROOT / "data" / folder)
    meta = plan.metadata
    assert meta.completeness == "Partial"
    assert "missing" in meta.completeness_note and meta.completeness_note_ja
    assert meta.source.startswith("http")
    assert check_municipality_code(meta.municipality.code) == meta.municipality.code
    assert all(cls == "PlanElement" for _, cls in meta.levels), "other cities' levels are not Nishitokyo's classes"


@needs_reference
@pytest.mark.parametrize("folder", sorted(REFERENCE_PLANS))
def test_committed_items_are_the_reference_rows_verbatim(folder: str) -> None:
    rows = read_structure(REFERENCE / folder / "structure.tsv")
    items = read_plan(PROJECT_ROOT / "data" / folder).items
    assert [(i.code, i.level, i.label, i.parent or "") for i in items] == [
        (r.code, r.level, r.label, r.parent) for r in rows]


@needs_reference
def test_reimporting_reproduces_the_committed_folders(tmp_path: Path) -> None:
    settings = replace(Settings(), data_dir=tmp_path)
    results = import_reference_cities(REFERENCE, settings=settings)
    assert all(r.report.conforms for r in results)
    for folder in REFERENCE_PLANS:
        for name in ("plan.toml", "items.csv"):
            assert (tmp_path / folder / name).read_bytes() == (PROJECT_ROOT / "data" / folder / name).read_bytes()


def test_the_inferred_label_of_higashimurayama_is_flagged() -> None:
    items = {i.code: i for i in read_plan(PROJECT_ROOT / "data" / "higashimurayama").items}
    assert "inferred" in items["G3"].notes
