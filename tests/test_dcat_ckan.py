"""The catalog as a CKAN portal harvests it: ckanext-dcat's own RDF parser (DCAT-AP 3 profile) reads dist/.

CKAN pins its own Flask, SQLAlchemy and more, so it lives in a virtual environment of its own,
.cache/ckan-venv (`make setup-test` makes it from tests/ckan-requirements.txt); tests/ckan_harvest.py
runs there and prints the datasets CKAN would create.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from plan_kg.build import BuildResult
from plan_kg.config import PROJECT_ROOT, Settings
from plan_kg.dcat.catalog import CC_BY_4, FILE_TYPES

CKAN_PYTHON = PROJECT_ROOT / ".cache" / "ckan-venv" / "bin" / "python"
HARVEST = Path(__file__).with_name("ckan_harvest.py")
FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"

pytestmark = pytest.mark.skipif(not CKAN_PYTHON.is_file(),
                                reason="needs CKAN with ckanext-dcat in .cache/ckan-venv: run `make setup-test`")


def harvest(catalog: Path, *options: str) -> list[dict]:
    out = subprocess.run([str(CKAN_PYTHON), str(HARVEST), str(catalog), FORMATS[catalog.suffix[1:]], *options],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def licenses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A portal's license list with CC BY 4.0 by its URL (CKAN's default list knows only older URLs)."""
    path = tmp_path_factory.mktemp("ckan") / "licenses.json"
    path.write_text(json.dumps([{"id": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0", "url": CC_BY_4,
                                 "status": "active"}]), encoding="utf-8")
    return path


def extras(dataset: dict) -> dict[str, str]:
    return {extra["key"]: extra["value"] for extra in dataset.get("extras", [])}


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_every_plan_is_harvested_with_its_files_and_the_endpoint(built: BuildResult, licenses: Path,
                                                                  suffix: str) -> None:
    datasets = {extras(d)["uri"]: d for d in harvest(built.out_dir / f"catalog.{suffix}", "--licenses", str(licenses))}
    assert set(datasets) == {plan.iri for plan in built.plans} | {f"{Settings().base_iri}catalog#plan-kg"}
    catalog = Graph().parse(built.out_dir / "catalog.ttl")
    for plan in built.plans:
        dataset = datasets[plan.iri]
        titles = {t.language: str(t) for t in catalog.objects(URIRef(plan.iri), DCTERMS.title)}
        assert dataset["title"] == titles["en"] and dataset["notes"]
        assert dataset["license_id"] == "CC-BY-4.0"
        assert dataset["url"].endswith(plan.iri.split("/id/", 1)[1] + ".html")  # its landing page
        fields = extras(dataset)
        assert fields["spatial_uri"] == plan.iri.rsplit("/", 1)[0]  # the municipality
        assert fields["temporal_start"] < fields["temporal_end"] and fields["publisher_name"]
        files = {r["url"].split("/downloads/", 1)[1]: r for r in dataset["resources"] if "/downloads/" in r["url"]}
        assert set(files) == {f"plans/{plan.slug}.{extension}" for extension in ("ttl", "jsonld", "csv")}
        for relative, resource in files.items():
            assert int(resource["size"]) == (built.out_dir / relative).stat().st_size
            name = {"ttl": "Turtle", "jsonld": "JSON-LD", "csv": "CSV"}[relative.rsplit(".", 1)[1]]
            assert resource["name"] == f"{titles['en']} ({name})"  # a name people can read, not a path
            fmt = {"ttl": "turtle", "jsonld": "jsonld", "csv": "csv"}[relative.rsplit(".", 1)[1]]
            assert resource["format"] == EU_FILE_TYPE + FILE_TYPES[fmt]
        endpoint = [r for r in dataset["resources"] if "/downloads/" not in r["url"]]
        assert [r["url"] for r in endpoint] == [f"{Settings().base_iri}sparql"]


def test_a_japanese_portal_gets_the_japanese_titles(built: BuildResult) -> None:
    datasets = {extras(d)["uri"]: d for d in harvest(built.out_dir / "catalog.ttl", "--locale", "ja")}
    nishitokyo = datasets[f"{Settings().base_iri}id/132292/basic-plan-3"]
    assert nishitokyo["title"] == "西東京市第3次総合計画 基本計画（中間のまとめ）"
    assert "西東京市第3次総合計画 基本計画（中間のまとめ）（CSV）" in {r["name"] for r in nishitokyo["resources"]}
    assert "SPARQL エンドポイント" in {r["name"] for r in nishitokyo["resources"]}
