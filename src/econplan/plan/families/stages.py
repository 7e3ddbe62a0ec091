"""The stages' objectives, each one column defined by rows of its own (``objective_<stage>``):
the largest and the total shortfall of each tier (and the soft claims of its priority before
it), the consumption level (the worst-off region and year, then the average), the weighted
targets, import spending and labour; or, for the problem that diagnoses an infeasible one,
the one stage pricing the gaps that let hard targets and balances fail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.plan.families import claims
from econplan.plan.families.assembly import CONSUMPTION, Assembly
from econplan.plan.families.consumption import growth_rows
from econplan.plan.families.family import Family
from econplan.plan.problem import HOLD_TARGETS, Stage


def assemble(a: Assembly) -> None:
    a.stages = _elastic(a, a.targets) if a.elastic else _stages(a, a.targets)


def _stages(a: Assembly, targets: pd.DataFrame) -> list[Stage]:
    """The objectives in order, each as one column defined by rows: the largest and the
    total shortfall of each tier, the consumption level (least region and year, then the
    average), weighted targets, import spending, labour."""
    e = a.economy
    stages: list[Stage] = []
    if "discrepancy" in a.lp.columns:
        block = a.lp.columns["discrepancy"]
        column = a.defined("past_balance", block.index, a.discrepancy_weight)
        stages.append(
            Stage(
                "past_balance",
                column,
                "min",
                "weighted gap",
                "supply missing from the balances of years wholly past (reported facts "
                "that do not add up, claims left unmet)",
                "past_balance",
            )
        )
    tiers = sorted(t for t in targets["tier"].unique() if t > 0)
    priorities = sorted(set(a.claim_priority.tolist()))
    for tier in sorted(set(tiers) | set(priorities)):
        if tier in priorities:
            stages.append(claims.stage(a, tier))
        if tier not in tiers:
            continue
        members = targets[targets["tier"] == tier]
        cols = members["shortfall"].to_numpy()
        worst = a.lp.add_columns(f"objective_tier{tier}", a.labels(stage=[f"tier{tier}"]))
        rows = a.lp.add_rows(
            f"objective_tier{tier}", members[["id"]].rename(columns={"id": "target"}), upper=0.0
        )
        a.lp.add(rows.index, cols, 1.0)
        a.lp.add(rows.index, np.full(len(cols), worst.start), -1.0)
        stages.append(
            Stage(
                f"tier{tier}",
                worst.start,
                "min",
                "fraction",
                f"largest shortfall of the tier {tier} targets (plan ray)",
                "tier",
                int(tier),
            )
        )
        total = a.defined(f"tier{tier}_total", cols, np.ones(len(cols)))
        stages.append(
            Stage(
                f"tier{tier}_total",
                total,
                "min",
                "fraction",
                f"sum of the shortfalls of the tier {tier} targets",
                "tier_total",
                int(tier),
                HOLD_TARGETS,
            )
        )
    if e.settings.objective == CONSUMPTION and len(a.levels):
        pop = a.population[a.levels % a.R, a.levels // a.R]
        inhabited = np.flatnonzero(pop > 0)
        if not len(inhabited):
            # no population given (a plain input-output table): every basket counts alike
            inhabited, pop = np.arange(len(a.levels)), np.ones(len(a.levels))
        least = a.lp.add_columns("objective_consumption", a.labels(stage=["consumption"]))
        rows = a.lp.add_rows(
            "objective_consumption", a.block("consumption").labels.iloc[inhabited], lower=0.0
        )
        growth = e.settings.consumption_growth
        # on a growth path each year's level is held against the first year's grown at
        # the declared rate, so the maximin is the level of the path's first year
        path = (1.0 + (growth or 0.0)) ** (a.levels[inhabited] // a.R)
        a.lp.add(rows.index, a.block("consumption").at(inhabited), 1.0)
        a.lp.add(rows.index, np.full(len(inhabited), least.start), -path)
        if growth is not None:
            growth_rows(a, inhabited, growth)
        stages.append(
            Stage(
                "consumption",
                least.start,
                "max",
                "level of the norms",
                "consumption level of the worst-off region and year (maximin)"
                if growth is None
                else f"first-year consumption level of the worst-off region, every "
                f"region growing at least {growth:.1%} a year",
                "consumption",
            )
        )
        average = a.defined(
            "consumption_average",
            a.block("consumption").at(inhabited),
            pop[inhabited] / pop[inhabited].sum(),
        )
        stages.append(
            Stage(
                "consumption_average",
                average,
                "max",
                "level of the norms",
                "consumption level averaged over people and years",
                "consumption_average",
            )
        )
    weighted = targets[targets["tier"] == -1]
    if len(weighted):
        cols = weighted["shortfall"].to_numpy()
        coefs = (weighted["weight"] * weighted["scale"]).to_numpy(dtype=float)
        column = a.defined("weighted", cols, coefs)
        stages.append(
            Stage(
                "weighted",
                column,
                "min",
                "weighted shortfall",
                "weighted shortfall of the weight targets",
                "weighted",
            )
        )
    if a.import_columns:
        cols = np.concatenate([c for c, _ in a.import_columns])
        prices = np.concatenate([p for _, p in a.import_columns])
        if len(cols):
            column = a.defined("imports", cols, prices)
            stages.append(
                Stage(
                    "imports",
                    column,
                    "min",
                    e.settings.foreign_currency,
                    "spending on imports over the horizon (self-reliance)",
                    "imports",
                )
            )
    labour = _labour_use(a)
    if labour is not None:
        column = a.defined("labour", *labour)
        stages.append(
            Stage("labour", column, "min", "person-year", "labour used over the horizon", "labour")
        )
    return stages


def _elastic(a: Assembly, targets: pd.DataFrame) -> list[Stage]:
    """Gaps that let the hard targets and the balances fail, and one stage pricing them."""
    hard = np.flatnonzero(targets["tier"].to_numpy() == 0)
    gap = a.lp.add_columns(
        "gap_target",
        targets.loc[hard, ["id"]].rename(columns={"id": "target"}),
        unit="fraction of the target",
    )
    sign = np.where(targets["sense"].to_numpy()[hard] == "at_least", 1.0, -1.0)
    scale = (targets["scale"] / targets["row_scale"]).to_numpy(dtype=float)[hard]
    a.lp.add(targets["row"].to_numpy()[hard], gap.index, sign * scale)
    balance = a.lp.rows["balance"]
    lower = a.lp.row_lower[0]
    gaps = a.lp.add_columns("gap_balance", balance.labels, unit="product unit")
    a.lp.add(balance.index, gaps.index, 1.0)
    cols = np.concatenate([gap.index, gaps.index])
    weights = np.concatenate([np.ones(len(hard)), 1.0 / np.maximum(np.abs(lower), 1.0)])
    column = a.defined("elastic", cols, weights)
    return [
        Stage(
            "elastic",
            column,
            "min",
            "weighted gap",
            "least shortfall of hard targets and balances",
            "elastic",
        )
    ]


def _labour_use(a: Assembly) -> tuple[np.ndarray, np.ndarray] | None:
    """Labour used by every column: minus its entries in the labour balance rows."""
    e = a.economy
    labour = np.flatnonzero(e.tables["products"]["kind"].to_numpy(dtype=object) == "labour")
    if len(labour) == 0:
        return None
    t, r, p = np.meshgrid(np.arange(a.T), np.arange(a.R), labour, indexing="ij")
    rows = a.balance_row(p.ravel(), r.ravel(), t.ravel())
    matrix = a.lp.matrix().tocsr()[rows, :]
    use = -np.asarray(matrix.sum(axis=0)).ravel()
    cols = np.flatnonzero(use != 0)
    return cols, use[cols]


FAMILY = Family(
    "stages",
    (),
    assemble,
    needs=(
        "balance",
        "discrepancy",
        "discrepancy_weight",
        "consumption",
        "levels",
        "import_columns",
        "claim_shortfall",
        "claim_priority",
        "targets",
    ),
    gives=("stages", "consumption_growth"),
)
