"""Why one-pattern lookups run in the server process on the on-disk store, not on a copy in memory.

The server answers a one-triple-pattern lookup itself (`server/lookup.py`) because each row is one
step of one index scan, so `LIMIT n + 1` bounds the work. That holds when every combination of
bound terms is the prefix of an index, as in Oxigraph's RocksDB store (spo, pos, osp). Oxigraph's
in-memory store instead walks the shortest list of quads sharing one of the pattern's terms and
filters it. This measures both on a store with three hubs, each in N quads:

    <S> ?p ?o (N quads)    ?s <P> ?o (N quads)    ?s ?p <O> (N quads)

and one quad each for <S> <P> ?o, ?s <P> <O> and <S> ?p <O>. Each lookup has one row; the
time it takes should not grow with N.

The server reads a lookup from an in-memory copy only when one of its IRIs has a short list there
(`lookup.MemoryCopy`); the last column is the time of the store it picks (`json_answer`, no engine).
A second table compares both stores on the bundled build (after `plan-kg build`): a label, and all
of one element's statements, for every plan element, as `json_answer` reads them.

Rerun (from the repository root): python benchmarks/lookup_bound.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from plan_kg.config import Settings
from plan_kg.server.jobs import QueryJob
from plan_kg.server.lookup import MemoryCopy, json_answer, read_lookup
from plan_kg.server.store import DUMP_NAME, default_store_dir, load_store
from plan_kg.server.worker import run_job

X = "urn:x:"
LOOKUPS = {
    "<S> <P> ?o": f"SELECT ?o {{ <{X}S> <{X}P> ?o }}",
    "?s <P> <O>": f"SELECT ?s {{ ?s <{X}P> <{X}O> }}",
    "<S> ?p <O>": f"SELECT ?p {{ <{X}S> ?p <{X}O> }}",
}


def quads(n: int) -> list[ox.Quad]:
    node = ox.NamedNode
    hubs = [ox.Quad(node(f"{X}S"), node(f"{X}p{i}"), node(f"{X}o{i}")) for i in range(n)]
    hubs += [ox.Quad(node(f"{X}s{i}"), node(f"{X}P"), node(f"{X}v{i}")) for i in range(n)]
    hubs += [ox.Quad(node(f"{X}t{i}"), node(f"{X}q{i}"), node(f"{X}O")) for i in range(n)]
    return hubs + [ox.Quad(node(f"{X}S"), node(f"{X}P"), node(f"{X}answer1")),
                   ox.Quad(node(f"{X}answer2"), node(f"{X}P"), node(f"{X}O")),
                   ox.Quad(node(f"{X}S"), node(f"{X}answer3"), node(f"{X}O"))]  # fmt: skip


def median_s(call: Callable[[], object], repeats: int) -> float:
    """The median time of `call()` over `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def median_ms(store: ox.Store, text: str, repeats: int) -> float:
    lookup = read_lookup(text)
    assert lookup is not None, f"not a one-pattern lookup: {text}"
    job = QueryJob(lookup.bounded(100), results_format="json")
    answer = run_job(store, job, max_rows=100)
    assert answer.body.count(b'"type":"uri"') == 1, answer.body  # one row
    return median_s(lambda: run_job(store, job, max_rows=100), repeats) * 1000


def picked_ms(copy: MemoryCopy, disk: ox.Store, text: str, repeats: int) -> float:
    """The median time of `json_answer` on the store the server would pick for `text`."""
    lookup = read_lookup(text)
    assert lookup is not None
    store = copy.store if copy.covers(lookup) else disk
    return median_s(lambda: json_answer(store, lookup, max_rows=100), repeats) * 1000


def bundled(repeats: int) -> None:
    """µs per lookup over every plan element of the bundled build, from disk and from a copy in memory."""
    settings = Settings.load()
    dump = settings.dist_dir / DUMP_NAME
    if not dump.is_file():
        print(f"\n(no {dump}: run `plan-kg build` for the bundled build's table)")
        return
    disk = load_store(dump, default_store_dir(settings)).reader
    copy = MemoryCopy.of(disk)
    label = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
    elements = sorted({q.subject.value for q in disk.quads_for_pattern(None, label, None, ox.DefaultGraph())
                       if isinstance(q.subject, ox.NamedNode) and "/id/" in q.subject.value})
    forms = {"<iri> skos:prefLabel ?label": "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                                            "SELECT ?label {{ <{}> skos:prefLabel ?label }}",
             "<iri> ?p ?o": "SELECT * {{ <{}> ?p ?o }}"}
    print(f"\nBundled build ({len(disk):,} quads), {len(elements)} elements, median of {repeats} rounds (µs per lookup):\n")
    print("| lookup | on disk | in memory | memory / disk | read from memory |")
    print("|---|---|---|---|---|")
    for name, form in forms.items():
        lookups = [read_lookup(form.format(iri)) for iri in elements]
        def every_lookup(store: ox.Store) -> None:
            for lookup in lookups:
                json_answer(store, lookup, max_rows=10_000)  # type: ignore[arg-type]

        per_store = [median_s(lambda: every_lookup(store), repeats) / len(lookups) * 1e6
                     for store in (disk, copy.store)]
        covered = sum(copy.covers(lookup) for lookup in lookups)  # type: ignore[arg-type]
        print(f"| `{name}` | {per_store[0]:.1f} | {per_store[1]:.1f} | {per_store[1] / per_store[0]:.2f} "
              f"| {covered} of {len(lookups)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20, help="rounds over every element of the bundled build")
    args = parser.parse_args()
    print("| quads per hub (N) | lookup | on disk, read-only (ms) | in memory (ms) | memory / disk | as served (ms) |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        data = quads(n)
        memory = ox.Store()
        memory.bulk_extend(data)
        with tempfile.TemporaryDirectory(prefix="plan-kg-lookup-") as tmp:
            writer = ox.Store(str(Path(tmp) / "store"))
            writer.bulk_extend(data)
            writer.flush()
            del writer
            disk = ox.Store.read_only(str(Path(tmp) / "store"))
            copy = MemoryCopy.of(disk)
            for name, text in LOOKUPS.items():
                on_disk, in_memory = (median_ms(store, text, args.repeats) for store in (disk, memory))
                served = picked_ms(copy, disk, text, args.repeats)
                print(f"| {n:,} | `{name}` | {on_disk:.3f} | {in_memory:.3f} | {in_memory / on_disk:.1f} | {served:.3f} |",
                      flush=True)
            del disk, copy
    bundled(args.rounds)


if __name__ == "__main__":
    main()
