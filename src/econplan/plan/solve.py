"""The lexicographic driver: the stages of a plan problem in order, each objective held
(within the tolerance) before the next, and the valuations of every row in every stage.

The driver knows what the stages mean and nothing of how a solver works: it scales the problem,
gives the backend (:mod:`econplan.plan.backend`; HiGHS's by default, :mod:`econplan.plan.highs`)
each stage's cost and the bounds that hold the stages before, and reads back values and
valuations in the problem's own units. The problem is passed to the backend once; each stage
changes one cost and one bound, so a simplex backend goes on from the previous basis, and a
caller can change bounds or right-hand sides (``set_row_bounds``, ``set_column_bounds``) and
solve again without rebuilding (scenarios).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.plan.backend import (
    AT_LOWER,
    AT_UPPER,
    Backend,
    InfeasibleError,
    Progress,
    Refined,
    SolveError,
    Status,
)
from econplan.plan.dive import dive
from econplan.plan.highs import METHODS, HighsBackend, highs_lp, new_highs, pass_model
from econplan.plan.pick import make_backend
from econplan.plan.problem import HOLD_TARGETS, Stage, StageProblem
from econplan.plan.scaling import geometric_scaling
from econplan.plan.start import leontief_basis

FACE_ZERO = 1e-9
"""A reduced cost or valuation of the scaled problem as the backend solved it (the stage's
cost +-1 on its column, or the column's scale where scaling made it smaller) above this puts
its column or row on the face's list
(``Solver._hold_face``): the refined optimality test (``highs.REFINED_TOLERANCE``), below
which a dual is rounding, not a price (``econplan.plan.face.ZERO`` says what reading such
rounding as prices did). Read from a refined basis, faces from two solver paths on the
built-in economy gave the same later optima to 1e-10 (``hold="exact"``); from bases at
HiGHS's own test (1e-7), imports 2,361 and 1,847 m USD. A larger zero (1e-7, 1e-5) left the
plausibility report of the built-in plan held exactly as it was."""

__all__ = [
    "METHODS",
    "Basis",
    "InfeasibleError",
    "Progress",
    "Solution",
    "SolveError",
    "Solver",
    "StageResult",
]


HOLDS = ("slack", "face", "exact")
"""How a stage's optimum is held for the stages after it (``Solver``)."""

DEFAULT_HOLD = "face"
"""How ``make_plan`` and the commands hold the stages unless told: by their optimal faces,
so that the plan is the same whatever path the solver takes and a later stage cannot spend
an earlier one's tolerance; the consumption stages keep theirs (``GIVES``; docs/planning.md
4.2)."""

GIVES = frozenset({"consumption", "consumption_average"})
"""The kinds of stage that keep the slack when the others are held by their faces (``hold=
"face"``): the planner's tolerance is a price on the consumption level, which the stages
after it may spend. Held exactly as well (``hold="exact"``), the built-in economy's least
imports were 1,790 m USD, against 1,389 with the level allowed 1e-6 below its optimum
(docs/planning.md 4.2)."""


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
    refined: Refined = field(default_factory=Refined)
    """What refining the stage's optimum before holding it did (``Backend.refine``)."""
    faced_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    """Rows an earlier stage's optimal face held at their bound when this stage was solved
    (``hold="face"``): their valuation here is not a price of the limit (see ``Solver``)."""
    faced_columns: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False
    )
    """The same for columns (their reduced costs)."""
    face: tuple[int, int] | None = None
    """How many columns and rows this stage's optimal face fixed for the stages after it;
    None where it was held by the slack alone."""


@dataclass(frozen=True)
class Basis:
    """A simplex basis by label: the status of every column and row (HiGHS's codes: 0 at
    the lower bound, 1 basic, 2 at the upper bound, 3 free at zero), so that it can start a
    problem of another shape (a scenario's, a member's) where the labels match."""

    columns: pd.Index
    rows: pd.Index
    column_status: np.ndarray
    row_status: np.ndarray

    def for_problem(self, problem: StageProblem) -> tuple[np.ndarray, np.ndarray]:
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


class _UnsettledStageError(Exception):
    """A dive's stage whose LP with the stage before's units fixed did not settle: the stage
    before's whole plan is kept as it is, for it and the stages after it."""


SETTLE_ITERATIONS = 20_000
"""The simplex iterations the LP of a stage settled at the stage before's units may take, from
the basis that stage ended at (primal feasible with them); the built-in economy's stage LPs
take 6,000 from scratch. Past them, or where it ends unsettled, the stage keeps the stage
before's plan as it is (``_UnsettledStageError``)."""


class Solver:
    """The stage driver holding one assembled plan problem in a backend."""

    def __init__(
        self,
        problem: StageProblem,
        method: str = "simplex",
        time_limit: float | None = None,
        threads: int | None = None,
        integer: bool = False,
        feasibility: float = 1e-10,
        settle: bool = True,
        stage_budget: float | None = None,
        stage_nodes: int | None = None,
        backend: Backend | None = None,
        leontief: bool = False,
        hold: str = "slack",
        dive: bool = False,
    ) -> None:
        """``integer``: solve every stage as a MIP with the problem's integer columns whole
        (branch and cut; no valuations then: see :mod:`econplan.plan.whole`); ``settle``: a
        stage left unsettled is solved again from scratch with another method, which may
        take minutes; without it the solve stops there at once. ``stage_budget``: with
        ``integer``, the seconds one stage's MIP may run, and ``stage_nodes`` the
        branch-and-bound nodes (which, unlike seconds, stop it at the same plan on any
        machine); a stage that runs past either is settled at the best its best whole plan
        can do (``_cut_short``; ``cut_short`` says which and how far from optimal they
        stopped). ``backend``: the solver the stages
        run on (HiGHS with ``method``, ``threads`` and ``settle`` when not given).
        ``leontief``: simplex starts the first stage from the Leontief basis
        (:mod:`econplan.plan.start`) rather than from the solver's own start.

        ``hold``: how each stage's optimum is kept by the stages after it. ``slack``: its
        column within the problem's relative tolerance of the optimum found, which a later
        stage may spend. ``exact``: each optimum refined first (``Backend.refine``), then
        held by its optimal face read from its basis as well: every column with a reduced
        cost and every row with a valuation fixed where the stage left it, so that the later
        stages choose among its optimal plans only, the same whatever path the solver took.
        ``face``: so, except the consumption stages (``GIVES``), which keep the slack from
        their refined optimum (docs/planning.md 4.2). Where the backend keeps no basis, or
        with whole units, every stage is held by the slack alone.

        ``dive``: with ``integer``, each stage an LP whose optimum is taken to whole units by
        a dive (:mod:`econplan.plan.dive`) instead of branch and cut; a stage whose dive
        fails, or runs past ``stage_budget`` seconds (a guard: its limits are counts of LPs
        and iterations, which do not bound the time of an LP dual simplex cannot settle), is
        settled at the whole units of the stage before (``dived`` says, stage by stage, how
        far the dive came from the LP's optimum)."""
        if hold not in HOLDS:
            raise ValueError(f"unknown hold {hold!r}; use one of {', '.join(HOLDS)}")
        self.hold = hold
        self.backend: Backend = backend or make_backend(method, threads, settle)
        self.problem = problem
        self.method = self.backend.method
        self.time_limit = time_limit
        self.feasibility = feasibility
        self.objective_scale = 1.0
        """What the backend's objective of the stage being solved was divided by
        (``_objective``)."""
        self.stage_budget = stage_budget
        self.stage_nodes = stage_nodes
        self.leontief = leontief
        self.cut_short: list[dict[str, float | str | None]] = []
        """The MIP stages that ran past their budget: name, seconds, relative gap and the
        budget that stopped them (``nodes`` or ``seconds``)."""
        self._fixed_whole = False
        col_lower, col_upper, row_lower, row_upper = problem.lp.bounds()
        # the backend solves diag(r) A diag(c) in x / c; every value in and out goes through
        # _col_bounds, set_row_bounds and the readings in solve, so callers see the problem's
        # own units
        self.row_scale, self.col_scale = geometric_scaling(
            problem.matrix, col_lower, col_upper, row_lower, row_upper
        )
        self.integer = integer and len(problem.integer) > 0
        self.dive = self.integer and dive
        """Whole units by diving from each stage's LP optimum, not by branch and cut."""
        self.dived: list[dict[str, float | str | int | bool | None]] = []
        """The stages of the last solve taken to whole units by a dive: name, the LP's
        optimum (``bound``), the whole plan's (``value``), the LPs solved and roundings given
        up, whether it was settled at the stage before's units instead, ``by``
        (``seconds`` where the guard stopped its dive, else None), and ``kept`` where even
        the LP with those units did not settle, so that the stage before's plan is the
        solve's (the Solution then ends before this stage)."""
        self.guarded: list[str] = []
        """The stages of the last solve whose dive ran into its guard in seconds (with the
        first stage's, which has no stage before to settle at: the solve then fails)."""
        whole = np.asarray(problem.integer if self.integer else [], dtype=np.int64)
        # a backend makes the column it holds whole, x / c: whole units need c = 1
        self.col_scale[whole] = 1.0
        self.scaled = sp.csc_matrix(
            sp.diags(self.row_scale) @ problem.matrix @ sp.diags(self.col_scale)
        )
        """The problem as the backend holds it."""
        # feasibility is judged on the scaled problem, where a row may be 2^-22 of its own
        # size; at HiGHS's default 1e-7 a balance could be short by a few 1e-6 of a unit in
        # the problem's units, enough to fail verification where nothing else flows. 1e-9
        # was enough until the growth path and whole units: a re-plan of the built-in
        # economy then left sea freight in South Hwanghae short by 7.8e-6 of its flows; at
        # 1e-10 it verifies to 2.7e-9
        self.backend.load(
            self.scaled,
            (col_lower / self.col_scale, col_upper / self.col_scale),
            (row_lower * self.row_scale, row_upper * self.row_scale),
            whole[:0] if self.dive else whole,  # a dive solves LPs
            feasibility,
        )
        if self.integer and not self.dive:
            self.backend.set_mip_budget(stage_nodes)
        self._base_col_bounds = (col_lower.copy(), col_upper.copy())
        self._base_row_bounds = (row_lower.copy(), row_upper.copy())
        self._faced_cols = np.zeros(0, dtype=np.int64)
        """Columns and rows the optimal faces of this solve's stages fixed (``_hold_face``),
        freed at the next solve."""
        self._faced_rows = np.zeros(0, dtype=np.int64)
        self._lent = False
        """The backend's HiGHS was lent to a choice on the face (``lend``) since the last solve."""

    @property
    def highs(self) -> highspy.Highs:
        """The Highs object, where the backend is HiGHS's (tests and benchmarks that look
        inside it)."""
        if not isinstance(self.backend, HighsBackend):
            raise AttributeError(f"the backend is {type(self.backend).__name__}, not HiGHS")
        return self.backend.highs

    def lend(self) -> highspy.Highs | None:
        """The backend's HiGHS object, holding the last stage's basis and its factors, for a
        choice on that stage's face to go on in (``econplan.plan.face.Lent``); None where the
        backend is not plain HiGHS or holds whole units. The choice changes its costs and
        bounds: the next ``solve`` sets every bound back."""
        backend = self.backend
        if type(backend) is not HighsBackend or backend.integer:
            return None
        self._lent = True
        return backend.highs

    # -- changes without rebuilding -----------------------------------------------------------
    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds (right-hand sides) of rows, for the next ``solve``."""
        rows = np.asarray(rows, dtype=np.int64)
        self._base_row_bounds[0][rows] = lower
        self._base_row_bounds[1][rows] = upper
        scale = self.row_scale[rows]
        self.backend.set_row_bounds(
            rows, np.asarray(lower, dtype=float) * scale, np.asarray(upper, dtype=float) * scale
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
        cols = np.asarray(cols, dtype=np.int64)
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        self._base_col_bounds[0][cols] = lower
        self._base_col_bounds[1][cols] = upper
        self._col_bounds(cols, lower, upper)

    def _col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds of columns in the problem's units, passed on scaled."""
        cols = np.asarray(cols, dtype=np.int64)
        scale = self.col_scale[cols]
        self.backend.set_column_bounds(
            cols, np.asarray(lower, dtype=float) / scale, np.asarray(upper, dtype=float) / scale
        )

    def write_mps(self, path: Path) -> None:
        """The problem as an MPS file, for other solvers: in its own units (not the scaled
        problem the backend is given), with the bounds in force (changes by ``set_target``
        and ``set_row_bounds`` included), the first stage's objective, and rows and columns
        named by their labels (``balance.cement.kangwon.2025``). HiGHS writes it, whatever
        the backend."""
        matrix = self.problem.matrix
        cost = np.zeros(matrix.shape[1])
        if self.problem.stages:
            first = self.problem.stages[0]
            cost[first.column] = 1.0 if first.sense == "min" else -1.0
        _, _, row_lower, row_upper = self.backend.bounds()
        lp = highs_lp(
            matrix,
            cost,
            self._base_col_bounds,
            (row_lower / self.row_scale, row_upper / self.row_scale),
        )
        lp.col_names_ = self.problem.lp.column_labels()
        lp.row_names_ = self.problem.lp.row_labels()
        highs = new_highs()
        pass_model(highs, lp)
        if highs.writeModel(str(path)) == highspy.HighsStatus.kError:
            raise SolveError(f"{path}: HiGHS could not write the MPS file")

    # -- solving ----------------------------------------------------------------------------
    def _objective(self, stage: Stage | None) -> None:
        """The stage's objective on the backend's scaled column: a cost of +-1 where the
        column is scaled up (``objective_scale``, which the duals are multiplied back by),
        its scale where it is scaled down.

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
        self.backend.set_costs(cost * self.col_scale / self.objective_scale)
        if self.integer and not self.dive:
            # each stage's optimum is held within the tolerance: the MIP must find it that
            # close, not within a default gap of 1e-4; the absolute gap (1e-6) is in the
            # objective as the backend holds it
            self.backend.set_mip_gaps(self.problem.tolerance, 1e-6 / self.objective_scale)

    def solve(
        self,
        progress: Progress | None = None,
        starts: dict[str, Basis] | None = None,
        keep_bases: bool = False,
    ) -> Solution:
        """Every stage in order; raises InfeasibleError when the hard constraints cannot hold.

        ``starts``: a basis by stage name (from ``keep_bases`` on a like problem) that the
        stage starts from instead of the last stage's optimum (an ensemble's members from
        the base plan; simplex only); ``keep_bases``: record each stage's optimal basis.
        With ``dive``, a stage whose LP with the stage before's units does not settle ends
        the solve there, with the stage before's whole plan (``dived``'s ``kept``)."""
        say = progress or (lambda _: None)
        starts = starts if self.method == "simplex" else None
        problem = self.problem
        backend = self.backend
        # stage columns and shortfalls start free: a re-solve must not inherit the last
        # solve's holds
        shortfalls = problem.targets["shortfall"].to_numpy()
        held = np.concatenate(
            [[s.column for s in problem.stages], shortfalls[shortfalls >= 0]]
        ).astype(np.int64)
        held = np.union1d(held, self._faced_cols)
        rows = self._faced_rows
        if self._lent:
            # a choice on the last solve's face went on in the backend's HiGHS (``lend``):
            # every bound may have moved
            held = np.arange(problem.matrix.shape[1], dtype=np.int64)
            rows = np.arange(problem.matrix.shape[0], dtype=np.int64)
            self._lent = False
        if len(held):
            self._col_bounds(held, self._base_col_bounds[0][held], self._base_col_bounds[1][held])
        if len(rows):
            self.backend.set_row_bounds(
                rows,
                self._base_row_bounds[0][rows] * self.row_scale[rows],
                self._base_row_bounds[1][rows] * self.row_scale[rows],
            )
        self._faced_cols = self._faced_rows = np.zeros(0, dtype=np.int64)
        # and from scratch: the last solve's final basis (optimal for its last stage) was
        # measured to send the first stage's dual simplex on for minutes, and a fresh start
        # makes a re-solve give what a first solve gives
        backend.reset()
        self._free_whole()
        self.cut_short = []
        self.dived = []
        self.guarded = []
        started = time.perf_counter()
        deadline = started + self.time_limit if self.time_limit else None
        results: list[StageResult] = []
        stages: list[Stage | None] = list(problem.stages) or [None]
        for number, stage in enumerate(stages, start=1):
            name = stage.name if stage else "feasibility"
            say(f"stage {number}/{len(stages)}: {name}")
            self._objective(stage)
            if starts and stage is not None and stage.name in starts:
                # the like problem's optimal basis is dual feasible here where only bounds
                # differ: the backend's next solve repairs the primal side from it
                backend.set_basis(*starts[stage.name].for_problem(problem))
            elif number == 1:
                self._leontief_start()
            start = None
            start_basis = None
            if self.integer and results:
                # the last stage's whole plan keeps every hold: the MIP starts from it, so a
                # stage cut short by its budget always has a whole plan to give (and a dive
                # a guide and a plan to fall back on, with the basis it ended at)
                start = backend.values()
                start_basis = backend.basis() if self.dive else None
                self._free_whole()
                if not self.dive:
                    backend.set_start(start)
            began = time.perf_counter()
            budget = self._stage_deadline(deadline)
            # a dive's LP is solved as any stage's; the guard is on the dive after it
            status = backend.solve(deadline if self.dive else budget, number > 1, say)
            if self.dive and stage is not None and status == Status.OPTIMAL:
                guard = self._stage_deadline(deadline)
                try:
                    status = self._dive(stage, start, start_basis, deadline, guard, say)
                except _UnsettledStageError:
                    # the stage before's whole plan keeps every hold: its units are this
                    # stage's and every later one's (what a settled stage is given)
                    assert start is not None  # the first stage has nothing to keep
                    self._free_whole()
                    return self._solution(start * self.col_scale, results, started)
            mip_budget = status == Status.BUDGET or (
                status == Status.TIME_LIMIT and budget != deadline
            )
            if mip_budget and not self.dive:  # a dive settles its own stage (_dive)
                by = "nodes" if status == Status.BUDGET else "seconds"
                status = self._cut_short(name, deadline, time.perf_counter() - began, by, say)
            seconds = time.perf_counter() - began
            if status == Status.INFEASIBLE:
                if number == 1:
                    raise InfeasibleError("the hard constraints cannot all hold")
                raise SolveError(f"stage {name} became infeasible after holding earlier ones")
            if status == Status.UNBOUNDED:
                raise SolveError(
                    f"stage {name} is unbounded ({backend.status_text()}): something can be "
                    "made from nothing without limit; check processes without inputs or capacity"
                )
            if status == Status.TIME_LIMIT:
                # time_limit is what was left of the plan's limit when the stages began
                raise SolveError(
                    f"the time limit ran out in stage {name} (the {self.time_limit or 0:.3g} s "
                    "left of it when the stages began)"
                )
            if status != Status.OPTIMAL:
                raise SolveError(
                    f"{backend.method} stopped in stage {name}: {backend.status_text()}"
                )
            iterations = backend.iterations()
            refined = Refined()
            faced = (self._faced_rows, self._faced_cols)
            if self.hold != "slack" and stage is not None and number < len(stages):
                # its face is read from its basis: the optimum as exact as the backend can
                refined = backend.refine(deadline, say)
                iterations += refined.iterations
                seconds = time.perf_counter() - began
            x = backend.values() * self.col_scale
            scaled_row_dual, scaled_col_dual = backend.duals()
            row_dual = scaled_row_dual * self.row_scale * self.objective_scale
            col_dual = scaled_col_dual / self.col_scale * self.objective_scale
            if stage is None:
                results.append(
                    StageResult(
                        Stage(
                            "feasibility",
                            -1,
                            "min",
                            "",
                            "any plan meeting the constraints",
                            "feasibility",
                        ),
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
            primal, dual = backend.infeasibilities()
            holds = self._hold(stage, value)
            if stage.hold == HOLD_TARGETS and stage.tier is not None:
                self._hold_targets(stage.tier, x)
            face = None
            gives = self.hold == "face" and stage.kind in GIVES
            if self.hold != "slack" and number < len(stages) and not gives:
                face = self._hold_face(scaled_row_dual, scaled_col_dual)
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
                    refined,
                    *faced,
                    face,
                )
            )
            say(
                f"  {stage.description}: {value:.6g} ({seconds:.2f} s, {iterations} iterations,"
                f" primal infeasibility {primal:.1e}, dual {dual:.1e})"
            )
        backend.polish(deadline, say)
        x = backend.values() * self.col_scale
        self._free_whole()
        return self._solution(x, results, started)

    def _solution(self, x: np.ndarray, results: list[StageResult], started: float) -> Solution:
        """The plan ``x`` (the problem's units) with its stages, as a solve returns it."""
        return Solution(
            self.method,
            x,
            # from the columns rather than the backend's row values, which were seen (HiGHS)
            # to lag behind the columns after a bound change on the last stage
            self.problem.matrix @ x,
            tuple(results),
            time.perf_counter() - started,
        )

    def _leontief_start(self) -> None:
        """The first stage's simplex starts from the Leontief basis: measured on generated
        economies at 300 to 3,000 products, 87 to 23 iterations where HiGHS's own start took
        7,931 to 58,286 (docs/performance.md, "The Leontief start"). Not for whole units
        (branch and cut starts from no basis) nor for methods without one."""
        if not self.leontief or self.integer or self.method != "simplex":
            return
        basis = leontief_basis(self.problem)
        if basis is not None:
            self.backend.set_basis(*basis, fresh=True)

    def _stage_deadline(self, deadline: float | None) -> float | None:
        """When this stage's run must stop: the solve's deadline, or sooner the stage's MIP
        budget (a dive's guard)."""
        if not self.integer or self.stage_budget is None:
            return deadline
        budget = time.perf_counter() + self.stage_budget
        return budget if deadline is None or budget < deadline else deadline

    def _cut_short(
        self, name: str, deadline: float | None, seconds: float, by: str, say: Progress
    ) -> Status:
        """A stage whose MIP ran past its budget (of ``by``: nodes or seconds) is settled at
        the best its whole plan can do: the whole units of the best plan found are fixed, the
        stage solved again (an LP once presolve removes the fixed columns) and the whole
        columns freed for the next stage, which starts from this plan. So the stage is held at
        a value a whole plan reaches, and each later stage still has a whole plan that keeps
        every hold."""
        found = self.backend.whole_plan()
        if found is None:
            raise SolveError(
                f"the MIP of stage {name} found no whole plan within its budget of {by} "
                f"({seconds:.0f} s)"
            )
        plan, gap = found
        cols = np.asarray(self.problem.integer, dtype=np.int64)
        units = np.round(plan[cols] * self.col_scale[cols])
        say(f"  stopped at its budget of {by} (gap {gap}): its whole units fixed, again")
        self._col_bounds(cols, units, units)
        self._fixed_whole = True  # freed before the next run (a bound change now would void
        status = self.backend.solve(deadline, True, say)  # the status and solution just found)
        self.cut_short.append({"stage": name, "seconds": seconds, "gap": gap, "by": by})
        return status

    def _dive(
        self,
        stage: Stage,
        start: np.ndarray | None,
        start_basis: tuple[np.ndarray, np.ndarray] | None,
        deadline: float | None,
        guard: float | None,
        say: Progress,
    ) -> Status:
        """The stage's LP optimum taken to whole units by a dive, guided by the whole plan of
        the stage before (``start``, in the backend's units); where the dive fails, or is
        still diving at ``guard`` (the stage's budget in seconds, where it comes before the
        solve's ``deadline``), the stage is settled at that plan's units, which keep every
        hold (the first stage has none: no whole plan then), from the basis that plan ended
        at (``start_basis``)."""
        backend = self.backend
        cols = np.asarray(self.problem.integer, dtype=np.int64)
        scale = float(self.col_scale[stage.column])
        bound = float(backend.values()[stage.column]) * scale
        lower, upper = self._base_col_bounds  # whole columns are unscaled (col_scale 1)
        self._fixed_whole = True  # freed before the next stage
        guide = None if start is None else np.round(start[cols])
        sign = 1.0 if stage.sense == "min" else -1.0

        def objective() -> float:
            return sign * float(backend.values()[stage.column]) * scale

        status, went = dive(backend, cols, lower[cols], upper[cols], guide, objective, guard, say)
        # the guard, not the solve's time limit (where that comes first, guard is deadline)
        guarded = status == Status.TIME_LIMIT and guard is not deadline
        if guarded:
            self.guarded.append(stage.name)
        # anything but the deadline and a whole plan: the stage before's units, which hold
        settled = guarded or (
            status != Status.TIME_LIMIT and (status != Status.OPTIMAL or not went.whole)
        )
        if settled:
            why = f"ran past its {self.stage_budget:g} s" if guarded else "found no whole plan"
            if guide is None:
                raise SolveError(
                    f"the dive to whole units {why} in stage {stage.name} "
                    f"({went.lps} LPs, {went.given_up} roundings given up)"
                )
            say(f"  the dive {why}: the units of the stage before, fixed")
            backend.set_column_bounds(cols, guide, guide)
            if start_basis is not None:
                # primal feasible with those units, so primal simplex goes on from it; the
                # basis a dive stopped at was measured to hold dual simplex for minutes
                # (every option of the built-in economy whole, its imports stage)
                backend.set_basis(*start_basis, feasible=True)
            backend.set_iteration_limit(SETTLE_ITERATIONS)
            try:
                status = backend.solve(deadline, start_basis is not None, say)
            finally:
                backend.set_iteration_limit(None)
            if status not in (Status.OPTIMAL, Status.TIME_LIMIT):
                # the stage before's plan has those units and keeps every hold, so the
                # stage, and those after it, keep it as it is (seen on an ensemble member:
                # the labour LP with the imports stage's units ended unsure by primal and
                # by dual simplex, and interior point ran 265 s to end unsettled too)
                say(f"  its LP with them ended {status.value}: the stage before's plan kept")
                assert start is not None  # guide is not None
                self.dived.append(
                    {
                        "stage": stage.name,
                        "bound": bound,
                        "value": float(start[stage.column]) * scale,
                        "lps": went.lps,
                        "given_up": went.given_up,
                        "settled": True,
                        "by": "seconds" if guarded else None,
                        "kept": True,
                    }
                )
                raise _UnsettledStageError
        if status != Status.OPTIMAL:
            say(f"  the dive ended {status.value} after {went.lps} LPs")
            return status  # the driver says why it stops; no whole value to record
        value = float(backend.values()[stage.column]) * scale
        say(f"  whole units by a dive of {went.lps} LPs: {value:.6g} (the LP's {bound:.6g})")
        self.dived.append(
            {
                "stage": stage.name,
                "bound": bound,
                "value": value,
                "lps": went.lps,
                "given_up": went.given_up,
                "settled": settled,
                "by": "seconds" if guarded else None,
            }
        )
        return status

    def _free_whole(self) -> None:
        """The whole columns back to their own bounds after ``_cut_short`` fixed them."""
        if self._fixed_whole:
            cols = np.asarray(self.problem.integer, dtype=np.int64)
            lower, upper = self._base_col_bounds
            self._col_bounds(cols, lower[cols], upper[cols])
            self._fixed_whole = False

    def _basis(self) -> Basis | None:
        """The backend's basis now, by label (None without one: PDLP, IPM without
        crossover)."""
        basis = self.backend.basis()
        if basis is None:
            return None
        labels = self._labels()
        return Basis(labels[0], labels[1], basis[0], basis[1])

    def _labels(self) -> tuple[pd.Index, pd.Index]:
        if self.__dict__.get("_label_cache") is None:
            self._label_cache = (
                pd.Index(self.problem.lp.column_labels()),
                pd.Index(self.problem.lp.row_labels()),
            )
        return self._label_cache

    def _ranges(self, row_dual: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The range of validity of each limit that has a valuation in the stage just solved
        (see :mod:`econplan.plan.ranging`), from its optimal basis; NaN without a basis
        (PDLP, or interior point without crossover) or with whole units."""
        rows = self.problem.limit_rows
        rows = rows[row_dual[rows] != 0]
        if self.integer or not len(rows):
            return rows, np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        down, up = self.backend.ranges(rows)
        # the backend holds diag(r) A: a bound moves r times as far there as in the problem
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

    def _hold_face(self, row_dual: np.ndarray, col_dual: np.ndarray) -> tuple[int, int] | None:
        """Hold the stage just solved by its optimal face: each column with a reduced cost,
        and each row with a valuation (the backend's scaled duals), fixed at the bound its
        basis has it at. By complementary slackness every plan that keeps them has the
        stage's optimum, so the stages after it choose among its optimal plans only, with no
        tolerance to spend. Rows and columns that are basic, or free at zero, stay as they
        are. How many columns and rows it fixed; None without a basis to read it from."""
        basis = self.backend.basis()
        if basis is None or self.integer:
            return None
        col_status, row_status = basis
        col_lower, col_upper, row_lower, row_upper = self.backend.bounds()
        cols = np.flatnonzero(
            (np.abs(col_dual) > FACE_ZERO)
            & ((col_status == AT_LOWER) | (col_status == AT_UPPER))
            & (col_lower < col_upper)
        )
        # at the value the stage left it at (its bound then): ``_hold`` may have moved the
        # stage column's own bound since
        at = self.backend.values()[cols]
        self.backend.set_column_bounds(cols, at, at)
        rows = np.flatnonzero(
            (np.abs(row_dual) > FACE_ZERO)
            & ((row_status == AT_LOWER) | (row_status == AT_UPPER))
            & (row_lower < row_upper)
        )
        at = np.where(row_status[rows] == AT_LOWER, row_lower[rows], row_upper[rows])
        self.backend.set_row_bounds(rows, at, at)
        self._faced_cols = np.union1d(self._faced_cols, cols)
        self._faced_rows = np.union1d(self._faced_rows, rows)
        return len(cols), len(rows)

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
