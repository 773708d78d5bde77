"""How long another client waits while a large document is built for the first time.

Rerun from the repository root, after `plan-kg build` (needs `pip install -e '.[bench]'`):

    python benchmarks/document_build.py [--src OTHER_CHECKOUT/src]

Serves the bundled build (a copy of dist/plan-kg.nq) on loopback; one client sends a small query
that a query worker answers (`ASK { ?s a ?c . ?c a ?k }`, each time another text: a numbered comment,
so that no cache answers it) again and again (httpx, one at a time, 2 ms apart) while another asks
for each document below once, when nothing has been built yet. Reported per document: its build
time, and the other client's median and worst latency meanwhile (of its answers with 200; any other status
is counted in the last column, not timed).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endpoint_bench import ROOT, check_ready, plan_kg_server, run, server  # noqa: E402

_NUMBERS = itertools.count()
DOCUMENTS = ["/graph/132292/basic-plan-3.jsonld", "/graph/un-sdg-kos.jsonld", "/graph/132292/basic-plan-3/inferred.ttl",
             "/graph/cross-city-links.jsonld", "/ontology.html"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, default=ROOT / "dist" / "plan-kg.nq")
    parser.add_argument("--port", type=int, default=18821)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the sources to serve (e.g. another checkout's src/)")
    args = parser.parse_args()
    check_ready(args.dump, tools=())
    with tempfile.TemporaryDirectory(prefix="plan-kg-documents-") as name:
        tmp = Path(name)
        (tmp / "dist").mkdir()
        (tmp / "dist" / "plan-kg.nq").write_bytes(args.dump.read_bytes())
        command, env = plan_kg_server(args.src.resolve(), tmp, args.port)
        base = f"http://127.0.0.1:{args.port}"
        with server(command, base + "/sparql", env=env, name="plan-kg"):
            print("| document | status | bytes | built in (ms) | other client: median / worst (ms) | its requests | not 200 |")
            print("|---|---|---|---|---|---|---|")
            for document in DOCUMENTS:
                print(measure(base, document), flush=True)


def measure(base: str, document: str) -> str:
    latencies: list[float] = []
    failed: list[int] = []  # the other client's statuses other than 200: counted, not timed as answers
    stop = threading.Event()

    def other_client() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                began = time.perf_counter()
                status = client.get(base + "/sparql", params={"query": f"ASK {{ ?s a ?c . ?c a ?k }} # {next(_NUMBERS)}"},
                                    headers={"Accept": "application/sparql-results+json"}).status_code
                if status == 200:
                    latencies.append(time.perf_counter() - began)
                else:
                    failed.append(status)
                time.sleep(0.002)

    thread = threading.Thread(target=other_client)
    thread.start()
    time.sleep(0.3)
    before, failed_before = len(latencies), len(failed)
    began = time.perf_counter()
    response = httpx.get(base + document, timeout=120)
    built = time.perf_counter() - began
    time.sleep(0.1)
    stop.set()
    thread.join()
    during = latencies[before:]
    not_ok = failed[failed_before:]
    timing = f"{statistics.median(during) * 1000:.2f} / {max(during) * 1000:.1f}" if during else "-"
    return (f"| `{document}` | {response.status_code} | {len(response.content):,} | {built * 1000:.0f} | "
            f"{timing} | {len(during)} | {len(not_ok)}{' (' + ', '.join(map(str, sorted(set(not_ok)))) + ')' if not_ok else ''} |")


if __name__ == "__main__":
    run(main)
