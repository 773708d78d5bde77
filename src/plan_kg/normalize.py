"""Normalisation of what city offices send: the one place codes and cells are cleaned and checked.

Japanese labels are kept exactly as written, apart from spaces at either end.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .errors import SourceError

# Characters Japanese documents use for the hyphen in codes such as １－３－３.
# NFKC already maps the full-width hyphen-minus (U+FF0D); these it leaves alone.
_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\ufe63\u2043"
_HYPHEN_RE = re.compile(f"[{_HYPHENS}]")
_SPACE_RE = re.compile(r"\s+")
#: Characters no published text may hold. XML 1.0, and so RDF/XML and the pages, cannot carry the C0 controls
#: other than tab, LF and CR, lone surrogates, U+FFFE or U+FFFF; DEL and the C1 controls (U+007F-U+009F) it
#: can, but they are never text in a plan (they come from a PDF, a terminal or a file read in the wrong encoding).
_UNUSABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


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


def unusable_character(text: str) -> str | None:
    """What the first character of `text` that no published text may hold is, for a message; None if there is none."""
    match = _UNUSABLE.search(text)
    if match is None:
        return None
    char, at = match.group(), match.start()
    kind = ("a lone surrogate" if "\ud800" <= char <= "\udfff"
            else "the non-character" if char in "\ufffe\uffff" else "the control character")
    start, end = max(0, at - 20), at + 20  # enough of a long cell to find the place
    shown = ("…" if start else "") + _UNUSABLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text[start:end]) \
        + ("…" if end < len(text) else "")
    return (f"'{shown}' holds {kind} U+{ord(char):04X} (character {at + 1}), which is not text and cannot be "
            "published (RDF/XML and the pages are XML); delete it (most editors do not show it: retype the text there)")


def check_text(text: str, path: Path | str, *, row: int | None = None, column: str | None = None,
               what: str = "the cell") -> str:
    """`text` as it is; SourceError naming `path`, `row` and `column` if it holds a character no published text may."""
    problem = unusable_character(text)
    if problem is not None:
        raise SourceError(path, f"{what} {problem}", row, column)
    return text


def column_letter(index: int) -> str:
    """The spreadsheet letter of the column at 0-based `index`: A, B, … Z, AA, …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_header(header: list[str], path: Path | str) -> None:
    """SourceError (row 1) naming every column name `header` holds more than once, with the columns' letters.

    A reader keeps one of them and drops the others' cells without a word; which one is the user's to say.
    """
    places: dict[str, list[str]] = {}
    for index, name in enumerate(header):
        if name:
            places.setdefault(name, []).append(column_letter(index))
    repeated = [f"'{name}' in columns {', '.join(letters[:-1])} and {letters[-1]}"
                for name, letters in places.items() if len(letters) > 1]
    if repeated:
        raise SourceError(path, f"the header names a column more than once: {'; '.join(repeated)}; keep one column "
                          "of each name (delete or rename the others, after moving what they hold)", row=1)
