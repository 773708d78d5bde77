"""Every published file parses with a second, independent implementation into the same graph."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyld import jsonld
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from plan_kg.formats import by_extension

PLAN_FILES = "plans/132292-basic-plan-3"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def oxigraph_graph(path: Path) -> Graph:
    fmt = ox.RdfFormat.from_extension(path.suffix[1:])
    graph = Graph()
    for quad in ox.parse(path=str(path), format=fmt):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


@pytest.mark.parametrize("name", [f"{PLAN_FILES}.ttl", "plan-kg.nt", "ontology.ttl"])
def test_graph_files_round_trip_through_oxigraph(built, name):
    path = built.out_dir / name
    reference = Graph().parse(path, format=by_extension(path.suffix[1:]).rdflib)
    assert len(reference) > 100
    assert isomorphic(oxigraph_graph(path), reference)


@pytest.mark.parametrize("name", ["plan-kg.trig", "plan-kg.nq"])
def test_dataset_files_round_trip_through_oxigraph(built, name):
    path = built.out_dir / name
    reference = Dataset()
    reference.parse(path, format=by_extension(path.suffix[1:]).rdflib)
    fmt = ox.RdfFormat.from_extension(path.suffix[1:])
    quads = list(ox.parse(path=str(path), format=fmt))
    names = {q.graph_name.value for q in quads}
    assert {str(g.identifier) for g in reference.graphs() if len(g)} == names
    for graph_name in names:
        ours = Graph()
        for q in quads:
            if q.graph_name.value == graph_name:
                ours.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        assert isomorphic(ours, reference.graph(URIRef(graph_name))), graph_name


def test_trig_and_nquads_hold_the_same_dataset(built):
    a, b = Dataset(), Dataset()
    a.parse(built.out_dir / "plan-kg.trig", format="trig")
    b.parse(built.out_dir / "plan-kg.nq", format="nquads")
    assert sorted(str(g.identifier) for g in a.graphs() if len(g)) == sorted(str(g.identifier) for g in b.graphs() if len(g))
    for graph in a.graphs():
        if len(graph):
            assert isomorphic(graph, b.graph(graph.identifier)), graph.identifier


def test_jsonld_round_trips_through_pyld(built):
    out = built.out_dir

    def loader(url, options=None):
        raise AssertionError(f"a plan's JSON-LD holds its context: nothing to fetch, but it asked for {url}")

    document = json.loads((out / f"{PLAN_FILES}.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == json.loads((out / "context.jsonld").read_text(encoding="utf-8"))["@context"]
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    ours = Graph().parse(data=nquads, format="nquads")
    reference = Graph().parse(out / f"{PLAN_FILES}.ttl")
    assert isomorphic(ours, reference)


def test_a_plans_jsonld_is_read_alone_from_its_bytes(built):
    """A portal's cached copy, or a mirror, has the file without ../context.jsonld beside it: with the
    context referenced, rdflib failed with FileNotFoundError '/context.jsonld'."""
    for path in sorted((built.out_dir / "plans").glob("*.jsonld")):
        alone = Graph().parse(data=path.read_bytes(), format="json-ld")
        assert len(alone) > 0 and isomorphic(alone, Graph().parse(path.with_suffix(".ttl"))), path.name


def test_jsonld_is_compact_and_readable(built):
    document = json.loads((built.out_dir / f"{PLAN_FILES}.jsonld").read_text(encoding="utf-8"))
    node = next(n for n in document["@graph"] if n["@id"].endswith("/1-1-1-1"))
    assert node["label"] == {"ja": "地域コミュニティの強化"}
    assert node["code"] == "1-1-1-1"
    assert "地域コミュニティ" in (built.out_dir / f"{PLAN_FILES}.jsonld").read_text(encoding="utf-8")  # not \\u-escaped


def test_csv_opens_in_excel(built):
    data = (built.out_dir / f"{PLAN_FILES}.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 6 + 15 + 37 + 109
    assert rows[3]["code"] == "1-1-1-1" and rows[3]["label_ja"] == "地域コミュニティの強化"
    assert rows[3]["path"] == "1 > 1-1 > 1-1-1"


def test_every_plans_jsonld_download_is_read_by_rdflib_over_http(built):
    """rdflib fetches the "@context" from where the reference leads, against the download's own URL:
    it was "context.jsonld" beside the plan's file, a 404 on the server (and in dist/)."""
    from server_fixtures import live_app

    from plan_kg.config import Settings
    from plan_kg.server import create_app

    with live_app(create_app(Settings.load(dist_dir=built.out_dir))) as endpoint:
        root = endpoint.removesuffix("sparql")
        for path in sorted((built.out_dir / "plans").glob("*.jsonld")):
            relative = path.relative_to(built.out_dir).as_posix()
            served = Graph().parse(f"{root}downloads/{relative}", format="json-ld")
            assert len(served) > 0 and isomorphic(served, Graph().parse(path.with_suffix(".ttl"))), relative


def test_the_dump_holds_literals_as_the_store_serves_them(built):
    """Oxigraph keeps an xsd:decimal in its canonical form ("0.430" as "0.43"): the dumps wrote the form of
    the source, so a served graph and its dump were not the same RDF terms (3 to 13 scores per graph)."""
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    dumped = [q for q in ox.parse(path=built.out_dir / "plan-kg.nq", format=ox.RdfFormat.N_QUADS)
              if isinstance(q.object, ox.Literal) and q.object.datatype == decimal]
    assert len(dumped) > 100  # SDG confidences and cross-city scores
    store = ox.Store()
    store.extend(dumped)
    assert sorted(str(q) for q in store) == sorted(str(q) for q in set(dumped))


RDF_FIRST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
RDF_REST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"


def _lists_read_whole(triples: list[ox.Triple]) -> dict[str, tuple[int, int]]:
    """Each RDF list node (a blank node with rdf:first or rdf:rest): how many of each it has."""
    counts: dict[str, tuple[int, int]] = {}
    for t in triples:
        if isinstance(t.subject, ox.BlankNode) and t.predicate.value in (RDF_FIRST, RDF_REST):
            first, rest = counts.get(t.subject.value, (0, 0))
            counts[t.subject.value] = (first + (t.predicate.value == RDF_FIRST), rest + (t.predicate.value == RDF_REST))
    return counts


def test_graphs_written_together_keep_their_blank_nodes_apart(tmp_path):
    """Each graph's blank nodes are labelled alone (publish.canonical), and every such graph has a `cb0`: two lists
    in two graphs were one node in the N-Quads, TriG and merged N-Triples, with two firsts and two rests."""
    from plan_kg.publish import write_dataset

    graphs = []
    for name, members in (("a", "<http://e/a1> <http://e/a2>"), ("b", "<http://e/b1> <http://e/b2> <http://e/b3>")):
        graph = Graph(identifier=URIRef(f"http://e/graph/{name}"))
        graph.parse(data=f"<http://e/{name}> <http://e/chain> ( {members} ) .", format="turtle")
        graphs.append(graph)
    write_dataset(graphs, tmp_path)
    quads = list(ox.parse(path=tmp_path / "plan-kg.nq", format=ox.RdfFormat.N_QUADS))
    graph_of: dict[str, set[str]] = {}
    for quad in quads:
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.BlankNode):
                graph_of.setdefault(term.value, set()).add(quad.graph_name.value)
    assert len(graph_of) == 5 and all(len(names) == 1 for names in graph_of.values()), graph_of
    merged = list(ox.parse(path=tmp_path / "plan-kg.nt", format=ox.RdfFormat.N_TRIPLES))
    assert set(_lists_read_whole(merged).values()) == {(1, 1)} and len(_lists_read_whole(merged)) == 5
    for name in ("trig", "nq"):
        dataset = Dataset()
        dataset.parse(tmp_path / f"plan-kg.{name}", format="trig" if name == "trig" else "nquads")
        for graph in graphs:
            assert isomorphic(dataset.graph(graph.identifier), graph), (name, graph.identifier)


def test_every_list_in_the_merged_dump_has_one_first_and_one_rest(built):
    """The ontology's property chains and the UN KOS's lists, read from plan-kg.nt as an OWL tool reads them."""
    lists = _lists_read_whole(list(ox.parse(path=built.out_dir / "plan-kg.nt", format=ox.RdfFormat.N_TRIPLES)))
    assert len(lists) > 20
    assert {node: counts for node, counts in lists.items() if counts != (1, 1)} == {}
