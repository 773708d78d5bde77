"""Quality checks that are queries (queries/checks/*-violation.rq) return no rows on the build."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from plan_kg.config import PROJECT_ROOT

CHECKS = sorted((PROJECT_ROOT / "queries" / "checks").glob("*-violation.rq"))


@pytest.fixture(scope="module")
def store(built) -> ox.Store:
    store = ox.Store()
    store.load(path=str(built.out_dir / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def test_there_are_checks():
    assert len(CHECKS) >= 5


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.stem)
def test_check_finds_nothing(store, check):
    rows = list(store.query(check.read_text(encoding="utf-8"), use_default_graph_as_union=True))
    assert rows == []


@pytest.mark.parametrize("check", CHECKS, ids=lambda p: p.stem)
def test_check_can_fail(check):
    """Each check finds the defect it is about in a small broken dataset (so it is not vacuous)."""
    broken = ox.Store()
    base = "https://example.org/id/1/p/"
    broken.load(input=f"""
        @prefix pkg: <https://w3id.org/plan-kg/ontology#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
        <{base}x> a pkg:Initiative ; pkg:parent <{base}y> ; pkg:inPlan <{base}> ; pkg:code "１-x" ;
            skos:prefLabel " 余白"@ja ; skos:broader <{base}y> .
        <{base}y> a pkg:Policy .
    """, format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode("https://example.org/graph/132292/p"))
    rows = list(broken.query(check.read_text(encoding="utf-8"), use_default_graph_as_union=True))
    assert rows, check.name
