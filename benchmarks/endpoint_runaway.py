"""How promptly other clients are answered while a runaway query runs and is stopped.

Rerun (from the repository root, after `plan-kg build`):

    python benchmarks/endpoint_runaway.py --cities 10 --timeout 5
    python benchmarks/endpoint_runaway.py --cities 10 --timeout 30 --kind memory --memory-mb 2000
    python benchmarks/endpoint_runaway.py --cities 20 --timeout 5 --runaways 2 --runaway-clients 2 [--preempt-after 0]

One client sends a query that never finishes (`--kind time`), or one that needs more memory
than the endpoint's `query_memory_bytes` (`--kind memory`: a string doubled 40 times); another
keeps sending a lookup, one at a time, before, during and after. Both are on loopback, so each
names itself in X-Forwarded-For (the endpoint trusts 127.0.0.1 as a proxy here): two clients,
as the endpoint's per-client limits count them (`--runaway-clients`: the runaways come from that many
addresses, which together may hold every worker; `--preempt-after`, the endpoint's preempt_after_s,
decides whether the lookup's wait then stops one of them). Reported: the lookup's latency in each phase, how long the runaway
took to be answered 503, and the status codes seen (every lookup must be a 200).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endpoint_bench import LOOKUP, LOOKUP_IRI, PREFIXES, check_ready, free_port, run, server  # noqa: E402
from endpoint_corpus import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNAWAY = "SELECT (COUNT(*) AS ?n) {" + " ".join(f"?s{i} ?p{i} ?o{i} ." for i in range(30)) + "}"
MEMORY_HOG = ('SELECT (STRLEN(?v40) AS ?n) { BIND("' + "x" * 1000 + '" AS ?v0) '
              + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(40)) + " }")


def runaway_client(number: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{10 + number}"}


LOOKUP_CLIENT = {"X-Forwarded-For": "198.51.100.2"}
# Numbers the lookups across every phase: a number used before the runaway, used again while it runs,
# would repeat a text the response cache has kept, and time the cache instead of a worker.
_LOOKUP_NUMBERS = itertools.count()


def lookups(url: str, until: float | Callable[[], bool]) -> list[tuple[float, float, int]]:
    """(start time, latency ms, status) of lookups sent one after another until the time `until`, or while `until()`."""
    query = PREFIXES + LOOKUP % LOOKUP_IRI
    going = until if callable(until) else lambda: time.monotonic() < until
    seen = []
    with httpx.Client(timeout=120, headers=LOOKUP_CLIENT) as client:
        while going():
            start = time.monotonic()
            # A numbered comment makes every lookup another text: none is answered from the
            # response cache; each is run by a worker unless --in-process-rows is set.
            status = client.get(url, params={"query": f"{query}\n# lookup {next(_LOOKUP_NUMBERS)}"}).status_code
            seen.append((start, (time.monotonic() - start) * 1000, status))
    return seen


def summary(samples: list[tuple[float, float, int]]) -> str:
    """The latencies of the lookups answered 200; any other answer is counted, not timed."""
    latencies = sorted(s[1] for s in samples if s[2] == 200)
    failed = len(samples) - len(latencies)
    note = f"; {failed} not answered 200" if failed else ""
    if not latencies:
        return f"no lookup answered{note}"
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return (f"n={len(latencies)}, p50 {statistics.median(latencies):.2f} ms, p95 {p95:.2f} ms, "
            f"max {latencies[-1]:.2f} ms{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cities", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=5.0, help="the endpoint's query_timeout_s")
    parser.add_argument("--workers", type=int, default=2, help="the endpoint's query_workers")
    parser.add_argument("--dump", type=Path, default=ROOT / "dist" / "plan-kg.nq")
    parser.add_argument("--kind", choices=("time", "memory"), default="time",
                        help="a query that never ends, or one that needs more than --memory-mb")
    parser.add_argument("--memory-mb", type=int, default=2000, help="the endpoint's query_memory_bytes, in MB")
    parser.add_argument("--runaways", type=int, default=1,
                        help="how many runaway queries the one client sends at once (2 with --workers 2: "
                             "as many as there are workers)")
    parser.add_argument("--runaway-clients", type=int, default=1, help="how many addresses send the runaways")
    parser.add_argument("--preempt-after", type=float, default=1.0, help="the endpoint's preempt_after_s (0: never)")
    parser.add_argument("--in-process-rows", type=int, default=0,
                        help="the endpoint's in_process_rows; 0 (the default here): every lookup needs a worker, "
                             "the harder case; 100 (the server's default): the lookups are answered without one")
    args = parser.parse_args()
    check_ready(args.dump, tools=())
    runaway_query = RUNAWAY if args.kind == "time" else MEMORY_HOG
    with tempfile.TemporaryDirectory(prefix="plan-kg-runaway-") as tmp_name:
        tmp = Path(tmp_name)
        write_corpus(args.dump, tmp / "dist" / "plan-kg.nq", cities=args.cities)
        port = free_port()
        command = [
            sys.executable, "-c",
            "from pathlib import Path; from plan_kg.config import Settings; from plan_kg.server import run_serve; "
            f"run_serve(Settings(root=Path({str(tmp)!r}), dist_dir=Path({str(tmp / 'dist')!r}), "
            f"query_timeout_s={args.timeout}, query_workers={args.workers}, in_process_rows={args.in_process_rows}, "
            f"preempt_after_s={args.preempt_after}, "
            f"query_memory_bytes={args.memory_mb * 1_000_000}, trusted_proxies=('127.0.0.1',)), host='127.0.0.1', port={port}, "
            f"store_dir=Path({str(tmp / 'store')!r}))",
        ]  # fmt: skip
        with server(command, f"http://127.0.0.1:{port}/sparql", name="plan-kg") as url:
            before = lookups(url, time.monotonic() + 2)
            runaways: list[dict] = [{} for _ in range(args.runaways)]  # status, seconds, end, reason

            def run_away(runaway: dict, number: int) -> None:
                start = time.monotonic()
                try:
                    response = httpx.get(url, params={"query": f"{runaway_query} # {number}"},
                                         headers=runaway_client(number % args.runaway_clients), timeout=120)
                    runaway.update(status=str(response.status_code), reason=response.text.strip())
                except httpx.HTTPError as exc:
                    runaway.update(status="no answer", reason=f"{type(exc).__name__}: {exc}")
                runaway.update(seconds=time.monotonic() - start, end=time.monotonic())

            threads = [threading.Thread(target=run_away, args=(r, n)) for n, r in enumerate(runaways)]
            for thread in threads:
                thread.start()
            # The other client's lookups go on for as long as any runaway is unanswered, however long that is.
            running = lookups(url, lambda: any(thread.is_alive() for thread in threads))
            for thread in threads:
                thread.join()
            end = max(r["end"] for r in runaways)
            stopping = lookups(url, end + 3)  # the 3 s after the last answer
            after = lookups(url, time.monotonic() + 2)
        statuses = sorted({s[2] for s in before + running + stopping + after})
        print(f"corpus {args.cities} cities; query_timeout_s={args.timeout:g}; query_workers={args.workers}; "
              f"query_memory_bytes={args.memory_mb * 1_000_000}; in_process_rows={args.in_process_rows}; "
              f"preempt_after_s={args.preempt_after:g}; runaway kind: {args.kind}; {args.runaways} at once from "
              f"{args.runaway_clients} client(s)")
        for runaway in runaways:
            print(f"runaway answered {runaway['status']} after {runaway['seconds']:.2f} s: {runaway['reason']}")
        print(f"lookup before:                      {summary(before)}")
        print(f"lookup while the runaway runs:      {summary(running)}")
        print(f"lookup while its worker is replaced:{summary(stopping)} (the 3 s after the last runaway was answered)")
        print(f"lookup after:                       {summary(after)}")
        print(f"lookup statuses seen: {statuses}")


if __name__ == "__main__":
    run(main)
