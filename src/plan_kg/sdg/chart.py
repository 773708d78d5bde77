"""Coverage chart: initiatives per SDG goal, as bars in the 17 official SDG colours (PNG and SVG)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from pathlib import Path

# The official SDG icon colours (UN Department of Global Communications guidelines), goals 1–17.
SDG_COLOURS = (
    "#E5243B", "#DDA63A", "#4C9F38", "#C5192D", "#FF3A21", "#26BDE2", "#FCC30B", "#A21942", "#FD6925",
    "#DD1367", "#FD9D24", "#BF8B2E", "#3F7E44", "#0A97D9", "#56C02B", "#00689D", "#19486A",
)


@dataclass(frozen=True)
class ChartFiles:
    png: Path
    svg: Path


@contextlib.contextmanager
def deterministic_figure(*, figsize: tuple[float, float], salt: str) -> Iterator[tuple[Any, Any]]:
    """A matplotlib (figure, axes) whose PNG and SVG are byte-identical on every run; closed on exit."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none", "path.simplify": False}):
        figure, axes = plt.subplots(figsize=figsize, dpi=100)
        try:
            yield figure, axes
        finally:
            plt.close(figure)


def save_figure(figure: Any, out_dir: Path, stem: str) -> ChartFiles:
    """`out_dir/{stem}.png` and `.svg`, without the dates and versions that would vary between builds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ChartFiles(png=out_dir / f"{stem}.png", svg=out_dir / f"{stem}.svg")
    figure.savefig(files.png, format="png", metadata={"Software": None})
    figure.savefig(files.svg, format="svg", metadata={"Date": None, "Creator": None})
    return files


def coverage_chart(counts: dict[int, int], out_dir: Path, *, title: str = "Initiatives per SDG goal",
                   stem: str = "sdg-coverage") -> ChartFiles:
    """Bar chart of `counts` (goal number -> initiatives) for goals 1..17; byte-identical on every run."""
    unknown = sorted(set(counts) - set(range(1, 18)))
    if unknown:
        raise ValueError(f"not SDG goal numbers: {unknown}")
    goals = list(range(1, 18))
    values = [counts.get(g, 0) for g in goals]
    with deterministic_figure(figsize=(9, 4), salt="plan-kg-sdg") as (figure, axes):
        bars = axes.bar([str(g) for g in goals], values, color=SDG_COLOURS)
        axes.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2, fontsize=8)
        axes.set_xlabel("SDG goal")
        axes.set_ylabel("initiatives")
        axes.set_title(title)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        return save_figure(figure, out_dir, stem)


def goal_counts(links: dict[str, tuple[str, ...]]) -> dict[int, int]:
    """Goal number -> how many initiatives serve it, from initiative -> target codes."""
    counts: dict[int, int] = {}
    for targets in links.values():
        for goal in sorted({int(code.split(".")[0]) for code in targets}):
            counts[goal] = counts.get(goal, 0) + 1
    return counts
