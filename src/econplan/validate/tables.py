"""Checks that each table can make on its own, from the schema: the file's columns, cell
types, required cells, allowed values, minimums, duplicate keys, and references to other
tables' ids. Everything here is driven by ``schema/columns.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from econplan.errors import Problem
from econplan.io.raw import RawEconomy
from econplan.schema import SETTINGS_TABLE, Schema, Table
from econplan.validate.cells import coerce, parse_years


@dataclass
class TypedTables:
    """Typed tables, still indexed by row number, with the file each came from."""

    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: dict[str, str]

    def file(self, table: str) -> str:
        return self.files[table]


def type_tables(raw: RawEconomy, schema: Schema) -> tuple[TypedTables, list[Problem]]:
    problems: list[Problem] = []
    settings = _type_settings(raw, schema, problems)
    tables: dict[str, pd.DataFrame] = {}
    for table in (*schema.csv_tables, schema["sources"]):
        text = raw.tables.get(table.name)
        if text is None:
            text = pd.DataFrame({c: pd.Series([], dtype=object) for c in table.column_names})
        tables[table.name] = _type_table(text, table, raw.files[table.name], problems)
    typed = TypedTables(settings, tables, dict(raw.files))
    _check_keys_and_references(typed, schema, problems)
    return typed, problems


def _type_settings(raw: RawEconomy, schema: Schema, problems: list[Problem]) -> dict[str, Any]:
    table = schema.settings
    file = raw.files.get(SETTINGS_TABLE, table.file)
    if not raw.settings and any(p.file == file for p in raw.problems):
        return {}  # the file is missing or malformed: already reported
    settings: dict[str, Any] = {}
    for key in sorted(set(raw.settings) - set(table.column_names)):
        problems.append(
            Problem(file, None, key, f"unknown key; known keys: {', '.join(table.column_names)}")
        )
    for column in table.columns:
        value = raw.settings.get(column.name)
        if value is None or value == "":
            if column.required:
                problems.append(Problem(file, None, column.name, f"missing: {column.description}"))
            elif column.default is not None:
                value = column.default
            else:
                continue
        if column.type == "years":
            years = parse_years(value)
            if years is None:
                problems.append(
                    Problem(file, None, column.name, "must be [first, last], like [2021, 2025]")
                )
            settings[column.name] = years
            continue
        if isinstance(value, bool | int | float) and column.type != "string":
            value = str(value).lower() if isinstance(value, bool) else repr(value)
        typed, bad, why = coerce(pd.Series([str(value)]), column)
        if bool(bad.iloc[0]):
            problems.append(Problem(file, None, column.name, f"{value!r} {why}"))
            continue
        item = typed.iloc[0]
        settings[column.name] = (
            None if pd.isna(item) else (int(item) if column.type in ("integer", "year") else item)
        )
    return settings


def _type_table(
    text: pd.DataFrame, table: Table, file: str, problems: list[Problem]
) -> pd.DataFrame:
    header = list(text.columns)
    for name in sorted({h for h in header if header.count(h) > 1}):
        problems.append(Problem(file, 1, name, "column appears twice in the header: keep one"))
    known = set(table.column_names)
    for name in header:
        if name not in known:
            hint = ", ".join(table.column_names)
            problems.append(
                Problem(
                    file,
                    1,
                    name or "(blank)",
                    f"unknown column; the columns of {table.file} are: {hint}",
                )
            )
    typed = pd.DataFrame(index=text.index)
    for column in table.columns:
        if column.name not in header:
            if column.required:
                problems.append(
                    Problem(
                        file, 1, column.name, f"required column is missing: {column.description}"
                    )
                )
            cells = pd.Series("", index=text.index, dtype=object)
        else:
            cells = text[column.name]
            if isinstance(cells, pd.DataFrame):  # a duplicated header
                cells = cells.iloc[:, 0]
        values, bad, why = coerce(cells, column)
        for row in bad[bad].index:
            problems.append(Problem(file, int(row), column.name, f"{cells[row]!r} {why}"))
        missing = values.isna() & ~bad
        if column.required:
            for row in missing[missing].index:
                problems.append(
                    Problem(
                        file, int(row), column.name, f"required cell is empty: {column.description}"
                    )
                )
        elif column.default is not None:
            default, _, _ = coerce(pd.Series([column.default], dtype=object), column)
            values = values.where(~missing, default.iloc[0])
        if column.minimum is not None:
            low = values.notna() & (values.astype(float) < column.minimum)
            for row in low[low].index:
                problems.append(
                    Problem(
                        file,
                        int(row),
                        column.name,
                        f"{values[row]} is below the minimum {column.minimum:g}: "
                        f"{column.name} cannot be negative here",
                    )
                )
        typed[column.name] = values
    return typed


def _check_keys_and_references(typed: TypedTables, schema: Schema, problems: list[Problem]) -> None:
    for table in (*schema.csv_tables, schema["sources"]):
        frame = typed.tables[table.name]
        file = typed.file(table.name)
        if table.key and len(frame):
            keyed = frame[list(table.key)].astype(object).where(frame[list(table.key)].notna(), "")
            duplicated = keyed.duplicated(keep="first")
            first = (
                keyed.reset_index()
                .groupby(list(table.key), dropna=False, sort=False)["row"]
                .transform("min")
                .set_axis(keyed.index)
            )
            for row in duplicated[duplicated].index:
                shown = ", ".join(
                    f"{k}={v!r}" for k, v in zip(table.key, keyed.loc[row], strict=True) if v != ""
                )
                problems.append(
                    Problem(
                        file,
                        int(row),
                        table.key[-1],
                        f"duplicate of row {first[row]} ({shown}): keep one",
                    )
                )
        for column in table.columns:
            if column.references is None:
                continue
            target = schema[column.references]
            ids = set(typed.tables[target.name]["id"].dropna())
            values = frame[column.name]
            unknown = values.notna() & ~values.isin(ids)
            for row in unknown[unknown].index:
                problems.append(
                    Problem(
                        file,
                        int(row),
                        column.name,
                        f"unknown {_singular(target.name)} {values[row]!r}: "
                        f"it must be an id in {typed.file(target.name)}",
                    )
                )


def _singular(table: str) -> str:
    irregular = {"processes": "process", "facilities": "facility", "sources": "source"}
    return irregular.get(table, table.rstrip("s"))
