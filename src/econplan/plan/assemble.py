"""The plan problem assembled from an Economy's sparse matrices.

Columns (all in physical units, by year t of the horizon):
  activity    x[k,t]   process j run in region r (k = (j, r)), units of its main product
  investment  z[i,s]   units of investment option i started in year s
  shipment    s[p,a,t] product p shipped along the directed link a
  imports     m[p,r,t], exports e[p,r,t]
  stock       k[p,r,t] stock of a storable product at the end of year t
  draw        w[q,t]   taken from natural resource q (region, product); negative for a
                       renewable means adding to the stock (planting)
  resource_stock S[q,t] renewable stock at the end of year t
  consumption λ[r,t]   level of the consumption basket (1 = the norms) in region r
  shortfall   u[g]     shortfall of tier or weighted target g, as a fraction of its amount
  and one column per objective stage (see ``Stage``).

Rows: product balances (p, r, t), capacities (k, t), investment limits, link capacities,
import and export caps, foreign exchange, resource limits and stock dynamics, targets, and the
rows that define each stage's objective column. ``docs/planning.md`` writes it all out.

Each kind of constraint is a family of its own (:mod:`econplan.plan.families`): this module
runs them in order and hands the result to the solver. Everything is built per year (and per
start year for investments) from sparse products of the economy's matrices with index arrays:
no loop over products or nonzeros.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.registry import FAMILIES, RANGED
from econplan.plan.fixed import Fixed
from econplan.plan.lp import LinearProgram
from econplan.plan.problem import StageProblem


@dataclass(frozen=True)
class PlanProblem(StageProblem):
    """The assembled problem: what the solver needs (:class:`StageProblem`) and the economy
    and facts it was assembled from, which the plan's tables are read with."""

    economy: Economy
    pairs: pd.DataFrame
    """The (process, region) pairs activity columns exist for, with ``capped``."""
    fixed: Fixed | None = None
    """What was held fixed (see :class:`~econplan.plan.fixed.Fixed`); None for a plan made
    from the economy alone."""

    def for_solver(self) -> StageProblem:
        """The problem without the economy: what can be shipped to a worker or a device
        (pickled, it holds arrays, labels and the stages only)."""
        return StageProblem(**{f.name: getattr(self, f.name) for f in fields(StageProblem)})


def limit_rows(lp: LinearProgram, economy: Economy) -> np.ndarray:
    """The rows whose valuations are read as limits of the economy (and get a range of
    validity): the row blocks the families declare ranged (capacities, investment limits,
    links, trade caps, foreign exchange, natural resources, targets, the growth path), and
    the labour balances."""
    parts = [lp.rows[name].index for name in RANGED if name in lp.rows]
    balance = lp.rows.get("balance")
    if balance is not None:
        kinds = economy.tables["products"].set_index("id")["kind"]
        kind = kinds.reindex(balance.labels["product"]).to_numpy(dtype=object)
        parts.append(balance.index[kind == "labour"])
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def assemble(
    economy: Economy, tolerance: float = 1e-6, elastic: bool = False, fixed: Fixed | None = None
) -> PlanProblem:
    """The plan problem of ``economy`` over its horizon: every family's blocks, in order.

    ``fixed``: bounds on activity and investment starts, as column bounds, and targets held as
    hard; for planning again when part of the horizon has happened.

    ``elastic``: the problem that diagnoses an infeasible one. Hard targets may fall short and
    balances may be short of supply, each at a price (a hard target's shortfall as a fraction
    of it, a balance's as a fraction of its claims, at least one unit); its only stage
    minimises the sum, so the solution is the least shortfall and its valuations name the
    limits that cause it.
    """
    a = Assembly(economy, tolerance, elastic, fixed)
    for family in FAMILIES:
        family.assemble(a)
    return PlanProblem(
        lp=a.lp,
        matrix=a.lp.matrix(),
        stages=tuple(a.stages),
        targets=a.targets,
        tolerance=tolerance,
        integer=a.integer,
        limit_rows=limit_rows(a.lp, economy),
        economy=economy,
        pairs=a.pairs,
        fixed=fixed,
    )
