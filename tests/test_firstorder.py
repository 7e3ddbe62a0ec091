"""The first-order backends (:mod:`econplan.plan.firstorder`): HiGHS's PDLP, and OR-Tools'
started at each stage from the last stage's optimum, each point taken to an optimal vertex by
HiGHS's simplex. The oracle tests of tests/test_plan.py run on them too (``METHODS`` there);
here, what is their own: the plan they give is simplex's within the tolerance, the warm
start, the pieces Ctrl-C lands between, and what a planner reads of it."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.generate import generate_economy
from econplan.plan import Solver, assemble, backend, firstorder, gpu, make_plan
from econplan.plan.apart import DeadlineError, apart

needs_ortools = pytest.mark.skipif(
    not firstorder.available(), reason="OR-Tools (the first-order extra) not installed"
)
needs_gpu = pytest.mark.skipif(not gpu.available(), reason=gpu.missing())
FIRST_ORDER = (
    "pdlp",
    pytest.param(firstorder.METHOD, marks=needs_ortools),
    pytest.param(gpu.METHOD, marks=needs_gpu),
)
"""The first-order methods, each taken to a vertex by simplex: HiGHS's PDLP, OR-Tools' and
cuPDLPx's on a GPU (where one is present)."""

TINY = Path(__file__).parent / "data" / "tiny"


def interrupted_after(seconds: float, run: Callable[[], object]) -> None:
    """``run`` is stopped by a KeyboardInterrupt raised ``seconds`` into it (Ctrl-C, as a
    timer delivers it), which goes on up."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def small_economy():  # type: ignore[no-untyped-def]
    return generate_economy(products=25, inputs=4, regions=2, years=3, seed=7)


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_the_plan_is_simplex_s_within_the_tolerance(method: str) -> None:
    """Held exactly (each optimum refined and held by its face), every stage's optimum is the
    problem's, whatever the path: the first-order path and simplex's agree stage by stage."""
    economy = small_economy()
    plans = {m: make_plan(economy, method=m, hold="exact") for m in ("simplex", method)}
    for plan in plans.values():
        assert plan.status == "optimal"
        assert plan.info["verification"]["valid"]
        assert plan.info["verification"]["max_violation"] <= 1e-6
    simplex, first = (
        {s["name"]: float(s["objective"]) for s in plans[m].info["stages"]}
        for m in ("simplex", method)
    )
    assert simplex.keys() == first.keys()
    for name, value in simplex.items():
        assert first[name] == pytest.approx(value, rel=1e-6, abs=1e-7), name
    assert plans[method].info["solver"]["method"] == method


@needs_ortools
def test_each_stage_starts_from_the_last_optimum() -> None:
    """The warm start: a stage solved again from its own optimum needs no PDLP iteration at
    all, where from nothing it took hundreds."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend()
    solver = Solver(problem, backend=backend)
    solver._objective(problem.stages[0])
    assert backend.solve(None, False, lambda _: None).value == "optimal"
    cold = backend.log[-1]["pdlp_iterations"]
    assert backend.solve(None, True, lambda _: None).value == "optimal"
    warm = backend.log[-1]["pdlp_iterations"]
    assert int(cold) > 100
    assert int(warm) < int(cold) / 10
    backend.reset()
    assert backend._start is None


@needs_ortools
def test_pdlp_runs_apart_as_it_runs_here() -> None:
    """OR-Tools' PDLP holds Python's lock, so it runs in a forked child that Ctrl-C can kill:
    the child gives what a run in this process gives, to the bit; and over a plan held
    exactly, PDLP's copy of the problem kept every hold and face simplex's did."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend()
    solution = Solver(problem, backend=backend, hold="exact").solve()
    engine = backend.engine
    assert isinstance(engine, firstorder.OrToolsPoint)
    for mine, simplex in zip(engine.bounds(), backend.vertex.bounds(), strict=True):
        np.testing.assert_array_equal(np.asarray(mine), simplex)
    assert any(r.face and r.face[0] for r in solution.stages)
    params = firstorder.solvers_pb2.PrimalDualHybridGradientParams()
    params.termination_criteria.iteration_limit = 500
    here = firstorder._pdlp(engine._qp, params, None)
    there = apart(lambda: firstorder._pdlp(engine._qp, params, None), "PDLP")
    assert here[2:] == there[2:] and here[2] > 0
    np.testing.assert_array_equal(here[0], there[0])
    np.testing.assert_array_equal(here[1], there[1])


@needs_ortools
def test_ctrl_c_kills_the_pdlp_child() -> None:
    """A run that would never end (no tolerance to meet, no iteration limit to reach) is
    stopped by Ctrl-C: the interrupt goes on up, and no child is left running."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend()
    Solver(problem, backend=backend)._objective(problem.stages[0])
    params = firstorder.solvers_pb2.PrimalDualHybridGradientParams()
    criteria = params.termination_criteria
    criteria.simple_optimality_criteria.eps_optimal_relative = 0.0
    criteria.simple_optimality_criteria.eps_optimal_absolute = 0.0
    criteria.iteration_limit = 2**31 - 1
    qp = backend.engine._qp  # type: ignore[union-attr]
    interrupted_after(0.5, lambda: apart(lambda: firstorder._pdlp(qp, params, None), "PDLP"))
    assert multiprocessing.active_children() == []


def test_the_crash_basis_reads_bounds_and_sides() -> None:
    """Strictly inside: basic; on a bound: at it; no bound is never near (inf - inf is no
    distance); an equation sits at its value wherever PDLP left it, a pressed row on the side
    its valuation says; a free column at zero is nonbasic at zero."""
    inf = np.inf
    value = np.array([0.0, 5.0, 10.0, 3.0, 0.0, 2.0, 2.0, 2.001])
    lower = np.array([0.0, 0.0, 0.0, -inf, -inf, 2.0, 2.0, 2.0])
    upper = np.array([inf, 10.0, 10.0, inf, inf, 2.0, 2.0 + 1e-9, 2.0])
    dual = np.array([1.0, 0.0, -1.0, 0.0, 0.0, -1.0, -1.0, 0.0])
    status = firstorder._statuses(value, lower, upper, dual)
    L, B, U, Z = backend.AT_LOWER, backend.BASIC, backend.AT_UPPER, backend.AT_ZERO
    # the last: an equation PDLP left 1e-3 off is still at its value
    assert status.tolist() == [L, B, U, B, Z, L, U, L]


def test_whole_units_are_not_its_to_solve() -> None:
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend(method="pdlp")
    with pytest.raises(ValueError, match="linear programs only"):
        backend.load(problem.matrix, (np.zeros(1), np.ones(1)), (None, None), np.array([0]), 1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "label", "packages"),
    [
        ("pdlp", "HiGHS PDLP", {"highspy"}),
        pytest.param(
            firstorder.METHOD, "OR-Tools PDLP", {"highspy", "ortools"}, marks=needs_ortools
        ),
        pytest.param(gpu.METHOD, "cuPDLPx on the GPU", {"highspy", "cupdlpx"}, marks=needs_gpu),
    ],
)
def test_the_cli_says_which_solver_ran(
    tmp_path: Path, method: str, label: str, packages: set[str]
) -> None:
    folder = tmp_path / "economy"
    sizes = ["--products", "20", "--inputs", "3", "--regions", "2", "--years", "2"]
    result = CliRunner().invoke(main, ["generate", *sizes, "--seed", "3", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    asked = ["--out", str(out), "--solver", method]
    result = CliRunner().invoke(main, ["plan", str(folder), *asked])
    assert result.exit_code == 0, result.output
    solver = json.loads((out / "plan.json").read_text())["solver"]
    assert solver["method"] == method
    assert solver["label"] == f"{label}, then HiGHS crossover and simplex from its point"
    assert set(solver["versions"]) == packages
    assert f"{label}, then HiGHS crossover and simplex" in " ".join(result.output.split())


def test_an_infeasible_economy_is_diagnosed_as_on_simplex(tmp_path: Path) -> None:
    """tests/data/tiny cannot meet its hard constraints: the first-order path finds so and
    the diagnosis names the same failing targets and the same first limit as simplex's."""
    named = {}
    for method in ("simplex", "pdlp", firstorder.METHOD):
        if method == firstorder.METHOD and not firstorder.available():
            continue
        out = tmp_path / method
        result = CliRunner().invoke(
            main, ["plan", str(TINY), "--out", str(out), "--solver", method]
        )
        assert result.exit_code == 3, result.output
        diagnosis = json.loads((out / "diagnosis.json").read_text())
        named[method] = diagnosis
    simplex = named.pop("simplex")
    for first in named.values():
        assert simplex["failing_targets"] == first["failing_targets"]
        assert simplex["unbalanced"] == first["unbalanced"]
        # the elastic problem's valuations are not unique (another optimal vertex may price
        # fewer limits), but the limit that binds hardest is the same
        assert simplex["limits"][0] == first["limits"][0]


CROSSOVER = """
import numpy as np, scipy.sparse as sp
from econplan.plan.highs import HighsBackend
# min x0 + x1 with 5 <= x0 + 2 x1 <= 15, 6 <= 3 x0 + 2 x1, 0 <= x0 <= 4, 1 <= x1 <= 7:
# optimal at (0.5, 2.25), both rows at their lower bound, each valued 0.25
a = sp.csc_matrix(np.array([[1.0, 2.0], [3.0, 2.0]]))
backend = HighsBackend("simplex")
backend.load(a, (np.array([0.0, 1.0]), np.array([4.0, 7.0])),
             (np.array([5.0, 6.0]), np.array([15.0, np.inf])), np.array([], int), 1e-9)
cost = np.array([1.0, 1.0])
backend.set_costs(cost)
x, y = np.array([0.5, 2.25]), np.array([0.25, 0.25])
assert backend.crossover(x, a @ x, y, cost - a.T @ y)  # on a Highs that never ran
assert backend.solve(None, False, print).value == "optimal"
assert backend.iterations() == 0
assert np.allclose(backend.values(), x, atol=1e-12)
print("vertex", backend.values())
"""


def test_crossover_takes_a_point_to_its_vertex() -> None:
    """HiGHS's crossover from the optimal point of a closed-form LP gives the optimal basis:
    simplex then takes no iteration. It runs in a process of its own, since highspy 1.16
    ends the process in crossover on a Highs that never ran (the case this guards)."""
    done = subprocess.run(
        [sys.executable, "-c", CROSSOVER], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "vertex [0.5  2.25]" in done.stdout


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_crossover_spares_simplex_the_iterations(method: str) -> None:
    """From PDLP's point, crossover leaves simplex nothing to do on the first stage, where the
    crash basis left it as much as a start from nothing (149 iterations when measured).
    Simplex from either basis, which no simplex run ended at, prices by Devex."""
    problem = assemble(small_economy(), 1e-6)
    taken = {}
    for bridge in ("crossover", "crash basis"):
        backend = firstorder.FirstOrderBackend(method=method)
        if bridge == "crash basis":
            backend.vertex.crossover = lambda *point: False  # type: ignore[method-assign]
        priced: list[bool] = []
        real_run = backend.vertex._run

        def run(
            deadline: float | None, devex: bool = False, priced=priced, real_run=real_run
        ) -> object:
            priced.append(devex)
            return real_run(deadline, devex)

        backend.vertex._run = run  # type: ignore[method-assign,assignment]
        solver = Solver(problem, backend=backend)
        solver._objective(problem.stages[0])
        assert backend.solve(None, False, lambda _: None).value == "optimal"
        assert backend.log[-1]["bridge"] == bridge
        assert priced[:1] == [True]
        taken[bridge] = int(backend.log[-1]["simplex_iterations"])
    assert taken["crash basis"] > 50
    assert taken["crossover"] <= taken["crash basis"] / 10


@pytest.mark.parametrize("method", FIRST_ORDER)
def test_a_point_not_reached_leaves_simplex_the_last_vertex(method: str) -> None:
    """With too few PDLP iterations to converge, a later stage goes on from the last stage's
    optimal vertex (a better start than crossover from a point far from optimal); the first
    stage has no vertex yet and takes the point. The stages' optima stay simplex's."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend(method=method, iterations=5)
    solution = Solver(problem, backend=backend, hold="exact").solve(lambda _: None)
    bridges = [str(entry["bridge"]) for entry in backend.log]
    assert bridges[0] in ("crossover", "crash basis")
    assert set(bridges[1:]) == {"last vertex"}
    assert all(entry["pdlp_stopped"] != "converged" for entry in backend.log)
    simplex = Solver(problem, hold="exact").solve(lambda _: None)
    for ours, theirs in zip(solution.stages, simplex.stages, strict=True):
        assert ours.value == pytest.approx(theirs.value, rel=1e-6, abs=1e-7), ours.stage.name


def test_crossover_runs_apart_and_gives_the_basis_it_gives_here() -> None:
    """HiGHS's crossover holds Python's lock, so it runs in a forked child like PDLP: the
    basis that comes back is the one a run in this process gives, and simplex takes no
    iteration from it."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend(method="pdlp")
    Solver(problem, backend=backend)._objective(problem.stages[0])
    x, y, _, reason = backend.engine.point(None, None)
    assert reason == "converged"
    there = apart(lambda: backend._crossover(x, y), "crossover")
    here = backend._crossover(x, y)
    assert there is not None and here is not None
    for mine, theirs in zip(there, here, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    backend.vertex.set_basis(*there)
    assert backend.vertex.solve(None, False, lambda _: None).value == "optimal"
    assert backend.vertex.iterations() == 0


def test_ctrl_c_and_the_deadline_kill_a_child() -> None:
    """Work apart that would not end for a minute is stopped by Ctrl-C (the interrupt goes on
    up) and by a deadline (DeadlineError), and no child is left running either way."""
    interrupted_after(0.5, lambda: apart(lambda: time.sleep(60), "a minute's sleep"))
    assert multiprocessing.active_children() == []
    with pytest.raises(DeadlineError, match="during a minute's sleep"):
        apart(lambda: time.sleep(60), "a minute's sleep", time.perf_counter() + 0.3)
    assert multiprocessing.active_children() == []


def test_a_crossover_that_dies_leaves_the_crash_basis() -> None:
    """Crossover runs in a child: should HiGHS crash there (as highspy 1.16's crossover does
    on a Highs that never ran), the stage goes on from the crash basis and still ends
    optimal, where the plan would otherwise have been lost."""
    problem = assemble(small_economy(), 1e-6)
    backend = firstorder.FirstOrderBackend(method="pdlp")

    def crash(*_: object) -> None:
        os._exit(139)

    backend._crossover = crash  # type: ignore[method-assign,assignment]
    said: list[str] = []
    Solver(problem, backend=backend)._objective(problem.stages[0])
    assert backend.solve(None, False, said.append).value == "optimal"
    assert backend.log[-1]["bridge"] == "crash basis"
    assert any("ended without a result (exit 139)" in line for line in said)
    assert multiprocessing.active_children() == []


def test_an_error_in_the_child_comes_back_as_a_solve_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """An exception in the child is the parent's to report: a SolveError naming it, and no
    traceback printed by the child."""
    with pytest.raises(firstorder.SolveError, match="division failed: ZeroDivisionError"):
        apart(lambda: 1 / 0, "division")
    assert "Traceback" not in capfd.readouterr().err
    assert multiprocessing.active_children() == []
