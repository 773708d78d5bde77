"""The `plan-kg` command: thin wrappers that parse options and call one library function.

Exit codes: 0 success; 1 the data violates the shapes; 2 unusable input (a clear message
names the file, row and column).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .config import Settings
from .errors import BuildError, PlanKgError, SourceError


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plan-kg")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Settings file (default: plan-kg.toml at the project root, if present).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of plans (each a folder with plan.toml and items.csv). Default: data/.")
@click.option("--out", "dist_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Output folder. Default: dist/.")
@click.option("--base-iri", default=None, help="Base of every data IRI. Default: https://w3id.org/plan-kg/.")
@click.option("--engine", "reasoning_engine", type=click.Choice(["owlrl", "reasonable"]), default=None,
              help="OWL RL engine: owlrl (the reference, default) or reasonable (same inferences, faster).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None, dist_dir: Path | None,
         base_iri: str | None, reasoning_engine: str | None) -> None:
    """plan-kg: a municipality's comprehensive plan (総合計画) as linked open data."""
    try:
        settings = Settings.load(config, data_dir=data_dir, dist_dir=dist_dir, base_iri=base_iri,
                                 reasoning_engine=reasoning_engine)
    except (SourceError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = {"settings": settings}


def fail(exc: PlanKgError) -> None:
    """Print a user error without a traceback and exit with its code."""
    code = 1 if isinstance(exc, BuildError) and "violation" in str(exc) else 2
    click.echo(f"error: {exc}", err=True)
    sys.exit(code)


@main.command()
@click.pass_context
def build(ctx: click.Context) -> None:
    """Build the knowledge graph: sources -> RDF -> OWL RL reasoning -> SHACL -> dist/.

    A failed build leaves the previous output folder exactly as it was.
    """
    from .build import build as run_build
    from .interrupt import terminated_as_interrupted

    try:
        with terminated_as_interrupted():
            result = run_build(_settings(ctx))
    except PlanKgError as exc:
        fail(exc)
    for plan in result.plans:
        counts = ", ".join(f"{k} {v}" for k, v in plan.counts.items())
        click.echo(f"{plan.slug}: {counts}; {plan.asserted_triples} asserted + {plan.inferred_triples} inferred triples")
    click.echo(result.report.text())
    timings = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in result.timings.items())
    click.echo(f"timings: {timings}")
    click.echo(f"published {len(result.files)} files in {result.out_dir}")


@main.command()
@click.pass_context
def validate(ctx: click.Context) -> None:
    """Check the sources against the SHACL shapes without publishing anything.

    Exit 0: conforms (warnings allowed); 1: violations; 2: unusable input.
    """
    from .build import validate_sources

    try:
        report = validate_sources(_settings(ctx))
    except PlanKgError as exc:
        fail(exc)
    click.echo(report.text())
    sys.exit(0 if report.conforms else 1)


def _register_optional_commands() -> None:
    """Commands of the server and SDG packages, when installed alongside."""
    try:
        from .server.cli import serve, query  # noqa: F401
    except ImportError:
        pass
    else:
        main.add_command(serve)
        main.add_command(query)
    try:
        from .export.cli import publish, push
    except ImportError:
        pass
    else:
        main.add_command(publish)
        main.add_command(push)
    try:
        from .sdg.cli import sdg
    except ImportError:
        pass
    else:
        main.add_command(sdg)
    try:
        from .cities.cli import import_command, link_cities_command
    except ImportError:
        pass
    else:
        main.add_command(import_command)
        main.add_command(link_cities_command)


_register_optional_commands()
