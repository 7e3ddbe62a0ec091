"""CSV files as a header and rows of text, read and written the plain way."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> int | None:
        return self.header.index(name) if name in self.header else None


def read_table(file: Path) -> Table | None:
    """The table in ``file``, or None when an earlier mutation left it unreadable."""
    if file.is_symlink() or not file.is_file():
        return None
    try:
        text = file.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    return Table(rows[0], [row for row in rows[1:] if row])


def write_table(file: Path, table: Table, delimiter: str = ",", newline: str = "\n") -> None:
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator=newline)
        writer.writerow(table.header)
        writer.writerows(table.rows)


def csv_text(table: Table, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=quoting)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue()


def tables_in(folder: Path) -> list[str]:
    """Names of the readable CSV files of a folder, sorted."""
    return sorted(
        p.name for p in folder.glob("*.csv") if not p.is_symlink() and read_table(p) is not None
    )
