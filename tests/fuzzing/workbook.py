"""An economy folder turned into an xlsx workbook (a sheet per table, ``economy`` for the
settings), with a workbook's own hazards: formulas without cached values, chart sheets,
unknown sheets, typed cells (booleans, dates), numbers as text."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from random import Random

from fuzzing.tables import read_table, tables_in
from fuzzing.values import is_number

HAZARDS = ("formula", "chart", "unknown sheet", "boolean", "date", "text numbers", "readme")


def cell_value(value: object) -> object:
    """A value openpyxl will write: the control characters a worksheet cannot hold (the
    format forbids them) become U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def as_workbook(rng: Random, folder: Path) -> str:
    """Write the folder's tables to ``folder/economy.xlsx`` (what econplan is then given)."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference

    hazards = rng.sample(HAZARDS, rng.randint(0, 2))
    book = openpyxl.Workbook()
    settings = book.active
    settings.title = "economy"
    try:
        document = tomllib.loads((folder / "economy.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        document = {}
    sources = document.pop("sources", [])
    settings.append(["key", "value"])
    for key, value in document.items():
        if key == "horizon" and isinstance(value, list) and len(value) == 2:
            value = f"{value[0]}-{value[1]}"
        elif isinstance(value, list | dict):
            value = str(value)
        settings.append([cell_value(key), cell_value(value)])
    if isinstance(sources, list) and sources and all(isinstance(s, dict) for s in sources):
        sheet = book.create_sheet("sources")
        columns = sorted({k for s in sources for k in s})
        sheet.append(columns)
        for source in sources:
            sheet.append([cell_value(str(source.get(c, ""))) for c in columns])
    text_numbers = "text numbers" in hazards
    for name in tables_in(folder):
        table = read_table(folder / name)
        assert table is not None
        sheet = book.create_sheet(name.removesuffix(".csv")[:31])
        sheet.append([cell_value(v) for v in table.header])
        for cells in table.rows:
            sheet.append(
                [
                    float(v) if is_number(v) and not text_numbers else cell_value(v or None)
                    for v in cells
                ]
            )
    target = book[rng.choice(book.sheetnames)]
    row, column = min(target.max_row, 2), rng.randint(1, max(1, target.max_column))
    if "formula" in hazards:
        target.cell(row, column).value = "=SUM(A1:A2)"
    if "boolean" in hazards:
        target.cell(row, column).value = rng.choice((True, False))
    if "date" in hazards:
        target.cell(row, column).value = dt.datetime(2021, 1, 1)
    if "unknown sheet" in hazards:
        book.create_sheet("Sheet1")
    if "readme" in hazards:
        book.create_sheet("README", 0).append(["what this is"])
    if "chart" in hazards:
        chart = BarChart()
        chart.add_data(Reference(settings, min_col=2, min_row=1, max_row=3))
        book.create_chartsheet("chart", rng.randint(0, 1)).add_chart(chart)
    book.save(folder / "economy.xlsx")
    return "as workbook" + (f" with {', '.join(hazards)}" if hazards else "")
