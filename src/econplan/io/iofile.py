"""The cells of a table file as text: a CSV file (UTF-8 or Windows-1252; commas, semicolons
or tabs; decimal commas) or an xlsx worksheet, indexed by the row a spreadsheet gives them,
with notes on how the file was read. What cannot be read is an EconomyError naming the file.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from econplan.errors import EconomyError, Problem
from econplan.io.raw import frame_from_rows
from econplan.io.workbook import UNREADABLE, formula_problems, sheet_rows


@dataclass(frozen=True)
class Cells:
    """The cells of a table as text, indexed by spreadsheet row, with the file name problems
    give and notes on how it was read."""

    file: str
    text: pd.DataFrame
    notes: tuple[str, ...] = ()
    decimal_comma: bool = False


def read_text(path: Path, sheet: str | None = None) -> Cells:
    """The cells of the CSV file or xlsx sheet (the first worksheet unless named); raises
    EconomyError when the file cannot be read."""
    problems: list[Problem] = []
    notes: list[str] = []
    decimal_comma = False
    if path.suffix.lower() == ".xlsx":
        file, text = _read_sheet(path, sheet, problems, notes)
    else:
        file = path.name
        text, decimal_comma = _read_csv(path, problems, notes)
    if text is None or problems:
        raise EconomyError(problems)
    return Cells(file, text, tuple(notes), decimal_comma)


ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
"""Tried in turn; the last one reads any bytes."""


def _read_csv(
    path: Path, problems: list[Problem], notes: list[str]
) -> tuple[pd.DataFrame | None, bool]:
    """Rows of text cells indexed by spreadsheet row (a cell with line breaks is still one
    row), in UTF-8 or else Windows-1252, separated by commas, semicolons or tabs."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(name, None, None, "no such file: give a .csv or .xlsx file"))
        return None, False
    except OSError as error:
        problems.append(Problem(name, None, None, f"cannot be read: {error.strerror}"))
        return None, False
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if encoding != ENCODINGS[0]:
        notes.append(
            f"{name} is not UTF-8: read as Windows-1252 (Latin-1); if labels look wrong, save "
            "it as UTF-8 CSV"
        )
    delimiter = _delimiter(text)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    numbers: list[int] = []
    header: list[str] | None = None
    try:
        for number, fields in enumerate(reader, start=1):
            if not "".join(fields).strip():
                continue
            if header is None:
                header = fields
                continue
            if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
                problems.append(
                    Problem(
                        name,
                        number,
                        None,
                        f"{len(fields)} cells where the header has {len(header)}: label the "
                        "extra columns, or quote cells that contain the separator "
                        f"{delimiter!r}",
                    )
                )
                continue
            rows.append((fields + [""] * len(header))[: len(header)])
            numbers.append(number)
    except csv.Error as error:
        problems.append(Problem(name, None, None, f"malformed CSV: {error}; check the quoting"))
        return None, False
    if header is None:
        problems.append(Problem(name, 1, None, "file is empty: it needs at least a header row"))
        return None, False
    while header and not header[-1].strip() and not any(r[len(header) - 1] for r in rows):
        header = header[:-1]
        rows = [r[: len(header)] for r in rows]
    decimal_comma = delimiter == ";" and _decimal_comma(rows)
    if delimiter != ",":
        shown = {";": "semicolons", "\t": "tabs"}[delimiter]
        comma = ", with decimal commas" if decimal_comma else ""
        notes.append(f"{name}: cells separated by {shown}{comma}")
    return frame_from_rows(header, rows, numbers), decimal_comma


def _delimiter(text: str) -> str:
    """The separator of the header row: the one of comma, semicolon and tab it holds most of
    outside quotes."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*-?\d+\.\d+\s*$")


def _decimal_comma(rows: list[list[str]]) -> bool:
    """Figures like 12,5 and none like 12.5: a semicolon-separated file with decimal commas."""
    cells = [c for row in rows for c in row[1:]]
    return any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
        _DECIMAL_POINT.match(c) for c in cells
    )


def _read_sheet(
    path: Path, sheet: str | None, problems: list[Problem], notes: list[str]
) -> tuple[str, pd.DataFrame | None]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except UNREADABLE as error:
        problems.append(Problem(path.name, None, None, f"not a readable xlsx workbook: {error}"))
        return path.name, None
    try:
        tables = [s.title for s in book.worksheets]
        if sheet is None and not tables:
            problems.append(
                Problem(path.name, None, None, "the workbook has no worksheet, only charts")
            )
            return path.name, None
        name = sheet if sheet is not None else tables[0]
        file = f"{path.name}[{name}]"
        if name not in book.sheetnames:
            shown = ", ".join(book.sheetnames)
            problems.append(Problem(file, None, None, f"no such sheet; the sheets are: {shown}"))
            return file, None
        if name not in tables:
            problems.append(
                Problem(file, None, None, "this sheet is a chart, not a table: name a worksheet")
            )
            return file, None
        if name != book.sheetnames[0] and sheet is None:
            notes.append(f"{path.name}: read the first worksheet, {name!r}")
        read = sheet_rows(book[name], file, problems)
        if read is None:
            return file, None
        rows = read
    except UNREADABLE as error:  # the sheet's XML, read lazily, is broken
        problems.append(Problem(path.name, None, None, f"not a readable xlsx workbook: {error}"))
        return path.name, None
    finally:
        book.close()
    problems += formula_problems(path, {name: file})
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
