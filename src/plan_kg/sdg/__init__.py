"""SDG links: reference graphs, curated link table, a Japanese SDG suggester, coverage chart."""

from __future__ import annotations

from .links import link_graph, read_links
from .reference import load_reference, normalise_sdg_ja, reference_graphs

__all__ = ["link_graph", "load_reference", "normalise_sdg_ja", "read_links", "reference_graphs"]
