"""The optimal face of the last stage: every plan that keeps every stage's optimum exactly, as
an LP of its own, for the stages that only choose among equally good plans (least waste, the
plan closest to a reference).

The last stage's valuations (its duals) prove a plan optimal when complementary slackness
holds: columns with a nonzero reduced cost stay where they are, rows with a nonzero valuation
stay at their bound. Every earlier stage is held by the bounds the stage loop set already, so
each plan on the face keeps every objective as the stages found it. The face is a small problem
(on the built-in plan 17,260 of 24,500 columns fixed), which HiGHS's presolve cuts down
further, where the same choice over every plan within the stages' tolerance ran for minutes
(docs/planning.md, "The reference stage").

Everything here is in the scaled units the solver's backend holds (econplan.plan.scaling):
the face is read from the backend's own values, fixed at what it holds, so that it is feasible
in its arithmetic. The choices on the face are solved by HiGHS, whatever the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import scipy.sparse as sp

from econplan.plan.highs import (
    NO_LIMIT,
    basis_of,
    highs_lp,
    new_highs,
    pass_model,
    set_basis,
)
from econplan.plan.solve import Solution, Solver

ZERO = 1e-9
"""A reduced cost or valuation of the scaled problem as the backend solved it (the stage's
cost +-1 on its column, or the column's scale where scaling made it smaller:
``Solver._objective``) above this fixes its column or row. That is the refined optimality
test (``econplan.plan.highs.REFINED_TOLERANCE``; HiGHS's own is 1e-7): a smaller dual is
rounding, not a price. Measured: the labour stage of the built-in plan with whole units
valued two grid lines' capacity at 1.8e-12 (1.9e-9 person-years a MWh once scaled back);
read as prices, they fixed both lines at capacity in both directions and the cross-hauling
stage could not net 1 TWh shipped each way. Either way the plan is safe: the stages' holds
stay in force as bounds, the face only narrows what a later choice may move; below it the
last objective could move by at most 1e-9 a scaled unit moved, within its hold."""


class Lent:
    """The HiGHS object the stages ended in, lent to the first choice on their face: it holds
    the same problem with the last stage's basis already factored, where a HiGHS object of the
    face's own factors it afresh first (20.7 s of the waste stage's 20.7 on a generated
    3,000-product economy, whose basis factors fill in densely). Taken once: the choice
    changes its costs and bounds (the solver sets them back before it solves again:
    ``Solver.lend``)."""

    def __init__(self, highs: highspy.Highs | None) -> None:
        self._highs = highs

    def take(self) -> highspy.Highs | None:
        highs, self._highs = self._highs, None
        return highs


@dataclass(frozen=True)
class Face:
    """The scaled problem with the last stage's optimal face fixed: ``matrix`` (rows by
    columns), bounds of columns and rows, and how many columns the face fixed."""

    matrix: sp.csc_matrix
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    fixed: int
    col_scale: np.ndarray
    feasibility: float
    basis: tuple[np.ndarray, np.ndarray] | None = None
    """An optimal basis at ``point`` (column and row statuses), which a choice on the face
    starts from (``highs``); None where none is known."""
    point: np.ndarray | None = None
    """The plan (scaled columns) the face was read at, or the last choice on it found."""
    lent: Lent = field(default_factory=lambda: Lent(None))
    """The stages' own HiGHS object, for the first choice on the face (``highs``)."""

    @classmethod
    def of(cls, solver: Solver) -> Face | None:
        """The face of the stage ``solver`` solved last (its basis and duals still in the
        backend); None where it has no basis (PDLP: approximate duals, no face to read)."""
        backend = solver.backend
        basis = backend.basis()
        if basis is None:
            return None
        col_lower, col_upper, row_lower, row_upper = backend.bounds()
        x, activity = backend.values(), backend.row_values()
        row_dual, col_dual = backend.duals()
        # the duals as solved, against the test they were solved to (ZERO)
        on = np.abs(col_dual) > ZERO
        col_lower[on] = col_upper[on] = x[on]
        bound = np.abs(row_dual) > ZERO
        row_lower[bound] = row_upper[bound] = activity[bound]
        lent = Lent(solver.lend())
        return cls(
            solver.scaled,
            col_lower,
            col_upper,
            row_lower,
            row_upper,
            int(np.count_nonzero(on)),
            solver.col_scale,
            solver.feasibility,
            basis,
            x,
            lent,
        )

    @property
    def n(self) -> int:
        return int(self.matrix.shape[1])

    def holding(self, coefs: np.ndarray, most: float, highs: highspy.Highs | None = None) -> Face:
        """The face with one more row: ``coefs`` . x (scaled columns) at most ``most``; how a
        choice made on the face is kept by the next one. ``highs``: where that choice was
        solved, whose optimal basis (the new row's slack basic) and plan the next starts from."""
        row = sp.csc_matrix(coefs.reshape(1, -1))
        found = basis_of(highs) if highs is not None else None
        return replace(
            self,
            matrix=sp.vstack([self.matrix, row]).tocsc(),
            row_lower=np.append(self.row_lower, -np.inf),
            row_upper=np.append(self.row_upper, most),
            basis=None if found is None else (found[0], np.append(found[1], 1).astype(np.int8)),
            point=None
            if highs is None
            else np.asarray(highs.getSolution().col_value, dtype=float)[: self.n],
            lent=Lent(None),  # another problem now: one row more
        )

    def highs(
        self,
        cost: np.ndarray,
        extra: sp.csc_matrix | None = None,
        extra_cost: np.ndarray | None = None,
        extra_rows: tuple[np.ndarray, np.ndarray] | None = None,
        time_limit: float | None = None,
        start: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> highspy.Highs:
        """HiGHS holding the face with ``cost`` on its columns, and optionally ``extra``
        columns (nonnegative, costing ``extra_cost``) in ``extra`` rows of their own, with
        those rows' bounds: the rows are [face columns | extra columns]. ``start``: a primal
        feasible basis of that problem to go on from (the face's own where there is no
        ``extra``)."""
        matrix, lower, upper = self.matrix, self.col_lower, self.col_upper
        row_lower, row_upper = self.row_lower, self.row_upper
        costs = cost
        if extra is not None and extra_cost is not None and extra_rows is not None:
            m, k = self.matrix.shape[0], extra.shape[1] - self.n
            matrix = sp.vstack([sp.hstack([self.matrix, sp.csc_matrix((m, k))]), extra]).tocsc()
            lower = np.concatenate([lower, np.zeros(k)])
            upper = np.concatenate([upper, np.full(k, np.inf)])
            row_lower = np.concatenate([row_lower, extra_rows[0]])
            row_upper = np.concatenate([row_upper, extra_rows[1]])
            costs = np.concatenate([cost, extra_cost])
        elif start is None:
            lent = self.lent.take()
            if lent is not None:
                return self._on(lent, cost, time_limit)
        highs = new_highs()
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("primal_feasibility_tolerance", self.feasibility)
        if time_limit is not None:
            highs.setOptionValue("time_limit", max(time_limit, 1.0))
        pass_model(highs, highs_lp(matrix, costs, (lower, upper), (row_lower, row_upper)))
        if start is None and extra is None:
            start = self.basis
        if start is not None:
            # the last stage's optimal basis is primal feasible on the face (its point is on
            # it): primal simplex goes on from it. Measured at 300 generated products: 0.15 s,
            # where dual simplex from scratch after presolve took 15.8 s (the same waste)
            set_basis(highs, *start)
            highs.setOptionValue("simplex_strategy", 4)
        else:
            # dual simplex from scratch, after presolve removes what the face fixed: a
            # fraction of a second on the built-in plan (on the whole problem, minutes)
            highs.setOptionValue("simplex_strategy", 1)
        return highs

    def _on(
        self, highs: highspy.Highs, cost: np.ndarray, time_limit: float | None
    ) -> highspy.Highs:
        """The stages' HiGHS object (``lent``) made to hold the face with ``cost``: its
        basis, optimal for the last stage, stays, and so do its factors, for primal simplex to
        go on from as from the face's own start."""
        n, m = self.n, self.matrix.shape[0]
        cols, rows = np.arange(n, dtype=np.int32), np.arange(m, dtype=np.int32)
        highs.changeColsCost(n, cols, np.asarray(cost, dtype=float))
        highs.changeColsBounds(n, cols, self.col_lower, self.col_upper)
        highs.changeRowsBounds(m, rows, self.row_lower, self.row_upper)
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("simplex_strategy", 4)
        highs.setOptionValue("simplex_iteration_limit", NO_LIMIT)
        highs.setOptionValue("primal_feasibility_tolerance", self.feasibility)
        # HiGHS counts an LP's time limit from when the object was made
        limit = np.inf if time_limit is None else highs.getRunTime() + max(time_limit, 1.0)
        highs.setOptionValue("time_limit", float(limit))
        return highs

    def solution(
        self, highs: highspy.Highs, like: Solution, problem_matrix: sp.csc_matrix
    ) -> Solution:
        """The plan HiGHS found on the face, in the problem's units, as a Solution like
        ``like`` (its stages and times)."""
        x = np.asarray(highs.getSolution().col_value)[: self.n] * self.col_scale
        return Solution(like.method, x, problem_matrix @ x, like.stages, like.seconds)


def optimal(highs: highspy.Highs) -> bool:
    return bool(highs.getModelStatus() == highspy.HighsModelStatus.kOptimal)


def run(highs: highspy.Highs) -> bool:
    """Solve a choice on the face (``Face.highs``); where going on from the start basis ends
    without an optimum, once more from scratch with dual simplex after presolve. Whether it
    found one."""
    highs.run()
    if optimal(highs):
        return True
    highs.clearSolver()
    highs.setOptionValue("simplex_strategy", 1)
    highs.run()
    return optimal(highs)
