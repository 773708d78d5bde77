"""Which representation of a resource (or named query) to send: from a file suffix or the Accept header.

Both use `plan_kg.formats`, the one table of formats, media types and suffixes, and its
`best_for_accept`, which the SPARQL endpoint uses too.
"""

from __future__ import annotations

from .. import formats
from ..formats import Format, Kind

#: What a resource can be sent as: a page for people, then every RDF graph format.
OFFERED: tuple[Format, ...] = (*formats.for_kind(Kind.PAGE), *formats.for_kind(Kind.GRAPH))
#: A named query is SPARQL; a browser, which would download that, is sent it as plain text to show.
QUERY = formats.by_name("sparql")
PLAIN_TEXT = "text/plain"


def from_accept(accept: str | None) -> Format | None:
    """The offered format that best fits an Accept header; HTML when there is none; None if nothing fits."""
    try:
        return formats.best_for_accept(accept, OFFERED)
    except ValueError:  # a header that cannot be read: nothing is acceptable (406)
        return None


def unreadable(accept: str | None) -> str | None:
    """Why an Accept header cannot be read, as a sentence, which makes `from_accept` None for a header that may
    well list an offered type (`formats.unreadable`); None if it can be."""
    return formats.unreadable(accept, OFFERED)


def query_media_type(accept: str | None) -> str:
    """The media type to send a SPARQL query as: plain text when the Accept header wants text/html or text/plain
    more than application/sparql-query (a browser), else application/sparql-query (also on a tie, as for `*/*`,
    no header or one that cannot be read). Weighed as every format is (`formats.quality`).
    """
    try:
        shown = max(formats.quality(accept, formats.by_name("html")), formats.quality(accept, PLAIN_TEXT))
        return PLAIN_TEXT if shown > formats.quality(accept, QUERY) else QUERY.media_type
    except ValueError:
        return QUERY.media_type


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
