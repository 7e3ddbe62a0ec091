"""Blank economies to fill in: a folder of CSV headers or an xlsx workbook with descriptions."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

from econplan.errors import UsageError
from econplan.formatdoc import render_format
from econplan.schema import SETTINGS_TABLE, SOURCES_TABLE, Schema, load_schema


def write_template(path: Path | str, schema: Schema | None = None) -> Path:
    """A blank economy at ``path``: a folder, or a workbook when it ends in .xlsx."""
    schema = schema or load_schema()
    path = Path(path)
    if path.exists():
        raise UsageError(f"{path} already exists: choose a new path or remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".econplan-", dir=path.parent))
    try:
        target = staging / path.name
        if path.suffix.lower() == ".xlsx":
            _workbook(target, schema)
        else:
            _folder(target, schema)
        os.replace(target, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _folder(folder: Path, schema: Schema) -> None:
    folder.mkdir()
    lines = ["# The economy's settings; see FORMAT.md for every key and table.", ""]
    for column in schema.settings.columns:
        lines.append(f"# {column.description}" + (" (required)" if column.required else ""))
        lines.append(f"# {column.name} = " + ('"..."' if column.type == "string" else "..."))
    lines += ["", "# Sources cited by the tables' source columns:", "# [[sources]]"]
    lines += [f'# {c.name} = "..."' for c in schema[SOURCES_TABLE].columns]
    (folder / schema.settings.file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for table in schema.csv_tables:
        with (folder / table.file).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerow(table.column_names)
    (folder / "FORMAT.md").write_text(render_format(schema), encoding="utf-8")


def _workbook(file: Path, schema: Schema) -> None:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    readme = book.active
    readme.title = "README"
    readme.append(["table", "column", "type", "unit", "required", "default", "description"])
    for table in schema.tables:
        readme.append([table.name, "", "", "", "", "", table.description])
        for c in table.columns:
            readme.append(
                [
                    table.name,
                    c.name,
                    c.type,
                    c.unit,
                    "yes" if c.required else "",
                    c.default or "",
                    c.description,
                ]
            )
    settings = book.create_sheet(SETTINGS_TABLE)
    settings.append(["key", "value", "description"])
    for column in schema.settings.columns:
        required = " (required)" if column.required else ""
        settings.append([column.name, None, column.description + required])
    for table in (schema[SOURCES_TABLE], *schema.csv_tables):
        sheet = book.create_sheet(table.name)
        sheet.append(list(table.column_names))
        for cell, column in zip(sheet[1], table.columns, strict=True):
            cell.font = Font(bold=True)
            note = column.description + (" Required." if column.required else "")
            cell.comment = Comment(note, "econplan")
    for sheet in book.worksheets:
        sheet.freeze_panes = "A2"
    book.save(file)
