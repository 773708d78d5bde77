"""A Japanese SDG suggester: which SDG targets and goals does a short policy phrase serve?

Offline and deterministic. Each target is a document: its Japanese text plus the words of
`data/sdg/lexicon-ja.csv`. A phrase is scored against every target by BM25 over Sudachi tokens,
plus a bonus for each lexicon phrase it contains verbatim; optionally blended with a k-nearest-
neighbour vote over curated links (initiatives whose wording is close to the phrase).
"""

from __future__ import annotations

import csv
import functools
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from .reference import SdgReference, goal_iri, load_reference
from .tokens import tokenize

VERSION = "0.1.0"


@dataclass(frozen=True)
class Scored:
    """An SDG goal or target with the suggester's score (0..1, higher is surer)."""

    iri: str
    code: str
    score: float


@dataclass(frozen=True)
class Suggestion:
    """The goals and targets suggested for one text, best first, only those above the thresholds."""

    text: str
    goals: tuple[Scored, ...]
    targets: tuple[Scored, ...]


@dataclass(frozen=True)
class Example:
    """A curated text and its targets (code -> confidence), for the nearest-neighbour vote."""

    text: str
    targets: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SuggesterConfig:
    use_lexicon: bool = True
    lexicon_weight: int = 2  # a lexicon word counts as this many occurrences in the target document
    phrase_bonus: float = 1.0
    knn_k: int = 5
    knn_weight: float = 0.4  # share of the kNN vote in the final score when examples are given
    knn_min_similarity: float = 0.35  # neighbours less similar than this (cosine) do not vote
    saturation: float = 6.0  # raw score r -> r / (r + saturation)
    target_threshold: float = 0.3
    goal_threshold: float = 0.3
    relative_threshold: float = 0.5  # keep only scores at least this share of the best one
    max_targets: int = 5
    max_goals: int = 4


def read_lexicon(path: Path) -> dict[str, tuple[str, ...]]:
    """Target code -> lexicon phrases (NFKC), from a CSV with columns target, terms ('|'-separated), note."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise SourceError(path, "missing; restore data/sdg/lexicon-ja.csv from git") from None
    lexicon: dict[str, tuple[str, ...]] = {}
    for number, row in enumerate(rows, start=2):
        terms = tuple(unicodedata.normalize("NFKC", t.strip()) for t in (row.get("terms") or "").split("|") if t.strip())
        if not terms:
            raise SourceError(path, "no terms; list words separated by '|'", row=number, column="terms")
        lexicon[row["target"]] = terms
    return lexicon


@dataclass
class _Index:
    """BM25 statistics over token documents."""

    docs: list[Counter[str]]
    k1: float = 1.2
    b: float = 0.75
    idf: dict[str, float] = field(init=False)
    avg_len: float = field(init=False)

    def __post_init__(self) -> None:
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.avg_len = sum(sum(d.values()) for d in self.docs) / max(n, 1)

    def scores(self, query: tuple[str, ...]) -> list[float]:
        out = []
        for doc in self.docs:
            length = sum(doc.values())
            total = 0.0
            for token in query:
                tf = doc.get(token, 0)
                if tf:
                    total += self.idf[token] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / self.avg_len))
            out.append(total)
        return out


class Suggester:
    """Scores texts against the 169 targets. Build once, call `suggest` many times."""

    def __init__(self, reference: SdgReference, *, lexicon: dict[str, tuple[str, ...]] | None = None,
                 examples: tuple[Example, ...] = (), config: SuggesterConfig = SuggesterConfig()) -> None:
        self.reference = reference
        self.config = config
        self.lexicon = lexicon if (lexicon and config.use_lexicon) else {}
        self.codes = [t.code for t in reference.targets]
        docs = []
        for target in reference.targets:
            doc = Counter(tokenize(target.text_ja))
            for phrase in self.lexicon.get(target.code, ()):
                for token in tokenize(phrase) or (phrase,):
                    doc[token] += config.lexicon_weight
            docs.append(doc)
        self._index = _Index(docs)
        phrase_df = Counter(p for terms in self.lexicon.values() for p in set(terms))
        self._phrase_weight = {p: math.log(1 + len(self.codes) / c) for p, c in phrase_df.items()}
        self.examples = examples
        self._example_vectors = [self._vector(e.text) for e in examples]

    def _vector(self, text: str) -> dict[str, float]:
        weights = {t: self._index.idf.get(t, math.log(len(self.codes))) for t in tokenize(text)}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    def _lexical(self, text: str) -> list[float]:
        raw = self._index.scores(tokenize(text))
        normalised = unicodedata.normalize("NFKC", text)
        for i, code in enumerate(self.codes):
            for phrase in self.lexicon.get(code, ()):
                if phrase in normalised:
                    raw[i] += self.config.phrase_bonus * self._phrase_weight[phrase]
        return [r / (r + self.config.saturation) for r in raw]

    def _knn(self, text: str) -> list[float] | None:
        if not self.examples:
            return None
        query = self._vector(text)
        sims = sorted(((sum(w * vec.get(t, 0.0) for t, w in query.items()), i)
                       for i, vec in enumerate(self._example_vectors)), key=lambda s: (-s[0], s[1]))
        neighbours = [(s, i) for s, i in sims[: self.config.knn_k] if s > max(self.config.knn_min_similarity, 0.0)]
        total = sum(s for s, _ in neighbours)
        votes: Counter[str] = Counter()
        for sim, i in neighbours:
            for code, confidence in self.examples[i].targets:
                votes[code] += sim * confidence
        return [votes.get(code, 0.0) / total if total else 0.0 for code in self.codes]

    def target_scores(self, text: str) -> list[float]:
        """Score of every target (in reference order) for `text`."""
        lexical = self._lexical(text)
        knn = self._knn(text)
        if knn is None:
            return lexical
        w = self.config.knn_weight
        return [(1 - w) * a + w * b for a, b in zip(lexical, knn, strict=True)]

    def suggest_one(self, text: str) -> Suggestion:
        scores = self.target_scores(text)
        config = self.config
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        best = scores[ranked[0]] if ranked else 0.0
        targets = tuple(
            Scored(iri=str(self.reference.targets[i].iri), code=self.codes[i], score=round(scores[i], 3))
            for i in ranked[: config.max_targets]
            if scores[i] >= config.target_threshold and scores[i] >= config.relative_threshold * best)
        goal_scores: dict[int, float] = {}
        for i, target in enumerate(self.reference.targets):
            goal_scores[target.goal] = max(goal_scores.get(target.goal, 0.0), scores[i])
        best_goal = max(goal_scores.values(), default=0.0)
        goals = tuple(
            Scored(iri=str(goal_iri(g)), code=str(g), score=round(s, 3))
            for g, s in sorted(goal_scores.items(), key=lambda kv: (-kv[1], kv[0]))[: config.max_goals]
            if s >= config.goal_threshold and s >= config.relative_threshold * best_goal)
        return Suggestion(text=text, goals=goals, targets=targets)

    def suggest(self, texts: list[str]) -> list[Suggestion]:
        return [self.suggest_one(text) for text in texts]


@functools.cache
def default_suggester(data_dir: Path) -> Suggester:
    """The suggester with the shipped lexicon and the curated links of every plan under `data_dir` as examples."""
    from .training import curated_examples

    return Suggester(load_reference(data_dir), lexicon=read_lexicon(data_dir / "sdg" / "lexicon-ja.csv"),
                     examples=curated_examples(data_dir))


def suggest(texts: list[str], *, data_dir: Path | None = None) -> list[Suggestion]:
    """SDG goals and targets for each Japanese text (e.g. フレイル予防の推進), best first."""
    from ..config import Settings

    return default_suggester(data_dir or Settings().data_dir).suggest(texts)
