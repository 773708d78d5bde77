"""Named SPARQL queries: the `queries/*.rq` files and the header comments that describe them.

Each file starts with exactly these comment lines (any order), then the query:

    # title: …
    # title_ja: …
    # description: …
    # description_ja: …

The name of a query is its file name without `.rq`. Quality checks (`queries/checks/`)
are not named queries and are not read here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import QueryError

HEADER_KEYS = ("title", "title_ja", "description", "description_ja")
_HEADER = re.compile(r"^#\s*([a-z_]+)\s*:\s*(.*?)\s*$")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class NamedQuery:
    """A query shipped with the dataset, with its titles and descriptions in English and Japanese."""

    name: str
    title: str
    title_ja: str
    description: str
    description_ja: str
    text: str


def load_named_queries(settings: Settings) -> list[NamedQuery]:
    """Every named query in `settings.queries_dir`, sorted by name.

    Raises QueryError naming the file when a header is missing or repeated.
    """
    if not settings.queries_dir.is_dir():
        return []
    return [parse_named_query(path) for path in sorted(settings.queries_dir.glob("*.rq"))]


def find_named_query(settings: Settings, name: str) -> NamedQuery:
    """The named query called `name`; QueryError listing the known names if there is none.

    A `name` with a folder separator or a file extension (.rq) can be no query's name: it was
    meant as a file (`plan-kg query` reads .rq files itself), so the error is about the file.
    """
    queries = {query.name: query for query in load_named_queries(settings)}
    if name in queries:
        return queries[name]
    known = ", ".join(sorted(queries)) or "none"
    path = Path(name)
    if path.suffix or "/" in name or os.sep in name:
        if not path.exists():
            raise QueryError(
                f"file not found: {name}; give the path of an existing .rq file, "
                f"or the name (without .rq) of a named query: {known}"
            )
        if path.suffix != ".rq":
            raise QueryError(f"{name}: a query file's name must end in .rq")
    raise QueryError(f"no named query '{name}'; known: {known}")


def parse_named_query(path: Path) -> NamedQuery:
    """The named query in the file at `path`."""
    name = path.stem
    if not _NAME.match(name):
        raise QueryError(f"{path}: the file name must be lower-case words joined by '-', e.g. counts-per-level.rq")
    text = path.read_text(encoding="utf-8")
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        match = _HEADER.match(line)
        if not match or match.group(1) not in HEADER_KEYS:
            continue  # an ordinary comment
        key, value = match.groups()
        if key in headers:
            raise QueryError(f"{path}, line {number}: '# {key}:' is given twice")
        if not value:
            raise QueryError(f"{path}, line {number}: '# {key}:' is empty")
        headers[key] = value
    missing = [key for key in HEADER_KEYS if key not in headers]
    if missing:
        raise QueryError(
            f"{path}: missing header comment(s) {', '.join('# ' + key + ':' for key in missing)} "
            "at the top of the file"
        )
    return NamedQuery(name=name, text=text, **headers)
