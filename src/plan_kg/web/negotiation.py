"""Which representation of a resource to send: from a file suffix or the Accept header.

Both use `plan_kg.formats`, the one table of formats, media types and suffixes.
"""

from __future__ import annotations

import mimeparse

from .. import formats
from ..formats import Format, Kind

#: What a resource can be sent as: a page for people, then every RDF graph format.
OFFERED: tuple[Format, ...] = (*formats.for_kind(Kind.PAGE), *formats.for_kind(Kind.GRAPH))
_HTML = formats.by_name("html")


def _supported() -> list[str]:
    # python-mimeparse prefers the later of two equally good matches, so list the
    # preferred formats last: HTML wins for */* (browsers, curl) and text/*.
    media_types: list[str] = []
    for fmt in reversed(OFFERED):
        media_types.extend(reversed(fmt.aliases))
    for fmt in reversed(OFFERED):
        media_types.append(fmt.media_type)
    return media_types


_SUPPORTED = _supported()


def from_accept(accept: str | None) -> Format | None:
    """The offered format that best fits an Accept header; HTML when there is none; None if nothing fits."""
    if not accept or not accept.strip():
        return _HTML
    try:
        media_type = mimeparse.best_match(_SUPPORTED, accept)
    except (ValueError, IndexError):  # a header mimeparse cannot read
        return None
    if not media_type:
        return None
    for fmt in OFFERED:
        if media_type in fmt.media_types:
            return fmt
    return None


def split_suffix(path: str) -> tuple[str, Format | None]:
    """`path` without a known suffix of an offered format, and that format (None if it has none).

    Item codes and plan ids never contain dots, so a dot in the last segment always starts a suffix.
    """
    head, slash, last = path.rpartition("/")
    stem, dot, extension = last.rpartition(".")
    if not dot:
        return path, None
    for fmt in OFFERED:
        if fmt.extension == extension:
            return head + slash + stem, fmt
    return path, None


def alternates(document_stem: str) -> str:
    """A Link header value listing every representation of the resource at `document_stem`."""
    return ", ".join(
        f'<{document_stem}.{fmt.extension}>; rel="alternate"; type="{fmt.media_type}"' for fmt in OFFERED
    )
