"""Normalisation of what city offices send: the one place codes and cells are cleaned.

Japanese labels are kept exactly as written, apart from spaces at either end.
"""

from __future__ import annotations

import re
import unicodedata

# Characters Japanese documents use for the hyphen in codes such as １－３－３.
# NFKC already maps the full-width hyphen-minus (U+FF0D); these it leaves alone.
_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\ufe63\u2043"
_HYPHEN_RE = re.compile(f"[{_HYPHENS}]")
_SPACE_RE = re.compile(r"\s+")


def normalize_code(raw: str) -> str:
    """'１－３－３ ' -> '1-3-3': NFKC, every hyphen-like character to '-', no spaces."""
    code = unicodedata.normalize("NFKC", raw)
    code = _HYPHEN_RE.sub("-", code)
    return _SPACE_RE.sub("", code)


def clean_cell(raw: str | None) -> str:
    """A cell with spaces (ASCII or ideographic U+3000) trimmed at both ends; inside untouched."""
    if raw is None:
        return ""
    return raw.strip(" \t\r\n\u3000\ufeff")
