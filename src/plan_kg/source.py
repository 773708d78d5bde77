"""Read a plan's source tables into typed records.

A plan lives in a folder: `plan.toml` (metadata) and `items.csv` (one row per plan
element: code, level, label, parent, notes, and optional field). The reader accepts
what Japanese offices send: UTF-8 with or without BOM, Shift_JIS/CP932, full-width
digits and hyphens in codes, stray spaces. Every problem is a SourceError naming the
file, row and column and saying what to do.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceError
from .iris import is_item_code, is_plan_id
from .normalize import check_header, check_text, clean_cell, column_letter, normalize_code

REQUIRED_COLUMNS = ("code", "level", "label", "parent", "notes")
OPTIONAL_COLUMNS = ("field", "status")
#: Values of the optional status column that mark an element still to be created (新設予定).
PLANNED = ("planned", "新設予定")
LEVEL_CLASSES = ("BasicGoal", "Policy", "Measure", "Initiative", "PlanElement")
STATUSES = ("InterimDraft", "Draft", "Adopted")
COMPLETENESS = ("Complete", "Partial")


@dataclass(frozen=True)
class PlanItem:
    """One row of the items table, cleaned."""

    code: str  # ASCII, e.g. "1-3-3"
    level: str  # the plan's own level name, e.g. 基本施策
    level_class: str  # ontology class local name, e.g. "Measure"
    label: str  # exactly as the source writes it; "" for a planned item without a name
    parent: str | None  # parent's code; None for a top-level element
    field: str  # the basic goal's field (分野), "" elsewhere
    notes: str
    planned: bool  # status column says 新設予定 / planned: may lack a name
    sequence: int  # 1-based position in the table
    row: int  # line number in the file, for messages


@dataclass(frozen=True)
class Municipality:
    code: str
    name_ja: str
    name_en: str
    prefecture_ja: str
    prefecture_en: str


@dataclass(frozen=True)
class PlanMetadata:
    plan_id: str
    title_ja: str
    title_en: str
    status: str
    completeness: str
    period_start: dt.date
    period_end: dt.date
    issued: dt.date
    source: str
    source_note: str
    license: str
    hierarchical_codes: bool
    levels: tuple[tuple[str, str], ...]  # (level name, class local name)
    municipality: Municipality
    completeness_note: str = ""  # what a partial plan lacks (English); required when Partial
    completeness_note_ja: str = ""  # the same in Japanese (optional)


@dataclass(frozen=True)
class PlanSource:
    """A whole plan as read from its folder."""

    metadata: PlanMetadata
    items: tuple[PlanItem, ...]
    items_path: Path

    @property
    def slug(self) -> str:
        return f"{self.metadata.municipality.code}-{self.metadata.plan_id}"


#: What to do about a table that is neither UTF-8 nor Shift_JIS/CP932.
SAVE_AS_UTF8 = "save it as UTF-8 (CSV UTF-8 in Excel)"


def decode_table(data: bytes, path: Path | str, *, advice: str = SAVE_AS_UTF8) -> str:
    """Text of a table file: UTF-8 (BOM or not), else CP932 (Shift_JIS as Windows writes it).

    `path` names the source in messages (a file, or e.g. 'standard input'); `advice` says what to do when
    the bytes are neither.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(path, f"the text is UTF-16; {advice}")
    else:
        encodings = ("utf-8", "cp932")
    failures = []
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            failures.append(exc)
    last = max(failures, key=lambda exc: exc.start)  # the encoding that read furthest is the likely one
    line = data[: last.start].count(b"\n") + 1
    raise SourceError(
        path,
        f"cannot be read as UTF-8 or Shift_JIS/CP932 (bad byte at offset {last.start}); {advice}",
        row=line,
    )


def read_items(path: Path, levels: dict[str, str]) -> tuple[PlanItem, ...]:
    """The items table at `path`, cleaned and checked; `levels` maps level names to classes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror}); check the path") from exc
    text = decode_table(data, path)
    if not text.strip():
        raise SourceError(path, "the file is empty; it needs a header row: " + ",".join(REQUIRED_COLUMNS))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise SourceError(path, f"is not valid CSV ({exc}); check quotes") from exc
    for index, name in enumerate(rows[0]):
        check_text(name, path, row=1, column=column_letter(index), what="the header")
    header = [clean_cell(h).lower() for h in rows[0]]
    check_header(header, path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SourceError(
            path, f"missing column(s) {', '.join(missing)}; the header must name: {', '.join(REQUIRED_COLUMNS)}", row=1
        )
    unknown = [h for h in header if h and h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise SourceError(path, f"unknown column(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}", row=1)
    col = {name: header.index(name) for name in header if name}
    items: list[PlanItem] = []
    seen: dict[str, int] = {}
    for line_no, cells in enumerate(rows[1:], start=2):
        for index, value in enumerate(cells):  # every cell, before anything quotes it in a message
            check_text(value, path, row=line_no,
                       column=header[index] if index < len(header) and header[index] else column_letter(index))
        if not any(clean_cell(c) for c in cells):
            continue  # blank lines are allowed
        if len(cells) > len(header):
            raise SourceError(path, f"has {len(cells)} cells but the header has {len(header)}; "
                              "quote cells that contain commas", row=line_no)

        def cell(name: str) -> str:
            i = col.get(name)
            return clean_cell(cells[i]) if i is not None and i < len(cells) else ""

        code = normalize_code(cell("code"))
        if not code:
            raise SourceError(path, "the code is empty; every row needs a code such as 1-3-2", line_no, "code")
        if not is_item_code(code):
            raise SourceError(path, f"code '{cell('code')}' is not of the form 1-3-2 "
                              "(letters, digits and hyphens)", line_no, "code")
        if code in seen:
            raise SourceError(path, f"code {code} is used again (first on row {seen[code]}); "
                              "codes must be unique within a plan", line_no, "code")
        seen[code] = line_no
        level = cell("level")
        if level not in levels:
            raise SourceError(path, f"unknown level '{level}'; use one of: {', '.join(levels)} "
                              "(or add it to [levels] in plan.toml)", line_no, "level")
        status = cell("status")
        if status and status.lower() not in PLANNED:
            raise SourceError(path, f"unknown status '{status}'; leave it empty or write {' or '.join(PLANNED)}",
                              line_no, "status")
        parent = normalize_code(cell("parent")) or None
        if parent is not None and not is_item_code(parent):
            raise SourceError(path, f"parent '{cell('parent')}' is not a code such as 1-3", line_no, "parent")
        items.append(PlanItem(code=code, level=level, level_class=levels[level], label=cell("label"),
                              parent=parent, field=cell("field"), notes=cell("notes"),
                              planned=bool(status), sequence=len(items) + 1, row=line_no))
    if not items:
        raise SourceError(path, "has a header but no rows")
    for item in items:
        if item.parent is not None and item.parent not in seen:
            raise SourceError(path, f"parent {item.parent} is not a code in this table; "
                              "fix the parent or add its row", item.row, "parent")
        if item.parent == item.code:
            raise SourceError(path, f"{item.code} names itself as parent", item.row, "parent")
    _check_acyclic(items, path)
    return tuple(items)


def _check_acyclic(items: list[PlanItem], path: Path) -> None:
    parent_of = {i.code: i.parent for i in items}
    for item in items:
        seen = {item.code}
        code = item.parent
        while code is not None:
            if code in seen:
                raise SourceError(path, f"parents form a cycle through {code}; each item needs a parent "
                                  "higher up the plan", item.row, "parent")
            seen.add(code)
            code = parent_of[code]


def _require(table: dict, key: str, path: Path, kind: type) -> object:
    if key not in table:
        raise SourceError(path, f"missing '{key}'; see data/nishitokyo/plan.toml for an example")
    value = table[key]
    if not isinstance(value, kind):
        raise SourceError(path, f"'{key}' must be a {kind.__name__}, not {type(value).__name__} ({value!r})")
    return value


def _web_address(table: dict, key: str, path: Path) -> str:
    """`key`, an address the published data links to: http(s) and nothing an IRI cannot hold (spaces, <>, quotes)."""
    value = str(_require(table, key, path, str))
    if not _WEB_ADDRESS.match(value):
        raise SourceError(path, f"{key} {value!r} must be an http:// or https:// address, without spaces, quotes or <> "
                          "(it is published as an IRI)")
    return value


_WEB_ADDRESS = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def read_metadata(path: Path) -> PlanMetadata:
    """The plan metadata in `path` (TOML)."""
    try:
        table = tomllib.loads(decode_table(path.read_bytes(), path))
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(path, f"is not valid TOML: {exc}") from exc
    _check_strings(table, path)
    m = _require(table, "municipality", path, dict)
    code = str(_require(m, "code", path, str))
    from .municipality import check_municipality_code  # local: keeps the import graph one-way

    check_municipality_code(code, path=path)
    municipality = Municipality(code=code, name_ja=str(_require(m, "name_ja", path, str)),
                                name_en=str(_require(m, "name_en", path, str)),
                                prefecture_ja=str(_require(m, "prefecture_ja", path, str)),
                                prefecture_en=str(_require(m, "prefecture_en", path, str)))
    levels = _require(table, "levels", path, dict)
    for name, cls in levels.items():
        if cls not in LEVEL_CLASSES:
            raise SourceError(path, f"level '{name}' maps to unknown class '{cls}'; use one of {', '.join(LEVEL_CLASSES)}")
    status = _require(table, "status", path, str)
    if status not in STATUSES:
        raise SourceError(path, f"status '{status}' is not one of {', '.join(STATUSES)}")
    completeness = _require(table, "completeness", path, str)
    if completeness not in COMPLETENESS:
        raise SourceError(path, f"completeness '{completeness}' is not one of {', '.join(COMPLETENESS)}")
    plan_id = str(_require(table, "plan_id", path, str))
    if not is_plan_id(plan_id):
        raise SourceError(path, f"plan_id {plan_id!r} must be lower-case letters, digits and hyphens (it is part of "
                          "the plan's IRIs), e.g. basic-plan-3")
    start, end = _require(table, "period_start", path, dt.date), _require(table, "period_end", path, dt.date)
    if end < start:  # type: ignore[operator]
        raise SourceError(path, f"period_end {end} is before period_start {start}")
    return PlanMetadata(
        plan_id=plan_id, title_ja=str(_require(table, "title_ja", path, str)),
        title_en=str(_require(table, "title_en", path, str)), status=str(status), completeness=str(completeness),
        period_start=start, period_end=end, issued=_require(table, "issued", path, dt.date),  # type: ignore[arg-type]
        source=_web_address(table, "source", path), source_note=str(table.get("source_note", "")),
        license=_web_address(table, "license", path),
        hierarchical_codes=bool(table.get("hierarchical_codes", False)),
        levels=tuple((str(k), str(v)) for k, v in levels.items()), municipality=municipality,
        completeness_note=_completeness_note(table, path, str(completeness)),
        completeness_note_ja=str(table.get("completeness_note_ja", "")))


def _check_strings(table: dict, path: Path, prefix: str = "") -> None:
    """Every key and string of a TOML table holds only characters a published literal may (TOML escapes allow any)."""
    for key, value in table.items():
        name = f"{prefix}{key}"
        check_text(key, path, what=f"a key in [{prefix[:-1]}]" if prefix else "a key")
        if isinstance(value, dict):
            _check_strings(value, path, f"{name}.")
        elif isinstance(value, str):
            check_text(value, path, what=f"{name} =")


def _completeness_note(table: dict, path: Path, completeness: str) -> str:
    """The note on what a partial plan lacks; a partial plan must have one."""
    note = str(table.get("completeness_note", "")).strip()
    if completeness == "Partial" and not note:
        raise SourceError(path, "completeness is 'Partial' but 'completeness_note' is missing; "
                          "say what of the source's structure is not captured")
    return note


def read_plan(folder: Path) -> PlanSource:
    """The plan in `folder` (plan.toml + items.csv)."""
    metadata = read_metadata(folder / "plan.toml")
    items_path = folder / "items.csv"
    items = read_items(items_path, dict(metadata.levels))
    return PlanSource(metadata=metadata, items=items, items_path=items_path)


def plan_folders(data_dir: Path) -> list[Path]:
    """Every plan folder under `data_dir` (one holding a plan.toml), sorted for determinism."""
    return sorted(p.parent for p in data_dir.glob("*/plan.toml"))
