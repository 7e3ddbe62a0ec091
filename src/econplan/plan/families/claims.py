"""Soft claims: final-demand claims that may fall short, at a priority.

A row of final_demand.csv with a ``priority`` k is a soft claim. In the plan problem each
product, region and year with soft claims of priority k gets a column ``claim_shortfall``: the
share of the claim left unmet (0 to 1), which supplies the product's balance with that share
of the claim. The stage ``claims{k}`` minimises the sum of these shares right before the
tier-k targets (docs/planning.md, "Soft claims"). A disaster then
gives the best partial plan, with what it could not deliver stated, instead of "infeasible".

The plan states the shortfalls in its table ``claim_shortfall``; the balances of the plan
(``econplan.plan.flows``) count a claim as delivered less its stated shortfall, and
verification checks that no shortfall exceeds the soft claim it belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Record, label
from econplan.plan.families.family import Constraint, Family
from econplan.plan.problem import Stage

if TYPE_CHECKING:
    from econplan.plan.assemble import PlanProblem

ZERO = 1e-9
"""Shortfalls smaller than this (in the product's unit) are solver noise, written as zero."""

BLOCK = "claim_shortfall"
"""The problem's column block, and the plan's table, of claims' shortfalls."""

KEY = ["product", "region", "year", "priority"]
COLUMNS = [*KEY, "claimed", "shortfall"]


def stage_name(priority: int) -> str:
    return f"claims{priority}"


def soft_claims(economy: Economy, year: int) -> pd.DataFrame:
    """The soft claims of ``year``: category, product, region, priority, amount (the claim),
    shared among regions as every claim is (``final_demand_claims``)."""
    demand = economy.tables["final_demand"]
    soft = demand[demand["priority"].notna()]
    parts = [
        final_demand_claims(economy, year, rows=soft[soft["priority"] == priority]).assign(
            priority=int(priority)
        )
        for priority in sorted(soft["priority"].unique())
    ]
    columns = ["category", "product", "region", "priority", "amount"]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "amount" else object) for c in columns}
        )
    return pd.concat(parts, ignore_index=True)[columns]


def claimed(economy: Economy) -> pd.DataFrame:
    """Soft claims by product, region, year and priority over the horizon (``KEY`` and
    ``claimed``): what one shortfall column may take away at most."""
    parts = [soft_claims(economy, year).assign(year=year) for year in economy.years]
    frame = pd.concat(parts, ignore_index=True)
    summed = frame.groupby(KEY, as_index=False, sort=True)["amount"].sum()
    summed = summed[summed["amount"] > 0].rename(columns={"amount": "claimed"})
    return pd.DataFrame(summed).reset_index(drop=True)


def delivered(
    economy: Economy, tables: dict[str, pd.DataFrame], year: int, claims: pd.DataFrame
) -> pd.DataFrame:
    """``claims`` (category, product, region, amount) of ``year`` less the plan's stated
    shortfalls: each soft claim loses the share of it that its shortfall column left unmet
    (categories of one priority alike)."""
    stated = tables.get(BLOCK)
    if stated is None or len(stated) == 0:
        return claims
    stated = stated[(stated["year"] == year) & (stated["shortfall"] > 0)]
    if len(stated) == 0:
        return claims
    share = stated.assign(share=stated["shortfall"] / stated["claimed"])
    soft = soft_claims(economy, year).merge(
        share[["product", "region", "priority", "share"]], on=["product", "region", "priority"]
    )
    parts = soft.assign(unmet=soft["amount"] * soft["share"])
    unmet = parts.groupby(["category", "product", "region"])["unmet"].sum()
    index = pd.MultiIndex.from_frame(claims[["category", "product", "region"]])
    less = unmet.reindex(index).fillna(0.0).to_numpy()
    return claims.assign(amount=claims["amount"].to_numpy(dtype=float) - less)


def claim_violations(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each stated shortfall against the soft claim it belongs to, for verification: KEY,
    excess (shortfall beyond the claim: any shortfall of a claim that is hard or absent) and
    size (the claim)."""
    stated = tables.get(BLOCK, pd.DataFrame(columns=COLUMNS))
    allowed = claimed(economy)
    both = stated[[*KEY, "shortfall"]].merge(allowed, on=KEY, how="left")
    size = both["claimed"].fillna(0.0).to_numpy(dtype=float)
    excess = both["shortfall"].to_numpy(dtype=float) - size
    return both[KEY].assign(excess=excess, size=size)


def claim_table(problem: PlanProblem, x: np.ndarray) -> dict[str, pd.DataFrame]:
    """The plan's table of soft claims and their shortfalls (empty dict without soft
    claims): KEY, claimed, shortfall (0 where the claim is met in full)."""
    block = problem.lp.columns.get(BLOCK)
    if block is None:
        return {}
    claims = claimed(problem.economy)
    share = x[block.start : block.stop]
    short = share * claims["claimed"].to_numpy(dtype=float)
    short = np.where(np.abs(short) < ZERO, 0.0, short) + 0.0
    table = block.labels.assign(claimed=claims["claimed"].to_numpy(dtype=float), shortfall=short)
    return {BLOCK: table[COLUMNS].reset_index(drop=True)}


def assemble(a: Assembly) -> None:
    """Soft claims (final_demand rows with a priority) may fall short: a column per
    product, region, year and priority, the share of the claim left unmet (0 to 1),
    supplies the balance with that share of the claim (this module's note)."""
    e = a.economy
    table = claimed(e)
    a.claim_priority = table["priority"].to_numpy(dtype=int)
    a.claim_amount = table["claimed"].to_numpy(dtype=float)
    if not len(table):
        return
    # the column is the unmet share of the claim, as a target's shortfall is a fraction of
    # the target: shares of claims of 10 and of 10^9 units are alike for the solver
    block = a.lp.add_columns(BLOCK, table[KEY], upper=1.0, unit="share of the claim")
    ti = np.searchsorted(a.years, table["year"].to_numpy(dtype=int))
    rows = a.balance_row(
        a.product_positions(table["product"]), a.region_positions(table["region"]), ti
    )
    a.lp.add(rows, block.index, a.claim_amount)


def stage(a: Assembly, priority: int) -> Stage:
    """Least unmet share of the soft claims of ``priority``, summed over claims."""
    picked = np.flatnonzero(a.claim_priority == priority)
    cols = a.lp.columns[BLOCK].index[picked]
    name = stage_name(priority)
    return Stage(
        name,
        a.defined(name, cols, np.ones(len(cols))),
        "min",
        "fraction",
        f"sum of the unmet shares of the soft claims of priority {priority}",
        "claims",
        int(priority),
    )


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """A shortfall the plan states is allowed up to the soft claim, no further."""
    if BLOCK in tables:
        found = claim_violations(e, tables)
        record("claim shortfall", found["excess"], found["size"], label(found, KEY))


FAMILY = Family(
    "claims",
    (
        Constraint(
            BLOCK,
            tuple(KEY),
            "one more share of the soft claim allowed to go unmet",
            "share of the claim",
            bound=True,
            valued=False,
            checks=("claim shortfall",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=("claim_shortfall", "claim_priority", "claim_amount"),
)
