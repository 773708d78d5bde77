"""The SDG reference data: 17 goals and 169 targets with UN SDG KOS IRIs, English and Japanese text.

Sources are vendored in `data/sdg/reference/` (provenance: `data/sdg/README.md`). The Japanese
text is a third-party copy of the MOFA provisional translation; it is normalised here (full-width
digits made half-width, stray spaces removed; nothing else) and the known copy errors are fixed or flagged by `data/sdg/ja-corrections.csv`,
each with a skos:editorialNote.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, SKOS, Graph, Literal, Namespace, URIRef

from ..config import Settings
from ..errors import SourceError
from ..iris import SDG
from ..normalize import check_text

SDGO = Namespace("http://metadata.un.org/sdg/ontology#")
SDG_SCHEME = URIRef("http://metadata.un.org/sdg")
KOS_FILES = ("sdg-kos-goals-targets-indicators.ttl", "sdgs-ontology.ttl")

_TARGET_CODE = re.compile(r"^(1[0-7]|[1-9])\.([0-9]{1,2}|[a-e])$")
_SPACES = re.compile(r"\s+")
_FULL_WIDTH_DIGITS = {0xFF10 + digit: str(digit) for digit in range(10)}


@dataclass(frozen=True)
class EditorialNote:
    """Why a Japanese text differs from its source, or what is doubtful about it."""

    ja: str
    en: str


@dataclass(frozen=True)
class SdgGoal:
    number: int
    iri: URIRef
    title_en: str
    short_en: str
    title_ja: str  # normalised
    short_ja: str  # as the source has it: the official short names have deliberate spaces
    notes: tuple[EditorialNote, ...]


@dataclass(frozen=True)
class SdgTarget:
    code: str  # e.g. "3.8", "1.a"
    goal: int
    iri: URIRef
    text_en: str
    text_ja: str  # normalised and corrected
    notes: tuple[EditorialNote, ...]


@dataclass(frozen=True)
class SdgReference:
    goals: tuple[SdgGoal, ...]
    targets: tuple[SdgTarget, ...]

    def target(self, code: str) -> SdgTarget | None:
        return self._targets_by_code.get(code)

    @functools.cached_property
    def _targets_by_code(self) -> dict[str, SdgTarget]:
        return {t.code: t for t in self.targets}


def normalise_sdg_ja(text: str) -> str:
    """`text` with its full-width digits half-width and every space removed, otherwise as the source has it.

    Japanese sentences need no spaces, and the source's are stray; its two full-width digits (targets 1.1
    and 2.2) are copy errors, flagged in ja-corrections.csv. Its full-width brackets （…） are the MOFA
    translation's own typography and are kept (NFKC would make them ASCII).
    """
    return _SPACES.sub("", text.translate(_FULL_WIDTH_DIGITS))


def is_target_code(code: str) -> bool:
    return bool(_TARGET_CODE.match(code))


def goal_iri(number: int) -> URIRef:
    return SDG[str(number)]


def target_iri(code: str) -> URIRef:
    if not is_target_code(code):
        raise ValueError(f"not an SDG target code: {code!r} (expected e.g. 3.8 or 11.a)")
    return SDG[code]


def reference_dir(settings: Settings) -> Path:
    return settings.data_dir / "sdg" / "reference"


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise SourceError(path, "missing; restore it from git (data/sdg/)") from None
    for number, row in enumerate(rows, start=2):
        for column, value in row.items():
            if isinstance(value, str):  # not the list of cells beyond the header (csv's restkey)
                check_text(value, path, row=number, column=column)
    return rows


def _corrections(path: Path) -> dict[str, list[dict[str, str]]]:
    table: dict[str, list[dict[str, str]]] = {}
    for row in _rows(path):
        table.setdefault(row["target"], []).append(row)
    return table


def _corrected(code: str, text: str, corrections: list[dict[str, str]], path: Path) -> tuple[str, tuple[EditorialNote, ...]]:
    notes = []
    for number, fix in enumerate(corrections, start=2):
        if fix["action"] == "fix":
            if fix["find"] not in text:
                raise SourceError(path, f"target {code}: '{fix['find']}' is not in the text; update or drop the row",
                                  row=number, column="find")
            text = text.replace(fix["find"], fix["replace"])
        notes.append(EditorialNote(ja=fix["note_ja"], en=fix["note_en"]))
    return text, tuple(notes)


@functools.lru_cache(maxsize=4)
def load_reference(data_dir: Path) -> SdgReference:
    """Goals and targets from `data_dir/sdg/`, normalised and corrected."""
    folder = data_dir / "sdg" / "reference"
    corrections = _corrections(data_dir / "sdg" / "ja-corrections.csv")
    goals = tuple(
        SdgGoal(number=int(row["goal"]), iri=URIRef(row["uri"]), title_en=row["title_en"], short_en=row["short_en"],
                title_ja=normalise_sdg_ja(row["title_ja"]), short_ja=row["short_ja"],
                notes=(EditorialNote(ja="", en=row["ja_note"]),) if row["ja_note"] else ())
        for row in _rows(folder / "sdg-goals.csv"))
    targets = []
    for row in _rows(folder / "sdg-targets.csv"):
        text, notes = _corrected(row["target"], normalise_sdg_ja(row["text_ja"]), corrections.get(row["target"], []),
                                 data_dir / "sdg" / "ja-corrections.csv")
        targets.append(SdgTarget(code=row["target"], goal=int(row["goal"]), iri=URIRef(row["uri"]),
                                 text_en=row["text_en"], text_ja=text, notes=notes))
    return SdgReference(goals=goals, targets=tuple(targets))


def sdg_graph_iri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_iri}graph/sdg")


def kos_graph_iri(settings: Settings) -> URIRef:
    return URIRef(f"{settings.base_iri}graph/un-sdg-kos")


def _add_notes(graph: Graph, subject: URIRef, notes: tuple[EditorialNote, ...]) -> None:
    for note in notes:
        if note.ja:
            graph.add((subject, SKOS.editorialNote, Literal(note.ja, lang="ja")))
        if note.en:
            graph.add((subject, SKOS.editorialNote, Literal(note.en, lang="en")))


def sdg_graph(reference: SdgReference, *, identifier: URIRef | None = None) -> Graph:
    """Goals and targets with KOS IRIs, notations, English and normalised Japanese labels."""
    graph = Graph(identifier=identifier)
    graph.bind("sdg", SDG)
    graph.bind("sdgo", SDGO)
    graph.bind("skos", SKOS)
    for goal in reference.goals:
        graph.add((goal.iri, RDF.type, SDGO.Goal))
        graph.add((goal.iri, RDF.type, SKOS.Concept))
        graph.add((goal.iri, SKOS.inScheme, SDG_SCHEME))
        graph.add((goal.iri, SKOS.notation, Literal(str(goal.number))))
        graph.add((goal.iri, SKOS.prefLabel, Literal(goal.title_en, lang="en")))
        graph.add((goal.iri, SKOS.prefLabel, Literal(goal.title_ja, lang="ja")))
        graph.add((goal.iri, SKOS.altLabel, Literal(goal.short_en, lang="en")))
        graph.add((goal.iri, SKOS.altLabel, Literal(goal.short_ja, lang="ja")))
        _add_notes(graph, goal.iri, goal.notes)
    for target in reference.targets:
        goal = goal_iri(target.goal)
        graph.add((target.iri, RDF.type, SDGO.Target))
        graph.add((target.iri, RDF.type, SKOS.Concept))
        graph.add((target.iri, SKOS.inScheme, SDG_SCHEME))
        graph.add((target.iri, SKOS.notation, Literal(target.code)))
        graph.add((target.iri, SKOS.prefLabel, Literal(target.text_en, lang="en")))
        graph.add((target.iri, SKOS.prefLabel, Literal(target.text_ja, lang="ja")))
        graph.add((target.iri, SDGO.isTargetOf, goal))
        graph.add((target.iri, SKOS.broader, goal))
        graph.add((goal, SDGO.hasTarget, target.iri))
        _add_notes(graph, target.iri, target.notes)
    return graph


def reference_graphs(settings: Settings) -> dict[URIRef, Graph]:
    """Named graphs `{base}graph/sdg` (goals + targets, with Japanese) and `{base}graph/un-sdg-kos` (UN dump, unchanged)."""
    sdg_iri, kos_iri = sdg_graph_iri(settings), kos_graph_iri(settings)
    kos = Graph(identifier=kos_iri)
    for name in KOS_FILES:
        path = reference_dir(settings) / name
        if not path.is_file():
            raise SourceError(path, "missing; restore it from git (data/sdg/reference/)")
        kos.parse(path, format="turtle")
    return {sdg_iri: sdg_graph(load_reference(settings.data_dir), identifier=sdg_iri), kos_iri: kos}
