"""Ontology documentation in HTML: pyLODE's OntPub page of ontology/*.ttl, plus its concept schemes and a summary
of the shapes.

Written to dist/ontology.html at build and served as a download (/downloads/ontology.html);
where the ontology IRI dereferences (/ontology, HTML) the web side shows its own list of every
term, which links here. pyLODE is optional: without it the build writes no ontology.html and
says nothing.
"""

from __future__ import annotations

import contextlib
import html
import importlib.metadata
import importlib.util
import logging
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

from rdflib import OWL, RDF, SKOS, Graph, Namespace, URIRef
from rdflib.namespace import RDFS

from ..iris import ONTOLOGY_IRI, PKG

SH = Namespace("http://www.w3.org/ns/shacl#")
#: Where the documentation's stylesheet is served (and lies in a static site).
STYLESHEET_PATH = "/assets/ontology/pylode.css"
PKG_NAMESPACE = str(PKG)
_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def pylode_available() -> bool:
    try:
        importlib.metadata.version("pylode")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _import_ontpub() -> type:
    # pyLODE 3.4.1's wheel reads its version from a pyproject.toml it does not ship;
    # give it the installed version instead, before its first import.
    if "pylode.version" not in sys.modules:
        shim = types.ModuleType("pylode.version")
        shim.__version__ = importlib.metadata.version("pylode")  # type: ignore[attr-defined]
        sys.modules["pylode.version"] = shim
    from pylode import OntPub

    return OntPub


#: Added to pyLODE's stylesheet for a phone: its table of contents is fixed over the right half of the screen and
#: the body padded 70 px a side, which left a column a few characters wide; a long IRI in a value widened the page.
#: In the stylesheet, not the page: the site's Content-Security-Policy allows no inline style.
_NARROW_SCREEN_CSS = b"""
/* plan-kg: on a narrow screen the table of contents follows the content, and long values wrap */
@media (max-width: 40em) {
    body { padding: 1em; }
    #content { width: auto; }
    #toc { position: static; width: auto; height: auto; }
    #pylode { display: none; }
}
dd, td { overflow-wrap: anywhere; }
"""


def stylesheet() -> bytes:
    """pyLODE's stylesheet, for the page's <link rel=stylesheet>, with a few rules for a narrow screen."""
    spec = importlib.util.find_spec("pylode")
    assert spec is not None and spec.origin is not None
    return (Path(spec.origin).parent / "pylode.css").read_bytes() + _NARROW_SCREEN_CSS


@contextlib.contextmanager
def _root_logger_kept() -> Iterator[None]:
    """Undo what pyLODE does to the root logger: logging.basicConfig(level=DEBUG) on import, and
    module-level logging.info() calls, which install a handler. A library must not configure
    the application's logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    if not handlers:
        root.addHandler(logging.NullHandler())  # makes basicConfig a no-op while pyLODE runs
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def ontology_html(ontology_dir: Path, shapes_path: Path, *, root: str = "") -> str:
    """The documentation page: pyLODE's rendering of every ontology module, then the shapes; its links to the
    site start with `root`, the path the site is served under (`Settings.public_path`)."""
    ontology = Graph()
    for path in sorted(ontology_dir.glob("*.ttl")):
        ontology.parse(path, format="turtle")
    # pyLODE documents one owl:Ontology and picks any when there are several: keep the main
    # one and fold the modules (e.g. the SDG module) into it.
    # It also merges every skos:ConceptScheme's title into the ontology's, so the schemes the
    # ontology declares (plan status, completeness …) are listed by the web side's term list instead.
    for module in set(ontology.subjects(RDF.type, OWL.Ontology)) - {URIRef(ONTOLOGY_IRI)}:
        ontology.remove((module, None, None))
    schemes = Graph()
    for prefix, namespace in ontology.namespaces():
        schemes.bind(prefix, namespace)
    for scheme in set(ontology.subjects(RDF.type, SKOS.ConceptScheme)):
        for concept in {scheme, *ontology.subjects(SKOS.inScheme, scheme)}:
            for triple in ontology.triples((concept, None, None)):
                schemes.add(triple)
    ontology.remove((None, RDF.type, SKOS.ConceptScheme))
    with _root_logger_kept():
        OntPub = _import_ontpub()
        page = OntPub(ontology=ontology, sort_subjects=True).make_html(include_css=True)
    # The stylesheet as a file, not inline: the site's Content-Security-Policy allows no inline style.
    # (pyLODE links a file only when it writes the page itself.) pyLODE sets no viewport, so a phone showed the
    # page zoomed out: it gets the viewport of the site's own pages.
    page = re.sub(r"<style>.*?</style>", '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                  f'    <link href="{root}{STYLESHEET_PATH}" rel="stylesheet" type="text/css">',
                  page, count=1, flags=re.DOTALL)
    page = _local_name_anchors(_unique_ids(page))
    summary = concepts_summary(schemes) + "\n" + shapes_summary(Graph().parse(shapes_path, format="turtle"), root=root)
    return page.replace("</body>", summary + "\n</body>", 1) if "</body>" in page else page + summary


#: pyLODE's block for one term: its id (made from the term's label, e.g. `Basicgoal`) and, soon after, its IRI.
_ENTITY = re.compile(r'(<div class="[a-z ]*entity" id="([^"]*)">)(.{0,2000}?)<code>(' + re.escape(PKG_NAMESPACE)
                     + r'[A-Za-z0-9_-]+)</code>', re.DOTALL)


def _unique_ids(page: str) -> str:
    """`page` with every element id used once: pyLODE lists a functional property again under "Functional
    Properties", with the id of its first entry; a repeat becomes `{id}-2` (links to the id land on the first)."""
    seen: dict[str, int] = {}

    def renamed(match: re.Match[str]) -> str:
        name = match.group(1)
        seen[name] = seen.get(name, 0) + 1
        return match.group(0) if seen[name] == 1 else f' id="{name}-{seen[name]}"'

    return re.sub(r' id="([^"]*)"', renamed, page)


def _local_name_anchors(page: str) -> str:
    """`page` with an anchor named after each term's local name (`#BasicGoal`) where pyLODE's own id, made from
    the label, differs: the IRI's fragment is what the data and the web side's term list link to."""
    ids = set(re.findall(r'\bid="([^"]*)"', page))

    def anchored(match: re.Match[str]) -> str:
        local = match.group(4)[len(PKG_NAMESPACE):]
        if local == match.group(2) or local in ids:
            return match.group(0)
        return f'{match.group(1)}<span id="{html.escape(local)}"></span>{match.group(3)}<code>{match.group(4)}</code>'

    return _ENTITY.sub(anchored, page)


def concepts_summary(schemes: Graph) -> str:
    """An HTML section listing the ontology's concept schemes and their concepts (plan status, completeness, link
    methods), which pyLODE does not render: each with an anchor named after its local name, labels and definition."""
    out = ['<section id="concepts"><h2>Concept schemes / 概念スキーム</h2>',
           "<p>The values some properties take (<code>pkg:status</code>, <code>pkg:completeness</code>, "
           "<code>pkg:linkMethod</code>).</p>"]
    for scheme in sorted(set(schemes.subjects(RDF.type, SKOS.ConceptScheme)), key=str):
        out.append(f'<h3 id="{html.escape(_local(scheme))}">{_labels(schemes, scheme)} '
                   f"<code>{html.escape(_name(schemes, scheme))}</code></h3><dl>")
        for concept in sorted(set(schemes.subjects(SKOS.inScheme, scheme)), key=str):
            definitions = " / ".join(html.escape(str(d)) for d in sorted(schemes.objects(concept, SKOS.definition),
                                                                            key=_language_order))
            out.append(f'<dt id="{html.escape(_local(concept))}">{_labels(schemes, concept)} '
                       f"<code>{html.escape(_name(schemes, concept))}</code></dt><dd>{definitions}</dd>")
        out.append("</dl>")
    out.append("</section>")
    return "\n".join(out)


def _local(term: object) -> str:
    return str(term).rpartition("#")[2]


def _language_order(literal: object) -> tuple[int, str]:
    """Japanese first, then English, then the rest, as the pages show labels."""
    language = getattr(literal, "language", None) or ""
    return ({"ja": 0, "en": 1}.get(language, 2), str(literal))


def _labels(g: Graph, term: object) -> str:
    labels = list(g.objects(term, SKOS.prefLabel)) or list(g.objects(term, RDFS.label))
    return " / ".join(html.escape(str(label)) for label in sorted(labels, key=_language_order))


def _name(g: Graph, term: object) -> str:
    text = str(term)
    for prefix, namespace in g.namespaces():
        if prefix and text.startswith(str(namespace)):
            return f"{prefix}:{text[len(namespace):]}"
    return text


def _path(shapes: Graph, path: object) -> str:
    inverse = shapes.value(path, SH.inversePath)  # type: ignore[arg-type]
    if inverse is not None:
        return "^" + _name(shapes, inverse)
    return _name(shapes, path)


def shapes_summary(shapes: Graph, *, root: str = "") -> str:
    """An HTML section listing each node shape: its target, and per property path the constraints (links to the
    site start with `root`)."""
    rows = []
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        targets = [_name(shapes, t) for t in shapes.objects(shape, SH.targetClass)]
        targets += [_name(shapes, t) for t in shapes.objects(shape, SH.targetNode)]
        targets += [f"subjects of {_name(shapes, t)}" for t in shapes.objects(shape, SH.targetSubjectsOf)]
        targets += [f"objects of {_name(shapes, t)}" for t in shapes.objects(shape, SH.targetObjectsOf)]
        props = []
        for prop in shapes.objects(shape, SH.property):
            path = shapes.value(prop, SH.path)
            if path is None:
                continue
            facts = []
            low, high = shapes.value(prop, SH.minCount), shapes.value(prop, SH.maxCount)
            if low is not None or high is not None:
                facts.append(f"{low if low is not None else 0}..{high if high is not None else '*'}")
            for key in (SH["class"], SH.datatype, SH.nodeKind, SH.node, SH.hasValue, SH.pattern):
                for value in shapes.objects(prop, key):
                    facts.append(f"{key.split('#')[1]} {_name(shapes, value)}")
            severity = _SEVERITY.get(shapes.value(prop, SH.severity) or shapes.value(shape, SH.severity), "Violation")
            message = next((str(m) for m in shapes.objects(prop, SH.message) if getattr(m, "language", None) == "en"),
                           next((str(m) for m in shapes.objects(prop, SH.message)), ""))
            props.append((_path(shapes, path), "; ".join(facts), severity, message))
        for sparql in shapes.objects(shape, SH.sparql):
            message = next((str(m) for m in shapes.objects(sparql, SH.message)), "")
            props.append(("(SPARQL)", "", _SEVERITY.get(shapes.value(sparql, SH.severity), "Violation"), message))
        label = next((str(x) for x in shapes.objects(shape, RDFS.label)), "")
        rows.append((_name(shapes, shape), label, ", ".join(targets), sorted(props)))
    out = ['<section id="shapes"><h2>Shapes / 制約 (SHACL)</h2>',
           "<p>The constraints every build is validated against (<code>shapes/plan-kg.ttl</code>, published as "
           f'<a href="{root}/downloads/shapes.ttl">shapes.ttl</a>). A violation stops the build; a warning is reported.</p>',
           f'<p>The ontology as data: <a href="{root}/downloads/ontology.ttl">ontology.ttl</a>. '
           f'The data it describes: <a href="{root}/">plan-kg</a>.</p>']
    for name, label, targets, props in rows:
        anchor = html.escape(name.replace(":", "-"))
        out.append(f'<h3 id="shape-{anchor}">{html.escape(name)}</h3>')
        if label:
            out.append(f"<p>{html.escape(label)}</p>")
        out.append(f"<p>Target: {html.escape(targets or '(referenced from other shapes)')}</p>")
        if props:
            out.append("<table><thead><tr><th>Path</th><th>Constraint</th><th>Severity</th><th>Message</th></tr>"
                       "</thead><tbody>")
            for path, facts, severity, message in props:
                out.append(f"<tr><td><code>{html.escape(path)}</code></td><td>{html.escape(facts)}</td>"
                           f"<td>{severity}</td><td>{html.escape(message)}</td></tr>")
            out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)
