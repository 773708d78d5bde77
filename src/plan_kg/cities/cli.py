"""`plan-kg import` and `plan-kg link-cities`: parse options, call one library function, report.

Register with `main.add_command(import_command)` and `main.add_command(link_cities_command)`.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from ..config import Settings
from ..errors import BuildError, PlanKgError


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"] if ctx.obj and "settings" in ctx.obj else Settings.load()


def _fail(exc: PlanKgError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1 if isinstance(exc, BuildError) else 2)


@click.command(name="import")
@click.argument("items", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--municipality", "municipality_code", required=True,
              help="全国地方公共団体コード, 6 digits with the check digit (e.g. 131202 for 練馬区).")
@click.option("--metadata", "metadata_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="plan.toml with the plan's metadata (see docs/import-format.md); [levels] may be left out.")
@click.option("--folder", default=None, help="Folder name under data/ (default: the municipality code).")
@click.option("--replace", "replace_existing", is_flag=True, help="Replace the folder if it exists.")
@click.pass_context
def import_command(ctx: click.Context, items: Path, municipality_code: str, metadata_path: Path, folder: str | None,
                   replace_existing: bool) -> None:
    """Check a plan (items table as CSV or .xlsx, plus metadata) and add it under data/.

    Exit 0: added; 1: it violates the shapes (nothing written); 2: unusable input, with the
    file, row and column named (e.g. a cell holding a control character other than tab and line
    breaks: it is not text, and XML cannot carry it). docs/import-format.md has every rule.
    """
    from .importer import import_plan

    try:
        result = import_plan(items, municipality_code=municipality_code, metadata_path=metadata_path,
                             settings=_settings(ctx), folder=folder, replace_existing=replace_existing)
    except PlanKgError as exc:
        _fail(exc)
    levels = ", ".join(f"{name} -> pkg:{cls}" for name, cls in result.levels)
    click.echo(f"imported {len(result.plan.items)} items into {result.folder} ({levels})")
    click.echo(result.report.text())


@click.command(name="link-cities")
@click.option("--date", "date_text", default=None, help="Date to stamp on new or changed links (default: today).")
@click.pass_context
def link_cities_command(ctx: click.Context, date_text: str | None) -> None:
    """Recompute the links between items of different cities' plans (data/links/cross-city.csv)."""
    from .links import REJECTED_TABLE, link_cities

    try:
        date = dt.date.fromisoformat(date_text) if date_text else dt.date.today()
    except ValueError:
        raise click.BadParameter(f"'{date_text}' is not a date; write YYYY-MM-DD", param_hint="--date") from None
    try:
        result = link_cities(_settings(ctx), date=date)
    except PlanKgError as exc:
        _fail(exc)
    click.echo(f"{result.links} links ({result.close} closeMatch, {result.related} relatedMatch), "
               f"{result.changed} new or changed, written to {result.path}"
               + (f"; {result.rejected} pair(s) left out as rejected in {result.path.with_name(REJECTED_TABLE.name)}"
                  if result.rejected else ""))
