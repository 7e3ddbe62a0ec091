"""One member of an ensemble, as a Dask task: draw its shocks, apply them to the base economy,
plan, verify, and keep the small tables the ensemble's results are made of (never the plan).

A member that cannot be planned is a result too: infeasible (the hard targets cannot all hold;
the diagnosis names the targets that fail), failed (the solver stopped short) or unverified.
"""

from __future__ import annotations

import os
import resource
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from econplan.ensemble.draw import draw_member
from econplan.ensemble.read import Ensemble
from econplan.model.economy import Economy
from econplan.plan import VALID, SolveError, assemble, make_plan
from econplan.plan.output import Plan
from econplan.plan.solve import Basis, Solver
from econplan.plan.whole import whole_units_said
from econplan.scenario import ScenarioError, apply_changes

STATUSES = ("optimal", "infeasible", "failed", "unverified")

TOLERANCE = 1e-6
"""The stages' relative tolerance: make_plan's default, which members are planned with."""


@dataclass
class MemberResult:
    """What the ensemble keeps of a member, JSON-able (a member's file)."""

    member: int
    status: str
    seconds: float
    reason: str = ""
    drawn: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    """id, met, fulfilment (planned over required) of every target."""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    """National production of every product with a target, by year."""
    consumption: list[dict[str, Any]] = field(default_factory=list)
    """The consumption level by region and year."""
    binding: list[dict[str, Any]] = field(default_factory=list)
    """The limits that bind, by stage."""
    objectives: dict[str, float] = field(default_factory=dict)
    max_violation: float | None = None
    iterations: int = 0
    """Simplex iterations over every stage (of the solve kept)."""
    worker: str = ""
    """The process that planned the member (host:pid) and ..."""
    worker_peak_mb: float = 0.0
    """... its peak resident memory so far, in MiB."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemberResult:
        return cls(**data)


def key_products(economy: Economy) -> list[str]:
    """The products whose output the ensemble follows: those the targets name."""
    products = economy.tables["targets"]["product"].dropna().astype(str)
    return sorted(set(products))


def base_start(base: Economy) -> dict[str, Basis]:
    """The base plan's optimal basis of its first stage, by label, for members to start
    from (see docs/scenarios.md: starting every stage from the base plan's was measured to
    be slower than none, the first stage alone saves about a quarter of the iterations)."""
    problem = assemble(base, TOLERANCE)
    solution = Solver(problem).solve(keep_bases=True)
    first = solution.stages[0]
    return {first.stage.name: first.basis} if first.basis is not None else {}


def plan_member(
    base: Economy, ensemble: Ensemble, member: int, start: dict[str, Basis] | None = None
) -> MemberResult:
    """Member ``member`` of ``ensemble``, planned on ``base`` (the ensemble's scenario
    applied), its first stage started from ``start`` (see ``base_start``). Runs on a Dask
    worker: everything it needs comes in its arguments."""
    began = time.perf_counter()
    changes, drawn = draw_member(ensemble, base, member)
    result = MemberResult(member, "failed", 0.0, drawn=[d.to_dict() for d in drawn])
    try:
        economy = apply_changes(base, changes, ensemble.path) if changes else base
        # a stage simplex leaves unsettled fails the member at once: interior point from
        # scratch, which settles such a stage for `econplan plan`, ran 300 s on the labour
        # stage of member 17 of harvest_typhoon and ended "Not Set" too; a failed member is
        # reported and left out of the probabilities, and the others are not held up
        plan = make_plan(economy, starts=start, settle=False)
    except ScenarioError as error:
        result.reason = f"the drawn shocks do not fit the economy: {error}"
    except SolveError as error:
        result.reason = f"no plan: {error}"
    except Exception as error:  # a bug: kept with its traceback, the other members go on
        result.reason = f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    else:
        _read_plan(result, economy, plan)
    result.seconds = time.perf_counter() - began
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    # ru_maxrss is in KiB on Linux
    result.worker_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _read_plan(result: MemberResult, economy: Economy, plan: Plan) -> None:
    if plan.status == "infeasible":
        result.status = "infeasible"
        whole = whole_units_said(plan.diagnosis)
        if whole:
            result.reason = whole
            return
        failing = (plan.diagnosis or {}).get("failing_targets", [])
        named = ", ".join(
            f"{t['id']} short by {t['shortfall']:.4g}" for t in failing[:5] if "id" in t
        )
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        result.reason = f"the hard targets cannot all hold: {named or 'see the diagnosis'}{more}"
        return
    verification = plan.info["verification"]
    result.max_violation = float(verification["max_violation"])
    result.status = "optimal" if plan.ok else "unverified"
    if not plan.ok:
        result.reason = f"the plan misses verification by {result.max_violation:.3g} (> {VALID:g})"
    targets = plan.tables["targets"]
    result.targets = [
        {"id": str(i), "met": bool(m), "fulfilment": float(f)}
        for i, m, f in zip(targets["id"], targets["met"], targets["fulfilment"], strict=True)
    ]
    production = plan.tables["production"]
    products = key_products(economy)
    national = production.groupby(["product", "year"])["amount"].sum()
    # a product the plan does not make has no row: its output is 0, which the quantiles count
    every = pd.MultiIndex.from_product(
        [products, range(economy.settings.first_year, economy.settings.last_year + 1)],
        names=["product", "year"],
    )
    result.outputs = _records(national.reindex(every, fill_value=0.0).reset_index())
    result.consumption = _records(plan.tables["consumption_level"][["region", "year", "level"]])
    binding = plan.tables["bottlenecks"][["stage", "constraint", "item", "region", "year"]]
    result.binding = _records(binding.drop_duplicates())
    result.objectives = {str(k): float(v) for k, v in plan.info["objectives"].items()}
    result.iterations = sum(int(s.get("iterations", 0)) for s in plan.info["stages"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]
