"""`plan-kg sdg …`: suggest SDGs for Japanese texts, write a review table for a plan, merge it, draw the chart.

Register with `main.add_command(sdg)`. Each command parses options and calls one library function.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..config import Settings
from ..errors import PlanKgError


def _fail(exc: PlanKgError) -> None:
    """`plan-kg`'s way to end on unusable input: the message without a traceback, exit 2 (imported here: it imports us)."""
    from ..cli import fail

    fail(exc)


def _settings(ctx: click.Context) -> Settings:
    """The settings `plan-kg` built from --config, --data and --base-iri; the defaults when the group runs alone."""
    root = ctx.find_root()
    return root.obj["settings"] if root.obj and "settings" in root.obj else Settings.load()


#: What to do with text on stdin that is neither UTF-8 nor Shift_JIS/CP932.
_CONVERT_STDIN = ("send the text as UTF-8 (or Shift_JIS/CP932); convert it first, naming the encoding it is in, "
                  "e.g. `iconv -f EUC-JP -t UTF-8`")


@click.group(name="sdg")
def sdg() -> None:
    """SDG links: suggestions, review tables, coverage chart."""


@sdg.command()
@click.pass_context
def suggest(ctx: click.Context) -> None:
    """Read Japanese texts (one per line) on stdin; print one JSON object per line with suggested goals and targets.

    The text is read as the importer reads a table: UTF-8 (with or without BOM), else Shift_JIS/CP932.
    """
    from ..source import decode_table
    from .suggest import default_suggester

    try:
        text = decode_table(click.get_binary_stream("stdin").read(), "standard input", advice=_CONVERT_STDIN)
    except PlanKgError as exc:
        _fail(exc)
    texts = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        suggester = default_suggester(_settings(ctx).data_dir)
    except PlanKgError as exc:
        _fail(exc)
    for suggestion in suggester.suggest(texts):
        click.echo(json.dumps({
            "text": suggestion.text,
            "goals": [{"iri": s.iri, "score": s.score} for s in suggestion.goals],
            "targets": [{"iri": s.iri, "score": s.score} for s in suggestion.targets],
        }, ensure_ascii=False))


@sdg.command()
@click.option("--plan", "plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Plan folder (plan.toml + items.csv); default nishitokyo in the data folder (--data).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Review table to write (CSV); fill its 'accept' column, then run 'plan-kg sdg merge'.")
@click.option("--links", "links_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Existing links table, to mark suggestions already linked; "
                   "default sdg/links.csv in the data folder (--data).")
@click.pass_context
def link(ctx: click.Context, plan_dir: Path | None, out: Path, links_csv: Path | None) -> None:
    """Suggest SDG targets for every initiative of a plan and write them to a review table."""
    from ..source import read_plan
    from .review import review_rows, write_review
    from .suggest import default_suggester
    from .training import curated_targets, initiative_texts

    settings = _settings(ctx)
    links_csv = links_csv or settings.data_dir / "sdg" / "links.csv"
    folder = plan_dir or settings.data_dir / "nishitokyo"
    try:
        texts = initiative_texts(read_plan(folder))
        if not texts:  # nothing to review: say so, not "0 suggestions"
            raise PlanKgError(
                f"{folder}: the plan has no initiatives (pkg:Initiative), the level 'sdg link' suggests targets for; "
                f"to link the leaves of a plan with levels of its own, run 'plan-kg sdg suggest-links --plan {folder} "
                "--date YYYY-MM-DD'")
        existing = frozenset((i, t) for i, targets in (curated_targets(links_csv) if links_csv.is_file() else {}).items()
                             for t, _ in targets)
        rows = review_rows(default_suggester(settings.data_dir), texts, existing=existing)
    except PlanKgError as exc:
        _fail(exc)
    write_review(rows, out)
    click.echo(f"{len(rows)} suggestions for {len({r.initiative for r in rows})} initiatives written to {out}")


@sdg.command(name="suggest-links")
@click.option("--plan", "plan_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="Plan folder (plan.toml + items.csv); the links go to its sdg-links.csv.")
@click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Date recorded on every link (YYYY-MM-DD), so that rebuilding gives the same bytes.")
@click.pass_context
def suggest_links(ctx: click.Context, plan_dir: Path, date: dt.datetime) -> None:
    """Link the leaves of a plan nobody has curated yet to the suggester's SDG targets (method 'suggested')."""
    from ..source import read_plan
    from .links import CURATED_PLAN, CURATED_TABLE
    from .review import suggested_links, write_links
    from .suggest import default_suggester

    settings = _settings(ctx)
    try:
        plan = read_plan(plan_dir)
        if (plan.metadata.municipality.code, plan.metadata.plan_id) == CURATED_PLAN:  # the build reads its own table
            raise PlanKgError(f"{plan_dir}: this plan's SDG links are curated, in {settings.data_dir / CURATED_TABLE}, "
                              f"and the build reads no other table for it; suggest-links is for plans nobody has "
                              f"curated: review suggestions with 'plan-kg sdg link' and 'plan-kg sdg merge' instead")
        rows = suggested_links(default_suggester(settings.data_dir), plan, date=date.date())
    except PlanKgError as exc:
        _fail(exc)
    write_links(rows, plan_dir / "sdg-links.csv")
    click.echo(f"{len(rows)} suggested links for {len({r['initiative'] for r in rows})} elements "
               f"written to {plan_dir / 'sdg-links.csv'}")


@sdg.command()
@click.option("--review", "review_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The review table `plan-kg sdg link` wrote, with its accept column filled in.")
@click.option("--links", "links_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Links table to extend; default sdg/links.csv in the data folder (--data).")
@click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Date of the review (YYYY-MM-DD), recorded on every added link.")
@click.option("--method-version", default="1.0", show_default=True,
              help="The version of the linking method, recorded on every added link (pkg:methodVersion).")
@click.pass_context
def merge(ctx: click.Context, review_csv: Path, links_csv: Path | None, date: dt.datetime, method_version: str) -> None:
    """Add the accepted rows of a review table to the links table as curated links."""
    from .review import merge_accepted

    links_csv = links_csv or _settings(ctx).data_dir / "sdg" / "links.csv"
    try:
        result = merge_accepted(review_csv, links_csv, date=date.date(), method_version=method_version)
    except PlanKgError as exc:
        _fail(exc)
    click.echo(f"added {result.added}, already present {result.already_present}, not accepted {result.rejected}")


@sdg.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write sdg-coverage.png and .svg into (made if missing).")
@click.option("--links", "links_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Links table to draw; default sdg/links.csv in the data folder (--data).")
@click.pass_context
def chart(ctx: click.Context, out_dir: Path, links_csv: Path | None) -> None:
    """Draw the coverage chart (initiatives per SDG goal) as PNG and SVG."""
    from .chart import coverage_chart, goal_counts
    from .training import curated_targets

    links_csv = links_csv or _settings(ctx).data_dir / "sdg" / "links.csv"
    try:
        links = {code: tuple(t for t, _ in targets) for code, targets in curated_targets(links_csv).items()}
    except PlanKgError as exc:
        _fail(exc)
    files = coverage_chart(goal_counts(links), out_dir)
    click.echo(f"{files.png}\n{files.svg}")
