"""Write the published files, deterministically: the same graphs give the same bytes.

Layout of the output folder (dist/ by default):

    plan-kg.trig, plan-kg.nq      every named graph (asserted, inferred, ontology, reference)
    plan-kg.nt                    every triple of every graph, merged
    plans/{slug}.ttl / .jsonld    one plan, asserted and inferred merged (JSON-LD compacted
                                  with context.jsonld, which it holds inline)
    plans/{slug}.csv              one plan as a flat table (UTF-8 with BOM, CRLF: opens in Excel)
    context.jsonld                the JSON-LD context
    ontology.ttl, shapes.ttl      the vocabulary and the constraints
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import SKOS

from .formats import by_name
from .iris import PKG
from .rdf import PREFIXES, new_graph

CONTEXT_FILE = "context.jsonld"


def json_ld_context() -> dict:
    """The JSON-LD context: prefixes plus short names for the plan-kg terms people read most."""
    context: dict[str, object] = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
    context.update({
        "code": "pkg:code",
        "label": {"@id": "skos:prefLabel", "@container": "@language"},
        "parent": {"@id": "pkg:parent", "@type": "@id"},
        "inPlan": {"@id": "pkg:inPlan", "@type": "@id"},
        "sequence": {"@id": "pkg:sequence", "@type": "xsd:integer"},
        "levelName": {"@id": "pkg:levelName", "@container": "@language"},
    })
    return {"@context": context}


def _sorted_lines(text: str) -> str:
    lines = sorted(line for line in text.splitlines() if line.strip())
    return "\n".join(lines) + "\n"


def _canonical_json(value: object) -> object:
    """JSON with every array sorted and keys sorted, so that output order never varies."""
    if isinstance(value, dict):
        return {k: _canonical_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    return value


def write_turtle(graph: Graph, path: Path) -> None:
    path.write_bytes(canonical(graph).serialize(format=by_name("turtle").rdflib, encoding="utf-8"))


def write_jsonld(graph: Graph, path: Path, context: dict) -> None:
    """`graph` as JSON-LD in `path`, its "@context" inline (as in context.jsonld): the file stands alone, read from a
    portal's copy or a mirror as well as from here (a reference to ../context.jsonld resolved only beside it)."""
    path.write_text(jsonld_text(graph, context, context_ref=context["@context"]), encoding="utf-8")


def jsonld_text(graph: Graph, context: dict, *, context_ref: object) -> str:
    """`graph` as compact JSON-LD under `context`, with `context_ref` as its "@context" (the file's name, or
    the context itself inline), arrays and keys sorted: the same graph and labels give the same text."""
    text = graph.serialize(format=by_name("jsonld").rdflib, context=context["@context"], auto_compact=True)
    data = json.loads(text)
    data["@context"] = context_ref
    return json.dumps(_canonical_json(data), ensure_ascii=False, indent=2) + "\n"


def canonical(graph: Graph) -> Graph:
    """`graph` with blank nodes relabelled canonically (rdflib.compare), so their labels never vary."""
    if not any(isinstance(term, BNode) for triple in graph for term in triple):
        return graph
    relabelled = new_graph(graph.identifier)
    for triple in to_canonical_graph(graph):
        relabelled.add(triple)
    return relabelled


def _own_blank_nodes(graph: Graph) -> Graph:
    """`graph` (relabelled by `canonical`) with labels no other graph of a dataset has: each graph is relabelled
    alone, and every one with a blank node gets `cb0` (rdflib's label of a node left in the empty colour), so two
    graphs shared labels, which in one TriG or N-Quads file, and in the merged N-Triples, name one node (the
    ontology's chain for pkg:contributesToTarget and a UN KOS chain were one list with two firsts and two rests)."""
    if not any(isinstance(term, BNode) for triple in graph for term in triple):
        return graph
    scope = hashlib.sha256(str(graph.identifier).encode("utf-8")).hexdigest()[:12]
    scoped = new_graph(graph.identifier)
    for triple in graph:
        scoped.add(tuple(BNode(f"g{scope}{term}") if isinstance(term, BNode) else term for term in triple))  # type: ignore[arg-type]
    return scoped


def _trig_block(graph: Graph, prefixes: dict[str, str]) -> str:
    """One `<graph> { … }` block of TriG (its Turtle body, indented); its prefixes go to `prefixes`."""
    body = graph.serialize(format="turtle")
    lines = []
    for line in body.splitlines():
        if line.startswith("@prefix"):
            _, prefix, namespace, _ = line.split()
            if prefixes.setdefault(prefix, namespace) != namespace:
                raise ValueError(f"prefix {prefix} means both {prefixes[prefix]} and {namespace}")
        else:
            lines.append(line)
    inner = "\n".join(("    " + line) if line.strip() else "" for line in lines).strip("\n")
    return f"<{graph.identifier}> {{\n{inner}\n}}\n"


def write_dataset(graphs: list[Graph], out_dir: Path, stem: str = "plan-kg") -> list[Path]:
    """TriG, N-Quads and merged N-Triples of the named `graphs`."""
    graphs = sorted((_own_blank_nodes(canonical(g)) for g in graphs if len(g)), key=lambda g: str(g.identifier))
    prefixes: dict[str, str] = {}
    blocks = [_trig_block(g, prefixes) for g in graphs]
    header = "".join(f"@prefix {p} {ns} .\n" for p, ns in sorted(prefixes.items()))
    trig = out_dir / f"{stem}.{by_name('trig').extension}"
    trig.write_text(header + "\n" + "\n".join(blocks), encoding="utf-8")
    quads = []
    merged = new_graph()
    for graph in graphs:
        for line in graph.serialize(format="nt11").splitlines():
            if line.strip():
                quads.append(f"{line[:-1].rstrip()} <{graph.identifier}> .")
        merged += graph
    nq = out_dir / f"{stem}.{by_name('nquads').extension}"
    nq.write_text("\n".join(sorted(quads)) + "\n", encoding="utf-8")
    nt = out_dir / f"{stem}.{by_name('ntriples').extension}"
    nt.write_text(_sorted_lines(merged.serialize(format="nt11")), encoding="utf-8")
    return [trig, nq, nt]


def plan_table(graph: Graph, plan: URIRef) -> bytes:
    """The plan's elements as CSV (UTF-8 with BOM, CRLF): one row each, in source order, with the municipality code."""
    rows = []
    # 全国地方公共団体コード on every row, as the Digital Agency's rules for tables ask (標準的な地域コード).
    municipality_code = str(graph.value(graph.value(plan, PKG.municipality), PKG.municipalityCode) or "")
    for element in graph.subjects(PKG.inPlan, plan):
        parent = graph.value(element, PKG.parent)
        ancestors = sorted((int(graph.value(a, PKG.sequence)), str(graph.value(a, PKG.code)))
                           for a in graph.objects(element, PKG.partOf) if (a, PKG.code, None) in graph)
        label = next((str(v) for v in graph.objects(element, SKOS.prefLabel) if v.language == "ja"), "")
        rows.append({
            "municipality_code": municipality_code,
            "sequence": int(graph.value(element, PKG.sequence)),
            "code": str(graph.value(element, PKG.code)),
            "level": str(graph.value(element, PKG.levelName)),
            "label_ja": label,
            "parent_code": str(graph.value(parent, PKG.code)) if parent is not None else "",
            "path": " > ".join(code for _, code in ancestors),
            "status": str(graph.value(element, PKG.status) or "").rsplit("#", 1)[-1],
            "iri": str(element),
            "notes": str(graph.value(element, SKOS.editorialNote) or ""),
        })
    rows.sort(key=lambda r: r["sequence"])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["code"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
