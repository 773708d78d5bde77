"""Ontology documentation: pyLODE's page of every term, with the shapes summarised, the same on every build."""

from __future__ import annotations

import re

import pytest
from rdflib import OWL, RDF, Graph, Namespace

from plan_kg.build import BuildResult
from plan_kg.config import Settings
from plan_kg.dcat.docs import ontology_html, pylode_available, shapes_summary

SH = Namespace("http://www.w3.org/ns/shacl#")
pytestmark = pytest.mark.skipif(not pylode_available(), reason="pyLODE is not installed (pip install 'pylode>=3.4,<3.5')")


def test_every_class_and_property_is_documented(built: BuildResult) -> None:
    page = (built.out_dir / "ontology.html").read_text(encoding="utf-8")
    ontology = Graph()
    for path in Settings().ontology_dir.glob("*.ttl"):
        ontology.parse(path)
    terms = set(ontology.subjects(RDF.type, OWL.Class)) | set(ontology.subjects(RDF.type, OWL.ObjectProperty))
    missing = [str(t) for t in terms if str(t).startswith("https://w3id.org/plan-kg/") and str(t) not in page]
    assert not missing


def test_every_term_has_an_anchor_named_after_its_fragment() -> None:
    """`…/ontology#BasicGoal` lands on its entry: pyLODE names a class's block after its label (`Basicgoal`), and
    does not render concept schemes (plan status, completeness, link methods) or their concepts at all."""
    settings = Settings()
    page = ontology_html(settings.ontology_dir, settings.shapes_dir / "plan-kg.ttl")
    ontology = Graph()
    for path in settings.ontology_dir.glob("*.ttl"):
        ontology.parse(path)
    namespace = "https://w3id.org/plan-kg/ontology#"
    fragments = {str(t)[len(namespace):] for t in ontology.subjects() if str(t).startswith(namespace)}
    assert {"BasicGoal", "SdgLinkMethod", "StatusScheme", "Draft", "curated"} <= fragments
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert sorted(fragments - set(ids)) == []
    assert sorted(name for name in set(ids) if ids.count(name) > 1) == []  # HTML: an id names one element
    concepts = page[page.index('<section id="concepts">'):]
    assert "素案 / Draft" in concepts and "SDG 対応づけの方法の体系 / SDG link methods" in concepts


def test_every_shape_is_summarised() -> None:
    shapes = Graph().parse(Settings().shapes_dir / "plan-kg.ttl")
    summary = shapes_summary(shapes)
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        assert str(shape).rsplit("#", 1)[-1] in summary


def test_the_page_is_the_same_every_time() -> None:
    settings = Settings()
    args = (settings.ontology_dir, settings.shapes_dir / "plan-kg.ttl")
    assert ontology_html(*args) == ontology_html(*args)


def test_the_pages_links_to_the_site_start_with_the_path_it_is_served_under() -> None:
    """Served behind a reverse proxy at /nishitokyo/ (`public_base_iri`), as /nishitokyo/downloads/ontology.html."""
    settings = Settings()
    page = ontology_html(settings.ontology_dir, settings.shapes_dir / "plan-kg.ttl", root="/nishitokyo")
    site = [link for link in re.findall(r'\b(?:href|src)="(/[^"]*)"', page) if not link.startswith("//")]
    assert "/nishitokyo/assets/ontology/pylode.css" in site and "/nishitokyo/downloads/shapes.ttl" in site
    assert [link for link in site if not link.startswith("/nishitokyo/")] == []


def test_pylode_leaves_the_applications_logging_alone() -> None:
    import logging
    import subprocess
    import sys

    code = ("import logging; from pathlib import Path; from plan_kg.dcat.docs import ontology_html; "
            "from plan_kg.config import Settings; s = Settings(); "
            "ontology_html(s.ontology_dir, s.shapes_dir / 'plan-kg.ttl'); "
            "r = logging.getLogger(); print(len(r.handlers), r.level)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", str(logging.WARNING)]
    assert "INFO" not in out.stderr and "DEBUG" not in out.stderr


def test_a_phone_shows_the_page_at_its_own_width(built: BuildResult) -> None:
    """pyLODE writes no viewport, so a phone laid the page out 980 px wide and showed it zoomed out; the rest of
    its head is left as pyLODE wrote it (the stylesheet a file, for the policy below)."""
    page = (built.out_dir / "ontology.html").read_text(encoding="utf-8")
    head = page[:page.index("</head>")]
    assert head.count('<meta name="viewport" content="width=device-width, initial-scale=1">') == 1
    assert head.count("<title>") == 1 and head.count('rel="stylesheet"') == 1


def test_no_inline_style_for_the_content_security_policy(built: BuildResult) -> None:
    page = (built.out_dir / "ontology.html").read_text(encoding="utf-8")
    assert "<style" not in page and ' style="' not in page
