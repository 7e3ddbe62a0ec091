"""cuPDLPx's PDLP on an NVIDIA GPU as the point engine of the first-order backend
(:mod:`econplan.plan.firstorder`): ``--solver cupdlpx``, the ``gpu`` extra.

Each stage's point comes from cuPDLPx (MIT's PDLP written for CUDA) on the device, started
from the last stage's optimum (primal and dual) and stopped by the same L-infinity test as
OR-Tools' PDLP, and HiGHS's crossover and simplex take it to an optimal vertex on the host.
So the plan, its valuations and its verification are simplex's whatever the device gives: a
point far from the optimum costs simplex iterations, never a wrong plan. That is what makes an
engine that cannot be tested on a machine without a GPU safe to offer: its one job is a good
start.

The device is reached only in a forked child (:func:`econplan.plan.apart.apart`), one per
stage: a CUDA context made in this process would not survive the fork, so this process never
imports cuPDLPx nor asks the driver anything (``available`` looks for the package and for a
device without loading either), and Ctrl-C kills the child at once. Each stage pays for a
context and for copying the problem to the device (about a second; PDLP's iterations on a
problem worth a GPU take longer).

Its valuations are checked for their sign against its reduced costs before crossover takes
them (``_dual_sign``): the driver's convention is HiGHS's (a reduced cost is the cost less the
column's valuations, ``c - A'y``), and a start of the opposite sign would cost crossover its
way, silently.

Why cuPDLPx and not NVIDIA's cuOpt, which issue 10 names as well: cuOpt's solver library
alone is a 266-MB wheel (libcuopt-mathopt-cu13 26.10), which cannot travel to the device this
project is lent (64 MiB a call, no network there), so it could never be measured; cuPDLPx is a
108-kB source package that the device's CUDA compiler builds. ``pip install
'econplan[gpu]'`` builds it too, so it needs nvcc (CUDA 12.4 or later) where it is installed.

What it measured: nothing yet. No device was lent to the session that wrote it; the script
that measures it when one is (``bench/gpu_check.sh``: the oracle tests on this backend, then
``bench/methods.py`` against simplex) is ready, and docs/performance.md says what is known.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from econplan.plan.apart import apart

METHOD = "cupdlpx"
"""The backend's name, for ``--solver`` and plan.json."""

PACKAGE = "cupdlpx"
"""The package the ``gpu`` extra installs (built from source against the CUDA toolkit)."""


def installed() -> bool:
    """Whether cuPDLPx is installed (found, not imported: importing it is the child's)."""
    return importlib.util.find_spec(PACKAGE) is not None


def devices() -> list[str]:
    """The NVIDIA GPUs the driver lists (``nvidia-smi -L``, in a process of its own, so that
    no CUDA context is made here); none where there is no driver."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        listed = subprocess.run(
            [tool, "-L"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listed.returncode != 0:
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.startswith("GPU ")]


def available() -> bool:
    """Whether this backend can run here: cuPDLPx installed and a GPU listed."""
    return installed() and bool(devices())


def missing() -> str:
    """What keeps the backend from running here, said for a planner ("" where nothing)."""
    if not installed():
        return "cuPDLPx is not installed: pip install 'econplan[gpu]' (builds it with CUDA's nvcc)"
    if not devices():
        return "no NVIDIA GPU is visible here (nvidia-smi lists none)"
    return ""


class CuPdlpxPoint:
    """cuPDLPx's PDLP: a copy of the problem on the host, sent to the device for each stage's
    point, started from the last stage's optimum (the ``PointEngine`` protocol of
    :mod:`econplan.plan.firstorder`)."""

    warm = True

    def __init__(self, threads: int | None, tolerance: float, iterations: int) -> None:
        if not available():
            raise ImportError(f"--solver {METHOD} cannot run here: {missing()}")
        del threads  # the device's parallelism is its own
        self.tolerance = tolerance
        self.most = iterations

    def load(
        self,
        matrix: sp.csc_matrix,
        col_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self._matrix = sp.csr_matrix(matrix)  # cuPDLPx takes rows
        self._cost = np.zeros(matrix.shape[1])
        self._bounds = [np.array(b, dtype=float) for b in (*col_bounds, *row_bounds)]

    def set_costs(self, cost: np.ndarray) -> None:
        self._cost = np.asarray(cost, dtype=float).copy()

    def set_bounds(
        self, kind: str, index: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> None:
        first = 0 if kind == "column" else 2
        self._bounds[first][index] = lower
        self._bounds[first + 1][index] = upper

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        col_lower, col_upper, row_lower, row_upper = self._bounds
        return col_lower, col_upper, row_lower, row_upper

    def point(
        self, deadline: float | None, start: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray, int, str]:
        """PDLP from ``start`` (the last stage's optimum, primal and dual; or from zero) to
        ``tolerance`` or ``most`` iterations, in a forked child: the point, its duals in
        HiGHS's sign, the iterations and why it stopped."""
        left = None
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return np.zeros(0), np.zeros(0), 0, "time limit"
        x, y, reduced, done, reason = apart(
            lambda: _solve(
                self._matrix, self._cost, self._bounds, start, self.tolerance, self.most, left
            ),
            "cuPDLPx",
        )
        if x is None:  # it found no point at all (an infeasible problem): simplex decides
            return np.zeros(0), np.zeros(0), done, reason.lower().replace("_", " ")
        y = y * _dual_sign(self._matrix, self._cost, y, reduced)
        return x, y, done, _REASONS.get(reason, reason.lower().replace("_", " "))


_REASONS = {"OPTIMAL": "converged", "TIME_LIMIT": "time limit"}
"""cuPDLPx's termination statuses in the words of ``PointEngine.point``; others (an iteration
limit, infeasibility) are passed on in lower case for simplex to decide."""


def _solve(
    matrix: sp.csr_matrix,
    cost: np.ndarray,
    bounds: list[np.ndarray],
    start: tuple[np.ndarray, np.ndarray] | None,
    tolerance: float,
    most: int,
    left: float | None,
) -> tuple[Any, Any, Any, int, str]:
    """One run of cuPDLPx (in the child): the point, its row duals and reduced costs as
    cuPDLPx signs them (None where it gives none), its iterations and its status."""
    import cupdlpx

    col_lower, col_upper, row_lower, row_upper = bounds
    model = cupdlpx.Model(
        objective_vector=cost,
        constraint_matrix=matrix,
        constraint_lower_bound=row_lower,
        constraint_upper_bound=row_upper,
        variable_lower_bound=col_lower,
        variable_upper_bound=col_upper,
    )
    model.setParams(
        OptimalityNorm="linf",  # as OR-Tools' PDLP here: the L2 test left rows 5e-3 off
        OptimalityTol=tolerance,
        FeasibilityTol=tolerance,
        IterationLimit=most,
        Presolve=False,  # the start and the duals in the problem's own space
        OutputFlag=False,
    )
    if left is not None:
        model.setParam("TimeLimit", left)
    if start is not None:
        model.setWarmStart(primal=start[0], dual=start[1])
    model.optimize()

    def array(values: Any) -> Any:
        return None if values is None else np.array(values, dtype=float)

    return (
        array(model.X),
        array(model.Pi),
        array(model.RC),
        int(model.IterCount or 0),
        str(model.StatusName),
    )


def _dual_sign(matrix: sp.csr_matrix, cost: np.ndarray, y: np.ndarray, reduced: np.ndarray) -> int:
    """+1 where ``y`` is signed as HiGHS signs row duals (the reduced costs are ``c - A'y``),
    -1 where as their opposite (``c + A'y``): whichever of the two its own reduced costs fit
    better. With no valuations or no reduced costs to compare, +1."""
    if not len(y) or len(reduced) != matrix.shape[1]:
        return 1
    priced = matrix.T @ y
    as_highs = float(np.abs(cost - priced - reduced).max(initial=0.0))
    opposite = float(np.abs(cost + priced - reduced).max(initial=0.0))
    return -1 if opposite < as_highs else 1
