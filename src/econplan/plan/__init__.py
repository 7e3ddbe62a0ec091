"""The optimal plan: assemble the problem, solve its stages, read off the tables, verify.

``make_plan(economy)`` is the whole job; ``econplan plan`` is its command-line front and
``load_plan(directory)`` reads a written plan back.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.assemble import PlanProblem, assemble
from econplan.plan.cross_hauling import least_cross_hauling
from econplan.plan.diagnose import Diagnosis, diagnose
from econplan.plan.disk import PlanError, load_plan, write_plan
from econplan.plan.face import Face
from econplan.plan.families.claims import claim_table
from econplan.plan.fixed import Fixed
from econplan.plan.flows import close_past_balances
from econplan.plan.output import Plan, economy_hash, jsonable
from econplan.plan.pick import AUTO, label, pick_method, pick_start
from econplan.plan.plausibility import Plausibility, plausibility, with_plausibility
from econplan.plan.problem import Stage, StageProblem
from econplan.plan.reference import Reference, ReferenceError, closest, matched
from econplan.plan.solve import (
    DEFAULT_HOLD,
    Basis,
    InfeasibleError,
    Progress,
    Solution,
    SolveError,
    Solver,
)
from econplan.plan.tables import plan_tables
from econplan.plan.verify import Verification, verify
from econplan.plan.waste import least_waste
from econplan.plan.whole import STAGE_NODES, STAGE_SECONDS, NoWholePlanError, solve_whole

VALID = 1e-6
"""Largest relative violation a plan may have and still be written as valid."""

FEASIBILITY = (1e-10, 1e-9)
"""HiGHS's primal feasibility tolerance (on the scaled problem), and the one a plan that
misses verification by a hair is solved again at (see ``AGAIN``). Measured on the built-in
economy: a re-plan verified at 1e-10 and missed by 7.8e-6 at 1e-9; the typhoon scenario
verified at 1e-9 and missed by 1.01e-6 at 1e-10. Neither is wrong, both are rounding on rows
that scaling made small; solving again at the other is cheaper than a worse promise."""

AGAIN = 1e-3
"""A plan failing verification by at most this much is solved once more at the other
feasibility tolerance; a larger violation is a fault, not rounding, and fails at once."""

__all__ = [
    "VALID",
    "Diagnosis",
    "Fixed",
    "InfeasibleError",
    "Plan",
    "PlanError",
    "PlanProblem",
    "Plausibility",
    "Reference",
    "ReferenceError",
    "SolveError",
    "Solver",
    "Stage",
    "StageProblem",
    "Verification",
    "assemble",
    "diagnose",
    "economy_hash",
    "load_plan",
    "make_plan",
    "plausibility",
    "verify",
    "write_plan",
]


CHOICES = {
    "waste": (
        "waste stage: the least output left unused among the optimal plans",
        "waste",
        least_waste,
    ),
    "cross_hauling": (
        "cross-hauling stage: the least shipped both ways among them",
        "shipped both ways",
        least_cross_hauling,
    ),
}
"""The choices made on the optimal face after the last stage, in order (plan.json's key: what
the progress says, what it measures, the choice)."""

NO_FACE = "the last stage left no basis (PDLP), or its values are not the plan's"


def _holds(solver: Solver, solution: Solution) -> bool:
    """Whether the backend still holds ``solution`` with its last stage's basis: the face of the
    optimal plans is read from there. (With whole units, the rounding tried last may not be
    the one kept.)"""
    if solver.backend.basis() is None:
        return False
    held = solver.backend.values() * solver.col_scale
    return len(held) == len(solution.x) and bool(
        np.allclose(held, solution.x, rtol=1e-9, atol=1e-9)
    )


def make_plan(
    economy: Economy,
    method: str = AUTO,
    time_limit: float | None = None,
    tolerance: float = 1e-6,
    progress: Progress | None = None,
    fixed: Fixed | None = None,
    integer: str = "auto",
    previous: Plan | None = None,
    reference: Reference | None = None,
    starts: dict[str, Basis] | None = None,
    settle: bool = True,
    mip_seconds: float | None = STAGE_SECONDS,
    mip_nodes: int | None = STAGE_NODES,
    hold: str = DEFAULT_HOLD,
) -> Plan:
    """The optimal plan of ``economy``, verified; an infeasible economy gives a plan with
    status ``infeasible`` and its diagnosis. Raises SolveError when HiGHS stops short.

    ``fixed``: bounds the plan must keep besides the economy's (what has already happened,
    for re-planning); they are verified with the rest and recorded in plan.json.

    ``method``: the solver, or ``auto`` to pick one by the problem's size
    (:mod:`econplan.plan.pick`); plan.json records what was asked, what ran and why.

    ``integer``: how options built in whole units are solved (see :mod:`econplan.plan.whole`):
    auto, exact, dive or round; ``previous``: the plan a re-plan revises, whose whole units are
    kept where they cost the tiers nothing; ``mip_seconds`` and ``mip_nodes``: how long each
    stage's MIP may run in the exact strategy, in branch-and-bound nodes and at most in
    seconds (None: no limit; nodes give the same plan on any machine, seconds do not).

    ``reference``: a plan to stay close to: after the last stage, the plan on its optimal face
    whose activity is nearest the reference's (see :mod:`econplan.plan.reference`); plan.json
    records the reference and the distance. ``starts``: stage bases of a like problem to
    start from (see ``Solver.solve``), an ensemble member's from its base plan. ``settle``:
    see ``Solver``. ``hold``: how each stage's optimum is kept by the stages after it,
    ``slack`` (within ``tolerance``) or ``face`` (exactly, by its optimal face; see
    ``Solver``); plan.json records it."""
    say = progress or (lambda _: None)
    times: dict[str, float] = {}
    start = began = time.perf_counter()

    def left() -> float | None:
        """What is left of ``time_limit``: it covers assembling as well as solving (an
        economy whose problem takes minutes to assemble must not run past it)."""
        if time_limit is None:
            return None
        remaining = time_limit - (time.perf_counter() - start)
        if remaining <= 0:
            raise SolveError(f"time limit of {time_limit:g} s reached before the solve could start")
        return remaining

    say("assembling the problem")
    problem = assemble(economy, tolerance, fixed=fixed)
    times["assemble"] = time.perf_counter() - began
    rows, cols = problem.shape
    say(f"  {rows:,} rows, {cols:,} columns, {problem.matrix.nnz:,} nonzeros")
    asked = method
    method, why = pick_method(problem, asked)
    leontief, start_why = pick_start(problem, method)
    say(f"solver: {label(method)} ({why}; {start_why})")
    picked = {
        "asked": asked,
        "why": why,
        "leontief_start": leontief,
        "start_why": start_why,
        "hold": hold,
    }
    started = previous.tables["investment"] if previous is not None else None
    near = matched(problem, reference) if reference is not None else None
    records: dict[int, dict[str, dict[str, object]]] = {}
    """What the waste and reference stages did, by the solution they gave (there may be a
    second solve)."""

    def solved(feasibility: float) -> tuple[Solution, dict[str, object] | None]:
        solver = Solver(
            problem,
            method,
            left(),
            feasibility=feasibility,
            settle=settle,
            leontief=leontief,
            hold=hold,
        )
        solver.time_limit = left()  # scaling and passing a large problem to HiGHS take time too
        if len(problem.integer):
            solution, whole = solve_whole(
                problem,
                solver,
                say,
                integer,
                started,
                mip_seconds,
                mip_nodes,
                None if reference is None else reference.investment,
            )
        else:
            solution, whole = solver.solve(say, starts=starts), None
        return on_the_face(solver, solution), whole

    def on_the_face(solver: Solver, solution: Solution) -> Solution:
        """The choices among equally good plans: least waste, least cross-hauling, then (with a
        reference) the plan closest to it, on the last stage's optimal face."""
        face = Face.of(solver) if _holds(solver, solution) else None
        if face is None:
            records[id(solution)] = {"waste": {"applied": False, "why": NO_FACE}}
        else:
            chosen: dict[str, dict[str, object]] = {}
            for key, (what, measured, choose) in CHOICES.items():
                say(what)
                solution, face, record = choose(problem, face, solution, left())
                say(
                    f"  {measured} {record['before']:.6g} -> {record['after']:.6g}"
                    if record["applied"]
                    else f"  not applied: {record['why']}"
                )
                chosen[key] = record
            records[id(solution)] = chosen
        if near is not None:
            say("reference stage: the plan closest to the reference among the optimal ones")
            before = records.get(id(solution), {})
            solution, record = closest(problem, face, solution, near, left())
            records[id(solution)] = {**before, "reference": record}
            say(
                f"  distance {record['distance_before']:.6g} -> {record['distance']:.6g}"
                if record["applied"]
                else f"  not applied: {record['why']}"
            )
        return solution

    try:
        solution, whole = solved(FEASIBILITY[0])
    except InfeasibleError as error:
        say("the hard constraints cannot all hold: solving the elastic problem")
        began = time.perf_counter()
        diagnosis = diagnose(economy, method, left(), tolerance, fixed)
        times["diagnose"] = time.perf_counter() - began
        infeasible = Plan.infeasible(economy, problem, method, diagnosis, times)
        infeasible.info["solver"].update(picked)
        if isinstance(error, NoWholePlanError):
            # the elastic problem makes whole units fractions: it cannot say this
            assert infeasible.diagnosis is not None
            infeasible.diagnosis["whole_units"] = jsonable(error.record())
        return infeasible
    times["solve"] = solution.seconds

    def tables_of(solution: Solution) -> dict[str, pd.DataFrame]:
        tables = {**plan_tables(problem, solution), **claim_table(problem, solution.x)}
        if fixed is not None and fixed.closed_years:
            tables = close_past_balances(economy, tables, fixed.closed_years)
        return tables

    began = time.perf_counter()
    tables = tables_of(solution)
    times["tables"] = time.perf_counter() - began
    say("verifying the plan against the economy")
    began = time.perf_counter()
    verification = verify(economy, tables)
    if not verification.ok(VALID) and verification.max_violation <= AGAIN:
        # HiGHS judges feasibility on the scaled problem: a balance scaled far down can miss
        # by a hair in its own terms. The other feasibility tolerance takes another path.
        say(
            f"  largest violation {verification.max_violation:.3g}: solving again at a "
            f"primal feasibility tolerance of {FEASIBILITY[1]:g}"
        )
        try:
            again, again_whole = solved(FEASIBILITY[1])
            again_tables = tables_of(again)
            again_verification = verify(economy, again_tables)
            if again_verification.max_violation < verification.max_violation:
                solution, whole, tables = again, again_whole, again_tables
                verification = again_verification
        except (InfeasibleError, SolveError) as error:
            say(f"  that solve failed ({error}); the first one stands")
    times["verify"] = time.perf_counter() - began
    began = time.perf_counter()
    report = plausibility(economy, tables)
    tables = {**tables, "unused": report.unused}
    times["plausibility"] = time.perf_counter() - began
    plan = Plan.optimal(economy, problem, solution, tables, verification, times)
    plan.info["solver"].update(picked)
    if whole is not None:
        plan.info["integer"] = jsonable(whole)
    chosen = records.get(id(solution), {})
    for key in CHOICES:
        if key in chosen:
            least = dict(chosen[key])
            # the seconds go to run.json: plan.json is the same, byte for byte, on every run
            plan.run["times"][key] = least.pop("seconds", 0.0)
            plan.info[key] = jsonable(least)
    if reference is not None:
        closeness = dict(chosen.get("reference", {}))
        plan.run["times"]["reference"] = closeness.pop("seconds", 0.0)
        plan.info["reference"] = jsonable(
            {"plan": reference.source, "economy": reference.economy, **closeness}
        )
    return with_plausibility(plan, report)
