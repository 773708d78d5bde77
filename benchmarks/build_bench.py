"""Foundation pipeline, step by step, on the bundled Nishitokyo plan: read, RDF, reasoning with
owlrl (reference) and reasonable side by side, SHACL validation, writing the dumps.

    python benchmarks/build_bench.py [--repeat 3]

Prints a Markdown table of median seconds per step and the owlrl / reasonable ratio. The
machine is a shared 2-core VM: compare the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from plan_kg.build import _sdg_links, _validate, load_ontology, sdg_structure
from plan_kg.publish import write_dataset
from plan_kg.config import Settings
from plan_kg.rdf import new_graph, plan_graph
from plan_kg.reasoning import infer
from plan_kg.sdg import reference_graphs
from plan_kg.sdg.reference import sdg_graph_iri
from plan_kg.source import read_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.load()
    times: dict[str, list[float]] = {}

    def timed(step: str, fn):
        started = time.perf_counter()
        value = fn()
        times.setdefault(step, []).append(time.perf_counter() - started)
        return value

    for _ in range(args.repeat):
        plan = timed("read sources", lambda: read_plan(settings.data_dir / "nishitokyo"))
        ontology = load_ontology(settings)
        references = reference_graphs(settings)
        background = new_graph()
        background += ontology
        background += sdg_structure(references[sdg_graph_iri(settings)])

        def make_graph():
            graph = plan_graph(plan, base=settings.base_iri)
            graph += _sdg_links(settings, plan)
            return graph

        asserted = timed("RDF graph (with SDG links)", make_graph)
        inferred = timed("reasoning: owlrl", lambda: infer(asserted, background).graph)
        fast = timed("reasoning: reasonable", lambda: infer(asserted, background, engine="reasonable").graph)
        assert set(inferred) == set(fast), "engines disagree"
        report = timed("SHACL validation (pyshacl)", lambda: _validate(settings, [(plan, asserted, inferred)], ontology,
                                                                             [references[sdg_graph_iri(settings)]]))
        assert report.conforms
        with tempfile.TemporaryDirectory() as out:
            (Path(out) / "d").mkdir()
            graphs = [ontology, *references.values(), asserted, inferred]
            timed("write dumps (TriG, N-Quads, N-Triples)", lambda: write_dataset(graphs, Path(out) / "d"))
    print(f"Nishitokyo: {len(asserted)} asserted, {len(inferred)} inferred triples; median of {args.repeat} runs\n")
    print("| step | median s |\n|---|---|")
    for step, values in times.items():
        print(f"| {step} | {statistics.median(values):.3f} |")
    ratio = statistics.median(times["reasoning: owlrl"]) / statistics.median(times["reasoning: reasonable"])
    print(f"\nowlrl / reasonable: {ratio:.0f}x (same inferred triples)")


if __name__ == "__main__":
    main()
