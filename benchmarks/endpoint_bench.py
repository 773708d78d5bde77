"""The plan-kg endpoint against the Oxigraph server and rdflib-endpoint, same data, same queries.

Rerun (from the repository root, after `plan-kg build`; needs `pip install oxigraph
rdflib-endpoint` and Debian's `wrk`):

    python benchmarks/endpoint_bench.py --cities 20 --seconds 3 --rounds 3

All servers run on loopback at once and take turns, query by query and round by round
(medians are kept), so background load falls on each alike; wrk shares the cores with them. The Oxigraph server reads the very store this
endpoint built (`serve-read-only`), whose default graph already holds the union of the named
graphs; rdflib-endpoint serves the same union as one N-Triples file. Before timing, every
server's answer to every query is checked to have the same number of rows or triples.
For each query: median latency at concurrency 1 (wrk's p50), throughput at concurrency 1 and 8.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endpoint_corpus import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PREFIXES = (
    "PREFIX pkg: <https://w3id.org/plan-kg/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "PREFIX dct: <http://purl.org/dc/terms/> "
)
PLAN = "<https://w3id.org/plan-kg/id/132292/basic-plan-3>"
QUERIES = {
    "lookup (trivial)": "SELECT ?label WHERE { <https://w3id.org/plan-kg/id/132292/basic-plan-3/1> skos:prefLabel ?label }",
    "hierarchy (under a goal, by codes)": (
        f"SELECT DISTINCT ?code ?level ?label ?item WHERE {{ ?goal a pkg:BasicGoal ; pkg:code \"1\" ; pkg:inPlan {PLAN} . "
        "?item pkg:partOf ?goal ; pkg:code ?code ; pkg:levelName ?level ; pkg:sequence ?sequence . "
        "OPTIONAL { ?item skos:prefLabel ?label } } ORDER BY ?sequence ?code"
    ),
    "isPartOf+ path (goal by codes)": (
        f"SELECT DISTINCT ?item WHERE {{ ?goal a pkg:BasicGoal ; pkg:code \"2\" ; pkg:inPlan {PLAN} . ?item dct:isPartOf+ ?goal }}"
    ),
    "CONTAINS text search, all cities": (
        "SELECT DISTINCT ?item ?label WHERE { ?item pkg:code ?code ; skos:prefLabel ?label . "
        "FILTER(CONTAINS(STR(?label), \"子ども\")) }"
    ),
    "GROUP BY level per plan": "SELECT ?plan ?level (COUNT(?i) AS ?n) WHERE { ?i pkg:inPlan ?plan ; pkg:levelName ?level } GROUP BY ?plan ?level",
    "neighbourhood CONSTRUCT": (
        "CONSTRUCT { ?s ?p ?o } WHERE { BIND(<https://w3id.org/plan-kg/id/132292/basic-plan-3/1-1> AS ?s) ?s ?p ?o }"
    ),
}
# The project's own whole-plan hierarchy query (nested OPTIONALs), when the checkout has it.
_HIERARCHY_RQ = ROOT / "queries" / "hierarchy.rq"
if _HIERARCHY_RQ.is_file():
    QUERIES["queries/hierarchy.rq (whole plan, nested OPTIONAL)"] = _HIERARCHY_RQ.read_text(encoding="utf-8")
ACCEPT_RESULTS = "application/sparql-results+json"
ACCEPT_GRAPH = "application/n-triples"


@dataclass(frozen=True)
class Run:
    p50_ms: float
    rps: float
    errors: int


def accept_for(query: str) -> str:
    return ACCEPT_GRAPH if "CONSTRUCT" in query else ACCEPT_RESULTS


def wrk(url: str, query: str, *, connections: int, seconds: float) -> Run:
    """wrk against `url?query=…` with `connections` open connections."""
    full = f"{url}?{urlencode({'query': PREFIXES + query})}"
    out = subprocess.run(
        ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "120s", "--latency",
         "-H", f"Accept: {accept_for(query)}", full],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors: .*?timeout (\d+)", out))
    return Run(p50_ms=float(p50.group(1)) * scale, rps=rps, errors=errors)


def answer_size(url: str, query: str) -> int:
    response = httpx.get(url, params={"query": PREFIXES + query}, headers={"Accept": accept_for(query)}, timeout=600)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    if "CONSTRUCT" in query:
        return len(list(pyoxigraph.parse(response.content, format=pyoxigraph.RdfFormat.N_TRIPLES)))
    return len(json.loads(response.content)["results"]["bindings"])


@contextmanager
def server(command: list[str], url: str, *, startup_s: float = 600) -> Iterator[str]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                if httpx.get(url, params={"query": "ASK {}"}, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def sequential(url: str, query: str, *, times: int) -> Run:
    """For queries too slow for wrk's window: the median of `times` requests one after another."""
    latencies = []
    for _ in range(times):
        start = time.perf_counter()
        answer_size(url, query)
        latencies.append((time.perf_counter() - start) * 1000)
    p50 = sorted(latencies)[len(latencies) // 2]
    return Run(p50_ms=p50, rps=1000 / p50, errors=0)


def measure(name: str, url: str, label: str, seconds: int, sizes: dict[str, int]) -> tuple[Run, Run]:
    """One round of `label` on one server: (concurrency 1, concurrency 8)."""
    query = QUERIES[label]
    start = time.perf_counter()
    size = answer_size(url, query)
    first_s = time.perf_counter() - start
    if sizes.setdefault(label, size) != size:
        raise RuntimeError(f"{name} answers {label!r} with {size} rows, others with {sizes[label]}")
    if first_s > 1:  # a few requests would not fit in wrk's window; c8 is not measured
        one = eight = sequential(url, query, times=3)
    else:
        one = wrk(url, query, connections=1, seconds=seconds)
        eight = wrk(url, query, connections=8, seconds=seconds)
    print(f"  {name:16} {label[:36]:36} rows={size:<5} p50={one.p50_ms:9.2f} ms  "
          f"c1={one.rps:9.1f}/s  c8={eight.rps:9.1f}/s  errors={one.errors + eight.errors}", flush=True)  # fmt: skip
    return one, eight


def median_run(runs: list[Run]) -> Run:
    middle = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    return Run(middle([r.p50_ms for r in runs]), middle([r.rps for r in runs]), sum(r.errors for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=20, help="municipalities in the synthetic corpus")
    parser.add_argument("--seconds", type=int, default=3, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; servers alternate within each, medians are kept")
    parser.add_argument("--dump", type=Path, default=ROOT / "dist" / "plan-kg.nq", help="the bundled build output")
    parser.add_argument("--skip-rdflib", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="plan-kg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        quads = write_corpus(args.dump, tmp / "dist" / "plan-kg.nq", cities=args.cities)
        from plan_kg.server.store import load_store

        store = load_store(tmp / "dist" / "plan-kg.nq", tmp / "store")
        union = tmp / "union.nt"
        reader = pyoxigraph.Store.read_only(str(store.path))
        pyoxigraph.serialize(
            (pyoxigraph.Triple(q.subject, q.predicate, q.object) for q in reader.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph())),
            str(union), format=pyoxigraph.RdfFormat.N_TRIPLES,
        )  # fmt: skip
        del reader
        print(f"corpus: {args.cities} cities, {quads} quads, {sum(1 for _ in union.open())} triples in the union", flush=True)

        # All servers stay up (idle ones cost nothing) and take turns within each round, so
        # a drift in the machine's background load falls on every server alike.
        ours = [
            sys.executable, "-c",
            "from pathlib import Path; from plan_kg.config import Settings; from plan_kg.server import run_serve; "
            f"run_serve(Settings(root=Path({str(tmp)!r}), dist_dir=Path({str(tmp / 'dist')!r}), max_concurrent_per_client=16), "
            f"host='127.0.0.1', port=18801, store_dir=Path({str(tmp / 'store')!r}))",
        ]  # fmt: skip
        servers = {
            "plan-kg": (ours, "http://127.0.0.1:18801/sparql"),
            "oxigraph": (["oxigraph", "serve-read-only", "--location", str(store.path), "--bind", "127.0.0.1:18802"], "http://127.0.0.1:18802/query"),
            "rdflib": (["rdflib-endpoint", "serve", str(union), "--host", "127.0.0.1", "--port", "18803"], "http://127.0.0.1:18803/"),
        }  # fmt: skip
        if args.skip_rdflib:
            del servers["rdflib"]
        sizes: dict[str, int] = {}
        rounds: dict[str, dict[str, list[tuple[Run, Run]]]] = {name: {label: [] for label in QUERIES} for name in servers}
        with ExitStack() as stack:
            urls = {name: stack.enter_context(server(command, url)) for name, (command, url) in servers.items()}
            for label in QUERIES:
                for round_ in range(args.rounds):
                    for name, url in urls.items():
                        if name == "rdflib" and round_ > 0:
                            continue  # one round of the slow one is enough for a 100x question
                        rounds[name][label].append(measure(name, url, label, args.seconds, sizes))
        table = {
            name: {label: (median_run([r[0] for r in runs]), median_run([r[1] for r in runs])) for label, runs in per_query.items()}
            for name, per_query in rounds.items()
        }  # fmt: skip
        print()
        print(markdown(table, args))


def markdown(table: dict[str, dict[str, tuple[Run, Run]]], args: argparse.Namespace) -> str:
    lines = [
        f"Corpus: {args.cities} municipalities; wrk {args.seconds:g} s per cell; median of {args.rounds} alternating rounds "
        "(rdflib-endpoint: one round).",
        "",
        "| query | plan-kg p50 ms | Oxigraph p50 ms | latency ratio (≤1.5) | plan-kg req/s c1 / c8 | Oxigraph req/s c1 / c8 | throughput ratio c1 / c8 | rdflib-endpoint req/s c1 | plan-kg / rdflib c1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for label in QUERIES:
        ours, oxi = table["plan-kg"][label], table["oxigraph"][label]
        rdf = table.get("rdflib", {}).get(label)
        lines.append(
            f"| {label} | {ours[0].p50_ms:.2f} | {oxi[0].p50_ms:.2f} | {ours[0].p50_ms / oxi[0].p50_ms:.2f} | "
            f"{ours[0].rps:.0f} / {ours[1].rps:.0f} | {oxi[0].rps:.0f} / {oxi[1].rps:.0f} | "
            f"{ours[0].rps / oxi[0].rps:.2f} / {ours[1].rps / oxi[1].rps:.2f} | "
            + (f"{rdf[0].rps:.2f} | {ours[0].rps / rdf[0].rps:.1f}x |" if rdf else "- | - |")
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
