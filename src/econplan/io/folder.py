"""A folder economy: ``economy.toml`` plus one file per table, CSV (``NAME.csv``) or, for
large tables, Parquet (``NAME.parquet``)."""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from econplan.errors import SHOWN, MoreProblems, Problem
from econplan.io.parquet import parquet_file, read_parquet_table
from econplan.io.raw import RawEconomy, frame_from_rows
from econplan.schema import SETTINGS_TABLE, SOURCES_TABLE, Schema, load_schema


def read_folder(path: Path, schema: Schema | None = None) -> RawEconomy:
    schema = schema or load_schema()
    raw = RawEconomy(str(path), {}, {}, {})
    _read_settings(path / schema.settings.file, raw, schema)
    for table in schema.csv_tables:
        raw.files[table.name] = table.file
        file, typed = path / table.file, path / parquet_file(table)
        unusable = [(f, why) for f in (file, typed) if (why := unusable_file(f)) is not None]
        for found, why in unusable:
            raw.problems.append(Problem(found.name, None, None, why))
        if unusable:
            raw.files[table.name] = unusable[0][0].name
            continue
        if file.exists() and typed.exists():
            raw.problems.append(
                Problem(
                    table.file,
                    None,
                    None,
                    f"both {table.file} and {typed.name} hold the {table.name} table: "
                    "keep one of them",
                )
            )
            continue
        if typed.exists():
            raw.files[table.name] = typed.name
            frame = read_parquet_table(typed, typed.name, raw.problems)
            if frame is not None:
                raw.tables[table.name] = frame
                raw.typed.add(table.name)
            continue
        if not file.exists():
            if table.required:
                raw.problems.append(
                    Problem(table.file, None, None, "file is missing: " + _missing_hint(table.name))
                )
            continue
        parsed = read_csv_cells(file, table.file, raw.problems)
        if parsed is not None:
            raw.tables[table.name] = parsed
    return raw


def unusable_file(file: Path) -> str | None:
    """Why something at ``file`` cannot be a table's file, or None when it is a file or
    nothing is there: a symbolic link that leads nowhere or loops, or a path that cannot be
    looked at. Such a path is a problem, never an absent (optional) table."""
    try:
        file.stat()
    except FileNotFoundError:
        if not file.is_symlink():
            return None
        return (
            f"is a symbolic link to {os.readlink(file)}, which does not exist: "
            "point it at the file or remove it"
        )
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symbolic link that loops back on itself: point it at the file or remove it"
        return _unreadable(error, "a file")
    return None


def _unreadable(error: OSError, kind: str) -> str:
    return f"cannot be read ({error.strerror or error}): make it {kind} that can be read"


def not_text(key: str, value: object) -> str:
    """The problem with a TOML value that should be text but is a number, list, table, ..."""
    return f'{value!r} is not text: write it in quotes, like {key} = "..."'


def _missing_hint(table: str) -> str:
    return (
        f"create it (`econplan template DIR` writes a blank {table}.csv with its header), "
        f"or give the table as {table}.parquet"
    )


def _read_settings(file: Path, raw: RawEconomy, schema: Schema) -> None:
    name = file.name
    raw.files[SETTINGS_TABLE] = name
    raw.files[SOURCES_TABLE] = f"{name} [[sources]]"
    why = unusable_file(file)
    if why is not None:
        raw.problems.append(Problem(name, None, None, why))
        return
    if not file.exists():
        raw.problems.append(
            Problem(name, None, None, "file is missing: every economy folder needs economy.toml")
        )
        return
    try:
        document: dict[str, Any] = tomllib.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raw.problems.append(
            Problem(name, None, None, f"not UTF-8 text ({error.reason}): save it as UTF-8")
        )
        return
    except OSError as error:
        raw.problems.append(Problem(name, None, None, _unreadable(error, "a TOML text file")))
        return
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raw.problems.append(
            Problem(
                name,
                int(line.group(1)) if line else None,
                None,
                f"malformed TOML: {error}; see docs/format.md for the layout",
            )
        )
        return
    except RecursionError:  # tomllib recurses once per level of nesting
        raw.problems.append(
            Problem(
                name,
                None,
                None,
                "malformed TOML: arrays or tables nested hundreds of levels deep; a setting is "
                "a value or a short list (see docs/format.md)",
            )
        )
        return
    sources = document.pop(SOURCES_TABLE, [])
    raw.settings = document
    raw.tables[SOURCES_TABLE] = _sources_frame(sources, raw, schema)


def _sources_frame(sources: Any, raw: RawEconomy, schema: Schema) -> Any:
    columns = list(schema[SOURCES_TABLE].column_names)
    file = raw.files[SOURCES_TABLE]
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raw.problems.append(
            Problem(file, None, SOURCES_TABLE, "must be a list of [[sources]] tables")
        )
        sources = []
    rows: list[list[str]] = []
    for number, entry in enumerate(sources, start=1):
        for key in sorted(set(entry) - set(columns)):
            raw.problems.append(
                Problem(file, number, key, f"unknown key; known keys: {', '.join(columns)}")
            )
        for key in sorted(k for k in set(entry) & set(columns) if not isinstance(entry[k], str)):
            raw.problems.append(Problem(file, number, key, not_text(key, entry[key])))
        rows.append(["" if entry.get(c) is None else str(entry[c]) for c in columns])
    return frame_from_rows(columns, rows, list(range(1, len(rows) + 1)))


def read_csv_cells(file: Path, name: str, problems: list[Problem]) -> Any:
    """Rows of text cells indexed by line number; problems for malformed lines.

    Returns None when the file cannot be read at all. Blank lines are skipped; a row with
    the wrong number of fields is reported and left out.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        line = file.read_bytes()[: error.start].count(b"\n") + 1
        problems.append(
            Problem(name, line, None, f"not UTF-8 text ({error.reason}): save it as UTF-8 CSV")
        )
        return None
    except OSError as error:
        problems.append(Problem(name, None, None, _unreadable(error, "a UTF-8 CSV file")))
        return None
    # lines end only at \n, \r\n or \r, as in the csv module: str.splitlines would also
    # break at U+2028, form feeds and other characters that may sit inside a cell
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed = 0
    try:
        for fields in reader:
            if not fields or not "".join(fields).strip():
                continue
            if header is None:
                header = [f.strip() for f in fields]
                continue
            if len(fields) != len(header):
                malformed += 1
                if malformed <= SHOWN:
                    problems.append(
                        Problem(
                            name,
                            reader.line_num,
                            None,
                            f"malformed CSV: {len(fields)} fields where the header has "
                            f"{len(header)}; quote cells that contain commas",
                        )
                    )
                continue
            rows.append(fields)
            numbers.append(reader.line_num)
    except csv.Error as error:
        problems.append(
            Problem(name, reader.line_num, None, f"malformed CSV: {error}; check the quoting")
        )
        return None
    if malformed > SHOWN:
        problems.append(MoreProblems.of(name, None, malformed - SHOWN))
    if header is None:
        problems.append(Problem(name, 1, None, "file is empty: it needs at least a header row"))
        return None
    return frame_from_rows(header, rows, numbers)
