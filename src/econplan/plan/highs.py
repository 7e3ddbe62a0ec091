"""HiGHS as a backend of the stage driver (:mod:`econplan.plan.backend`): its simplex, its
interior-point method (with crossover) or PDLP, and its branch and cut for whole units.

The problem is passed to HiGHS once; each stage changes costs and bounds only, so simplex goes
on from the last stage's basis. Everything HiGHS-specific about getting a stage solved lives
here: which simplex goes on from where, the recovery from numerical trouble (measured cases
in each method's note), the time limit as HiGHS counts it, and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

import highspy
import numpy as np
import scipy.sparse as sp

from econplan.plan.backend import (
    Progress,
    Refined,
    SolveError,
    Status,
)
from econplan.plan.ranging import bound_ranges

METHODS = {"simplex": "simplex", "ipm": "ipm", "pdlp": "pdlp"}

WHOLE_PLAN_FOUND = 2
"""HiGHS's primal solution status when a feasible point (a MIP's incumbent) is held."""

NO_LIMIT = 2**31 - 1
"""HiGHS's value for an integer option without a limit (``kHighsIInf``)."""

UNSETTLED = frozenset(
    {
        highspy.HighsModelStatus.kNotset,
        highspy.HighsModelStatus.kUnknown,
        highspy.HighsModelStatus.kSolveError,
        highspy.HighsModelStatus.kIterationLimit,
        highspy.HighsModelStatus.kPresolveError,
        highspy.HighsModelStatus.kPostsolveError,
    }
)
"""How a run can end without saying whether the stage has a plan at all: numerical trouble,
or HiGHS giving up. A time limit or an interrupt is the user's, and is not second-guessed."""

DUAL_TOLERANCE = 1e-7
"""HiGHS's own optimality test (dual feasibility, absolute on the scaled costs), which every
stage is solved to first."""

REFINED_TOLERANCE = 1e-9
"""The test a held stage is refined to (``HighsBackend.refine``)."""

REFINE_ITERATIONS = 1_000
"""The fewest simplex iterations a refine may take (``HighsBackend.refine``). Not a bound on
time: on a generated 1,000-product economy held by faces (``hold="face"``) the imports
stage's refine ran these 1,000 iterations in 194 s without reaching the refined test (0.19 s
an iteration, against 8 ms at HiGHS's own test); such a refine is not tried now
(``REFINE_ROUNDING``)."""

REFINE_SHARE = 4
"""A refine may take this many times the iterations of the longest stage so far (on the
built-in economy the maximin's refine took 711 to 728, its stage 5,000 to 6,000)."""

REFINE_ROUNDING = 100
"""A refine is tried only where no more reduced costs lie the wrong way of its test than
this, or than the iterations the stage took where those are more (``HighsBackend.refine``).
What a stage's last pivots leave is rounding on a few of them: on the built-in economy 13 to
1,018 after stages of 5,000 to 6,700 iterations, and 16 after a stage of none, each refined
in fewer iterations than there were. On a generated economy held by faces the imports stage
left 865 after 140 iterations (1,000 products) and 3,620 after 130 (3,000 products): there
the basis is too ill-conditioned for the test. Refined all the same, by primal simplex or by
dual, the largest grew from 8.9e-8 to 4.7e-4 in 400 iterations at 1,000 products, each
iteration costing a factorisation (0.4 s; 10 to 20 s at 3,000 products)."""

DEVEX, CHOOSE = 1, -1
"""HiGHS's ``simplex_dual_edge_weight_strategy``: Devex, and its own choice (dual steepest
edge). Dual simplex from a basis HiGHS did not reach itself prices by Devex, whose reference
weights start at 1: the exact steepest-edge weights of such a basis cost one backward solve
with its factors per row, and that was most of the first stage's time on IBGE's table split
into 3,000 products (12.8 s, against 0.4 s by Devex, the same 17-18 iterations) and
the reason time grew as n^2.2 from 10,000 to 30,000 products (docs/performance.md, "Pricing
a basis given from outside")."""

FALLBACK = {"simplex": "ipm", "ipm": "simplex", "pdlp": "ipm"}
"""The method that settles a stage the chosen one left unsettled."""

STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Status.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Status.UNBOUNDED,
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT,
    # what HiGHS reports when a MIP reaches mip_max_nodes (set_mip_budget); an LP never ends so
    highspy.HighsModelStatus.kSolutionLimit: Status.BUDGET,
}
"""HiGHS's model statuses as the driver reads them; any other is ``Status.UNSETTLED``."""


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints its banner from the C++ constructor, before any option can silence it;
    the CLI's stdout is for the plan, so the file descriptor is pointed away meanwhile."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def new_highs() -> highspy.Highs:
    """A silent Highs object."""
    with _quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def highs_lp(
    matrix: sp.spmatrix,
    cost: np.ndarray,
    col_bounds: tuple[np.ndarray, np.ndarray],
    row_bounds: tuple[np.ndarray, np.ndarray],
) -> highspy.HighsLp:
    """An LP for HiGHS, its matrix by columns."""
    csc = sp.csc_matrix(matrix)
    csc.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = csc.shape[1]
    lp.num_row_ = csc.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = col_bounds
    lp.row_lower_, lp.row_upper_ = row_bounds
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data
    return lp


def pass_model(highs: highspy.Highs, lp: highspy.HighsLp) -> None:
    """Hand ``lp`` to HiGHS whole: HiGHS drops coefficients it deems tiny (below
    small_matrix_value) with only a log line, which would change the problem unseen."""
    # entries that summed to exactly zero are no coefficient; HiGHS drops those rightly
    nonzeros = int(np.count_nonzero(np.asarray(lp.a_matrix_.value_)))
    highs.setOptionValue("small_matrix_value", 1e-12)  # the smallest HiGHS accepts
    if highs.passModel(lp) == highspy.HighsStatus.kError:
        raise SolveError("HiGHS refused the problem (see its log with output_flag on)")
    kept = highs.getNumNz()
    if kept != nonzeros:
        raise SolveError(
            f"HiGHS dropped {nonzeros - kept} of the problem's {nonzeros} coefficients as "
            "too small (1e-12 or less in size): check the economy for coefficients "
            "many orders of magnitude below the others"
        )


def _wrong_way(
    dual: np.ndarray,
    value: np.ndarray,
    bounds_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    test: float,
) -> int:
    """How many columns (or rows) that could move have a reduced cost (or valuation) the wrong
    way of an optimum by more than ``test``. HiGHS minimises: below ``-test`` is wrong unless
    the column sits at its upper bound, above ``test`` unless at its lower one (a nonbasic
    column sits exactly at its bound, and a basic one's cost is 0 but for rounding). Only
    those beyond the test are looked at, their bounds asked for by ``bounds_of``: every
    status and bound read would cost a second a call at 30,000 products."""
    beyond = np.flatnonzero(np.abs(dual) > test)
    if not len(beyond):
        return 0
    lower, upper = bounds_of(beyond)
    cost, at = dual[beyond], value[beyond]
    wrong = ((cost < -test) & (at < upper)) | ((cost > test) & (at > lower))
    return int(np.count_nonzero(wrong & (lower < upper)))


def _outside(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """The most by which ``values`` lie below ``lower`` or above ``upper`` (0 where within)."""
    if not len(values):
        return 0.0
    return float(max(0.0, np.max(lower - values), np.max(values - upper)))


_STATUSES = [highspy.HighsBasisStatus(v) for v in range(5)]
"""HiGHS's basis statuses by their value (lower, basic, upper, zero, nonbasic)."""


def basis_of(highs: highspy.Highs) -> tuple[np.ndarray, np.ndarray] | None:
    """HiGHS's basis now as column and row statuses, or None without a valid one."""
    basis = highs.getBasis()
    if not basis.valid:
        return None
    return (
        np.array([v.value for v in basis.col_status], dtype=np.int8),
        np.array([v.value for v in basis.row_status], dtype=np.int8),
    )


def set_basis(highs: highspy.Highs, col_status: np.ndarray, row_status: np.ndarray) -> None:
    """Start HiGHS's next run from this basis; one whose basic columns are dependent is
    repaired with slacks at the run, not refused.

    A basis whose count of basic variables is off is passed as *alien*: HiGHS completes it
    here, factorising it in the caller's thread and holding Python's lock, so Ctrl-C waits
    (11.7 s for the Leontief basis of a generated 3,000-product economy, measured
    2026-11-30; in a thread of its own the main thread still got the lock only 3 times in
    12 s). A basis whose count fits (the Leontief basis, a like problem's optimal basis) is
    passed as it is: then HiGHS factorises it when the run starts, in the run's own thread,
    which Ctrl-C does not wait for (``HighsBackend._run``). Measured on a generated
    1,000-product economy: setting it took 0.41 s as alien and 0.00 s as it is, the first
    stage the same 19 iterations and optimum either way."""
    basis = highspy.HighsBasis()
    # the statuses made once and looked up: one made per entry was 0.5 s per million
    basis.col_status = [_STATUSES[v] for v in np.asarray(col_status).tolist()]
    basis.row_status = [_STATUSES[v] for v in np.asarray(row_status).tolist()]
    basis.valid = True
    basic = int(np.count_nonzero(col_status == 1) + np.count_nonzero(row_status == 1))
    basis.alien = basic != len(row_status)
    if highs.setBasis(basis) == highspy.HighsStatus.kError:
        raise ValueError(
            f"HiGHS refused a basis of {len(col_status)} columns and {len(row_status)} rows"
        )


_ONE_AT_A_TIME = threading.Lock()
"""Held by a HiGHS run from its start until it is waited out (``HighsBackend._run``). highspy
1.16's ``startSolve`` and ``wait`` take locks that are class attributes, one pair for every
Highs in the process: a solve started in one thread while another ran in another (the web
server's ``--jobs`` 2 and more) failed with "Solver is already running". So the runs of a
process take turns; what a job does besides (loading, tables, writing) still runs at once."""

_LEFT_RUNNING: list[highspy.Highs] = []
"""HiGHS objects whose run was interrupted and had not stopped when the interrupt went on up
(inside a factorisation). Held so that none is destroyed while its thread runs: C++ then ends
the process with "terminate called without an active exception" (SIGABRT, where the user
was promised exit 130)."""


def left_running() -> bool:
    """Whether an interrupted HiGHS run is still going: the process must then end without
    Python's teardown (``os._exit``), which would destroy it mid-run (see ``_LEFT_RUNNING``)."""
    _LEFT_RUNNING[:] = [highs for highs in _LEFT_RUNNING if not highs.wait(0.0)[0]]
    return bool(_LEFT_RUNNING)


class HighsBackend:
    """HiGHS holding one scaled problem (the :class:`~econplan.plan.backend.Backend`
    protocol)."""

    def __init__(self, method: str = "simplex", threads: int | None = None, settle: bool = True):
        """``settle``: a stage left unsettled is solved again from scratch with another
        method (``_settle``), which may take minutes; without it the solve stops there. An
        LP under a caller's budget of iterations (``set_iteration_limit``) is never settled
        so: the caller gives it up."""
        if method not in METHODS:
            raise ValueError(f"unknown solver {method!r}; use one of {', '.join(METHODS)}")
        self.method = method
        self.settle = settle
        self.integer = False
        self._from_basis = False
        """A basis was given (``set_basis``): the next solve starts from it."""
        self._fresh = False
        """The basis given was ``fresh``: the next solve prices by Devex."""
        self._most = 0
        """The most iterations a stage of this solve took (a refine's budget)."""
        self._last = 0
        """The iterations the last stage took (``REFINE_ROUNDING``), over all its runs."""
        self._taken = 0
        """The iterations of the runs since the stage began (``_run``)."""
        self._iteration_limit: int | None = None
        """The simplex iterations a solve may take (``set_iteration_limit``)."""
        self._matrix: sp.csc_matrix | None = None
        """The problem loaded (``load``): what the polish checks the point against."""
        self._cost = np.zeros(0)
        """The costs set last (``set_costs``)."""
        self._feasibility = DUAL_TOLERANCE
        """The primal feasibility tolerance the problem was loaded with (``load``)."""
        self.highs = new_highs()
        highs = self.highs
        highs.setOptionValue("solver", METHODS[method])
        if method == "ipm":
            highs.setOptionValue("run_crossover", "on")  # a vertex: exact duals, clean zeros
        if threads:
            highs.setOptionValue("threads", threads)
        highs.setOptionValue("random_seed", 0)

    # -- the problem ------------------------------------------------------------------------
    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
        integer: np.ndarray,
        feasibility: float,
    ) -> None:
        highs = self.highs
        highs.setOptionValue("primal_feasibility_tolerance", feasibility)
        pass_model(highs, highs_lp(matrix, np.zeros(matrix.shape[1]), col_bounds, row_bounds))
        self._feasibility = feasibility
        self._matrix = matrix
        self._cost = np.zeros(matrix.shape[1])
        self.integer = len(integer) > 0
        if self.integer:
            cols = np.asarray(integer, dtype=np.int32)
            kinds = np.full(len(cols), highspy.HighsVarType.kInteger)
            highs.changeColsIntegrality(len(cols), cols, kinds)
            highs.setOptionValue("mip_feasibility_tolerance", 1e-9)

    def set_costs(self, cost: np.ndarray) -> None:
        n = len(cost)
        self._cost = np.array(cost, dtype=float)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), self._cost)

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.highs.changeColsBounds(
            len(cols), cols, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        )

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        self.highs.changeRowsBounds(
            len(rows), rows, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        )

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        lp = self.highs.getLp()
        return (
            np.array(lp.col_lower_, dtype=float),
            np.array(lp.col_upper_, dtype=float),
            np.array(lp.row_lower_, dtype=float),
            np.array(lp.row_upper_, dtype=float),
        )

    def set_mip_gaps(self, relative: float, absolute: float) -> None:
        self.highs.setOptionValue("mip_rel_gap", relative)
        self.highs.setOptionValue("mip_abs_gap", absolute)

    def set_mip_budget(self, nodes: int | None) -> None:
        # HiGHS checks the limit between batches of nodes: it may run a few dozen past it
        self.highs.setOptionValue("mip_max_nodes", NO_LIMIT if nodes is None else int(nodes))

    def set_iteration_limit(self, iterations: int | None) -> None:
        self._iteration_limit = iterations
        limit = NO_LIMIT if iterations is None else int(iterations)
        self.highs.setOptionValue("simplex_iteration_limit", limit)

    # -- solving ----------------------------------------------------------------------------
    def reset(self) -> None:
        self.highs.clearSolver()
        self._from_basis = False
        self._fresh = False
        self._most = 0

    def solve(self, deadline: float | None, continuing: bool, say: Progress) -> Status:
        highs = self.highs
        if self.method == "simplex":
            # after the first stage the basis stays primal feasible when the objective
            # changes and the last one is held: primal simplex goes on from it, where dual
            # simplex was measured to stall for minutes on the built-in economy
            # a basis given is dual feasible (a like problem's optimum, only bounds differ):
            # dual simplex repairs the primal side from it
            primal = continuing and not self._from_basis
            highs.setOptionValue("simplex_strategy", 4 if primal else 1)
        self._from_basis = False
        fresh, self._fresh = self._fresh, False
        self._taken = 0
        status = self._run(deadline, devex=fresh)
        if status == highspy.HighsModelStatus.kIterationLimit and self._iteration_limit:
            return Status.BUDGET  # the caller's budget: not numerical trouble to recover from
        if status in UNSETTLED and self.method == "simplex" and continuing:
            # primal simplex from the last stage's basis can end unsure of optimality
            # on a degenerate stage (seen on the built-in economy with a growth path:
            # the labour stage); dual simplex from the same basis settles it
            say("  HiGHS ended the stage unsure of its optimum; again with dual simplex")
            highs.setOptionValue("simplex_strategy", 1)
            status = self._run(deadline, devex=fresh)  # the same basis, no weights for it
        if status == highspy.HighsModelStatus.kInfeasible and continuing:
            # the last stage's optimum keeps every hold, so this stage cannot truly be
            # infeasible: simplex lost its way from the last basis (seen on a re-plan of
            # the built-in economy, tier 1 after the past balance); again from scratch
            say("  HiGHS found the stage infeasible, which the last optimum refutes; again")
            highs.clearSolver()
            highs.setOptionValue("simplex_strategy", 1)
            status = self._run(deadline)
        if status == highspy.HighsModelStatus.kIterationLimit and self._iteration_limit:
            return Status.BUDGET  # the caller's budget ran out in a retry
        if status in UNSETTLED and self.settle and not self._iteration_limit:
            # (with a caller's budget of iterations the caller gives the LP up: interior
            # point from scratch, which no count of simplex iterations bounds, took 265 s and
            # still ended unsettled on a dive's LP of an ensemble member)
            status = self._settle(deadline, say)
        self._last = self._taken  # a retry's runs too: the pivots that made the optimum
        self._most = max(self._most, self._last)
        return STATUS.get(status, Status.UNSETTLED)

    def crossover(
        self, x: np.ndarray, row_value: np.ndarray, row_dual: np.ndarray, col_dual: np.ndarray
    ) -> bool:
        """A basis from a primal-dual point (a first-order method's, not on a vertex) by
        HiGHS's crossover (IPX's), for simplex to finish the stage from; whether it gave one.

        highspy 1.16 ends the process with a segmentation fault in ``crossover`` on a Highs
        that has not run since its model was passed (even a 2-by-2 LP); after a run of no
        iteration, presolve off (which only sets up the slack basis), it works, so every
        crossover is preceded by one. Crossover runs in this thread holding Python's lock
        (0.03 s a stage at 100 generated products, 0.4 s at 300, 7.9 s for the first stage at
        1,000): the first-order backend runs it in a child process."""
        highs = self.highs
        presolve = highs.getOptionValue("presolve")[1]
        unlimited = highs.getOptionValue("simplex_iteration_limit")[1]
        highs.setOptionValue("simplex_iteration_limit", 0)
        highs.setOptionValue("presolve", "off")
        try:
            highs.run()
        finally:
            highs.setOptionValue("simplex_iteration_limit", unlimited)
            highs.setOptionValue("presolve", presolve)
        point = highspy.HighsSolution()
        point.col_value = np.asarray(x, dtype=float)
        point.row_value = np.asarray(row_value, dtype=float)
        point.col_dual = np.asarray(col_dual, dtype=float)
        point.row_dual = np.asarray(row_dual, dtype=float)
        point.value_valid = True
        point.dual_valid = True
        status = highs.crossover(point)
        gave = status != highspy.HighsStatus.kError and bool(highs.getBasis().valid)
        self._from_basis = gave
        return gave

    def refine(self, deadline: float | None, say: Progress) -> Refined:
        """The stage's optimum taken to the refined test (``REFINED_TOLERANCE``): primal
        simplex from its optimal basis, for at most ``REFINE_SHARE`` times the iterations of
        the longest stage so far (``REFINE_ITERATIONS`` at least: counted in iterations, not
        seconds, so that a plan does not depend on how loaded the machine is); where that
        budget runs out, on to an optimum at HiGHS's own test from the point reached.

        Why: the optimal face a stage is held by (``Solver``, ``hold="face"``) is read from
        its basis; at HiGHS's own test the built-in maximin stopped 3e-7 to 9e-7 below its
        optimum by an amount that depended on simplex's path, its reduced costs carried
        noise of that size, and the faces read from two paths gave imports of 2,361 and
        1,847 m USD; refined, both give 1,789.9 (docs/performance.md, "Optimality tolerance
        and held stages").

        Where more reduced costs and valuations fail the refined test than rounding leaves
        (``REFINE_ROUNDING``), nothing runs, the face is read from the optimum as found and
        ``Refined.why`` says so. Where none fails it HiGHS runs all the same (it factors the
        basis again, and may pivot where its own scaling of the problem rounds otherwise):
        skipping that run changed the built-in plan to another among equals
        (docs/performance.md, "A refine the basis cannot carry")."""
        highs = self.highs
        if self.integer or self.method == "pdlp" or not highs.getBasis().valid:
            return Refined()
        wrong = self._wrong_way(REFINED_TOLERANCE)
        if wrong > max(REFINE_ROUNDING, self._last):
            why = (
                f"{wrong:,} reduced costs and valuations fail the refined test "
                f"({REFINED_TOLERANCE:.0e}) after {self._last:,} iterations, more than "
                "rounding leaves: the basis cannot carry that test"
            )
            say(f"  {why}; the optimum is held as found")
            return Refined(0, False, False, why)
        budget = max(REFINE_ITERATIONS, REFINE_SHARE * self._most)
        unlimited = highs.getOptionValue("simplex_iteration_limit")[1]
        optimum = highs.getBasis()
        # simplex whatever the method: interior point would start again from scratch
        highs.setOptionValue("solver", "simplex")
        highs.setOptionValue("simplex_strategy", 4)
        highs.setOptionValue("dual_feasibility_tolerance", REFINED_TOLERANCE)
        highs.setOptionValue("simplex_iteration_limit", budget)
        try:
            status = self._run(deadline)
            taken = self.iterations()
            if status == highspy.HighsModelStatus.kOptimal:
                return Refined(taken, True, True)
            if status == highspy.HighsModelStatus.kTimeLimit:
                raise SolveError("the time limit ran out while refining a stage's optimum")
            highs.setOptionValue("dual_feasibility_tolerance", DUAL_TOLERANCE)
            highs.setOptionValue("simplex_iteration_limit", unlimited)
            if status == highspy.HighsModelStatus.kIterationLimit:
                say(f"  the refined test not reached in {budget:,} iterations: on from there")
            else:
                # primal simplex lost its way at the tighter test: back to the stage's
                # optimal basis, which HiGHS's own test accepts again at once
                say(f"  refining ended {highs.modelStatusToString(status)}: the optimum as found")
                highs.clearSolver()
                highs.setBasis(optimum)
            status = self._run(deadline)
        finally:
            highs.setOptionValue("dual_feasibility_tolerance", DUAL_TOLERANCE)
            highs.setOptionValue("simplex_iteration_limit", unlimited)
            highs.setOptionValue("solver", METHODS[self.method])
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolveError(
                "the stage lost its optimum while refining it "
                f"({highs.modelStatusToString(status)})"
            )
        return Refined(taken + self.iterations(), False, True)

    def _run(self, deadline: float | None, devex: bool = False) -> highspy.HighsModelStatus:
        """One HiGHS run, stopped by the deadline or by Ctrl-C within a fraction of a second.

        HiGHS's LP time_limit counts its run time since the Highs object was made, over every
        stage, where a MIP counts its own run: the limit is set so that either stops at the
        deadline. HiGHS runs in a thread of its own while this one waits in short steps, so a
        KeyboardInterrupt reaches Python at once; HiGHS is then asked to stop (its interrupt
        callbacks) and the interrupt goes on up, with nothing written.

        ``devex``: dual simplex prices by Devex (``DEVEX``) in this run. The option is set
        only when it changes, so that the runs priced by HiGHS's choice run as they did
        before there was a choice to make.

        Runs take turns in a process (``_ONE_AT_A_TIME``); the time left to the deadline is
        read once this run's turn has come."""
        with _ONE_AT_A_TIME:
            return self._run_in_turn(deadline, devex)

    def _run_in_turn(self, deadline: float | None, devex: bool) -> highspy.HighsModelStatus:
        highs = self.highs
        weights = DEVEX if devex else CHOOSE
        if highs.getOptionValue("simplex_dual_edge_weight_strategy")[1] != weights:
            highs.setOptionValue("simplex_dual_edge_weight_strategy", weights)
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return highspy.HighsModelStatus.kTimeLimit
            highs.setOptionValue(
                "time_limit", float(left if self.integer else highs.getRunTime() + left)
            )
        else:
            # a MIP stage's budget set the limit on the last run: it must not stop this one
            highs.setOptionValue("time_limit", float("inf"))
        highs.HandleUserInterrupt = True  # lets cancelSolve stop simplex and IPM
        highs.startSolve()
        try:
            while not highs.wait(0.05)[0]:
                pass
        except KeyboardInterrupt:
            highs.cancelSolve()
            # simplex and IPM stop at their next iteration; PDLP has no interrupt callback, and
            # nothing stops HiGHS inside a factorisation (45 s at 3,000 generated products):
            # leave it running and go (measured there: the interrupt surfaced 2.0 s after
            # Ctrl-C when this waited 2 s, 0.5 s now)
            if not highs.wait(0.5)[0]:
                _LEFT_RUNNING.append(highs)
            raise
        status: highspy.HighsModelStatus = highs.getModelStatus()
        self._taken += self.iterations()
        return status

    def _settle(self, deadline: float | None, say: Progress) -> highspy.HighsModelStatus:
        """The stage again, from scratch, with another method, when the chosen one ended it
        without saying whether it has an optimum, every earlier optimum held. Measured on the
        sanctions scenario (coke and crude oil cut off): dual simplex ran 88 s on the first
        stage, its objective climbing to 1.5e10 and its basis losing all accuracy, and ended
        "Not Set"; the interior-point method found the hard constraints infeasible in 0.6 s.
        On later stages: the labour stage of cement_10mt (Unknown from primal and from dual
        simplex) and of a member of an ensemble (Not Set). Interior point ends with
        crossover, so an optimal stage leaves a basis the later stages go on from.
        """
        highs = self.highs
        other = FALLBACK[self.method]
        text = self.status_text()
        say(f"  HiGHS ended the stage unsettled ({text}); again from scratch with {other}")
        highs.clearSolver()
        highs.setOptionValue("solver", METHODS[other])
        highs.setOptionValue("run_crossover", "on")  # a basis for the stages after it
        if other == "simplex":
            highs.setOptionValue("simplex_strategy", 1)
        try:
            status = self._run(deadline)
        finally:
            highs.setOptionValue("solver", METHODS[self.method])
        say(f"  {other}: {highs.modelStatusToString(status)}")
        return status

    def polish(self, deadline: float | None, say: Progress) -> None:
        """The last stage's vertex computed afresh from its basis. After thousands of updates
        of the basis factors over the stages, the values HiGHS holds carry their rounding:
        members of an ensemble missed verification by 4e-6 to 6e-4 (a balance of
        artificial leather in Komdok), where the same basis factored anew gives 4e-15, in
        0.1 s and no iteration. Should HiGHS find the fresh values not optimal, it goes on
        from them; should it fail, the values as they were stand.

        A point already within the tests the stages were solved to (``_accurate``) is kept
        without it: at scale the factorisation is most of the polish's cost (18.5 s on a
        generated 3,000-product economy, whose basis factors fill in densely), and there
        it left the residuals where they were within a factor of 3."""
        highs = self.highs
        if self.integer or self.method == "pdlp":
            return
        basis = highs.getBasis()
        if not basis.valid:
            return
        kept = highs.getSolution()
        if self._accurate(kept):
            return
        highs.clearSolver()
        highs.setBasis(basis)
        highs.setOptionValue("simplex_strategy", 1)
        # 0 iterations as a rule: exact steepest-edge weights would be all its cost (DEVEX)
        if self._run(deadline, devex=True) != highspy.HighsModelStatus.kOptimal:
            say("  the last basis factored afresh was not optimal: the values as solved stand")
            highs.setSolution(kept)

    def _accurate(self, solution: highspy.HighsSolution) -> bool:
        """Whether HiGHS's point and valuations pass the tests the stages were solved to,
        recomputed from the problem: the point within the primal feasibility tolerance the
        problem was loaded with (1e-10, which verification was measured to need), the
        reduced costs within the refined test (``REFINED_TOLERANCE``) the faces are read at.
        The drift the polish is for was 4e-6 to 6e-4; rounding is far below either test."""
        primal, dual = self._residuals(solution)
        return primal <= self._feasibility and dual <= REFINED_TOLERANCE

    def _wrong_way(self, test: float) -> int:
        """How many nonbasic columns and rows of the last optimum have a reduced cost or
        valuation the wrong way by more than ``test`` (``_wrong_way``)."""
        highs = self.highs
        solution = highs.getSolution()

        def col_bounds(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            lower, upper = highs.getCols(len(cols), cols.astype(np.int32))[3:5]
            return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)

        def row_bounds(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            lower, upper = highs.getRows(len(rows), rows.astype(np.int32))[2:4]
            return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)

        columns = _wrong_way(
            np.asarray(solution.col_dual, dtype=float),
            np.asarray(solution.col_value, dtype=float),
            col_bounds,
            test,
        )
        rows = _wrong_way(
            np.asarray(solution.row_dual, dtype=float),
            np.asarray(solution.row_value, dtype=float),
            row_bounds,
            test,
        )
        return columns + rows

    def _residuals(self, solution: highspy.HighsSolution) -> tuple[float, float]:
        """How far HiGHS's point and valuations are from what the problem makes of them:
        the most by which a row as its values make it (``A x``, recomputed here, not the row
        values HiGHS reports) or a value lies outside its bounds, in the scaled units the
        backend holds and its feasibility tolerance tests; and the largest
        ``|c - A'y - reduced costs|``, relative to ``|c| + |A|'|y|`` where that exceeds 1.
        Where the updates of the basis factors have drifted, these show it: the values HiGHS
        holds are kept within their bounds, the rows they make are not."""
        matrix = self._matrix
        assert matrix is not None
        x = np.asarray(solution.col_value, dtype=float)
        y = np.asarray(solution.row_dual, dtype=float)
        d = np.asarray(solution.col_dual, dtype=float)
        col_lower, col_upper, row_lower, row_upper = self.bounds()
        rows = matrix @ x
        primal = max(_outside(rows, row_lower, row_upper), _outside(x, col_lower, col_upper))
        dual = np.abs(self._cost - matrix.T @ y - d) / np.maximum(
            1.0, np.abs(self._cost) + abs(matrix).T @ np.abs(y)
        )
        return primal, float(dual.max(initial=0.0))

    # -- what a solve gave ------------------------------------------------------------------
    def values(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().col_value, dtype=float)

    def row_values(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().row_value, dtype=float)

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        solution = self.highs.getSolution()
        return (
            np.asarray(solution.row_dual, dtype=float),
            np.asarray(solution.col_dual, dtype=float),
        )

    def iterations(self) -> int:
        info = self.highs.getInfo()
        return int(
            info.simplex_iteration_count
            + max(info.ipm_iteration_count, 0)
            + max(info.pdlp_iteration_count, 0)
            + max(info.crossover_iteration_count, 0)
        )

    def infeasibilities(self) -> tuple[float, float]:
        info = self.highs.getInfo()
        return float(info.max_primal_infeasibility), float(info.max_dual_infeasibility)

    def status_text(self) -> str:
        text: str = self.highs.modelStatusToString(self.highs.getModelStatus())
        return text

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        return basis_of(self.highs)

    def set_basis(
        self,
        col_status: np.ndarray,
        row_status: np.ndarray,
        feasible: bool = False,
        fresh: bool = False,
    ) -> None:
        set_basis(self.highs, col_status, row_status)
        self._from_basis = not feasible
        self._fresh = fresh and not feasible

    def ranges(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.integer or self.method == "pdlp" or not self.highs.getBasis().valid:
            return np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        return bound_ranges(self.highs, rows)

    def whole_plan(self) -> tuple[np.ndarray, float | None] | None:
        info = self.highs.getInfo()
        if info.primal_solution_status != WHOLE_PLAN_FOUND:
            return None
        reported = float(info.mip_gap)
        # no bound yet: HiGHS reports an infinite gap, which plan.json cannot hold
        return self.values(), (reported if np.isfinite(reported) else None)

    def set_start(self, x: np.ndarray) -> None:
        start = highspy.HighsSolution()
        start.col_value = np.asarray(x, dtype=float)
        start.value_valid = True
        self.highs.setSolution(start)
