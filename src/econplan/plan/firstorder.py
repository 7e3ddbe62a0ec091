"""First-order backends of the stage driver (:mod:`econplan.plan.backend`): a primal-dual
hybrid gradient method (PDLP) finds each stage's point, and HiGHS's simplex takes that point
to an optimal vertex. ``--solver ortools-pdlp`` runs OR-Tools' PDLP, started from the last
stage's optimum (``OrToolsPoint``); ``--solver pdlp`` runs HiGHS's own, which takes no start
(``HighsPoint``); ``--solver cupdlpx`` runs cuPDLPx's on an NVIDIA GPU, started as
OR-Tools' is (``econplan.plan.gpu.CuPdlpxPoint``).

Why a vertex as well. A plan must verify to 1e-6 and its valuations must be exact (ranges,
faces, the bottleneck report read them from a basis). PDLP alone reached neither on the plan's held
stages (docs/performance.md, "Which solver": the imports stage of a 100-product economy not
finished in 110 s). Here PDLP runs to a modest tolerance and no further; HiGHS's crossover
(IPX's) takes its primal-dual point to a basis (``HighsBackend.crossover``), and HiGHS's
simplex finishes the stage from it. Should crossover fail, simplex starts from the basis the
point suggests instead (a crash basis: columns strictly inside their bounds and rows with
slack basic, the rest at the bound they sit on), which was measured to leave simplex as many
iterations as a start from nothing. The stage's optimum is simplex's, so the plan is what
simplex gives within the stage's tolerance, and everything after (refine, faces, polish,
ranges) is HiGHS's own.

What PDLP contributes is the start: the further it gets, the fewer simplex iterations remain.
Its own start is the last stage's optimum, primal and dual (the warm start issue 10 asks of a
first-order backend): the stages differ by their cost and by a held bound, so that point is
feasible and its duals a fair guess.

What it measured (docs/performance.md, "Which solver"): crossover leaves simplex few or no
iterations, but PDLP itself is slow to converge on the held stages, and simplex alone going
on from the last stage's vertex needs only a few; so on this machine it is a correct second
path, for where PDLP is much the faster (a device, a problem too large to factor), not what
auto picks. A stage whose PDLP point did not converge goes on from the last stage's vertex
instead, a better start than crossover from a point far from optimal.

OR-Tools' PDLP and HiGHS's crossover hold Python's lock while they run (measured: a ticking
thread got no turn during a 3-s PDLP run, nor during a 7.9-s crossover), so they run in a
forked child process that Ctrl-C and the deadline kill (``apart``). PDLP's budget is a count
of iterations, not seconds, so that a plan does not depend on how loaded the machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from econplan.plan import gpu
from econplan.plan.apart import DeadlineError, apart
from econplan.plan.backend import (
    AT_LOWER,
    AT_UPPER,
    AT_ZERO,
    BASIC,
    Progress,
    Refined,
    SolveError,
    Status,
)
from econplan.plan.highs import HighsBackend

try:  # an optional extra: the plan runs on HiGHS alone without it
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp
except ImportError:  # pragma: no cover - exercised where OR-Tools is absent
    pdlp = None

METHOD = "ortools-pdlp"
"""The backend's name, for ``--solver`` and plan.json."""

TOLERANCE = 1e-6
"""PDLP's stopping test, relative, on the largest (L-infinity) residual of the scaled
problem: enough for a start; the vertex is simplex's."""

ITERATIONS = 20_000
"""The most PDLP iterations a stage may take before simplex takes over from the point it
reached (a count, so that the plan does not depend on the machine's load)."""

AT_BOUND = 1e-7
"""How close (relative to the bound's size, at least 1) a value must be to its bound to be
read as sitting on it when the crash basis is made."""


def available() -> bool:
    """Whether OR-Tools (the ``first-order`` extra) is installed."""
    return pdlp is not None


class PointEngine(Protocol):
    """What finds a stage's point for simplex to take to a vertex: a copy of the problem, kept
    in step with every cost and bound the driver sets, and a run from a start."""

    warm: bool
    """Whether ``point`` goes on from the start it is given (the last stage's optimum)."""

    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
    ) -> None: ...

    def set_costs(self, cost: np.ndarray) -> None: ...

    def set_bounds(
        self, kind: str, index: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        """The bounds of ``kind`` (column, row) changed at ``index``."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def point(
        self, deadline: float | None, start: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray, int, str]:
        """The point, its row duals, the iterations taken, and why it stopped ("converged",
        "time limit", or the method's own words)."""


class OrToolsPoint:
    """OR-Tools' PDLP: a copy of the problem, and each stage's point from the last stage's
    optimum."""

    warm = True

    def __init__(self, threads: int | None, tolerance: float, iterations: int) -> None:
        if pdlp is None:
            raise ImportError(
                f"--solver {METHOD} needs OR-Tools: pip install 'econplan[first-order]'"
            )
        self.tolerance = tolerance
        self.most = iterations
        self.threads = threads or 1
        self._qp = pdlp.QuadraticProgram()

    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
    ) -> None:
        qp = self._qp
        qp.constraint_matrix = sp.csc_matrix(matrix)
        qp.objective_vector = np.zeros(matrix.shape[1])
        qp.variable_lower_bounds, qp.variable_upper_bounds = (np.array(b) for b in col_bounds)
        qp.constraint_lower_bounds, qp.constraint_upper_bounds = (np.array(b) for b in row_bounds)

    def set_costs(self, cost: np.ndarray) -> None:
        self._qp.objective_vector = np.asarray(cost, dtype=float).copy()

    def set_bounds(
        self, kind: str, index: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        """The bounds of ``kind`` (column, row) changed at ``index`` (PDLP's arrays come back
        as copies: changed whole)."""
        prefix = "variable" if kind == "column" else "constraint"
        for side, values in (("lower", lower), ("upper", upper)):
            name = f"{prefix}_{side}_bounds"
            bounds = np.array(getattr(self._qp, name))
            bounds[index] = values
            setattr(self._qp, name, bounds)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        qp = self._qp
        return tuple(  # type: ignore[return-value]
            np.asarray(b)
            for b in (
                qp.variable_lower_bounds,
                qp.variable_upper_bounds,
                qp.constraint_lower_bounds,
                qp.constraint_upper_bounds,
            )
        )

    def point(
        self, deadline: float | None, start: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray, int, str]:
        """PDLP from ``start`` (the last stage's optimum, primal and dual; or from zero) to
        ``tolerance`` or ``most`` iterations: the point, its duals, the iterations and why it
        stopped. It runs in a child process (``apart``), so that Ctrl-C stops it at once."""
        params = solvers_pb2.PrimalDualHybridGradientParams()
        criteria = params.termination_criteria
        criteria.optimality_norm = solvers_pb2.OPTIMALITY_NORM_L_INF
        criteria.simple_optimality_criteria.eps_optimal_relative = self.tolerance
        criteria.simple_optimality_criteria.eps_optimal_absolute = self.tolerance
        criteria.iteration_limit = self.most
        params.num_threads = self.threads
        params.verbosity_level = 0
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return np.zeros(0), np.zeros(0), 0, "time limit"
            criteria.time_sec_limit = left
        x, y, done, stopped = apart(lambda: _pdlp(self._qp, params, start), "OR-Tools' PDLP")
        if stopped == solve_log_pb2.TERMINATION_REASON_OPTIMAL:
            return x, y, done, "converged"
        if stopped == solve_log_pb2.TERMINATION_REASON_TIME_LIMIT:
            return x, y, done, "time limit"
        # an iteration limit, infeasibility, numerical trouble: simplex decides
        name = solve_log_pb2.TerminationReason.Name(stopped).lower()
        return x, y, done, name.removeprefix("termination_reason_").replace("_", " ")


def _pdlp(
    qp: Any, params: Any, start: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One run of OR-Tools' PDLP: the point, its duals, the iterations, how it ended."""
    if start is None:
        result = pdlp.primal_dual_hybrid_gradient(qp, params)
    else:
        initial = pdlp.PrimalAndDualSolution()
        initial.primal_solution, initial.dual_solution = start
        result = pdlp.primal_dual_hybrid_gradient(qp, params, initial_solution=initial)
    log = result.solve_log
    return (
        np.asarray(result.primal_solution),
        np.asarray(result.dual_solution),
        int(log.iteration_count),
        int(log.termination_reason),
    )


class HighsPoint:
    """HiGHS's PDLP (cuPDLP-C) on a copy of the problem of its own: no start can be given
    (HiGHS 1.16 takes none for PDLP), so each stage starts from zero. It runs in HiGHS's
    thread (``HighsBackend._run``), which Ctrl-C does not wait for."""

    warm = False

    def __init__(self, threads: int | None, tolerance: float, iterations: int) -> None:
        self.backend = HighsBackend("pdlp", threads, settle=False)
        self.backend.highs.setOptionValue("pdlp_optimality_tolerance", tolerance)
        self.backend.highs.setOptionValue("pdlp_iteration_limit", iterations)

    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.backend.load(matrix, col_bounds, row_bounds, np.zeros(0, dtype=np.int64), 1e-9)

    def set_costs(self, cost: np.ndarray) -> None:
        self.backend.set_costs(cost)

    def set_bounds(
        self, kind: str, index: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        if kind == "column":
            self.backend.set_column_bounds(index, lower, upper)
        else:
            self.backend.set_row_bounds(index, lower, upper)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.backend.bounds()

    def point(
        self, deadline: float | None, start: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray, int, str]:
        backend = self.backend
        backend.reset()
        status = backend.solve(deadline, False, lambda _: None)
        if status == Status.TIME_LIMIT:
            return np.zeros(0), np.zeros(0), backend.iterations(), "time limit"
        reason = "converged" if status == Status.OPTIMAL else backend.status_text().lower()
        return backend.values(), backend.duals()[0], backend.iterations(), reason


ENGINES: dict[str, tuple[str, Callable[[int | None, float, int], PointEngine]]] = {
    METHOD: ("OR-Tools PDLP", OrToolsPoint),
    "pdlp": ("HiGHS PDLP", HighsPoint),
    gpu.METHOD: ("cuPDLPx on the GPU", gpu.CuPdlpxPoint),
}
"""The first-order methods a point can come from, by ``--solver`` name: their names as a
planner reads them, and their engines (cuPDLPx's: :mod:`econplan.plan.gpu`)."""


class FirstOrderBackend:
    """A first-order method for each stage's point (OR-Tools' PDLP, or HiGHS's), HiGHS's
    simplex for its vertex (the :class:`~econplan.plan.backend.Backend` protocol).

    Everything but ``solve`` is the vertex's: HiGHS holds the same problem, so values, duals,
    the basis, ranges, the refine and the polish are simplex's. The engine holds a copy of the
    problem with every cost and bound change."""

    def __init__(
        self,
        threads: int | None = None,
        settle: bool = True,
        tolerance: float = TOLERANCE,
        iterations: int = ITERATIONS,
        method: str = METHOD,
    ) -> None:
        if method not in ENGINES:
            raise ValueError(f"no first-order method {method!r}; use one of {', '.join(ENGINES)}")
        self.method = method
        self.name = ENGINES[method][0]
        self.engine: PointEngine = ENGINES[method][1](threads, tolerance, iterations)
        self.vertex = HighsBackend("simplex", threads, settle)
        self._start: tuple[np.ndarray, np.ndarray] | None = None
        """The last stage's optimum, primal and dual (scaled), the next stage's start
        (where the engine takes one)."""
        self._pdlp_iterations = 0
        self.log: list[dict[str, float | int | str]] = []
        """Per stage: the first-order method's iterations, seconds and how it stopped, and
        simplex's iterations after it (benchmarks read it)."""

    # -- the problem: the vertex's copy and the engine's ------------------------------------
    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
        integer: np.ndarray,
        feasibility: float,
    ) -> None:
        if len(integer):
            raise ValueError(
                f"{self.method} solves linear programs only: whole units are HiGHS's branch "
                "and cut's (econplan.plan.whole builds its own simplex solver for them)"
            )
        self.vertex.load(matrix, col_bounds, row_bounds, integer, feasibility)
        self.engine.load(matrix, col_bounds, row_bounds)
        self._matrix = sp.csc_matrix(matrix)
        self._cost = np.zeros(matrix.shape[1])

    def set_costs(self, cost: np.ndarray) -> None:
        self._cost = np.asarray(cost, dtype=float)
        self.vertex.set_costs(cost)
        self.engine.set_costs(cost)

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.vertex.set_column_bounds(cols, lower, upper)
        self.engine.set_bounds("column", cols, lower, upper)

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.vertex.set_row_bounds(rows, lower, upper)
        self.engine.set_bounds("row", rows, lower, upper)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.vertex.bounds()

    def set_mip_gaps(self, relative: float, absolute: float) -> None:
        self.vertex.set_mip_gaps(relative, absolute)

    def set_mip_budget(self, nodes: int | None) -> None:
        self.vertex.set_mip_budget(nodes)

    def set_iteration_limit(self, iterations: int | None) -> None:
        self.vertex.set_iteration_limit(iterations)

    # -- solving ----------------------------------------------------------------------------
    def reset(self) -> None:
        self.vertex.reset()
        self._start = None
        self.log = []

    def solve(self, deadline: float | None, continuing: bool, say: Progress) -> Status:
        began = time.perf_counter()
        x, y, iterations, reason = self.engine.point(deadline, self._start)
        seconds = time.perf_counter() - began
        if reason == "time limit":
            return Status.TIME_LIMIT
        self._pdlp_iterations = iterations
        began = time.perf_counter()
        if not len(x):
            # the engine gave no point (cuPDLPx failed on its device): simplex as it would
            # go alone, from the last stage's vertex or, on the first stage, its own start
            bridge = "last vertex" if continuing else "no point"
        elif reason != "converged" and continuing:
            # a point PDLP did not reach is a worse start than the last stage's optimal vertex,
            # which HiGHS still holds (measured on a generated 300-product economy: the
            # maximin after 20,000 PDLP iterations took 14,235 simplex iterations from
            # crossover's basis of that point)
            bridge = "last vertex"
        else:
            try:
                basis = apart(lambda: self._crossover(x, y), "HiGHS's crossover", deadline)
            except DeadlineError:
                return Status.TIME_LIMIT
            except SolveError as error:
                # the child died (a crash in HiGHS): the crash basis needs no HiGHS call
                say(f"  {error}; simplex from a crash basis instead")
                basis = None
            # no simplex run ended at either basis: priced by Devex (highs.DEVEX)
            if basis is not None:
                try:
                    col_status, row_status = basis
                    self.vertex.set_basis(col_status, row_status, fresh=True)
                except ValueError as error:  # HiGHS refused it (never seen: a guard)
                    say(f"  {error}; simplex from a crash basis instead")
                    basis = None
            bridge = "crash basis" if basis is None else "crossover"
            if basis is None:
                self.vertex.set_basis(*self._crash_basis(x, y), fresh=True)
        bridged = time.perf_counter() - began
        say(
            f"  {self.name}: {iterations:,} iterations, {seconds:.2f} s ({reason}); simplex "
            + {
                "last vertex": "from the last stage's vertex",
                "no point": "from its own start",
                "crossover": f"from HiGHS crossover's basis ({bridged:.2f} s)",
                "crash basis": "from a crash basis (crossover failed)",
            }[bridge]
        )
        status = self.vertex.solve(deadline, continuing, say)
        self.log.append(
            {
                "pdlp_iterations": iterations,
                "pdlp_seconds": seconds,
                "pdlp_stopped": reason,
                "bridge": bridge,
                "bridge_seconds": bridged,
                "simplex_iterations": self.vertex.iterations(),
            }
        )
        if status == Status.OPTIMAL and self.engine.warm:
            self._start = (self.vertex.values(), self.vertex.duals()[0])
        return status

    def _crossover(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The basis HiGHS's crossover takes PDLP's point to (run apart: ``apart``), or None
        where it gives none. Its column duals are the reduced costs the row duals imply."""
        reduced = self._cost - self._matrix.T @ y
        if not self.vertex.crossover(x, self._matrix @ x, y, reduced):
            return None
        return self.vertex.basis()

    def _crash_basis(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The basis PDLP's point suggests: a column strictly inside its bounds is basic, one
        on a bound sits at it; a row with slack is basic (its slack is), one at a bound sits
        at it, on the side its valuation's sign says where it is ranged. HiGHS completes or
        trims it (an alien basis) where the counts do not fit."""
        col_lower, col_upper, row_lower, row_upper = self.vertex.bounds()
        col = _statuses(x, col_lower, col_upper, None)
        activity = self._matrix @ x
        row = _statuses(activity, row_lower, row_upper, y)
        return col, row

    def refine(self, deadline: float | None, say: Progress) -> Refined:
        return self.vertex.refine(deadline, say)

    def polish(self, deadline: float | None, say: Progress) -> None:
        self.vertex.polish(deadline, say)

    # -- what a solve gave: the vertex's ------------------------------------------------------
    def values(self) -> np.ndarray:
        return self.vertex.values()

    def row_values(self) -> np.ndarray:
        return self.vertex.row_values()

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertex.duals()

    def iterations(self) -> int:
        return self._pdlp_iterations + self.vertex.iterations()

    def infeasibilities(self) -> tuple[float, float]:
        return self.vertex.infeasibilities()

    def status_text(self) -> str:
        return self.vertex.status_text()

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self.vertex.basis()

    def set_basis(
        self,
        col_status: np.ndarray,
        row_status: np.ndarray,
        feasible: bool = False,
        fresh: bool = False,
    ) -> None:
        # a basis given (the Leontief one, a like problem's) is a better start than a crash
        # basis, but this backend's stages start from PDLP's point (or the last vertex)
        self.vertex.set_basis(col_status, row_status, feasible, fresh)

    def ranges(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.vertex.ranges(rows)

    def whole_plan(self) -> tuple[np.ndarray, float | None] | None:
        return None

    def set_start(self, x: np.ndarray) -> None:
        self.vertex.set_start(x)


def _statuses(
    value: np.ndarray, lower: np.ndarray, upper: np.ndarray, dual: np.ndarray | None
) -> np.ndarray:
    """Basis statuses of values against their bounds (``_crash_basis``)."""
    with np.errstate(invalid="ignore"):  # inf - inf: no bound, never near
        near_lower = np.isfinite(lower) & (
            np.abs(value - lower) <= AT_BOUND * np.maximum(1.0, np.abs(lower))
        )
        near_upper = np.isfinite(upper) & (
            np.abs(value - upper) <= AT_BOUND * np.maximum(1.0, np.abs(upper))
        )
    status = np.full(len(value), BASIC, dtype=np.int8)
    status[near_upper] = AT_UPPER
    status[near_lower] = AT_LOWER
    both = near_lower & near_upper
    if dual is not None:
        # a ranged row on both bounds (an equation, or a range narrower than the test): a
        # negative valuation presses on the upper bound of a minimisation
        status[both & (dual < 0)] = AT_UPPER
    # an equation or a fixed column sits at its value however far PDLP left it: within its
    # tolerance (1e-6 relative) it may be further off than AT_BOUND (a review counted 133 of
    # 171 equations of a labour stage read as having slack, so basic)
    status[np.isfinite(lower) & (lower == upper)] = AT_LOWER
    free = ~np.isfinite(lower) & ~np.isfinite(upper)
    status[free & (np.abs(value) <= AT_BOUND)] = AT_ZERO
    return status
