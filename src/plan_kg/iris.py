"""IRI minting: one place, deterministic, readable, dereferenceable.

Patterns (relative to the base IRI, default https://w3id.org/plan-kg/):

    id/{municipality_code}                          the municipality
    id/{municipality_code}/{plan_id}                the plan (also its skos:ConceptScheme)
    id/{municipality_code}/{plan_id}/{item_code}    a plan element, e.g. .../1-3-2
    graph/{municipality_code}/{plan_id}             named graph of the asserted plan data
    graph/{municipality_code}/{plan_id}/inferred     named graph of what OWL RL reasoning adds

Ontology terms are hash IRIs under ONTOLOGY (fixed, not under the configurable base).
"""

from __future__ import annotations

import re

from rdflib import Namespace, URIRef

ONTOLOGY_IRI = "https://w3id.org/plan-kg/ontology"
PKG = Namespace(ONTOLOGY_IRI + "#")
SDG = Namespace("http://metadata.un.org/sdg/")

_CODE = re.compile(r"^[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*$")
_MUNICIPALITY_CODE = re.compile(r"^[0-9]{6}$")
_PLAN_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{what} {value!r} does not match {pattern.pattern}")
    return value


def municipality_iri(base: str, municipality_code: str) -> URIRef:
    return URIRef(f"{base}id/{_check(municipality_code, _MUNICIPALITY_CODE, 'municipality code')}")


def plan_iri(base: str, municipality_code: str, plan_id: str) -> URIRef:
    return URIRef(f"{municipality_iri(base, municipality_code)}/{_check(plan_id, _PLAN_ID, 'plan id')}")


def item_iri(base: str, municipality_code: str, plan_id: str, item_code: str) -> URIRef:
    return URIRef(f"{plan_iri(base, municipality_code, plan_id)}/{_check(item_code, _CODE, 'item code')}")


def plan_graph_iri(base: str, municipality_code: str, plan_id: str) -> URIRef:
    _check(municipality_code, _MUNICIPALITY_CODE, "municipality code")
    return URIRef(f"{base}graph/{municipality_code}/{_check(plan_id, _PLAN_ID, 'plan id')}")


def inferred_graph_iri(base: str, municipality_code: str, plan_id: str) -> URIRef:
    return URIRef(f"{plan_graph_iri(base, municipality_code, plan_id)}/inferred")


def ontology_graph_iri(base: str) -> URIRef:
    return URIRef(f"{base}graph/ontology")


def is_item_code(code: str) -> bool:
    return bool(_CODE.match(code))


def is_plan_id(plan_id: str) -> bool:
    return bool(_PLAN_ID.match(plan_id))
