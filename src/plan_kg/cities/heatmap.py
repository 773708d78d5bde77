"""SDG coverage per city as a heatmap (PNG and SVG), from the named query cities-sdg-coverage.

The lead's build calls `write_sdg_heatmap(graphs, out_dir, settings=…)` with the graphs it
publishes. Output is byte-identical for the same data: fixed SVG hash salt, no dates or
software names in the files, cities and goals in a fixed order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ..config import Settings
from ..named_queries import find_named_query
from ..sdg.chart import ChartFiles, deterministic_figure, save_figure

GOALS = tuple(range(1, 18))


@dataclass(frozen=True)
class CoverageMatrix:
    """Plan elements linked to each SDG goal, per municipality (rows in code order)."""

    cities: tuple[tuple[str, str], ...]  # (municipality code, Japanese name)
    counts: tuple[tuple[int, ...], ...]  # one row per city, 17 columns


def dataset_store(graphs: Iterable[Graph]) -> ox.Store:
    """An in-memory pyoxigraph store holding each of `graphs` in its own named graph, as the server loads them.

    A graph without an IRI (a blank-node identifier) goes to the default graph.
    """
    store = ox.Store()
    for graph in graphs:
        name = graph.identifier
        target = ox.NamedNode(str(name)) if isinstance(name, URIRef) else ox.DefaultGraph()
        store.load(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=target)
    return store


def coverage_matrix(graphs: Iterable[Graph], *, settings: Settings) -> CoverageMatrix:
    """Run cities-sdg-coverage over `graphs` (in pyoxigraph, as the server would) into a matrix.

    Municipalities of the graphs without any SDG link get a row of zeros.
    """
    store = dataset_store(graphs)
    query = find_named_query(settings, "cities-sdg-coverage")
    cells: dict[str, dict[int, int]] = {}
    names: dict[str, str] = {}
    for row in store.query(query.text, use_default_graph_as_union=True):
        code = row["code"].value
        names[code] = row["name"].value
        cells.setdefault(code, {})[int(row["goal"].value)] = int(row["items"].value)
    everyone = store.query("""PREFIX pkg: <https://w3id.org/plan-kg/ontology#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?code ?name { ?m pkg:municipalityCode ?code ; skos:prefLabel ?name . FILTER(LANG(?name) = "ja") }""",
        use_default_graph_as_union=True)
    for row in everyone:
        names.setdefault(row["code"].value, row["name"].value)
    codes = sorted(names)
    return CoverageMatrix(cities=tuple((c, names[c]) for c in codes),
                          counts=tuple(tuple(cells.get(c, {}).get(g, 0) for g in GOALS) for c in codes))


def write_sdg_heatmap(graphs: Iterable[Graph], out_dir: Path, *, settings: Settings,
                      stem: str = "sdg-coverage-by-city") -> ChartFiles:
    """Draw the coverage matrix of `graphs` as `out_dir/{stem}.png` and `.svg`."""
    return draw_heatmap(coverage_matrix(graphs, settings=settings), out_dir, stem=stem)


def draw_heatmap(matrix: CoverageMatrix, out_dir: Path, *, stem: str = "sdg-coverage-by-city") -> ChartFiles:
    """The heatmap of `matrix`: a row per city (its code), a column per goal, counts in the cells."""
    # Row labels are the codes: the default fonts have no Japanese glyphs, and a missing
    # glyph would make matplotlib warn and draw boxes. The codes are in the dataset's IRIs.
    labels = [code for code, _ in matrix.cities]
    height = max(2.5, 0.35 * len(labels) + 1.5)
    with deterministic_figure(figsize=(10, height), salt="plan-kg-cities") as (figure, axes):
        data = [list(row) for row in matrix.counts] or [[0] * len(GOALS)]
        image = axes.imshow(data, cmap="Greens", aspect="auto", vmin=0)
        axes.set_xticks(range(len(GOALS)), [str(g) for g in GOALS])
        axes.set_yticks(range(len(labels)), labels)
        axes.set_xlabel("SDG goal")
        axes.set_ylabel("municipality code")
        axes.set_title("Plan elements linked to each SDG goal, per municipality")
        top = max((v for row in data for v in row), default=0)
        if len(labels) <= 40:  # numbers stay readable on small matrices only
            for y, row in enumerate(data):
                for x, value in enumerate(row):
                    if value:
                        axes.text(x, y, str(value), ha="center", va="center", fontsize=7,
                                  color="white" if value > top / 2 else "black")
        figure.colorbar(image, ax=axes, label="plan elements")
        figure.tight_layout()
        return save_figure(figure, out_dir, stem)
