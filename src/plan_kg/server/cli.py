"""`plan-kg serve` and `plan-kg query NAME`: parse options, call one library function."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PlanKgError, QueryError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, type=int, show_default=True, help="Port to listen on.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the SPARQL endpoint (/sparql) and the pages; builds dist/ first if it is missing."""
    from ..cli import fail
    from .app import run_serve

    try:
        run_serve(ctx.obj["settings"], host=host, port=port)
    except PlanKgError as exc:
        fail(exc)


@click.command()
@click.argument("name")
@click.option("--format", "format_name", default="table", show_default=True,
              help="table (aligned text), csv, tsv, json or xml for SELECT/ASK; turtle, ntriples, jsonld or rdfxml "
                   "for CONSTRUCT/DESCRIBE (which print Turtle when 'table' is asked).")  # fmt: skip
@click.pass_context
def query(ctx: click.Context, name: str, format_name: str) -> None:
    """Run the named query NAME (queries/NAME.rq), or a .rq file, over the built data; print the result.

    It runs as the endpoint runs queries: read-only, within the time and row limits.
    """
    from ..cli import fail
    from ..named_queries import find_named_query
    from .app import ensure_built
    from .service import QueryRequest, QueryService
    from .worker import QueryRejected

    settings = ctx.obj["settings"]
    try:
        path = Path(name)
        text = path.read_text(encoding="utf-8") if path.suffix == ".rq" and path.is_file() else None
        text = text if text is not None else find_named_query(settings, name).text
        ensure_built(settings)
        service = QueryService.for_settings(settings)
        as_table = format_name == "table"
        result = service.run(QueryRequest(text, accept="text/csv, text/turtle;q=0.9" if as_table else None,
                                          format=None if as_table else format_name))
    except QueryRejected as exc:
        fail(QueryError(f"{name}: {exc.message}"))
    except (PlanKgError, UnicodeDecodeError, OSError) as exc:
        fail(exc if isinstance(exc, PlanKgError) else QueryError(f"{name}: {exc}"))
    if as_table and result.media_type.startswith("text/csv"):
        click.echo(_table(result.body))
    else:
        click.get_binary_stream("stdout").write(result.body)


def _table(csv_body: bytes) -> str:
    """SPARQL CSV results as an aligned text table (Japanese double-width characters counted as two)."""
    import csv
    import io

    from prettytable import PrettyTable

    rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8"), newline="")))
    table = PrettyTable(rows[0] if rows else [])
    table.align = "l"
    for row in rows[1:]:
        table.add_row(row)
    return f"{table.get_string()}\n{len(rows) - 1} row(s)"
