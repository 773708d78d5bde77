"""National scale: build and load plans for all 1,741 municipalities; time every step; query latency.

Steps, per plan in worker processes (one per core): import (plan.toml + items.csv +
sdg-links.csv -> records, with the readers' checks), RDF (asserted plan + SDG link nodes), reasoning (reasonable, with
the ontology's property chains), checks, N-Quads lines. Then, in the main process: the
national cross-city links, one N-Quads dump, a bulk load into an on-disk pyoxigraph store,
and the comparison queries (cities-sdg-coverage, cities-counterparts).

Checks at this scale. pySHACL costs ~0.5 s per plan with plan-kg's shapes (about 15 minutes
of CPU for 1,741 plans), so the build runs it on every `--shacl-every`-th plan (all shapes of
shapes/plan-kg.ttl; the SDG module's shapes need the UN KOS graph and are left out), and on
every plan runs the checks that do not need it: the reader's (codes unique within the plan,
parent in the same plan, no cycles, known levels = PlanIntegrityShape's rules) and the SDG
links reader's (`plan_kg.sdg.links.plan_links`: each row names a linkable element of the plan
and a real target, once; the SdgLink shapes' rules without the UN KOS graph).
`--shacl-every 1` validates every plan.

    python benchmarks/national_build.py [--cities 1741] [--workers 2] [--shacl-every 25] [--out DIR]
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import datetime as dt
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rdflib import RDF, Graph, URIRef  # noqa: E402

from plan_kg.build import load_ontology  # noqa: E402
from plan_kg.cities.links import CrossCityLinkRecord, link_triples, links_graph_iri  # noqa: E402
from plan_kg.cities.similarity import RELATED_THRESHOLD, CLOSE_THRESHOLD, tfidf_matrix  # noqa: E402
from plan_kg.config import Settings  # noqa: E402
from plan_kg.iris import inferred_graph_iri, plan_graph_iri  # noqa: E402
from plan_kg.named_queries import find_named_query  # noqa: E402
from plan_kg.rdf import plan_triples  # noqa: E402
from plan_kg.reasoning import inferred_triples  # noqa: E402
from plan_kg.sdg.links import plan_links, records_triples  # noqa: E402
from plan_kg.sdg.reference import load_reference  # noqa: E402
from plan_kg.source import read_plan  # noqa: E402
from plan_kg.validation import validate  # noqa: E402

METHOD = "sudachi-words+kanji-bigrams-tfidf-cosine/1.0 (national benchmark: per distinct label)"
_WORKER: dict = {}


@dataclass
class PlanOutput:
    code: str
    plan_id: str
    nquads: bytes
    items: list[tuple[str, str]]  # (item code, label)
    triples: int
    timings: dict[str, float] = field(default_factory=dict)
    shacl: bool | None = None  # None: not run on this plan
    violations: int = 0


def _init_worker() -> None:
    from plan_kg.sdg.reference import SDGO, sdg_graph

    settings = Settings()
    shapes = Graph().parse(settings.shapes_dir / "plan-kg.ttl", format="turtle")
    reference = load_reference(settings.data_dir)
    ontology = load_ontology(settings)
    # Which goal each target belongs to, so that reasoning derives pkg:contributesToGoal.
    for triple in sdg_graph(reference).triples((None, SDGO.isTargetOf, None)):
        ontology.add(triple)
    _WORKER.update(settings=settings, ontology=ontology, shapes=shapes, reference=reference)
    _fewer_collections()


def _fewer_collections() -> None:
    """Run the cyclic GC less often. A plan allocates ~100k short-lived rdflib terms and tuples,
    and the links ~650k records, none in reference cycles: collecting every 700 allocations (the
    default), over a heap of hundreds of thousands of objects, costs a fifth of the time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def _nquads(triples: Iterable[tuple], name: URIRef, literals: dict[object, str]) -> list[str]:
    """N-Quads lines. IRIs are written as they are (they come from plan-kg's checked IRIs; the
    store's lenient loader trusts them); `literals` memoises literals' and blank nodes' forms."""
    g = f"<{name}>"
    lines = []
    for s, p, o in triples:
        if type(o) is URIRef:
            o_n3 = f"<{o}>"
        else:
            o_n3 = literals.get(o) or literals.setdefault(o, o.n3())
        s_n3 = f"<{s}>" if type(s) is URIRef else s.n3()
        lines.append(f"{s_n3} <{p}> {o_n3} {g} .\n")
    return lines


def build_one(task: tuple[Path, bool]) -> PlanOutput:
    folder, run_shacl = task
    settings, ontology = _WORKER["settings"], _WORKER["ontology"]
    base = settings.base_iri
    timings = {}
    started = time.perf_counter()
    plan = read_plan(folder)
    records = plan_links(folder.parent, plan, reference=_WORKER["reference"])
    timings["import"] = time.perf_counter() - started

    started = time.perf_counter()
    code, plan_id = plan.metadata.municipality.code, plan.metadata.plan_id
    asserted = list(dict.fromkeys(plan_triples(plan, base=base)))  # no rdflib Graph: 2x cheaper
    sdg = list(dict.fromkeys(records_triples(records, base=base, municipality_code=code, plan_id=plan_id,
                                             reference=_WORKER["reference"])))
    timings["rdf"] = time.perf_counter() - started

    started = time.perf_counter()
    inferred, _ = inferred_triples(itertools.chain(asserted, sdg), ontology, engine="reasonable")
    timings["reasoning"] = time.perf_counter() - started

    shacl, violations = None, 0
    started = time.perf_counter()
    if run_shacl:
        data = Graph()
        for triple in asserted:
            data.add(triple)
        for triple in inferred:
            if triple[1] == RDF.type:
                data.add(triple)
        report = validate(data, _WORKER["shapes"], ontology=ontology)
        shacl, violations = report.conforms, len(report.violations)
    timings["validation"] = time.perf_counter() - started

    started = time.perf_counter()
    terms: dict[object, str] = {}
    lines = (_nquads(asserted, plan_graph_iri(base, code, plan_id), terms)
             + _nquads(sdg, URIRef(f"{plan_graph_iri(base, code, plan_id)}/sdg-links"), terms)
             + _nquads(inferred, inferred_graph_iri(base, code, plan_id), terms))
    lines.sort()
    timings["dump"] = time.perf_counter() - started
    return PlanOutput(code=code, plan_id=plan_id, nquads="".join(lines).encode("utf-8"),
                      items=[(i.code, i.label) for i in plan.items if i.label], triples=len(lines),
                      timings=timings, shacl=shacl, violations=violations)


def link_lines(records: list[CrossCityLinkRecord]) -> bytes:
    """The cross-city links graph's N-Quads lines for `records`, sorted."""
    base = _WORKER["settings"].base_iri
    lines = _nquads(link_triples(records, base=base), links_graph_iri(base), {})
    lines.sort()
    return "".join(lines).encode("utf-8")


def national_links(outputs: list[PlanOutput], *, per_item: int = 2) -> list[CrossCityLinkRecord]:
    """Cross-city links: each item's `per_item` best items of other municipalities.

    Scores come from the same features and TF-IDF as plan-kg link-cities, computed once per
    distinct label (synthetic plans reuse labels); among items sharing the best labels the
    nearest municipalities in code order are taken. SDG goals are not mixed in here.
    """
    texts = sorted({label for out in outputs for _, label in out.items})
    position = {text: n for n, text in enumerate(texts)}
    matrix = tfidf_matrix(texts)
    similar = (matrix @ matrix.T).tocsr()
    holders: dict[int, list[tuple[str, str]]] = {}
    for out in outputs:
        for code, label in out.items:
            holders.setdefault(position[label], []).append((out.code, f"{out.code}/{out.plan_id}/{code}"))
    for rows in holders.values():
        rows.sort()
    neighbours: dict[int, list[tuple[float, int]]] = {}
    for n in range(len(texts)):  # the 5 best labels per label, ties by position, as numpy slices
        scores = similar.data[similar.indptr[n]:similar.indptr[n + 1]]
        columns = similar.indices[similar.indptr[n]:similar.indptr[n + 1]]
        keep = scores >= RELATED_THRESHOLD
        scores, columns = scores[keep], columns[keep]
        top = numpy.lexsort((columns, -scores))[:5]
        neighbours[n] = [(float(scores[k]), int(columns[k])) for k in top]
    best: dict[tuple[str, str], float] = {}
    for out in outputs:
        for code, label in out.items:
            key = f"{out.code}/{out.plan_id}/{code}"
            found = 0
            for score, j in neighbours[position[label]]:
                rows = holders[j]
                start = bisect.bisect_left(rows, (out.code, ""))
                for k in range(len(rows)):
                    city, other = rows[(start + k) % len(rows)]
                    if city == out.code:
                        continue
                    pair = (key, other) if key < other else (other, key)
                    best[pair] = max(best.get(pair, 0.0), score)
                    found += 1
                    break
                if found >= per_item:
                    break
    date = dt.date(2026, 11, 28)
    return [CrossCityLinkRecord(a=a, b=b, relation="closeMatch" if s >= CLOSE_THRESHOLD else "relatedMatch",
                                score=Decimal(f"{min(s, 1.0):.3f}"), method=METHOD, date=date)
            for (a, b), s in sorted(best.items())]


def _rows(store: object, query: str) -> list[tuple]:
    solutions = store.query(query, use_default_graph_as_union=True)  # type: ignore[attr-defined]
    return [tuple(s[v] for v in solutions.variables) for s in solutions]


def _median_ms(store: object, query: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        list(store.query(query, use_default_graph_as_union=True))  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=1741)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--shacl-every", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the measurements here")
    args = parser.parse_args()
    import pyoxigraph as ox

    from national_generate import generate

    out = args.out or Path(tempfile.mkdtemp(prefix="plan-kg-national-"))
    _fewer_collections()
    result: dict[str, object] = {"cities": args.cities, "workers": args.workers, "shacl_every": args.shacl_every}
    wall = time.perf_counter()
    started = time.perf_counter()
    codes = generate(out / "data", cities=args.cities)
    result["generate_s"] = time.perf_counter() - started

    tasks = [(out / "data" / code, n % args.shacl_every == 0) for n, code in enumerate(codes)]
    outputs: list[PlanOutput] = []
    quads = 0
    store = ox.Store(str(out / "store"))
    load_seconds: dict[str, float] = {}

    def load(path: Path) -> None:
        # Our own dump, written from checked terms: lenient parsing skips re-validating every IRI.
        began = time.perf_counter()
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS, lenient=True)
        load_seconds[path.stem] = time.perf_counter() - began

    plans_dump, links_dump = out / "plans.nq", out / "links.nq"
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_init_worker) as pool:
        # Each plan's lines go to the dump as soon as they arrive (in code order: map keeps it),
        # so the main process never holds the whole corpus.
        with plans_dump.open("wb") as handle:
            for output in tqdm(pool.map(build_one, tasks, chunksize=8), total=len(tasks), desc="plans", unit="plan"):
                handle.write(output.nquads)
                quads += output.triples
                output.nquads = b""
                outputs.append(output)
        result["plans_s"] = time.perf_counter() - started

        # The plans are loaded (pyoxigraph releases the GIL, and its loader leaves part of a
        # core idle) while the links are computed and written; the links are loaded as soon
        # as they are written, alongside the plans if those are still loading.
        loaders = [threading.Thread(target=load, args=(plans_dump,))]
        loaders[0].start()
        started = time.perf_counter()
        links = national_links(outputs)
        result["links"] = len(links)
        slices = [links[start:start + 20_000] for start in range(0, len(links), 20_000)]
        with links_dump.open("wb") as handle:  # written by the workers, in slices, in order
            for chunk in tqdm(pool.map(link_lines, slices), total=len(slices), desc="links", unit="slice"):
                handle.write(chunk)
                quads += chunk.count(b"\n")
        loaders.append(threading.Thread(target=load, args=(links_dump,)))
        loaders[-1].start()
        result["links_s"] = time.perf_counter() - started
    build_end = time.perf_counter()
    for loader in loaders:
        loader.join()
    result["load_plans_s"], result["load_links_s"] = load_seconds["plans"], load_seconds["links"]
    result["load_after_build_s"] = time.perf_counter() - build_end
    result["total_s"] = time.perf_counter() - wall
    result["build_s"] = build_end - wall

    for step in ("import", "rdf", "reasoning", "validation", "dump"):
        result[f"cpu_{step}_s"] = sum(o.timings[step] for o in outputs)
    validated = [o for o in outputs if o.shacl is not None]
    result["shacl_plans"] = len(validated)
    result["shacl_conforming"] = sum(bool(o.shacl) for o in validated)
    result["shacl_s_per_plan"] = result["cpu_validation_s"] / max(1, len(validated))  # type: ignore[operator]
    result["quads"] = quads
    result["store_quads"] = len(store)
    result["items"] = sum(len(o.items) for o in outputs)
    result["dump_bytes"] = plans_dump.stat().st_size + links_dump.stat().st_size

    settings = Settings()
    coverage = find_named_query(settings, "cities-sdg-coverage").text
    rows = _rows(store, coverage)
    result["coverage_rows"] = len(rows)
    result["coverage_ms"] = _median_ms(store, coverage)
    started = time.perf_counter()
    portable = find_named_query(settings, "cities-sdg-coverage-links").text  # every link node: slow
    result["coverage_equals_link_node_count"] = rows == _rows(store, portable)
    result["coverage_from_link_nodes_ms"] = (time.perf_counter() - started) * 1000
    counterparts = find_named_query(settings, "cities-counterparts").text
    rng = random.Random(7)
    sample = [f"{settings.base_iri}id/{link.a}" for link in rng.sample(links, 20)]
    latencies = []
    for iri in sample:
        query = counterparts.replace("<https://w3id.org/plan-kg/id/131202/vision-3/S6>", f"<{iri}>")
        latencies.append(_median_ms(store, query, runs=3))
    result["counterparts_ms_median"] = statistics.median(latencies)
    result["counterparts_ms_max"] = max(latencies)
    counts = find_named_query(settings, "cities-counts-per-level").text
    result["counts_per_level_ms"] = _median_ms(store, counts, runs=3)
    # Again, a few minutes after the load: RocksDB compacts in the background after a bulk load,
    # and the first timing above shares the cores with it.
    result["coverage_ms_later"] = _median_ms(store, coverage)
    result["max_rss_main_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["max_rss_worker_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
