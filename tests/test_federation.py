"""Federation: a query with SERVICE joins two plan-kg endpoints on loopback.

Endpoint A serves Nishitokyo's plan; endpoint B serves Nerima's plan and the cross-city
links, and has A on its `service_allow_list`. A query sent to B follows B's links to
Nishitokyo's items and fetches their labels from A. The client is SPARQLWrapper.
"""

from __future__ import annotations

import urllib.error
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from plan_kg.cities.links import LINKS_TABLE, links_graph, read_links
from plan_kg.config import Settings
from plan_kg.iris import plan_graph_iri
from plan_kg.rdf import plan_graph
from plan_kg.source import read_plan

server_fixtures = pytest.importorskip("server_fixtures")
SPARQLWrapper = pytest.importorskip("SPARQLWrapper")

NERIMA_S6 = "https://w3id.org/plan-kg/id/131202/vision-3/S6"


def dump(graphs: list[Graph], dist: Path) -> Settings:
    """Write `graphs` as dist/plan-kg.nq (each in its own named graph); settings serving it."""
    store = ox.Store()
    for graph in graphs:
        name = ox.NamedNode(str(graph.identifier))
        for quad in ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES):
            store.add(ox.Quad(quad.subject, quad.predicate, quad.object, name))
    dist.mkdir(parents=True)
    store.dump(output=str(dist / "plan-kg.nq"), format=ox.RdfFormat.N_QUADS)
    return replace(Settings(), root=dist.parent, dist_dir=dist)


def plan(folder: str) -> Graph:
    """The asserted graph of data/<folder>, in its own named graph as the build publishes it."""
    settings = Settings()
    source = read_plan(settings.data_dir / folder)
    name = plan_graph_iri(settings.base_iri, source.metadata.municipality.code, source.metadata.plan_id)
    return plan_graph(source, base=settings.base_iri, identifier=name)


def federated_query(nishitokyo_endpoint: str) -> str:
    return f"""
PREFIX pkg: <https://w3id.org/plan-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?nerima ?score ?counterpart ?nishitokyo WHERE {{
  <{NERIMA_S6}> skos:prefLabel ?nerima .
  ?link pkg:linkedElement <{NERIMA_S6}> , ?counterpart ; pkg:similarityScore ?score .
  FILTER (?counterpart != <{NERIMA_S6}>)
  SERVICE <{nishitokyo_endpoint}> {{ ?counterpart skos:prefLabel ?nishitokyo }}
}}
ORDER BY DESC(?score)"""


def test_a_service_query_joins_links_on_one_endpoint_with_labels_on_another(tmp_path: Path) -> None:
    settings = Settings()
    links = links_graph(read_links(settings.data_dir / LINKS_TABLE), base=settings.base_iri)
    a_settings = dump([plan("nishitokyo")], tmp_path / "a" / "dist")
    with server_fixtures.live_server(a_settings) as endpoint_a:
        b_settings = replace(dump([plan("nerima"), links], tmp_path / "b" / "dist"), service_allow_list=(endpoint_a,))
        with server_fixtures.live_server(b_settings) as endpoint_b:
            client = SPARQLWrapper.SPARQLWrapper(endpoint_b)
            client.setReturnFormat(SPARQLWrapper.JSON)
            client.setQuery(federated_query(endpoint_a))
            rows = client.query().convert()["results"]["bindings"]
            # The same query without SERVICE on B alone finds no Nishitokyo labels: they live on A.
            client.setQuery(federated_query(endpoint_a).replace(f"SERVICE <{endpoint_a}>", ""))
            local_only = client.query().convert()["results"]["bindings"]
    assert rows, "the federated query returned nothing"
    assert rows[0]["nerima"]["value"] == "元気高齢者の活躍と健康づくり・フレイル予防の推進"
    assert rows[0]["nishitokyo"]["value"] == "フレイル予防の推進"
    assert rows[0]["counterpart"]["value"].endswith("/132292/basic-plan-3/3-2-2-2")
    assert local_only == []


def test_a_service_not_on_the_allow_list_is_refused(tmp_path: Path) -> None:
    settings = dump([plan("nerima")], tmp_path / "dist")
    with server_fixtures.live_server(settings) as endpoint:
        client = SPARQLWrapper.SPARQLWrapper(endpoint)
        client.setReturnFormat(SPARQLWrapper.JSON)
        client.setQuery(federated_query("http://127.0.0.1:9/sparql"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            client.query()
    assert refused.value.code == 403
