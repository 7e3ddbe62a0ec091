"""Totals and subtotals of an input-output table found by their arithmetic, not their labels.

Statistics offices label their totals with codes (GO, TIU, TFU, TII, TVA, TI) as often as
with words. A row or column is a total when it equals, in every line, the sum of a run of
the rows or columns next to it (before it, as TIU after the sectors' columns, or after it, as
a parent row above its components): read as data, it would be counted twice. Items are
summed as they stand, except imports given as positive numbers, which a total output
subtracts (GO = TIU + TFU - IM in competitive-import tables).

Sums are compared within a relative ``TOLERANCE`` of the figures, or half a unit of the
table's last digit per figure summed when the table is rounded (a total of rounded figures
is off by that much). A line that agrees in most rows but not in all is reported, not
guessed: see :class:`Doubt`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

TOLERANCE = 1e-6
"""Relative difference within which a line equals the sum of a run."""

DOUBT_SHARE = 0.75
"""A line that equals a run's sum in at least this share of its rows (and at least
``DOUBT_ROWS`` of them), but not in all, is in doubt: a total with a typing error, or
figures that almost add up by chance. In small tables figures add up by chance too often to
tell."""

DOUBT_ROWS = 4


@dataclass(frozen=True)
class Total:
    """``label`` equals the sum of ``members`` (``subtracted`` of them with a minus sign)."""

    label: str
    members: tuple[str, ...]
    subtracted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Doubt:
    """``label`` equals the sum of ``members`` in ``agree`` of ``rows`` rows, not in the
    others (``worst`` is the first of them)."""

    label: str
    members: tuple[str, ...]
    agree: int
    rows: int
    worst: int


def rounding_unit(values: FloatArray) -> float:
    """The unit of the last digit the figures are rounded to (1 for whole numbers, 0.01 for
    cents), or 0 when they are not rounded to six decimals or fewer."""
    finite = values[np.isfinite(values)]
    for decimals in range(7):
        scaled = finite * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return float(10.0**-decimals)
    return 0.0


def find_totals(
    order: Sequence[str],
    candidates: Collection[str],
    lines: Mapping[str, FloatArray],
    *,
    subtractable: Collection[str] = (),
    unit: float = 0.0,
) -> tuple[list[Total], list[Doubt]]:
    """The totals among ``candidates`` (labels in ``order``, the file's order; the others in
    ``order`` are always items), and the lines in doubt.

    ``lines`` gives each label's figures (blank as 0). A candidate is a total when it equals
    the sum of a run of at least two items right before or right after it; found totals stop
    being items, so nested subtotals (TIU and GO, or VA components under their parent) are
    found one after another. Items in ``subtractable`` (import columns) may enter a run with a
    minus sign.
    """
    removed: dict[str, Total] = {}
    while True:
        total = _next_total(order, candidates, lines, removed, subtractable, unit)
        if total is None:
            break
        removed[total.label] = total
    doubts = []
    for label in order:
        if label in candidates and label not in removed:
            doubt = _doubt(order, label, lines, removed, subtractable, unit)
            if doubt is not None:
                doubts.append(doubt)
    return list(removed.values()), doubts


def _run_sums(
    order: Sequence[str],
    label: str,
    lines: Mapping[str, FloatArray],
    removed: Mapping[str, Total],
    subtractable: Collection[str],
) -> Iterator[tuple[tuple[str, ...], FloatArray, FloatArray, tuple[str, ...]]]:
    """Every run of at least two items right before or right after ``label``: its members,
    its sum, the sum of its magnitudes, and the import items subtracted (the run is also
    given with them subtracted when it holds any). Prefix sums make each run one subtraction."""
    items = [item for item in order if item not in removed]
    at = items.index(label)
    for side, step in ((items[:at][::-1], -1), (items[at + 1 :], 1)):
        if len(side) < 2:
            continue
        stacked = np.vstack([lines[item] for item in side])
        minus = np.array([item in subtractable for item in side])
        plain = np.cumsum(stacked, axis=0)
        gross = np.cumsum(np.abs(stacked), axis=0)
        signed = np.cumsum(np.where(minus[:, None], -stacked, stacked), axis=0)
        subtracted = np.cumsum(minus)
        for end in range(1, len(side)):
            members = tuple(side[: end + 1][::step])
            yield members, plain[end], gross[end], ()
            if subtracted[end]:
                taken = tuple(item for item in members if item in subtractable)
                yield members, signed[end], gross[end], taken


def _agreement(
    value: FloatArray, total: FloatArray, gross: FloatArray, count: int, unit: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Rows where ``value`` equals the run's ``total``, and rows that count (not both 0)."""
    slack = np.maximum(TOLERANCE * np.maximum(np.abs(value), gross), 0.5 * unit * (count + 1))
    close = np.abs(value - total) <= slack
    counted = (value != 0) | (total != 0)
    return close, counted


def _next_total(
    order: Sequence[str],
    candidates: Collection[str],
    lines: Mapping[str, FloatArray],
    removed: Mapping[str, Total],
    subtractable: Collection[str],
    unit: float,
) -> Total | None:
    for label in order:
        if label not in candidates or label in removed or not lines[label].any():
            continue
        for run, total, gross, minus in _run_sums(order, label, lines, removed, subtractable):
            close, counted = _agreement(lines[label], total, gross, len(run), unit)
            if close.all() and counted.any():
                return Total(label, run, minus)
    return None


def _doubt(
    order: Sequence[str],
    label: str,
    lines: Mapping[str, FloatArray],
    removed: Mapping[str, Total],
    subtractable: Collection[str],
    unit: float,
) -> Doubt | None:
    value = lines[label]
    best: Doubt | None = None
    for run, total, gross, _ in _run_sums(order, label, lines, removed, subtractable):
        close, counted = _agreement(value, total, gross, len(run), unit)
        rows = int(counted.sum())
        agree = int((close & counted).sum())
        if rows >= DOUBT_ROWS and agree < rows and agree >= DOUBT_SHARE * rows:
            worst = int(np.flatnonzero(~close)[0])
            if best is None or agree / rows > best.agree / best.rows:
                best = Doubt(label, run, agree, rows, worst)
    return best
