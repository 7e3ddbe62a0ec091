"""Writing an economy as a folder (economy.toml and CSV or Parquet files) or as an xlsx
workbook.

Numbers are written in their shortest exact form, so an economy read, written and read
again is equal to itself. Output goes to a temporary place first and is moved into place
only when complete: no half-written economies.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import tomli_w

from econplan.errors import UsageError
from econplan.io.parquet import parquet_file, write_parquet_table
from econplan.schema import SETTINGS_TABLE, SOURCES_TABLE, Schema, Table, load_schema

if TYPE_CHECKING:
    from econplan.model.economy import Economy


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def table_rows(frame: pd.DataFrame, table: Table) -> list[list[Any]]:
    columns = [frame[c].tolist() for c in table.column_names]
    return [[_cell(v) for v in row] for row in zip(*columns, strict=True)]


def _settings_document(economy: Economy) -> dict[str, Any]:
    document = {k: v for k, v in economy.settings.to_toml().items() if v not in ("", None)}
    sources = economy.tables[SOURCES_TABLE]
    document[SOURCES_TABLE] = [
        {k: v for k, v in zip(sources.columns, row, strict=True) if _cell(v) != ""}
        for row in sources.itertuples(index=False)
    ]
    return document


def _replace(staging: Path, target: Path) -> None:
    if target.exists():
        raise UsageError(f"{target} already exists: choose a new path or remove it first")
    os.replace(staging, target)


CSV_CHUNK = 100_000
"""Rows turned into Python lists at a time when writing CSV, which bounds the memory it takes."""

TableFormat = Literal["csv", "parquet"]
TABLE_FORMATS: tuple[TableFormat, ...] = ("csv", "parquet")


def write_economy(
    economy: Economy,
    path: Path | str,
    schema: Schema | None = None,
    table_format: TableFormat = "csv",
) -> Path:
    """Write ``economy`` to a new folder, or to a new workbook when ``path`` ends in .xlsx.

    A folder holds economy.toml and a file per table: CSV, or with ``table_format="parquet"``
    Parquet (typed and compressed: for economies of millions of coefficients).
    """
    schema = schema or load_schema()
    path = Path(path)
    if table_format not in TABLE_FORMATS:
        raise UsageError(f"unknown table format {table_format!r}: use csv or parquet")
    if path.suffix.lower() == ".xlsx" and table_format != "csv":
        raise UsageError("a workbook holds its tables as sheets: give a folder for parquet")
    if path.exists():
        raise UsageError(f"{path} already exists: choose a new path or remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".econplan-", dir=path.parent))
    try:
        if path.suffix.lower() == ".xlsx":
            _write_workbook(economy, staging / path.name, schema)
            _replace(staging / path.name, path)
        else:
            _write_folder(economy, staging / "economy", schema, table_format)
            _replace(staging / "economy", path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _write_folder(economy: Economy, folder: Path, schema: Schema, table_format: str) -> None:
    import csv

    folder.mkdir()
    (folder / schema.settings.file).write_text(
        tomli_w.dumps(_settings_document(economy)), encoding="utf-8"
    )
    for table in schema.csv_tables:
        if table_format == "parquet":
            write_parquet_table(economy, table, folder / parquet_file(table))
            continue
        with (folder / table.file).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.column_names)
            frame = economy.tables[table.name]
            for start in range(0, len(frame), CSV_CHUNK):  # rows as lists: a chunk at a time
                writer.writerows(table_rows(frame.iloc[start : start + CSV_CHUNK], table))


def _append(sheet: Any, row: list[Any]) -> None:
    """A row of values, text kept as text: openpyxl would write a cell beginning with "="
    as a formula, and a name from a user's file must never become one."""
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
"""What XML 1.0, and so a workbook, cannot hold: control characters but tab and line breaks,
U+FFFE and U+FFFF, and lone surrogates."""


def _check_workbook_text(name: str, header: list[str], rows: list[list[Any]]) -> None:
    """Control characters (U+0000-U+001F but tab and line breaks) cannot be stored in a
    workbook's XML: name the first, rather than fail half-way."""
    for number, row in enumerate(rows, start=2):
        for column, value in zip(header, row, strict=True):
            found = NOT_IN_XML.search(value) if isinstance(value, str) else None
            if found:
                raise UsageError(
                    f"{name}, row {number} [{column}]: holds the character "
                    f"U+{ord(found.group()):04X}, which a workbook cannot hold; remove it, or "
                    "write a folder instead of a workbook"
                )


def _write_workbook(economy: Economy, file: Path, schema: Schema) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    settings = [
        [key, f"{value[0]}-{value[1]}" if key == "horizon" else _cell(value)]
        for key, value in economy.settings.to_toml().items()
    ]
    _check_workbook_text(SETTINGS_TABLE, ["key", "value"], settings)
    sheet = book.create_sheet(SETTINGS_TABLE)
    for row in [["key", "value"], *settings]:
        _append(sheet, row)
    for table in (schema[SOURCES_TABLE], *schema.csv_tables):
        rows = table_rows(economy.tables[table.name], table)
        _check_workbook_text(table.name, list(table.column_names), rows)
        sheet = book.create_sheet(table.name)
        _append(sheet, list(table.column_names))
        for row in rows:
            _append(sheet, row)
    book.save(file)
