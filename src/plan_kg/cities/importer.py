"""Import any municipality's plan: an items table (CSV or .xlsx) plus plan metadata -> data/<folder>/.

The items table has the same columns as data/nishitokyo/items.csv (docs/import-format.md).
An .xlsx workbook is read from its first sheet, whose first row is the header; its row
numbers are the sheet's own, so an error points at the row Excel shows.

Level names are the plan's own. A level not mapped in the metadata's [levels] table
becomes pkg:PlanElement with its name in pkg:levelName: a 基本目標 of another city is not
assumed to be a Nishitokyo-style pkg:BasicGoal (which requires a 分野 and numeric codes).

Nothing is written unless the plan reads cleanly, reasons and conforms to the shapes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from ..build import load_ontology
from ..config import Settings
from ..errors import BuildError, SourceError
from ..iris import inferred_graph_iri, plan_graph_iri
from ..municipality import check_municipality_code
from ..normalize import column_letter, unusable_character
from ..rdf import plan_graph
from ..reasoning import infer
from ..source import LEVEL_CLASSES, REQUIRED_COLUMNS, PlanSource, decode_table, read_items, read_metadata
from ..validation import ValidationReport, load_shapes, validate

#: A plan's folder under data/: one name, never a path (letters of any script, digits, '-', '_').
_FOLDER = re.compile(r"\w[\w-]*")

#: Column order of the items.csv the importer writes.
COLUMNS = ("code", "level", "label", "parent", "field", "notes")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class ImportResult:
    """What `import_plan` added."""

    folder: Path
    plan: PlanSource
    report: ValidationReport
    levels: tuple[tuple[str, str], ...]  # (level name, ontology class local name)


def read_table_rows(path: Path) -> list[list[str]]:
    """The rows of an items table (CSV text or an .xlsx workbook's first sheet) as strings."""
    if path.suffix.lower() in _XLSX_SUFFIXES:
        return _xlsx_rows(path)
    try:
        text = decode_table(path.read_bytes(), path)
        return list(csv.reader(io.StringIO(text, newline="")))
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror}); check the path") from exc
    except csv.Error as exc:
        raise SourceError(path, f"is not valid CSV ({exc}); check quotes") from exc


def _xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl  # only needed for workbooks

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for broken files
        raise SourceError(path, f"is not a readable .xlsx workbook ({exc.__class__.__name__}); "
                          "save it again from Excel as .xlsx") from exc
    try:
        sheet = workbook.worksheets[0]
        header: list[str] = []  # the first row's names, for errors about the cells below them
        rows = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append([_xlsx_cell(value, path, number, _column_name(header, column))
                         for column, value in enumerate(row)])
            if number == 1:
                header = [cell.strip().lower() for cell in rows[0]]
    finally:
        workbook.close()
    while rows and not any(rows[-1]):
        rows.pop()
    return rows


def _column_name(header: list[str], index: int) -> str:
    """A workbook column as errors name it: its header and letter (`parent (D)`), or the letter alone."""
    letter = column_letter(index)
    return f"{header[index]} ({letter})" if index < len(header) and header[index] else letter


def _xlsx_cell(value: object, path: Path, row: int, column: str) -> str:
    """A cell as the text Excel shows: whole numbers without '.0' (a code typed as 1 is read as 1.0).

    A string is kept as openpyxl reads it. OOXML writes a control character as `_x0001_`, and a typed `_x0001_` as
    `_x005F_x0001_`; openpyxl undoes the second for Excel's shared strings only, so the two cannot be told apart
    there. Undoing the escapes here would turn a typed `柱_x0041_` into `柱A`; a control character's escape is
    refused instead, as the character itself is in a CSV file.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        for escaped in _OOXML_ESCAPE.finditer(value):
            if unusable_character(chr(int(escaped[1], 16))) is not None:  # the rule of every published text
                raise SourceError(path, f"the cell {value!r} holds {escaped[0]}, which is how Excel writes the control "
                                  f"character U+{escaped[1].upper()}; delete it from the cell (plan text has no control "
                                  "characters)", row, column)
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        # Excel turns a code such as 1-3 into a date; the code is lost, so say how to keep it.
        raise SourceError(path, f"the cell holds a date ({value}); Excel turned a code into a date: "
                          "format the column as text and type the code again", row, column)
    return str(value)


#: OOXML's escape of a character (`_x0001_`), not itself escaped (`_x005F_x0001_` is the typed text `_x0001_`).
_OOXML_ESCAPE = re.compile(r"(?<!_x005F)_x([0-9A-Fa-f]{4})_")


def read_plan_items(path: Path, levels: dict[str, str]) -> tuple:
    """The items of the table at `path` (CSV or .xlsx), checked as the build checks data/*/items.csv.

    Errors name `path`, the row and the column (for a workbook also the column letter).
    """
    if path.suffix.lower() not in _XLSX_SUFFIXES:
        return read_items(path, levels)
    rows = _xlsx_rows(path)
    if not rows:
        raise SourceError(path, "the first sheet is empty; it needs a header row: " + ",".join(REQUIRED_COLUMNS))
    header = [cell.strip().lower() for cell in rows[0]]
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "items.csv"
        csv_path.write_text(_csv_text(rows), encoding="utf-8")
        try:
            return read_items(csv_path, levels)
        except SourceError as exc:
            column = exc.column
            if column is not None and column in header:
                column = f"{column} ({column_letter(header.index(column))})"
            raise SourceError(path, exc.message.replace(str(csv_path), str(path)), exc.row, column) from None


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def default_levels(path: Path) -> dict[str, str]:
    """Every level name used in the table at `path`, in order of first use, mapped to PlanElement."""
    rows = read_table_rows(path)
    if not rows:
        return {}
    header = [cell.strip().lower() for cell in rows[0]]
    if "level" not in header:
        return {}  # read_items reports the missing column with its row
    column = header.index("level")
    levels: dict[str, str] = {}
    for row in rows[1:]:
        # A name no literal may hold is left out: read_items refuses its row, naming the row and column.
        if column < len(row) and (name := row[column].strip(" \t\u3000")) and unusable_character(name) is None:
            levels.setdefault(name, "PlanElement")
    return levels


def import_plan(items_path: Path, *, municipality_code: str, metadata_path: Path, settings: Settings,
                folder: str | None = None, replace_existing: bool = False) -> ImportResult:
    """Check the plan in `items_path` + `metadata_path` and add it as `settings.data_dir/<folder>/`.

    `metadata_path` is a plan.toml (see data/nishitokyo/plan.toml); its [municipality] code may
    be left out (`municipality_code` is used) and its [levels] table too (every level becomes
    pkg:PlanElement). Raises SourceError for unusable input and BuildError when the plan does
    not conform to the shapes; nothing is written then.
    """
    check_municipality_code(municipality_code, path="--municipality")
    table = _metadata_table(metadata_path)
    municipality = dict(table.get("municipality", {}))
    given = str(municipality.get("code", municipality_code))
    if given != municipality_code:
        raise SourceError(metadata_path, f"[municipality] code {given} differs from --municipality "
                          f"{municipality_code}; remove one of them")
    municipality["code"] = municipality_code
    table["municipality"] = municipality
    if "levels" not in table:
        table["levels"] = default_levels(items_path)
    for name, cls in table["levels"].items():
        if cls not in LEVEL_CLASSES:
            raise SourceError(metadata_path, f"level '{name}' maps to unknown class '{cls}'; "
                              f"use one of {', '.join(LEVEL_CLASSES)}")
    plan_toml = plan_toml_text(table)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "plan.toml"
        staged.write_text(plan_toml, encoding="utf-8")
        try:
            metadata = read_metadata(staged)
        except SourceError as exc:
            raise SourceError(metadata_path, exc.message, exc.row, exc.column) from None
    items = read_plan_items(items_path, dict(metadata.levels))
    name = folder or municipality_code
    if not _FOLDER.fullmatch(name):
        raise SourceError("--folder", f"{name!r} is not a folder name under {settings.data_dir}: use letters, digits, "
                          "'-' and '_' only (no '/', no '..'), e.g. --folder nerima")
    target = settings.data_dir / name
    plan = PlanSource(metadata=metadata, items=items, items_path=target / "items.csv")
    if target.exists() and not replace_existing:
        raise SourceError(target, "already exists; choose another --folder or pass --replace")
    for other in sorted(settings.data_dir.glob("*/plan.toml")):
        if other.parent == target:
            continue
        existing = read_metadata(other)
        if (existing.municipality.code, existing.plan_id) == (municipality_code, metadata.plan_id):
            raise SourceError(metadata_path, f"plan {municipality_code}/{metadata.plan_id} is already in "
                              f"{other.parent}; give this plan another plan_id")
    report = check_plan(plan, settings=settings)
    if not report.conforms:
        raise BuildError(f"the plan has {len(report.violations)} violation(s); nothing was imported\n{report.text()}")
    target.mkdir(parents=True, exist_ok=True)
    (target / "plan.toml").write_text(plan_toml, encoding="utf-8")
    (target / "items.csv").write_text(items_csv_text(items), encoding="utf-8")
    return ImportResult(folder=target, plan=replace(plan, items_path=target / "items.csv"), report=report,
                        levels=metadata.levels)


def check_plan(plan: PlanSource, *, settings: Settings) -> ValidationReport:
    """Build, reason over and validate one plan in memory, as the build would."""
    code, plan_id = plan.metadata.municipality.code, plan.metadata.plan_id
    ontology = load_ontology(settings)
    asserted = plan_graph(plan, base=settings.base_iri, identifier=plan_graph_iri(settings.base_iri, code, plan_id))
    inferred = infer(asserted, ontology, identifier=inferred_graph_iri(settings.base_iri, code, plan_id)).graph
    data = asserted + inferred
    return validate(data, load_shapes(settings.shapes_dir), ontology=ontology)


def _metadata_table(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SourceError(path, f"cannot be read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(path, f"is not valid TOML: {exc}") from exc


def items_csv_text(items: tuple) -> str:
    """The items as the UTF-8 CSV the build reads (header: code,level,label,parent,field[,status],notes)."""
    planned = [bool(getattr(item, "planned", False)) for item in items]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS[:5] + (("status",) if any(planned) else ()) + COLUMNS[5:])
    for item, is_planned in zip(items, planned, strict=True):
        status = (("planned" if is_planned else ""),) if any(planned) else ()
        writer.writerow([item.code, item.level, item.label, item.parent or "", item.field, *status, item.notes])
    return out.getvalue()


_KEY_ORDER = ("plan_id", "title_ja", "title_en", "status", "completeness", "completeness_note",
              "completeness_note_ja", "period_start", "period_end", "issued", "source", "source_note", "license",
              "hierarchical_codes")


def plan_toml_text(table: dict) -> str:
    """`table` as a plan.toml: known keys first in a fixed order, then [levels] and [municipality]."""
    lines = ["# Plan metadata for items.csv in this folder, written by `plan-kg import`.", ""]
    keys = [k for k in _KEY_ORDER if k in table] + sorted(k for k in table if k not in _KEY_ORDER
                                                            and not isinstance(table[k], dict))
    lines += [f"{key} = {_toml_value(table[key])}" for key in keys]
    for section in ("levels", "municipality"):
        if section not in table:
            continue
        lines += ["", f"[{section}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.get(section, {}).items()]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if key.isascii() and key.replace("_", "").isalnum() else json.dumps(key, ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | int):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    raise TypeError(f"cannot write {value!r} to plan.toml")
