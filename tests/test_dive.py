"""Whole units by diving (econplan.plan.dive): each stage's LP optimum taken to whole units one
column at a time, checked against enumerated whole optima on small LPs, and end to end on the
mill economy of test_plan (the option whose relaxation builds 0.4 of a unit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.cli.summary import whole_lines
from econplan.plan import Plan, assemble, make_plan
from econplan.plan import solve as solve_module
from econplan.plan import whole as whole_module
from econplan.plan.backend import SolveError, Status
from econplan.plan.dive import Dive, dive
from econplan.plan.highs import HighsBackend
from econplan.plan.reference import Reference
from econplan.plan.solve import Solver
from test_plan import TIGHT, knapsack_mill, target, whole_mill


def small_lp(row_lower: float, row_upper: float, y_upper: float) -> tuple[HighsBackend, np.ndarray]:
    """min x + 3 y with x + y within [row_lower, row_upper], x in [0, 3] (to be whole) and y
    in [0, y_upper]: the LP takes x = row_lower, all of it in x, the cheaper."""
    backend = HighsBackend()
    matrix = sp.csc_matrix(np.array([[1.0, 1.0]]))
    backend.load(
        matrix,
        (np.array([0.0, 0.0]), np.array([3.0, y_upper])),
        (np.array([row_lower]), np.array([row_upper])),
        np.zeros(0, dtype=np.int64),
        1e-10,
    )
    cost = np.array([1.0, 3.0])
    backend.set_costs(cost)
    assert backend.solve(None, False, lambda _: None) == Status.OPTIMAL
    return backend, cost


def dived(backend: HighsBackend, cost: np.ndarray, guide: float | None = None) -> Dive:
    status, went = dive(
        backend,
        np.array([0]),
        np.array([0.0]),
        np.array([3.0]),
        None if guide is None else np.array([guide]),
        lambda: float(cost @ backend.values()),
        None,
        lambda _: None,
    )
    assert status == Status.OPTIMAL
    return went


def whole_optimum(row_lower: float, row_upper: float, y_upper: float) -> float:
    """The oracle: every whole x tried, y at its cheapest."""
    best = np.inf
    for x in range(4):
        y = max(row_lower - x, 0.0)
        if y <= y_upper and x + y <= row_upper:
            best = min(best, x + 3 * y)
    return best


def dive_summary(problem: Any, solver: Solver) -> str:
    """What the summary says of the whole units of ``solver``'s last dived solve, on one line."""
    info = {
        "integer": {
            "strategy": "dive",
            "rounding": None,
            "columns": len(problem.integer),
            "units": 1.0,
            "reference": "relaxation",
            "cut_short": [],
            "dived": solver.dived,
            "guarded": solver.guarded,
            "loss": {},
        },
        "stages": [{"name": s.name, "unit": "t"} for s in problem.stages],
        "solver": {"tolerance": TIGHT},
        "objectives": {},
    }
    return " ".join(" ".join(whole_lines(Plan(info, {}))).split())


def last_dive_ends(
    monkeypatch: pytest.MonkeyPatch,
    problem: Any,
    dived: Callable[[], list[Any]],
    status: Status,
) -> tuple[list[np.ndarray], list[float | None]]:
    """Make the last stage's dive end at once with ``status`` and no whole plan (the stages
    before it dive as usual; ``dived``: the solver's ``dived``, read when the dive runs).
    Returns the lists that get that dive's guide and deadline."""
    real = solve_module.dive
    guides: list[np.ndarray] = []
    deadlines: list[float | None] = []

    def last_ends(backend, cols, lower, upper, guide, objective, deadline, say):  # type: ignore[no-untyped-def]
        if guide is not None and len(dived()) == len(problem.stages) - 1:
            guides.append(guide.copy())
            deadlines.append(deadline)
            return status, Dive(False, 2, 1)
        return real(backend, cols, lower, upper, guide, objective, deadline, say)

    monkeypatch.setattr(solve_module, "dive", last_ends)
    return guides, deadlines


def test_a_dive_looks_at_both_neighbours() -> None:
    """The LP puts 1.4 in x; its nearest unit, 1, leaves 0.4 to y (cost 2.2), the other, 2,
    costs 2: the dive keeps 2, the whole optimum."""
    backend, cost = small_lp(1.4, np.inf, np.inf)
    assert backend.values()[0] == pytest.approx(1.4)
    went = dived(backend, cost)
    assert went.whole and went.given_up == 0
    assert backend.values()[0] == 2.0
    assert float(cost @ backend.values()) == pytest.approx(whole_optimum(1.4, np.inf, np.inf))


def test_a_dive_goes_the_other_way_where_one_has_no_plan() -> None:
    """With y at most 0.3, x = 1 cannot reach 1.4: that rounding is given up, x = 2 kept."""
    backend, cost = small_lp(1.4, np.inf, 0.3)
    went = dived(backend, cost, guide=1.0)  # the guide's way first, and it fails
    assert went.whole and went.given_up == 1
    assert backend.values()[0] == 2.0
    assert float(cost @ backend.values()) == pytest.approx(whole_optimum(1.4, np.inf, 0.3))


def test_a_dive_looks_past_its_guide_where_that_loses() -> None:
    """At 1.4 with y free, x = 1 costs 2.2 and x = 2 costs 2: the guide's 1 is tried first,
    loses against the LP, so 2 is tried too and kept."""
    backend, cost = small_lp(1.4, np.inf, np.inf)
    went = dived(backend, cost, guide=1.0)
    # x = 1 (worse than the LP), then x = 2 (better, kept): two LPs, no way back to the first
    assert went.whole and backend.values()[0] == 2.0 and went.lps == 2


def test_a_whole_lp_optimum_needs_no_dive() -> None:
    """x costing 3 and y 1, x + y >= 1.4 with y at most 0.4: the LP's optimum, x = 1, is
    whole already, and the dive solves nothing, whatever its guide says."""
    backend = HighsBackend()
    backend.load(
        sp.csc_matrix(np.array([[1.0, 1.0]])),
        (np.array([0.0, 0.0]), np.array([3.0, 0.4])),
        (np.array([1.4]), np.array([np.inf])),
        np.zeros(0, dtype=np.int64),
        1e-10,
    )
    cost = np.array([3.0, 1.0])
    backend.set_costs(cost)
    assert backend.solve(None, False, lambda _: None) == Status.OPTIMAL
    assert backend.values()[0] == pytest.approx(1.0)  # whole already: no LP
    went = dived(backend, cost, guide=2.0)
    assert went.whole and went.lps == 0 and backend.values()[0] == pytest.approx(1.0)


def test_after_a_dive_the_basis_is_the_plans() -> None:
    """The guide's way (x = 1) has no plan, the other (x = 2) holds but loses against the
    LP: kept, with its own basis in place, so that the next LP (the next stage's) goes on
    from it at once rather than from the basis before the fix."""
    backend, cost = small_lp(1.4, np.inf, 0.3)
    went = dived(backend, cost, guide=1.0)
    assert went.whole and went.given_up == 1 and backend.values()[0] == 2.0
    assert backend.solve(None, True, lambda _: None) == Status.OPTIMAL
    assert backend.iterations() == 0


def test_a_dive_that_finds_nothing_says_so() -> None:
    """x + y within [1.2, 1.8] with y fixed at 0: no whole x fits, both ways have no plan,
    and since fixing only shrinks the LP neither ever will: the dive ends at once (the two
    ways and the LP before them again), the column freed, without a whole plan."""
    backend, cost = small_lp(1.2, 1.8, 0.0)
    went = dived(backend, cost)
    assert not went.whole and went.given_up == 2 and went.lps == 3
    lower, upper = backend.bounds()[:2]
    assert (lower[0], upper[0]) == (0.0, 3.0)  # freed again
    assert backend.values()[0] == pytest.approx(1.2)


def test_diving_whole_units_end_to_end(tmp_path: Path) -> None:
    """The mill: the relaxation builds 0.4 of a unit, the dived plan one whole unit, which
    meets the target at the labour of the unit's whole bill (none would leave the target
    two thirds short). Verified whole, recorded stage by stage (no stage's whole value
    better than its LP's), said in the summary and by the CLI."""
    folder = whole_mill(tmp_path / "w")
    plan = make_plan(load_economy(folder), tolerance=TIGHT, integer="dive")
    assert plan.ok, plan.diagnosis
    assert plan.tables["investment"]["units"].tolist() == [1.0]
    assert target(plan, "late")["met"]
    whole = plan.info["integer"]
    assert (whole["strategy"], whole["rounding"]) == ("dive", None)
    assert whole["loss"]["tier1"] == 0.0
    assert whole["loss"]["labour"] == pytest.approx(60.0, rel=1e-6)  # 0.6 of a unit's bill
    stages = [d["stage"] for d in whole["dived"]]
    assert stages == [s["name"] for s in plan.info["stages"]]
    first = whole["dived"][0]
    assert first["bound"] == pytest.approx(0.0, abs=1e-9) and first["value"] == pytest.approx(0.0)
    assert not any(d["settled"] for d in whole["dived"])
    senses = {s["name"]: s["sense"] for s in plan.info["stages"]}
    for d in whole["dived"]:
        gain = d["bound"] - d["value"] if senses[d["stage"]] == "min" else d["value"] - d["bound"]
        assert gain <= 1e-9 * max(abs(d["bound"]), 1.0), d
    checks = plan.info["verification"]["checks"]
    assert checks["whole units"] == {"count": 1, "max_violation": 0.0, "worst": ""}
    said = " ".join(whole_lines(plan))
    assert "dived to whole units (dive)" in said
    result = CliRunner().invoke(
        main, ["plan", str(folder), "--integer", "dive", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "dived to whole units" in " ".join(result.output.split())


def test_a_failed_dive_is_settled_at_the_stage_befores_units(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a later stage's dive finds no whole plan (made to fail here), the stage is solved
    with the units of the stage before fixed, which keep every hold: the labour of an LP with
    those units, recorded as settled."""
    problem = assemble(load_economy(whole_mill(tmp_path / "w")), TIGHT)
    guides, _ = last_dive_ends(monkeypatch, problem, lambda: solver.dived, Status.OPTIMAL)
    solver = Solver(problem, integer=True, dive=True)
    whole = solver.solve()
    cols = np.asarray(problem.integer)
    (units,) = guides
    assert units.sum() >= 1.0  # the stage before met the tier-1 target with whole units
    assert np.round(whole.x[cols]) == pytest.approx(units)
    assert [d["settled"] for d in solver.dived] == [False] * (len(problem.stages) - 1) + [True]
    fixed = Solver(problem)
    fixed.set_column_bounds(cols, units, units)
    lp = {r.stage.name: r.value for r in fixed.solve().stages}
    assert whole.stages[-1].value == pytest.approx(lp["labour"], rel=1e-9)
    assert solver.dived[-1]["value"] == pytest.approx(lp["labour"], rel=1e-9)


def test_a_dive_stopped_by_its_budget_is_settled_not_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dive that ends at an LP's budget of iterations (``Status.BUDGET``, which a MIP's node
    budget also gives) settles the stage at the stage before's units; it is no MIP stage cut
    short, and plan.json's ``cut_short`` stays empty."""
    problem = assemble(load_economy(whole_mill(tmp_path / "w")), TIGHT)
    real = solve_module.dive

    def stopped(backend, cols, lower, upper, guide, objective, deadline, say):  # type: ignore[no-untyped-def]
        if guide is not None:
            return Status.BUDGET, Dive(False, 1, 1)
        return real(backend, cols, lower, upper, guide, objective, deadline, say)

    monkeypatch.setattr(solve_module, "dive", stopped)
    solver = Solver(problem, integer=True, dive=True)
    whole = solver.solve()
    assert solver.cut_short == []
    assert [d["settled"] for d in solver.dived] == [False] + [True] * (len(problem.stages) - 1)
    cols = np.asarray(problem.integer)
    first = np.round(whole.x[cols])
    assert first.sum() >= 1.0 and whole.stages[0].value == pytest.approx(0.0, abs=1e-9)


def test_no_whole_plan_found_says_what_was_not_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mill's 30 made a hard target with 40 person-years a year: rounded up, the unit's
    bill does not fit; rounded to the nearest, none, the target fails. Where the exact
    sequence stopped without a whole plan (made to here) the message asks for more of its
    budget, not to solve exactly, which was done; asked to round, it says to solve exactly."""
    folder = whole_mill(tmp_path / "w")
    (folder / "targets.csv").write_text("id,product,year,amount,kind\nlate,X,2023,30,hard\n")
    (folder / "labour.csv").write_text(
        "region,year,amount\n" + "".join(f"r,{year},40\n" for year in range(2020, 2025))
    )
    economy = load_economy(folder)
    with pytest.raises(SolveError, match=r"--integer exact"):
        make_plan(economy, tolerance=TIGHT, integer="round")
    real = whole_module.Solver.solve

    def stopped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.integer:
            raise SolveError("the MIP of stage tier1 found no whole plan within its budget")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(whole_module.Solver, "solve", stopped)
    with pytest.raises(SolveError, match=r"--mip-nodes, --mip-seconds") as raised:
        make_plan(economy, tolerance=TIGHT, integer="exact")
    assert "--integer exact" not in str(raised.value)


def test_a_dive_at_its_guard_in_seconds_is_settled_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dive's limits are counts, which do not bound the time of an LP dual simplex cannot
    settle; its stage's budget in seconds (``--mip-seconds``) is the guard. A dive still
    diving there (made to here: the last stage's dive ends at its deadline) settles the stage
    at the units of the stage before, recorded as stopped by seconds and said in the summary,
    since on a slower machine the plan may differ. Where the plan's own time limit is what
    ran out (no guard), the plan stops with that error instead."""
    problem = assemble(load_economy(whole_mill(tmp_path / "w")), TIGHT)
    _, deadlines = last_dive_ends(monkeypatch, problem, lambda: solver.dived, Status.TIME_LIMIT)
    given: list[bool] = []
    real_set_basis = HighsBackend.set_basis

    def set_basis(  # type: ignore[no-untyped-def]
        self, col_status, row_status, feasible=False, fresh=False
    ):
        given.append(feasible)
        real_set_basis(self, col_status, row_status, feasible, fresh)

    monkeypatch.setattr(HighsBackend, "set_basis", set_basis)
    solver = Solver(problem, integer=True, dive=True, stage_budget=60.0)
    whole = solver.solve()
    assert deadlines[0] is not None  # the guard: 60 s from the dive's start
    last = solver.dived[-1]
    assert last["settled"] and last["by"] == "seconds"
    assert solver.guarded == ["labour"]
    # settled from the basis the stage before ended at, primal feasible with its units
    assert given.count(True) == 1 and given[-1]
    assert [d["by"] for d in solver.dived[:-1]] == [None] * (len(problem.stages) - 1)
    cols = np.asarray(problem.integer)
    assert (np.round(whole.x[cols]) == whole.x[cols]).all()
    said = dive_summary(problem, solver)
    assert "labour settled at the units of the stage before" in said
    assert "the dive of labour ran into its guard of --mip-seconds" in said
    # no guard, or one past the plan's own time limit: the time that ran out is the plan's,
    # and no plan comes of it
    for budget, limit in ((None, None), (60.0, 30.0)):
        deadlines.clear()
        solver = Solver(problem, time_limit=limit, integer=True, dive=True, stage_budget=budget)
        with pytest.raises(SolveError, match="time limit ran out in stage labour"):
            solver.solve()
        assert len(deadlines) == 1 and solver.guarded == []


def test_auto_dives_a_knapsack_to_a_whole_plan_no_better_than_the_oracle(tmp_path: Path) -> None:
    """``auto`` dives at this size: on the covering knapsack of 16 whole options the plan is
    whole, verified and meets the target, its labour is at least the least that trying every
    choice finds (a dive proves nothing, so it may be more), and what the whole units cost
    against the relaxation is what plan.json says."""
    folder, least = knapsack_mill(tmp_path / "k")
    plan = make_plan(load_economy(folder), tolerance=TIGHT)
    assert plan.ok, plan.info["verification"]
    assert plan.info["integer"]["strategy"] == "dive"
    assert target(plan, "late")["met"]
    units = plan.tables["investment"]["units"]
    assert (units == units.round()).all() and units.sum() >= 1
    labour = plan.info["objectives"]["labour"]
    assert labour >= least * (1 - 1e-9)
    relaxation = labour - plan.info["integer"]["loss"]["labour"]
    assert relaxation <= least * (1 + 1e-9)  # the relaxation bounds every whole plan
    again = make_plan(load_economy(folder), tolerance=TIGHT)
    assert again.tables["investment"].equals(plan.tables["investment"])


def test_auto_solves_exactly_where_neither_the_dive_nor_rounding_gives_a_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mill's 30 in 2023 made a hard target: one whole unit holds it. Made to fail here,
    the dive (its first stage finds no whole plan) and rounding (no units: the target cannot
    hold) give nothing, and ``auto`` then solves every stage as a MIP, which finds the unit;
    the rounded units are not tried a second time."""
    folder = whole_mill(tmp_path / "w")
    (folder / "targets.csv").write_text("id,product,year,amount,kind\nlate,X,2023,30,hard\n")
    real = solve_module.dive

    def no_whole_plan(backend, cols, lower, upper, guide, objective, deadline, say):  # type: ignore[no-untyped-def]
        if guide is None:
            return Status.OPTIMAL, Dive(False, 1, 1)
        return real(backend, cols, lower, upper, guide, objective, deadline, say)

    monkeypatch.setattr(solve_module, "dive", no_whole_plan)
    monkeypatch.setattr(
        whole_module, "_along_starts", lambda problem, cols, *_: np.zeros(len(cols))
    )
    said: list[str] = []
    plan = make_plan(load_economy(folder), tolerance=TIGHT, progress=said.append)
    assert plan.ok, plan.info["verification"]
    assert plan.info["integer"]["strategy"] == "exact"
    assert plan.tables["investment"]["units"].tolist() == [1.0]
    assert "no whole plan by the dive nor by rounding: every stage as a MIP" in said
    fixed = [s for s in said if s.startswith("the whole units (")]
    assert fixed == [
        "the whole units (up) fixed: the stages again, for the plan and valuations",
        "the whole units (nearest) fixed: the stages again, for the plan and valuations",
        "the whole units (exact) fixed: the stages again, for the plan and valuations",
    ]


def test_a_settled_stage_whose_lp_does_not_settle_keeps_the_stage_before_s_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a stage's dive fails and its LP with the stage before's units fixed ends
    unsettled too (made to here: the last stage's dive fails and HiGHS reports that LP
    unsettled), the stage before's whole plan, which keeps every hold, is the sequence's
    plan: its units come out, the stage is recorded as kept, and the summary says so. The
    LP is given a budget of iterations, so the backend tries no interior point from scratch."""
    problem = assemble(load_economy(whole_mill(tmp_path / "w")), TIGHT)
    guides, _ = last_dive_ends(monkeypatch, problem, lambda: solver.dived, Status.OPTIMAL)
    real_solve = HighsBackend.solve
    budgets: list[int | None] = []

    def unsettled(self, deadline, continuing, say):  # type: ignore[no-untyped-def]
        if guides and not budgets:
            budgets.append(self._iteration_limit)
            return Status.UNSETTLED
        return real_solve(self, deadline, continuing, say)

    monkeypatch.setattr(HighsBackend, "solve", unsettled)
    solver = Solver(problem, integer=True, dive=True, stage_budget=60.0)
    said: list[str] = []
    whole = solver.solve(said.append)
    assert budgets == [solve_module.SETTLE_ITERATIONS]
    cols = np.asarray(problem.integer)
    (units,) = guides
    assert units.sum() >= 1.0
    assert np.round(whole.x[cols]) == pytest.approx(units)
    last = solver.dived[-1]
    assert last["stage"] == problem.stages[-1].name and last["kept"] and last["settled"]
    assert len(whole.stages) == len(problem.stages) - 1  # the last never got a value of its own
    assert any("the stage before's plan kept" in s for s in said)
    # the stages again with those units (what make_plan does next) do at least as well as
    # the plan kept, which is one of their plans; and the summary says what was kept
    fixed = Solver(problem)
    fixed.set_column_bounds(cols, units, units)
    assert fixed.solve().stages[-1].value <= last["value"] * (1 + 1e-9)
    summary = dive_summary(problem, solver)
    assert "labour's LP with them did not settle: the units of the stage before kept" in summary


def test_a_reference_plan_s_whole_units_are_kept_unless_others_do_better(tmp_path: Path) -> None:
    """With a reference (a scenario compared with its base), the reference's whole units are
    tried first and kept where no other whole units do better, stage by stage: the base
    plan's own unit is kept and said; a reference that built two units, one more than the
    target needs, loses labour to the dive's one unit and is not kept."""
    economy = load_economy(whole_mill(tmp_path / "w"))
    base = make_plan(economy, tolerance=TIGHT)
    assert base.tables["investment"]["units"].tolist() == [1.0]
    kept = make_plan(
        economy, tolerance=TIGHT, reference=Reference.of(base, economy, "the base plan")
    )
    assert kept.ok and kept.info["integer"]["rounding"] == "as the reference"
    assert kept.tables["investment"]["units"].tolist() == [1.0]
    assert kept.info["objectives"] == pytest.approx(base.info["objectives"], rel=1e-9)
    said = " ".join(" ".join(whole_lines(kept)).split())
    assert "the whole units of the reference plan kept" in said
    two = dataclasses.replace(
        base, tables={**base.tables, "investment": base.tables["investment"].assign(units=2.0)}
    )
    better = make_plan(economy, tolerance=TIGHT, reference=Reference.of(two, economy, "two"))
    assert better.ok and better.info["integer"]["rounding"] is None
    assert better.tables["investment"]["units"].tolist() == [1.0]
    assert better.info["objectives"]["labour"] == pytest.approx(
        base.info["objectives"]["labour"], rel=1e-9
    )
