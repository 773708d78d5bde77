"""Run the SDG suggester on other cities' plan structures (never seen while building it).

Run:  python benchmarks/sdg_cities.py
Reads shared/reference/cities/*/structure.tsv and prints, per city, each item with its suggested goals.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from plan_kg.config import Settings  # noqa: E402
from plan_kg.sdg import suggest  # noqa: E402


def main() -> None:
    cities = Settings().shared_dir / "reference" / "cities"
    for path in sorted(cities.glob("*/structure.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        print(f"\n### {path.parent.name} ({len(rows)} items)\n")
        print("| code | level | label | suggested goals (score) | top targets |\n| --- | --- | --- | --- | --- |")
        for row, result in zip(rows, suggest([r["label_ja"] for r in rows]), strict=True):
            goals = ", ".join(f"{g.code} ({g.score:.2f})" for g in result.goals) or "—"
            targets = ", ".join(t.code for t in result.targets[:3]) or "—"
            print(f"| {row['code']} | {row['level']} | {row['label_ja']} | {goals} | {targets} |")


if __name__ == "__main__":
    main()
