"""plan_kg.sdg.chart: the coverage chart in the SDG colours, byte-identical on every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from plan_kg.sdg.chart import SDG_COLOURS, coverage_chart, goal_counts

COUNTS = {1: 3, 3: 27, 6: 0, 11: 40, 17: 16}


def test_png_and_svg_are_written(tmp_path: Path) -> None:
    files = coverage_chart(COUNTS, tmp_path)
    assert files.png.read_bytes().startswith(b"\x89PNG")
    svg = files.svg.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<dc:date>" not in svg


def test_bars_use_the_official_colours(tmp_path: Path) -> None:
    svg = coverage_chart(COUNTS, tmp_path).svg.read_text(encoding="utf-8").lower()
    assert len(SDG_COLOURS) == 17
    assert all(colour.lower() in svg for colour in SDG_COLOURS)


def test_output_is_byte_identical(tmp_path: Path) -> None:
    first = coverage_chart(COUNTS, tmp_path / "a")
    second = coverage_chart(COUNTS, tmp_path / "b")
    assert first.svg.read_bytes() == second.svg.read_bytes()
    assert first.png.read_bytes() == second.png.read_bytes()


def test_other_counts_give_another_chart(tmp_path: Path) -> None:
    first = coverage_chart(COUNTS, tmp_path / "a")
    second = coverage_chart(COUNTS | {2: 5}, tmp_path / "b")
    assert first.svg.read_bytes() != second.svg.read_bytes()


def test_a_goal_outside_1_to_17_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[18\]"):
        coverage_chart({18: 1}, tmp_path)


def test_goal_counts_count_each_initiative_once_per_goal() -> None:
    assert goal_counts({"a": ("3.4", "3.8", "2.2"), "b": ("3.4",)}) == {3: 2, 2: 1}
