"""Plain text that fits a terminal: numbers rounded to what the data support, ids never cut.

Rules, so that a reader knows what a printed figure means:

- a number is shown to three significant figures (the economy's figures are estimates: see
  docs/default-economy.md), thousands and above with a suffix: k (thousand), m (million), bn
  (billion); below 1,000 as is (0.0123, 1.05, 512);
- a value below the solver's tolerance relative to its scale is 0, and 0 is never "-0";
- a table wider than the terminal is printed row by row instead: the first cell on its own
  line, the other cells (named) below it, wrapped at spaces; an id is never cut or shortened;
- ids that differ only in a trailing year (``cement_2021`` .. ``cement_2025``) may be listed
  once with their years (``cement 2021-2025``).
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap
from collections.abc import Iterable, Sequence

TOLERANCE = 1e-6
"""Relative size below which a value is solver noise (the plan's default tolerance)."""

SUFFIXES = ((1e9, "bn"), (1e6, "m"), (1e3, "k"))


def width() -> int:
    """The terminal's width (COLUMNS where set), at least 40."""
    return max(40, shutil.get_terminal_size(fallback=(80, 24)).columns)


def is_zero(value: float, scale: float = 1.0, tolerance: float = TOLERANCE) -> bool:
    """Whether ``value`` is noise: below ``tolerance`` of its scale (at least 1)."""
    return abs(value) < tolerance * max(abs(scale), 1.0)


def number(value: float | None, scale: float | None = None, tolerance: float = TOLERANCE) -> str:
    """``value`` to three significant figures with a k/m/bn suffix, 0 for noise (relative to
    ``scale``, by default the value itself), never "-0"; "-" for nothing or not finite."""
    if value is None or not math.isfinite(value):
        return "-"
    if is_zero(value, value if scale is None else scale, tolerance):
        return "0"
    size = abs(value)
    for at, suffix in SUFFIXES:
        if size >= at * 0.9995:  # 999,600 rounds to 1 m, not "1e+03 k"
            return f"{_three(value / at)} {suffix}"
    return _three(value)


def _three(value: float) -> str:
    text = f"{value:.3g}"
    if "e" in text:  # below 0.001: keep the figures, not a bare exponent
        text = f"{value:.2e}"
    return "0" if text in ("-0", "0") else text


def share(value: float | None) -> str:
    """A share as a percentage, to what matters (two significant figures, at least whole)."""
    if value is None or not math.isfinite(value):
        return "-"
    percent = 100 * value
    if abs(percent) >= 10:
        return f"{percent:.0f}%"
    if abs(percent) < 0.05:
        return "0%"
    return f"{percent:.1f}%"


def wrap(text: str, indent: str = "", hanging: str = "    ") -> list[str]:
    """``text`` wrapped at spaces to the terminal's width; words (ids, numbers) are never
    broken."""
    # a number and its suffix (16.5 bn) stay on one line: joined by a space textwrap keeps
    glued = re.sub(r"(\d) (k|m|bn)\b", "\\1\u00a0\\2", text)
    lines = textwrap.wrap(
        glued,
        width=width(),
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace("\u00a0", " ") for line in lines] or [indent]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ") -> list[str]:
    """An aligned table (text left, numbers right) when it fits the terminal; otherwise each
    row as its first cell on a line and the other cells, named, wrapped below it."""
    rows = [list(row) for row in rows]
    if not rows:
        return []
    sizes = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [all(_numeric(r[i]) for r in rows) and i > 0 for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(s) if r else c.ljust(s) for c, s, r in zip(cells, sizes, right, strict=True)
        ]
        return (indent + "  ".join(parts)).rstrip()

    if len(indent) + sum(sizes) + 2 * (len(sizes) - 1) <= width():
        return [line(headers), *(line(r) for r in rows)]
    out = []
    for row in rows:
        out.append(indent + row[0])
        named = "; ".join(f"{h} {c}" for h, c in zip(headers[1:], row[1:], strict=True) if c)
        out += wrap(named, indent + "    ", "")
    return out


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[-<=> ]*[0-9.,]+(e[-+][0-9]+)?( (k|m|bn))?%?|-|0", cell))


def years_of(ids: Iterable[str]) -> list[str]:
    """Ids grouped by what precedes a trailing year: ``cement_2021``, ``cement_2022`` become
    ``cement 2021-2022``; ids without a year stay as they are. Sorted."""
    groups: dict[str, list[int]] = {}
    single: list[str] = []
    for name in ids:
        found = re.fullmatch(r"(.+)_((?:19|20)\d\d)", name)
        if found:
            groups.setdefault(found.group(1), []).append(int(found.group(2)))
        else:
            single.append(name)
    out = [f"{stem} {spans(years)}" for stem, years in groups.items()]
    return sorted(out + single)


def spans(years: Iterable[int]) -> str:
    """2021, 2022, 2023, 2025 as ``2021-2023, 2025``."""
    ordered = sorted(set(years))
    parts: list[str] = []
    start = previous = ordered[0]
    for year in [*ordered[1:], None]:
        if year is not None and year == previous + 1:
            previous = year
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if year is not None:
            start = previous = year
    return ", ".join(parts)
