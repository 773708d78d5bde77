"""The build record: a dist/ built from other inputs is built again by `plan-kg serve` and `plan-kg query`."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyoxigraph
import pytest

import plan_kg
from plan_kg.build import build
from plan_kg.build_record import RECORD_NAME, build_modules, changed_inputs
from plan_kg.config import Settings
from plan_kg.errors import BuildError
from plan_kg.server.run import ensure_built
from plan_kg.web.pages import Site

from conftest import NISHITOKYO
from test_build import CORRUPTIONS, _edit, digest

LABEL = "地域コミュニティの強化"
EDITED = "地域コミュニティの強化と支援"


@pytest.fixture(scope="module")
def nishitokyo_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nishitokyo alone, built once; each test starts from a copy of this output and of its sources."""
    root = tmp_path_factory.mktemp("recorded")
    shutil.copytree(NISHITOKYO, root / "data" / "nishitokyo")
    shutil.copytree(NISHITOKYO.parent / "sdg", root / "data" / "sdg")
    return build(Settings.load(data_dir=root / "data", dist_dir=root / "dist")).out_dir


@pytest.fixture()
def settings(plan_copy: Settings, nishitokyo_dist: Path) -> Settings:
    """The sources the build was made from, and a copy of that build as dist/."""
    shutil.copytree(nishitokyo_dist, plan_copy.dist_dir)
    return plan_copy


def test_a_build_records_its_inputs_and_nothing_of_where_it_was_made(settings: Settings, nishitokyo_dist: Path) -> None:
    record = (settings.dist_dir / RECORD_NAME).read_text(encoding="utf-8")
    assert changed_inputs(settings) == ()
    inputs = json.loads(record)["inputs"]
    assert {"the sources (data/)", "the ontology (ontology/)", "the shapes (shapes/)", "the base IRI (base_iri)",
            "the public base IRI (public_base_iri)"} <= set(inputs)
    assert str(nishitokyo_dist.parent) not in record and str(settings.dist_dir.parent) not in record


def test_an_edited_source_is_built_again_before_serving(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    _edit(settings.data_dir / "nishitokyo" / "items.csv", LABEL, EDITED)
    assert changed_inputs(settings) == ("the sources (data/)",)
    with caplog.at_level(logging.WARNING):
        ensure_built(settings)
    assert "was built from other inputs than there are now (the sources (data/) changed)" in caplog.text
    assert EDITED in (settings.dist_dir / "plan-kg.nq").read_text(encoding="utf-8")
    assert changed_inputs(settings) == ()


def test_a_source_edited_while_it_builds_makes_the_build_stale(plan_copy: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import plan_kg.build

    read = plan_kg.build.assemble

    def read_then_edit(settings: Settings):  # noqa: ANN202 - the build's own Assembly
        assembly = read(settings)
        _edit(settings.data_dir / "nishitokyo" / "items.csv", LABEL, EDITED)  # after the sources were read
        return assembly

    monkeypatch.setattr(plan_kg.build, "assemble", read_then_edit)
    build(plan_copy)
    assert EDITED not in (plan_copy.dist_dir / "plan-kg.nq").read_text(encoding="utf-8")
    assert changed_inputs(plan_copy) == ("the sources (data/)",)  # so serve builds it again


def test_a_current_build_is_served_as_it_is(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    before = digest(settings.dist_dir)
    with caplog.at_level(logging.WARNING):
        ensure_built(settings)
    assert digest(settings.dist_dir) == before
    assert not caplog.text


def test_another_base_iri_or_other_shapes_make_the_build_stale(settings: Settings) -> None:
    assert changed_inputs(replace(settings, base_iri="https://example.org/kg/")) == ("the base IRI (base_iri)",)
    # Each named as it is set: a new public address is not said to be a new base IRI.
    assert changed_inputs(replace(settings, public_base_iri="https://example.org/kg/")) == (
        "the public base IRI (public_base_iri)",)
    shapes = settings.dist_dir.parent / "shapes"
    shutil.copytree(settings.shapes_dir, shapes)
    assert changed_inputs(replace(settings, shapes_dir=shapes)) == ()  # the same files elsewhere
    (shapes / "plan-kg.ttl").write_text((shapes / "plan-kg.ttl").read_text(encoding="utf-8") + "\n# edited\n",
                                        encoding="utf-8")
    assert changed_inputs(replace(settings, shapes_dir=shapes)) == ("the shapes (shapes/)",)
    # The same engine's output either way (tests/test_build.py): switching it is not a reason to build.
    assert changed_inputs(replace(settings, reasoning_engine="reasonable")) == ()


def test_a_dist_without_a_record_is_served_as_it_is_with_a_warning(settings: Settings,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    (settings.dist_dir / RECORD_NAME).unlink()
    _edit(settings.data_dir / "nishitokyo" / "items.csv", LABEL, EDITED)
    before = digest(settings.dist_dir)
    assert changed_inputs(settings) is None
    with caplog.at_level(logging.WARNING):
        ensure_built(settings)
    assert digest(settings.dist_dir) == before  # made by hand, perhaps: not replaced
    assert "has no build record" in caplog.text and "`plan-kg build`" in caplog.text


@pytest.mark.parametrize("corruption", ["duplicate code", "measure under a goal"])
def test_a_failed_rebuild_says_why_and_keeps_the_previous_build(settings: Settings, corruption: str) -> None:
    before = digest(settings.dist_dir)
    CORRUPTIONS[corruption](settings.data_dir / "nishitokyo")
    with pytest.raises(BuildError) as info:
        ensure_built(settings)
    message = str(info.value)
    assert "is out of date (the sources (data/) changed since it was built)" in message
    assert "the previous build is unchanged" in message
    assert "items.csv" in message or "basic-plan-3/1-1-1" in message  # the build's own error, with where
    assert digest(settings.dist_dir) == before


def test_the_record_is_not_a_download(settings: Settings) -> None:
    names = [download.name for download in Site(settings, pyoxigraph.Store()).downloads()]
    assert "plan-kg.nq" in names and not [name for name in names if RECORD_NAME in name]


def test_the_code_digest_covers_what_the_build_imports_and_not_the_server_or_the_command_line() -> None:
    """Editing the server, the pages, the exports or the CLI does not make a build stale; editing what it runs does."""
    script = "import sys, plan_kg.build; print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('plan_kg')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    imported = {Path(line).resolve() for line in out.split()}
    digested = set(build_modules())
    assert imported <= digested  # every module a build runs (the lazy imports are read too)
    names = {path.relative_to(Path(plan_kg.__file__).parent).as_posix() for path in digested}
    assert {"build.py", "reasoning.py", "validation.py", "dcat/docs.py", "sdg/suggest.py", "cities/links.py"} <= names
    assert not {name for name in names if name.split("/")[0] in ("server", "web", "export")}
    assert not {"cli.py", "cities/importer.py", "cities/cli.py", "sdg/cli.py", "content_coding.py", "dcat/routes.py"} & names
