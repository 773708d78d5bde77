"""全国地方公共団体コード: the 6-digit local government code and its check digit."""

from __future__ import annotations

from pathlib import Path

from .errors import SourceError


def check_digit(first_five: str) -> int:
    """The check digit of a 5-digit code (MIC's rule: weights 6,5,4,3,2; 11 - sum mod 11, last digit)."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    remainder = total % 11
    return (11 - remainder) % 10 if remainder else 0


def check_municipality_code(code: str, *, path: Path | str = "<input>") -> str:
    """`code` if it is a valid 6-digit code; SourceError saying what is wrong otherwise."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise SourceError(path, f"municipality code '{code}' must be 6 ASCII digits (5 digits and a check digit, "
                          "e.g. 132292 for 西東京市)")
    expected = check_digit(code[:5])
    if int(code[5]) != expected:
        raise SourceError(path, f"municipality code '{code}' has check digit {code[5]}, expected {expected}; "
                          f"did you mean {code[:5]}{expected}?")
    return code
