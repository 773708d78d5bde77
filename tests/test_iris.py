import pytest
from hypothesis import given
from hypothesis import strategies as st

from plan_kg.config import DEFAULT_BASE_IRI
from plan_kg.iris import inferred_graph_iri, item_iri, municipality_iri, plan_graph_iri, plan_iri

codes = st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=4).map(
    lambda parts: "-".join(map(str, parts)))


def test_documented_patterns():
    base = DEFAULT_BASE_IRI
    assert str(municipality_iri(base, "132292")) == "https://w3id.org/plan-kg/id/132292"
    assert str(plan_iri(base, "132292", "basic-plan-3")) == "https://w3id.org/plan-kg/id/132292/basic-plan-3"
    assert str(item_iri(base, "132292", "basic-plan-3", "1-3-2")) == \
        "https://w3id.org/plan-kg/id/132292/basic-plan-3/1-3-2"
    assert str(plan_graph_iri(base, "132292", "basic-plan-3")) == "https://w3id.org/plan-kg/graph/132292/basic-plan-3"
    assert str(inferred_graph_iri(base, "132292", "basic-plan-3")).endswith("/basic-plan-3/inferred")


def test_base_is_configurable():
    assert str(item_iri("http://localhost:8000/", "132292", "p", "1")) == "http://localhost:8000/id/132292/p/1"


@pytest.mark.parametrize("bad", ["１-３", "1 3", "1/3", "", "1--3", "../x"])
def test_bad_codes_are_refused(bad):
    with pytest.raises(ValueError):
        item_iri(DEFAULT_BASE_IRI, "132292", "p", bad)


@given(codes, codes)
def test_minting_is_deterministic_and_collision_free(a, b):
    iri_a = item_iri(DEFAULT_BASE_IRI, "132292", "basic-plan-3", a)
    assert iri_a == item_iri(DEFAULT_BASE_IRI, "132292", "basic-plan-3", a)
    assert (iri_a == item_iri(DEFAULT_BASE_IRI, "132292", "basic-plan-3", b)) == (a == b)
