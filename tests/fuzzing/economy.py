"""Mutations of an economy folder: cells, rows, columns, whole files, economy.toml, ids, sizes.

Each mutation takes the case's random generator and the folder, changes the folder, and says
what it did in one line (``file:row [column] = value``). A mutation that finds nothing to
change (a file an earlier mutation made unreadable) says "skipped".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

import tomli_w

from fuzzing.tables import Table, csv_text, read_table, tables_in, write_table
from fuzzing.values import hostile, is_number, perturb

Mutation = Callable[[Random, Path], str]
SKIPPED = "skipped"
ID_TABLES = (
    "products.csv",
    "processes.csv",
    "regions.csv",
    "sectors.csv",
    "facilities.csv",
    "investments.csv",
    "targets.csv",
    "links.csv",
)
HOSTILE_IDS = (
    "x" * 300,
    "a b",
    "ü",
    "😀",
    "nan",
    "None",
    "NA",
    "1",
    "2021",
    "true",
    "-",
    ".",
    "..",
    "a/b",
    "a,b",
    'a"b',
    "sep\u2028id",
    "ctl\x01id",
    "\u202eid",
    "national",
    "labour",
    "total",
)


def _pick_table(rng: Random, folder: Path, need_rows: bool = True) -> tuple[str, Table] | None:
    names = tables_in(folder)
    if need_rows:
        names = [n for n in names if (t := read_table(folder / n)) is not None and t.rows]
    if not names:
        return None
    name = rng.choice(names)
    table = read_table(folder / name)
    assert table is not None
    return name, table


def _cell(rng: Random, table: Table) -> tuple[int, int]:
    row = rng.randrange(len(table.rows))
    width = len(table.rows[row])
    return row, rng.randrange(width) if width else 0


def _set(table: Table, row: int, column: int, value: str) -> None:
    cells = table.rows[row]
    cells.extend([""] * (column + 1 - len(cells)))
    cells[column] = value


def _where(name: str, table: Table, row: int, column: int) -> str:
    label = table.header[column] if column < len(table.header) else f"#{column}"
    return f"{name}:{row + 2} [{label}]"


# --- cells -----------------------------------------------------------------------------------


def cell(rng: Random, folder: Path) -> str:
    """A cell set to a hostile value (empty, huge, tiny, NaN, text, unicode, formulas)."""
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    row, column = _cell(rng, table)
    value = hostile(rng)
    _set(table, row, column, value)
    write_table(folder / name, table)
    return f"{_where(name, table, row, column)} = {value[:40]!r}"


def cell_number(rng: Random, folder: Path) -> str:
    """A number changed into another number (scaled, negated, zero, tiny, huge)."""
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    numeric = [
        (r, c) for r, cells in enumerate(table.rows) for c, v in enumerate(cells) if is_number(v)
    ]
    if not numeric:
        return SKIPPED
    row, column = rng.choice(numeric)
    value = perturb(rng, table.rows[row][column])
    table.rows[row][column] = value
    write_table(folder / name, table)
    return f"{_where(name, table, row, column)} = {value!r}"


def cell_copy(rng: Random, folder: Path) -> str:
    """A cell set to another cell's value: of its column, of its row, or of another table."""
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    row, column = _cell(rng, table)
    source = rng.choice(("column", "row", "table"))
    if source == "column":
        other = table.rows[rng.randrange(len(table.rows))]
        value = other[column] if column < len(other) else ""
    elif source == "row":
        value = rng.choice(table.rows[row]) if table.rows[row] else ""
    else:
        other_picked = _pick_table(rng, folder)
        assert other_picked is not None
        other_table = other_picked[1]
        r, c = _cell(rng, other_table)
        value = other_table.rows[r][c] if other_table.rows[r] else ""
    _set(table, row, column, value)
    write_table(folder / name, table)
    return f"{_where(name, table, row, column)} = {value[:40]!r} (from {source})"


# --- rows ------------------------------------------------------------------------------------


def row_drop(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    row = rng.randrange(len(table.rows))
    del table.rows[row]
    write_table(folder / name, table)
    return f"{name}:{row + 2} dropped"


def row_duplicate(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    row = rng.randrange(len(table.rows))
    table.rows.insert(rng.randrange(len(table.rows) + 1), list(table.rows[row]))
    write_table(folder / name, table)
    return f"{name}:{row + 2} duplicated"


def row_shuffle(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    rng.shuffle(table.rows)
    write_table(folder / name, table)
    return f"{name} rows shuffled"


def row_ragged(rng: Random, folder: Path) -> str:
    """A row with cells missing or too many, or a blank row of separators."""
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    row = rng.randrange(len(table.rows))
    how = rng.choice(("short", "long", "separators", "spaces"))
    if how == "short":
        table.rows[row] = table.rows[row][: rng.randrange(max(1, len(table.rows[row])))]
    elif how == "long":
        table.rows[row] = table.rows[row] + ["extra"] * rng.randint(1, 3)
    elif how == "separators":
        table.rows.insert(row, [""] * len(table.header))
    else:
        table.rows.insert(row, ["  "] * len(table.header))
    write_table(folder / name, table)
    return f"{name}:{row + 2} {how}"


def rows_many(rng: Random, folder: Path) -> str:
    """Copies of a table's rows, with fresh ids where the table has them (size)."""
    if (picked := _pick_table(rng, folder)) is None:
        return SKIPPED
    name, table = picked
    target = rng.choice((1_000, 5_000, 20_000))
    copies = max(1, target // len(table.rows))
    ids = table.column("id")
    original = list(table.rows)
    for copy in range(1, copies + 1):
        for cells in original:
            cells = list(cells)
            if ids is not None and ids < len(cells):
                cells[ids] = f"{cells[ids]}_{copy}"
            table.rows.append(cells)
    write_table(folder / name, table)
    return f"{name} grown to {len(table.rows)} rows"


# --- columns ---------------------------------------------------------------------------------


def _rewrite_columns(table: Table, order: list[int], header: list[str]) -> None:
    table.header = header
    table.rows = [[cells[i] if i < len(cells) else "" for i in order] for cells in table.rows]


def column_drop(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    drop = rng.randrange(len(table.header))
    order = [i for i in range(len(table.header)) if i != drop]
    label = table.header[drop]
    _rewrite_columns(table, order, [table.header[i] for i in order])
    write_table(folder / name, table)
    return f"{name} [{label}] dropped"


def column_rename(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    column = rng.randrange(len(table.header))
    old = table.header[column]
    new = rng.choice(
        (old.upper(), f" {old} ", old + "_", "", hostile(rng), rng.choice(table.header))
    )
    table.header[column] = new
    write_table(folder / name, table)
    return f"{name} [{old}] renamed {new[:40]!r}"


def column_duplicate(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    column = rng.randrange(len(table.header))
    order = [*range(len(table.header)), column]
    _rewrite_columns(table, order, [table.header[i] for i in order])
    write_table(folder / name, table)
    return f"{name} [{table.header[column]}] duplicated"


def column_reorder(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    order = list(range(len(table.header)))
    rng.shuffle(order)
    _rewrite_columns(table, order, [table.header[i] for i in order])
    write_table(folder / name, table)
    return f"{name} columns reordered"


def column_extra(rng: Random, folder: Path) -> str:
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    label = rng.choice(("colour", "note", "", "unnamed: 0", hostile(rng)))
    table.header.append(label)
    value = rng.choice(("", "1", hostile(rng)))
    table.rows = [[*cells, value] for cells in table.rows]
    write_table(folder / name, table)
    return f"{name} [{label[:40]!r}] added = {value[:40]!r}"


# --- whole files -----------------------------------------------------------------------------


def _any_file(rng: Random, folder: Path) -> Path:
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".toml"))
    return folder / rng.choice(names or ["products.csv"])


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()


def file_missing(rng: Random, folder: Path) -> str:
    path = _any_file(rng, folder)
    _remove(path)
    return f"{path.name} missing"


def file_bytes(rng: Random, folder: Path) -> str:
    """A file emptied, cut short, made binary garbage, or only its header kept."""
    path = _any_file(rng, folder)
    data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    how = rng.choice(("empty", "truncated", "garbage", "header only", "nul bytes", "no newline"))
    if how == "empty":
        data = b""
    elif how == "truncated":
        data = data[: rng.randrange(len(data) + 1)]
    elif how == "garbage":
        data = rng.randbytes(rng.choice((1, 100, 10_000)))
    elif how == "header only":
        data = data.split(b"\n", 1)[0] + b"\n"
    elif how == "nul bytes":
        at = rng.randrange(len(data) + 1)
        data = data[:at] + b"\x00" * rng.randint(1, 8) + data[at:]
    else:
        data = data.rstrip(b"\n")
    _remove(path)
    path.write_bytes(data)
    return f"{path.name} {how}"


def file_encoding(rng: Random, folder: Path) -> str:
    """A file saved as latin-1 (with an accented name), UTF-16, with a BOM, or CRLF."""
    path = _any_file(rng, folder)
    if not path.is_file() or path.is_symlink():
        return SKIPPED
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return SKIPPED
    how = rng.choice(("latin-1", "utf-16", "utf-8-sig", "crlf", "cr"))
    if how == "latin-1":
        lines = text.split("\n")
        at = rng.randrange(len(lines))
        lines[at] = lines[at].replace("a", "ä", 1) + "ö"
        path.write_bytes("\n".join(lines).encode("latin-1", errors="replace"))
    elif how in ("utf-16", "utf-8-sig"):
        path.write_bytes(text.encode(how))
    else:
        path.write_bytes(text.replace("\n", "\r\n" if how == "crlf" else "\r").encode("utf-8"))
    return f"{path.name} as {how}"


def file_dialect(rng: Random, folder: Path) -> str:
    """A CSV file with semicolons, tabs or every cell quoted."""
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    how = rng.choice((";", "\t", "|", "quote all"))
    text = csv_text(table, quoting=1) if how == "quote all" else csv_text(table, delimiter=how)
    (folder / name).write_text(text, encoding="utf-8")
    return f"{name} separated by {how!r}"


def file_kind(rng: Random, folder: Path) -> str:
    """A file replaced by a folder, a dangling or looping symlink, /dev/null, or another file."""
    path = _any_file(rng, folder)
    how = rng.choice(("folder", "dangling", "loop", "dev null", "other file", "folder link"))
    _remove(path)
    if how == "folder":
        path.mkdir()
        (path / "inside.csv").write_text("a\n1\n", encoding="utf-8")
    elif how == "dangling":
        path.symlink_to(folder / "no_such_file")
    elif how == "loop":
        path.symlink_to(path.name)
    elif how == "dev null":
        path.symlink_to(os.devnull)
    elif how == "other file":
        others = sorted(p for p in folder.glob("*.csv") if p.is_file() and p != path)
        if not others:
            path.write_text("", encoding="utf-8")
        else:
            path.symlink_to(rng.choice(others).name)
    else:
        path.symlink_to(".")
    return f"{path.name} is {how}"


def file_extra(rng: Random, folder: Path) -> str:
    """An extra file: unknown, or a table in both CSV and Parquet."""
    how = rng.choice(("unknown csv", "parquet twin", "parquet only", "hidden"))
    if how == "unknown csv":
        (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        return "notes.csv added"
    if how == "hidden":
        (folder / ".~lock.products.csv#").write_text("lock", encoding="utf-8")
        return "lock file added"
    if (picked := _pick_table(rng, folder, need_rows=False)) is None:
        return SKIPPED
    name, table = picked
    import pandas as pd

    frame = pd.DataFrame(table.rows, columns=table.header, dtype=object)
    if rng.random() < 0.5:  # typed columns where they are all numbers
        for index in range(frame.shape[1]):
            with contextlib.suppress(ValueError, TypeError):
                frame.isetitem(index, pd.to_numeric(frame.iloc[:, index]))
    try:
        frame.to_parquet(folder / name.replace(".csv", ".parquet"), index=False)
    except (ValueError, TypeError, ImportError) as error:
        return f"{SKIPPED} ({type(error).__name__})"
    if how == "parquet only":
        (folder / name).unlink()
    return f"{name} {how}"


# --- economy.toml ----------------------------------------------------------------------------


def _toml_value(rng: Random) -> Any:
    return rng.choice(
        (
            0,
            -1,
            2020,
            2026,
            10**6,
            2**63 - 1,
            -(2**63),
            2020.5,
            1e308,
            5e-324,
            math.nan,
            math.inf,
            True,
            "",
            "2020",
            hostile(rng),
            [],
            [2021],
            [2025, 2021],
            [2021, 2021],
            [2021, 2022, 2023],
            ["a", "b"],
            [2021.0, 2025.0],
            [2021, 10**9],
            [[2021, 2025]],
            {},
            {"a": 1},
            dt.date(2021, 1, 1),
        )
    )


def _load_toml(folder: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads((folder / "economy.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None  # nested past what tomllib reads (an earlier mutation's): leave it be


def toml_value(rng: Random, folder: Path) -> str:
    """A setting given another value, of any TOML type."""
    document = _load_toml(folder)
    if document is None:
        return SKIPPED
    keys = (
        "name",
        "description",
        "base_year",
        "horizon",
        "currency",
        "foreign_currency",
        "credit_line",
        "objective",
    )
    key = rng.choice(keys)
    value = _toml_value(rng)
    document[key] = value
    (folder / "economy.toml").write_text(tomli_w.dumps(document), encoding="utf-8")
    return f"economy.toml {key} = {value!r:.60}"


def toml_keys(rng: Random, folder: Path) -> str:
    """A setting dropped, an unknown one added, the sources changed, or the file malformed."""
    document = _load_toml(folder)
    if document is None:
        return SKIPPED
    how = rng.choice(("drop", "unknown", "sources", "source id", "malformed", "deep"))
    path = folder / "economy.toml"
    if how == "drop":
        key = rng.choice(sorted(document))
        del document[key]
        said = f"{key} dropped"
    elif how == "unknown":
        document[rng.choice(("colour", "Base_Year", hostile(rng) or "x"))] = 1
        said = "unknown key added"
    elif how == "sources":
        document["sources"] = rng.choice(([], {"id": "x"}, [{"id": 5}], [{}], "none"))
        said = f"sources = {document['sources']!r}"
    elif how == "source id":
        sources = document.get("sources") or [{}]
        if isinstance(sources, list) and sources and isinstance(sources[0], dict):
            sources[rng.randrange(len(sources))]["id"] = rng.choice(HOSTILE_IDS)
        said = "a source's id changed"
    elif how == "malformed":
        text = path.read_text(encoding="utf-8")
        at = rng.randrange(len(text) + 1)
        path.write_text(
            text[:at] + rng.choice(("=", "[", '"', "\n[[x", "\x01")) + text[at:], encoding="utf-8"
        )
        return "economy.toml malformed"
    else:
        depth = rng.choice((100, 1_000, 100_000))
        path.write_text(
            path.read_text(encoding="utf-8") + "\ndeep = " + "[" * depth + "]" * depth + "\n",
            encoding="utf-8",
        )
        return f"economy.toml array nested {depth} deep"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return f"economy.toml {said}"


# --- ids and sizes ---------------------------------------------------------------------------


def _id_table(rng: Random, folder: Path) -> tuple[str, Table, int] | None:
    names = [n for n in ID_TABLES if n in tables_in(folder)]
    rng.shuffle(names)
    for name in names:
        table = read_table(folder / name)
        if table is not None and table.rows and (ids := table.column("id")) is not None:
            return name, table, ids
    return None


def id_dangle(rng: Random, folder: Path) -> str:
    """An id changed in its own table only, so that references to it dangle."""
    if (picked := _id_table(rng, folder)) is None:
        return SKIPPED
    name, table, ids = picked
    row = rng.randrange(len(table.rows))
    old = table.rows[row][ids] if ids < len(table.rows[row]) else ""
    new = old + "_renamed"
    _set(table, row, ids, new)
    write_table(folder / name, table)
    return f"{name}:{row + 2} id {old!r} -> {new!r}, references left"


def id_rename(rng: Random, folder: Path) -> str:
    """An id renamed everywhere it appears to a hostile one (unicode, long, 'nan', ...)."""
    if (picked := _id_table(rng, folder)) is None:
        return SKIPPED
    name, table, ids = picked
    row = rng.randrange(len(table.rows))
    old = table.rows[row][ids] if ids < len(table.rows[row]) else ""
    if not old:
        return SKIPPED
    new = rng.choice(HOSTILE_IDS)
    for other in tables_in(folder):
        other_table = read_table(folder / other)
        assert other_table is not None
        other_table.rows = [[new if v == old else v for v in cells] for cells in other_table.rows]
        write_table(folder / other, other_table)
    return f"{name} id {old!r} -> {new[:40]!r} everywhere"


def region_chain(rng: Random, folder: Path) -> str:
    """Regions nested many levels deep."""
    table = read_table(folder / "regions.csv")
    if table is None or table.column("id") is None or table.column("parent") is None:
        return SKIPPED
    ids, parents = table.column("id"), table.column("parent")
    assert ids is not None and parents is not None
    depth = rng.choice((50, 1_000, 5_000))
    parent = table.rows[0][ids] if table.rows else ""
    for level in range(depth):
        cells = [""] * len(table.header)
        cells[ids], cells[parents] = f"chain_{level}", parent
        table.rows.append(cells)
        parent = f"chain_{level}"
    write_table(folder / "regions.csv", table)
    return f"regions.csv {depth} regions nested"


ECONOMY_MUTATIONS: dict[str, tuple[Mutation, float]] = {
    "cell": (cell, 6.0),
    "cell_number": (cell_number, 6.0),
    "cell_copy": (cell_copy, 3.0),
    "row_drop": (row_drop, 2.0),
    "row_duplicate": (row_duplicate, 2.0),
    "row_shuffle": (row_shuffle, 1.0),
    "row_ragged": (row_ragged, 1.0),
    "rows_many": (rows_many, 0.5),
    "column_drop": (column_drop, 1.0),
    "column_rename": (column_rename, 1.0),
    "column_duplicate": (column_duplicate, 1.0),
    "column_reorder": (column_reorder, 1.0),
    "column_extra": (column_extra, 1.0),
    "file_missing": (file_missing, 0.5),
    "file_bytes": (file_bytes, 1.0),
    "file_encoding": (file_encoding, 1.0),
    "file_dialect": (file_dialect, 1.0),
    "file_kind": (file_kind, 1.0),
    "file_extra": (file_extra, 1.0),
    "toml_value": (toml_value, 3.0),
    "toml_keys": (toml_keys, 1.5),
    "id_dangle": (id_dangle, 1.5),
    "id_rename": (id_rename, 2.0),
    "region_chain": (region_chain, 0.5),
}
"""Name: (mutation, weight). Weights favour the cell changes that still reach the planner."""
