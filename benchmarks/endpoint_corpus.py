"""A synthetic corpus of many municipalities for the endpoint benchmark.

Every statement of the bundled plan (`dist/plan-kg.nq`, Nishitokyo 132292) is repeated for
`cities - 1` made-up municipality codes (990001, 990002, ...), IRIs, graph names and the
code literal rewritten; the ontology graph is kept once. The shape per city (goals, policies,
measures, initiatives, inferred closure) is therefore exactly the real one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SOURCE_CODE = "132292"


def synthetic_codes(cities: int) -> list[str]:
    """The bundled city's code, then `cities - 1` codes that no real municipality has."""
    return [SOURCE_CODE] + [f"99{i:04d}" for i in range(1, cities)]


def write_corpus(source: Path, target: Path, *, cities: int) -> int:
    """Write `cities` copies of the plan in `source` to `target` (N-Quads); returns the number of quads."""
    lines = source.read_text(encoding="utf-8").splitlines()
    shared = [line for line in lines if SOURCE_CODE not in line]
    per_city = [line for line in lines if SOURCE_CODE in line]
    count = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for line in shared:
            out.write(line + "\n")
            count += 1
        for code in synthetic_codes(cities):
            for line in per_city:
                out.write(line.replace(f"/{SOURCE_CODE}", f"/{code}").replace(f'"{SOURCE_CODE}"', f'"{code}"') + "\n")
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--cities", type=int, default=100)
    args = parser.parse_args()
    print(f"{write_corpus(args.source, args.target, cities=args.cities)} quads -> {args.target}")


if __name__ == "__main__":
    main()
