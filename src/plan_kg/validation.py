"""SHACL validation with pySHACL, reported in plain words (Japanese and English)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Literal, Namespace, URIRef

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Finding:
    severity: str  # "Violation" | "Warning" | "Info"
    focus: str
    path: str | None
    value: str | None
    shape: str  # the node shape the finding belongs to
    message_en: str
    message_ja: str


@dataclass(frozen=True)
class ValidationReport:
    conforms: bool  # no violations (warnings do not count)
    findings: tuple[Finding, ...]
    seconds: float

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "Violation")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "Warning")

    def text(self) -> str:
        """A readable report, one finding a paragraph."""
        head = "conforms" if self.conforms else f"{len(self.violations)} violation(s)"
        lines = [f"SHACL: {head}, {len(self.warnings)} warning(s)"]
        for f in self.findings:
            # A node shape's finding names the focus node as its value too: said once.
            shown_value = f.value if f.value and (f.path or f.value != f.focus) else None
            where = f.focus + (f" {f.path}" if f.path else "") + (f" = {shown_value}" if shown_value else "")
            lines.append(f"- {f.severity}: {where}\n    {f.message_en}\n    {f.message_ja}")
        return "\n".join(lines)


def load_shapes(shapes_dir: Path) -> Graph:
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        shapes.parse(path, format="turtle")
    return shapes


def _node_shape(results: Graph, shape: URIRef, shapes: Graph) -> URIRef:
    """The node shape a (possibly property) shape belongs to."""
    owner = shapes.value(predicate=SH.property, object=shape)
    return owner if owner is not None else shape


def validate(data: Graph, shapes: Graph, *, ontology: Graph | None = None) -> ValidationReport:
    """Validate `data` (asserted plus inferred) against `shapes`; `ontology` supplies subclass axioms."""
    started = time.perf_counter()
    _, results, _ = shacl_validate(data, shacl_graph=shapes, ont_graph=ontology, inference="none",
                                   advanced=True, allow_warnings=True)
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        messages = {m.language: str(m) for m in results.objects(result, SH.resultMessage) if isinstance(m, Literal)}
        source = results.value(result, SH.sourceShape)
        path, value = results.value(result, SH.resultPath), results.value(result, SH.value)
        findings.append(Finding(
            severity=severity, focus=str(results.value(result, SH.focusNode)),
            path=str(path) if path is not None else None, value=str(value) if value is not None else None,
            shape=str(_node_shape(results, source, shapes)),
            message_en=messages.get("en") or messages.get(None) or "", message_ja=messages.get("ja", "")))
    findings.sort(key=lambda f: (f.severity != "Violation", f.focus, f.path or "", f.message_en))
    conforms = not any(f.severity == "Violation" for f in findings)
    return ValidationReport(conforms=conforms, findings=tuple(findings), seconds=time.perf_counter() - started)
