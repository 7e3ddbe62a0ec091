"""The Leontief start (econplan.plan.start): a nonsingular basis with a supplier basic for each
product balance, from which the first stage reaches the optimum HiGHS's own start reaches, in
far fewer iterations; and the rule that picks it (econplan.plan.pick)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from econplan import load_economy
from econplan.generate import generate_economy
from econplan.plan import Solver, assemble, make_plan, pick
from econplan.plan.backend import BASIC
from econplan.plan.problem import StageProblem
from econplan.plan.start import leontief_basis


def basis_matrix(
    problem: StageProblem, col_status: np.ndarray, row_status: np.ndarray
) -> sp.csc_matrix:
    """The basis as a square matrix: the basic columns of A and of the rows' slacks."""
    rows = problem.matrix.shape[0]
    slack = sp.identity(rows, format="csc")[:, np.flatnonzero(row_status == BASIC)]
    basic = sp.csc_matrix(problem.matrix)[:, np.flatnonzero(col_status == BASIC)]
    return sp.hstack([basic, slack], format="csc")


def assert_nonsingular(matrix: sp.csc_matrix) -> None:
    assert matrix.shape[0] == matrix.shape[1]
    lu = spla.splu(matrix)  # raises on an exactly singular matrix
    diagonal = np.abs(lu.U.diagonal())
    assert diagonal.min() > 1e-12 * diagonal.max()


def test_the_leontief_basis_is_square_and_nonsingular() -> None:
    """One basic variable per row; the basic activities make the products they balance. On
    the built-in economy, whose links ship a product both ways, the shipments made basic form
    a forest rooted where the product is made (a pair shipping one product both ways would be
    a singular basis)."""
    for economy in (generate_economy(products=40, inputs=4, regions=3, years=3, seed=7), None):
        problem = assemble(economy if economy is not None else load_economy())
        found = leontief_basis(problem)
        assert found is not None
        col_status, row_status = found
        balance = problem.lp.rows["balance"]
        held = np.count_nonzero(row_status[balance.index] != BASIC)
        assert held > 0.8 * balance.size  # nearly every balance has its supplier
        assert_nonsingular(basis_matrix(problem, col_status, row_status))
        # a basic shipment never has its reverse basic too (same product, link and year)
        ship = problem.lp.columns["shipment"]
        basic = ship.labels[col_status[ship.index] == BASIC]
        key = ["product", "origin", "destination", "year"]
        there = set(basic[key].itertuples(index=False, name=None))
        assert not any((p, d, o, y) in there for p, o, d, y in there)


def test_the_first_stage_from_the_leontief_basis_reaches_the_same_optima() -> None:
    """Every stage's optimum from the Leontief start equals the one from HiGHS's own start,
    the plan verifies, and the first stage takes a small share of the iterations (counted,
    not timed)."""
    economy = generate_economy(products=60, inputs=5, regions=3, years=3, seed=11)
    problem = assemble(economy)
    own = Solver(problem).solve()
    leontief = Solver(problem, leontief=True).solve()
    for mine, theirs in zip(leontief.stages, own.stages, strict=True):
        assert mine.value == pytest.approx(theirs.value, rel=2 * problem.tolerance, abs=1e-9)
    assert leontief.stages[0].iterations * 5 < own.stages[0].iterations


def test_auto_starts_large_problems_from_the_leontief_basis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rule by size, said in plan.json and kept by the plan: below the threshold HiGHS's
    own start, from it the Leontief basis, with the same optima and a verified plan."""
    economy = generate_economy(products=30, inputs=4, regions=2, years=2, seed=5)
    problem = assemble(economy)
    assert pick.pick_start(problem, "ipm")[0] is False
    below = make_plan(economy)
    assert below.info["solver"]["leontief_start"] is False
    assert "HiGHS's own start" in below.info["solver"]["start_why"]
    monkeypatch.setattr(pick, "LEONTIEF_FROM", problem.shape[1])
    above = make_plan(economy)
    assert above.info["solver"]["leontief_start"] is True
    assert "Leontief basis" in above.info["solver"]["start_why"]
    assert above.ok
    for mine, theirs in zip(above.info["stages"], below.info["stages"], strict=True):
        assert mine["objective"] == pytest.approx(
            theirs["objective"], rel=2 * problem.tolerance, abs=1e-9
        )


def test_the_leontief_start_and_the_polish_are_priced_by_devex(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dual simplex from a basis HiGHS did not reach itself prices by Devex (exact
    steepest-edge weights for it cost one backward solve per row: most of the first stage's
    time at scale, docs/performance.md): the first stage from the Leontief basis and the
    polish do (made to run here: it is skipped where the point needs none); the stages that
    go on from HiGHS's own bases keep its choice. HiGHS is asked for it in the run itself,
    and the optima are those of HiGHS's own start."""
    from econplan.plan.highs import DEVEX, HighsBackend

    runs: list[tuple[bool, int]] = []
    real_run = HighsBackend._run

    def run(self: HighsBackend, deadline: float | None, devex: bool = False) -> object:
        status = real_run(self, deadline, devex)
        runs.append((devex, self.highs.getOptionValue("simplex_dual_edge_weight_strategy")[1]))
        return status

    economy = generate_economy(products=60, inputs=5, regions=3, years=3, seed=11)
    problem = assemble(economy)
    own = Solver(problem).solve()
    runs.clear()
    monkeypatch.setattr(HighsBackend, "_run", run)
    monkeypatch.setattr(HighsBackend, "_accurate", lambda self, solution: False)
    leontief = Solver(problem, leontief=True).solve()
    assert runs[0] == (True, DEVEX)  # the first stage
    assert runs[-1] == (True, DEVEX)  # the polish
    assert all(not devex and weights != DEVEX for devex, weights in runs[1:-1])
    assert len(runs) > 2
    for mine, theirs in zip(leontief.stages, own.stages, strict=True):
        assert mine.value == pytest.approx(theirs.value, rel=2 * problem.tolerance, abs=1e-9)


def test_the_polish_refactors_only_a_point_that_drifted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The polish factors the last basis afresh only where the point HiGHS holds has drifted
    from what the problem makes of it (``HighsBackend._accurate``): a point within the
    tests the stages were solved to is kept as solved, with no run. A basic value moved by
    1e-6 of itself takes the rows it enters out of their bounds by far more than the
    feasibility tolerance (1e-10)."""
    from econplan.plan.highs import HighsBackend

    runs: list[bool] = []
    real_run = HighsBackend._run

    def run(self: HighsBackend, deadline: float | None, devex: bool = False) -> object:
        runs.append(devex)
        return real_run(self, deadline, devex)

    economy = generate_economy(products=60, inputs=5, regions=3, years=3, seed=11)
    solver = Solver(assemble(economy), leontief=True)
    solver.solve()
    backend = solver.backend
    assert isinstance(backend, HighsBackend)
    solution = backend.highs.getSolution()
    assert backend._accurate(solution)
    as_solved = backend.values()
    monkeypatch.setattr(HighsBackend, "_run", run)
    backend.polish(None, lambda _: None)
    assert runs == []
    assert np.array_equal(backend.values(), as_solved)

    col_status = backend.basis()[0]  # type: ignore[index]
    moved = int(np.flatnonzero(col_status == BASIC)[0])
    x = np.array(solution.col_value)
    x[moved] *= 1 + 1e-6
    solution.col_value = x
    primal, dual = backend._residuals(solution)
    assert primal > 1e-9
    assert dual < 1e-12
    assert not backend._accurate(solution)

    # where it is not: factored afresh, priced by Devex, the same vertex
    monkeypatch.setattr(HighsBackend, "_accurate", lambda self, solution: False)
    backend.polish(None, lambda _: None)
    assert runs == [True]
    assert np.allclose(backend.values(), as_solved, rtol=1e-9, atol=1e-12)
