"""How far any server on plan-kg's stack can get toward two of issue 3's speed targets: one run.

Issue 3's target: trivial-query throughput at least half of the Oxigraph server's. `endpoint_bench.py`
measures plan-kg at 0.2 of it with distinct texts at concurrency 8. This run serves, on the same store
and the same requests (distinct lookups, as `endpoint_bench.py` sends them):

- plan-kg, as `plan-kg serve` runs it;
- `lean_lookup_server.py` in one process, then in two processes on one port: a path that does nothing but
  read the lookup, answer it from memory and send it (none of what plan-kg owes a public client);
- uvicorn sending one fixed answer (`http_floor.py`), the stack's own cost;
- the Oxigraph server.

Each server's answers are first checked to be plan-kg's bytes. The servers take turns, round by round;
the median requests per second of each is printed with its ratio to the Oxigraph server's.

The other target: `queries/hierarchy.rq` at least 100x rdflib-endpoint's throughput. With a text no cache
has seen, no server on pyoxigraph can answer faster than pyoxigraph evaluates the query. So this run also
times that, in this process on the in-memory copy plan-kg's workers read, every text
another, and rdflib-endpoint, plan-kg and the Oxigraph server over HTTP: rdflib-endpoint's time over the
engine's is the most any of them could reach.

    python benchmarks/lookup_ceiling.py [--rounds 3] [--seconds 3]

Rerun from the repository root after `plan-kg build` (needs `pip install -e '.[bench]'` and Debian's wrk).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pyoxigraph

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endpoint_bench import (  # noqa: E402
    ACCEPT,
    RDFLIB_TIMEOUT_S,
    LOOKUP,
    LOOKUP_IRI,
    PREFIXES,
    ROOT,
    BenchError,
    distinct,
    free_ports,
    latency,
    named_queries,
    plan_kg_server,
    sequential,
    server,
    wrk,
)

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; servers take turns within each, medians are kept")
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration per cell")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--dump", type=Path, default=ROOT / "dist" / "plan-kg.nq", help="the build to serve")
    args = parser.parse_args()
    if not args.dump.is_file():
        raise SystemExit(f"{args.dump}: no such file; run `plan-kg build` first")
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="plan-kg-ceiling-") as tmp_name:
        tmp = Path(tmp_name)
        dump = tmp / "dist" / "plan-kg.nq"
        dump.parent.mkdir(parents=True)
        dump.write_bytes(args.dump.read_bytes())
        sys.path.insert(0, str(ROOT / "src"))
        from plan_kg.server.store import load_store

        store = load_store(dump, tmp / "store")
        reader = pyoxigraph.Store.read_only(str(store.path))
        elements = sorted(str(row["e"].value) for row in reader.query(  # type: ignore[index,union-attr]
            "SELECT DISTINCT ?e { ?e <https://w3id.org/plan-kg/ontology#inPlan> ?p ;"
            " <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }"))
        union = tmp / "union.nt"  # rdflib-endpoint serves the default graph (the union) as one file
        pyoxigraph.serialize(
            (pyoxigraph.Triple(q.subject, q.predicate, q.object)
             for q in reader.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph())),
            str(union), format=pyoxigraph.RdfFormat.N_TRIPLES)
        floor_body = tmp / "floor.srj"
        floor_body.write_bytes(reader.query(PREFIXES + LOOKUP % LOOKUP_IRI).serialize(  # type: ignore[union-attr]
            format=pyoxigraph.QueryResultsFormat.JSON))
        del reader
        lookups = [PREFIXES + LOOKUP % iri for iri in elements]

        ports = free_ports()
        servers: dict[str, tuple[list[str], str, dict[str, str] | None]] = {}
        port = next(ports)
        command, env = plan_kg_server(ROOT / "src", tmp, port)
        servers["plan-kg"] = (command, f"http://127.0.0.1:{port}/sparql", env)
        for processes in (1, 2):
            port = next(ports)
            servers[f"lean path, {processes} process{'es' if processes > 1 else ''}"] = (
                [sys.executable, str(HERE / "lean_lookup_server.py"), str(store.path), str(port), str(processes)],
                f"http://127.0.0.1:{port}/sparql", None)
        port = next(ports)
        servers["HTTP floor"] = ([sys.executable, str(HERE / "http_floor.py"), str(floor_body), ACCEPT, str(port)],
                                 f"http://127.0.0.1:{port}/sparql", None)
        port = next(ports)
        servers["oxigraph"] = (["oxigraph", "serve-read-only", "--location", str(store.path), "--bind",
                                f"127.0.0.1:{port}"], f"http://127.0.0.1:{port}/query", None)
        print(f"{len(elements)} plan elements; servers: {', '.join(servers)}", flush=True)

        with ExitStack() as stack, httpx.Client(timeout=30) as client:
            urls = {name: stack.enter_context(server(cmd, url, env=env, name=name))
                    for name, (cmd, url, env) in servers.items()}
            expected = {query: client.get(urls["plan-kg"], params={"query": query}, headers={"Accept": ACCEPT}).content
                        for query in lookups[:: max(1, len(lookups) // 20)]}
            for name, url in urls.items():
                if name == "HTTP floor":  # the lookup's answer to every request, by design
                    continue
                for query, body in expected.items():
                    got = client.get(url, params={"query": query + "\n# check"}, headers={"Accept": ACCEPT}).content
                    if got != body:
                        raise BenchError(f"{name} answered another body than plan-kg's to {query!r}: {got[:200]!r}")
            rates: dict[str, list[float]] = {name: [] for name in urls}
            for round_ in range(args.rounds):
                for name, url in urls.items():
                    run = wrk(url, lookups, connections=args.connections, seconds=args.seconds, unique=True, scratch=tmp)
                    if run.errors:
                        raise BenchError(f"{name}: {run.errors} failed requests in round {round_ + 1}")
                    rates[name].append(run.rps)
                    print(f"round {round_ + 1}: {name}: {run.rps:.0f} requests/s", flush=True)
            hierarchy = hierarchy_times(stack, client, urls, union, store.path, tmp, ports=ports, seconds=args.seconds)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    oxigraph = statistics.median(rates["oxigraph"])
    print(f"\nDistinct lookups at {args.connections} connections, median of {args.rounds} rounds of {args.seconds} s "
          f"(load average before {' '.join(load_before)}, after {' '.join(load_after)}):\n")
    print("| server | requests/s | vs Oxigraph (target for plan-kg: >= 0.5) |")
    print("|---|---|---|")
    for name, runs in rates.items():
        rate = statistics.median(runs)
        print(f"| {name} | {rate:.0f} | {rate / oxigraph:.2f} |")
    print(f"\n(the rounds: {', '.join(f'{name} ' + '/'.join(f'{r:.0f}' for r in runs) for name, runs in rates.items())})")
    rdflib_ms = hierarchy["rdflib-endpoint"]
    print("\n`queries/hierarchy.rq`, every text another (ms per answer at one connection):\n")
    print("| what | ms | rdflib-endpoint / it (target for plan-kg: >= 100) |")
    print("|---|---|---|")
    for name, ms in hierarchy.items():
        print(f"| {name} | {ms:.2f} | {rdflib_ms / ms:.1f} |")


def hierarchy_times(stack: ExitStack, client: httpx.Client, urls: dict[str, str], union: Path, store_dir: Path,
                    tmp: Path, *, ports: Iterator[int], seconds: int) -> dict[str, float]:
    """Milliseconds per answer to the hierarchy query with a distinct text: pyoxigraph alone, then over HTTP."""
    from plan_kg.server.jobs import QueryJob
    from plan_kg.server.lookup import MemoryCopy

    text = named_queries(["hierarchy"])["hierarchy"]
    copy = MemoryCopy.of(pyoxigraph.Store.read_only(str(store_dir))).stores.for_job(QueryJob(text))  # the workers'
    runs = []
    for _ in range(300):
        query = distinct(text)
        began = time.perf_counter()
        copy.query(query).serialize(format=pyoxigraph.QueryResultsFormat.JSON)  # type: ignore[union-attr]
        runs.append((time.perf_counter() - began) * 1000)
    times = {"pyoxigraph alone, in process (the engine: no HTTP, no worker)": statistics.median(runs)}
    for name in ("plan-kg", "oxigraph"):
        times[f"{name}, over HTTP"] = latency(client, urls[name], text, repeated=False, seconds=seconds,
                                              scratch=tmp).p50_ms
    port = next(ports)
    url = stack.enter_context(server(["rdflib-endpoint", "serve", str(union), "--host", "127.0.0.1", "--port",
                                      str(port)], f"http://127.0.0.1:{port}/", name="rdflib-endpoint"))
    times["rdflib-endpoint"] = sequential(client, url, text, budget_s=RDFLIB_TIMEOUT_S, most=5).p50_ms
    return times


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        raise SystemExit(f"lookup_ceiling: {exc}") from None
