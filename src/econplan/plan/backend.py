"""What the stage driver (:class:`econplan.plan.solve.Solver`) asks of a solver: the small
protocol a backend keeps, and the outcomes a run can have.

The driver owns what the plan problem means: the scaling, each stage's objective, how an
optimum is held for the stages after it, whole units cut short at their budget, and the
results in the problem's own units. A backend owns how a scaled LP (or MIP) is solved: which
algorithm, how it goes on from the last stage's point, and how it recovers from numerical
trouble. So a backend sees only matrices, bounds, costs and column indices, never the economy
or a stage's name, and another one (a first-order method, a GPU solver) plugs in beside
HiGHS's (:mod:`econplan.plan.highs`) without the driver changing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

Progress = Callable[[str], None]


class SolveError(Exception):
    """The solver stopped without an optimal plan (time limit, numerical trouble, unbounded)."""


class InfeasibleError(Exception):
    """No plan meets the hard constraints; the diagnosis explains which and why."""


class Status(enum.Enum):
    """How a backend's solve ended."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time limit"
    """The deadline passed: the plan's time limit, or a MIP stage's budget of seconds."""
    BUDGET = "budget"
    """Stopped at a budget counted in work: a MIP at its branch-and-bound nodes
    (``set_mip_budget``), an LP at its simplex iterations (``set_iteration_limit``)."""
    UNSETTLED = "unsettled"
    """Ended without saying whether the problem has an optimum (numerical trouble, the
    backend giving up), after whatever recovery the backend knows."""


AT_LOWER, BASIC, AT_UPPER, AT_ZERO = 0, 1, 2, 3
"""The status of a column or row in a basis (``Backend.basis``; HiGHS's codes): nonbasic at
its lower bound, basic, nonbasic at its upper bound, free and nonbasic at zero (and 4 beyond
it: nonbasic elsewhere)."""


@dataclass(frozen=True)
class Refined:
    """What ``Backend.refine`` did to a stage's optimum: the iterations it took, and whether it
    reached the tighter optimality test (``finished``) or stopped at its budget of iterations
    (the optimum then as found at the backend's own test, a little further on)."""

    iterations: int = 0
    finished: bool = True
    applied: bool = False
    """False where the backend has nothing to refine with (no basis: PDLP, whole units), or
    where it chose not to try (``why``)."""
    why: str = ""
    """Why a refine the backend could have run was not tried: the optimum is held as found
    (``HighsBackend.refine``, a basis too ill-conditioned for the refined test)."""


class Backend(Protocol):
    """A solver holding one scaled problem: rows ``row_lower <= A x <= row_upper``, columns
    ``col_lower <= x <= col_upper``, some columns whole, and a linear cost it minimises.

    Every array is in the scaled units the driver passes; indices are positions in ``A``.
    A backend that keeps no basis (a first-order method) returns None from ``basis`` and NaN
    ranges; the driver then reports no ranges and reads no optimal face."""

    method: str
    """What runs (``simplex``, ``ipm``, ``pdlp``), for plan.json and messages."""

    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
        integer: np.ndarray,
        feasibility: float,
    ) -> None:
        """Take the problem; ``integer``: columns that must come out whole (a MIP);
        ``feasibility``: the largest violation of a row or bound allowed (scaled)."""

    def set_costs(self, cost: np.ndarray) -> None: ...

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None: ...

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None: ...

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The bounds in force: column lower and upper, row lower and upper."""

    def set_mip_gaps(self, relative: float, absolute: float) -> None:
        """How close to optimal a MIP must prove its plan (absolute: in the cost's units)."""

    def set_mip_budget(self, nodes: int | None) -> None:
        """Stop a MIP after about this many branch-and-bound nodes (None: no limit), with
        ``Status.BUDGET``: a budget that, unlike seconds, gives the same plan on any machine."""

    def set_iteration_limit(self, iterations: int | None) -> None:
        """Stop an LP after this many simplex iterations, with ``Status.BUDGET`` and no
        recovery tried (None: no limit): a dive to whole units (:mod:`econplan.plan.dive`)
        gives up a rounding that simplex does not settle within it."""

    def reset(self) -> None:
        """Forget the last solve: the next starts from scratch."""

    def solve(self, deadline: float | None, continuing: bool, say: Progress) -> Status:
        """Minimise the cost, stopping at ``deadline`` (``time.perf_counter()``).

        ``continuing``: the point the last solve ended at is feasible here (only the cost
        changed, and the last optimum is held by a bound): go on from it (or from the basis
        ``set_basis`` gave since), and a finding of infeasibility is the backend's error, to
        recover from. Otherwise start from scratch, or from the basis given."""

    def values(self) -> np.ndarray:
        """The columns' values of the last solve (a MIP's: its best whole plan)."""

    def row_values(self) -> np.ndarray: ...

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        """Valuations of the rows and reduced costs of the columns (LP only)."""

    def iterations(self) -> int: ...

    def infeasibilities(self) -> tuple[float, float]:
        """The largest primal and dual infeasibility of the last solve (scaled)."""

    def status_text(self) -> str:
        """The backend's own words for how the last solve ended, for messages."""

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The optimal basis (status of every column and row: 0 at the lower bound, 1 basic,
        2 at the upper bound, 3 free at zero), or None without one."""

    def set_basis(
        self,
        col_status: np.ndarray,
        row_status: np.ndarray,
        feasible: bool = False,
        fresh: bool = False,
    ) -> None:
        """Start the next solve from this basis (completed where it does not fit): a like
        problem's optimum, dual feasible, which dual simplex repairs; or with ``feasible``, a
        basis primal feasible for the problem as it stands, which a solve ``continuing``
        goes on from by primal simplex. ``fresh``: a basis no solve ended at (the Leontief
        basis), which the next solve should price by a rule that asks nothing of it first
        (HiGHS: Devex, not steepest edge, whose weights cost a solve per row)."""

    def ranges(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How far each row's bound may fall (<= 0) and rise (>= 0) before the optimal basis
        changes; NaN where it cannot say."""

    def whole_plan(self) -> tuple[np.ndarray, float | None] | None:
        """After a MIP stopped short: its best whole plan and how far from optimal it proved
        to be (relative; None without a bound yet), or None where it found none."""

    def set_start(self, x: np.ndarray) -> None:
        """A plan to start the next MIP from (whole where it must be)."""

    def refine(self, deadline: float | None, say: Progress) -> Refined:
        """Take the last solve's optimum closer to the true one before the driver holds it
        (a tighter optimality test from the optimal point); what it did."""

    def polish(self, deadline: float | None, say: Progress) -> None:
        """Make the last solve's point as exact as the backend can (a vertex recomputed from
        its basis), keeping it where that fails."""
