"""An xlsx workbook economy: a sheet per table, named as the table (``products``, ...).

The sheet ``economy`` holds the settings as rows of key, value (a third column may describe
them); ``sources`` is a table sheet like the others. A sheet named ``README`` is ignored.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from econplan.errors import Problem
from econplan.io.raw import RawEconomy, frame_from_rows
from econplan.schema import SETTINGS_TABLE, Schema, load_schema

README_SHEET = "README"


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
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
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
            rows = [
                (number, [cell_text(v) for v in values])
                for number, values in enumerate(book[table.name].iter_rows(values_only=True), 1)
            ]
            rows = [(n, cells) for n, cells in rows if any(cells)]
            if table.name == SETTINGS_TABLE:
                raw.settings = _settings(rows, raw, table.column_names)
            else:
                _table(rows, raw, table.name)
    finally:
        book.close()
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
