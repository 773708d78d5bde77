"""plan_kg.server.service and .store: the query API the CLI reuses, over a store loaded once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plan_kg.server import QueryRejected, QueryRequest, QueryService, StoreError, load_store
from server_fixtures import ONTOLOGY_GRAPH, PLAN_GRAPH, sample_settings, write_dump


def test_the_store_holds_the_named_graphs_and_is_reused(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path)
    first = load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store")
    assert first.graphs == (PLAN_GRAPH, ONTOLOGY_GRAPH)  # sorted
    marker = first.path / "KEEP"
    marker.write_text("")
    assert load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store").path == first.path
    assert marker.exists()  # unchanged dump: not reloaded
    write_dump(settings.dist_dir, f"<urn:x:a> <urn:x:b> <urn:x:c> <{PLAN_GRAPH}> .\n")
    reloaded = load_store(settings.dist_dir / "plan-kg.nq", tmp_path / "store")
    assert reloaded.graphs == (PLAN_GRAPH,)
    assert reloaded.path != first.path and marker.exists()  # a running server may still read the old one


def test_the_default_graph_is_the_set_union_of_the_named_graphs(tmp_path: Path) -> None:
    """A triple in two graphs is in the default graph once; a blank node is one node in both."""
    import pyoxigraph

    other = PLAN_GRAPH + "/other"
    write_dump(tmp_path / "dist", (f"<urn:x:a> <urn:x:b> <urn:x:c> <{PLAN_GRAPH}> .\n"
                                   f"<urn:x:a> <urn:x:b> <urn:x:c> <{other}> .\n"
                                   f"_:n <urn:x:label> \"ノード\"@ja <{PLAN_GRAPH}> .\n"
                                   f"<urn:x:a> <urn:x:has> _:n <{other}> .\n"))
    store = pyoxigraph.Store.read_only(str(load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store").path))
    default = list(store.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph()))
    assert len(default) == 3
    # The label reached through the default graph is the one of the node in the named graphs.
    rows = list(store.query("SELECT ?l { <urn:x:a> <urn:x:has> ?n . GRAPH ?g { ?n <urn:x:label> ?l } }"))
    assert [str(r["l"].value) for r in rows] == ["ノード"]


def test_only_the_three_newest_store_versions_are_kept(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        write_dump(tmp_path / "dist", f"<urn:x:a> <urn:x:b> \"{i}\" <{PLAN_GRAPH}> .\n")
        paths.append(load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store").path)
    assert [p.exists() for p in paths] == [False, False, True, True, True]


def test_a_missing_or_broken_dump_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="plan-kg build"):
        load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store")
    write_dump(tmp_path / "dist", "not n-quads\n")
    with pytest.raises(StoreError, match="N-Quads"):
        load_store(tmp_path / "dist" / "plan-kg.nq", tmp_path / "store")


def test_run_answers_one_query_from_the_command_line(tmp_path: Path) -> None:
    service = QueryService.for_settings(sample_settings(tmp_path))
    assert service.store.path.is_relative_to(tmp_path / ".cache" / "store")
    result = service.run(QueryRequest("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", format="json"))
    assert result.media_type == "application/sparql-results+json"
    assert json.loads(result.body)["results"]["bindings"][0]["n"]["value"] == "6"
    csv = service.run(QueryRequest("SELECT ?g { GRAPH ?g { } }", format="csv", named_graphs=[ONTOLOGY_GRAPH],
                                   default_graphs=[]))
    assert csv.body.decode().split() == ["g", ONTOLOGY_GRAPH]
    with pytest.raises(QueryRejected) as rejected:
        service.run(QueryRequest("SELECT * {"))
    assert rejected.value.status == 400
