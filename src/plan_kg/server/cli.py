"""`plan-kg serve` and `plan-kg query NAME`: parse options, call one library function."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from .. import formats
from ..errors import PlanKgError, QueryError
from .negotiation import GRAPH_FORMATS, RESULT_FORMATS


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, type=int, show_default=True, help="Port to listen on.")
@click.option("--access-log/--no-access-log", default=None,
              help="Log every request on stdout, its URL with the query (default: access_log in plan-kg.toml, off). "
                   "Refusals at the server's limits are logged either way.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, access_log: bool | None) -> None:
    """Serve the SPARQL endpoint (/sparql) and the pages; builds dist/ first if it is missing or out of date."""
    from ..cli import fail
    from .run import run_serve

    settings = ctx.obj["settings"]
    try:
        run_serve(settings if access_log is None else replace(settings, access_log=access_log), host=host, port=port)
    except PlanKgError as exc:
        fail(exc)


@click.command()
@click.argument("name")
@click.option("--format", "format_name", default="table", show_default=True,
              type=click.Choice(["table", *(f.name for f in (*RESULT_FORMATS, *GRAPH_FORMATS))]),
              help="table: a SELECT as aligned text, an ASK as true or false, a CONSTRUCT/DESCRIBE as Turtle. "
                   "csv, tsv, json, xml: the SPARQL results of a SELECT or ASK (an ASK in csv or tsv is a "
                   "column _askResult of one row, true or false). turtle, ntriples, jsonld, rdfxml: a "
                   "CONSTRUCT/DESCRIBE graph (json and xml write one as JSON-LD and RDF/XML, and say so on stderr).")  # fmt: skip
@click.pass_context
def query(ctx: click.Context, name: str, format_name: str) -> None:
    """Run the named query NAME (queries/NAME.rq), or a .rq file, over the built data; print the result.

    It runs as the endpoint runs queries: read-only, within the time and row limits.
    Exit 2 when the query cannot be read, parsed or answered in time.
    """
    from ..cli import fail
    from ..named_queries import find_named_query
    from .run import ensure_built
    from .service import QueryRequest, QueryService
    from .jobs import QueryRejected

    settings = ctx.obj["settings"]
    try:
        path = Path(name)
        text = path.read_text(encoding="utf-8") if path.suffix == ".rq" and path.is_file() else None
        text = text if text is not None else find_named_query(settings, name).text
        ensure_built(settings)
        service = QueryService.for_settings(settings)
        as_table = format_name == "table"
        # JSON results, not CSV, for the table: only they tell an ASK's answer from a SELECT's header.
        accept = "application/sparql-results+json, text/turtle;q=0.9" if as_table else None
        result = service.run(QueryRequest(text, accept=accept, format=None if as_table else format_name))
    except QueryRejected as exc:
        if exc.status == 406:  # --format names a format of the other kind of answer
            graph = format_name in {f.name for f in RESULT_FORMATS}
            kind, offered = ("a graph (CONSTRUCT or DESCRIBE)", GRAPH_FORMATS) if graph else (
                "SPARQL results (SELECT or ASK)", RESULT_FORMATS)
            fail(QueryError(f"{name}: this query returns {kind}, which --format {format_name} does not write; "
                            f"use --format table, {', '.join(f.name for f in offered)}"))
        # The endpoint's words ("this endpoint's limit") are for its clients; here the operator runs it, who may
        # raise the limit: say which setting holds it.
        if exc.setting == "service_allow_list":  # a rule, not a limit to raise: the endpoint may be allowed
            own = " (plan-kg query keeps the endpoint's rules: list the endpoint in service_allow_list in plan-kg.toml)"
        else:
            own = f" (plan-kg query keeps the endpoint's limits: set {exc.setting} in plan-kg.toml for another)" \
                if exc.setting else ""
        fail(QueryError(f"{name}: {exc.message}{own}"))
    except UnicodeDecodeError as exc:
        fail(QueryError(f"{name}: not UTF-8 text (byte {exc.start + 1} is {exc.object[exc.start]:#04x}); "
                        "save the query file as UTF-8"))
    except (PlanKgError, OSError) as exc:
        fail(exc if isinstance(exc, PlanKgError) else QueryError(f"{name}: {exc}"))
    written = formats.by_media_type(result.media_type, formats.Kind.GRAPH)
    if written is not None and format_name in {f.name for f in RESULT_FORMATS}:
        # As for the endpoint's format= (SPARQLWrapper's json and xml); said, as the output is not what they name.
        click.echo(f"note: {name} answers a graph (CONSTRUCT or DESCRIBE), which --format {format_name} writes as "
                   f"{written.label}, as --format {written.name} does", err=True)
    if as_table and result.media_type.startswith("application/sparql-results+json"):
        click.echo(_table(result.body))
    else:  # ended with a line break, so that the shell's prompt does not follow `true` on its line
        click.get_binary_stream("stdout").write(result.body if result.body.endswith(b"\n") else result.body + b"\n")


def _table(json_body: bytes) -> str:
    """SPARQL JSON results as text: an ASK's true or false; a SELECT's rows as an aligned table, then their count.

    Japanese double-width characters are counted as two.
    """
    import json

    from prettytable import PrettyTable

    results = json.loads(json_body)
    if "boolean" in results:
        return "true" if results["boolean"] else "false"
    names = results["head"].get("vars", [])
    rows = results["results"]["bindings"]
    table = PrettyTable(names)
    table.align = "l"
    for row in rows:
        table.add_row([_cell(row.get(name)) for name in names])
    return f"{table.get_string()}\n{len(rows)} row(s)"


def _cell(term: dict | None) -> str:
    """A term of SPARQL JSON results as SPARQL CSV results write it (no language tag or datatype)."""
    if term is None:
        return ""
    if term["type"] == "bnode":
        return f"_:{term['value']}"
    if term["type"] == "triple":
        triple = term["value"]
        return f"<< {_cell(triple['subject'])} {_cell(triple['predicate'])} {_cell(triple['object'])} >>"
    return term["value"]
