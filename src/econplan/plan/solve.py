"""Solving the plan problem with HiGHS: the stages in order, each objective held (within the
tolerance) before the next, and the valuations of every row in every stage.

The problem is passed to HiGHS once; each stage changes one cost and one bound, so simplex
starts every stage from the previous basis, and a caller can change bounds or right-hand sides
(``set_row_bounds``, ``set_column_bounds``) and solve again without rebuilding (scenarios).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.plan.assemble import PlanProblem, Stage
from econplan.plan.ranging import bound_ranges
from econplan.plan.scaling import geometric_scaling

METHODS = {"simplex": "simplex", "ipm": "ipm", "pdlp": "pdlp"}

Progress = Callable[[str], None]


WHOLE_PLAN_FOUND = 2
"""HiGHS's primal solution status when a feasible point (a MIP's incumbent) is held."""

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

FALLBACK = {"simplex": "ipm", "ipm": "simplex", "pdlp": "ipm"}
"""The method that settles a first stage the chosen one left unsettled."""


class SolveError(Exception):
    """HiGHS stopped without an optimal plan (time limit, numerical trouble, unbounded)."""


class InfeasibleError(Exception):
    """No plan meets the hard constraints; the diagnosis explains which and why."""


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    value: float
    held: tuple[float, float]
    """The bounds the stage's column is held within for the stages after it."""
    seconds: float
    iterations: int
    row_dual: np.ndarray = field(repr=False)
    col_dual: np.ndarray = field(repr=False)
    ranged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    """Rows (limits with a nonzero valuation in this stage) whose range is known: ..."""
    range_down: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    """... how far each row's bound may fall (<= 0) and ..."""
    range_up: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    """... rise (>= 0), in the problem's units, before the stage's basis changes and the
    valuation with it (NaN where HiGHS gave no basis to range)."""
    basis: Basis | None = field(default=None, repr=False)
    """The stage's optimal basis, to start the same stage of a like problem from."""


@dataclass(frozen=True)
class Basis:
    """A simplex basis by label: the status of every column and row (HiGHS's codes: 0 at
    the lower bound, 1 basic, 2 at the upper bound, 3 free at zero), so that it can start a
    problem of another shape (a scenario's, a member's) where the labels match."""

    columns: pd.Index
    rows: pd.Index
    column_status: np.ndarray
    row_status: np.ndarray

    def for_problem(self, problem: PlanProblem) -> tuple[np.ndarray, np.ndarray]:
        """The statuses for ``problem``'s columns and rows: as here where the label is the
        same; a new column at its lower bound and a new row basic (its slack), which keeps
        the count of basic variables right when only rows and columns are added."""
        columns = self.columns.get_indexer(pd.Index(problem.lp.column_labels()))
        rows = self.rows.get_indexer(pd.Index(problem.lp.row_labels()))
        column_status = np.where(columns >= 0, self.column_status[columns], 0)
        row_status = np.where(rows >= 0, self.row_status[rows], 1)
        return column_status.astype(np.int8), row_status.astype(np.int8)


@dataclass(frozen=True)
class Solution:
    method: str
    x: np.ndarray = field(repr=False)
    row_activity: np.ndarray = field(repr=False)
    stages: tuple[StageResult, ...]
    seconds: float


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


def _new_highs() -> highspy.Highs:
    with _quiet_stdout():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def _highs_lp(
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


def _pass(highs: highspy.Highs, lp: highspy.HighsLp) -> None:
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


class Solver:
    """HiGHS holding one assembled plan problem."""

    def __init__(
        self,
        problem: PlanProblem,
        method: str = "simplex",
        time_limit: float | None = None,
        threads: int | None = None,
        integer: bool = False,
        feasibility: float = 1e-10,
        settle: bool = True,
        stage_budget: float | None = None,
    ) -> None:
        """``integer``: solve every stage as a MIP with the problem's integer columns whole
        (HiGHS's branch and cut; no valuations then: see :mod:`econplan.plan.whole`);
        ``settle``: a stage left unsettled is solved again from scratch with another method
        (``_settle``), which may take minutes; without it the solve stops there at once.
        ``stage_budget``: with ``integer``, the seconds one stage's MIP may run; a stage that
        runs past them is settled at the best its best whole plan can do (``_cut_short``;
        ``cut_short`` says which and how far from optimal they stopped)."""
        if method not in METHODS:
            raise ValueError(f"unknown solver {method!r}; use one of {', '.join(METHODS)}")
        self.problem = problem
        self.method = method
        self.settle = settle
        self.time_limit = time_limit
        self.feasibility = feasibility
        self.objective_scale = 1.0
        """What HiGHS's objective of the stage being solved was divided by (``_objective``)."""
        self.stage_budget = stage_budget
        self.cut_short: list[dict[str, float | str | None]] = []
        """The MIP stages that ran past ``stage_budget``: name, seconds and relative gap."""
        self._fixed_whole = False
        self.highs = _new_highs()
        highs = self.highs
        highs.setOptionValue("solver", METHODS[method])
        if method == "ipm":
            highs.setOptionValue("run_crossover", "on")  # a vertex: exact duals, clean zeros
        if threads:
            highs.setOptionValue("threads", threads)
        highs.setOptionValue("random_seed", 0)
        # feasibility is judged on the scaled problem, where a row may be 2^-22 of its own
        # size; at the default 1e-7 a balance could be short by a few 1e-6 of a unit in the
        # problem's units, enough to fail verification where nothing else flows. 1e-9 was
        # enough until the growth path and whole units: a re-plan of the built-in economy
        # then left sea freight in South Hwanghae short by 7.8e-6 of its flows; at 1e-10 it
        # verifies to 2.7e-9
        highs.setOptionValue("primal_feasibility_tolerance", feasibility)
        col_lower, col_upper, row_lower, row_upper = problem.lp.bounds()
        # HiGHS solves diag(r) A diag(c) in x / c; every value in and out goes through
        # _to_solver / _from_solver, so callers see the problem's own units
        self.row_scale, self.col_scale = geometric_scaling(
            problem.matrix, col_lower, col_upper, row_lower, row_upper
        )
        if integer:
            # HiGHS makes the column it holds whole, x / c: whole units need c = 1
            self.col_scale[np.asarray(problem.integer, dtype=np.int64)] = 1.0
        scaled = sp.diags(self.row_scale) @ problem.matrix @ sp.diags(self.col_scale)
        _pass(
            highs,
            _highs_lp(
                scaled,
                np.zeros(scaled.shape[1]),
                (col_lower / self.col_scale, col_upper / self.col_scale),
                (row_lower * self.row_scale, row_upper * self.row_scale),
            ),
        )
        self._base_col_bounds = (col_lower.copy(), col_upper.copy())
        self.integer = integer and len(problem.integer) > 0
        if self.integer:
            cols = np.asarray(problem.integer, dtype=np.int32)
            kinds = np.full(len(cols), highspy.HighsVarType.kInteger)
            highs.changeColsIntegrality(len(cols), cols, kinds)
            # each stage's optimum is held within the tolerance: the MIP must find it that
            # close, not within HiGHS's default gap of 1e-4
            highs.setOptionValue("mip_rel_gap", problem.tolerance)
            highs.setOptionValue("mip_feasibility_tolerance", 1e-9)

    # -- changes without rebuilding -----------------------------------------------------------
    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds (right-hand sides) of rows, for the next ``solve``."""
        rows = np.asarray(rows, dtype=np.int32)
        scale = self.row_scale[rows]
        self.highs.changeRowsBounds(
            len(rows),
            rows,
            np.asarray(lower, dtype=float) * scale,
            np.asarray(upper, dtype=float) * scale,
        )

    def set_target(self, target: str, required: float) -> None:
        """A new amount for a target (absolute, in its product's unit), for the next
        ``solve``: the scenarios' way to ask for more or less without rebuilding."""
        targets = self.problem.targets.set_index("id")
        if target not in targets.index:
            raise KeyError(f"no target {target!r} in this problem")
        where = targets.index.get_loc(target)
        constant = targets["constant"].to_numpy(dtype=float)[where]
        row_scale = targets["row_scale"].to_numpy(dtype=float)[where]
        row = targets["row"].to_numpy(dtype=np.int64)[where]
        goal = (required - constant) / row_scale
        at_least = targets["sense"].to_numpy(dtype=object)[where] == "at_least"
        lower, upper = (goal, np.inf) if at_least else (-np.inf, goal)
        self.set_row_bounds(np.array([row]), np.array([lower]), np.array([upper]))

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds of columns, for the next ``solve``."""
        cols = np.asarray(cols, dtype=np.int32)
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        self._base_col_bounds[0][cols] = lower
        self._base_col_bounds[1][cols] = upper
        self._col_bounds(cols, lower, upper)

    def _col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds of columns in the problem's units, passed on scaled."""
        cols = np.asarray(cols, dtype=np.int32)
        scale = self.col_scale[cols]
        self.highs.changeColsBounds(
            len(cols),
            cols,
            np.asarray(lower, dtype=float) / scale,
            np.asarray(upper, dtype=float) / scale,
        )

    def write_mps(self, path: Path) -> None:
        """The problem as an MPS file, for other solvers: in its own units (not the scaled
        problem HiGHS is given), with the bounds in force (changes by ``set_target`` and
        ``set_row_bounds`` included), the first stage's objective, and rows and columns named
        by their labels (``balance.cement.kangwon.2025``)."""
        matrix = self.problem.matrix
        cost = np.zeros(matrix.shape[1])
        if self.problem.stages:
            first = self.problem.stages[0]
            cost[first.column] = 1.0 if first.sense == "min" else -1.0
        current = self.highs.getLp()
        lp = _highs_lp(
            matrix,
            cost,
            self._base_col_bounds,
            (
                np.asarray(current.row_lower_, dtype=float) / self.row_scale,
                np.asarray(current.row_upper_, dtype=float) / self.row_scale,
            ),
        )
        lp.col_names_ = self.problem.lp.column_labels()
        lp.row_names_ = self.problem.lp.row_labels()
        highs = _new_highs()
        _pass(highs, lp)
        if highs.writeModel(str(path)) == highspy.HighsStatus.kError:
            raise SolveError(f"{path}: HiGHS could not write the MPS file")

    # -- solving ----------------------------------------------------------------------------
    def _objective(self, stage: Stage | None) -> None:
        """The stage's objective on HiGHS's scaled column: a cost of +-1 where the column is
        scaled up (``objective_scale``, which the duals are multiplied back by), its scale
        where it is scaled down.

        The stage column's scale factor reaches 4,096 on generated economies; as its cost it
        put every reduced cost thousands of times above HiGHS's absolute dual tolerance (1e-7)
        and the imports stage of a 1,000-product economy stalled past 300 s ("possibly
        singular basis", reinversion every few iterations); at +-1 it takes a few hundred
        iterations. A cost of +-1 on columns scaled down as well was measured worse (the
        built-in economy's labour stage under a typhoon ended unsettled)."""
        n = self.problem.matrix.shape[1]
        cost = np.zeros(n)
        self.objective_scale = 1.0
        if stage is not None:
            self.objective_scale = max(float(self.col_scale[stage.column]), 1.0)
            cost[stage.column] = 1.0 if stage.sense == "min" else -1.0
        self.highs.changeColsCost(
            n, np.arange(n, dtype=np.int32), cost * self.col_scale / self.objective_scale
        )
        if self.integer:
            # HiGHS's absolute gap (1e-6) is in the objective as it holds it
            self.highs.setOptionValue("mip_abs_gap", 1e-6 / self.objective_scale)

    def _run(self, deadline: float | None) -> None:
        """One HiGHS run, stopped by the deadline or by Ctrl-C within a fraction of a second.

        HiGHS's time_limit counts its run time since the Highs object was made, over every
        stage: each stage's limit is that run time plus the seconds left. HiGHS runs in a
        thread of its own while this one waits in short steps, so a KeyboardInterrupt reaches
        Python at once; HiGHS is then asked to stop (its interrupt callbacks) and the
        interrupt goes on up, with nothing written."""
        highs = self.highs
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise SolveError(f"the time limit of {self.time_limit or 0:g} s ran out")
            # a MIP counts its own run; an LP the Highs object's run time so far
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
            highs.wait(2.0)  # PDLP has no interrupt callback: leave it running, and go
            raise

    def solve(
        self,
        progress: Progress | None = None,
        starts: dict[str, Basis] | None = None,
        keep_bases: bool = False,
    ) -> Solution:
        """Every stage in order; raises InfeasibleError when the hard constraints cannot hold.

        ``starts``: a basis by stage name (from ``keep_bases`` on a like problem) that the
        stage's dual simplex starts from instead of the last stage's optimum (an ensemble's
        members from the base plan); ``keep_bases``: record each stage's optimal basis."""
        say = progress or (lambda _: None)
        starts = starts if self.method == "simplex" else None
        problem = self.problem
        highs = self.highs
        # stage columns and shortfalls start free: a re-solve must not inherit the last
        # solve's holds
        shortfalls = problem.targets["shortfall"].to_numpy()
        held = np.concatenate(
            [[s.column for s in problem.stages], shortfalls[shortfalls >= 0]]
        ).astype(np.int32)
        if len(held):
            self._col_bounds(held, self._base_col_bounds[0][held], self._base_col_bounds[1][held])
        # and from scratch: the last solve's final basis (optimal for its last stage) was
        # measured to send the first stage's dual simplex on for minutes, and a fresh start
        # makes a re-solve give what a first solve gives
        highs.clearSolver()
        self._free_whole()
        self.cut_short = []
        started = time.perf_counter()
        deadline = started + self.time_limit if self.time_limit else None
        results: list[StageResult] = []
        stages: list[Stage | None] = list(problem.stages) or [None]
        for number, stage in enumerate(stages, start=1):
            name = stage.name if stage else "feasibility"
            say(f"stage {number}/{len(stages)}: {name}")
            self._objective(stage)
            if self.method == "simplex":
                # after the first stage the basis stays primal feasible when the objective
                # changes and the last one is held: primal simplex goes on from it, where dual
                # simplex was measured to stall for minutes on the built-in economy
                highs.setOptionValue("simplex_strategy", 1 if number == 1 else 4)
            if starts and stage is not None and stage.name in starts:
                # the like problem's optimal basis is dual feasible here where only bounds
                # differ: dual simplex repairs the primal side from it
                self._start_from(starts[stage.name])
                highs.setOptionValue("simplex_strategy", 1)
            if self.integer and results:
                # the last stage's whole plan keeps every hold: the MIP starts from it, so a
                # stage cut short by its budget always has a whole plan to give
                start = highs.getSolution()
                self._free_whole()
                highs.setSolution(start)
            began = time.perf_counter()
            budget = self._stage_deadline(deadline)
            self._run(budget)
            status = highs.getModelStatus()
            if budget != deadline and status == highspy.HighsModelStatus.kTimeLimit:
                status = self._cut_short(name, deadline, time.perf_counter() - began, say)
            if status in UNSETTLED and self.method == "simplex" and number > 1:
                # primal simplex from the last stage's basis can end unsure of optimality
                # on a degenerate stage (seen on the built-in economy with a growth path:
                # the labour stage); dual simplex from the same basis settles it
                say("  HiGHS ended the stage unsure of its optimum; again with dual simplex")
                highs.setOptionValue("simplex_strategy", 1)
                self._run(deadline)
                status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible and number > 1:
                # the last stage's optimum keeps every hold, so this stage cannot truly be
                # infeasible: simplex lost its way from the last basis (seen on a re-plan of
                # the built-in economy, tier 1 after the past balance); again from scratch
                say("  HiGHS found the stage infeasible, which the last optimum refutes; again")
                highs.clearSolver()
                highs.setOptionValue("simplex_strategy", 1)
                self._run(deadline)
                status = highs.getModelStatus()
            if status in UNSETTLED and self.settle:
                status = self._settle(deadline, say)
            seconds = time.perf_counter() - began
            if status == highspy.HighsModelStatus.kInfeasible:
                if number == 1:
                    raise InfeasibleError("the hard constraints cannot all hold")
                raise SolveError(f"stage {name} became infeasible after holding earlier ones")
            if status != highspy.HighsModelStatus.kOptimal:
                text = highs.modelStatusToString(status)
                if status in (
                    highspy.HighsModelStatus.kUnbounded,
                    highspy.HighsModelStatus.kUnboundedOrInfeasible,
                ):
                    raise SolveError(
                        f"stage {name} is unbounded ({text}): something can be made from "
                        "nothing without limit; check processes without inputs or capacity"
                    )
                raise SolveError(f"HiGHS stopped in stage {name}: {text}")
            solution = highs.getSolution()
            info = highs.getInfo()
            iterations = int(
                info.simplex_iteration_count
                + max(info.ipm_iteration_count, 0)
                + max(info.pdlp_iteration_count, 0)
                + max(info.crossover_iteration_count, 0)
            )
            x = np.asarray(solution.col_value) * self.col_scale
            row_dual = np.asarray(solution.row_dual) * self.row_scale * self.objective_scale
            col_dual = np.asarray(solution.col_dual) / self.col_scale * self.objective_scale
            if stage is None:
                results.append(
                    StageResult(
                        Stage("feasibility", -1, "min", "", "any plan meeting the constraints"),
                        0.0,
                        (0.0, 0.0),
                        seconds,
                        iterations,
                        row_dual,
                        col_dual,
                    )
                )
                break
            value = float(x[stage.column])
            ranged, down, up = self._ranges(row_dual)
            basis = self._basis() if keep_bases else None
            holds = self._hold(stage, value)
            if stage.name.startswith("tier") and stage.name.endswith("_total"):
                self._hold_targets(int(stage.name[4:].removesuffix("_total")), x)
            results.append(
                StageResult(
                    stage,
                    value,
                    holds,
                    seconds,
                    iterations,
                    row_dual,
                    col_dual,
                    ranged,
                    down,
                    up,
                    basis,
                )
            )
            say(
                f"  {stage.description}: {value:.6g} ({seconds:.2f} s, {iterations} iterations,"
                f" primal infeasibility {info.max_primal_infeasibility:.1e},"
                f" dual {info.max_dual_infeasibility:.1e})"
            )
        self._refactor(say, deadline)
        x = np.asarray(highs.getSolution().col_value) * self.col_scale
        self._free_whole()
        return Solution(
            self.method,
            x,
            # from the columns rather than HiGHS's row values, which were seen to lag behind
            # the columns after a bound change on the last stage
            problem.matrix @ x,
            tuple(results),
            time.perf_counter() - started,
        )

    def _stage_deadline(self, deadline: float | None) -> float | None:
        """When this stage's run must stop: the solve's deadline, or sooner the stage's MIP
        budget."""
        if not self.integer or self.stage_budget is None:
            return deadline
        budget = time.perf_counter() + self.stage_budget
        return budget if deadline is None or budget < deadline else deadline

    def _cut_short(
        self, name: str, deadline: float | None, seconds: float, say: Progress
    ) -> highspy.HighsModelStatus:
        """A stage whose MIP ran past its budget is settled at the best its whole plan can do:
        the whole units of the best plan found are fixed, the stage solved again (an LP once
        presolve removes the fixed columns) and the whole columns freed for the next stage,
        which starts from this plan. So the stage is held at a value a whole plan reaches,
        and each later stage still has a whole plan that keeps every hold."""
        highs = self.highs
        info = highs.getInfo()
        if info.primal_solution_status != WHOLE_PLAN_FOUND:
            raise SolveError(f"the MIP of stage {name} found no whole plan within {seconds:.0f} s")
        reported = float(info.mip_gap)
        # no bound yet: HiGHS reports an infinite gap, which plan.json cannot hold
        gap = reported if np.isfinite(reported) else None
        cols = np.asarray(self.problem.integer, dtype=np.int32)
        units = np.round(np.asarray(highs.getSolution().col_value)[cols] * self.col_scale[cols])
        say(f"  stopped at its budget (gap {gap}): its whole units fixed, again")
        self._col_bounds(cols, units, units)
        self._fixed_whole = True  # freed before the next run (a bound change now would void
        self._run(deadline)  # the status and solution just found)
        self.cut_short.append({"stage": name, "seconds": seconds, "gap": gap})
        status: highspy.HighsModelStatus = highs.getModelStatus()
        return status

    def _free_whole(self) -> None:
        """The whole columns back to their own bounds after ``_cut_short`` fixed them."""
        if self._fixed_whole:
            cols = np.asarray(self.problem.integer, dtype=np.int32)
            lower, upper = self._base_col_bounds
            self._col_bounds(cols, lower[cols], upper[cols])
            self._fixed_whole = False

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
        text = highs.modelStatusToString(highs.getModelStatus())
        other = FALLBACK[self.method]
        say(f"  HiGHS ended the stage unsettled ({text}); again from scratch with {other}")
        highs.clearSolver()
        highs.setOptionValue("solver", METHODS[other])
        highs.setOptionValue("run_crossover", "on")  # a basis for the stages after it
        if other == "simplex":
            highs.setOptionValue("simplex_strategy", 1)
        try:
            self._run(deadline)
        finally:
            highs.setOptionValue("solver", METHODS[self.method])
        status: highspy.HighsModelStatus = highs.getModelStatus()
        say(f"  {other}: {highs.modelStatusToString(status)}")
        return status

    def _refactor(self, say: Progress, deadline: float | None) -> None:
        """The last stage's vertex computed afresh from its basis. After thousands of updates
        of the basis factors over the stages, the values HiGHS holds carry their rounding:
        members of an ensemble missed verification by 4e-6 to 6e-4 (a balance of
        artificial leather in Komdok), where the same basis factored anew gives 4e-15, in
        0.1 s and no iteration. Should HiGHS find the fresh values not optimal, it goes on
        from them; should it fail, the values as they were stand."""
        highs = self.highs
        if self.integer or self.method == "pdlp":
            return
        basis = highs.getBasis()
        if not basis.valid:
            return
        kept = highs.getSolution()
        highs.clearSolver()
        highs.setBasis(basis)
        highs.setOptionValue("simplex_strategy", 1)
        self._run(deadline)
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            say("  the last basis factored afresh was not optimal: the values as solved stand")
            highs.setSolution(kept)

    def _basis(self) -> Basis | None:
        """HiGHS's basis now, by label (None without one: PDLP, IPM without crossover)."""
        basis = self.highs.getBasis()
        if not basis.valid:
            return None
        labels = self._labels()
        return Basis(
            labels[0],
            labels[1],
            np.fromiter((int(v) for v in basis.col_status), dtype=np.int8),
            np.fromiter((int(v) for v in basis.row_status), dtype=np.int8),
        )

    def _labels(self) -> tuple[pd.Index, pd.Index]:
        if self.__dict__.get("_label_cache") is None:
            self._label_cache = (
                pd.Index(self.problem.lp.column_labels()),
                pd.Index(self.problem.lp.row_labels()),
            )
        return self._label_cache

    def _start_from(self, start: Basis) -> None:
        """Start the next run from ``start`` mapped to this problem by label. HiGHS takes it
        as an alien basis: one whose count of basic variables is off, or whose basic
        columns are dependent here, is completed with slacks rather than refused."""
        column_status, row_status = start.for_problem(self.problem)
        basis = highspy.HighsBasis()
        basis.col_status = [highspy.HighsBasisStatus(int(v)) for v in column_status]
        basis.row_status = [highspy.HighsBasisStatus(int(v)) for v in row_status]
        basis.valid = True
        basis.alien = True
        self.highs.setBasis(basis)

    def _ranges(self, row_dual: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The range of validity of each limit that has a valuation in the stage just solved
        (see :mod:`econplan.plan.ranging`), from its optimal basis; none without a basis
        (PDLP, or interior point without crossover)."""
        rows = self.problem.limit_rows
        rows = rows[row_dual[rows] != 0]
        if (
            self.integer
            or self.method == "pdlp"
            or not len(rows)
            or not self.highs.getBasis().valid
        ):
            return rows, np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        down, up = bound_ranges(self.highs, rows)
        # HiGHS holds diag(r) A: a bound moves r times as far there as in the problem
        scale = self.row_scale[rows]
        return rows, down / scale, up / scale

    def _hold_targets(self, tier: int, x: np.ndarray) -> None:
        """Once a tier is done, each of its targets keeps its own achievement: a met target
        stays met (shortfall exactly zero) and the others may slip by the relative tolerance
        only. Holding the tier's largest and total shortfall alone would leave later stages
        free to spend the tolerance on a target the plan meets."""
        targets = self.problem.targets
        cols = targets.loc[targets["tier"] == tier, "shortfall"].to_numpy().astype(np.int32)
        if len(cols) == 0:
            return
        short = x[cols]
        upper = np.where(short <= 1e-9, 0.0, short * (1.0 + self.problem.tolerance))
        self._col_bounds(cols, np.zeros(len(cols)), upper)

    def _hold(self, stage: Stage, value: float) -> tuple[float, float]:
        """Hold a stage's objective for the stages after it: exactly when it is zero (a met
        target stays met), otherwise within the relative tolerance."""
        slack = 0.0 if abs(value) <= 1e-9 else self.problem.tolerance * max(1.0, abs(value))
        lower, upper = (
            self._base_col_bounds[0][stage.column],
            self._base_col_bounds[1][stage.column],
        )
        if stage.sense == "min":
            upper = 0.0 if abs(value) <= 1e-9 else value + slack
        else:
            lower = value - slack
        self._col_bounds(np.array([stage.column]), np.array([lower]), np.array([upper]))
        return (float(lower), float(upper))
