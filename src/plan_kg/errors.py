"""Errors a user can cause. Each says where (file, row, column) and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PlanKgError(Exception):
    """Base class of every error plan-kg raises on purpose."""


@dataclass
class SourceError(PlanKgError):
    """A source table (CSV, XLSX, TOML) cannot be used as it is."""

    path: Path | str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = str(self.path)
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class BuildError(PlanKgError):
    """The build could not finish; the previous output is left as it was."""


class QueryError(PlanKgError):
    """A named query is unknown or cannot be run."""


class ServeError(PlanKgError):
    """The server cannot start (its port is taken, say)."""
