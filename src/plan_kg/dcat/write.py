"""Write the catalog, VoID and ontology documentation into the output folder, at the end of a build."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rdflib import Graph

from ..config import Settings
from ..source import PlanSource
from .catalog import catalog_graph, modified_date
from .docs import ontology_html, pylode_available, stylesheet
from .serialize import DOCUMENT_FORMATS, serialize
from .void import void_graph

CATALOG_STEM = "catalog"
VOID_STEM = "void"
VOID_FILE = f"{VOID_STEM}.ttl"  # the Turtle one, the default
ONTOLOGY_HTML = "ontology.html"
ONTOLOGY_CSS = "pylode.css"


def write_metadata(settings: Settings, out: Path, *, plans: Sequence[PlanSource], graphs: Sequence[Graph],
                   ontology: Graph) -> list[Path]:
    """catalog.{ttl,jsonld,rdf,nt}, void.{ttl,jsonld,rdf,nt} and (with pyLODE) ontology.html + pylode.css in `out`, which holds the dumps.

    Byte sizes in the catalog are those of the files already in `out`; the catalog does not list itself.
    """
    sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    catalog = catalog_graph(settings, plans=plans, file_sizes=sizes, modified=modified_date(plans, ontology))
    void = void_graph(settings, graphs=graphs, plans=plans)
    files = []
    for stem, graph in ((CATALOG_STEM, catalog), (VOID_STEM, void)):
        for fmt in DOCUMENT_FORMATS:
            path = out / f"{stem}.{fmt.extension}"
            path.write_bytes(serialize(graph, fmt))
            files.append(path)
    if pylode_available():
        page = out / ONTOLOGY_HTML
        page.write_text(ontology_html(settings.ontology_dir, settings.shapes_dir / "plan-kg.ttl",
                                       root=settings.public_path), encoding="utf-8")
        (out / ONTOLOGY_CSS).write_bytes(stylesheet())
        files += [page, out / ONTOLOGY_CSS]
    return files
