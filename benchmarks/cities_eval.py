"""Evaluate cross-city links against hand labels: precision at thresholds, recall@3.

Labels: benchmarks/cities_labels.csv (query item of another city, Nishitokyo candidate,
relevant 0/1, query_kind). They were written by the plan-kg developers for the top-5
Nishitokyo candidates of every item of the four reference plans (pooled), plus the
Nishitokyo items they judged to be counterparts that the pool missed. Four two-word top
items (東村山 G2, G3; 小平 ひとづくり, くらしづくり) are too abstract to judge: they are left out
of recall, and their pooled pairs are labelled 0 where plainly not the same thing.

benchmarks/cities_labels_added.csv (a, b, relevant, note) holds pairs labelled later, when
suggested SDG links brought in links outside that pool (pairs between two reference
cities, or picked from the Nishitokyo side); they count for precision only, so recall
stays the pooled figure above.

    python benchmarks/cities_eval.py                            # prints Markdown tables
    python benchmarks/cities_eval.py --suggested-sdg-weight 0   # as before suggested SDG links counted
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from plan_kg.cities.similarity import PER_PLAN, SUGGESTED_SDG_WEIGHT, Scorer, candidate_pairs, plan_items
from plan_kg.config import Settings

LABELS = Path(__file__).with_name("cities_labels.csv")
ADDED_LABELS = Path(__file__).with_name("cities_labels_added.csv")
ROOT = Path(__file__).resolve().parents[1]
NISHITOKYO = ("132292", "basic-plan-3")
THRESHOLDS = (0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suggested-sdg-weight", type=float, default=SUGGESTED_SDG_WEIGHT,
                        help=f"SDG share when a goal set rests on suggested links (default {SUGGESTED_SDG_WEIGHT})")
    parser.add_argument("--committed", action="store_true",
                        help="also judge data/links/cross-city.csv as committed (else the pairs link-cities would write)")
    options = parser.parse_args()
    labels: dict[tuple[str, str], int] = {}
    kinds: dict[str, str] = {}
    with LABELS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels[(row["query"], row["candidate"])] = int(row["relevant"])
            kinds[row["query"]] = row["query_kind"]
    added: dict[tuple[str, str], int] = {}
    with ADDED_LABELS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            added[(row["a"], row["b"])] = int(row["relevant"])

    def label(a: str, b: str) -> int | None:
        """The pair's label in either direction, from the pooled labels first."""
        for key in ((a, b), (b, a)):
            if key in labels:
                return labels[key]
        return added.get((a, b), added.get((b, a)))

    items = plan_items(Settings())
    scorer = Scorer(items, suggested_sdg_weight=options.suggested_sdg_weight)
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
        judged = [v for v in (label(*p) for p in kept) if v is not None]
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
    if options.committed:
        with (ROOT / "data" / "links" / "cross-city.csv").open(encoding="utf-8") as handle:
            links = [(r["a"], r["b"], r["relation"]) for r in csv.DictReader(handle)]
        source = "committed links (data/links/cross-city.csv)"
    else:
        links = [(p.a.key, p.b.key, p.relation)
                 for p in candidate_pairs(items, suggested_sdg_weight=options.suggested_sdg_weight)]
        source = "links link-cities would write"
    for relation in ("closeMatch", "relatedMatch", None):
        rows = [(a, b) for a, b, r in links if relation in (None, r)]
        known = [v for v in (label(a, b) for a, b in rows) if v is not None]
        print(f"{source} ({relation or 'all'}): {len(rows)}, labelled {len(known)}, "
              f"precision {sum(known) / max(1, len(known)):.2f}")
    strict = [len({items[c.item].key for c in rankings[q][:3]} & relevant[q]) / len(relevant[q])
              for q in judged_queries]
    print(f"recall@3, plain (counterparts in the top 3 / all counterparts): {sum(strict) / len(strict):.2f}")


if __name__ == "__main__":
    main()
