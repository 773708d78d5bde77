"""Synthetic plans for all 1,741 municipalities, in plan-kg's import format (plan.toml + items.csv + sdg-links.csv).

Sizes follow real plans: 4-8 top elements, 2-4 children per element, three or four levels
(Nishitokyo has 6/15/37/109). Labels are real Japanese plan labels (Nishitokyo's and
Nerima's) with the variations cities use (another stock ending, the city's name as prefix),
so the text similarity and the SDG links behave as they would on real data. About a third
of the plans use other level names (施策の柱 / 戦略計画 / 主要事業 …) as generic pkg:PlanElement.
Initiatives get 1-3 SDG targets, taken from Nishitokyo's curated links for the label they
copy when there are some. Codes are valid 全国地方公共団体コード (check digit), but not real ones.

    python benchmarks/national_generate.py OUT_DIR [--cities 1741] [--seed 1]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plan_kg.cities.importer import plan_toml_text  # noqa: E402
from plan_kg.municipality import check_digit  # noqa: E402
from plan_kg.sdg.links import COLUMNS, PLAN_TABLE  # noqa: E402

PREFECTURES = ("北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 "
               "富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 "
               "鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 "
               "鹿児島県 沖縄県").split()
# Municipalities per prefecture (2024, incl. Tokyo's 23 wards): they add up to 1,741.
COUNTS = (179, 40, 33, 35, 25, 35, 59, 44, 25, 35, 63, 54, 62, 33, 30, 15, 19, 17, 27, 77, 42, 35, 54, 29, 19, 26,
          43, 41, 39, 30, 19, 19, 27, 23, 19, 24, 17, 20, 34, 60, 20, 21, 45, 18, 26, 43, 41)
NAME_PARTS = "東 西 南 北 中 上 下 大 小 高 新 本 山 川 田 野 原 沢 森 林 松 竹 桜 富 岡 島 浜 崎 宮 城 里 津 江 尾 坂 谷".split()
GENERIC_LEVELS = (("施策の柱", "戦略計画", "主要事業"), ("政策", "施策", "事務事業"), ("分野", "基本施策", "取組"))
ENDINGS = ("の推進", "の充実", "の強化", "の支援", "の向上")


@dataclass(frozen=True)
class Theme:
    label: str
    targets: tuple[str, ...]


def load_themes() -> tuple[list[Theme], list[Theme], list[Theme], list[Theme]]:
    """Labels by depth (goal, policy, measure, initiative) from the bundled real plans."""
    links: dict[str, list[str]] = {}
    with (ROOT / "data" / "sdg" / "links.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            links.setdefault(row["initiative"], []).append(row["target"])
    by_depth: list[list[Theme]] = [[], [], [], []]
    with (ROOT / "data" / "nishitokyo" / "items.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["label"]:
                depth = row["code"].count("-")
                by_depth[depth].append(Theme(row["label"], tuple(links.get(row["code"], ()))))
    with (ROOT / "data" / "nerima" / "items.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_depth[0 if row["code"].startswith("P") else 2].append(Theme(row["label"], ()))
    return tuple(by_depth)  # type: ignore[return-value]


def municipalities(count: int) -> list[tuple[str, str, str, str]]:
    """(code, name_ja, name_en, prefecture_ja) for `count` municipalities, in code order."""
    rng = random.Random(0)
    out = []
    for number, (prefecture, n) in enumerate(zip(PREFECTURES, COUNTS, strict=True), start=1):
        for i in range(n):
            first5 = f"{number:02d}{201 + i:03d}"
            suffix = "市" if i < n // 3 else ("町" if i < 2 * n // 3 else "村")
            name = "".join(rng.sample(NAME_PARTS, 2)) + suffix
            out.append((first5 + str(check_digit(first5)), name, f"Synthetic municipality {first5}", prefecture))
    return out[:count]


def vary(label: str, rng: random.Random, city: str) -> str:
    """The label as another city might write it."""
    roll = rng.random()
    if roll < 0.25:
        for ending in ENDINGS:
            if label.endswith(ending):
                return label[: -len(ending)] + rng.choice(ENDINGS)
    if roll > 0.93:
        return f"{city[:-1]}版{label}"
    return label


def plan_rows(rng: random.Random, themes: tuple, city: str, generic: tuple[str, str, str] | None
              ) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Items rows (code, level, label, parent, field, notes) and SDG (initiative, target) pairs."""
    levels = generic or ("基本目標", "施策", "基本施策", "目標の実現に向けた取組内容")
    depth = len(levels)
    rows, sdg = [], []

    def add(code: str, level: int, parent: str) -> None:
        theme = rng.choice(themes[min(level, 3)] if level < depth - 1 else themes[3])
        field = rng.choice(("協働・行財政", "子育て・教育", "福祉・健康", "環境", "都市計画・防災", "産業・文化")) \
            if level == 0 and not generic else ""
        rows.append([code, levels[level], vary(theme.label, rng, city), parent, field, ""])
        if level == depth - 1:
            targets = list(theme.targets) or [rng.choice(("3.8", "4.1", "11.3", "11.7", "8.5", "16.7", "13.2"))]
            for target in sorted(set(rng.sample(targets, min(len(targets), rng.randint(1, 3))))):
                sdg.append((code, target))
            return
        for child in range(1, rng.randint(2, 4) + 1):
            add(f"{code}-{child}", level + 1, code)

    for top in range(1, rng.randint(4, 8) + 1):
        add(str(top), 0, "")
    return rows, sdg


def write_plan(out: Path, code: str, name: str, prefecture: str, rng: random.Random, themes: tuple) -> None:
    generic = rng.choice(GENERIC_LEVELS) if rng.random() < 0.33 else None
    rows, sdg = plan_rows(rng, themes, name, generic)
    folder = out / code
    folder.mkdir(parents=True, exist_ok=True)
    levels = ({level: "PlanElement" for level in generic} if generic else
              {"基本目標": "BasicGoal", "施策": "Policy", "基本施策": "Measure", "目標の実現に向けた取組内容": "Initiative"})
    table = {
        "plan_id": "comprehensive-plan", "title_ja": f"{name}総合計画（模擬）", "title_en": f"Synthetic plan of {code}",
        "status": "Adopted", "completeness": "Complete", "period_start": dt.date(2024, 4, 1),
        "period_end": dt.date(2034, 3, 31), "issued": dt.date(2024, 3, 1),
        "source": f"https://example.org/synthetic/{code}", "license": "https://creativecommons.org/licenses/by/4.0/",
        "hierarchical_codes": True, "levels": levels,
        "municipality": {"code": code, "name_ja": name, "name_en": f"Synthetic municipality {code}",
                         "prefecture_ja": prefecture, "prefecture_en": prefecture},
    }
    (folder / "plan.toml").write_text(plan_toml_text(table), encoding="utf-8")
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["code", "level", "label", "parent", "field", "notes"])
    writer.writerows(rows)
    (folder / "items.csv").write_text(text.getvalue(), encoding="utf-8")
    sdg_text = io.StringIO(newline="")
    writer = csv.writer(sdg_text, lineterminator="\n")
    writer.writerow(COLUMNS)  # the SDG links table's own format, read by plan_kg.sdg.links.read_links
    writer.writerows((initiative, target, "0.5", "suggested", "synthetic", "", "2026-11-28") for initiative, target in sdg)
    (folder / PLAN_TABLE).write_text(sdg_text.getvalue(), encoding="utf-8")


def generate(out: Path, *, cities: int = 1741, seed: int = 1) -> list[str]:
    """Write `cities` synthetic plans under `out`; the municipality codes, in order."""
    themes = load_themes()
    codes = []
    for code, name, _, prefecture in municipalities(cities):
        write_plan(out, code, name, prefecture, random.Random(f"{seed}-{code}"), themes)
        codes.append(code)
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cities", type=int, default=1741)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    codes = generate(args.out, cities=args.cities, seed=args.seed)
    print(f"{len(codes)} plans written to {args.out}")


if __name__ == "__main__":
    main()
