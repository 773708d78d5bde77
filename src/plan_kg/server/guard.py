"""Refuses federated queries (SERVICE) to endpoints that are not on the allow-list, and queries
nested too deeply for pyoxigraph's parser (`check_nesting`).

pyoxigraph executes SERVICE against any URL and does not expose the parsed algebra, so the
query is parsed a second time with rdflib's parser and every SERVICE pattern is checked.
rdflib's parser is slow (tens of ms, and tens of seconds for some long texts), so it runs only
when the text contains the keyword, and in the query worker, under the time limit like the query
itself (`worker.run_job`): a text made to be slow to parse is stopped like a runaway query. rdflib
is imported only then, so that workers start without it.
The two parsers read codepoint escapes differently (rdflib decodes \\u everywhere before
parsing, pyoxigraph only inside strings and IRIs), so a query could look different to each:
one with both SERVICE and a \\u escape is refused rather than guessed at. rdflib also reads a
'#' inside a string or an IRI as a comment when a SERVICE follows on its line: it is given the text
with those masked (`_hashes_marked`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from ..errors import PlanKgError


class ForbiddenQuery(PlanKgError):
    """The query asks for something this endpoint never does (`status` 403), or cannot be checked (400)."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def check_services(query: str, *, base_iri: str, allow_list: Collection[str]) -> None:
    """Raise ForbiddenQuery unless every SERVICE in `query` names an allowed endpoint."""
    if not may_use_service(query):
        return
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.term import URIRef

    if "\\u" in query.lower():
        raise ForbiddenQuery("a query with SERVICE may not use \\u escapes; write the characters themselves")
    mark = _unused_character(query)
    # rdflib ends a comment at LF only, pyoxigraph at CR too: `#\rSERVICE <…>` ran a SERVICE that rdflib took
    # for comment. A CR is a line end to it as well: no string or IRI boundary moves (neither holds a bare CR
    # but a long string, whose text the check does not read).
    checked = _hashes_marked(query, mark).replace("\r", "\n")
    try:
        algebra = translateQuery(parseQuery(checked), base=base_iri).algebra
    except Exception as exc:  # noqa: BLE001 - rdflib raises many types; any of them means unchecked
        # Fail closed: a query that mentions SERVICE must be checkable.
        if isinstance(exc, RecursionError):  # rdflib's algebra translation of a SERVICE inside a SERVICE
            raise ForbiddenQuery("a SERVICE inside another SERVICE cannot be checked, so it is refused",
                                 status=400) from exc
        raise ForbiddenQuery(
            f"the query mentions SERVICE but cannot be parsed, so it is refused: {str(exc).replace(mark, '#')}",
            status=400) from exc
    allowed = set(allow_list)
    for term in _service_terms(algebra):
        if not isinstance(term, URIRef):
            raise ForbiddenQuery(f"SERVICE with a variable ({term.n3()}) is not allowed; name the endpoint")
        endpoint = str(term).replace(mark, "#")
        if endpoint not in allowed:
            raise ForbiddenQuery(
                f"SERVICE <{endpoint}> is not allowed: this endpoint queries only its own data"
                + (f" and {', '.join(sorted(allowed))}" if allowed else "")
            )


#: How deep brackets may nest. pyoxigraph's parser recurses on each level and overflows its stack,
#: killing the process, at ~1,000 nested function calls (`CONCAT(CONCAT(...))`) or ~3,000 groups:
#: every construct tried ran at 500 (nested groups, sub-queries, OPTIONAL, EXISTS, paths, lists,
#: blank nodes, triple terms, IF, COALESCE, aggregates). Real queries nest a few levels deep.
MAX_NESTING = 256

# Strings, IRIs, comments and escapes, where a bracket may be text, and the brackets of the query
# itself. Every alternative but the brackets matches to its end (an unterminated string runs to the
# end of its line, or of the text) without backtracking: one pass, however malformed the text.
_NESTING_TOKEN = re.compile(
    r'''"""(?:[^"\\]|\\[\s\S]?|"(?!""))*+(?:"""|\Z)'''
    r"""|'''(?:[^'\\]|\\[\s\S]?|'(?!''))*+(?:'''|\Z)"""
    r'''|"(?:[^"\\\n\r]|\\[^\n\r]?)*+(?:"|(?=[\n\r])|\Z)'''
    r"""|'(?:[^'\\\n\r]|\\[^\n\r]?)*+(?:'|(?=[\n\r])|\Z)"""
    r"""|<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>"""  # the parser decodes \u in IRIs
    r"""|\#[^\n\r]*+|\\[\s\S]?|<<|>>|[(){}\[\]]"""
)
_BRACKET = re.compile(r"<<|>>|[(){}\[\]]")
_OPENS = frozenset({"(", "{", "[", "<<"})
_CLOSES = frozenset({")", "}", "]", ">>"})


def check_nesting(query: str, *, most: int = MAX_NESTING) -> None:
    """Raise ForbiddenQuery (400) if brackets in `query` nest more than `most` deep, saying where.

    Conservative: the reading here need not be the parser's, which depends on context (`?a<(1)` is
    a comparison, `<a(1)>` an IRI). Brackets inside what reads here as a string, an IRI or a comment
    count as they open, but cannot close more than they opened there: text taken for a string can
    only make the count higher, never hide a level the parser will recurse into.
    """
    if sum(query.count(bracket) for bracket in "({[") + query.count("<<") <= most:
        return  # too few to nest that deep: no need to read it (every named query)
    depth = 0
    for token in _NESTING_TOKEN.finditer(query):
        text = token.group()
        if text in _CLOSES:
            depth = max(depth - 1, 0)
            continue
        if text in _OPENS:
            floor, brackets = 0, [(text, token.start())]
        elif _BRACKET.search(text) is None:
            continue
        else:
            floor, brackets = depth, [(found.group(), token.start() + found.start()) for found in _BRACKET.finditer(text)]
        for bracket, position in brackets:
            if bracket in _CLOSES:
                depth = max(depth - 1, floor)
                continue
            depth += 1
            if depth > most:
                line = query.count("\n", 0, position) + 1
                column = position - query.rfind("\n", 0, position)
                raise ForbiddenQuery(
                    f"the query nests brackets more than {most} deep (at {line}:{column}), this endpoint's "
                    "limit; write it flatter (nesting this deep stops the SPARQL parser; brackets in strings, "
                    "IRIs and comments count too)", status=400)


def _unused_character(query: str) -> str:
    """A private-use character that `query` does not contain (it has more than 1 MB of them: ForbiddenQuery)."""
    used = set(query)
    for code in range(0xE000, 0xF900):
        if chr(code) not in used:
            return chr(code)
    raise ForbiddenQuery("the query uses every private-use character; it cannot be checked", status=400)


def _hashes_marked(query: str, mark: str) -> str:
    """`query` with each '#' inside a string or an IRI (as `check_nesting` reads them) replaced by `mark`.

    rdflib's parser reads a '#' as the start of a comment even inside a string or an IRI when a
    SERVICE follows on its line (`PREFIX x: <...#> SELECT ... SERVICE ...` failed to parse), so it
    is given the text without them. `mark` is a private-use character: it is valid only inside
    strings and IRIs (it cannot be part of a prefixed name), so where this reading and the parser's
    differ, the parse fails (the query is refused) rather than reading anything new as code.
    """
    if "#" not in query:
        return query
    parts, done = [], 0
    for token in _NESTING_TOKEN.finditer(query):
        text = token.group()
        if text[0] in "\"'<" and "#" in text:
            parts += [query[done:token.start()], text.replace("#", mark)]
            done = token.end()
    return "".join([*parts, query[done:]])


def may_use_service(query: str) -> bool:
    """False only if `query` certainly has no SERVICE keyword (a cheap test before parsing)."""
    # pyoxigraph reads keywords only as written (escapes are decoded inside strings and IRIs).
    return "service" in query.lower()


def _service_terms(node: object) -> list[object]:
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    found: list[object] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                found.append(item.get("term"))
            stack.extend(item.values())
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset, ParseResults)):
            stack.extend(item)
    return found
