"""plan_kg.server.cli: `plan-kg query NAME` reuses the endpoint's QueryService; errors exit 2."""

from __future__ import annotations

import csv
import io
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from click.testing import CliRunner

from plan_kg.cli import main
from loopback import stop
from server_fixtures import RUNAWAY_QUERY, write_dump


def run(tmp_path: Path, *args: str, settings: str = ""):  # noqa: ANN201 - click's Result
    write_dump(tmp_path / "dist")
    config = tmp_path / "plan-kg.toml"  # root here, so the store goes to tmp_path/.cache, not the project's
    config.write_text('root = "."\ndist_dir = "dist"\n' + settings, encoding="utf-8")
    return CliRunner().invoke(main, ["--config", str(config), "query", *args], catch_exceptions=False)


def test_a_query_file_prints_a_table_by_default_and_csv_or_json_on_request(tmp_path: Path) -> None:
    query = tmp_path / "labels.rq"
    query.write_text("SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } ORDER BY ?l", encoding="utf-8")
    result = run(tmp_path, str(query))
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".cache" / "store").is_dir()
    lines = result.output.splitlines()
    assert lines[1].split("|")[1].strip() == "l" and lines[-1] == "3 row(s)"
    cells = [line.split("|")[1].strip() for line in lines[3:6]]
    assert cells == ["Measure", "基本目標1", "西東京市"]
    as_csv = run(tmp_path, str(query), "--format", "csv").output
    assert [row[0] for row in csv.reader(io.StringIO(as_csv))] == ["l", "Measure", "基本目標1", "西東京市"]
    assert '"bindings"' in run(tmp_path, str(query), "--format", "json").output


def test_construct_prints_turtle_and_format_is_honoured(tmp_path: Path) -> None:
    query = tmp_path / "all.rq"
    query.write_text("CONSTRUCT WHERE { ?s ?p ?o }", encoding="utf-8")
    assert "@prefix" not in run(tmp_path, str(query), "--format", "ntriples").output
    assert run(tmp_path, str(query)).output.count(" .") >= 1


def test_json_or_xml_for_a_graph_writes_json_ld_or_rdf_xml_and_says_so(tmp_path: Path) -> None:
    """json and xml name SPARQL results; for a CONSTRUCT they wrote JSON-LD and RDF/XML without a word."""
    query = tmp_path / "all.rq"
    query.write_text("CONSTRUCT WHERE { ?s ?p ?o }", encoding="utf-8")
    for format_name, label, graph_format in (("json", "JSON-LD", "jsonld"), ("xml", "RDF/XML", "rdfxml")):
        result = run(tmp_path, str(query), "--format", format_name)
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == run(tmp_path, str(query), "--format", graph_format).stdout_bytes
        assert result.stderr == (f"note: {query} answers a graph (CONSTRUCT or DESCRIBE), which --format {format_name} "
                                 f"writes as {label}, as --format {graph_format} does\n")
    assert run(tmp_path, str(query), "--format", "jsonld").stderr == ""
    select = tmp_path / "labels.rq"
    select.write_text("SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }", encoding="utf-8")
    assert run(tmp_path, str(select), "--format", "json").stderr == ""


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * {", encoding="utf-8")
    result = run(tmp_path, str(bad))
    assert result.exit_code == 2
    assert "not valid SPARQL" in result.output
    unknown = run(tmp_path, "no-such-query")
    assert unknown.exit_code == 2
    assert "no named query" in unknown.output


def test_a_missing_query_file_is_reported_as_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "x" / "nothere.rq"
    result = run(tmp_path, str(missing))
    assert result.exit_code == 2
    assert f"error: file not found: {missing}; give the path of an existing .rq file" in result.output
    assert "no named query" not in result.output and "Traceback" not in result.output


def test_a_query_stopped_at_the_time_limit_is_an_error_that_says_so(tmp_path: Path) -> None:
    runaway = tmp_path / "runaway.rq"
    runaway.write_text(RUNAWAY_QUERY, encoding="utf-8")
    result = run(tmp_path, str(runaway), settings="query_timeout_s = 0.5\n")
    assert result.exit_code == 2
    assert f"error: {runaway}: the query was stopped after 0.5 s" in result.output
    assert "Traceback" not in result.output
    assert "set query_timeout_s in plan-kg.toml" in result.output  # the operator may raise it; a client may not


def test_a_result_over_a_limit_names_the_setting_that_holds_it(tmp_path: Path) -> None:
    """`plan-kg query` runs under the endpoint's limits; its message was the endpoint's alone ("this endpoint's
    limit; narrow the query"), leaving the operator, who may raise the limit, to guess where it is set."""
    everything = tmp_path / "everything.rq"
    everything.write_text("SELECT * { ?s ?p ?o }", encoding="utf-8")
    rows = run(tmp_path, str(everything), settings="max_result_rows = 2\n")
    assert rows.exit_code == 2
    assert "more than 2 rows" in rows.output and "set max_result_rows in plan-kg.toml" in rows.output
    size = run(tmp_path, str(everything), "--format", "csv", settings="max_response_bytes = 20\n")
    assert size.exit_code == 2 and "set max_response_bytes in plan-kg.toml" in size.output
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * {", encoding="utf-8")
    assert "plan-kg.toml" not in run(tmp_path, str(bad)).output  # no limit refused it


def test_a_refused_service_names_the_allow_list(tmp_path: Path) -> None:
    """A SERVICE refusal carries its setting, as a limit's refusal does; it is a list to add the endpoint to, not a
    limit to raise ("set service_allow_list … for another" would have been said)."""
    query = tmp_path / "federated.rq"
    query.write_text("SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", encoding="utf-8")
    result = run(tmp_path, str(query))
    assert result.exit_code == 2
    assert "SERVICE <http://127.0.0.1:9/sparql> is not allowed" in result.output
    assert "list the endpoint in service_allow_list in plan-kg.toml" in result.output


def test_an_ask_prints_true_or_false_or_its_sparql_results_on_request(tmp_path: Path) -> None:
    yes, no, header_only = tmp_path / "yes.rq", tmp_path / "no.rq", tmp_path / "header-only.rq"
    yes.write_text("ASK { ?s ?p ?o }", encoding="utf-8")
    no.write_text("ASK { <urn:x:a> <urn:x:b> <urn:x:c> }", encoding="utf-8")
    header_only.write_text("SELECT ?true { FILTER(false) }", encoding="utf-8")  # no rows: its CSV is an ASK's
    assert run(tmp_path, str(yes)).output == "true\n"
    assert run(tmp_path, str(no)).output == "false\n"
    assert run(tmp_path, str(yes), "--format", "csv").output.splitlines() == ["_askResult", "true"]
    assert json.loads(run(tmp_path, str(no), "--format", "json").output) == {"head": {}, "boolean": False}
    lines = run(tmp_path, str(header_only)).output.splitlines()
    assert lines[1].split("|")[1].strip() == "true" and lines[-1] == "0 row(s)"


def test_the_table_writes_blank_nodes_and_unbound_variables_as_csv_does(tmp_path: Path) -> None:
    query = tmp_path / "cells.rq"
    query.write_text("SELECT ?b ?none ?l { BIND(BNODE() AS ?b) BIND('西東京市'@ja AS ?l) }", encoding="utf-8")
    lines = run(tmp_path, str(query)).output.splitlines()
    cells = [cell.strip() for cell in lines[3].split("|")[1:-1]]
    assert cells[0].startswith("_:") and cells[1:] == ["", "西東京市"]
    assert lines[-1] == "1 row(s)"


def test_an_unknown_format_is_a_usage_error_that_lists_the_formats(tmp_path: Path) -> None:
    result = run(tmp_path, "hierarchy", "--format", "bogus")
    assert result.exit_code == 2
    assert "Invalid value for '--format': 'bogus' is not one of 'table'," in result.output
    assert all(f"'{name}'" in result.output for name in ("csv", "tsv", "json", "xml", "turtle", "jsonld"))
    assert "endpoint" not in result.output


def test_a_format_of_the_other_kind_of_answer_says_which_formats_would_do(tmp_path: Path) -> None:
    select = tmp_path / "labels.rq"
    select.write_text("SELECT ?l { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }", encoding="utf-8")
    result = run(tmp_path, str(select), "--format", "turtle")
    assert result.exit_code == 2
    assert ("this query returns SPARQL results (SELECT or ASK), which --format turtle does not write; "
            "use --format table, json, xml, csv, tsv") in result.output
    construct = tmp_path / "all.rq"
    construct.write_text("CONSTRUCT WHERE { ?s ?p ?o }", encoding="utf-8")
    result = run(tmp_path, str(construct), "--format", "csv")
    assert result.exit_code == 2
    assert "returns a graph (CONSTRUCT or DESCRIBE), which --format csv does not write; use --format table, turtle" \
        in result.output


def test_serve_on_a_port_in_use_says_so_before_building(tmp_path: Path) -> None:
    import socket

    config = tmp_path / "plan-kg.toml"  # no dist/: a build would start if the port were free
    config.write_text('root = "."\ndist_dir = "dist"\n', encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["--config", str(config), "serve", "--port", str(port)],
                                    catch_exceptions=False)
    assert result.exit_code == 2
    assert f"127.0.0.1:{port} is already in use" in result.output and "--port" in result.output
    assert not (tmp_path / "dist").exists()


def test_a_query_file_that_is_not_utf_8_says_where_and_what_to_do(tmp_path: Path) -> None:
    query = tmp_path / "labels.rq"
    query.write_bytes("SELECT ?l { ?s ?p \"練馬\" }".encode("cp932"))
    result = run(tmp_path, str(query))
    assert result.exit_code == 2
    assert f"{query}: not UTF-8 text (byte 20 is 0x97); save the query file as UTF-8" in result.output
    assert "codec" not in result.output


def test_serve_on_a_number_that_is_not_a_port_says_so_before_building(tmp_path: Path) -> None:
    config = tmp_path / "plan-kg.toml"  # no dist/: a build would start if the port were taken as given
    config.write_text('root = "."\ndist_dir = "dist"\n', encoding="utf-8")
    for port in ("99999", "65536", "-1"):
        result = CliRunner().invoke(main, ["--config", str(config), "serve", "--port", port], catch_exceptions=False)
        assert result.exit_code == 2, result.output
        assert f"port {port} is not a TCP port (0 to 65535" in result.output and "--port" in result.output
    assert not (tmp_path / "dist").exists()


def test_serve_says_the_address_it_serves_also_for_any_free_port(tmp_path: Path) -> None:
    """`plan-kg serve --port 0` as a user runs it: the log names the URL, and the endpoint answers there."""
    write_dump(tmp_path / "dist")  # made by hand: served as it is, with a warning
    config = tmp_path / "plan-kg.toml"
    config.write_text('root = "."\ndist_dir = "dist"\n', encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "plan_kg", "--config", str(config), "serve", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, encoding="utf-8")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    seen = []
    try:
        while True:
            line = lines.get(timeout=120)
            seen.append(line)
            if found := re.search(r"plan-kg serves (http://127\.0\.0\.1:(\d+)/) \(SPARQL endpoint: /sparql\)", line):
                break
        assert int(found.group(2)) > 0
        assert any("has no build record" in line for line in seen), seen
        answer = httpx.get(found.group(1) + "sparql", params={"query": "ASK { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=60)
        assert answer.status_code == 200 and answer.json()["boolean"] is True
    finally:
        stop(process, timeout_s=60)


def test_serve_says_it_builds_a_missing_dist(tmp_path: Path, monkeypatch, caplog) -> None:
    """On a fresh clone `plan-kg serve` built for a while and said nothing until it served."""
    import plan_kg.build
    from plan_kg.config import Settings
    from plan_kg.server.run import ensure_built

    built = []
    monkeypatch.setattr(plan_kg.build, "build", built.append)
    settings = Settings.load(dist_dir=tmp_path / "dist")
    ensure_built(settings)
    assert built == [settings]
    assert f"{tmp_path / 'dist'} has no plan-kg.nq: building it from the sources" in caplog.text


def test_the_access_log_is_a_setting_and_a_flag_of_serve(tmp_path: Path, monkeypatch) -> None:
    import plan_kg.server.run

    served = []
    monkeypatch.setattr(plan_kg.server.run, "run_serve", lambda settings, **_: served.append(settings.access_log))
    config = tmp_path / "plan-kg.toml"
    for setting, flags in (("", []), ("access_log = true\n", []), ("access_log = true\n", ["--no-access-log"]),
                           ("", ["--access-log"])):
        config.write_text('root = "."\n' + setting, encoding="utf-8")
        result = CliRunner().invoke(main, ["--config", str(config), "serve", *flags], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert served == [False, True, False, True]


def test_serve_logs_a_refusal_as_a_warning_and_with_access_log_every_request(tmp_path: Path) -> None:
    """`plan-kg serve` as a user runs it: a request refused at a limit is a WARNING line on stderr, written as uvicorn
    writes its own (uvicorn's access log is off, and nothing was said of it); --access-log adds uvicorn's line for
    every request, on stdout."""
    write_dump(tmp_path / "dist")
    config = tmp_path / "plan-kg.toml"
    config.write_text('root = "."\ndist_dir = "dist"\nmax_body_bytes = 100\n', encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "plan_kg", "--config", str(config), "serve", "--port", "0",
                                "--access-log"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               encoding="utf-8")
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stderr() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        while (line := lines.get(timeout=120)) is not None:
            if found := re.search(r"plan-kg serves (http://127\.0\.0\.1:\d+/)", line):
                break
        assert line is not None, "plan-kg serve stopped before it served"
        for _ in range(3):
            refused = httpx.post(found.group(1) + "sparql", content="ASK {}" + " " * 200, timeout=60,
                                 headers={"Content-Type": "application/sparql-query"})
            assert refused.status_code == 413
        assert httpx.get(found.group(1) + "sparql", params={"query": "ASK {}"}, timeout=60).status_code == 200
    finally:
        stop(process, timeout_s=60)
    said = []
    while (line := lines.get(timeout=10)) is not None:
        said.append(line)
    assert [line for line in said if "refused" in line] == [
        "WARNING:  refused 413 to 127.0.0.1 (POST /sparql): the request body is larger than 100 bytes, this "
        "endpoint's limit\n"]
    accessed = process.stdout.read().splitlines()  # type: ignore[union-attr]
    assert [line.partition(" - ")[2] for line in accessed] == [
        '"POST /sparql HTTP/1.1" 413 Request Entity Too Large'] * 3 + ['"GET /sparql?query=ASK+%7B%7D HTTP/1.1" 200 OK']


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stopped_while_its_first_build_loads_keeps_nothing_of_the_load(tmp_path: Path, signum: int) -> None:
    """Ctrl-C or SIGTERM while `plan-kg serve` loads the build there at start (before it listens): the half-loaded
    store was left in .cache/store (gigabytes at national scale) until a later start removed it."""
    write_dump(tmp_path / "dist", "".join(f"<urn:x:s{i}> <urn:x:p> \"{i}\" <urn:x:g> .\n" for i in range(400_000)))
    config = tmp_path / "plan-kg.toml"
    config.write_text('root = "."\ndist_dir = "dist"\n', encoding="utf-8")
    store_dir = tmp_path / ".cache" / "store"
    process = subprocess.Popen([sys.executable, "-m", "plan_kg", "--config", str(config), "serve", "--port", "0"],
                               stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a shell's
    try:
        deadline = time.monotonic() + 60
        while not list(store_dir.glob("*/oxigraph")):  # loading
            assert time.monotonic() < deadline and process.poll() is None, "the load did not start"
            time.sleep(0.05)
        time.sleep(0.5)
        assert not list(store_dir.glob("*/source.json")), "loaded already: a larger dump is needed"
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        stop(process, timeout_s=60)
    assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]
    assert [path.name for path in store_dir.iterdir() if path.is_dir()] == [], "the load stopped left its store"
