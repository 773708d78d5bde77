"""The endpoint benchmark's own arithmetic and corpus (benchmarks/), without starting a server."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from endpoint_bench import Run, markdown, wrk_errors  # noqa: E402
from endpoint_corpus import write_corpus  # noqa: E402

WRK_REPORT = """Running 1s test @ http://127.0.0.1:8731
  1 threads and 2 connections
  Latency Distribution
     50%    1.15ms
  1098 requests in 1.02s, 557.58KB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 1000
Requests/sec:   1073.53
"""


def test_every_failed_request_in_a_wrk_report_is_counted() -> None:
    assert wrk_errors(WRK_REPORT) == 1010
    assert wrk_errors(WRK_REPORT.replace("  Socket errors: connect 1, read 2, write 3, timeout 4\n", "")) == 1000


def results(cells: dict[str, Run]) -> dict:
    return {
        "corpus": "test", "quads": 1, "load_before": ["0"], "load_after": ["0"],
        "servers": ["plan-kg", "oxigraph", "rdflib"],
        "rows": {"hierarchy": {"plan-kg": 110, "oxigraph": 110, "rdflib": 110}},
        "cells": {key: asdict(run) for key, run in cells.items()},
    }  # fmt: skip


def row(table: str, first: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {first} |"))
    return [part.strip() for part in line.strip("|").split("|")]


def test_ratios_divide_as_their_columns_say() -> None:
    table = markdown(results({
        "hierarchy|plan-kg|distinct": Run(p50_ms=6.0, rps=150.0, errors=0),
        "hierarchy|oxigraph|distinct": Run(p50_ms=4.0, rps=200.0, errors=0),
        "hierarchy|rdflib|distinct": Run(p50_ms=300.0, rps=3.0, errors=0),
        "hierarchy c8|plan-kg|distinct": Run(p50_ms=12.0, rps=600.0, errors=0),
        "hierarchy c8|rdflib|distinct": Run(p50_ms=2000.0, rps=4.0, errors=0),
        "lookup c1|plan-kg|distinct": Run(p50_ms=1.0, rps=1000.0, errors=0),
        "lookup c1|oxigraph|distinct": Run(p50_ms=0.5, rps=4000.0, errors=0),
    }), {"hierarchy": "SELECT ..."})  # fmt: skip
    latency = row(table, "hierarchy")
    assert latency[5] == "1.50"  # plan-kg / Oxigraph latency: 6 / 4
    assert latency[8] == "50.0"  # rdflib / plan-kg latency: 300 / 6
    assert row(table, "plan-kg")[6] == "0.25 / -"  # lookup distinct c1: plan-kg's rate / Oxigraph's
    hierarchy = [line for line in table.splitlines() if line.startswith("| plan-kg | 150.00 |")]
    assert hierarchy == ["| plan-kg | 150.00 | 600.0 | 0.75 / - | 50.0 / 150.0 |"]  # 150 / 200; 150 / 3 and 600 / 4
    assert "| rdflib | 3.00 | 4.00 | 0.01 / - | 1.0 / 1.0 |" in table
    assert "Failed requests (non-2xx answers, socket errors): none." in table


def test_failed_requests_are_reported_under_the_tables() -> None:
    table = markdown(results({
        "hierarchy|plan-kg|distinct": Run(p50_ms=6.0, rps=150.0, errors=0),
        "hierarchy|oxigraph|distinct": Run(p50_ms=4.0, rps=200.0, errors=0),
        "lookup c8|plan-kg|distinct": Run(p50_ms=1.0, rps=9000.0, errors=37),
    }), {"hierarchy": "SELECT ..."})  # fmt: skip
    assert "**Failed requests**" in table and "lookup c8, plan-kg, distinct: 37" in table


def test_the_synthetic_corpus_is_the_same_bytes_for_the_same_arguments(tmp_path: Path) -> None:
    source = tmp_path / "plan.nq"
    source.write_text(
        '<https://w3id.org/plan-kg/id/132292/p> <https://w3id.org/plan-kg/ontology#code> "132292" '
        "<https://w3id.org/plan-kg/graph/132292/p> .\n"
        "<https://w3id.org/plan-kg/ontology#Plan> <http://www.w3.org/2000/01/rdf-schema#label> \"Plan\" "
        "<https://w3id.org/plan-kg/graph/ontology> .\n",
        encoding="utf-8",
    )
    assert write_corpus(source, tmp_path / "a.nq", cities=3) == 4
    write_corpus(source, tmp_path / "b.nq", cities=3)
    text = (tmp_path / "a.nq").read_bytes()
    assert text == (tmp_path / "b.nq").read_bytes()
    assert text.count(b"ontology#Plan") == 1 and b'"990002" <https://w3id.org/plan-kg/graph/990002/p>' in text


def test_a_server_that_gave_no_answer_is_not_said_to_differ() -> None:
    measured = results({
        "hierarchy|plan-kg|distinct": Run(p50_ms=6.0, rps=150.0, errors=0),
        "hierarchy|oxigraph|distinct": Run(p50_ms=4.0, rps=200.0, errors=0),
    })  # fmt: skip
    measured["rows"]["hierarchy"]["rdflib"] = "error: http://127.0.0.1:1/ answered 500: boom"
    assert row(markdown(measured, {"hierarchy": "SELECT ..."}), "hierarchy")[7] == "no answer"
    measured["rows"]["hierarchy"]["rdflib"] = 109
    assert row(markdown(measured, {"hierarchy": "SELECT ..."}), "hierarchy")[7] == "rows differ"


def test_the_runaway_report_times_only_the_lookups_answered_200() -> None:
    from endpoint_runaway import summary

    assert summary([(0.0, 1.0, 200), (0.0, 2.0, 200), (0.0, 0.1, 429)]) == (
        "n=2, p50 1.50 ms, p95 2.00 ms, max 2.00 ms; 1 not answered 200"
    )
