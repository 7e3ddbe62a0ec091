"""The raw form of an economy: every cell as the user wrote it, with its row number.

Readers for each format (folder of CSV or Parquet files, xlsx workbook) produce a
``RawEconomy``; the validator turns it into typed tables. Keeping cells as written until
validation lets every problem name the file, row and column where the user wrote it. Text
formats give text cells; Parquet gives typed columns (numbers, booleans, and text as
categoricals), which the validator checks by their dtype instead of cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from econplan.errors import Problem


@dataclass
class RawEconomy:
    """Cells as text (blank cells are ""), indexed by the row number in the file or sheet;
    the tables named in ``typed`` hold typed columns instead (missing cells are missing)."""

    origin: str
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    typed: set[str] = field(default_factory=set)


def frame_from_rows(header: list[str], rows: list[list[str]], numbers: list[int]) -> pd.DataFrame:
    """A DataFrame of text cells from parsed rows, indexed by their row numbers."""
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.Index(numbers, name="row")
    return frame.fillna("").astype(object)


def read_raw(path: Path) -> RawEconomy:
    """Read an economy from a folder or an .xlsx workbook, problems included, never raising."""
    from econplan.io.folder import read_folder
    from econplan.io.workbook import read_workbook

    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() == ".xlsx":
        return read_workbook(path)
    if not path.exists():
        message = "no such folder or workbook: give a folder of CSV files or an .xlsx file"
    else:
        message = "not an economy: give a folder of CSV files with economy.toml, or an .xlsx file"
    return RawEconomy(str(path), {}, {}, {}, [Problem(str(path), None, None, message)])
