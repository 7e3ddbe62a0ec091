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

from econplan.plan.assemble import PlanProblem, Stage

METHODS = {"simplex": "simplex", "ipm": "ipm", "pdlp": "pdlp"}

Progress = Callable[[str], None]


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


class Solver:
    """HiGHS holding one assembled plan problem."""

    def __init__(
        self,
        problem: PlanProblem,
        method: str = "simplex",
        time_limit: float | None = None,
        threads: int | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown solver {method!r}; use one of {', '.join(METHODS)}")
        self.problem = problem
        self.method = method
        self.time_limit = time_limit
        self.highs = _new_highs()
        highs = self.highs
        highs.setOptionValue("solver", METHODS[method])
        if method == "ipm":
            highs.setOptionValue("run_crossover", "on")  # a vertex: exact duals, clean zeros
        if threads:
            highs.setOptionValue("threads", threads)
        highs.setOptionValue("random_seed", 0)
        col_lower, col_upper, row_lower, row_upper = problem.lp.bounds()
        matrix = problem.matrix
        lp = highspy.HighsLp()
        lp.num_col_ = matrix.shape[1]
        lp.num_row_ = matrix.shape[0]
        lp.col_cost_ = np.zeros(matrix.shape[1])
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        highs.passModel(lp)
        self._base_col_bounds = (col_lower.copy(), col_upper.copy())

    # -- changes without rebuilding -----------------------------------------------------------
    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds (right-hand sides) of rows, for the next ``solve``."""
        rows = np.asarray(rows, dtype=np.int32)
        self.highs.changeRowsBounds(
            len(rows), rows, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        )

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds of columns, for the next ``solve``."""
        cols = np.asarray(cols, dtype=np.int32)
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        self._base_col_bounds[0][cols] = lower
        self._base_col_bounds[1][cols] = upper
        self.highs.changeColsBounds(len(cols), cols, lower, upper)

    def write_mps(self, path: Path) -> None:
        """The problem (first stage's objective) as an MPS file, for other solvers."""
        stages = self.problem.stages
        if stages:
            self._objective(stages[0])
        self.highs.writeModel(str(path))

    # -- solving ----------------------------------------------------------------------------
    def _objective(self, stage: Stage | None) -> None:
        n = self.problem.matrix.shape[1]
        cost = np.zeros(n)
        if stage is not None:
            cost[stage.column] = 1.0 if stage.sense == "min" else -1.0
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)

    def _run(self, deadline: float | None) -> None:
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise SolveError(f"the time limit of {self.time_limit:g} s ran out")
            self.highs.setOptionValue("time_limit", float(left))
        self.highs.run()

    def solve(self, progress: Progress | None = None) -> Solution:
        """Every stage in order; raises InfeasibleError when the hard constraints cannot hold."""
        say = progress or (lambda _: None)
        problem = self.problem
        highs = self.highs
        # stage columns start free: a re-solve must not inherit the last solve's holds
        stage_cols = np.array([s.column for s in problem.stages], dtype=np.int32)
        if len(stage_cols):
            highs.changeColsBounds(
                len(stage_cols),
                stage_cols,
                self._base_col_bounds[0][stage_cols],
                self._base_col_bounds[1][stage_cols],
            )
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
            began = time.perf_counter()
            self._run(deadline)
            status = highs.getModelStatus()
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
            x = np.asarray(solution.col_value)
            if stage is None:
                results.append(
                    StageResult(
                        Stage("feasibility", -1, "min", "", "any plan meeting the constraints"),
                        0.0,
                        (0.0, 0.0),
                        seconds,
                        iterations,
                        np.asarray(solution.row_dual),
                        np.asarray(solution.col_dual),
                    )
                )
                break
            value = float(x[stage.column])
            held = self._hold(stage, value)
            results.append(
                StageResult(
                    stage,
                    value,
                    held,
                    seconds,
                    iterations,
                    np.asarray(solution.row_dual),
                    np.asarray(solution.col_dual),
                )
            )
            say(
                f"  {stage.description}: {value:.6g} ({seconds:.2f} s, {iterations} iterations,"
                f" primal infeasibility {info.max_primal_infeasibility:.1e},"
                f" dual {info.max_dual_infeasibility:.1e})"
            )
        x = np.asarray(highs.getSolution().col_value)
        return Solution(
            self.method,
            x,
            # from the columns rather than HiGHS's row values, which were seen to lag behind
            # the columns after a bound change on the last stage
            problem.matrix @ x,
            tuple(results),
            time.perf_counter() - started,
        )

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
        self.highs.changeColBounds(stage.column, lower, upper)
        return (float(lower), float(upper))
