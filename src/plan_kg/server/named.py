"""Named queries the server process answers itself, once a query worker has shown each to be quick.

A query of `queries/` (the ones the home page offers, which researchers send as they are or with comments of
their own) is a known text over a read-only store: what one run of it costs, every run costs. The first request
that sends one goes to a query worker, as every query does, and the worker says how long it took to run it and
write the answer (`QueryResult.run_s`). Once that was at most `in_process_named_s` (default 1 ms) for the format
asked, the server process runs it itself (`worker.run_known`), without the hop to a worker, which costs about as
much as such a query (0.3 ms).

A text sends a named query when it has the same tokens: comments and the white space between tokens do not
count (`token_text`); any other difference does, even one the parser would read alike (`select` for `SELECT`). A named
query whose reading for tokens may not be the parser's (a less-than sign before a quote: `_read_as_parsed`) is matched by
its own text, with comments and white space after it, only.
What the server process runs is the named query's own text, never the text sent: it only ever runs a query a
worker has seen finish quickly, whatever a request holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pyoxigraph

from ..named_queries import NamedQuery
from .guard import may_use_service
from .jobs import QueryJob
from .negotiation import PAGE
from .syntax import CLOSED_STRING, IRI_OR_STRING

#: IRIs, strings and a name's escaped character (`ex:a\#b`, `ex:a\'b`), kept as they are, and comments, left out
#: (the one group: `re.split` keeps what it finds).
_UNITS = re.compile(rf"(\\.|{IRI_OR_STRING}|\#[^\n\r]*+)", re.DOTALL)
#: A run of SPARQL's white space: these four characters only (U+3000 in a query is no space to its parser).
_SPACE = re.compile(r"[\x20\t\r\n]++")
#: Comments and white space alone: no token (what `token_text` leaves of such a text is empty).
_NO_TOKEN = re.compile(r"(?:[\x20\t\r\n]++|\#[^\n\r]*+)*+")
#: The characters every unit of `_UNITS` starts with: counted (in C, ~1 µs a kilobyte) before a text is split.
_UNIT_STARTS = ("\\", "<", '"', "'", "#")

#: How much longer than the longest named query a text may be, and how many more IRIs, strings, escapes and comments
#: than the one with the most it may have, and still be read for one (comments of its own): reading a text for its
#: tokens takes time (15 µs for a named query, 200 µs for 4 KB of quotes and brackets), and a text with much more is
#: no named query. The characters units start with are counted first, with as much room: a text with more is not
#: split at all (a comment full of them sends the query to a worker, which answers it as well).
_MORE_CHARACTERS = 2_048
_MORE_UNITS = 64


def token_text(query: str) -> str:
    """`query` with its comments left out and each run of white space between tokens one space, from the first token
    to the last: two texts with the same token text are the same query to a SPARQL parser."""
    return _joined(_UNITS.split(query))


def _joined(pieces: list[str]) -> str:
    """The token text of a query split by `_UNITS`: between units, a unit, between units, ... (white space is only
    ever between units)."""
    kept = []
    between = pieces[0]
    for at in range(1, len(pieces), 2):
        if pieces[at].startswith("#"):  # a comment: what is around it is one stretch between tokens
            between += pieces[at + 1]
            continue
        kept += (_SPACE.sub(" ", between), pieces[at])
        between = pieces[at + 1]
    kept.append(_SPACE.sub(" ", between))
    return "".join(kept).strip(" ")


class QuickNamedQueries:
    """Which named queries a worker has answered within `most_s` seconds, by format asked; see the module."""

    def __init__(self, queries: Iterable[NamedQuery], *, most_s: float) -> None:
        # SERVICE is checked where a time limit holds (a worker), and reaches out: never answered here.
        pieces = {query.text: _UNITS.split(query.text) for query in queries if not may_use_service(query.text)}
        # Read for its tokens only where `_UNITS` reads it as the parser does (`_read_as_parsed`); any other is
        # matched by its own text, with comments and white space after it.
        self._texts = {_joined(split): text for text, split in pieces.items() if _read_as_parsed(text, split)}
        # The texts a request's may start with: after one, comments and white space add no token (a comment it ends
        # with takes in what follows up to the line's end, which is then a comment's or white space too); after a
        # backslash, which no query ends with, '#' would be a name's escaped character.
        self._raw = [text for text in pieces if not text.endswith("\\")]
        self._longest = max((len(text) for text in pieces), default=0) + _MORE_CHARACTERS
        self._most_pieces = max((len(split) for split in pieces.values()), default=0) + 2 * _MORE_UNITS
        self._most_starts = max((_starts(text) for text in pieces), default=0) + 2 * _MORE_UNITS
        self.most_s = most_s
        self._quickest: dict[tuple[str, str | None, str | None], float] = {}

    def named(self, job: QueryJob) -> str | None:
        """The text of the named query `job` sends, when it sends one this process may answer (over the whole store,
        in a format other than the HTML page, which shows the text as sent); else None. A page for either kind of
        answer counts: a CONSTRUCT's is a page where a SELECT's is JSON (`Accept: application/sparql-results+json,
        text/html;q=0.5`)."""
        if not self._raw or self.most_s <= 0 or len(job.query) > self._longest:
            return None
        if job.default_graphs is not None or job.named_graphs is not None:
            return None
        if PAGE.name in (job.results_format, job.graph_format):
            return None
        for text in self._raw:  # the usual text: a named query as it is, then at most comments and white space
            if job.query.startswith(text) and _NO_TOKEN.fullmatch(job.query, len(text)):
                return text
        if not self._texts or _starts(job.query) > self._most_starts:
            return None
        pieces = _UNITS.split(job.query)
        if len(pieces) > self._most_pieces or any(_left_open(unit) for unit in pieces[1::2]):
            return None
        return self._texts.get(_joined(pieces))

    def is_quick(self, named: str, job: QueryJob) -> bool:
        """Whether a worker answered `named` in `job`'s formats within `most_s`."""
        return self._quickest.get(_key(named, job), math.inf) <= self.most_s

    def note(self, named: str, job: QueryJob, run_s: float) -> None:
        """A worker answered `named` in `job`'s formats in `run_s` seconds (the quickest run is kept)."""
        key = _key(named, job)
        self._quickest[key] = min(run_s, self._quickest.get(key, math.inf))


def _read_as_parsed(text: str, pieces: list[str]) -> bool:
    """Whether `_UNITS` reads the named query `text`, split into `pieces`, as the parser does, as far as a quote or a
    '#' in an IRI can tell. `_UNITS` takes '<' for an IRI's start wherever an IRI could follow, where the parser may
    read less than: in `FILTER(''<'>#' && ?x = 1)` it reads the IRI <'>, then a comment to the line's end, where the
    parser reads a string and code; in `FILTER(?x<3#> || ?x>4#> \n)` it reads the IRI <3#> and code, where the parser
    reads a comment to the line's end (a text with a line end put before `||` has its tokens, and the parser reads that
    code). A text that differs from such a query only where the two readings differ would have its tokens, and be
    answered with its answer. An IRI with a quote (which SPARQL allows, and nobody writes) leaves the query to be
    matched by its own text; so does one with '#' whose '<' the parser reads as less than (or as part of '<<'): the
    query is still SPARQL with a space after that '<' (or '<='), where an IRI would be broken."""
    if any(unit.startswith("<") and "'" in unit for unit in pieces[1::2]):
        return False
    at = len(pieces[0])
    for index in range(1, len(pieces), 2):
        unit = pieces[index]
        if unit.startswith("<") and "#" in unit:
            after = at + (2 if unit.startswith("<=") else 1)
            for cut in {at + 1, after}:
                if _parses(text[:cut] + " " + text[cut:]):
                    return False
        at += len(unit) + len(pieces[index + 1])
    return True


def _parses(query: str) -> bool:
    """Whether pyoxigraph's parser takes `query` (run over an empty store: nothing to evaluate)."""
    try:
        pyoxigraph.Store().query(query)
    except Exception:  # noqa: BLE001 - refused, whatever the reason
        return False
    return True


def _starts(text: str) -> int:
    """How many characters of `text` a unit of `_UNITS` may start with: at least as many as it has units."""
    return sum(map(text.count, _UNIT_STARTS))


def _left_open(unit: str) -> bool:
    """Whether `unit`, of those `_UNITS` finds, is a string left open (the parser refuses the text it is in). `_UNITS`
    takes a short one a line end leaves open for a string to that end, and the white space after it for white space
    between tokens: '"\n | "' has the tokens of '" | "' to it, though the parser refuses it."""
    return unit[:1] in ('"', "'") and CLOSED_STRING.fullmatch(unit) is None


def _key(named: str, job: QueryJob) -> tuple[str, str | None, str | None]:
    return named, job.results_format, job.graph_format
