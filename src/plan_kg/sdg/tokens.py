"""Japanese tokens for the SDG suggester: SudachiPy, normalised forms, content words only.

Both split modes are used: mode C keeps compounds whole (待機児童, 温室効果ガス), mode A
splits them (待機 / 児童), so a text matches a target whether it names the compound or a part.
"""

from __future__ import annotations

import functools
import unicodedata

CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞")
# Words every plan item uses (推進, 充実 …) or every target uses (2030, 各国 …): they say nothing about which SDG.
STOP_WORDS = frozenset(
    "推進 充実 支援 促進 向上 強化 取り組み 取組 取組み 検討 整備 実現 確保 対応 構築 形成 創出 提供 図る 為る 成る 有る "
    "居る 出来る 行う 等 など 事 物 為 全て 全体 あらゆる 及び 年 まで 各国 国 国々 国際 レベル 目標 達成 実施 "
    "増加 増大 大幅 改善 拡大 以上 以下 割合 半減 的 化 性 方 仕組み 在り方 あり方 場 向け 応ずる 活かす 生かす 活用 "
    "利活用 適切 適正 健全 運営 主体 多様 新た 幅広い 様々 さまざま 機会 必要 持続 可能 開発 途上 先進 後発 "
    "島嶼 小島嶼 一 二 三 ため 通じる 含む 関する 対する 基づく 係る 於く 置く よる 作り 作る まち 町 進める 向ける".split()
)


@functools.cache
def _tokenizers() -> tuple[object, object]:
    from sudachipy import Dictionary, SplitMode

    dictionary = Dictionary(dict="core")
    return dictionary.tokenizer(mode=SplitMode.C), dictionary.tokenizer(mode=SplitMode.A)


def _keep(surface: str, pos: str) -> bool:
    if pos not in CONTENT_POS or surface in STOP_WORDS or surface.isdigit():
        return False
    # one hiragana is a particle or an inflection that Sudachi tagged as a noun
    return not (len(surface) == 1 and "\u3040" <= surface <= "\u309f")


@functools.lru_cache(maxsize=8192)
def tokenize(text: str) -> tuple[str, ...]:
    """Content-word tokens of `text` (normalised forms, modes C and A merged, in order of first appearance)."""
    text = unicodedata.normalize("NFKC", text)
    seen: dict[str, None] = {}
    for tokenizer in _tokenizers():
        for morpheme in tokenizer.tokenize(text):  # type: ignore[attr-defined]
            form = morpheme.normalized_form()
            if _keep(form, morpheme.part_of_speech()[0]):
                seen.setdefault(form, None)
    return tuple(seen)
