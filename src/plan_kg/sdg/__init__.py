"""SDG links: reference graphs, curated link table, a Japanese SDG suggester, coverage chart.

The build uses `reference_graphs(settings)` and `link_graph(settings, …)`; the CLI group is `plan_kg.sdg.cli.sdg`.
SudachiPy and matplotlib are imported only when the suggester or the chart is first used.
"""

from __future__ import annotations

from .chart import coverage_chart
from .links import link_graph, read_links
from .reference import load_reference, normalise_sdg_ja, reference_graphs
from .suggest import Scored, Suggester, Suggestion, suggest

__all__ = [
    "Scored", "Suggester", "Suggestion", "coverage_chart", "link_graph", "load_reference", "normalise_sdg_ja",
    "read_links", "reference_graphs", "suggest",
]
