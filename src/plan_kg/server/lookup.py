"""One-triple-pattern lookups: recognised from the text, answered in the server process under a row bound.

Every query runs in a worker process because pyoxigraph cannot stop a query and a worker can be
killed. That hop costs about 0.25 ms a query, most of a trivial lookup's time. A query that is
one triple pattern with no repeated variable, no filter, path, modifier or dataset clause,

    PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
    SELECT ?label WHERE { <https://w3id.org/plan-kg/id/...> skos:prefLabel ?label }

is one scan of one index, each solution one step of it. Run with `LIMIT n + 1`, it does at most
n + 1 steps, so it cannot run away and needs no worker: `read_lookup` reads it, `Lookup.bounded`
gives that text, and the service runs it in process. An answer with more than n rows goes to a
worker as usual. For a SPARQL JSON answer the service skips the engine too: `json_answer` reads the
pattern from the index itself, n + 1 quads at most (see the end of this module).

The on-disk store's indexes make that true for every pattern. A store in memory (which query
workers may answer from) walks the shortest list of quads sharing one of the pattern's terms
instead (`benchmarks/lookup_bound.py`: a one-row lookup between two hubs of a million quads each
takes 0.06-0.09 ms on disk, 19-20 ms in memory), but it is several times faster for a term with a
short list. So a lookup is read from an in-memory copy (`MemoryCopy`) only when one of its IRIs
has a list of at most `SHORT_LIST` quads, and from disk otherwise. The rows are the same either
way; without ORDER BY, their order may differ.

The recognizer is deliberately narrow: anything it does not know (DISTINCT, FILTER, paths, blank
nodes, long strings, a second pattern, a keyword it does not expect) goes to a worker, where the
full SPARQL parser decides. A false negative costs the hop; only a false positive would matter,
and the grammar below has no token that can start a second pattern or an expression.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from dataclasses import dataclass

import pyoxigraph

from .memory import InMemory, names_no_graph

_Token = tuple[str, str]  # (kind, text): a group name of _TOKEN, and what it matched

#: Longer texts go to a worker unread: reading one here holds up the event loop (~0.2 µs a character).
MAX_CHARACTERS = 2000

_TOKEN = re.compile(
    r"""
      (?P<space>(?:[\x20\t\r\n]+|\#[^\n\r]*)+)  # SPARQL's WS: not \s, which also takes U+3000, U+00A0, ...
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>(?:[A-Za-z][A-Za-z0-9_-]*)?:(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?(?![A-Za-z0-9_:-]))  # ex:a:b is one name
    | (?P<literal>"(?:[^"\\\n\r]|\\[tbnrf"'\\])*"|'(?:[^'\\\n\r]|\\[tbnrf"'\\])*')
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<datatype>\^\^)
    | (?P<number>[+-]?[0-9]+(?:\.[0-9]+)?)
    | (?P<word>[A-Za-z]+)
    | (?P<punct>[{}.*])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Lookup:
    """A query that is one triple pattern of the narrow grammar, as its text reads."""

    query: str
    ask: bool  # ASK; else SELECT
    projected: tuple[str, ...] | None  # SELECT's variables as written (names without ? or $); None: SELECT * or ASK
    prefixes: dict[str, str]  # "skos:" -> its IRI, as declared
    has_base: bool
    pattern: tuple[tuple[_Token, ...], ...]  # the tokens of the subject (1), predicate (1) and object (1-3)

    def bounded(self, rows: int) -> str:
        """The text to run: with `LIMIT rows + 1`; ASK as it is (it stops at the first solution)."""
        # The newline ends a trailing comment, which would otherwise swallow the limit.
        return self.query if self.ask else f"{self.query}\nLIMIT {rows + 1}"

    @functools.cached_property
    def terms(self) -> tuple[_Term | str, ...] | None:
        """The pattern's subject, predicate and object as terms, a variable as its name (str); None if
        the index read cannot build them as pyoxigraph's parser would (see `json_answer`)."""
        if self.has_base:
            return None
        terms = tuple(_pattern_term(tokens, self.prefixes) for tokens in self.pattern)
        return None if None in terms else terms  # type: ignore[return-value]


def read_lookup(query: str) -> Lookup | None:
    """`query` read as one triple pattern; None if it is not one the grammar here knows, or longer
    than `MAX_CHARACTERS` (not read)."""
    # One brace pair or not a lookup: most other queries are refused here without reading them
    # (10-50 µs for a named query). A literal holding a brace costs the hop to a worker.
    if len(query) > MAX_CHARACTERS or query.count("{") != 1:
        return None
    tokens = _tokens(query)
    if tokens is None:
        return None
    prologue = _prologue(tokens)
    if prologue is None:
        return None
    position, prefixes, has_base = prologue
    if position >= len(tokens):
        return None
    kind, value = tokens[position]
    form = value.upper() if kind == "word" else None
    position += 1
    projected: tuple[str, ...] | None = None
    if form == "SELECT":
        names: list[str] = []
        while position < len(tokens) and tokens[position][0] == "var":
            names.append(tokens[position][1][1:])
            position += 1
        if not names and tokens[position:position + 1] == [("punct", "*")]:
            position += 1
        elif not names:
            return None
        else:
            projected = tuple(names)
    elif form != "ASK":
        return None
    if position < len(tokens) and tokens[position][0] == "word" and tokens[position][1].upper() == "WHERE":
        position += 1
    pattern = _one_pattern(tokens[position:])
    if pattern is None:
        return None
    return Lookup(query=query, ask=form == "ASK", projected=projected, prefixes=prefixes, has_base=has_base,
                  pattern=pattern)


def _tokens(query: str) -> list[_Token] | None:
    """The tokens of `query` without space and comments; None at anything the grammar here lacks."""
    tokens: list[_Token] = []
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


def _prologue(tokens: list[_Token]) -> tuple[int, dict[str, str], bool] | None:
    """Where the PREFIX and BASE declarations at the start of `tokens` end, the prefixes and whether
    there is a BASE; None if a declaration is malformed or declares a prefix again."""
    position, prefixes, has_base = 0, {}, False
    while position < len(tokens) and tokens[position][0] == "word":
        keyword = tokens[position][1].upper()
        declared = tokens[position + 1:position + 3]
        if keyword == "BASE":
            if not declared or declared[0][0] != "iri":
                return None
            position, has_base = position + 2, True
        elif keyword == "PREFIX":
            kinds = [kind for kind, _ in declared]
            if kinds != ["name", "iri"] or not declared[0][1].endswith(":") or declared[0][1] in prefixes:
                return None
            prefixes[declared[0][1]] = declared[1][1][1:-1]
            position += 3
        else:
            break
    return position, prefixes, has_base


def _one_pattern(tokens: list[_Token]) -> tuple[tuple[_Token, ...], ...] | None:
    """`tokens` as subject, predicate and object if they are `{ subject predicate object [.] }` and nothing
    after, with no variable twice; else None."""
    if len(tokens) < 5 or tokens[0] != ("punct", "{") or tokens[-1] != ("punct", "}"):
        return None
    body = tokens[1:-1]
    if body[-1] == ("punct", "."):
        body = body[:-1]
    subject, predicate, rest = body[0], body[1], body[2:]
    if subject[0] not in ("iri", "name", "var"):
        return None
    if predicate[0] not in ("iri", "name", "var") and predicate != ("word", "a"):
        return None
    if not _is_object(rest):
        return None
    if predicate[0] != "var" and rest[0][0] == "number" and rest[0][1].startswith("+"):
        return None  # `<p> +1` is the path `<p>+` (one or more steps) and the object 1
    variables = [value[1:] for kind, value in (subject, predicate, rest[0]) if kind == "var"]
    if len(variables) != len(set(variables)):
        return None
    return (subject,), (predicate,), tuple(rest)


def _is_object(tokens: list[_Token]) -> bool:
    """True if `tokens` are one object term: an IRI, a variable, a number, a boolean or a short literal."""
    if len(tokens) == 1:
        kind, value = tokens[0]
        return kind in ("iri", "name", "var", "literal", "number") or (kind == "word" and value in ("true", "false"))
    if len(tokens) == 2:
        return tokens[0][0] == "literal" and tokens[1][0] == "lang"
    if len(tokens) == 3:
        return tokens[0][0] == "literal" and tokens[1][0] == "datatype" and tokens[2][0] in ("iri", "name")
    return False


# --- Answering a lookup without the SPARQL engine -------------------------------------------------
#
# For the most common answer, SPARQL JSON, a lookup is answered by reading its pattern from the
# store's index (`quads_for_pattern`) and writing the JSON with the json module: half the time
# pyoxigraph's parser, planner and writer take for it (19 µs against 38 µs, in a loop). Its bytes are
# pyoxigraph's own (`tests/test_server_lookup.py` and `tests/test_server_service.py` compare them on
# random lookups). Anything this
# reading cannot build exactly as pyoxigraph's parser would (a relative IRI, a BASE, an unknown
# prefix, a literal the term constructors refuse, a triple term or a base direction in the answer)
# gives None, and the query takes the engine's way.

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_Term = pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # pyoxigraph's spelling: UTF-8, no spaces


class OverBound(Exception):
    """The lookup has more rows than the bound it was read under: a worker answers it."""


#: The most quads of one term's list an in-memory store may walk for a lookup (~20 ns each).
SHORT_LIST = 1024


@dataclass(frozen=True)
class MemoryCopy:
    """The in-memory copies the workers read (`memory.InMemory`), and which lookups the copy of the default graph
    answers within `SHORT_LIST` steps.

    For a pattern, an in-memory store walks the list of quads of its bound term with the fewest
    (to the end when few match); the on-disk store seeks in an index, but decodes
    every term from disk. A lookup by an IRI with a short list, `<iri> skos:prefLabel ?label` or
    `<iri> ?p ?o`, takes 4.6 and 11 µs from memory against 23 and 89 µs from disk
    (`benchmarks/lookup_bound.py`). `long_lists` names the IRIs, by position, whose lists are
    longer in the copy of the default graph (`store`, the graph a lookup reads); a pattern whose every bound term is
    one of them, or a literal (the store keeps numbers by value, so a literal's list cannot be looked up by its text),
    is read from disk, and so is a text a worker would run on the whole copy (`memory.names_no_graph`).
    """

    stores: InMemory
    long_lists: frozenset[tuple[int, pyoxigraph.NamedNode]]

    @property
    def store(self) -> pyoxigraph.Store:
        """The copy lookups are read from: the default graph's."""
        return self.stores.default

    @classmethod
    def of(cls, disk: pyoxigraph.Store) -> MemoryCopy:
        """Copies of `disk` (`InMemory.of`), with the long lists of the default graph's (three grouping queries)."""
        stores = InMemory.of(disk)
        long_lists = set()
        for position, pattern in enumerate(("?t ?p ?o", "?s ?t ?o", "?s ?p ?t")):
            counted = stores.default.query(
                f"SELECT ?t {{ {pattern} FILTER(isIRI(?t)) }} GROUP BY ?t HAVING (COUNT(*) > {SHORT_LIST})"
            )
            long_lists.update((position, row["t"]) for row in counted)  # type: ignore[index,union-attr]
        return cls(stores=stores, long_lists=frozenset(long_lists))

    def covers(self, lookup: Lookup) -> bool:
        """Whether `lookup`'s pattern has an IRI with a short list here (a walk of at most `SHORT_LIST` quads), and the
        workers would read it from the same copy."""
        return lookup.terms is not None and names_no_graph(lookup.query) and any(
            isinstance(term, pyoxigraph.NamedNode) and (position, term) not in self.long_lists
            for position, term in enumerate(lookup.terms))


def json_answer(store: pyoxigraph.Store, lookup: Lookup, *, max_rows: int) -> bytes | None:
    """The SPARQL JSON answer to `lookup` over `store`'s default graph, byte for byte pyoxigraph's;
    None if it cannot be answered this way (see above), OverBound if it has more than `max_rows` rows."""
    terms = lookup.terms
    if terms is None:
        return None
    bound = [None if isinstance(term, str) else term for term in terms]
    quads = store.quads_for_pattern(bound[0], bound[1], bound[2], pyoxigraph.DefaultGraph())  # type: ignore[arg-type]
    if lookup.ask:
        return _ENCODER.encode({"head": {}, "boolean": next(quads, None) is not None}).encode()
    positions = {term: index for index, term in enumerate(terms) if isinstance(term, str)}
    variables = lookup.projected if lookup.projected is not None else tuple(sorted(positions))
    if len(set(variables)) != len(variables):
        return None  # a variable projected twice: the parser's error to give
    wanted = [(name, positions[name]) for name in variables if name in positions]
    bindings = []
    for quad in itertools.islice(quads, max_rows + 1):
        row = (quad.subject, quad.predicate, quad.object)
        binding = {}
        for name, index in wanted:
            value = _json_term(row[index])
            if value is None:
                return None
            binding[name] = value
        bindings.append(binding)
    if len(bindings) > max_rows:
        raise OverBound
    answer = {"head": {"vars": list(variables)}, "results": {"bindings": bindings}}
    return _ENCODER.encode(answer).encode()


def _pattern_term(tokens: tuple[_Token, ...], prefixes: dict[str, str]) -> _Term | str | None:
    """The term the tokens of one pattern position stand for, a variable's name (str), or None."""
    kind, value = tokens[0]
    try:
        if kind == "var":
            return value[1:]
        if kind in ("iri", "name") or (kind, value) == ("word", "a"):
            return _iri(tokens[0], prefixes)
        if kind == "number":
            return pyoxigraph.Literal(value, datatype=pyoxigraph.NamedNode(_XSD + ("decimal" if "." in value else "integer")))
        if kind == "word":  # true or false
            return pyoxigraph.Literal(value, datatype=pyoxigraph.NamedNode(_XSD + "boolean"))
        text = _ESCAPE.sub(lambda escape: _ESCAPED[escape[1]], value[1:-1])
        if len(tokens) == 1:
            return pyoxigraph.Literal(text)
        if tokens[1][0] == "lang":
            return pyoxigraph.Literal(text, language=tokens[1][1][1:])
        datatype = _iri(tokens[2], prefixes)
        return None if datatype is None else pyoxigraph.Literal(text, datatype=datatype)
    except ValueError:  # not an IRI, not a language tag: the parser's error to give
        return None


def _iri(token: _Token, prefixes: dict[str, str]) -> pyoxigraph.NamedNode | None:
    kind, value = token
    if kind == "word":
        return pyoxigraph.NamedNode(_RDF_TYPE)
    if kind == "iri":
        iri = value[1:-1]
    else:
        prefix, _, local = value.partition(":")
        namespace = prefixes.get(prefix + ":")
        if namespace is None:
            return None
        iri = namespace + local
    return pyoxigraph.NamedNode(iri) if _ABSOLUTE.match(iri) else None


def _json_term(term: object) -> dict[str, str] | None:
    """A term as SPARQL JSON writes it; None for one pyoxigraph's writer should write (a triple term, a
    base direction)."""
    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if not isinstance(term, pyoxigraph.Literal) or term.direction is not None:
        return None
    if term.language is not None:
        return {"type": "literal", "value": term.value, "xml:lang": term.language}
    if term.datatype.value == _XSD_STRING:
        return {"type": "literal", "value": term.value}
    return {"type": "literal", "value": term.value, "datatype": term.datatype.value}
