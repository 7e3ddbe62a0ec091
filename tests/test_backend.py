"""The solver layer: the stage driver runs on any backend that keeps the protocol of
:mod:`econplan.plan.backend`, stages say what they are as data, and ``--solver auto`` says
what it picked."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.generate import generate_economy
from econplan.model.economy import Economy
from econplan.plan import Solver, assemble, make_plan
from econplan.plan.backend import Progress, Status
from econplan.plan.face import Face
from econplan.plan.highs import HighsBackend
from econplan.plan.pick import AUTO, pick_method
from econplan.plan.problem import HOLD_TARGETS, STAGE_KINDS, StageProblem


class ProtocolOnly:
    """A backend with nothing but the protocol's methods, each passed on to HiGHS's and
    counted: no ``highs`` attribute for the driver to reach past the protocol by."""

    def __init__(self) -> None:
        self._inner = HighsBackend("simplex")
        self.method = "simplex"
        self.calls: dict[str, int] = {}

    def _call(self, name: str, *args: object) -> object:
        self.calls[name] = self.calls.get(name, 0) + 1
        return getattr(self._inner, name)(*args)

    def load(self, *args: object) -> None:
        self._call("load", *args)

    def set_costs(self, cost: np.ndarray) -> None:
        self._call("set_costs", cost)

    def set_column_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self._call("set_column_bounds", cols, lower, upper)

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self._call("set_row_bounds", rows, lower, upper)

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self._call("bounds")  # type: ignore[return-value]

    def set_mip_gaps(self, relative: float, absolute: float) -> None:
        self._call("set_mip_gaps", relative, absolute)

    def set_mip_budget(self, nodes: int | None) -> None:
        self._call("set_mip_budget", nodes)

    def reset(self) -> None:
        self._call("reset")

    def solve(self, deadline: float | None, continuing: bool, say: Progress) -> Status:
        return self._call("solve", deadline, continuing, say)  # type: ignore[return-value]

    def values(self) -> np.ndarray:
        return self._call("values")  # type: ignore[return-value]

    def row_values(self) -> np.ndarray:
        return self._call("row_values")  # type: ignore[return-value]

    def duals(self) -> tuple[np.ndarray, np.ndarray]:
        return self._call("duals")  # type: ignore[return-value]

    def iterations(self) -> int:
        return self._call("iterations")  # type: ignore[return-value]

    def infeasibilities(self) -> tuple[float, float]:
        return self._call("infeasibilities")  # type: ignore[return-value]

    def status_text(self) -> str:
        return self._call("status_text")  # type: ignore[return-value]

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self._call("basis")  # type: ignore[return-value]

    def set_basis(
        self,
        col_status: np.ndarray,
        row_status: np.ndarray,
        feasible: bool = False,
        fresh: bool = False,
    ) -> None:
        self._call("set_basis", col_status, row_status, feasible, fresh)

    def ranges(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._call("ranges", rows)  # type: ignore[return-value]

    def whole_plan(self) -> tuple[np.ndarray, float | None] | None:
        return self._call("whole_plan")  # type: ignore[return-value]

    def set_start(self, x: np.ndarray) -> None:
        self._call("set_start", x)

    def polish(self, deadline: float | None, say: Progress) -> None:
        self._call("polish", deadline, say)


def generated() -> Economy:
    return generate_economy(products=20, inputs=3, regions=2, years=2, seed=3)


def test_the_driver_needs_nothing_but_the_protocol() -> None:
    """The stages, their valuations and ranges, the bases an ensemble starts from and the
    optimal face come out the same through a backend that has only the protocol."""
    problem = assemble(generated())
    plain_solver = Solver(problem)
    plain = plain_solver.solve(keep_bases=True)
    backend = ProtocolOnly()
    solver = Solver(problem, backend=backend)
    with pytest.raises(AttributeError, match="not HiGHS"):
        _ = solver.highs
    through = solver.solve(keep_bases=True)
    assert [r.stage.name for r in through.stages] == [r.stage.name for r in plain.stages]
    for mine, theirs in zip(through.stages, plain.stages, strict=True):
        assert mine.value == pytest.approx(theirs.value, rel=1e-9, abs=1e-12)
        assert mine.row_dual == pytest.approx(theirs.row_dual, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(mine.range_up, theirs.range_up, rtol=1e-9)
        assert mine.basis is not None
    assert through.x == pytest.approx(plain.x, rel=1e-9, abs=1e-12)
    face, plain_face = Face.of(solver), Face.of(plain_solver)
    assert face is not None and plain_face is not None
    assert face.fixed == plain_face.fixed > 0
    # each stage one cost, one solve; the last point polished once
    assert backend.calls["set_costs"] == backend.calls["solve"] == len(problem.stages)
    assert backend.calls["polish"] == 1
    # an ensemble member's start: every stage from a like problem's basis
    starts = {r.stage.name: r.basis for r in plain.stages if r.basis is not None}
    again = Solver(problem, backend=ProtocolOnly()).solve(starts=starts)
    assert again.x == pytest.approx(plain.x, rel=1e-7, abs=1e-9)


def test_stages_say_what_they_are() -> None:
    """Kind, tier and hold rule are data on each stage, and plan.json gives kind and tier."""
    problem = assemble(generated())
    kinds = [s.kind for s in problem.stages]
    assert set(kinds) <= set(STAGE_KINDS)
    assert kinds[0] == "tier" and problem.stages[0].tier == 1
    totals = [s for s in problem.stages if s.hold == HOLD_TARGETS]
    assert totals and all(s.kind == "tier_total" and s.tier is not None for s in totals)
    plan = make_plan(generated())
    assert [(s["kind"], s["tier"]) for s in plan.info["stages"]] == [
        (s.kind, s.tier) for s in problem.stages
    ]


def test_auto_picks_and_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "economy"
    sizes = ["--products", "20", "--inputs", "3", "--regions", "2", "--years", "2"]
    result = CliRunner().invoke(main, ["generate", *sizes, "--seed", "3", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    problem = assemble(load_economy(folder))
    assert pick_method(problem, "ipm") == ("ipm", "asked for")
    method, why = pick_method(problem, AUTO)
    assert method == "simplex" and f"{problem.shape[1]:,} columns" in why
    with pytest.raises(ValueError, match="unknown solver"):
        pick_method(problem, "cplex")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["plan", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    solver = json.loads((out / "plan.json").read_text())["solver"]
    assert (solver["asked"], solver["method"], solver["why"]) == ("auto", method, why)
    assert f"HiGHS simplex, {why}" in " ".join(result.output.split())
    result = CliRunner().invoke(main, ["plan", str(folder), "--out", str(out), "--solver", "ipm"])
    assert result.exit_code == 0, result.output
    solver = json.loads((out / "plan.json").read_text())["solver"]
    assert (solver["asked"], solver["method"], solver["why"]) == ("ipm", "ipm", "asked for")


def test_auto_past_the_measured_size_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the largest problem measured the rule still gives the one method that finished
    there, and its reason says the size was not measured (also with a GPU: the GPU's method
    is not measured yet)."""
    from econplan.plan import gpu, pick

    monkeypatch.setattr(gpu, "available", lambda: True)
    problem = assemble(generated())
    assert "simplex was the fastest" in pick_method(problem, AUTO)[1]
    monkeypatch.setattr(pick, "MEASURED_UP_TO", problem.shape[1] - 1)
    method, why = pick_method(problem, AUTO)
    assert method == "simplex" and "the first-order path did not finish at" in why
    monkeypatch.setattr(pick, "SIMPLEX_UP_TO", problem.shape[1] - 1)
    method, why = pick_method(problem, AUTO)
    assert method == "simplex" and "past the largest size measured" in why


def _stage_values(problem: StageProblem) -> dict[str, float]:
    """Solved where it is sent (a worker process)."""
    return {r.stage.name: r.value for r in Solver(problem).solve().stages}


def test_the_problem_ships_to_a_worker_without_the_economy() -> None:
    """What the driver needs pickles without the economy and solves in another process to
    the same optima."""
    problem = assemble(generated())
    shipped = problem.for_solver()
    assert type(shipped) is StageProblem and not hasattr(shipped, "economy")
    wire = pickle.dumps(shipped)
    assert b"Economy" not in wire and b"econplan.model" not in wire
    here = _stage_values(problem)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(_stage_values, pickle.loads(wire)).result()
    assert there == pytest.approx(here, rel=1e-9, abs=1e-12)


def test_a_solver_not_installed_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without OR-Tools, --solver ortools-pdlp is refused as bad input (exit 2, what to
    install), before anything is read or written; not a traceback."""
    from econplan.plan import firstorder

    monkeypatch.setattr(firstorder, "pdlp", None)
    out = tmp_path / "out"
    for command in (["plan", "--out", str(out)], ["scenario", "run", "typhoon", "--out", str(out)]):
        result = CliRunner().invoke(main, [*command, "--solver", "ortools-pdlp"])
        assert result.exit_code == 2, result.output
        assert "pip install 'econplan[first-order]'" in " ".join(result.output.split())
        assert not out.exists()
    with pytest.raises(ImportError, match="first-order"):
        firstorder.FirstOrderBackend()


def test_an_lp_under_a_budget_of_iterations_is_given_up_not_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An LP under a caller's budget of simplex iterations (a dive's) ends at it with
    ``Status.BUDGET``; one that ends unsettled under it is not solved again by interior point
    from scratch, which no count of iterations bounds: the caller gives it up. Without a
    budget an unsettled stage is settled that way."""
    import highspy

    problem = assemble(generated())
    lower, upper, row_lower, row_upper = problem.lp.bounds()
    backend = HighsBackend("simplex")
    backend.load(problem.matrix, (lower, upper), (row_lower, row_upper), np.zeros(0), 1e-9)
    cost = np.zeros(problem.matrix.shape[1])
    cost[problem.stages[0].column] = 1.0
    backend.set_costs(cost)
    backend.set_iteration_limit(1)
    assert backend.solve(None, False, lambda _: None) == Status.BUDGET
    backend.set_iteration_limit(None)
    assert backend.solve(None, False, lambda _: None) == Status.OPTIMAL
    settled: list[bool] = []

    def unsure(deadline: float | None, devex: bool = False) -> highspy.HighsModelStatus:
        return highspy.HighsModelStatus.kUnknown

    def settle(deadline: float | None, say: Progress) -> highspy.HighsModelStatus:
        settled.append(True)
        return highspy.HighsModelStatus.kOptimal

    monkeypatch.setattr(backend, "_run", unsure)
    monkeypatch.setattr(backend, "_settle", settle)
    backend.set_iteration_limit(1_000)
    assert backend.solve(None, True, lambda _: None) == Status.UNSETTLED
    assert settled == []
    backend.set_iteration_limit(None)
    assert backend.solve(None, True, lambda _: None) == Status.OPTIMAL
    assert settled == [True]


def _packing(seed: int) -> HighsBackend:
    """A small packing LP (most of 60 goods into 20 rows of capacity 1), loaded: simplex
    takes a few dozen iterations over it."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    matrix = sp.csc_matrix(rng.random((20, 60)) * (rng.random((20, 60)) < 0.3))
    backend = HighsBackend("simplex")
    backend.load(
        matrix,
        (np.zeros(60), np.full(60, 10.0)),
        (np.full(20, -np.inf), np.ones(20)),
        np.zeros(0, dtype=np.int64),
        1e-9,
    )
    backend.set_costs(-rng.random(60))
    backend.highs.setOptionValue("presolve", "off")  # iterations, for the callback to see
    return backend


def test_a_solve_asked_for_while_another_runs_waits_its_turn() -> None:
    """The web server runs its jobs in threads (``serve --jobs`` 2 and more): a solve asked
    for while another is under way in another thread must wait for it, not fail, and each
    get its own optimum. (highspy's ``startSolve`` takes a lock shared by every solver in the
    process: the second solve failed with "Solver is already running".) The first solve is
    held in its first iteration by a callback while the second is asked for."""
    import threading

    alone = []
    for seed in (0, 1):
        backend = _packing(seed)
        assert backend.solve(None, False, lambda line: None) == Status.OPTIMAL
        alone.append(backend.values())
    first, second = _packing(0), _packing(1)
    inside, release = threading.Event(), threading.Event()

    def hold(event: object) -> None:
        inside.set()
        release.wait(60)

    first.highs.cbSimplexInterrupt += hold
    statuses: dict[str, Status | str] = {}

    def solve(name: str, backend: HighsBackend) -> None:
        try:
            statuses[name] = backend.solve(None, False, lambda line: None)
        except Exception as error:  # what the old code raised, recorded for the assertion
            statuses[name] = repr(error)

    held = threading.Thread(target=solve, args=("first", first))
    held.start()
    assert inside.wait(60), "the first solve never reached its first iteration"
    waiting = threading.Thread(target=solve, args=("second", second))
    waiting.start()
    waiting.join(1.0)  # it waits for its turn (or, as it used to, fails at once)
    assert "second" not in statuses or statuses["second"] != Status.OPTIMAL, statuses
    release.set()
    held.join(60)
    waiting.join(60)
    assert statuses == {"first": Status.OPTIMAL, "second": Status.OPTIMAL}
    assert np.array_equal(first.values(), alone[0])
    assert np.array_equal(second.values(), alone[1])
