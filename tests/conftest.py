"""Shared fixtures: a build of the bundled data into a temporary folder, made once."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plan_kg.build import BuildResult, build
from plan_kg.config import PROJECT_ROOT, Settings

NISHITOKYO = PROJECT_ROOT / "data" / "nishitokyo"
SEED = Settings().shared_dir / "seeds" / "000_5f0c79b4daf8dc9a.txt"


@pytest.fixture(scope="module", autouse=True)
def collect_cycles_in_the_main_thread() -> Iterator[None]:
    """After each test module, free what its tests left in reference cycles (a `pytest.raises` keeps
    the exception, whose traceback keeps the query results of the frames it passed), here in the main
    thread that made them: pyoxigraph's results may not be dropped in another thread, and the next
    module's live server, which runs in a thread, would otherwise be the one to collect them
    ("PyQuerySolutions is unsendable, but is being dropped on another thread")."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The bundled data built once into a temporary dist/ (the repo's dist/ is not touched)."""
    out = tmp_path_factory.mktemp("build") / "dist"
    return build(Settings.load(dist_dir=out), out_dir=out)


def nishitokyo(result: BuildResult):
    """The Nishitokyo plan's summary in a build of several plans."""
    return next(plan for plan in result.plans if plan.slug == "132292-basic-plan-3")


@pytest.fixture()
def plan_copy(tmp_path: Path) -> Settings:
    """Settings over a private copy of the Nishitokyo plan, free to corrupt."""
    data = tmp_path / "data"
    shutil.copytree(NISHITOKYO, data / "nishitokyo")
    shutil.copytree(NISHITOKYO.parent / "sdg", data / "sdg")  # SDG reference and Nishitokyo's curated links
    return Settings.load(data_dir=data, dist_dir=tmp_path / "dist")
