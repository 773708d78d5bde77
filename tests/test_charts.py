"""SDG coverage pictures: built into dist/ and shown on the home page and on each plan's page."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.testclient import TestClient

from plan_kg import web
from plan_kg.config import Settings


def client(built) -> TestClient:
    store = ox.Store()
    store.load(path=str(built.out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    settings = Settings.load(dist_dir=built.out_dir)
    return TestClient(Starlette(routes=web.routes(settings, store)))


def test_charts_are_built(built):
    for name in ("plans/132292-basic-plan-3-sdg-coverage", "sdg-coverage-by-city"):
        assert (built.out_dir / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        svg = (built.out_dir / f"{name}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg
    bars = (built.out_dir / "plans/132292-basic-plan-3-sdg-coverage.svg").read_text(encoding="utf-8")
    assert "#e5243b" in bars.lower() and "#19486a" in bars.lower()  # goal 1 red … goal 17 navy


def test_home_and_plan_pages_show_them(built):
    with client(built) as http:
        home = http.get("/").text
        assert 'src="/downloads/plans/132292-basic-plan-3-sdg-coverage.svg"' in home
        assert 'src="/downloads/sdg-coverage-by-city.svg"' in home
        plan = http.get("/id/132292/basic-plan-3.html").text
        assert 'src="/downloads/plans/132292-basic-plan-3-sdg-coverage.svg"' in plan
        assert "sdg-coverage" not in http.get("/id/132292/basic-plan-3/1-1.html").text
        image = http.get("/downloads/plans/132292-basic-plan-3-sdg-coverage.svg")
        assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
