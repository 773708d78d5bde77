"""One-triple-pattern lookups: recognised from the text, answered in the server process under a row bound.

Every query runs in a worker process because pyoxigraph cannot stop a query and a worker can be
killed. That hop costs about 0.25 ms a query, most of a trivial lookup's time. A query that is
one triple pattern with no repeated variable, no filter, path, modifier or dataset clause,

    PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
    SELECT ?label WHERE { <https://w3id.org/plan-kg/id/...> skos:prefLabel ?label }

is one scan of one index, each solution one step of it. Run with `LIMIT n + 1`, it does at most
n + 1 steps, so it cannot run away and needs no worker: `bounded_text` gives that text, and the
service runs it in process. An answer with more than n rows goes to a worker as usual.

It runs on the on-disk store, whose indexes make that true for every pattern; a store in memory
(which query workers may answer from) scans the shortest list of quads sharing one of the
pattern's terms instead, so it is not used here (`benchmarks/lookup_bound.py`: a one-row lookup
between two hubs of a million quads each takes 0.06-0.09 ms on disk, 19-20 ms in memory). The
rows are the same either way; without ORDER BY, their order may differ.

The recognizer is deliberately narrow: anything it does not know (DISTINCT, FILTER, paths, blank
nodes, long strings, a second pattern, a keyword it does not expect) goes to a worker, where the
full SPARQL parser decides. A false negative costs the hop; only a false positive would matter,
and the grammar below has no token that can start a second pattern or an expression.
"""

from __future__ import annotations

import re

#: Longer texts go to a worker unread: reading one here holds up the event loop (~0.2 µs a character).
MAX_CHARACTERS = 2000

_TOKEN = re.compile(
    r"""
      (?P<space>(?:\s+|\#[^\n\r]*)+)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>(?:[A-Za-z][A-Za-z0-9_-]*)?:(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)
    | (?P<literal>"(?:[^"\\\n\r]|\\[tbnrf"'\\])*"|'(?:[^'\\\n\r]|\\[tbnrf"'\\])*')
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<datatype>\^\^)
    | (?P<number>[+-]?[0-9]+(?:\.[0-9]+)?)
    | (?P<word>[A-Za-z]+)
    | (?P<punct>[{}.*])
    """,
    re.VERBOSE,
)


def bounded_text(query: str, rows: int) -> str | None:
    """`query` with `LIMIT rows + 1` if it is one triple pattern `bounded_text` knows; else None.

    ASK needs no limit (it stops at the first solution) and is returned as it is. A text longer
    than `MAX_CHARACTERS` is not read (None).
    """
    if len(query) > MAX_CHARACTERS or rows < 0:
        return None
    tokens = _tokens(query)
    if tokens is None:
        return None
    position = _prologue_end(tokens)
    if position is None or position >= len(tokens):
        return None
    kind, value = tokens[position]
    form = value.upper() if kind == "word" else None
    position += 1
    if form == "SELECT":
        projected = 0
        while position < len(tokens) and tokens[position][0] == "var":
            position, projected = position + 1, projected + 1
        if projected == 0 and tokens[position:position + 1] == [("punct", "*")]:
            position, projected = position + 1, 1
        if projected == 0:
            return None
    elif form != "ASK":
        return None
    if position < len(tokens) and tokens[position][0] == "word" and tokens[position][1].upper() == "WHERE":
        position += 1
    if not _one_pattern(tokens[position:]):
        return None
    # The newline ends a trailing comment, which would otherwise swallow the limit.
    return query if form == "ASK" else f"{query}\nLIMIT {rows + 1}"


def _tokens(query: str) -> list[tuple[str, str]] | None:
    """The tokens of `query` without space and comments; None at anything the grammar here lacks."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            return None
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def _prologue_end(tokens: list[tuple[str, str]]) -> int | None:
    """Where the PREFIX and BASE declarations at the start of `tokens` end; None if one is malformed."""
    position = 0
    while position < len(tokens) and tokens[position][0] == "word":
        keyword = tokens[position][1].upper()
        declared = tokens[position + 1:position + 3]
        if keyword == "BASE":
            if not declared or declared[0][0] != "iri":
                return None
            position += 2
        elif keyword == "PREFIX":
            kinds = [kind for kind, _ in declared]
            if kinds != ["name", "iri"] or not declared[0][1].endswith(":"):
                return None
            position += 3
        else:
            break
    return position


def _one_pattern(tokens: list[tuple[str, str]]) -> bool:
    """True if `tokens` are `{ subject predicate object [.] }` and nothing after, with no variable twice."""
    if len(tokens) < 5 or tokens[0] != ("punct", "{") or tokens[-1] != ("punct", "}"):
        return False
    body = tokens[1:-1]
    if body[-1] == ("punct", "."):
        body = body[:-1]
    subject, predicate, rest = body[0], body[1], body[2:]
    if subject[0] not in ("iri", "name", "var"):
        return False
    if predicate[0] not in ("iri", "name", "var") and predicate != ("word", "a"):
        return False
    if not _is_object(rest):
        return False
    variables = [value[1:] for kind, value in (subject, predicate, rest[0]) if kind == "var"]
    return len(variables) == len(set(variables))


def _is_object(tokens: list[tuple[str, str]]) -> bool:
    """True if `tokens` are one object term: an IRI, a variable, a number, a boolean or a short literal."""
    if len(tokens) == 1:
        kind, value = tokens[0]
        return kind in ("iri", "name", "var", "literal", "number") or (kind == "word" and value in ("true", "false"))
    if len(tokens) == 2:
        return tokens[0][0] == "literal" and tokens[1][0] == "lang"
    if len(tokens) == 3:
        return tokens[0][0] == "literal" and tokens[1][0] == "datatype" and tokens[2][0] in ("iri", "name")
    return False
