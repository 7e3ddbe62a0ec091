"""A stage's LP optimum taken to whole units by diving: one whole column fixed at a time, the
LP solved again from its last basis after each.

The column fixed next is the least fractional one (the one the LP is surest of), at the
whole unit nearest to it, or where a guide is given (the whole plan of the stage before,
which keeps every hold) and is one of its two neighbours, at the guide's: the guide's units
hold together, so going its way most often stays feasible. Where the LP with that unit
fixed is worse than before it, the other neighbour is tried as well and the better kept
(a look ahead of one column: on the built-in economy's first stage, the nearest unit of
each column in turn left a tier-1 target 1.7% short; the look takes at most
``LOOK_ITERATIONS``). Where the LP with a unit fixed has no plan, or simplex does not settle
it within its budget of iterations (``ITERATIONS``), the other neighbour is tried. Where
neither has a plan, the dive has failed (fixing columns only shrinks the LP: neither will
have one later); where simplex ran out of iterations on one of them, the column is freed
again and set aside until another column is fixed. A dive that ends with only set-aside
columns fractional, or runs past ``LPS_PER_COLUMN`` LPs a column, has failed too: the
caller then settles the stage at its guide's units (``econplan.plan.solve.Solver``).

Every limit is a count, so a dive gives the same whole plan on any machine. It knows
nothing of economies or stages: columns, bounds and a backend (the protocol of
:mod:`econplan.plan.backend`), with the whole columns unscaled (``Solver`` gives them a
scale of 1, so a whole number in the backend is a whole number of units).

What it gives and costs on the built-in economy with every option whole, against HiGHS's
branch and cut, is in docs/planning.md, section 4.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from econplan.plan.backend import Backend, Progress, Status

ITERATIONS = 1_000
"""The simplex iterations one LP of a dive may take before its rounding is given up.
Measured on the built-in economy with every option whole: roundings that hold took up to 838
iterations (0.7 s); with a budget of 300 the imports and labour stages gave up cement
factories that a whole unit more would have carried, and fell back to the stage before's
units (imports 14% above the relaxation, against 2.1% at 1,000). Roundings that do not hold
(more solar in Pyongyang in 2021, against the held consumption level) ran their 1,000
iterations in 53 s to more than 6 minutes, dual simplex suspecting an unbounded dual ray at
each: a count of iterations does not bound a dive's time (docs/planning.md 4.5)."""

LOOK_ITERATIONS = 100
"""The simplex iterations a look the other way may take, where the first way held but lost
against the LP before the fix."""

RESOLVE_ITERATIONS = 20_000
"""The simplex iterations a dive's LP known to have a plan may take (back to a way that held,
or to the LP before a fix), from its basis there: a count, so that no such LP goes to interior
point from scratch (which no count bounds; an LP under a budget is its caller's to give up,
and the dive has then failed)."""

LPS_PER_COLUMN = 4
"""A dive may solve at most this many LPs per whole column (set-aside columns are tried
again after each column fixed, which could otherwise take the square of their count)."""

WHOLE = 1e-9
"""A column within this of a whole number is whole (verification's test of whole units)."""

WORSE = 1e-9
"""A fix that leaves the LP's objective worse than before by more than this (relative)
sends the dive to try the other neighbour too."""


@dataclass(frozen=True)
class Dive:
    """How a dive went."""

    whole: bool
    """Every whole column came out whole (else the caller settles the stage otherwise)."""
    lps: int
    """The LPs it solved (each from the last basis)."""
    given_up: int
    """Roundings given up: the LP had no plan, or simplex did not settle it in its budget."""


def dive(
    backend: Backend,
    cols: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    guide: np.ndarray | None,
    objective: Callable[[], float],
    deadline: float | None,
    say: Progress,
    iterations: int = ITERATIONS,
    look: int = LOOK_ITERATIONS,
) -> tuple[Status, Dive]:
    """Take the backend's optimal LP point to whole values on ``cols`` (``lower`` and
    ``upper``: their own bounds; ``guide``: whole values for them that keep every other
    constraint, or None; ``objective``: the backend's objective now, minimised). The backend
    is left at the LP optimum with the columns fixed where the dive fixed them;
    ``Status.TIME_LIMIT`` where the deadline passed."""
    cols = np.asarray(cols, dtype=np.int64)
    free = np.ones(len(cols), dtype=bool)
    aside = np.zeros(len(cols), dtype=bool)
    lps = given_up = 0
    most = LPS_PER_COLUMN * len(cols)

    def solve(limit: int | None) -> Status:
        nonlocal lps
        backend.set_iteration_limit(limit)
        lps += 1
        return backend.solve(deadline, False, say)

    def fix(j: int, low: float, high: float) -> None:
        backend.set_column_bounds(cols[[j]], np.array([low]), np.array([high]))

    try:
        while True:
            x = backend.values()[cols]
            fraction = np.abs(x - np.round(x))
            fractional = (fraction > WHOLE) & free
            candidates = np.flatnonzero(fractional & ~aside)
            if not len(candidates) or lps >= most:
                return Status.OPTIMAL, Dive(not fractional.any(), lps, given_up)
            j = int(candidates[np.argmin(fraction[candidates])])  # ties: the first column
            ways = _ways(float(x[j]), None if guide is None else float(guide[j]))
            basis = backend.basis()
            before = objective()
            held: tuple[float, float, tuple[np.ndarray, np.ndarray] | None] | None = None
            infeasible = 0
            for attempt, value in enumerate(ways):
                looking = held is not None  # the first way held, but lost against the LP
                fix(j, value, value)
                status = solve(look if looking else iterations)
                if status == Status.TIME_LIMIT:
                    return status, Dive(False, lps, given_up)
                if status == Status.OPTIMAL:
                    if held is None or objective() < held[1]:
                        held = (value, objective(), backend.basis())
                elif not looking:
                    given_up += 1
                    infeasible += status == Status.INFEASIBLE
                if held is not None and held[1] <= before + WORSE * max(abs(before), 1.0):
                    break  # as good as before the fix: no need to look the other way
                if attempt == 0 and basis is not None:
                    backend.set_basis(*basis)  # the other way starts where this one did
            if held is not None:
                free[j] = False
                aside[:] = False  # the LP moved: what ran out of iterations may hold now
                if held[0] == value:
                    continue  # the last way tried is the one kept, its basis in place
                fix(j, held[0], held[0])  # the first way was better: back to it
                if held[2] is not None:
                    backend.set_basis(*held[2])
                status = solve(RESOLVE_ITERATIONS)
                if status != Status.OPTIMAL:
                    return status, Dive(False, lps, given_up)
                continue
            # neither way held: back to the LP before the fix
            fix(j, float(lower[j]), float(upper[j]))
            if basis is not None:
                backend.set_basis(*basis)
            status = solve(RESOLVE_ITERATIONS)
            if status != Status.OPTIMAL or infeasible == 2:
                # fixing only shrinks the LP: a column neither of whose neighbours has a
                # plan now never will in this dive
                return status, Dive(False, lps, given_up)
            aside[j] = True  # simplex ran out of iterations: again after another fix
    finally:
        backend.set_iteration_limit(None)


def _ways(value: float, guide: float | None) -> tuple[float, float]:
    """The two whole neighbours of ``value``, the one to try first first: the guide's where
    it is one of them, else the nearer."""
    below, above = float(np.floor(value)), float(np.ceil(value))
    first = float(np.round(value))
    if guide is not None and round(guide) in (below, above):
        first = float(round(guide))
    return first, (above if first == below else below)
