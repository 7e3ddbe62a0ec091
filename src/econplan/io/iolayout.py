"""The layout of an input-output table: row and column labels, blocks of figures.

The first column labels the rows and the first row the columns. Columns labelled as a row
are the inter-industry block Z; ``total_output`` (or ``total``) is total output and ``unit``
the unit of each row; every other column is final demand. Rows that are not sectors are
primary inputs, except ``total_input`` (or ``total``, ``total_output``), which only checks
the column totals. :func:`read_text` reads the cells of a CSV file or an xlsx sheet and
:func:`parse_layout` turns them into a :class:`Layout` of numbers; whatever cannot be read
is reported as a Problem with file, line and column label.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from econplan.errors import EconomyError, Problem
from econplan.io.folder import read_csv_cells
from econplan.io.raw import frame_from_rows
from econplan.io.workbook import cell_text

TOTAL_OUTPUT_COLUMNS = frozenset({"total_output", "total"})
UNIT_COLUMN = "unit"
CHECK_ROWS = frozenset({"total", "total_input", "total_inputs", "total_output"})

FloatArray = npt.NDArray[np.float64]


def normal_label(label: str) -> str:
    """A label compared without case, spaces or hyphens: "Total output" is total_output."""
    return "_".join(label.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class Layout:
    """A table in the documented layout, as numbers, with the line each row came from.

    ``Z`` (sectors by sectors) and ``final_demand`` (sectors by final-demand columns) read
    blank cells as 0; ``total_output`` is None without its column. ``primary`` (primary rows
    by sectors and final-demand columns) and ``totals`` (check rows by sectors) keep blank
    cells as NaN. ``lines`` gives each row label's line, ``units`` its ``unit`` cell.
    """

    file: str
    labels_column: str
    sectors: tuple[str, ...]
    Z: FloatArray
    final_demand: pd.DataFrame
    total_output: FloatArray | None
    total_output_column: str
    primary: pd.DataFrame
    totals: pd.DataFrame
    units: Mapping[str, str]
    lines: Mapping[str, int]

    @property
    def x(self) -> FloatArray:
        """Total output: as given, or the row sums of Z and final demand."""
        if self.total_output is not None:
            return self.total_output
        return np.asarray(self.Z.sum(axis=1) + self.final_demand.to_numpy().sum(axis=1))


def read_text(path: Path, sheet: str | None = None) -> tuple[str, pd.DataFrame]:
    """The file name used in problems, and the cells of the CSV file or xlsx sheet (the
    first sheet unless named) as text indexed by line; raises EconomyError when the file
    cannot be read."""
    problems: list[Problem] = []
    if path.suffix.lower() == ".xlsx":
        file, text = _read_sheet(path, sheet, problems)
    else:
        file, text = path.name, _read_csv(path, problems)
    if text is None or problems:
        raise EconomyError(problems)
    return file, text


def _read_csv(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(Problem(path.name, None, None, "no such file: give a .csv or .xlsx file"))
        return None
    text: pd.DataFrame | None = read_csv_cells(path, path.name, problems)
    return text


def _read_sheet(
    path: Path, sheet: str | None, problems: list[Problem]
) -> tuple[str, pd.DataFrame | None]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        problems.append(Problem(path.name, None, None, f"not a readable xlsx workbook: {error}"))
        return path.name, None
    try:
        name = sheet if sheet is not None else book.sheetnames[0]
        file = f"{path.name}[{name}]"
        if name not in book.sheetnames:
            shown = ", ".join(book.sheetnames)
            problems.append(Problem(file, None, None, f"no such sheet; the sheets are: {shown}"))
            return file, None
        rows = [
            (number, [cell_text(v) for v in values])
            for number, values in enumerate(book[name].iter_rows(values_only=True), 1)
        ]
    finally:
        book.close()
    rows = [(n, cells) for n, cells in rows if any(cells)]
    if not rows:
        problems.append(Problem(file, 1, None, "sheet is empty: it needs at least a header row"))
        return file, None
    header = rows[0][1]
    while header and header[-1] == "":
        header = header[:-1]
    body, numbers = [], []
    for number, cells in rows[1:]:
        if any(cells[len(header) :]):
            problems.append(
                Problem(file, number, None, "cells beyond the labelled columns: label or clear")
            )
        body.append((cells + [""] * len(header))[: len(header)])
        numbers.append(number)
    return file, frame_from_rows(header, body, numbers)


def parse_layout(text: pd.DataFrame, file: str) -> Layout:
    """The table of text cells (a header of column labels, rows indexed by line, the first
    column the row labels) as numbers; raises EconomyError for what cannot be read."""
    header = [str(h).strip() for h in text.columns]
    corner = header[0] if header and header[0] else "(row labels)"
    if len(header) < 2 or text.empty:
        raise EconomyError(
            [
                Problem(
                    file,
                    1,
                    None,
                    "no table: the first row labels the columns, the first column labels the "
                    "rows, and at least one sector has its row and its column",
                )
            ]
        )
    labels = [str(v).strip() for v in text.iloc[:, 0]]
    lines = [int(n) for n in text.index]
    columns = header[1:]
    problems = _label_problems(file, corner, columns, labels, lines)
    if problems:
        raise EconomyError(problems)
    line = dict(zip(labels, lines, strict=True))
    kinds = _classify(columns, labels)
    problems += _special_problems(file, corner, kinds, line)
    values = _numbers(text, columns, kinds, lines, file, problems)
    if problems:
        raise EconomyError(problems)
    return _assemble(file, corner, text, columns, labels, kinds, values, line)


def _label_problems(
    file: str, corner: str, columns: list[str], labels: list[str], lines: list[int]
) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for k, column in enumerate(columns, start=2):
        if not column:
            problems.append(
                Problem(file, 1, "(blank)", f"column {k} has no label: label it or delete it")
            )
        elif column in seen:
            problems.append(
                Problem(file, 1, column, "this column label appears twice: labels must be unique")
            )
        seen.add(column)
    first: dict[str, int] = {}
    for label, number in zip(labels, lines, strict=True):
        if not label:
            problems.append(
                Problem(file, number, corner, "the row has no label: label it or delete it")
            )
        elif label in first:
            problems.append(
                Problem(
                    file,
                    number,
                    corner,
                    f"row label {label!r} appears twice (first on line {first[label]}): "
                    "labels must be unique",
                )
            )
        else:
            first[label] = number
    return problems


def _classify(columns: list[str], labels: list[str]) -> dict[str, str]:
    """What each column label and row label is: sector, final, total_output, unit; and for
    rows: sector, primary, check."""
    rows = set(labels)
    kinds: dict[str, str] = {}
    for column in columns:
        normal = normal_label(column)
        if normal in TOTAL_OUTPUT_COLUMNS:
            kinds[f"column:{column}"] = "total_output"
        elif normal == UNIT_COLUMN:
            kinds[f"column:{column}"] = "unit"
        elif column in rows and normal_label(column) not in CHECK_ROWS:
            kinds[f"column:{column}"] = "sector"
        else:
            kinds[f"column:{column}"] = "final"
    sectors = {c for c in columns if kinds[f"column:{c}"] == "sector"}
    for label in labels:
        if label in sectors:
            kinds[f"row:{label}"] = "sector"
        elif normal_label(label) in CHECK_ROWS:
            kinds[f"row:{label}"] = "check"
        else:
            kinds[f"row:{label}"] = "primary"
    return kinds


def _of_kind(kinds: Mapping[str, str], what: str, kind: str) -> list[str]:
    prefix = f"{what}:"
    return [k[len(prefix) :] for k, v in kinds.items() if k.startswith(prefix) and v == kind]


def _special_problems(
    file: str, corner: str, kinds: Mapping[str, str], line: Mapping[str, int]
) -> list[Problem]:
    problems = []
    if not _of_kind(kinds, "column", "sector"):
        problems.append(
            Problem(
                file,
                1,
                None,
                "no sectors: a single file is read as an input-output table, whose inter-industry "
                "columns are labelled exactly as the rows of the same sectors (to read an "
                "economy of several tables, give its folder or workbook)",
            )
        )
    for kind in ("total_output", "unit"):
        found = _of_kind(kinds, "column", kind)
        for column in found[1:]:
            problems.append(
                Problem(file, 1, column, f"a second {kind} column ({found[0]!r} is the first)")
            )
    for column in _of_kind(kinds, "column", "final"):
        if normal_label(column).startswith("total"):
            problems.append(
                Problem(
                    file,
                    1,
                    column,
                    "a subtotal column would be counted twice as final demand: delete it "
                    "(total output goes in a column named total_output)",
                )
            )
    for label in _of_kind(kinds, "row", "primary"):
        if normal_label(label).startswith("total"):
            problems.append(
                Problem(
                    file,
                    line[label],
                    corner,
                    "a subtotal row would be counted twice as a primary input: delete it (the "
                    "column totals go in a row named total_input)",
                )
            )
    return problems


def _numbers(
    text: pd.DataFrame,
    columns: list[str],
    kinds: Mapping[str, str],
    lines: list[int],
    file: str,
    problems: list[Problem],
) -> FloatArray:
    """Every cell as a number, NaN where blank (and in the unit column)."""
    values = np.full((len(lines), len(columns)), np.nan)
    for k, column in enumerate(columns):
        if kinds[f"column:{column}"] == "unit":
            continue
        cells = text.iloc[:, k + 1].astype(str).str.strip()
        blank = (cells == "").to_numpy()
        parsed = pd.to_numeric(cells.where(~blank, None), errors="coerce").to_numpy(dtype=float)
        bad = ~blank & ~np.isfinite(parsed)
        for i in np.flatnonzero(bad):
            problems.append(
                Problem(
                    file,
                    lines[i],
                    column,
                    f"{cells.iloc[i]!r} is not a number: write figures like 1234.5, without "
                    "thousands separators",
                )
            )
        values[:, k] = parsed
    return values


def _assemble(
    file: str,
    corner: str,
    text: pd.DataFrame,
    columns: list[str],
    labels: list[str],
    kinds: Mapping[str, str],
    values: FloatArray,
    line: Mapping[str, int],
) -> Layout:
    row = {label: i for i, label in enumerate(labels)}
    col = {column: k for k, column in enumerate(columns)}
    sectors = _of_kind(kinds, "column", "sector")
    final = _of_kind(kinds, "column", "final")
    primary = _of_kind(kinds, "row", "primary")
    checks = _of_kind(kinds, "row", "check")

    def block(rows: list[str], cols: list[str]) -> FloatArray:
        return values[np.ix_([row[r] for r in rows], [col[c] for c in cols])]

    output_columns = _of_kind(kinds, "column", "total_output")
    total_output = block(sectors, output_columns[:1]).ravel() if output_columns else None
    units: dict[str, str] = {}
    for unit_column in _of_kind(kinds, "column", "unit")[:1]:
        cells = text.iloc[:, col[unit_column] + 1].astype(str).str.strip().tolist()
        units = {label: cell for label, cell in zip(labels, cells, strict=True) if cell}
    return Layout(
        file=file,
        labels_column=corner,
        sectors=tuple(sectors),
        Z=np.nan_to_num(block(sectors, sectors)),
        final_demand=pd.DataFrame(
            np.nan_to_num(block(sectors, final)), index=sectors, columns=final
        ),
        total_output=total_output,
        total_output_column=output_columns[0] if output_columns else "total_output",
        primary=pd.DataFrame(
            block(primary, sectors + final), index=primary, columns=sectors + final
        ),
        totals=pd.DataFrame(block(checks, sectors), index=checks, columns=sectors),
        units=units,
        lines=dict(line),
    )
