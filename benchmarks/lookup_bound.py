"""Why one-pattern lookups run in the server process on the on-disk store, not on a copy in memory.

The server answers a one-triple-pattern lookup itself (`server/lookup.py`) because each row is one
step of one index scan, so `LIMIT n + 1` bounds the work. That holds when every combination of
bound terms is the prefix of an index, as in Oxigraph's RocksDB store (spo, pos, osp). Oxigraph's
in-memory store instead walks the shortest list of quads sharing one of the pattern's terms and
filters it. This measures both on a store with three hubs, each in N quads:

    <S> ?p ?o (N quads)    ?s <P> ?o (N quads)    ?s ?p <O> (N quads)

and one quad each for <S> <P> ?o, ?s <P> <O> and <S> ?p <O>. Each lookup has one row; the
time it takes should not grow with N.

Rerun (from the repository root): python benchmarks/lookup_bound.py --sizes 1000 10000 100000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from plan_kg.server.lookup import read_lookup
from plan_kg.server.worker import QueryJob, run_job

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


def median_ms(store: ox.Store, text: str, repeats: int) -> float:
    lookup = read_lookup(text)
    assert lookup is not None, f"not a one-pattern lookup: {text}"
    job = QueryJob(lookup.bounded(100), results_format="json")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = run_job(store, job, max_rows=100)
        times.append(time.perf_counter() - started)
    assert answer.body.count(b'"type":"uri"') == 1, answer.body  # one row
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print("| quads per hub (N) | lookup | on disk, read-only (ms) | in memory (ms) | memory / disk |")
    print("|---|---|---|---|---|")
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
            for name, text in LOOKUPS.items():
                on_disk, in_memory = (median_ms(store, text, args.repeats) for store in (disk, memory))
                print(f"| {n:,} | `{name}` | {on_disk:.3f} | {in_memory:.3f} | {in_memory / on_disk:.1f} |", flush=True)
            del disk


if __name__ == "__main__":
    main()
