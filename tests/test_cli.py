"""The command line as a user meets it: a subprocess, exit codes, readable errors."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from plan_kg.cli import main


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plan_kg", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_every_command_has_help():
    assert run("--help").returncode == 0
    for name in main.commands:
        result = run(name, "--help")
        assert result.returncode == 0, name
        assert "Usage:" in result.stdout


def _commands(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def test_every_option_of_every_command_says_what_it_is_for() -> None:
    """`plan-kg sdg merge --help` listed --review and --method-version, and `sdg chart` --out, with no word on them."""
    bare = [f"{path} {'/'.join(param.opts)}" for path, command in _commands(main, "plan-kg")
            for param in command.params if isinstance(param, click.Option) and not param.help and not param.hidden]
    assert bare == []


def test_build_then_validate(plan_copy):
    common = ["--data", str(plan_copy.data_dir), "--out", str(plan_copy.dist_dir)]
    result = run(*common, "build")
    assert result.returncode == 0, result.stderr
    assert "BasicGoal 6, Initiative 109, Measure 37" in result.stdout
    assert "1 warning(s)" in result.stdout
    assert (plan_copy.dist_dir / "plan-kg.trig").exists()
    assert run(*common, "validate").returncode == 0


@pytest.mark.parametrize(("old", "new", "code", "words"), [
    ("1-1-1,基本施策,市民主体のまちづくりの推進,1-1", "1-1-1,基本施策,市民主体のまちづくりの推進,1", 1,
     "A measure's parent is exactly one policy."),
    ("1-1-1-2,目標", "1-1-1-1,目標", 2, "row 6, column 'code': code 1-1-1-1 is used again (first on row 5)"),
])
def test_validate_exit_codes_and_messages(plan_copy, old, new, code, words):
    items = plan_copy.data_dir / "nishitokyo" / "items.csv"
    items.write_text(items.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    result = run("--data", str(plan_copy.data_dir), "--out", str(plan_copy.dist_dir), "validate")
    assert result.returncode == code
    assert words in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


#: `plan-kg ARGS…` with a build that stops itself with SIGTERM while it writes (as `kill`, systemd and `docker stop`
#: stop it): the sources are not read, nothing is checked, one file is written, then the signal.
_TERMINATED_BUILD = """
import os, signal, sys, time
import plan_kg.build as build
from plan_kg.validation import ValidationReport

build.assemble = lambda settings: build.Assembly(graphs=[], built=[], ontology=None, checked=[], timings={})
build._validate = lambda *args: ValidationReport(conforms=True, findings=(), seconds=0.0)

def write_all(settings, out, *args):
    (out / "plan-kg.nq").write_text("half\\n", encoding="utf-8")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)

build._write_all = write_all
from plan_kg.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", [["build"], ["serve", "--port", "0"]])  # serve builds a missing dist/ first
def test_a_build_stopped_by_sigterm_leaves_no_half_written_folder(tmp_path, command) -> None:
    """Python's default for SIGTERM ends the process without unwinding: the `.dist-building-*` folder stayed beside
    dist/ for good, where Ctrl-C removed it."""
    result = subprocess.run([sys.executable, "-c", _TERMINATED_BUILD, "--out", str(tmp_path / "dist"), *command],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == []
