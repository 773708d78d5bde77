"""Which items of different cities' plans address the same thing: scores from Japanese text and SDGs.

Text: the label (and a basic goal's 分野), NFKC-normalised, as two kinds of features:
content words from SudachiPy (the SDG package's tokenizer, stock words such as 推進 and
充実 dropped) and character bigrams inside runs of kanji or katakana (so 地域福祉 and
福祉 meet even when Sudachi keeps the compound whole). Bigrams across hiragana are left
out on purpose: plain character n-grams matched stock phrases (〜の実現に向けた) and
linked 脱炭素 to 女性の働き方. Features are weighted by sublinear TF-IDF over all plans'
items and compared by cosine.

SDGs: when both items have SDG goals (those of the links in the plan's SDG links table,
found by `plan_kg.sdg.links.plan_links_table` as the build finds it; an element's own, and
a measure's or policy's from the elements below), the score mixes in the Jaccard overlap
of their goal sets: with weight 0.25 when both items' goals are curated, 0.05 when either
rests on suggested (machine) links, which are noisier (a true pair whose suggestions do
not overlap would lose a quarter of its score).

Levels are not matched to levels: a Nerima 戦略計画 may match a Nishitokyo 基本施策 or 取組.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..config import Settings
from ..sdg.links import SdgLinkRecord, plan_links
from ..sdg.reference import load_reference
from ..source import PlanSource, plan_folders, read_plan

METHOD = "sudachi-words+kanji-bigrams-tfidf-cosine+sdg-goal-jaccard/1.1"  # 1.1: suggested SDG links, weight 0.05
SDG_WEIGHT = 0.25  # share of the score given to shared SDG goals when both items have some
# The share when either item's goals rest on suggested (machine) links: at 0.25 they cost recall@3
# and closeMatch precision on the hand labels, at 0.05 they help a little (benchmarks/RESULTS.md).
SUGGESTED_SDG_WEIGHT = 0.05
CLOSE_THRESHOLD = 0.50  # score from which a pair is a skos:closeMatch (precision 0.85 on the labels)
RELATED_THRESHOLD = 0.30  # score from which a pair is kept at all (precision 0.83 on the labels)
PER_PLAN = 3  # counterparts kept per item in each other plan

_KANJI_OR_KATAKANA = re.compile(r"[\u4e00-\u9fff\u3005]+|[\u30a0-\u30ff]+")


@dataclass(frozen=True)
class LinkItem:
    """A plan element as the linker sees it."""

    municipality_code: str
    plan_id: str
    code: str
    level: str
    label: str
    text: str  # what is compared: the label, plus a basic goal's 分野
    goals: frozenset[int]  # SDG goal numbers
    goals_suggested: bool = False  # some goal comes from suggested (machine) links only

    @property
    def key(self) -> str:
        """'132292/basic-plan-3/1-1-1': the item's IRI path below {base}id/."""
        return f"{self.municipality_code}/{self.plan_id}/{self.code}"


@dataclass(frozen=True)
class Counterpart:
    item: int  # index into the item list
    score: float
    text_score: float
    sdg_score: float | None


def features(text: str) -> Counter[str]:
    """Content words ('w:') and kanji/katakana bigrams ('c:') of `text`, NFKC-normalised."""
    from ..sdg.tokens import tokenize  # SudachiPy, loaded on first use

    normal = unicodedata.normalize("NFKC", text)
    found: Counter[str] = Counter(f"w:{word}" for word in tokenize(normal))
    for run in _KANJI_OR_KATAKANA.findall(normal):
        if len(run) == 1:
            found[f"c:{run}"] += 1
        found.update(f"c:{run[i:i + 2]}" for i in range(len(run) - 1))
    return found


def tfidf_matrix(texts: list[str]) -> sparse.csr_matrix:
    """Rows of L2-normalised sublinear TF-IDF weights of each text's features."""
    counts = [features(text) for text in texts]
    vocabulary = {gram: i for i, gram in enumerate(sorted({g for c in counts for g in c}))}
    df = np.zeros(len(vocabulary))
    rows, cols, values = [], [], []
    for row, grams in enumerate(counts):
        for gram, tf in grams.items():
            rows.append(row)
            cols.append(vocabulary[gram])
            values.append(1.0 + math.log(tf))
            df[vocabulary[gram]] += 1
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), len(vocabulary)))
    matrix = matrix.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ matrix


def combine(text_score: float, goals_a: frozenset[int], goals_b: frozenset[int], *,
            weight: float = SDG_WEIGHT) -> tuple[float, float | None]:
    """The final score and the SDG part (None when either item has no goals)."""
    if not goals_a or not goals_b:
        return text_score, None
    jaccard = len(goals_a & goals_b) / len(goals_a | goals_b)
    return (1 - weight) * text_score + weight * jaccard, jaccard


def sdg_weight(a: LinkItem, b: LinkItem, *, suggested: float = SUGGESTED_SDG_WEIGHT) -> float:
    """The SDG part's share for a pair: `suggested` when either item's goals rest on suggested links."""
    return suggested if a.goals_suggested or b.goals_suggested else SDG_WEIGHT


class Scorer:
    """Scores between every pair of `items` (text part precomputed as one sparse product)."""

    def __init__(self, items: list[LinkItem], *, suggested_sdg_weight: float = SUGGESTED_SDG_WEIGHT) -> None:
        self.items = items
        self.suggested_sdg_weight = suggested_sdg_weight
        matrix = tfidf_matrix([item.text for item in items])
        self.text = (matrix @ matrix.T).toarray()
        self.plans: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            self.plans[(item.municipality_code, item.plan_id)].append(index)

    def score(self, a: int, b: int) -> Counterpart:
        text = float(self.text[a, b])
        first, second = self.items[a], self.items[b]
        total, sdg = combine(text, first.goals, second.goals, weight=sdg_weight(first, second, suggested=self.suggested_sdg_weight))
        return Counterpart(item=b, score=total, text_score=text, sdg_score=sdg)

    def ranking(self, a: int, plan: tuple[str, str]) -> list[Counterpart]:
        """Every item of `plan` scored against item `a`, best first (ties by source order)."""
        scored = [self.score(a, b) for b in self.plans[plan]]
        return sorted(scored, key=lambda c: (-round(c.score, 6), c.item))

    def other_plans(self, a: int) -> list[tuple[str, str]]:
        """Plans of other municipalities than item `a`'s."""
        own = self.items[a].municipality_code
        return sorted(plan for plan in self.plans if plan[0] != own)


@dataclass(frozen=True)
class ScoredPair:
    a: LinkItem
    b: LinkItem
    score: float
    relation: str  # "closeMatch" | "relatedMatch"


def candidate_pairs(items: list[LinkItem], *, per_plan: int = PER_PLAN, related: float = RELATED_THRESHOLD,
                    close: float = CLOSE_THRESHOLD, suggested_sdg_weight: float = SUGGESTED_SDG_WEIGHT
                    ) -> list[ScoredPair]:
    """Pairs of items of different municipalities worth linking, each pair once (a.key < b.key).

    A pair is kept when one item is among the other's `per_plan` best in its plan and the
    score reaches `related`; it is a closeMatch from `close` on.
    """
    scorer = Scorer(items, suggested_sdg_weight=suggested_sdg_weight)
    best: dict[tuple[int, int], float] = {}
    for a in range(len(items)):
        for plan in scorer.other_plans(a):
            for counterpart in scorer.ranking(a, plan)[:per_plan]:
                if counterpart.score < related:
                    break
                pair = (a, counterpart.item) if items[a].key < items[counterpart.item].key else (counterpart.item, a)
                best[pair] = max(best.get(pair, 0.0), counterpart.score)
    pairs = [ScoredPair(a=items[i], b=items[j], score=round(score, 3),
                        relation="closeMatch" if score >= close else "relatedMatch")
             for (i, j), score in best.items()]
    return sorted(pairs, key=lambda p: (p.a.key, p.b.key))


def plan_items(settings: Settings) -> list[LinkItem]:
    """Every element of every plan under settings.data_dir, with its SDG goals."""
    reference = load_reference(settings.data_dir)
    items = []
    for folder in plan_folders(settings.data_dir):
        plan = read_plan(folder)
        code, plan_id = plan.metadata.municipality.code, plan.metadata.plan_id
        goals, curated = _item_goals(plan, plan_links(settings.data_dir, plan, reference=reference))
        for item in plan.items:
            if not item.label:
                continue  # a planned element without a name has nothing to compare
            text = f"{item.field} {item.label}" if item.field else item.label
            own = goals.get(item.code, frozenset())
            items.append(LinkItem(municipality_code=code, plan_id=plan_id, code=item.code, level=item.level,
                                  label=item.label, text=text, goals=own,
                                  goals_suggested=own != curated.get(item.code, frozenset())))
    return items


def _item_goals(plan: PlanSource, links: tuple[SdgLinkRecord, ...]
                ) -> tuple[dict[str, frozenset[int]], dict[str, frozenset[int]]]:
    """SDG goals per item code, all and curated only: the linked items' own, and every ancestor gets its descendants'."""
    goals: dict[str, set[int]] = defaultdict(set)
    curated: dict[str, set[int]] = defaultdict(set)
    parent = {item.code: item.parent for item in plan.items}
    for link in links:
        goal = int(link.target.split(".")[0])
        code: str | None = link.initiative
        while code is not None:
            goals[code].add(goal)
            if link.method == "curated":
                curated[code].add(goal)
            code = parent.get(code)
    return ({k: frozenset(v) for k, v in goals.items()}, {k: frozenset(v) for k, v in curated.items()})
