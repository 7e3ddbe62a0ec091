"""Problems found in a user's economy, and the exception that carries them.

A problem always says where (file, row or TOML key, column) and what to do. The CLI prints
one line per problem and exits with code 2; only bugs produce tracebacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


def printable(text: str) -> str:
    """``text`` for a terminal: line breaks, control and format characters from a user's file
    (U+2028, U+0001, a right-to-left override) shown as escapes, so that one problem stays one
    line and cannot rewrite the screen. JSON output keeps the text as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


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
        return printable(f"{where}:{column} {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SHOWN = 100
"""Problems listed for each file and column; one more line counts the rest. A file with 10^6
bad cells then costs as much to report as one with a hundred, and reads better."""


@dataclass(frozen=True, order=True)
class MoreProblems(Problem):
    """Stands for ``count`` problems of one file and column that are not listed."""

    count: int = 0

    @classmethod
    def of(cls, file: str, column: str | None, count: int) -> MoreProblems:
        where = "in this column" if column else "of this kind in the file"
        message = (
            f"{count:,} more problems {where} are not listed, beyond the first {SHOWN}: "
            "fix those and validate again"
        )
        return cls(file, None, column, message, count)


def first_flagged(flags: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    """The positions of the first ``SHOWN`` true flags (missing counts as false), and how
    many more there are: problems are worded for those positions only."""
    if isinstance(flags, pd.Series):
        flags = flags.fillna(False).to_numpy(dtype=bool)
    positions = np.flatnonzero(flags)
    return positions[:SHOWN], max(len(positions) - SHOWN, 0)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in a stable order: by file, then row (file-wide problems first), then column;
    at most ``SHOWN`` for each file and column, with one line counting the rest."""
    problems = list(problems)
    listed = sorted(
        {p for p in problems if not isinstance(p, MoreProblems)},
        key=lambda p: (p.file, -1 if p.row is None else p.row, p.column or "", p.message),
    )
    more: dict[tuple[str, str | None], int] = {}
    for problem in problems:
        if isinstance(problem, MoreProblems):
            more[problem.file, problem.column] = (
                more.get((problem.file, problem.column), 0) + problem.count
            )
    kept: list[Problem] = []
    shown: dict[tuple[str, str | None], int] = {}
    for problem in listed:
        group = (problem.file, problem.column)
        if shown.get(group, 0) < SHOWN:
            shown[group] = shown.get(group, 0) + 1
            kept.append(problem)
        else:
            more[group] = more.get(group, 0) + 1
    kept += [MoreProblems.of(file, column, count) for (file, column), count in more.items()]
    return sorted(
        kept, key=lambda p: (p.file, -1 if p.row is None else p.row, p.column or "", p.message)
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
