"""What a re-plan holds fixed: bounds on activity and on investment starts (reported facts,
projects under way), as column bounds matched by their labels (:class:`~econplan.plan.fixed.Fixed`
says what they are)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Record, label
from econplan.plan.families.family import Constraint, Family
from econplan.plan.fixed import ACTIVITY_KEY, INVESTMENT_KEY
from econplan.plan.lp import Block


def assemble(a: Assembly) -> None:
    if a.fixed is not None:
        _fix(a, "activity", a.fixed.activity, ACTIVITY_KEY)
        _fix(a, "investment", a.fixed.investment, INVESTMENT_KEY)


def _fix(a: Assembly, name: str, bounds: pd.DataFrame, key: list[str]) -> None:
    """Bounds from ``Fixed`` on the columns of block ``name``, matched by their labels."""
    block: Block = a.lp.columns[name]
    at = pd.MultiIndex.from_frame(block.labels[key]).get_indexer(
        pd.MultiIndex.from_frame(bounds[key])
    )
    lower = bounds["lower"].to_numpy(dtype=float)
    absent = (at < 0) & (lower > 0)
    if absent.any():
        where = " ".join(map(str, bounds.loc[absent, key].iloc[0].tolist()))
        message = (
            f"fixed {name} {where}: the plan has no such column (it cannot run or start "
            f"there), so it cannot be held at {lower[absent][0]:g}"
        )
        raise ValueError(message)
    there = at >= 0
    upper = bounds["upper"].to_numpy(dtype=float)
    a.lp.bound_columns(name, at[there], lower[there], upper[there])


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Activity and investment starts within the bounds the plan was made to keep."""
    for name, table, key, column in (
        ("fixed_activity", "activity", ["process", "region", "year"], "activity"),
        ("fixed_investment", "investment", ["option", "start_year"], "units"),
    ):
        bounds = tables.get(name)
        if bounds is None:
            continue
        # an investment not started is not in the plan's table: zero units
        value = tables[table].groupby(key)[column].sum()
        index = pd.MultiIndex.from_frame(bounds[key])
        found = pd.Series(value.reindex(index).fillna(0.0).to_numpy(), index=bounds.index)
        lower, upper = bounds["lower"], bounds["upper"]
        labels = label(bounds, key)
        size = np.maximum(lower.abs(), upper.where(np.isfinite(upper), lower).abs())
        record(name.replace("_", " "), lower - found, pd.Series(size), labels)
        record(name.replace("_", " "), found - upper, pd.Series(size), labels)


FAMILY = Family(
    "fixed",
    (
        Constraint(
            "fixed",
            ("process", "region", "year"),
            "one more unit of room in the activity held fixed (below its floor, above its ceiling)",
            "main product unit",
            limit=True,
            bound=True,
            checks=("fixed activity",),
        ),
        Constraint(
            "fixed_investment",
            ("option", "start_year"),
            "one more unit of room in the investment start held fixed",
            "unit of the option",
            bound=True,
            valued=False,
            checks=("fixed investment",),
        ),
    ),
    assemble,
    check,
    needs=("activity", "investment"),
)
