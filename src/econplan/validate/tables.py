"""Checks that each table can make on its own, from the schema: the file's columns, cell
types, required cells, allowed values, minimums, duplicate keys, and references to other
tables' ids. Everything here is driven by ``schema/columns.csv``.

Every check is a vectorised mask over whole columns; only the cells it flags are visited one
by one, to word their problems. Text columns may be object or categorical (from Parquet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from econplan.columns import categorical, is_categorical, is_sorted, isin, sort_codes, uniques
from econplan.errors import SHOWN, MoreProblems, Problem, first_flagged
from econplan.io.folder import not_text
from econplan.io.raw import RawEconomy
from econplan.schema import SETTINGS_TABLE, Column, Schema, Table, figure
from econplan.validate.cells import coerce, coerce_typed, out_of_range, parse_years, whole


@dataclass
class TypedTables:
    """Typed tables, still indexed by row number, with the file each came from."""

    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    derived: dict[str, Any] = field(default_factory=dict, repr=False)
    """What several rules derive from the same tables (products by id, ...), made once."""

    def file(self, table: str) -> str:
        return self.files[table]

    def ids(self, table: str) -> pd.Index:
        """The distinct ids of an id table, as an index whose hash table is built once and
        serves every lookup of the validation."""
        key = f"{table} ids"
        if key not in self.derived:
            self.derived[key] = uniques(self.tables[table]["id"])
        ids: pd.Index = self.derived[key]
        return ids


def type_tables(raw: RawEconomy, schema: Schema) -> tuple[TypedTables, list[Problem]]:
    problems: list[Problem] = []
    settings = _type_settings(raw, schema, problems)
    tables: dict[str, pd.DataFrame] = {}
    for table in (*schema.csv_tables, schema["sources"]):
        text = raw.tables.get(table.name)
        if text is None:
            text = pd.DataFrame({c: pd.Series([], dtype=object) for c in table.column_names})
        typed_columns = table.name in raw.typed
        tables[table.name] = type_table(text, table, raw.files[table.name], problems, typed_columns)
    typed = TypedTables(settings, tables, dict(raw.files))
    # a table whose file could not be read is already reported: references into it would
    # only repeat that problem once per row
    failed = {p.file for p in raw.problems}
    unread = {
        t.name
        for t in (*schema.csv_tables, schema["sources"])
        if t.name not in raw.tables
        and (raw.files[t.name] in failed or raw.files.get(SETTINGS_TABLE) in failed)
    }
    _check_keys_and_references(typed, schema, problems, unread)
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
                continue
            elif column.default is not None:
                value = column.default
            else:
                continue
        if column.type == "years":
            years = parse_years(value)
            why = _horizon_problem(years, settings.get("base_year"), column)
            if why is not None:
                problems.append(Problem(file, None, column.name, why))
                years = None  # rules that go through the years skip a horizon they cannot use
            settings[column.name] = years
            continue
        if column.type in ("string", "enum") and not isinstance(value, str):
            problems.append(Problem(file, None, column.name, not_text(column.name, value)))
            continue
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else repr(value)
        typed, bad, why = coerce(pd.Series([str(value)]), column)
        if bool(bad.iloc[0]):
            problems.append(Problem(file, None, column.name, f"{value!r} {why}"))
            continue
        outside = [why for mask, why in out_of_range(typed, column) if mask[0]]
        if outside:
            problems.append(Problem(file, None, column.name, f"{value} {outside[0]}"))
            continue
        item = typed.iloc[0]
        settings[column.name] = (
            None if pd.isna(item) else (int(item) if column.type in ("integer", "year") else item)
        )
    return settings


def _horizon_problem(years: tuple[int, int] | None, base: int | None, column: Column) -> str | None:
    """What is wrong with the plan's [first, last] years, before any rule goes through them:
    each must be a year, and the years from the base year to the last one may not exceed the
    column's maximum (every region needs a population figure for each of them)."""
    if years is None:
        return "must be [first, last], like [2021, 2025]"
    low, high = column.kind.minimum or 1, column.kind.maximum or 9999
    for year in years:
        if not low <= year <= high:
            between = f"between {figure(low)} and {figure(high)}"
            return f"{year} is not a year {between}: {column.kind.hint}"
    start = years[0] if base is None else min(base, years[0])
    if column.maximum is not None and years[1] - start + 1 > column.maximum:
        since = "the first year" if base is None else f"the base year {base}"
        return (
            f"[{years[0]}, {years[1]}] reaches {years[1] - start + 1} years from {since} to the "
            f"last, more than the {figure(column.maximum)} a plan may cover: plan fewer years"
        )
    return None


def type_table(
    text: pd.DataFrame, table: Table, file: str, problems: list[Problem], typed_columns: bool
) -> pd.DataFrame:
    """The table with each column in its schema type; ``typed_columns``: the columns came
    typed (Parquet) rather than as text."""
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
            cells = _blank(text.index, typed_columns)
        else:
            cells = text[column.name]
            if isinstance(cells, pd.DataFrame):  # a duplicated header
                cells = cells.iloc[:, 0]
        values, bad, why = (coerce_typed if typed_columns else coerce)(cells, column)
        if column.type in ("string", "enum"):
            values = categorical(values)  # every later lookup then goes through the codes
        for row in listed(problems, file, column.name, bad):
            problems.append(Problem(file, int(row), column.name, f"{_shown(cells[row])} {why}"))
        missing = values.isna() & ~bad
        if column.required and column.name in header:  # a missing column is reported once
            empty = f"required cell is empty: {column.description}"
            for row in listed(problems, file, column.name, missing):
                problems.append(Problem(file, int(row), column.name, empty))
        elif column.default is not None and missing.any():
            default, _, _ = coerce(pd.Series([column.default], dtype=object), column)
            values = _fill(values, missing, default.iloc[0])
        for outside, beyond in out_of_range(values, column):
            flags = pd.Series(outside, index=values.index)
            for row in listed(problems, file, column.name, flags):
                problems.append(
                    Problem(file, int(row), column.name, f"{_shown(cells[row])} {beyond}")
                )
            values = values.where(~outside)
        typed[column.name] = whole(values, column)
    return typed


def listed(problems: list[Problem], file: str, column: str, flags: pd.Series) -> pd.Index:
    """The first ``SHOWN`` rows flagged, to word a problem for each; a line counting the
    rest goes to ``problems``. However many rows are flagged, only those are visited."""
    positions, more = first_flagged(flags)
    if more:
        problems.append(MoreProblems.of(file, column, more))
    listed: pd.Index = flags.index[positions]
    return listed


def _blank(index: pd.Index, typed_columns: bool) -> pd.Series:
    """A column left out of the file: every cell blank."""
    if typed_columns:
        codes = np.full(len(index), -1, dtype=np.int8)
        nothing = pd.Index([], dtype=object)
        return pd.Series(pd.Categorical.from_codes(codes, categories=nothing), index=index)
    return pd.Series("", index=index, dtype=object)


def _shown(value: Any) -> str:
    """A bad cell as the user would recognise it (numpy scalars as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _fill(values: pd.Series, missing: pd.Series, default: Any) -> pd.Series:
    if is_categorical(values):
        if default not in values.cat.categories:
            values = values.cat.add_categories([default])
        return values.fillna(default)
    return values.where(~missing, default)


def _check_keys_and_references(
    typed: TypedTables, schema: Schema, problems: list[Problem], unread: set[str]
) -> None:
    for table in (*schema.csv_tables, schema["sources"]):
        frame = typed.tables[table.name]
        file = typed.file(table.name)
        if table.key and len(frame):
            _check_duplicates(frame, table, file, problems)
        for column in table.columns:
            if column.references is None:
                continue
            target = schema[column.references]
            if target.name in unread:
                continue
            values = frame[column.name]
            unknown = values.notna() & ~isin(values, typed.ids(target.name))
            for row in listed(problems, file, column.name, unknown):
                problems.append(
                    Problem(
                        file,
                        int(row),
                        column.name,
                        f"unknown {_singular(target.name)} {values[row]!r}: "
                        f"it must be an id in {typed.file(target.name)}",
                    )
                )


def _check_duplicates(
    frame: pd.DataFrame, table: Table, file: str, problems: list[Problem]
) -> None:
    """Rows whose key repeats an earlier row's (blank equals blank).

    Rows are put in key order by a stable sort of integer codes (none is needed when the
    file is in key order already, as files econplan writes are), so that equal keys sit
    together and each repeat follows its first occurrence.
    """
    codes = [sort_codes(frame[k]) for k in table.key]
    order = np.arange(len(frame)) if is_sorted(codes) else np.lexsort(codes[::-1])
    same = np.ones(len(frame) - 1, dtype=bool)
    for key in codes:
        ordered = key[order]
        same &= ordered[1:] == ordered[:-1]
    if not same.any():
        return
    repeat = np.concatenate([[False], same])  # in key order: equal to the row before
    group = np.cumsum(~repeat) - 1
    rows = frame.index.to_numpy()[order]
    first = np.minimum.reduceat(rows, np.flatnonzero(~repeat))
    # the repeats in file order, worded for the first SHOWN only
    repeats, earliest_of = rows[repeat], first[group[repeat]]
    in_file_order = np.argsort(repeats, kind="stable")
    listed, more = in_file_order[:SHOWN], max(len(repeats) - SHOWN, 0)
    if more:
        problems.append(MoreProblems.of(file, table.key[-1], more))
    repeats, earliest_of = repeats[listed], earliest_of[listed]
    keyed = frame.loc[repeats, list(table.key)].astype(object)
    keyed = keyed.where(keyed.notna(), "")
    for row, earliest in zip(repeats, earliest_of, strict=True):
        shown = ", ".join(
            f"{k}={v!r}" for k, v in zip(table.key, keyed.loc[row], strict=True) if v != ""
        )
        problems.append(
            Problem(
                file, int(row), table.key[-1], f"duplicate of row {earliest} ({shown}): keep one"
            )
        )


def _singular(table: str) -> str:
    irregular = {"processes": "process", "facilities": "facility", "sources": "source"}
    return irregular.get(table, table.rstrip("s"))
