"""The plan-kg endpoint against the Oxigraph server and rdflib-endpoint: same data, same queries, one run.

Rerun from the repository root, after `plan-kg build` (needs `pip install -e '.[bench]'` and
Debian's `wrk`); each invocation takes a few minutes:

    python benchmarks/endpoint_bench.py --cities 0        # the bundled build, dist/plan-kg.nq, as is
    python benchmarks/endpoint_bench.py --cities 20       # 20 synthetic municipalities
    python benchmarks/endpoint_bench.py --cities 100 --queries hierarchy   # rdflib-endpoint at scale

`--baseline DIR` also serves another checkout's `src/` (e.g. `git worktree add DIR HEAD~1`) as
"plan-kg before", for a before/after comparison within the same run.

Every server runs on loopback at once, each on a port that was free (none is fixed: another run, or
anything else, may hold one; a port found taken is an error, never timed in our server's place), and they take turns, query by query and round by round
(medians are kept), so background load falls on each alike; wrk shares the cores with them.
The Oxigraph server reads the very store plan-kg built (`serve-read-only`), whose default graph
holds the union of the named graphs; rdflib-endpoint serves that union as one N-Triples file.
Before timing, every server's answer to every query is checked to have the same number of rows.

Measured:
- every named query in `queries/`: median latency (wrk's p50 at concurrency 1). "distinct" sends a
  different query text on every request (a numbered comment is appended), so no cache can answer
  it; "repeated" sends the very same text, which plan-kg's response cache may answer. (A distinct
  text of a named query is still run every time: plan-kg runs it in its own process once a worker
  has answered it quickly, `src/plan_kg/server/named.py`, instead of handing it to a worker.)
- the trivial lookup (one IRI's label): throughput at concurrency 1 and 8, repeated (one IRI) and
  distinct (the IRI varies over every plan element of the corpus, plus the numbered comment).
- `queries/hierarchy.rq` (distinct): throughput at concurrency 1 and 8, and against rdflib-endpoint's at each
  (its c8 for at least 8 s, one round).
- the "HTTP floor" (`http_floor.py`): uvicorn as plan-kg runs it, sending the lookup's answer to every
  request without doing anything else; its lookup throughput is the ceiling for any server on that stack.
Queries that take more than a second are timed by sequential requests instead of wrk.
Failed requests (an answer other than 2xx or 3xx, a socket error) are counted per cell and listed
under the tables: wrk counts them in its rate and latency, so such a cell does not measure answers alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pyoxigraph

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endpoint_corpus import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PREFIXES = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
LOOKUP_IRI = "https://w3id.org/plan-kg/id/132292/basic-plan-3/1"
LOOKUP = "SELECT ?label WHERE { <%s> skos:prefLabel ?label }"
ACCEPT = "application/sparql-results+json"
WRK_SCRIPT = Path(__file__).resolve().parent / "endpoint_paths.lua"
SLOW_S = 1.0  # a first answer slower than this is timed by sequential requests, not wrk
RDFLIB_TIMEOUT_S = 300.0
FLOOR = "HTTP floor"


class BenchError(RuntimeError):
    """A reason the benchmark cannot go on, said to its user in one message (no traceback)."""


@dataclass(frozen=True)
class Run:
    p50_ms: float
    rps: float
    errors: int


_NUMBERS = itertools.count(1)  # never reused within a run, so a "distinct" text is never seen twice


def distinct(query: str) -> str:
    """`query` with a numbered comment: another text, the same answer."""
    return f"{query}\n# bench {next(_NUMBERS)}"


def wrk(url: str, queries: list[str], *, connections: int, seconds: float, unique: bool, scratch: Path) -> Run:
    """wrk cycling through `queries` (each request numbered when `unique`) with `connections` connections."""
    parts = urlsplit(url)
    paths = scratch / "paths.txt"
    paths.write_text("".join(f"{parts.path}?{urlencode({'query': q})}\n" for q in queries), encoding="utf-8")
    done = subprocess.run(
        ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "120s", "--latency",
         "-H", f"Accept: {ACCEPT}", "-s", str(WRK_SCRIPT), f"{parts.scheme}://{parts.netloc}",
         "--", str(paths), "unique" if unique else "repeat", quote(f"\n# bench wrk{next(_NUMBERS)}-")],
        capture_output=True, text=True,
    )  # fmt: skip
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    if done.returncode != 0 or rate is None or p50 is None:
        raise BenchError(f"wrk against {url} failed (exit code {done.returncode}): {(done.stderr or out).strip()[-500:]}")
    rps = float(rate.group(1))
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return Run(p50_ms=float(p50.group(1)) * scale, rps=rps, errors=wrk_errors(out))


def wrk_errors(out: str) -> int:
    """The failed requests in wrk's report: answers other than 2xx or 3xx, and socket errors of every kind."""
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    for found in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(n) for n in found)
    return errors


def rows(client: httpx.Client, url: str, query: str) -> int:
    response = client.get(url, params={"query": query}, headers={"Accept": ACCEPT})
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    return len(json.loads(response.content)["results"]["bindings"])


def sequential(client: httpx.Client, url: str, query: str, *, budget_s: float, most: int = 5) -> Run:
    """The median of requests one after another (each text distinct) until `budget_s` or `most` are done."""
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()
    while len(latencies) + errors < most and (not latencies and not errors or time.monotonic() - start < budget_s):
        began = time.perf_counter()
        try:
            rows(client, url, distinct(query))
        except (RuntimeError, httpx.HTTPError) as exc:  # counted and reported, never timed as an answer
            errors += 1
            print(f"  {url}: {str(exc)[:200]}", flush=True)
            continue
        latencies.append((time.perf_counter() - began) * 1000)
    if not latencies:
        return Run(p50_ms=math.nan, rps=math.nan, errors=errors)
    p50 = statistics.median(latencies)
    return Run(p50_ms=p50, rps=1000 / p50, errors=errors)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_ports() -> Iterator[int]:
    """Free ports, each another."""
    given: set[int] = set()
    while True:
        port = free_port()
        if port not in given:
            given.add(port)
            yield port


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def server(
    command: list[str], url: str, *, env: dict[str, str] | None = None, startup_s: float = 900, name: str | None = None
) -> Iterator[str]:
    """Serve with `command` until the block ends; `url` must answer `ASK {}` with 200 first."""
    name = name or command[0]
    # Whatever already listens on the port would answer the start-up check, and be timed in our server's place.
    port = urlsplit(url).port
    if port is not None and port_in_use(port):
        raise BenchError(f"port {port} is in use: something else listens on it; {name} was not started")
    with tempfile.TemporaryFile() as stderr:  # said when the server does not start
        try:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        except FileNotFoundError:
            raise BenchError(f"{command[0]} is not installed; {name} needs it (pip install -e '.[bench]')") from None
        try:
            deadline = time.monotonic() + startup_s
            while True:
                try:
                    answered = httpx.get(url, params={"query": "ASK {}"}, timeout=5).status_code == 200
                except httpx.HTTPError:
                    answered = False
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr.seek(0)
                    said = stderr.read().decode("utf-8", "replace").strip()[-1500:]
                    how = f"exited with code {process.returncode}" if process.poll() is not None else f"did not answer in {startup_s:g} s"
                    raise BenchError(f"{name} did not start at {url}: it {how}; it said:\n{said or '(nothing)'}")
                if answered:
                    break
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def plan_kg_server(src: Path, tmp: Path, port: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment serving plan-kg from the checkout whose sources are `src`."""
    if not (src / "plan_kg").is_dir():  # PYTHONPATH would name nothing, and the installed plan-kg be served instead
        raise BenchError(f"{src} holds no plan_kg package: name a checkout, whose src/ has plan-kg's sources")
    code = (
        "import plan_kg, sys; from pathlib import Path; "
        f"Path(plan_kg.__file__).resolve().is_relative_to({str(src.resolve())!r}) or sys.exit("
        f"'plan_kg was imported from ' + plan_kg.__file__ + ', not from {src}'); "
        "from plan_kg.config import Settings; from plan_kg.server import run_serve; "
        f"run_serve(Settings(root=Path({str(tmp)!r}), dist_dir=Path({str(tmp / 'dist')!r}), max_concurrent_per_client=16), "
        f"host='127.0.0.1', port={port}, store_dir=Path({str(tmp / 'store')!r}))"
    )
    return [sys.executable, "-c", code], {**os.environ, "PYTHONPATH": str(src)}


def named_queries(wanted: list[str] | None) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "src"))
    from plan_kg.config import Settings
    from plan_kg.named_queries import load_named_queries

    found = {q.name: q.text for q in load_named_queries(Settings(queries_dir=ROOT / "queries"))}
    if not wanted:
        return found
    missing = [name for name in wanted if name not in found]
    if missing:
        raise SystemExit(f"no named query {', '.join(missing)}; known: {', '.join(found)}")
    return {name: found[name] for name in wanted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=20, help="municipalities in the synthetic corpus; 0: the bundled dump as is")
    parser.add_argument("--seconds", type=int, default=1, help="wrk duration per latency cell")
    parser.add_argument("--throughput-seconds", type=int, default=3, help="wrk duration per throughput cell")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; servers alternate within each, medians are kept")
    parser.add_argument("--queries", nargs="*", help="named queries to time (default: all of queries/)")
    parser.add_argument("--dump", type=Path, default=ROOT / "dist" / "plan-kg.nq", help="the bundled build output")
    parser.add_argument("--baseline", type=Path, help="another checkout, served as 'plan-kg before'")
    parser.add_argument("--skip-rdflib", action="store_true")
    parser.add_argument("--skip-floor", action="store_true", help="do not serve the HTTP floor (benchmarks/http_floor.py)")
    parser.add_argument("--rdflib-queries", nargs="*", help="named queries rdflib-endpoint answers (default: all; it takes minutes on a large corpus)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    check_ready(args.dump)
    if args.baseline:
        plan_kg_server(args.baseline.resolve() / "src", Path(), 0)  # said now, not after the corpus is loaded
    queries = named_queries(args.queries)
    load_before = Path("/proc/loadavg").read_text().split()[:3]

    with tempfile.TemporaryDirectory(prefix="plan-kg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        dump = tmp / "dist" / "plan-kg.nq"
        dump.parent.mkdir(parents=True)
        if args.cities:
            quads = write_corpus(args.dump, dump, cities=args.cities)
        else:
            dump.write_bytes(args.dump.read_bytes())
            quads = sum(1 for _ in dump.open(encoding="utf-8"))
        sys.path.insert(0, str(ROOT / "src"))
        from plan_kg.server.store import load_store

        store = load_store(dump, tmp / "store")
        union = tmp / "union.nt"
        reader = pyoxigraph.Store.read_only(str(store.path))
        pyoxigraph.serialize(
            (pyoxigraph.Triple(q.subject, q.predicate, q.object) for q in reader.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph())),
            str(union), format=pyoxigraph.RdfFormat.N_TRIPLES,
        )  # fmt: skip
        elements = sorted(
            {str(s["e"].value) for s in reader.query(
                "SELECT DISTINCT ?e { ?e <https://w3id.org/plan-kg/ontology#inPlan> ?p ; <http://www.w3.org/2004/02/skos/core#prefLabel> ?l }")}
        )  # fmt: skip
        floor_body = tmp / "floor.srj"  # the lookup's answer, for the HTTP floor to send to every request
        floor_body.write_bytes(reader.query(PREFIXES + LOOKUP % LOOKUP_IRI).serialize(format=pyoxigraph.QueryResultsFormat.JSON))
        del reader
        corpus = f"{args.cities} municipalities" if args.cities else "the bundled build"
        print(f"corpus: {corpus}, {quads} quads, {sum(1 for _ in union.open())} triples in the union, "
              f"{len(elements)} plan elements", flush=True)  # fmt: skip

        servers: dict[str, tuple[list[str], str, dict[str, str] | None]] = {}
        ports = free_ports()  # never fixed ports: another run, or anything else, may hold one
        port = next(ports)
        command, env = plan_kg_server(ROOT / "src", tmp, port)
        servers["plan-kg"] = (command, f"http://127.0.0.1:{port}/sparql", env)
        if args.baseline:
            port = next(ports)
            command, env = plan_kg_server(args.baseline.resolve() / "src", tmp, port)
            servers["plan-kg before"] = (command, f"http://127.0.0.1:{port}/sparql", env)
        port = next(ports)
        servers["oxigraph"] = (["oxigraph", "serve-read-only", "--location", str(store.path), "--bind", f"127.0.0.1:{port}"], f"http://127.0.0.1:{port}/query", None)  # fmt: skip
        if not args.skip_floor:
            port = next(ports)
            servers[FLOOR] = ([sys.executable, str(Path(__file__).resolve().parent / "http_floor.py"), str(floor_body), ACCEPT, str(port)], f"http://127.0.0.1:{port}/sparql", None)  # fmt: skip
        if not args.skip_rdflib:
            port = next(ports)
            servers["rdflib"] = (["rdflib-endpoint", "serve", str(union), "--host", "127.0.0.1", "--port", str(port)], f"http://127.0.0.1:{port}/", None)  # fmt: skip
        lookup = PREFIXES + LOOKUP % LOOKUP_IRI
        lookups = [PREFIXES + LOOKUP % iri for iri in elements]
        results: dict[str, dict] = {"latency": {}, "lookup": {}, "hierarchy": {}, "rows": {}, "skipped": {}}
        with ExitStack() as stack, httpx.Client(timeout=RDFLIB_TIMEOUT_S) as client:
            started = time.monotonic()
            urls = {name: stack.enter_context(server(cmd, url, env=env, name=name)) for name, (cmd, url, env) in servers.items()}
            print(f"servers up in {time.monotonic() - started:.0f} s: {', '.join(urls)}", flush=True)
            rdflib_skips = set(queries) - set(args.rdflib_queries) if args.rdflib_queries is not None else set()
            timed = check_rows(client, urls, {"lookup": lookup, **queries}, results, rdflib_skips=rdflib_skips)
            # Which servers are timed per query, and how: (server, repeated?) pairs.
            modes = [("plan-kg", True), ("plan-kg", False), ("plan-kg before", False), ("oxigraph", False)]
            cells: dict[tuple[str, str, bool], list[Run]] = {}
            for round_ in range(args.rounds):
                for name, text in queries.items():
                    for server_name, repeated in modes:
                        if server_name not in urls or server_name not in timed[name]:
                            continue
                        cells.setdefault((name, server_name, repeated), []).append(
                            latency(client, urls[server_name], text, repeated=repeated, seconds=args.seconds, scratch=tmp)
                        )
                    if round_ == 0 and "rdflib" in timed[name]:  # one round of the slow one
                        cells[(name, "rdflib", False)] = [sequential(client, urls["rdflib"], text, budget_s=3, most=3)]
                        if name == "hierarchy":  # the same text again and again, as plan-kg's "repeated"
                            cells[(name, "rdflib", True)] = [
                                latency(client, urls["rdflib"], text, repeated=True, seconds=args.seconds, scratch=tmp)
                            ]
                    print(f"  round {round_ + 1} {name:32} " + "  ".join(
                        f"{s}{' (rep)' if r else ''}={cells[(name, s, r)][-1].p50_ms:.2f}"
                        for s, r in [*modes, ("rdflib", False)] if (name, s, r) in cells), flush=True)  # fmt: skip
                for server_name in urls:
                    if server_name == "rdflib" and round_ > 0:
                        continue
                    for repeated in (True, False):
                        if server_name not in timed["lookup"]:  # its rows differ, or it gave no answer
                            break
                        texts = [lookup] if repeated else lookups
                        for connections in (1, 8):
                            if server_name == "rdflib" and connections == 8:
                                continue
                            cells.setdefault((f"lookup c{connections}", server_name, repeated), []).append(
                                wrk(urls[server_name], texts, connections=connections, seconds=args.throughput_seconds,
                                    unique=not repeated, scratch=tmp)  # fmt: skip
                            )
                    if "hierarchy" in queries and server_name == "rdflib" and server_name in timed["hierarchy"]:
                        # Throughput at 8 connections too, whatever its answers take (one round): with wrk, for
                        # longer, so that a dozen answers or more are counted.
                        cells[("hierarchy c8", server_name, False)] = [
                            wrk(urls[server_name], [queries["hierarchy"]], connections=8,
                                seconds=max(4 * args.throughput_seconds, 8), unique=True, scratch=tmp)  # fmt: skip
                        ]
                    elif "hierarchy" in queries and server_name in timed["hierarchy"]:
                        cells.setdefault(("hierarchy c8", server_name, False), []).append(
                            throughput(client, urls[server_name], queries["hierarchy"], connections=8,
                                       seconds=args.throughput_seconds, scratch=tmp)  # fmt: skip
                        )
                        if server_name == "plan-kg":
                            cells.setdefault(("hierarchy c8", server_name, True), []).append(
                                wrk(urls[server_name], [queries["hierarchy"]], connections=8,
                                    seconds=args.throughput_seconds, unique=False, scratch=tmp)  # fmt: skip
                            )
                print(f"  round {round_ + 1} throughput done", flush=True)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        table = {f"{key[0]}|{key[1]}|{'repeated' if key[2] else 'distinct'}": asdict(median_run(runs)) for key, runs in cells.items()}
        results.update(cells=table, load_before=load_before, load_after=load_after, corpus=corpus, quads=quads,
                       servers=list(urls), args={k: str(v) for k, v in vars(args).items()})  # fmt: skip
        print()
        print(markdown(results, queries))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


def check_ready(dump: Path, *, tools: tuple[str, ...] = ("wrk",)) -> None:
    """Stop with a message, before anything is started, when the dump or a tool is missing."""
    if not dump.is_file():
        raise BenchError(f"{dump} is not there: run `plan-kg build` first (or name another dump with --dump)")
    for tool in tools:
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is not installed: apt-get install {tool}")


def check_rows(
    client: httpx.Client, urls: dict[str, str], queries: dict[str, str], results: dict, *, rdflib_skips: set[str]
) -> dict[str, list[str]]:
    """Each query's row count on each server; the servers whose count differs from plan-kg's are not timed."""
    timed: dict[str, list[str]] = {}
    for name, text in queries.items():
        counts: dict[str, int | str] = {}
        for server_name, url in urls.items():
            if server_name == "rdflib" and name in rdflib_skips or server_name == FLOOR and name != "lookup":
                continue  # the floor answers every query with the lookup's answer
            try:
                counts[server_name] = rows(client, url, text)
            except (RuntimeError, httpx.HTTPError) as exc:
                counts[server_name] = f"error: {str(exc)[:120]}"
        reference = counts["plan-kg"]
        results["rows"][name] = counts
        if isinstance(reference, str):  # e.g. stopped at plan-kg's time limit: reported, not timed
            timed[name] = []
            print(f"  {name}: plan-kg gives no answer, not timed: {counts}", flush=True)
            continue
        timed[name] = [s for s, n in counts.items() if n == reference]
        if counts.get("oxigraph") != reference:
            raise BenchError(f"plan-kg and the Oxigraph server disagree on {name}: {counts}")
        if len(timed[name]) < len(counts):
            print(f"  {name}: rows differ, not timed there: {counts}", flush=True)
    return timed


def first_answer_s(client: httpx.Client, url: str, text: str) -> float | None:
    """How long a distinct text of `text` takes to be answered; None (and said) when it is not."""
    began = time.perf_counter()
    try:
        rows(client, url, distinct(text))
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"  {url}: {str(exc)[:200]}", flush=True)
        return None
    return time.perf_counter() - began


def latency(client: httpx.Client, url: str, text: str, *, repeated: bool, seconds: int, scratch: Path) -> Run:
    first = first_answer_s(client, url, text)
    if first is None:
        return Run(p50_ms=math.nan, rps=math.nan, errors=1)
    if first > SLOW_S:
        if repeated:
            for _ in range(3):  # the kept answer, if any, is the thing measured
                began = time.perf_counter()
                rows(client, url, text)
            elapsed = (time.perf_counter() - began) * 1000
            return Run(p50_ms=elapsed, rps=1000 / elapsed, errors=0)
        return sequential(client, url, text, budget_s=seconds * 3, most=3)
    return wrk(url, [text], connections=1, seconds=seconds, unique=not repeated, scratch=scratch)


def throughput(client: httpx.Client, url: str, text: str, *, connections: int, seconds: int, scratch: Path) -> Run:
    first = first_answer_s(client, url, text)
    if first is None:
        return Run(p50_ms=math.nan, rps=math.nan, errors=1)
    if first > SLOW_S:
        return sequential(client, url, text, budget_s=seconds, most=3)  # concurrency 1 only
    return wrk(url, [text], connections=connections, seconds=seconds, unique=True, scratch=scratch)


def median_run(runs: list[Run]) -> Run:
    """The median of the rounds that gave a number (NaN: none did), and every round's failed requests."""
    answered = [r for r in runs if not math.isnan(r.rps)]
    if not answered:
        return Run(math.nan, math.nan, sum(r.errors for r in runs))
    return Run(
        statistics.median(r.p50_ms for r in answered), statistics.median(r.rps for r in answered),
        sum(r.errors for r in runs),
    )


def markdown(results: dict, queries: dict[str, str]) -> str:
    cells, servers = results["cells"], results["servers"]

    failed: dict[str, int] = {}  # the cells shown whose requests did not all succeed

    def cell(key: str, server_name: str, mode: str, field: str) -> float | None:
        found = cells.get(f"{key}|{server_name}|{mode}")
        if found and found["errors"]:
            failed[f"{key}, {server_name}, {mode}"] = found["errors"]
        return found[field] if found and not math.isnan(found[field]) else None

    def fmt(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def ratio(a: float | None, b: float | None, digits: int = 2) -> str:
        return "-" if a is None or b is None else f"{a / b:.{digits}f}"

    before = "plan-kg before" in servers
    lines = [
        f"Corpus: {results['corpus']} ({results['quads']} quads). Load average before / after: "
        f"{' '.join(results['load_before'])} / {' '.join(results['load_after'])}.",
        "",
        "Median latency at concurrency 1 (ms; wrk p50, or the median of sequential requests above 1 s):",
        "",
        "| named query | rows | plan-kg distinct | plan-kg repeated |" + (" plan-kg before |" if before else "")
        + " Oxigraph | plan-kg / Oxigraph distinct (≤ 1.5) | repeated | rdflib-endpoint | rdflib / plan-kg |",
        "|---|---|---|---|" + ("---|" if before else "") + "---|---|---|---|---|",
    ]
    for name in queries:
        ours = cell(name, "plan-kg", "distinct", "p50_ms")
        cached = cell(name, "plan-kg", "repeated", "p50_ms")
        oxi = cell(name, "oxigraph", "distinct", "p50_ms")
        rdf = cell(name, "rdflib", "distinct", "p50_ms")
        counts = results["rows"][name]
        if isinstance(counts["plan-kg"], str):
            status = counts["plan-kg"].split("answered ", 1)[-1].split(":", 1)[0]
            lines.append(f"| {name} | plan-kg {status}: {counts['plan-kg'].rsplit(': ', 1)[-1].strip()} (Oxigraph: {counts.get('oxigraph')} rows); not timed |")
            continue
        rdf_note = fmt(rdf) if rdf is not None else (
            "-" if "rdflib" not in counts  # not asked (--skip-rdflib, --rdflib-queries)
            else "no answer" if isinstance(counts["rdflib"], str)
            else "rows differ" if counts["rdflib"] != counts["plan-kg"]
            else "failed"  # timed, but no request succeeded: see the failed requests below
        )
        lines.append(
            f"| {name} | {counts['plan-kg']} | {fmt(ours)} | {fmt(cached)} |"
            + (f" {fmt(cell(name, 'plan-kg before', 'distinct', 'p50_ms'))} |" if before else "")
            + f" {fmt(oxi)} | {ratio(ours, oxi)} | {ratio(cached, oxi)} | {rdf_note} | {ratio(rdf, ours, 1)} |"
        )
    lines += [
        "",
        "Trivial lookup, throughput (req/s); repeated: one IRI; distinct: every request another IRI and text:",
        "",
        "| server | repeated c1 | repeated c8 | distinct c1 | distinct c8 | vs Oxigraph: repeated c1 / c8 | distinct c1 / c8 |",
        "|---|---|---|---|---|---|---|",
    ]
    for server_name in servers:
        values = [cell(f"lookup c{c}", server_name, m, "rps") for m in ("repeated", "distinct") for c in (1, 8)]
        oxi = [cell(f"lookup c{c}", "oxigraph", m, "rps") for m in ("repeated", "distinct") for c in (1, 8)]
        lines.append(
            f"| {server_name} | " + " | ".join(fmt(v, 0) for v in values)
            + f" | {ratio(values[0], oxi[0])} / {ratio(values[1], oxi[1])} | {ratio(values[2], oxi[2])} / {ratio(values[3], oxi[3])} |"
        )  # fmt: skip
    if "hierarchy" in queries:
        oxi1 = cell("hierarchy", "oxigraph", "distinct", "rps")
        rdf1 = cell("hierarchy", "rdflib", "distinct", "rps")
        oxi8 = cell("hierarchy c8", "oxigraph", "distinct", "rps")
        rdf8 = cell("hierarchy c8", "rdflib", "distinct", "rps")
        lines += [
            "",
            "`queries/hierarchy.rq`, throughput (req/s, distinct texts; c1 from the latency runs):",
            "",
            "| server | c1 | c8 | vs Oxigraph c1 / c8 | vs rdflib-endpoint c1 / c8 (target ≥ 100) |",
            "|---|---|---|---|---|",
        ]
        for server_name in (s for s in servers if s != FLOOR):
            one = cell("hierarchy", server_name, "distinct", "rps")
            eight = cell("hierarchy c8", server_name, "distinct", "rps")
            lines.append(
                f"| {server_name} | {fmt(one, 2)} | {fmt(eight, 2 if server_name == 'rdflib' else 1)} | "
                f"{ratio(one, oxi1)} / {ratio(eight, oxi8)} | {ratio(one, rdf1, 1)} / {ratio(eight, rdf8, 1)} |"
            )
        rdf_again = cell("hierarchy", "rdflib", "repeated", "rps")
        cached1 = cell("hierarchy", "plan-kg", "repeated", "rps")
        cached8 = cell("hierarchy c8", "plan-kg", "repeated", "rps")
        lines += [
            "",
            "The same text sent again and again (plan-kg answers it from its response cache; "
            "rdflib-endpoint and the Oxigraph server keep nothing):",
            "",
            "| server | c1 | c8 | vs rdflib-endpoint repeated c1 (target ≥ 100) |",
            "|---|---|---|---|",
            f"| plan-kg, repeated | {fmt(cached1, 1)} | {fmt(cached8, 1)} | {ratio(cached1, rdf_again, 1)} |",
            f"| rdflib, repeated | {fmt(rdf_again, 2)} | - | 1.0 |",
        ]
    lines += ["", errors_note(failed)]
    return "\n".join(lines)


def errors_note(failed: dict[str, int]) -> str:
    """What the tables' numbers include besides answers: failed requests (a 4xx or 5xx answer, a socket error)."""
    if not failed:
        return "Failed requests (non-2xx answers, socket errors): none."
    listed = "; ".join(f"{where}: {n}" for where, n in failed.items())
    return (f"**Failed requests** (non-2xx answers, socket errors; wrk counts them in its rate and latency, "
            f"so these cells do not measure answers alone): {listed}.")


def run(entry: Callable[[], None]) -> None:
    """Run a benchmark's `main`, its failures said in one line."""
    try:
        entry()
    except BenchError as exc:
        sys.exit(f"{Path(sys.argv[0]).name}: {exc}")
    except KeyboardInterrupt:
        sys.exit(f"{Path(sys.argv[0]).name}: interrupted")


if __name__ == "__main__":
    run(main)
