"""Evaluate cross-city links against hand labels: precision at thresholds, recall@3.

Labels: benchmarks/cities_labels.csv (query item of another city, Nishitokyo candidate,
relevant 0/1, query_kind). They were written by the plan-kg developers for the top-5
Nishitokyo candidates of every item of the four reference plans (pooled), plus the
Nishitokyo items they judged to be counterparts that the pool missed. Four two-word top
items (東村山 G2, G3; 小平 ひとづくり, くらしづくり) are too abstract to judge: they are left out
of recall, and their pooled pairs are labelled 0 where plainly not the same thing.

    python benchmarks/cities_eval.py            # prints a Markdown table
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from plan_kg.cities.similarity import PER_PLAN, Scorer, plan_items
from plan_kg.config import Settings

LABELS = Path(__file__).with_name("cities_labels.csv")
ROOT = Path(__file__).resolve().parents[1]
NISHITOKYO = ("132292", "basic-plan-3")
THRESHOLDS = (0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50)


def main() -> None:
    labels: dict[tuple[str, str], int] = {}
    kinds: dict[str, str] = {}
    with LABELS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels[(row["query"], row["candidate"])] = int(row["relevant"])
            kinds[row["query"]] = row["query_kind"]
    items = plan_items(Settings())
    scorer = Scorer(items)
    index = {item.key: n for n, item in enumerate(items)}
    rankings = {q: scorer.ranking(index[q], NISHITOKYO) for q in kinds}
    relevant = defaultdict(set)
    for (q, c), value in labels.items():
        if value:
            relevant[q].add(c)

    print("| threshold | pairs kept (top-3 per query) | labelled | precision |")
    print("|---|---|---|---|")
    for threshold in THRESHOLDS:
        kept = [(q, items[c.item].key) for q, ranking in rankings.items() for c in ranking[:PER_PLAN]
                if c.score >= threshold]
        judged = [labels[p] for p in kept if p in labels]
        precision = sum(judged) / len(judged) if judged else float("nan")
        print(f"| {threshold:.2f} | {len(kept)} | {len(judged)} | {precision:.2f} |")

    judged_queries = [q for q, kind in kinds.items() if kind == "judged" and relevant[q]]
    hits, fractions = 0, []
    for q in judged_queries:
        top = {items[c.item].key for c in rankings[q][:3] if c.score > 0}
        found = top & relevant[q]
        hits += bool(found)
        fractions.append(len(found) / min(3, len(relevant[q])))
    print()
    print(f"queries judged: {len(judged_queries)} (of {len(kinds)}); relevant pairs: "
          f"{sum(len(relevant[q]) for q in judged_queries)}")
    print(f"hit@3 (a counterpart among the top 3): {hits / len(judged_queries):.2f}")
    print(f"recall@3 (counterparts found in the top 3 / min(3, counterparts)): "
          f"{sum(fractions) / len(fractions):.2f}")
    with (ROOT / "data" / "links" / "cross-city.csv").open(encoding="utf-8") as handle:
        committed = list(csv.DictReader(handle))
    for relation in ("closeMatch", "relatedMatch", None):
        rows = [r for r in committed if relation in (None, r["relation"])]
        judged = [labels.get((r["a"], r["b"]), labels.get((r["b"], r["a"]))) for r in rows]
        known = [v for v in judged if v is not None]
        print(f"committed links ({relation or 'all'}): {len(rows)}, labelled {len(known)}, "
              f"precision {sum(known) / max(1, len(known)):.2f}")
    strict = [len({items[c.item].key for c in rankings[q][:3]} & relevant[q]) / len(relevant[q])
              for q in judged_queries]
    print(f"recall@3, plain (counterparts in the top 3 / all counterparts): {sum(strict) / len(strict):.2f}")


if __name__ == "__main__":
    main()
