"""The optimal plan: assemble the problem, solve its stages, read off the tables, verify.

``make_plan(economy)`` is the whole job; ``econplan plan`` is its command-line front and
``load_plan(directory)`` reads a written plan back.
"""

from __future__ import annotations

import time

from econplan.model.economy import Economy
from econplan.plan.assemble import PlanProblem, Stage, assemble
from econplan.plan.diagnose import Diagnosis, diagnose
from econplan.plan.disk import PlanError, load_plan, write_plan
from econplan.plan.fixed import Fixed
from econplan.plan.flows import close_past_balances
from econplan.plan.output import Plan, economy_hash
from econplan.plan.plausibility import Plausibility, plausibility, with_plausibility
from econplan.plan.solve import InfeasibleError, Progress, SolveError, Solver
from econplan.plan.tables import plan_tables
from econplan.plan.verify import Verification, verify

VALID = 1e-6
"""Largest relative violation a plan may have and still be written as valid."""

__all__ = [
    "VALID",
    "Diagnosis",
    "Fixed",
    "InfeasibleError",
    "Plan",
    "PlanError",
    "PlanProblem",
    "Plausibility",
    "SolveError",
    "Solver",
    "Stage",
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


def make_plan(
    economy: Economy,
    method: str = "simplex",
    time_limit: float | None = None,
    tolerance: float = 1e-6,
    progress: Progress | None = None,
    fixed: Fixed | None = None,
) -> Plan:
    """The optimal plan of ``economy``, verified; an infeasible economy gives a plan with
    status ``infeasible`` and its diagnosis. Raises SolveError when HiGHS stops short.

    ``fixed``: bounds the plan must keep besides the economy's (what has already happened,
    for re-planning); they are verified with the rest and recorded in plan.json."""
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
    solver = Solver(problem, method, left())
    solver.time_limit = left()  # scaling and passing a large problem to HiGHS take time too
    try:
        solution = solver.solve(say)
    except InfeasibleError:
        say("the hard constraints cannot all hold: solving the elastic problem")
        began = time.perf_counter()
        diagnosis = diagnose(economy, method, left(), tolerance, fixed)
        times["diagnose"] = time.perf_counter() - began
        return Plan.infeasible(economy, problem, method, diagnosis, times)
    times["solve"] = solution.seconds
    began = time.perf_counter()
    tables = plan_tables(problem, solution)
    if fixed is not None and fixed.closed_years:
        tables = close_past_balances(economy, tables, fixed.closed_years)
    times["tables"] = time.perf_counter() - began
    say("verifying the plan against the economy")
    began = time.perf_counter()
    verification = verify(economy, tables)
    times["verify"] = time.perf_counter() - began
    began = time.perf_counter()
    report = plausibility(economy, tables)
    tables = {**tables, "unused": report.unused}
    times["plausibility"] = time.perf_counter() - began
    plan = Plan.optimal(economy, problem, solution, tables, verification, times)
    return with_plausibility(plan, report)
