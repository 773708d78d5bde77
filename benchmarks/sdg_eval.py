"""Cross-validated evaluation of the SDG suggester against the curated links.

Run:  python benchmarks/sdg_eval.py [--folds 5] [--markdown]

Folds are grouped by measure (基本施策): an initiative and its siblings are never both in the
training examples and the test set. The lexicon (data/sdg/lexicon-ja.csv) was written by the same
person who curated the links, after reading the initiatives; it is fixed across folds, so scores that
use it are optimistic. The 'target text only' row uses neither the lexicon nor the curated links.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from plan_kg.config import Settings  # noqa: E402
from plan_kg.sdg.reference import load_reference  # noqa: E402
from plan_kg.sdg.suggest import Example, Suggester, SuggesterConfig, read_lexicon  # noqa: E402
from plan_kg.sdg.training import CURATED_PLAN, curated_targets, find_plan, initiative_texts  # noqa: E402


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int


def prf(true_positive: int, predicted: int, gold: int) -> Scores:
    p = true_positive / predicted if predicted else 0.0
    r = true_positive / gold if gold else 0.0
    return Scores(p, r, 2 * p * r / (p + r) if p + r else 0.0, gold)


def evaluate(config: SuggesterConfig, *, folds: int, with_measure: bool, use_knn: bool, data_dir: Path) -> dict:
    reference = load_reference(data_dir)
    lexicon = read_lexicon(data_dir / "sdg" / "lexicon-ja.csv")
    plan = find_plan(data_dir, *CURATED_PLAN)
    assert plan is not None
    gold = curated_targets(data_dir / "sdg" / "links.csv")
    texts = [t for t in initiative_texts(plan, with_measure=with_measure) if t.code in gold]
    measures = sorted({t.measure for t in texts})
    fold_of = {m: i % folds for i, m in enumerate(measures)}
    goal_of = {t.code: t.goal for t in reference.targets}
    counts = Counter()
    per_goal = Counter()
    for fold in range(folds):
        train = tuple(Example(text=t.text, targets=gold[t.code]) for t in texts if fold_of[t.measure] != fold)
        suggester = Suggester(reference, lexicon=lexicon, examples=train if use_knn else (), config=config)
        for t in texts:
            if fold_of[t.measure] != fold:
                continue
            suggestion = suggester.suggest_one(t.text)
            predicted_targets = {s.code for s in suggestion.targets}
            gold_targets = {code for code, _ in gold[t.code]}
            predicted_goals = {int(s.code) for s in suggestion.goals}
            gold_goals = {goal_of[c] for c in gold_targets}
            counts["t_tp"] += len(predicted_targets & gold_targets)
            counts["t_pred"] += len(predicted_targets)
            counts["t_gold"] += len(gold_targets)
            counts["g_tp"] += len(predicted_goals & gold_goals)
            counts["g_pred"] += len(predicted_goals)
            counts["g_gold"] += len(gold_goals)
            for g in gold_goals | predicted_goals:
                per_goal[(g, "tp")] += g in gold_goals and g in predicted_goals
                per_goal[(g, "pred")] += g in predicted_goals
                per_goal[(g, "gold")] += g in gold_goals
    return {
        "target": prf(counts["t_tp"], counts["t_pred"], counts["t_gold"]),
        "goal": prf(counts["g_tp"], counts["g_pred"], counts["g_gold"]),
        "per_goal": {g: prf(per_goal[(g, "tp")], per_goal[(g, "pred")], per_goal[(g, "gold")]) for g in range(1, 18)},
    }


VARIANTS = {
    "target text only (no lexicon, no kNN)": (SuggesterConfig(use_lexicon=False), False),
    "target text + lexicon": (SuggesterConfig(), False),
    "kNN over curated links only": (SuggesterConfig(use_lexicon=False, knn_weight=1.0), True),
    "target text + lexicon + kNN (default)": (SuggesterConfig(), True),
}


def row(name: str, result: dict) -> str:
    g, t = result["goal"], result["target"]
    return (f"| {name} | {g.precision:.2f} | {g.recall:.2f} | {g.f1:.2f} | "
            f"{t.precision:.2f} | {t.recall:.2f} | {t.f1:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--sweep", action="store_true", help="also sweep the target threshold of the default variant")
    args = parser.parse_args()
    data_dir = Settings().data_dir
    header = ("| variant | goal P | goal R | goal F1 | target P | target R | target F1 |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for with_measure in (True, False):
        print(f"\n{args.folds}-fold CV grouped by measure; text = "
              f"{'initiative name + measure name' if with_measure else 'initiative name only'}\n")
        print(header)
        for name, (config, use_knn) in VARIANTS.items():
            result = evaluate(config, folds=args.folds, with_measure=with_measure, use_knn=use_knn, data_dir=data_dir)
            print(row(name, result))
            if with_measure and name.endswith("(default)"):
                default = result
    print("\nPer SDG goal, default variant (initiative + measure): goal-level P / R / F1 (gold initiatives)\n")
    print("| goal | P | R | F1 | gold |\n| ---: | ---: | ---: | ---: | ---: |")
    for g, s in default["per_goal"].items():
        print(f"| {g} | {s.precision:.2f} | {s.recall:.2f} | {s.f1:.2f} | {s.support} |")
    if args.sweep:
        print("\nThreshold sweep, default variant (initiative + measure)\n")
        print(header)
        base, _ = VARIANTS["target text + lexicon + kNN (default)"]
        for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            config = replace(base, target_threshold=threshold, goal_threshold=threshold)
            print(row(f"threshold {threshold}", evaluate(config, folds=args.folds, with_measure=True, use_knn=True,
                                                         data_dir=data_dir)))


if __name__ == "__main__":
    main()
