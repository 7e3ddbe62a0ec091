"""Problems found in a user's economy, and the exception that carries them.

A problem always says where (file, row or TOML key, column) and what to do. The CLI prints
one line per problem and exits with code 2; only bugs produce tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an economy's files.

    ``row`` is the line of the file (the header is line 1, the first data row line 2) or the
    row of the sheet in a workbook; it is ``None`` where the problem is not in one row (a
    missing file, a TOML key, a cycle across several rows). For ``economy.toml`` the
    ``column`` is the key.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}:{column} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in a stable order: by file, then row (file-wide problems first), then column."""
    return sorted(
        set(problems),
        key=lambda p: (p.file, -1 if p.row is None else p.row, p.column or "", p.message),
    )


class EconomyError(Exception):
    """An economy's files are wrong; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sort_problems(problems)
        first = str(self.problems[0]) if self.problems else "no problems recorded"
        more = len(self.problems) - 1
        message = first if more == 0 else f"{first} (and {more} more problems)"
        super().__init__(message)


class UsageError(Exception):
    """A command was asked for something it cannot do (a folder that exists, a bad suffix)."""
