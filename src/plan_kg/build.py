"""The pipeline: source tables -> graph -> reasoning -> validation -> published files.

The build writes into a fresh folder beside the output folder and swaps it in only when
every step succeeded, so a failed build leaves the previous output exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Graph, Namespace, URIRef

from .build_record import current_inputs, write_record
from .config import Settings
from .dcat import write_metadata
from .errors import BuildError
from .iris import PKG, inferred_graph_iri, ontology_graph_iri, plan_graph_iri, plan_iri
from .locks import exclusive
from .publish import CONTEXT_FILE, json_ld_context, plan_table, write_dataset, write_jsonld, write_turtle
from .rdf import new_graph, plan_graph
from .cities.heatmap import write_sdg_heatmap
from .sdg import link_graph, reference_graphs
from .sdg.chart import coverage_chart
from .sdg.links import linkable_codes, plan_links_table
from .sdg.reference import sdg_graph_iri

SDGO = Namespace("http://metadata.un.org/sdg/ontology#")
from .reasoning import infer
from .source import PlanSource, plan_folders, read_plan
from .validation import ValidationReport, load_shapes, validate


@dataclass(frozen=True)
class PlanSummary:
    slug: str
    iri: str
    counts: dict[str, int]  # ontology class local name -> number of elements
    asserted_triples: int
    inferred_triples: int


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    plans: tuple[PlanSummary, ...]
    report: ValidationReport
    files: tuple[Path, ...]
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds


def load_ontology(settings: Settings) -> Graph:
    """Every ontology module in ontology/*.ttl, as one graph."""
    graph = new_graph(ontology_graph_iri(settings.base_iri))
    for path in sorted(settings.ontology_dir.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def _counts(graph: Graph) -> dict[str, int]:
    counted = Counter(str(o).rsplit("#", 1)[-1] for o in graph.objects(None, RDF.type) if str(o).startswith(str(PKG)))
    return dict(sorted(counted.items()))


@dataclass(frozen=True)
class Assembly:
    """Every graph of a build, in memory: what validation checks and publication writes."""

    graphs: list[Graph]  # every named graph to publish
    built: list[tuple[PlanSource, Graph, Graph]]  # each plan with its asserted and inferred graph
    ontology: Graph
    checked: list[Graph]  # graphs validated beside the plans: SDG reference, cross-city links
    timings: dict[str, float]


def assemble(settings: Settings) -> Assembly:
    """Read every plan, build its graphs and reason; no validation, nothing written."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    folders = plan_folders(settings.data_dir)
    if not folders:
        raise BuildError(f"no plan found under {settings.data_dir}: each plan is a folder with plan.toml and items.csv")
    plans = [read_plan(folder) for folder in folders]
    timings["read"] = time.perf_counter() - started

    ontology = load_ontology(settings)
    references = reference_graphs(settings)  # SDG goals and targets; the UN SDG KOS as published
    background = new_graph()  # what reasoning may use but does not republish
    background += ontology
    background += sdg_structure(references[sdg_graph_iri(settings)])
    graphs = [ontology, *references.values()]
    built = []
    reasoning = 0.0
    for plan in plans:
        meta = plan.metadata
        code, plan_id = meta.municipality.code, meta.plan_id
        asserted = plan_graph(plan, base=settings.base_iri, identifier=plan_graph_iri(settings.base_iri, code, plan_id))
        asserted += _sdg_links(settings, plan)
        inference = infer(asserted, background, identifier=inferred_graph_iri(settings.base_iri, code, plan_id),
                          engine=settings.reasoning_engine)
        reasoning += inference.seconds
        graphs += [asserted, inference.graph]
        built.append((plan, asserted, inference.graph))
    timings["reasoning"] = reasoning
    checked = [references[sdg_graph_iri(settings)]]  # SDG links must name real targets
    links = _cross_city_links(settings, plans)
    if links is not None:
        graphs.append(links)
        checked.append(links)
    return Assembly(graphs=graphs, built=built, ontology=ontology, checked=checked, timings=timings)


def sdg_structure(sdg: Graph) -> Graph:
    """The SDG triples reasoning needs (types, target-goal links): owlrl's time grows with every triple."""
    structure = Graph()
    for predicate in (RDF.type, SDGO.isTargetOf, SDGO.hasTarget):
        for triple in sdg.triples((None, predicate, None)):
            structure.add(triple)
    return structure


def _sdg_links(settings: Settings, plan: PlanSource) -> Graph:
    """The plan's qualified SDG links (`plan_links_table`: its sdg-links.csv, or the curated table)."""
    meta = plan.metadata
    links_csv = plan_links_table(settings.data_dir, plan)
    if links_csv is None:
        return Graph()
    return link_graph(settings, municipality_code=meta.municipality.code, plan_id=meta.plan_id,
                      links_csv=links_csv, initiatives=linkable_codes(plan))


def _cross_city_links(settings: Settings, plans: list[PlanSource]) -> Graph | None:
    """The named graph {base}graph/cross-city-links from data/links/cross-city.csv, if there is one."""
    try:
        from .cities.links import cross_city_graph  # the cities package is optional
    except ImportError:
        return None
    known = frozenset(f"{p.metadata.municipality.code}/{p.metadata.plan_id}/{item.code}"
                      for p in plans for item in p.items)
    return cross_city_graph(settings, known_items=known)


def validate_sources(settings: Settings) -> ValidationReport:
    """Build the graphs in memory and validate them; nothing is written."""
    assembly = assemble(settings)
    return _validate(settings, assembly.built, assembly.ontology, assembly.checked)


def _validate(settings: Settings, built: list, ontology: Graph, checked: list[Graph]) -> ValidationReport:
    data = Graph()
    for graph in checked:
        data += graph
    for _, asserted, inferred in built:
        data += asserted
        data += inferred
    return validate(data, load_shapes(settings.shapes_dir), ontology=ontology)


def build(settings: Settings, *, out_dir: Path | None = None) -> BuildResult:
    """Run the whole pipeline and publish into `out_dir` (default: settings.dist_dir).

    Raises SourceError for unusable input and BuildError when validation finds violations;
    in both cases `out_dir` is left untouched.
    """
    out_dir = (out_dir or settings.dist_dir).resolve()
    inputs = current_inputs(settings)  # before reading them: a source edited meanwhile makes this build stale
    assembly = assemble(settings)
    graphs, built, ontology, timings = assembly.graphs, assembly.built, assembly.ontology, assembly.timings

    started = time.perf_counter()
    report = _validate(settings, built, ontology, assembly.checked)
    timings["validation"] = time.perf_counter() - started
    if not report.conforms:
        raise BuildError(f"validation found {len(report.violations)} violation(s); nothing was published\n"
                         + report.text())

    started = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-building-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the output is for publishing
    try:
        files = _write_all(settings, staging, graphs, built, ontology)
        write_record(staging, inputs)  # what it was built from: `plan-kg serve` builds again when that changes
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    timings["write"] = time.perf_counter() - started

    summaries = tuple(
        PlanSummary(slug=plan.slug, iri=str(plan_iri(settings.base_iri, plan.metadata.municipality.code,
                                                     plan.metadata.plan_id)),
                    counts=_counts(asserted), asserted_triples=len(asserted), inferred_triples=len(inferred))
        for plan, asserted, inferred in built)
    return BuildResult(out_dir=out_dir, plans=summaries, report=report,
                       files=tuple(out_dir / f.relative_to(staging) for f in files), timings=timings)


def _write_all(settings: Settings, out: Path, graphs: list[Graph], built: list, ontology: Graph) -> list[Path]:
    context = json_ld_context()
    (out / CONTEXT_FILE).write_text(json.dumps(context, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files = [out / CONTEXT_FILE]
    files += write_dataset(graphs, out)
    write_turtle(ontology, out / "ontology.ttl")
    shutil.copyfile(settings.shapes_dir / "plan-kg.ttl", out / "shapes.ttl")
    files += [out / "ontology.ttl", out / "shapes.ttl"]
    (out / "plans").mkdir()
    for plan, asserted, inferred in built:
        merged = new_graph()
        merged += asserted
        merged += inferred
        stem = out / "plans" / plan.slug
        write_turtle(merged, stem.with_suffix(".ttl"))
        write_jsonld(merged, stem.with_suffix(".jsonld"), context)
        iri = plan_iri(settings.base_iri, plan.metadata.municipality.code, plan.metadata.plan_id)
        stem.with_suffix(".csv").write_bytes(plan_table(merged, URIRef(iri)))
        files += [stem.with_suffix(s) for s in (".ttl", ".jsonld", ".csv")]
    files += _charts(settings, out, graphs, built)
    # Last, as it describes the files above (their byte sizes): DCAT catalog, VoID, ontology docs.
    files += write_metadata(settings, out, plans=[plan for plan, _, _ in built], graphs=graphs, ontology=ontology)
    return files


def _charts(settings: Settings, out: Path, graphs: list[Graph], built: list) -> list[Path]:
    """SDG coverage: a bar chart per plan with SDG links, and the heatmap of every city (PNG + SVG)."""
    files: list[Path] = []
    for plan, _, inferred in built:
        serving: dict[int, set] = {}
        for element, goal in inferred.subject_objects(PKG.contributesToGoal):
            serving.setdefault(int(str(goal).rsplit("/", 1)[-1]), set()).add(element)
        if serving:
            name = plan.metadata.municipality.name_en
            chart = coverage_chart({goal: len(elements) for goal, elements in serving.items()}, out / "plans",
                                   title=f"{name}: plan elements per SDG goal", stem=f"{plan.slug}-sdg-coverage")
            files += [chart.png, chart.svg]
    heatmap = write_sdg_heatmap(graphs, out, settings=settings)
    return files + [heatmap.png, heatmap.svg]


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` by `staging`; the old folder is removed only once the new one is in place.

    One swap at a time in a folder (a lock on the folder holding `out_dir`): two builds finishing together (two
    servers that found `dist/` out of date, a `plan-kg build` beside one) failed, one of them with "Directory not
    empty" between the two renames of the other, leaving the folder it had moved aside behind. The later one
    wins, as one after the other. Interrupted between its two renames, it puts the earlier folder back.
    """
    with exclusive(out_dir.parent):
        if out_dir.exists():
            retired = out_dir.with_name(f".{out_dir.name}-old-{time.time_ns()}")
            out_dir.rename(retired)
            try:
                staging.rename(out_dir)
            except BaseException:  # Ctrl-C or SIGTERM between the renames left no output folder at all
                retired.rename(out_dir)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(out_dir)
