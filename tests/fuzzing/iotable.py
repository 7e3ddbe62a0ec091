"""Plain input-output tables (src/econplan/io/iotable_doc.md): a valid one generated from the
case's random generator, then mutated in its cells, totals, labels, signs, zero rows, shape, CSV
dialect and encoding, or written as an xlsx workbook (formulas, chart sheets, typed cells).

A table is a grid of cells (text or numbers) and how it is to be written; the mutations change
both, and ``write_io`` writes it at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import numpy as np

from fuzzing.values import hostile, perturb

Cell = str | float | None
FINAL = ("households", "government", "exports", "gross fixed capital", "inventories", "defence")


@dataclass
class IoTable:
    grid: list[list[Cell]]
    suffix: str = ".csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    newline: str = "\n"
    quoting: int = csv.QUOTE_MINIMAL
    xlsx: list[str] = field(default_factory=list)
    """Workbook changes: 'formulas', 'chart first', 'empty first', 'text numbers', ..."""

    @property
    def sectors(self) -> int:
        """Rows of the grid that are sectors (1 .. sectors)."""
        header = [str(c) for c in self.grid[0]] if self.grid else []
        return sum(1 for row in self.grid[1:] if row and str(row[0]) in header[1:])


def generate(rng: Random) -> IoTable:
    """A valid table: n sectors with column sums of A below one, a few final-demand columns,
    value added (and labour, or a total_input row), total output."""
    n = rng.choice((1, 2, 2, 3, 4, 5, 8)) if rng.random() < 0.95 else rng.choice((50, 200))
    generator = np.random.default_rng(rng.getrandbits(32))
    A = generator.random((n, n)) * (generator.random((n, n)) < 0.6)
    A *= generator.uniform(0.1, 0.9, n) / np.maximum(A.sum(axis=0), 1e-9)
    finals = rng.sample(FINAL, rng.randint(1, 3))
    F = generator.uniform(0, 100, (n, len(finals))) * (generator.random((n, len(finals))) < 0.8)
    F[:, 0] += 1.0  # every sector delivers something, so that its output is positive
    x = np.linalg.solve(np.eye(n) - A, F.sum(axis=1))
    Z = A * x
    value_added = x - Z.sum(axis=0)
    sectors = [f"s{i}" if rng.random() < 0.5 else f"sector {i}" for i in range(n)]
    labour = rng.random() < 0.3
    unit = labour and rng.random() < 0.5
    header: list[Cell] = ["sector", *sectors, *finals, "total_output"] + (["unit"] if unit else [])
    grid: list[list[Cell]] = [header]
    for i, label in enumerate(sectors):
        grid.append([label, *Z[i].tolist(), *F[i].tolist(), float(x[i])] + ([""] if unit else []))
    blank: list[Cell] = [None] * (len(finals) + 1)
    grid.append(["value_added", *value_added.tolist(), *blank] + ([""] if unit else []))
    if labour:
        hours = generator.uniform(0, 5, n) * x / x.max()
        grid.append(["labour", *hours.tolist(), *blank] + (["person-year"] if unit else []))
    elif rng.random() < 0.6:
        grid.append(["total_input", *x.tolist(), *blank])
    return IoTable(grid)


def _numbers(table: IoTable) -> list[tuple[int, int]]:
    return [
        (r, c)
        for r, row in enumerate(table.grid)
        for c, value in enumerate(row)
        if isinstance(value, float) and r and c
    ]


def _text(value: Cell) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else value


def io_cell(rng: Random, table: IoTable) -> str:
    """Any cell, labels included, set to a hostile value or another number."""
    r = rng.randrange(len(table.grid))
    c = rng.randrange(len(table.grid[r]))
    old = table.grid[r][c]
    if isinstance(old, float) and rng.random() < 0.5:
        new: Cell = float(perturb(rng, repr(old)))
    else:
        new = hostile(rng)
    table.grid[r][c] = new
    return f"cell ({r + 1}, {c + 1}) = {_text(new)[:40]!r}"


def io_sign(rng: Random, table: IoTable) -> str:
    """A flow, final demand or value added made negative."""
    numbers = _numbers(table)
    if not numbers:  # an earlier mutation left no number (header only, one cell)
        return "no number to negate"
    r, c = rng.choice(numbers)
    value = table.grid[r][c]
    assert isinstance(value, float)
    table.grid[r][c] = -value
    return f"cell ({r + 1}, {c + 1}) negated"


def io_zero(rng: Random, table: IoTable) -> str:
    """A sector's row, column or both zero, or the whole table."""
    how = rng.choice(("row", "column", "sector", "all"))
    n = table.sectors
    k = rng.randint(1, max(1, n))
    for r, row in enumerate(table.grid):
        for c, value in enumerate(row):
            if not isinstance(value, float) or not r or not c:
                continue
            if (
                how == "all"
                or (how in ("row", "sector") and r == k)
                or (how in ("column", "sector") and c == k)
            ):
                row[c] = 0.0
    return f"{how} {k} zero"


def io_totals(rng: Random, table: IoTable) -> str:
    """Totals off by a little, dropped, or relabelled."""
    header = table.grid[0]
    how = rng.choice(("off", "drop column", "drop row", "relabel", "subtotal"))
    if how == "off":
        if "total_output" not in header:
            return "skipped"
        c = header.index("total_output")
        r = rng.randint(1, max(1, table.sectors))
        value = table.grid[r][c]
        if isinstance(value, float):
            table.grid[r][c] = value * rng.choice((1.01, 1 + 1e-7, 0.5, 0.0))
    elif how == "drop column" and "total_output" in header:
        c = header.index("total_output")
        table.grid = [row[:c] + row[c + 1 :] for row in table.grid]
    elif how == "drop row":
        table.grid = [row for row in table.grid if row[0] != "total_input"]
    elif how == "relabel":
        for row in table.grid:
            for c, value in enumerate(row):
                if value in ("total_output", "total_input"):
                    row[c] = rng.choice(("Total Output", "TOTAL-OUTPUT", "total", "Total"))
    elif len(table.grid) < 2:  # an earlier mutation left no row under the header (io_shape)
        return "totals subtotal: no row to copy"
    else:
        r = rng.randrange(1, len(table.grid))
        table.grid.insert(r, ["total manufacturing", *table.grid[r][1:]])
    return f"totals {how}"


def io_labels(rng: Random, table: IoTable) -> str:
    """A label repeated, blanked, made hostile, or a sector's row or column dropped."""
    how = rng.choice(("duplicate row", "duplicate column", "blank", "hostile", "drop row"))
    how = rng.choice((how, "drop column"))
    n = table.sectors
    k = rng.randint(1, max(1, n))
    try:
        return _relabel(rng, table, how, n, k)
    except IndexError:  # an earlier mutation left too few rows or columns (io_shape)
        return f"{how}: no such label in the table's shape"


def _relabel(rng: Random, table: IoTable, how: str, n: int, k: int) -> str:
    if how == "duplicate row":
        table.grid[k][0] = table.grid[1 + (k % max(1, n))][0]
    elif how == "duplicate column":
        table.grid[0][k] = table.grid[0][1 + (k % max(1, n))]
    elif how == "blank":
        (table.grid[k] if rng.random() < 0.5 else table.grid[0])[rng.choice((0, k))] = ""
    elif how == "hostile":
        label = hostile(rng)
        table.grid[0][k] = label
        if k < len(table.grid):
            table.grid[k][0] = label
    elif how == "drop row":
        del table.grid[k]
    else:
        table.grid = [row[:k] + row[k + 1 :] for row in table.grid]
    return f"label {how} {k}"


def io_shape(rng: Random, table: IoTable) -> str:
    """Transposed, header only, one cell, ragged rows, empty rows and columns."""
    how = rng.choice(("transpose", "header only", "one cell", "ragged", "empty row", "empty col"))
    if how == "transpose":
        width = max(len(row) for row in table.grid)
        padded = [row + [None] * (width - len(row)) for row in table.grid]
        table.grid = [list(column) for column in zip(*padded, strict=True)]
    elif how == "header only":
        table.grid = table.grid[:1]
    elif how == "one cell":
        table.grid = [[rng.choice(("sector", "1", ""))]]
    elif how == "ragged":
        r = rng.randrange(len(table.grid))
        table.grid[r] = table.grid[r][: rng.randrange(len(table.grid[r]) + 1)] + (
            ["1"] * rng.randint(0, 2)
        )
    elif how == "empty row":
        table.grid.insert(rng.randrange(len(table.grid) + 1), [None] * len(table.grid[0]))
    else:
        c = rng.randrange(len(table.grid[0]) + 1)
        table.grid = [[*row[:c], None, *row[c:]] for row in table.grid]
    return f"shape {how}"


def io_scale(rng: Random, table: IoTable) -> str:
    """Every number scaled (huge, tiny, subnormal), or the inter-industry block inflated so that
    the sectors use more than they make."""
    factor = rng.choice((1e300, 1e-300, 1e-310, 1e12, 3.0))
    n = table.sectors
    for r, row in enumerate(table.grid):
        for c, value in enumerate(row):
            if isinstance(value, float) and r and c and (factor != 3.0 or (r <= n and c <= n)):
                row[c] = value * factor
    return f"numbers times {factor:g}" + (" in Z" if factor == 3.0 else "")


def io_dialect(rng: Random, table: IoTable) -> str:
    """Another CSV dialect or encoding, thousands separators or decimal commas."""
    how = rng.choice(
        (";", "\t", "quote all", "crlf", "utf-8-sig", "utf-16", "latin-1", "thousands", "comma")
    )
    if how in (";", "\t"):
        table.delimiter = how
    elif how == "quote all":
        table.quoting = csv.QUOTE_ALL
    elif how == "crlf":
        table.newline = "\r\n"
    elif how in ("utf-8-sig", "utf-16", "latin-1"):
        table.encoding = how
        table.grid[0][0] = "secteur économique"
    else:
        table.grid = [
            [
                (f"{v:,.2f}" if how == "thousands" else f"{v:.2f}".replace(".", ","))
                if isinstance(v, float)
                else v
                for v in row
            ]
            for row in table.grid
        ]
        if how == "comma":
            table.delimiter = ";"
    return f"dialect {how}"


def io_file(rng: Random, table: IoTable) -> str:
    """The file named .CSV or .txt, or a workbook that is text (and text that is a workbook)."""
    how = rng.choice((".CSV", ".txt", ".xlsx text", ".csv binary"))
    table.xlsx.append(f"file {how}")
    return f"file {how}"


def io_xlsx(rng: Random, table: IoTable) -> str:
    """Written as an xlsx workbook, with one or two of its hazards."""
    table.suffix = ".xlsx"
    hazards = rng.sample(
        (
            "formulas",
            "chart first",
            "empty first",
            "text numbers",
            "booleans",
            "dates",
            "errors",
            "far cell",
            "merged",
            "two sheets",
        ),
        rng.randint(0, 2),
    )
    table.xlsx.extend(hazards)
    return "xlsx" + (f" with {', '.join(hazards)}" if hazards else "")


IO_MUTATIONS: dict[str, tuple[Callable[[Random, IoTable], str], float]] = {
    "io_cell": (io_cell, 4.0),
    "io_sign": (io_sign, 1.0),
    "io_zero": (io_zero, 1.5),
    "io_totals": (io_totals, 1.5),
    "io_labels": (io_labels, 1.5),
    "io_shape": (io_shape, 1.0),
    "io_scale": (io_scale, 1.0),
    "io_dialect": (io_dialect, 1.5),
    "io_file": (io_file, 0.5),
    "io_xlsx": (io_xlsx, 2.0),
}


def write_io(table: IoTable, folder: Path, rng: Random) -> Path:
    """Write the table (CSV or workbook) into ``folder``; return the path to give econplan."""
    files = [h for h in table.xlsx if h.startswith("file ")]
    if table.suffix == ".xlsx":
        path = folder / "table.xlsx"
        _write_xlsx(table, path, rng)
    else:
        path = folder / "table.csv"
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter=table.delimiter, lineterminator=table.newline, quoting=table.quoting
        )
        writer.writerows([[_text(v) for v in row] for row in table.grid])
        path.write_bytes(buffer.getvalue().encode(table.encoding, errors="replace"))
    for hazard in files:
        how = hazard.removeprefix("file ")
        if how in (".CSV", ".txt"):
            path = path.rename(path.with_suffix(how))
        elif how == ".xlsx text" and path.suffix == ".csv":
            path = path.rename(path.with_suffix(".xlsx"))
        elif how == ".csv binary":
            _write_xlsx(table, folder / "book.xlsx", rng)
            path.unlink()
            path = (folder / "book.xlsx").rename(folder / "table.csv")
    return path


def _write_xlsx(table: IoTable, path: Path, rng: Random) -> None:
    import datetime as dt

    import openpyxl
    from openpyxl.chart import BarChart, Reference

    from fuzzing.workbook import cell_value

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "io"
    hazards = set(table.xlsx)
    for row in table.grid:
        cells: list[object] = []
        for value in row:
            if isinstance(value, float) and "text numbers" in hazards and rng.random() < 0.5:
                cells.append(repr(value))
            elif isinstance(value, str) and value.startswith("="):
                cells.append(cell_value(value))
            else:
                cells.append(cell_value(value) if value != "" else None)
        sheet.append(cells)
    rows, columns = len(table.grid), max(len(r) for r in table.grid)
    if "formulas" in hazards and rows > 2 and columns > 2:
        sheet.cell(2, columns).value = f"=SUM(B2:{openpyxl.utils.get_column_letter(columns - 1)}2)"
    if "booleans" in hazards:
        sheet.cell(min(rows, 2), min(columns, 2)).value = True
    if "dates" in hazards:
        sheet.cell(min(rows, 2), min(columns, 3)).value = dt.datetime(2021, 1, 1)
    if "errors" in hazards:
        sheet.cell(min(rows, 3), min(columns, 2)).value = "#DIV/0!"
    if "far cell" in hazards:
        sheet.cell(rng.choice((1_000, 100_000)), rng.choice((50, 16_000))).value = 1
    if "merged" in hazards and rows > 1 and columns > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=2, end_column=2)
    if "two sheets" in hazards:
        book.create_sheet("notes").append(["a note"])
    if "empty first" in hazards:
        book.move_sheet(book.create_sheet("blank"), offset=-len(book.sheetnames) + 1)
    if "chart first" in hazards:
        chartsheet = book.create_chartsheet("chart", 0)
        chart = BarChart()
        chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=max(2, rows)))
        chartsheet.add_chart(chart)
    book.save(path)
