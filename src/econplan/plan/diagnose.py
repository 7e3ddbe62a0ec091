"""Why no plan exists: the elastic problem's least shortfalls and the limits behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.assemble import assemble
from econplan.plan.fixed import Fixed
from econplan.plan.solve import Solver
from econplan.plan.tables import ZERO, bottlenecks, valuation_table


@dataclass(frozen=True)
class Diagnosis:
    targets: pd.DataFrame
    """Hard targets that fail: id, product or sector, region, year, required, planned,
    shortfall (the least, in the product's unit)."""
    balances: pd.DataFrame
    """Balances that cannot close: product, region, year, gap (supply missing)."""
    limits: pd.DataFrame
    """The binding limits of the elastic problem, ranked by valuation."""

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [
                {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                for row in clean.to_dict(orient="records")
            ]

        return {
            "failing_targets": records(self.targets),
            "unbalanced": records(self.balances),
            "limits": records(self.limits.head(top)),
        }


def diagnose(
    economy: Economy,
    method: str = "simplex",
    time_limit: float | None = None,
    tolerance: float = 1e-6,
    fixed: Fixed | None = None,
) -> Diagnosis:
    """The least shortfall of the hard targets and balances, and the limits behind it; with
    ``fixed``, of the plan that must keep those bounds (whose valuations then name the facts
    that bind)."""
    problem = assemble(economy, tolerance, elastic=True, fixed=fixed)
    solution = Solver(problem, method, time_limit).solve()
    x = solution.x
    lp = problem.lp
    targets = problem.targets
    gap_block = lp.columns["gap_target"]
    hard = targets[targets["tier"] == 0].reset_index(drop=True)
    gap = x[gap_block.start : gap_block.stop] * hard["scale"].to_numpy(dtype=float)
    failing = hard.assign(
        shortfall=gap, planned=hard["required"] - np.where(hard["sense"] == "at_least", gap, -gap)
    )
    failing = failing[failing["shortfall"] > tolerance * np.maximum(failing["required"].abs(), 1.0)]
    failing = failing[
        ["id", "product", "sector", "region", "year", "sense", "required", "planned", "shortfall"]
    ]
    balance_block = lp.columns["gap_balance"]
    gaps = balance_block.labels.assign(gap=x[balance_block.start : balance_block.stop])
    gaps = gaps[gaps["gap"] > ZERO * 1e3].sort_values("gap", ascending=False, kind="stable")
    limits = bottlenecks(valuation_table(problem, solution.stages))
    return Diagnosis(failing.reset_index(drop=True), gaps.reset_index(drop=True), limits)
