"""Investments built in whole units: a power station, a mine, a cement factory.

An option declared ``integer`` must come out in whole units per start year. First the stage
sequence is solved with every option divisible (the relaxation: what whole units are measured
against). Then the whole units come one of three ways, all ending the same way, with the whole
units fixed and the ordinary stage sequence solved again, so that the plan has valuations (a
MIP has none) and verifies as any plan:

- ``exact``: every stage solved as a MIP (HiGHS's branch and cut), each optimum held before
  the next within the tolerance (by the slack: a MIP has no duals, so no face), each stage
  starting from the last one's whole plan.
  A stage's MIP may search ``STAGE_NODES`` branch-and-bound nodes (``--mip-nodes``), a
  budget that stops it at the same plan on any machine, and runs ``STAGE_SECONDS`` at most
  (``--mip-seconds``), a guard for a root node HiGHS does not finish (no count limits it),
  after which the plan depends on the machine's speed. A stage that runs past either is
  settled at the best its best whole plan can do (``Solver._cut_short``); plan.json says
  which budget stopped it, and the next stage starts from that plan (docs/planning.md,
  section 4.5, for what was measured).
- ``dive``: every stage an LP whose optimum is taken to whole units by a dive
  (:mod:`econplan.plan.dive`: one whole column fixed at a time, the least fractional first,
  toward the whole plan of the stage before, the LP solved again from its basis), each
  optimum held as in ``exact``; a stage whose dive fails is settled at the units of the
  stage before. Every limit is a count, so the plan is the same on any machine, with a
  guard of ``STAGE_SECONDS`` a stage (``--mip-seconds``) for the LP dual simplex cannot
  settle, which no count bounds: a stage still diving then is settled at the units of the
  stage before, and plan.json says so. A dive proves nothing, so where its plan loses a
  tier against the relaxation the rounded units (below) are tried as well and the plan
  better stage by stage kept. A stage settled at the stage before's units whose LP with
  them does not settle keeps the stage before's plan, for it and the stages after.
  plan.json's ``integer.dived`` gives each stage's LP optimum beside its whole one.
- ``round``: the relaxation's units rounded along their start years: the whole units started
  by each year are the relaxation's units started by then, rounded up (so every year has at
  least the capacity the relaxation planned, never more units than ``max_units`` in all), and
  fixed; where the tiers then lose against the relaxation, rounding to the nearest unit is
  tried too and the plan that is better stage by stage kept. Rounding up was measured to cost
  the built-in economy's tier 1 and 2 targets (the early bills of a whole cement factory
  where the relaxation started 0.06 of one), so it is what a dive is measured against and
  the fallback when the exact sequence or a dive finds no whole plan at all.

``auto`` dives up to ``DIVE_COLUMNS`` whole columns and rounds above; where neither the dive
nor rounding finds whole units that hold, the exact sequence is run, which finds them where
they exist and proves it where they do not. Branch and cut is asked for by name: on the
built-in economy, with its plants, mines and stations whole, its cost stages ran into their
guard of 60 s (a plan that depends on the machine's speed, 178 s) where the dive took 56 s,
the same on every run, and lost 0.1% of imports more (docs/planning.md, section 4.5).

What the whole units cost is reported per stage against the relaxation (``loss``), so a
planner sees what they take from each goal.

A re-plan passes the whole units of the plan it revises (``previous``): they are tried first
and kept when the tiers lose nothing by them against the relaxation (projects under way go on,
and a re-plan with every report as planned gives the plan back); otherwise the other
candidates are tried too and the plan that is better stage by stage is kept. A plan made
with a reference (``reference_units``, a scenario compared with its base) tries the
reference's units first too, but keeps them only where no other candidate does better stage
by stage: a shock that asks for other units gets them.

Where the hard constraints hold with the options divisible but the exact sequence's first
stage finds them infeasible in whole units, and the relaxation rounded gives no whole plan
either (nor did the units of a plan being revised), there is no plan (``NoWholePlanError``):
the diagnosis of the elastic problem, which makes whole units fractions, cannot see why, so
the error names the starts the relaxation made in fractions of a unit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from econplan.plan.assemble import PlanProblem
from econplan.plan.solve import InfeasibleError, Progress, Solution, SolveError, Solver

DIVE_COLUMNS = 400
"""Whole columns up to which ``auto`` dives, rounding above (see the module note)."""

STAGE_NODES = 100
"""The branch-and-bound nodes one stage's MIP may search in the exact sequence (see the module
note)."""

STAGE_SECONDS = 60.0
"""The seconds one stage's MIP (the exact sequence) or one stage's dive may run at most: a guard
(see the module note)."""

STRATEGIES = ("auto", "exact", "dive", "round")

AS_REFERENCE = "as the reference"
"""The name of the reference plan's whole units among the candidates (plan.json's
``integer.rounding`` where they are kept)."""


class NoWholePlanError(InfeasibleError):
    """The hard constraints hold with every option divisible, not in whole units."""

    def __init__(self, fractions: pd.DataFrame) -> None:
        super().__init__("the hard constraints cannot all hold with the options in whole units")
        self.fractions = fractions
        """What the relaxation started in fractions of a unit: option, start_year, units."""

    def record(self) -> dict[str, Any]:
        """What diagnosis.json says of it (``whole_units_said`` puts it in a sentence)."""
        return {
            "why": "the hard constraints hold with every option divisible but with no choice "
            "of whole units of the options declared integer",
            "relaxation": self.fractions.to_dict("records"),
            "what_to_do": "declare such an option divisible (integer false in investments.csv), "
            "allow it more units or other start years, or loosen the hard targets it serves",
        }


def solve_whole(
    problem: PlanProblem,
    solver: Solver,
    say: Progress,
    strategy: str = "auto",
    previous: pd.DataFrame | None = None,
    stage_seconds: float | None = STAGE_SECONDS,
    stage_nodes: int | None = STAGE_NODES,
    reference_units: pd.DataFrame | None = None,
) -> tuple[Solution, dict[str, Any]]:
    """The plan with the problem's integer columns whole, and what plan.json records of it.

    ``previous``: the investment table (option, start_year, units) of a plan being revised;
    ``reference_units``: that of a plan to stay close to, whose units are kept unless other whole
    units do better in some stage, beyond the tolerance, before any stage does worse;
    ``stage_seconds``: the guard on each stage's MIP or dive, in seconds, and ``stage_nodes``
    the branch-and-bound nodes each stage's MIP may search (``exact``); None: no limit."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    began = time.perf_counter()
    cols = np.asarray(problem.integer, dtype=np.int64)
    auto = strategy == "auto"
    if auto:
        strategy = "dive" if len(cols) <= DIVE_COLUMNS else "round"
    say(f"{len(cols)} whole investment columns: first the relaxation (every option divisible)")
    reference = solver.solve(say)
    fractions = np.maximum(reference.x[cols], 0.0)
    rounded = [
        ("up", _along_starts(problem, cols, fractions, np.ceil)),
        ("nearest", _along_starts(problem, cols, fractions, np.round)),
    ]
    cut_short: list[dict[str, float | str | None]] = []
    dived: list[dict[str, float | str | int | bool | None]] = []
    guarded: list[str] = []  # stages whose dive ran into its guard in seconds
    before = {r.stage.name: r.value for r in reference.stages}
    none_whole = False  # the exact sequence's first stage found no whole units feasible
    ran: str | None = None  # the sequence (exact or dive) tried before any rounding

    def sequence() -> list[tuple[str, np.ndarray]]:
        """The whole units of the stage sequence solved with them whole (by branch and cut,
        or by dives), or the rounded ones where it found none."""
        nonlocal strategy, cut_short, dived, guarded, none_whole, ran
        ran = strategy
        if strategy == "dive":
            say("every stage's LP optimum dived to whole units")
        else:
            within = [f"{stage_nodes:,} nodes"] if stage_nodes is not None else []
            within += [f"{stage_seconds:g} s"] if stage_seconds is not None else []
            each = f", each within {' and '.join(within)}" if within else ""
            say(f"every stage as a MIP{each}")
        spent = time.perf_counter() - began
        left = None if solver.time_limit is None else solver.time_limit - spent
        mip = Solver(
            problem,
            "simplex",
            left,
            integer=True,
            stage_budget=stage_seconds,
            stage_nodes=stage_nodes,
            dive=strategy == "dive",
        )
        try:
            found = mip.solve(say)
        except InfeasibleError:
            guarded = guarded + mip.guarded
            # no whole units keep the hard constraints, which the relaxation keeps; the
            # rounded units are two LPs more, against a MIP's infeasibility judged at its own
            # tolerance on its own scaling
            say("  no whole units keep the hard constraints: the relaxation rounded, to be sure")
            none_whole = True
            strategy = "round"
            return rounded
        except SolveError as error:
            # no whole plan found in a stage's budget: rounding the relaxation still gives one
            guarded = guarded + mip.guarded
            say(f"  {error}: the relaxation rounded instead")
            strategy = "round"
            return rounded
        cut_short = mip.cut_short
        dived = mip.dived
        guarded = guarded + mip.guarded
        if strategy == "dive":
            # a dive is no proof of optimality: rounding may still do better stage by stage
            return [("dive", np.round(found.x[cols])), *rounded]
        return [("exact", np.round(found.x[cols]))]

    def candidates() -> Iterator[tuple[str, np.ndarray]]:
        """The whole units to try, in order; lazily, so that a re-plan whose units as before
        cost the tiers nothing runs no MIP at all."""
        if previous is not None:
            yield "as before", _previous_units(problem, cols, previous)
        if reference_units is not None:
            yield AS_REFERENCE, _previous_units(problem, cols, reference_units)
        yield from sequence() if strategy in ("exact", "dive") else rounded

    best: tuple[str, np.ndarray, Solution] | None = None
    failed: SolveError | None = None

    def fix_each(found_units: Iterable[tuple[str, np.ndarray]]) -> None:
        """Each candidate's whole units fixed and the stages solved again; the best plan
        stage by stage kept (``best``)."""
        nonlocal best, failed
        for name, found in found_units:
            units = np.maximum(found, 0.0)
            say(f"the whole units ({name}) fixed: the stages again, for the plan and valuations")
            solver.set_column_bounds(cols, units, units)
            try:
                solution = solver.solve(say)
            except InfeasibleError:
                say(f"with the whole units {name} the hard constraints cannot hold")
                continue
            except SolveError as error:
                say(f"with the whole units {name} HiGHS found no plan: {error}")
                failed = error
                continue
            if best is None or _better(solution, best[2], problem.tolerance):
                best = (name, units, solution)
            if name != AS_REFERENCE and not _tiers_lose(solution, before, problem.tolerance):
                break  # the tiers lose nothing to the relaxation: the next cannot gain

    fix_each(candidates())
    spent = time.perf_counter() - began
    if (
        best is None
        and auto
        and ran == "dive"
        and (solver.time_limit is None or spent < solver.time_limit)
    ):
        # neither the dive nor rounding found whole units that hold: branch and cut finds
        # them where they exist, and where they do not, its first stage proves it
        say("no whole plan by the dive nor by rounding: every stage as a MIP")
        strategy = "exact"
        fix_each(c for c in sequence() if c[0] == "exact")  # the rounded ones were tried
    if best is None and none_whole:
        raise NoWholePlanError(_fractions(problem, cols, fractions))
    if best is None and failed is not None:
        raise failed  # not the whole units: the solver (a time limit, numerical trouble)
    if best is None:
        # what has not been tried yet: the exact sequence, or more of its budget
        more = (
            "give each stage's MIP more nodes or seconds (--mip-nodes, --mip-seconds)"
            if ran == "exact"
            else "solve exactly (--integer exact)"
        )
        raise SolveError(
            "with the options declared integer in whole units the hard constraints cannot "
            f"hold in any plan found: {more} or declare the options divisible (integer false)"
        )
    name, units, solution = best
    return solution, {
        "strategy": strategy,
        "rounding": None if name in ("exact", "dive") else name,
        "columns": len(cols),
        "units": float(units.sum()),
        "reference": "relaxation",
        "cut_short": cut_short,
        "dived": dived if name == "dive" else [],
        "guarded": guarded,
        "loss": {
            r.stage.name: _loss(r.stage.sense, before[r.stage.name], r.value)
            for r in solution.stages
            if r.stage.name in before
        },
    }


def _starts(problem: PlanProblem, cols: np.ndarray) -> pd.DataFrame:
    """The option and start year of each of the whole columns ``cols``, in their order."""
    block = problem.lp.columns["investment"]
    labels = block.labels.iloc[cols - block.start]
    return pd.DataFrame(
        {
            "option": labels["option"].to_numpy(dtype=object),
            "start_year": labels["start_year"].to_numpy(dtype=int),
        }
    )


def _previous_units(problem: PlanProblem, cols: np.ndarray, previous: pd.DataFrame) -> np.ndarray:
    """The whole units a revised plan started, on this problem's whole columns (0 where it
    started none)."""
    started = previous.groupby(["option", "start_year"])["units"].sum()
    at = pd.MultiIndex.from_frame(_starts(problem, cols))
    return np.round(started.reindex(at).fillna(0.0).to_numpy(dtype=float))


def whole_units_said(diagnosis: dict[str, Any] | None, at_most: int = 5) -> str | None:
    """A diagnosis's ``whole_units`` (``NoWholePlanError.record``) in a sentence, for the fronts
    that give a reason in a line (re-plans, scenarios, ensembles, the web app); None where it
    has none."""
    whole = (diagnosis or {}).get("whole_units")
    if not whole:
        return None
    starts = whole["relaxation"]
    listed = ", ".join(
        f"{r['units']:.6g} of {r['option']} in {r['start_year']}" for r in starts[:at_most]
    )
    more = f" and {len(starts) - at_most} more" if len(starts) > at_most else ""
    return (
        "the hard constraints hold with every option divisible, not in whole units "
        f"(divisible, the plan starts {listed}{more}): {whole['what_to_do']}"
    )


def _fractions(problem: PlanProblem, cols: np.ndarray, units: np.ndarray) -> pd.DataFrame:
    """The starts of whole options that ``units`` (the relaxation's) makes in fractions of a
    unit (every start it makes, where none is a fraction beyond 1e-9): option, start_year and
    units."""
    frame = _starts(problem, cols).assign(units=np.round(units, 9))
    part = np.abs(frame["units"] - np.round(frame["units"])) > 1e-9
    if not part.any():  # 0.9999994 of a unit is a fraction too, but say every start then
        part = frame["units"] > 1e-9
    found: pd.DataFrame = frame[part].sort_values(["option", "start_year"])
    return found.reset_index(drop=True)


def _tiers_lose(solution: Solution, reference: dict[str, float], tolerance: float) -> bool:
    """Whether a tier stage came out worse than in the reference beyond the tolerance."""
    return any(
        _loss(r.stage.sense, reference[r.stage.name], r.value)
        > tolerance * max(abs(reference[r.stage.name]), 1.0)
        for r in solution.stages
        if r.stage.kind in ("tier", "tier_total") and r.stage.name in reference
    )


def _better(solution: Solution, than: Solution, tolerance: float) -> bool:
    """Lexicographically better, stage by stage, beyond the stages' tolerance."""
    theirs = {r.stage.name: r.value for r in than.stages}
    for r in solution.stages:
        other = theirs.get(r.stage.name)
        if other is None:
            continue
        gap = _loss(r.stage.sense, other, r.value)  # > 0: this one is worse
        if abs(gap) > tolerance * max(abs(other), 1.0):
            return gap < 0
    return False


def _along_starts(
    problem: PlanProblem,
    cols: np.ndarray,
    fractions: np.ndarray,
    rounding: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Whole units per start year: each option's units started by each year, rounded, less
    those started by the year before (start years run in order within an option)."""
    frame = (
        _starts(problem, cols)
        .assign(units=fractions, at=np.arange(len(cols)))
        .sort_values(["option", "start_year"], kind="stable")
    )
    # a relaxation's 0.9999999 is a whole unit, not one to round up to 2
    started = rounding(np.round(frame.groupby("option")["units"].cumsum().to_numpy(), 7))
    before = np.concatenate([[0.0], started[:-1]])
    first = ~frame["option"].duplicated().to_numpy()
    before[first] = 0.0
    units = np.zeros(len(cols))
    units[frame["at"].to_numpy()] = started - before
    return units


def _loss(sense: str, reference: float, value: float) -> float:
    """How much worse the stage came out than its reference (a gain shows as negative)."""
    loss = value - reference if sense == "min" else reference - value
    return 0.0 if abs(loss) < 1e-12 else float(loss)
