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
context and for copying the problem to the device, which only a problem large enough to be
worth a GPU repays.

Its row valuations are signed as HiGHS's (its primal step is ``x - tau (c - A'y)``, and a
row held at its lower bound has a positive valuation), so they go to crossover as they are.
Where it fails (its CUDA checks end the child, a problem it refuses), or the deadline passes
while the device is still starting, the stage goes on as for a point not reached: simplex
from the last stage's vertex (on the first stage, from its own start), with the reason in the
stage's log. cuPDLPx 0.3.0 detects no infeasibility without its presolve (off here: the start
and the duals must stay in the problem's own space), so an infeasible stage spends its
iterations and simplex finds it so.

Why cuPDLPx and not NVIDIA's cuOpt, which issue 10 names as well: cuOpt's solver library
alone is a 266-MB wheel (libcuopt-mathopt-cu13 26.10), which cannot travel to the device this
project is lent (64 MiB a call, no network there), so it could never be measured; cuPDLPx is a
108-kB source package that the device's CUDA compiler builds. ``pip install
'econplan[gpu]'`` builds it too, so it needs nvcc (CUDA 12.4 or later), cuBLAS and cuSPARSE
where it is installed, and a network: its build fetches PSLP (its presolve) from GitHub. The
device has none, so ``bench/gpu_wheels.sh`` carries a copy of the source patched to build
without PSLP (``bench/cupdlpx_offline.py``; econplan never asks for its presolve).

What it measured: nothing yet. No device was lent to the session that wrote it; the script
that measures it when one is (``bench/gpu_check.sh``: the oracle tests on this backend, then
``bench/methods.py`` against simplex) is ready, and docs/performance.md says what is known.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import time

import numpy as np
import scipy.sparse as sp

from econplan.plan.apart import DeadlineError, apart
from econplan.plan.backend import SolveError

METHOD = "cupdlpx"
"""The backend's name, for ``--solver`` and plan.json."""

PACKAGE = "cupdlpx"
"""The package the ``gpu`` extra installs (built from source against the CUDA toolkit)."""


def installed() -> bool:
    """Whether cuPDLPx is installed (found, not imported: importing it is the child's)."""
    return importlib.util.find_spec(PACKAGE) is not None


@functools.cache
def devices() -> tuple[str, ...]:
    """The NVIDIA GPUs the driver lists (``nvidia-smi -L``, in a process of its own, so that
    no CUDA context is made here; asked once a process); none where there is no driver. A GPU
    hidden by ``CUDA_VISIBLE_DEVICES`` is listed all the same: cuPDLPx then fails in its
    child, and the stage goes on by simplex."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return ()
    try:
        listed = subprocess.run(
            [tool, "-L"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if listed.returncode != 0:
        return ()
    return tuple(line.strip() for line in listed.stdout.splitlines() if line.startswith("GPU "))


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
        ``tolerance`` or ``most`` iterations, in a forked child: the point, its duals, the
        iterations and why it stopped (no point where it failed or the deadline passed)."""
        left = None
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                return np.zeros(0), np.zeros(0), 0, "time limit"
        try:
            x, y, done, reason = apart(
                lambda: _solve(
                    self._matrix, self._cost, self._bounds, start, self.tolerance, self.most, left
                ),
                "cuPDLPx",
                deadline,
            )
        except DeadlineError:
            return np.zeros(0), np.zeros(0), 0, "time limit"
        except SolveError as error:  # its CUDA checks end the child: simplex goes on
            return np.zeros(0), np.zeros(0), 0, f"failed ({error})"
        return x, y, done, _REASONS.get(reason, reason.lower().replace("_", " "))


_REASONS = {"OPTIMAL": "converged", "TIME_LIMIT": "time limit"}
"""cuPDLPx's termination statuses in the words of ``PointEngine.point``; the others (an
iteration limit above all) are passed on in lower case: a point not reached."""


def _solve(
    matrix: sp.csr_matrix,
    cost: np.ndarray,
    bounds: list[np.ndarray],
    start: tuple[np.ndarray, np.ndarray] | None,
    tolerance: float,
    most: int,
    left: float | None,
) -> tuple[np.ndarray, np.ndarray, int, str]:
    """One run of cuPDLPx (in the child): the point, its row duals, its iterations and its
    status."""
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
        # its stopping tests run every this many iterations (200 by default, which would
        # overrun a small budget); it refuses fewer than 3
        TermCheckFreq=max(3, min(200, most)),
        Presolve=False,  # the start and the duals in the problem's own space
        MatrixZeroTol=0.0,  # keep every coefficient (it drops those below 1e-9 by default)
        OutputFlag=False,
    )
    if left is not None:
        model.setParam("TimeLimit", left)
    if start is not None:
        model.setWarmStart(primal=start[0], dual=start[1])
    model.optimize()
    return (
        np.array(model.X, dtype=float),
        np.array(model.Pi, dtype=float),
        int(model.IterCount or 0),
        str(model.StatusName),
    )
