"""The four reference plans in ../shared/reference/cities, imported with `import_plan`.

Each reference folder has structure.tsv (code, level, label_ja, parent_code, sdg_goals) and
source.md (prose). The metadata below is read off each source.md by hand; what the source
does not say is said in the notes, never guessed silently. Every plan is Partial.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import SourceError
from .importer import ImportResult, import_plan, plan_toml_text

_TOKYO = {"prefecture_ja": "東京都", "prefecture_en": "Tokyo"}
_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
_LICENSE_NOTE = (" The municipality's own terms of use apply to its source text; the licence stated here"
                 " covers plan-kg's structured description of it.")

#: folder -> (municipality, plan metadata, per-row notes by code)
REFERENCE_PLANS: dict[str, dict] = {
    "nerima": {
        "municipality": {"code": "131202", "name_ja": "練馬区", "name_en": "Nerima City", **_TOKYO},
        "plan": {
            "plan_id": "vision-3",
            "title_ja": "第3次みどりの風吹くまちビジョン 基本計画・アクションプラン〔戦略計画〕（素案）",
            "title_en": "Nerima Third Vision of a Green-Breeze City: basic plan and action plan (draft)",
            "status": "Draft",
            "completeness": "Partial",
            "completeness_note": (
                "All 6 施策の柱 are captured but only 20 of about 25 戦略計画: 戦略計画21 (under 柱5, label cut off"
                " in the source) and every 戦略計画 under 柱6 are missing, as are the basic plan's own 施策. No SDG"
                " mapping is given by the source. Labels are from the December 2023 draft (素案) and may differ"
                " in the adopted plan."),
            "completeness_note_ja": (
                "施策の柱は6つすべて、戦略計画は約25のうち20のみ。戦略計画21（柱5、原典で途中まで）と柱6の戦略計画、"
                "基本計画の施策は未収録。SDGs との対応は原典にない。名称は令和5年12月の素案による。"),
            "period_start": dt.date(2024, 4, 1),
            "period_end": dt.date(2027, 3, 31),
            "issued": dt.date(2023, 12, 1),
            "source": "http://www.city.nerima.tokyo.jp/kusei/keikaku/vision3/vision3rd_soan.files/vision3rd_soan.txt",
            "source_note": (
                "Draft 基本計画・アクションプラン〔戦略計画〕 (令和5年12月, 練馬区企画部企画課) and the アクションプラン"
                "〔年度別取組計画〕 draft for FY2024-2026; S14-S20 come from the latter only. The period is the"
                " action plan's (FY2024-FY2026); the basic plan's own period was not visible. Issued: December"
                " 2023 (the day is not given)." + _LICENSE_NOTE),
            "license": _LICENSE,
            "hierarchical_codes": False,
        },
        "notes": {"S12": "The 年度別取組計画 file drops the closing 」; the label is the main draft's."},
    },
    "musashino": {
        "municipality": {"code": "132039", "name_ja": "武蔵野市", "name_en": "Musashino City", **_TOKYO},
        "plan": {
            "plan_id": "long-term-plan-6",
            "title_ja": "武蔵野市第六期長期計画",
            "title_en": "Musashino City Sixth Long-Term Plan",
            "status": "Adopted",
            "completeness": "Partial",
            "completeness_note": (
                "Only the 6 分野 of the 施策の体系 are captured; the 5 基本目標, the 基本施策 under each 分野 and"
                " the 施策 and 事業 below them are missing. The order of 分野 4-6 is inferred from the page's"
                " lead sentence. A 第六期 調整計画 (about FY2025-2029) may have changed them; not checked."),
            "completeness_note_ja": (
                "施策の体系の分野6つのみ。基本目標（5つ）、各分野の基本施策、その下の施策・事業は未収録。分野4〜6の"
                "順序はページの導入文からの推定。第六期調整計画による変更は未確認。"),
            "period_start": dt.date(2020, 4, 1),
            "period_end": dt.date(2030, 3, 31),
            "issued": dt.date(2020, 4, 1),
            "source": "https://www.city.musashino.lg.jp/citypromotion_75/contents/",
            "source_note": (
                "City promotion page 「武蔵野市のまちづくり」, section 「武蔵野市第六期長期計画 施策の体系」. The adoption"
                " date was not captured; 'issued' is the day the plan came into force (April 2020)." + _LICENSE_NOTE),
            "license": _LICENSE,
            "hierarchical_codes": False,
        },
        "notes": {},
    },
    "higashimurayama": {
        "municipality": {"code": "132136", "name_ja": "東村山市", "name_en": "Higashimurayama City", **_TOKYO},
        "plan": {
            "plan_id": "comprehensive-plan-5",
            "title_ja": "東村山市第5次総合計画〜わたしたちのSDGs〜",
            "title_en": "Higashimurayama City Fifth Comprehensive Plan: Our SDGs",
            "status": "Adopted",
            "completeness": "Partial",
            "completeness_note": (
                "Only the 3 基本目標 are captured, and the third label (くらしの質の向上) is inferred, not read"
                " from the source. The めざす姿 statements, the basic plan's 施策, the 都市経営の方向性 section"
                " and any per-施策 SDG mapping are missing."),
            "completeness_note_ja": (
                "基本目標3つのみ。3つ目の名称（くらしの質の向上）は原典で確認できず推定。めざす姿、基本計画の施策、"
                "都市経営の方向性、施策ごとの SDGs 対応は未収録。"),
            "period_start": dt.date(2021, 4, 1),
            "period_end": dt.date(2031, 3, 31),
            "issued": dt.date(2020, 8, 28),
            "source": "http://www2.city.higashimurayama.tokyo.jp/reiki_int/reiki_honbun/f200RG00001168.html",
            "source_note": (
                "基本構想 as adopted by the council on 令和2年8月28日 (例規集); 基本目標1 and 2 from the 市報"
                " ひがしむらやま of 2020-10-15. Period of the 基本構想, FY2021-FY2030." + _LICENSE_NOTE),
            "license": _LICENSE,
            "hierarchical_codes": False,
        },
        "notes": {"G3": "Label inferred from the pattern of G1 and G2 and the mayor's wording; not read in the source."},
    },
    "kodaira": {
        "municipality": {"code": "132110", "name_ja": "小平市", "name_en": "Kodaira City", **_TOKYO},
        "plan": {
            "plan_id": "long-term-plan-4",
            "title_ja": "小平市第四次長期総合計画",
            "title_en": "Kodaira City Fourth Long-Term Comprehensive Plan",
            "status": "Adopted",
            "completeness": "Partial",
            "completeness_note": (
                "Only the 3 基本目標 and the name of the 自治体経営方針 are captured; the 2 cross-cutting projects"
                " and every level of the 基本計画 (政策, 施策) are missing. The codes are plan-kg's, not the"
                " source's."),
            "completeness_note_ja": (
                "基本目標3つと自治体経営方針の名称のみ。横断的な2つのプロジェクトと基本計画の各階層（政策・施策）は未収録。"
                "番号は plan-kg が付けたもの。"),
            "period_start": dt.date(2021, 4, 1),
            "period_end": dt.date(2033, 3, 31),
            "issued": dt.date(2020, 12, 18),
            "source": "http://www.city.kodaira.tokyo.jp/reiki/reiki_honbun/g135RG00001373.html",
            "source_note": (
                "基本構想 as adopted by the council on 令和2年12月18日 (例規集); names of the 基本目標 from the"
                " 策定状況ニュースレター第19号 (2020-12-01), read on a mirror of the city's pages." + _LICENSE_NOTE),
            "license": _LICENSE,
            "hierarchical_codes": False,
        },
        "notes": {},
    },
}


@dataclass(frozen=True)
class ReferenceRow:
    code: str
    level: str
    label: str
    parent: str
    sdg_goals: str


def read_structure(path: Path) -> list[ReferenceRow]:
    """The rows of a reference structure.tsv."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        expected = {"code", "level", "label_ja", "parent_code", "sdg_goals"}
        if set(reader.fieldnames or ()) != expected:
            raise SourceError(path, f"header must be {', '.join(sorted(expected))}", row=1)
        return [ReferenceRow(code=r["code"] or "", level=r["level"] or "", label=r["label_ja"] or "",
                             parent=r["parent_code"] or "", sdg_goals=r["sdg_goals"] or "") for r in reader]


def import_reference_cities(reference_dir: Path, *, settings: Settings, replace_existing: bool = True) -> list[ImportResult]:
    """Import every plan of REFERENCE_PLANS from `reference_dir` into settings.data_dir/<folder>/."""
    results = []
    for folder, spec in REFERENCE_PLANS.items():
        rows = read_structure(reference_dir / folder / "structure.tsv")
        with tempfile.TemporaryDirectory() as tmp:
            items = Path(tmp) / "items.csv"
            with items.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["code", "level", "label", "parent", "notes"])
                for row in rows:
                    writer.writerow([row.code, row.level, row.label, row.parent, spec["notes"].get(row.code, "")])
            metadata = Path(tmp) / "plan.toml"
            metadata.write_text(plan_toml_text({**spec["plan"], "municipality": spec["municipality"]}),
                                encoding="utf-8")
            results.append(import_plan(items, municipality_code=spec["municipality"]["code"], metadata_path=metadata,
                                       settings=settings, folder=folder, replace_existing=replace_existing))
    return results
