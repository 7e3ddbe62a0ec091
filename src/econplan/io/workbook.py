"""An xlsx workbook economy: a sheet per table, named as the table (``products``, ...).

The sheet ``economy`` holds the settings as rows of key, value (a third column may describe
them); ``sources`` is a table sheet like the others. A sheet named ``README`` is ignored.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from econplan.errors import Problem
from econplan.io.raw import RawEconomy, frame_from_rows
from econplan.schema import SETTINGS_TABLE, Schema, load_schema

README_SHEET = "README"

UNREADABLE = (
    OSError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    AttributeError,
    TypeError,
    SyntaxError,  # the XML parser's ParseError, read lazily from a sheet
)
"""What openpyxl raises on a file that is not a sound xlsx workbook (a chart sheet without a
drawing raises AttributeError, for one)."""


CELL_LIMIT = 20_000_000
"""Cells a sheet may span (rows x columns, empty ones included), beyond which it is refused
rather than read: openpyxl gives every row as long as the longest, so one stray cell at
XFD100000 would make 1.6e9 cells of a small table."""


def sheet_rows(
    sheet: Any, file: str, problems: list[Problem]
) -> list[tuple[int, list[str]]] | None:
    """The non-blank rows of a worksheet as text, numbered as the spreadsheet numbers them;
    None, with a problem, for a sheet spanning more than CELL_LIMIT cells."""
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if rows * columns > CELL_LIMIT:
        problems.append(
            Problem(
                file,
                None,
                None,
                f"the sheet spans {rows:,} rows and {columns:,} columns, more cells than "
                f"econplan reads ({CELL_LIMIT:,}): delete the stray cells far from the table "
                "(Ctrl+End in a spreadsheet program shows the last one)",
            )
        )
        return None
    numbered = (
        (number, [cell_text(v) for v in values])
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1)
    )
    return [(n, cells) for n, cells in numbered if any(cells)]


def cell_text(value: Any) -> str:
    """A cell as the text a user would have typed in a CSV file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def read_workbook(path: Path, schema: Schema | None = None) -> RawEconomy:
    import openpyxl

    schema = schema or load_schema()
    name = path.name
    raw = RawEconomy(str(path), {}, {}, {})
    for table in schema.tables:
        raw.files[table.name] = f"{name}[{table.name}]"
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except UNREADABLE as error:
        raw.problems.append(Problem(name, None, None, f"not a readable xlsx workbook: {error}"))
        return raw
    try:
        known = {t.name for t in schema.tables} | {README_SHEET}
        for sheet in book.sheetnames:
            if sheet not in known:
                raw.problems.append(
                    Problem(
                        f"{name}[{sheet}]",
                        None,
                        None,
                        "unknown sheet: name each sheet after its table (see docs/format.md)",
                    )
                )
        for table in schema.tables:
            if table.name not in book.sheetnames:
                if table.required:
                    raw.problems.append(
                        Problem(
                            raw.files[table.name],
                            None,
                            None,
                            f"sheet is missing: add a sheet named {table.name!r}",
                        )
                    )
                continue
            sheet = book[table.name]
            if not hasattr(sheet, "iter_rows"):
                raw.problems.append(
                    Problem(
                        raw.files[table.name],
                        None,
                        None,
                        "this sheet is a chart, not a table: put the table on a worksheet",
                    )
                )
                continue
            rows = sheet_rows(sheet, raw.files[table.name], raw.problems)
            if rows is None:
                continue
            if table.name == SETTINGS_TABLE:
                raw.settings = _settings(rows, raw, table.column_names)
            else:
                _table(rows, raw, table.name)
    except UNREADABLE as error:  # a sheet's XML read lazily, and broken
        raw.problems.append(Problem(name, None, None, f"not a readable xlsx workbook: {error}"))
        return raw
    finally:
        book.close()
    if not raw.problems:
        read = [t.name for t in schema.tables if t.name in raw.tables or t.name == SETTINGS_TABLE]
        raw.problems += formula_problems(path, {sheet: raw.files[sheet] for sheet in read})
    return raw


def _settings(
    rows: list[tuple[int, list[str]]], raw: RawEconomy, keys: tuple[str, ...]
) -> dict[str, Any]:
    file = raw.files[SETTINGS_TABLE]
    settings: dict[str, Any] = {}
    for number, cells in rows:
        key = cells[0]
        value = cells[1] if len(cells) > 1 else ""
        if key in ("key", "setting") and number == rows[0][0]:
            continue  # a header row
        if key not in keys:
            raw.problems.append(
                Problem(file, number, key, f"unknown setting; known settings: {', '.join(keys)}")
            )
        elif value != "":
            settings[key] = value
    return settings


def _table(rows: list[tuple[int, list[str]]], raw: RawEconomy, table: str) -> None:
    file = raw.files[table]
    if not rows:
        raw.problems.append(
            Problem(file, 1, None, "sheet is empty: it needs at least a header row")
        )
        return
    _, header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    width = len(header)
    body: list[list[str]] = []
    numbers: list[int] = []
    for number, cells in rows[1:]:
        if any(cells[width:]):
            raw.problems.append(
                Problem(
                    file,
                    number,
                    None,
                    f"cells beyond the {width} headed columns: give them a header or clear them",
                )
            )
            continue
        body.append((cells + [""] * width)[:width])
        numbers.append(number)
    raw.tables[table] = frame_from_rows(header, body, numbers)


# -- formulas ---------------------------------------------------------------------------------
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL = re.compile(r"([A-Z]+)(\d+)")


@dataclass(frozen=True)
class FormulaCell:
    """A cell that holds a formula; ``value`` is its stored result ("" when none was stored)."""

    reference: str
    row: int
    column: int
    formula: str
    value: str


def formula_cells(path: Path, sheets: set[str]) -> dict[str, list[FormulaCell]]:
    """The formula cells of each of ``sheets`` in the workbook at ``path``, read from its XML
    (openpyxl gives either the stored results or the formulas, never both), and whether the
    workbook asks to be recomputed when opened. Sheets without formulas are left out."""
    found: dict[str, list[FormulaCell]] = {}
    with zipfile.ZipFile(path) as archive:
        targets = _sheet_targets(archive)
        for name in sorted(sheets & set(targets)):
            target = targets[name]
            if target not in archive.namelist():
                continue
            data = archive.read(target)
            if not _FORMULA.search(data):
                continue
            cells = list(_formulas(data))
            if cells:
                found[name] = cells
    return found


def recomputed_on_load(path: Path) -> bool:
    """Whether the workbook says its formulas must be computed when it is opened (openpyxl
    and xlsxwriter write that, with no result or a 0 stored for every formula)."""
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    calc = root.find(f"{_MAIN}calcPr")
    return calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")


def _sheet_targets(archive: zipfile.ZipFile) -> dict[str, str]:
    root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    by_id = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PACKAGE_RELS}Relationship")}
    targets = {}
    for sheet in root.iter(f"{_MAIN}sheet"):
        target = by_id.get(sheet.get(f"{_RELS}id"), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        targets[sheet.get("name", "")] = posixpath.normpath(path)
    return targets


def _formulas(data: bytes) -> Iterator[FormulaCell]:
    for _, element in ElementTree.iterparse(io.BytesIO(data)):
        if element.tag != f"{_MAIN}c":
            continue
        formula = element.find(f"{_MAIN}f")
        if formula is not None:
            reference = element.get("r", "")
            match = _CELL.fullmatch(reference)
            value = element.find(f"{_MAIN}v")
            yield FormulaCell(
                reference,
                int(match.group(2)) if match else 0,
                _column_number(match.group(1)) if match else 0,
                formula.text or "(shared)",
                (value.text or "") if value is not None else "",
            )
        element.clear()


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def formula_problems(path: Path, files: dict[str, str]) -> list[Problem]:
    """A problem for every formula cell whose result econplan cannot trust, in the sheets
    named by the keys of ``files`` (sheet -> the file name problems give): formulas without
    a stored result are read as blank cells, and in a workbook that asks to be recomputed
    when opened the stored results are placeholders."""
    try:
        cells = formula_cells(path, set(files))
        stale = recomputed_on_load(path)
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return []  # openpyxl read it; a part it did not need is not worth refusing for
    problems = []
    for sheet, found in cells.items():
        for cell in found:
            if cell.value != "" and not stale:
                continue
            why = (
                "has no stored result"
                if cell.value == ""
                else f"has the placeholder result {cell.value} of a program that leaves formulas "
                "for the spreadsheet to compute"
            )
            problems.append(
                Problem(
                    files[sheet],
                    cell.row,
                    cell.reference,
                    f"the formula ={cell.formula} {why}, so econplan would read a wrong "
                    "number: open the workbook in a spreadsheet program (LibreOffice, Excel) "
                    "and save it, which stores every result, or write the values instead",
                )
            )
    return problems
