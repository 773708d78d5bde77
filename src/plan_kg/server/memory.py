"""The in-memory copy of the store that query workers (and the server process) read: whole, and its default graph alone.

The store's default graph holds the union of its named graphs (`store.py`), so it holds about half its quads. An
in-memory store walks, for a pattern, the list of quads sharing one of its terms, every graph's: a query that reads
the default graph alone runs 1.2-1.5x faster on a copy of that graph (`hierarchy` 2.3 -> 1.9 ms, `sdg-element-profile`
6.2 -> 4.2 ms, the bundled build). A query reads a named graph only through GRAPH, FROM or FROM NAMED, or the
protocol's default-graph-uri and named-graph-uri: a text with none of these words but on its comment lines (in an
IRI, a string or a comment after code they count: a false yes costs only speed), and no codepoint escape that could
spell one, is run on the copy of the default graph; any other on the whole copy. The same text always goes to the
same copy: the worker's answer and the server process's (`named.py`) are the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph

from .jobs import QueryJob

#: Words a query that reads a named graph must hold (lower case), and the start of a codepoint escape (`\u0047RAPH`).
_NAMES_GRAPHS = ("graph", "from", "\\u")
#: A line whose first character but spaces and tabs is '#': to the parser a comment, or a line of a long string (an IRI
#: or a short string holds no line end); either way no GRAPH or FROM it reads. (Reading a text for its comments
#: elsewhere is not safe: a '<' that is less than, then a quote or '#' before a '>', reads as an IRI to a pattern,
#: and the parser's GRAPH after it as a comment.) A comment ends at CR too, as the parser ends it.
_COMMENT_LINE = re.compile(r"(?:^|(?<=[\n\r]))[\x20\t]*\#[^\n\r]*")


def reads_default_graph_only(job: QueryJob) -> bool:
    """Whether `job` reads nothing but the default graph: no dataset of the protocol's, and no word that could name a
    graph in its text (a false no costs only speed)."""
    return job.default_graphs is None and job.named_graphs is None and names_no_graph(job.query)


def names_no_graph(query: str) -> bool:
    """Whether the text `query` holds no word that could name a graph (GRAPH, FROM, a codepoint escape) but on lines
    that are comments (`# Oxigraph evaluates…`): anywhere else, even in an IRI, a string or a comment after code, it
    could."""
    if not any(word in query.lower() for word in _NAMES_GRAPHS):
        return True  # most texts: a look (1 µs)
    kept = _COMMENT_LINE.sub("", query).lower()
    return not any(word in kept for word in _NAMES_GRAPHS)


@dataclass(frozen=True)
class InMemory:
    """An in-memory copy of the store (`whole`) and of its default graph alone (`default`); see the module."""

    whole: pyoxigraph.Store
    default: pyoxigraph.Store

    @classmethod
    def of(cls, disk: pyoxigraph.Store) -> InMemory:
        """Copies of `disk` (blank nodes keep their identity)."""
        whole = pyoxigraph.Store()
        whole.bulk_extend(disk.quads_for_pattern(None, None, None, None))
        default = pyoxigraph.Store()
        default.bulk_extend(whole.quads_for_pattern(None, None, None, pyoxigraph.DefaultGraph()))
        return cls(whole=whole, default=default)

    def for_job(self, job: QueryJob) -> pyoxigraph.Store:
        """The copy to run `job` on."""
        return self.default if reads_default_graph_only(job) else self.whole
