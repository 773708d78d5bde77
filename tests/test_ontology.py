"""The ontology is the one place terms are declared; everything else refers to it."""

from __future__ import annotations

import json
import re

import pytest
from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.namespace import SKOS

from plan_kg.build import load_ontology
from plan_kg.config import PROJECT_ROOT, Settings
from plan_kg.publish import json_ld_context

PKG = "https://w3id.org/plan-kg/ontology#"
ONTOLOGY = load_ontology(Settings())
DECLARED = {s for s in ONTOLOGY.subjects() if isinstance(s, URIRef) and str(s).startswith(PKG)}
TERM_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
SH_TARGET_CLASS = URIRef("http://www.w3.org/ns/shacl#targetClass")


def pkg_terms_in(text: str) -> set[URIRef]:
    full = {URIRef(m) for m in re.findall(r"https://w3id\.org/plan-kg/ontology#[A-Za-z]+", text)}
    short = {URIRef(PKG + m) for m in re.findall(r"(?<![\w/])pkg:([A-Za-z]+)", text)}
    return full | short


def test_ontology_metadata():
    onto = URIRef("https://w3id.org/plan-kg/ontology")
    for prop in (OWL.versionIRI, URIRef("http://purl.org/dc/terms/license"), URIRef("http://purl.org/dc/terms/creator"),
                 URIRef("http://purl.org/dc/terms/created"), URIRef("http://purl.org/dc/terms/modified")):
        assert ONTOLOGY.value(onto, prop) is not None, prop


@pytest.mark.parametrize("term", sorted(s for s in DECLARED if set(ONTOLOGY.objects(s, RDF.type)) & TERM_TYPES),
                         ids=lambda t: str(t).rsplit("#", 1)[-1])
def test_every_term_has_label_and_definition_in_japanese_and_english(term):
    for prop in (RDFS.label, SKOS.definition):
        languages = {o.language for o in ONTOLOGY.objects(term, prop)}
        assert {"ja", "en"} <= languages, (term, prop)


@pytest.mark.parametrize("path", sorted([*PROJECT_ROOT.glob("shapes/*.ttl"), *PROJECT_ROOT.glob("queries/**/*.rq"),
                                         *PROJECT_ROOT.glob("src/plan_kg/**/*.py")]),
                         ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_shapes_queries_and_code_name_only_declared_terms(path):
    unknown = pkg_terms_in(path.read_text(encoding="utf-8")) - DECLARED
    assert not unknown, f"{path.name} names terms the ontology lacks: {sorted(unknown)}"


def test_json_ld_context_names_only_declared_terms():
    unknown = pkg_terms_in(json.dumps(json_ld_context())) - DECLARED
    assert not unknown


def test_every_class_has_a_shape():
    shapes = Graph()
    for path in PROJECT_ROOT.glob("shapes/*.ttl"):
        shapes.parse(path)
    targeted = set(shapes.objects(None, SH_TARGET_CLASS))
    classes = {c for c in ONTOLOGY.subjects(RDF.type, OWL.Class) if str(c).startswith(PKG)}
    # Code lists (status, completeness, link methods) are enumerated in the ontology itself and
    # checked by sh:in on the properties that use them.
    code_lists = {c for c in classes if any(True for _ in ONTOLOGY.subjects(RDF.type, c))}
    missing = classes - targeted - code_lists
    assert not missing, sorted(missing)
