"""The schema of every table, declared once as data in ``schema/tables.csv``,
``schema/columns.csv`` and ``schema/types.csv``.

Validation, ``docs/format.md`` and the blank templates all come from it: adding a column is
one line in ``columns.csv``.

Files that are not part of an economy but are checked the same way (an enterprise's
fulfilment reports) are declared alike in ``schema/execution_tables.csv`` and
``schema/execution_columns.csv``: ``load_schema("execution_")``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

ColumnType = Literal["string", "integer", "number", "boolean", "year", "years", "enum"]
COLUMN_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "year", "years", "enum")

SETTINGS_TABLE = "economy"
"""The table whose 'columns' are the keys of economy.toml."""

SOURCES_TABLE = "sources"
"""Kept in economy.toml as [[sources]]; in a workbook, a sheet like any other table."""


@dataclass(frozen=True)
class Kind:
    """A column type (``schema/types.csv``): what its cells are, and the range that every
    column of the type keeps to unless it declares a narrower one."""

    name: str
    minimum: float | None
    maximum: float | None
    smallest: float | None
    """The smallest size a number other than 0 may have: smaller ones are rounding noise
    beside figures near 1 (a double holds about 16 digits), and subnormal ones upset the
    solver's scaling."""
    hint: str
    """What to do about a value above the type's maximum."""
    description: str


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    unit: str
    required: bool
    default: str | None
    references: str | None
    values: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    """The column's own bounds, narrower than its type's; for a ``years`` column (the
    horizon) the maximum is the most years from the base year to the last year."""
    description: str
    kind: Kind = field(repr=False, compare=False)

    @property
    def lowest(self) -> float | None:
        """The least value a cell may hold: the column's minimum, else its type's."""
        return self.minimum if self.minimum is not None else self.kind.minimum

    @property
    def highest(self) -> float | None:
        """The greatest value a cell may hold: the column's maximum, else its type's."""
        if self.maximum is not None and self.type != "years":
            return self.maximum
        return self.kind.maximum


@dataclass(frozen=True)
class Table:
    name: str
    file: str
    key: tuple[str, ...]
    required: bool
    description: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    @property
    def is_csv(self) -> bool:
        return self.file.endswith(".csv")


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    kinds: tuple[Kind, ...]

    def __getitem__(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"no table {name!r} in the schema")

    @property
    def csv_tables(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.is_csv)

    @property
    def settings(self) -> Table:
        return self[SETTINGS_TABLE]


def figure(value: float) -> str:
    """A limit as people write it: 1e15 rather than 1e+15, 1e-9 rather than 1e-09."""
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{value:g}")


def _number(text: str) -> float | None:
    return float(text) if text else None


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("econplan").joinpath("schema", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_schema(prefix: str = "") -> Schema:
    """The schema shipped with econplan: of the economy's tables, or with ``prefix``
    ``"execution_"`` of the files of the plan's execution (``execution_tables.csv`` and
    ``execution_columns.csv``, with the same types)."""
    kinds = {
        row["type"]: Kind(
            name=row["type"],
            minimum=_number(row["minimum"]),
            maximum=_number(row["maximum"]),
            smallest=_number(row["smallest"]),
            hint=row["hint"],
            description=row["description"],
        )
        for row in _read("types.csv")
    }
    if sorted(kinds) != sorted(COLUMN_TYPES):
        raise ValueError(f"schema/types.csv: declare each of the types {COLUMN_TYPES}")
    columns: dict[str, list[Column]] = {}
    for row in _read(f"{prefix}columns.csv"):
        if row["type"] not in COLUMN_TYPES:
            raise ValueError(f"schema/{prefix}columns.csv: unknown type {row['type']!r}")
        column = Column(
            name=row["column"],
            type=row["type"],  # type: ignore[arg-type]
            unit=row["unit"],
            required=row["required"] == "true",
            default=row["default"] or None,
            references=row["references"] or None,
            values=tuple(row["values"].split("|")) if row["values"] else (),
            minimum=_number(row["minimum"]),
            maximum=_number(row["maximum"]),
            description=row["description"],
            kind=kinds[row["type"]],
        )
        columns.setdefault(row["table"], []).append(column)
    tables = tuple(
        Table(
            name=row["table"],
            file=row["file"],
            key=tuple(row["key"].split("|")) if row["key"] else (),
            required=row["required"] == "true",
            description=row["description"],
            columns=tuple(columns.pop(row["table"])),
        )
        for row in _read(f"{prefix}tables.csv")
    )
    if columns:
        raise ValueError(
            f"schema/{prefix}columns.csv: columns of undeclared tables {sorted(columns)}"
        )
    return Schema(tables, tuple(kinds[name] for name in COLUMN_TYPES))
