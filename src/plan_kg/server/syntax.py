"""Saying where a query that pyoxigraph's parser refused goes wrong, in terms its author can act on.

pyoxigraph names the position where its parser gave up and the grammar rules it tried there
(`error at 2:11: expected OPTIONAL`), which for the commonest mistake, a prefix used but not
declared, is often neither the place nor the reason: an undeclared prefixed name in subject
position, or with a short local name, is reported as something else further on. So the text is
read for prefixed names whose prefix no PREFIX declares (`undeclared_prefix`), for a query
that does not start with a query form (`misplaced_start`), and for a full-width character typed
where SPARQL reads only ASCII (`full_width_mistake`: an IME's space or punctuation, or a word processor's
curly quote, which the parser reports as something else further on). Otherwise the parser's
message is given in words (`readable`: without its grammar's character classes, its sentences on
the rules it checks after reading said as what to change, with what it found there and any brace
or parenthesis left open or closed once too often), with the line it points at and a caret under
the place (`pointer`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator

import pyoxigraph

#: Each kind of string up to its closing quote, as patterns to build on: long ones, then short ones (which a line
#: end ends, as the parser refuses it).
_STRING_BODIES = (
    (r'"""(?:[^"\\]++|\\.|"(?!""))*+', '"""'),
    (r"'''(?:[^'\\]++|\\.|'(?!''))*+", "'''"),
    (r'"(?:[^"\\\n\r]++|\\.)*+', '"'),
    (r"'(?:[^'\\\n\r]++|\\.)*+", "'"),
)
#: An IRI or a string (long or short; one left open runs to the end of its line, or of the text when long), as a
#: pattern to build on (possessive: linear on any text; compile it with re.DOTALL). Nothing in one is a comment.
IRI_OR_STRING = "|".join(
    [r'<(?:[^<>"{}|^`\\\x00-\x20]++|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>']
    + [f"{body}(?:{close}|$)" if len(close) == 3 else f"{body}{close}?" for body, close in _STRING_BODIES])
#: A string closed by its quote (of one that `IRI_OR_STRING` finds, whether it was left open).
CLOSED_STRING = re.compile("|".join(body + close for body, close in _STRING_BODIES), re.DOTALL)
#: What cannot hold a prefixed name: IRIs, strings and comments. Each is blanked out with spaces of its length,
#: so that positions stay where they were.
_NOT_NAMES = re.compile(IRI_OR_STRING + r"|\#[^\n\r]*+", re.DOTALL)
#: A prefixed name's prefix and colon (SPARQL's PNAME_NS), not inside a longer name, a variable, a blank node label
#: or what is left of an IRI `_NOT_NAMES` did not take (one with a space or a brace: the parser's error to name).
_PREFIX_USED = re.compile(r"(?<![\w.:?$\-<])((?:[^\W\d_][\w.\-]*+)?):")
_PREFIX_DECLARED = re.compile(r"\bPREFIX\s++((?:[^\W\d_][\w.\-]*+)?):", re.IGNORECASE)
#: Where pyoxigraph's parser says it stopped (line and column, from 1).
POSITION = re.compile(r"^error at (\d+):(\d+): ")
#: Characters of the line shown on each side of the place pointed at.
_SHOWN = 60
#: A PREFIX or BASE declaration, as a pattern to build on (possessive: linear on any text).
DECLARATION = r"PREFIX\s*+[^\s:]*+:\s*+<[^>]*+>|BASE\s*+<[^>]*+>"
#: What may come before a query's form: SPARQL's white space, comments (ended by CR or LF), declarations.
_PROLOGUE = re.compile(rf"(?:[\x20\t\r\n]++|\#[^\n\r]*+|{DECLARATION})*+", re.IGNORECASE)
_FORM = re.compile(r"(?:SELECT|CONSTRUCT|DESCRIBE|ASK)(?![\w-])", re.IGNORECASE)
#: One item of the parser's "expected one of" list: a quoted token, a character class, or a rule's keyword or
#: sentence (`Duplicated variable name in SELECT`), up to the comma that ends it.
_EXPECTED = re.compile(r'"(?:[^"\\]|\\.)*+"|\[(?:[^\]\\]|\\.)*+\]|[^\s,\["][^,\["]*+')


#: Characters typed where SPARQL reads only ASCII: an input method's full-width space and punctuation (U+3000, the
#: full-width forms of ASCII), a curly quote or a no-break space (from a word processor or a web page). Outside
#: strings, IRIs and comments none is SPARQL's white space or punctuation, but the full-width forms are letters of a
#: name to the parser (`ex:第１章`, `?値１`): a full-width letter or digit counts only where no name goes on, after a
#: character that is not a name's, a colon, '?' or '$'; a full-width sign anywhere (`?o；`, `COUNT（`: typed straight
#: after a name, it is one more letter of it), which `full_width_mistake` names only where typing it in ASCII gets the
#: parser further (one pass in C, whatever the text holds).
_FULL_WIDTH = re.compile(r"[\u3000\u00a0\u2018\u2019\u201c\u201d]|[\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff5e]"
                         r"|(?<![\w:?$\-.\u00b7\uff01-\uff5e])[\uff01-\uff5e]")
#: What to type for a curly quote (NFKC keeps these; it gives the ASCII form of the others).
_ASCII_FOR = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def full_widths(query: str) -> Iterator[tuple[int, str, str, int, int]]:
    """Each character `query` has outside its strings, IRIs and comments that SPARQL may not read there (see
    `_FULL_WIDTH`): its index, the character, what to type instead, and its line and column (from 1, in characters)."""
    text = _names_only(query)
    for found in _FULL_WIDTH.finditer(text):
        at, character = found.start(), found[0]
        ascii_form = _ASCII_FOR.get(character) or unicodedata.normalize("NFKC", character)
        yield at, character, ascii_form, text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


#: A run of full-width forms, typed in one go (`１０`): what to type instead is the run's ASCII form, not one character's.
_FULL_WIDTH_RUN = re.compile(r"[\uff01-\uff5e]++")
#: How many full-width forms are tried in the ASCII form (each a parse) before one is found to be the mistake.
_TRIES = 8


def full_width_mistake(query: str, message: str) -> tuple[str, str, int, int] | None:
    """The first character of `full_widths` at or before the place where pyoxigraph's parser stopped (`message`, its
    error) that is the mistake, what to type instead, and its line and column: a full-width space, no-break space or
    curly quote always is (SPARQL reads them nowhere outside strings), a full-width form only where its run typed in
    ASCII gets the parser further (it is a letter of a name to the parser: `PREFIX ｅｘ: <...>` declares a prefix
    that `ｅｘ:p` uses)."""
    if (position := POSITION.match(message)) is None:
        return None
    stopped = (int(position[1]), int(position[2]))
    tries = 0
    for at, character, ascii_form, line, column in full_widths(query):
        if (line, column) > stopped:
            return None
        if not "\uff01" <= character <= "\uff5e":
            return character, ascii_form, line, column
        if tries == _TRIES:
            return None
        tries += 1
        run = _FULL_WIDTH_RUN.match(query, at)[0]  # type: ignore[index]
        if _reads_further(query[:at] + unicodedata.normalize("NFKC", run) + query[at + len(run):], stopped):
            return character, ascii_form, line, column
    return None


def _reads_further(query: str, stopped: tuple[int, int]) -> bool:
    """Whether pyoxigraph's parser reads `query` past `stopped` (line and column), or whole (`_stops_at`)."""
    return (found := _stops_at(query)) is None or found > stopped


def full_width_said(character: str, ascii_form: str) -> str:
    """Why a full-width `character` stops the parser, and what to type instead, in English and Japanese."""
    name = unicodedata.name(character, "").lower()
    shown = f"'{character}' (U+{ord(character):04X}{', ' + name if name else ''})"
    return (f"{shown} is not SPARQL's {'space' if ascii_form == ' ' else repr(ascii_form)}: outside strings, SPARQL "
            f"reads its spaces, punctuation and numbers in ASCII (half-width) only; type {ascii_form!r} instead "
            f"(全角の「{character}」は半角の「{ascii_form}」で入力してください)")


def undeclared_prefix(query: str) -> tuple[str, int, int] | None:
    """The first prefix `query` uses that no PREFIX declares, with its line and column (from 1, in characters, as
    pyoxigraph counts them); None if every prefix used is declared."""
    text = _names_only(query)
    declared = {found[1] for found in _PREFIX_DECLARED.finditer(text)}
    for used in _PREFIX_USED.finditer(text):
        prefix = used[1].rstrip(".")  # a name does not end with '.': `ex.:` is no prefix
        if prefix == used[1] and prefix not in declared:
            line = text.count("\n", 0, used.start()) + 1
            column = used.start() - (text.rfind("\n", 0, used.start()) + 1) + 1
            return prefix, line, column
    return None


def declaring_helps(query: str, prefix: str, message: str) -> bool:
    """Whether declaring `prefix` lets pyoxigraph's parser read `query` further than it did (`message`, its error), or
    the whole query: then the undeclared prefix is the mistake, not a colon `undeclared_prefix` took for one. The
    query is read over an empty store (its answer, if any, is nothing; a SELECT may still be evaluated: the caller's
    time limit holds)."""
    declaration = f"PREFIX {prefix}: <urn:x-plan-kg:undeclared:> "
    if (stopped := _stops_at(declaration + query)) is None:
        return True
    if (before := POSITION.match(message)) is None:
        return False
    line, column = stopped
    return (line, column - (len(declaration) if line == 1 else 0)) > (int(before[1]), int(before[2]))


def _stops_at(query: str) -> tuple[int, int] | None:
    """Where pyoxigraph's parser stops reading `query` (line and column; (0, 0) where it says no place), None where it
    reads it whole: it is then evaluated over an empty store (its answer, if any, is nothing; an evaluation error
    means the parser got through; the caller's time limit holds)."""
    try:
        pyoxigraph.Store().query(query)
    except SyntaxError as exc:
        found = POSITION.match(str(exc))
        return (int(found[1]), int(found[2])) if found else (0, 0)
    except Exception:  # noqa: BLE001 - read, and stopped later (an evaluation error): the parser got through
        return None
    return None


def pointer(query: str, line: int, column: int) -> str:
    """The line at `line` (from 1) of `query`, cut to the part around `column`, and a caret under that column (counting
    a wide character, as Japanese text has, as two places); "" if there is no such line."""
    lines = query.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].rstrip("\r")
    index = min(max(column - 1, 0), len(text))
    start = max(0, index - _SHOWN)
    shown = text[start:index + _SHOWN]
    shown = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in shown)  # tabs, controls: one place each
    before = shown[:index - start]
    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in before)
    lead = "…" if start else ""
    return f"    {lead}{shown}{'…' if index + _SHOWN < len(text) else ''}\n    {' ' * (len(lead) + width)}^"


def misplaced_start(query: str) -> tuple[str, int, int] | None:
    """What `query` has where its form (SELECT, CONSTRUCT, DESCRIBE or ASK) should begin, after its PREFIX and BASE
    declarations, with its line and column (from 1); None if it begins with one. A malformed declaration is found
    too: PREFIX or BASE is then what is there."""
    start = _PROLOGUE.match(query).end()  # type: ignore[union-attr]
    if start >= len(query) or _FORM.match(query, start):
        return None
    found = re.match(r"[^\s{}()<>\"'#]{1,30}|.", query[start:], re.DOTALL)
    line = query.count("\n", 0, start) + 1
    return found[0] if found else "", line, start - (query.rfind("\n", 0, start) + 1) + 1


def readable(query: str, message: str) -> str:
    """pyoxigraph's `message` (`error at 1:35: expected one of HAVING, ['0'..='9'], [_]`) in words: where, what the
    query has there, what the parser expected (its character classes named, its catch-all `[_]` left out), and a
    brace or parenthesis left open or closed too often, which its list does not tell."""
    position = POSITION.match(message)
    if position is None:
        return message
    line, column = int(position[1]), int(position[2])
    found = _found(query, line, column)
    said = [f"at {line}:{column}" + (f", {found}" if found else "")]
    rest = message[position.end():]
    if rest.startswith("expected "):
        items = _EXPECTED.findall(rest.removeprefix("expected one of ").removeprefix("expected "))
        # What the parser says in a sentence (`The SELECT contains a variable that is unbound`) is the reason: said
        # as it is, not word by word as if each were a token it expected.
        reasons = [_reason(query, item.strip()) for item in items if _is_sentence(item)]
        said.extend(dict.fromkeys(reasons))
        # Beside a sentence, the tokens it lists are what would have gone on from there (more GROUP BY variables after
        # "The SELECT contains a variable that is unbound"), not what is wrong: left out.
        words = [] if reasons else list(dict.fromkeys(_word(item) for item in items if not _is_sentence(item)))
        if words := [word for word in words if word]:
            said.append(f"the parser expected {'one of ' if len(words) > 1 else ''}{', '.join(words)} there")
        elif (not reasons and found == "where the query ends" and not _unbalanced(query)
              and _names_only(query).rstrip().endswith("}")):  # else a word or sign after its last part (`LIMIT 1;`)
            said.append(_READ_TO_THE_END)
        elif not reasons:
            said.append("the parser could not read on from there")
    else:
        said.append(rest)
    said.extend(_unbalanced(query))
    return "; ".join(said)


def _found(query: str, line: int, column: int) -> str:
    """What the query has at the parser's place: where it ends, or the word or character there ("" in the middle of
    a word, where the parser's furthest try stopped, not a place to show)."""
    lines = query.split("\n")
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    rest = text[column - 1:]
    if not rest.strip() and not "".join(lines[line:]).strip():
        return "where the query ends"
    if 1 < column <= len(text) and re.match(r"\w\w", text[column - 2:column]):
        return ""
    found = re.match(r"\s*+([\w:?$-]{1,30}|\S)", rest)
    return f"where the query has {found[1]!r}" if found else "where the line ends"


#: The sentences pyoxigraph's parser says for a rule it checks once a part is read (spargebra's `build_select` and
#: group patterns), as what to change. The parser's own words stay after them, in parentheses, to search for.
_REASONS = {
    "The SELECT contains a variable that is unbound": (
        "SELECT names a variable that is not grouped: with GROUP BY or an aggregate (COUNT, SUM, ...), SELECT may name "
        "only the GROUP BY variables and (aggregate AS ?name); add the variable to GROUP BY, or take SAMPLE(?it)"),
    "The SELECT contains an expression with a variable that is unbound": (
        "an expression in SELECT uses a variable that is not grouped: with GROUP BY or an aggregate, it may use only "
        "the GROUP BY variables and aggregates (COUNT, SUM, SAMPLE, ...)"),
    "The SELECT overrides an existing variable using an expression": (
        "(... AS ?name) in SELECT names a variable the WHERE pattern already binds: choose another name"),
    "Duplicated variable name in SELECT": "SELECT names the same variable twice: name it once",
    "BIND is overriding an existing variable": (
        "BIND(... AS ?name) names a variable already bound before it in its group: choose another name"),
}
#: A query the parser read to its end, brackets balanced, its last part a group, and refused naming nothing: a rule
#: checked once a group is read was broken, and its sentence lost (the parser reports only what it expected at its furthest place).
_READ_TO_THE_END = (
    "the query reads to its end, but breaks a rule SPARQL checks once a group is read, which the parser does not "
    "name: most often BIND(... AS ?x) where ?x is already bound before the BIND in its group (choose another name), "
    "or one blank node label (_:b) used in two groups (use a variable)")
#: What "SELECT * is not authorized with GROUP BY" means for each query form (the parser treats CONSTRUCT, ASK and
#: DESCRIBE as SELECT *, and counts an aggregate anywhere, in FILTER too, as grouping).
_STAR_WITH_GROUP = (
    "SELECT * cannot be used with GROUP BY or an aggregate (COUNT, SUM, ...): name the GROUP BY variables and "
    "(aggregate AS ?name) instead; an aggregate belongs in SELECT, HAVING or ORDER BY, not in FILTER")
_FORM_WITH_GROUP = (
    "a {form} query cannot group: GROUP BY, HAVING and aggregates (COUNT, SUM, ...) are for SELECT; put them in a "
    "sub-query {{ SELECT ... GROUP BY ... }} inside WHERE")


def _reason(query: str, sentence: str) -> str:
    """The parser's `sentence` on a rule of SPARQL the query breaks, said as what to change (and then as it is)."""
    if sentence == "SELECT * is not authorized with GROUP BY":
        start = _PROLOGUE.match(query)
        form = _FORM.match(query, start.end() if start else 0)
        said = (_STAR_WITH_GROUP if form is None or form[0].upper() == "SELECT"
                else _FORM_WITH_GROUP.format(form=form[0].upper()))
    elif sentence == "The SELECT contains a variable that is unbound" and (ungrouped := _ungrouped(query)):
        uses = Counter(_VARIABLE.findall(_names_only(query)))
        nowhere = [name for name in ungrouped if uses[name] == 1][:5]  # the first few, of a query of any length
        bound = [name for name in ungrouped if uses[name] > 1][:5]  # bound in the pattern, not grouped
        said = "; ".join(
            [f"{_REASONS[sentence]} (not grouped: {', '.join('?' + name for name in bound)})"] * bool(bound)
            + [f"?{name} is bound nowhere in the query: a misspelt name?" for name in nowhere])
    elif (said := _REASONS.get(sentence)) is None:
        return sentence
    return f"{said} (the parser: {sentence})"


#: A variable (its name without '?' or '$').
_VARIABLE = re.compile(r"[?$]([\w\u00b7\uff01-\uff5e]++)")
#: Where a SELECT's projection ends: its WHERE group, or a dataset clause before it.
_PROJECTION_END = re.compile(r"\{|\bWHERE\b|\bFROM\b", re.IGNORECASE)


def _ungrouped(query: str) -> list[str]:
    """The variables the query's SELECT names bare (not in an expression) that its GROUP BY (after its last '}') does
    not; [] if that cannot be told."""
    start = _PROLOGUE.match(query)
    if (form := _FORM.match(query, start.end() if start else 0)) is None or form[0].upper() != "SELECT":
        return []
    text = _names_only(query)
    end = _PROJECTION_END.search(text, form.end())
    if end is None:
        return []
    projection = text[form.end():end.start()]
    for _ in range(20):  # expressions, innermost first, left out
        projection, count = re.subn(r"\([^()]*+\)", " ", projection)
        if not count:
            break
    modifiers = text[text.rfind("}") + 1:]
    group = re.search(r"\bGROUP\s++BY\b(.*?)(?:\b(?:HAVING|ORDER|LIMIT|OFFSET|VALUES)\b|$)", modifiers,
                      re.IGNORECASE | re.DOTALL)
    grouped = set(_VARIABLE.findall(group[1])) if group else set()
    return list(dict.fromkeys(name for name in _VARIABLE.findall(projection) if name not in grouped))


def _is_sentence(item: str) -> bool:
    """Whether an item of the parser's list is a sentence saying what is wrong, not a token or a rule it expected."""
    return " " in item and item[0] not in "\"["


def _word(item: str) -> str:
    """One item of the parser's list as a person reads it ("" for its catch-all)."""
    if item in ("[_]", "<unreported>"):
        return ""
    if not item.startswith("["):
        return item
    if "'A' ..= 'Z'" in item:
        return "a name"
    if item.startswith("['0'..='9']"):
        return "a digit"
    if item.startswith("['-' | '0' ..= '9'"):
        return "more of a name"
    if item.startswith("['t' | 'b' | 'n'"):
        return 'an escape (\\t \\b \\n \\r \\f \\" \\\' \\\\)'
    return "another character"


def _names_only(query: str) -> str:
    """`query` with its IRIs, strings and comments blanked out (each character a space but line ends, so that
    positions stay where they were)."""
    return _NOT_NAMES.sub(lambda found: re.sub(r"[^\n]", " ", found[0]), query)


def _unbalanced(query: str) -> list[str]:
    """Braces and parentheses the query opens and does not close, or closes without opening (outside IRIs, strings
    and comments), said for each kind."""
    brackets = re.sub(r"[^{}()]++", "", _names_only(query))
    said = []
    for opening, closing in ("{}", "()"):
        depth = 0
        for character in brackets:
            if character == opening:
                depth += 1
            elif character == closing:
                depth -= 1
                if depth < 0:
                    said.append(f"a '{closing}' closes more than was opened")
                    break
        else:
            if depth > 0:
                said.append(f"{depth} '{opening}' {'is' if depth == 1 else 'are'} never closed")
    return said
