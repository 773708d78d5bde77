"""The other cities' suggested SDG links are exactly what the suggester gives (reproducible, not hand-made)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from plan_kg.config import Settings
from plan_kg.sdg.review import suggested_links
from plan_kg.sdg.suggest import default_suggester
from plan_kg.source import read_plan

SETTINGS = Settings()
TABLES = sorted(SETTINGS.data_dir.glob("*/sdg-links.csv"))


def test_uncurated_plans_have_suggested_links():
    assert {p.parent.name for p in TABLES} >= {"nerima", "musashino", "kodaira"}


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.parent.name)
def test_committed_table_is_the_suggesters_output(table):
    with table.open(encoding="utf-8", newline="") as handle:
        committed = list(csv.DictReader(handle))
    assert committed and all(row["method"] == "suggested" for row in committed)
    date = dt.date.fromisoformat(committed[0]["date"])
    rows = suggested_links(default_suggester(SETTINGS.data_dir), read_plan(table.parent), date=date)
    assert rows == committed
