"""plan_kg.server.cli: `plan-kg query NAME` reuses the endpoint's QueryService; errors exit 2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from plan_kg.cli import main
from server_fixtures import write_dump


def run(tmp_path: Path, *args: str):  # noqa: ANN201 - click's Result
    write_dump(tmp_path / "dist")
    config = tmp_path / "plan-kg.toml"  # root here, so the store goes to tmp_path/.cache, not the project's
    config.write_text('root = "."\ndist_dir = "dist"\n', encoding="utf-8")
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


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rq"
    bad.write_text("SELECT * {", encoding="utf-8")
    result = run(tmp_path, str(bad))
    assert result.exit_code == 2
    assert "not valid SPARQL" in result.output
    unknown = run(tmp_path, "no-such-query")
    assert unknown.exit_code == 2
    assert "no named query" in unknown.output
