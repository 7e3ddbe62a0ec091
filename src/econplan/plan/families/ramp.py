"""Ramping: from one year to the next a process's activity in a region may rise by at most a
share of the capacity it had the year before, besides the capacity that comes into use
(``ramp`` in the economy's settings; no rows without it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.capacity import capacity_in
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.lp import INF


def assemble(a: Assembly) -> None:
    share = a.economy.settings.ramp
    if share is not None:
        _ramp(a, share)


def _ramp(a: Assembly, share: float) -> None:
    """Output ramps up: from one year to the next, a process's activity in a region may
    rise by at most ``share`` of the capacity it had the year before, besides the capacity
    that comes into use that year (D. Day's flexibility constraints, bounded by capacity
    rather than by last year's activity, so that idle capacity can be taken into use):

        activity[t] - activity[t - 1] <= capacity[t] - (1 - share) capacity[t - 1]

    with the base year's activity and capacity before the first plan year. Capacity is
    the capacity row's: facilities open that year (a constant) plus what options ready by
    then add (their coefficients in the capacity rows). A year whose activity is a
    reported fact (a re-plan) has no ramp row: facts are not planned."""
    e = a.economy
    capped = np.flatnonzero(a.capacity_of_pair >= 0)
    capacity_rows = a.lp.rows["capacity"]
    n = capacity_rows.shape[1]
    facilities = e.tables["facilities"]
    f_pair = a.capacity_of_pair[
        np.searchsorted(
            a.pair_key,
            e.positions("facilities", "process") * a.R + e.positions("facilities", "region"),
        )
    ]
    base_year = e.settings.base_year
    open_base = e.operating(base_year).to_numpy()
    base_activity = np.zeros(n)
    np.add.at(base_activity, f_pair, e.base_output.to_numpy(dtype=float))
    base_capacity = np.zeros(n)
    capacity = facilities["capacity"].to_numpy(dtype=float)
    np.add.at(base_capacity, f_pair[open_base], capacity[open_base])
    # the capacity rows' constants: facilities open each year
    standing = a.lp.row_upper[list(a.lp.rows).index("capacity")].reshape(a.T, n)
    before = np.vstack([base_capacity[None, :], standing[:-1]])
    upper = standing - (1.0 - share) * before
    upper[0] += base_activity
    labels = pd.concat([a.pairs.loc[capped, ["process", "region"]].assign(year=y) for y in a.years])
    keep = np.ones((a.T, n), dtype=bool)
    if a.fixed is not None:
        facts = a.fixed.activity
        facts = facts[facts["lower"] == facts["upper"]]
        at = pd.MultiIndex.from_frame(labels.astype({"year": int})).get_indexer(
            pd.MultiIndex.from_frame(facts[["process", "region", "year"]])
        )
        keep.ravel()[at[at >= 0]] = False
    upper = np.where(keep, upper, INF)
    rows = a.lp.add_rows(
        "ramp", labels, upper=upper.ravel(), unit="main product unit", shape=(a.T, n)
    )
    t_index = np.repeat(np.arange(a.T), n)
    pair_index = np.tile(capped, a.T)
    activity = a.block("activity")
    a.lp.add(rows.index, activity.at(t_index, pair_index), 1.0)
    later = t_index > 0
    a.lp.add(rows.index[later], activity.at(t_index[later] - 1, pair_index[later]), -1.0)
    # capacity[t] - (1 - share) capacity[t - 1]: the capacity rows' investment terms are
    # minus what the options add, so they enter with the opposite sign here, negated
    for ti, row, cols, coefs in a.capacity_terms:
        a.lp.add(rows.at(ti, row), cols, coefs)
        if ti + 1 < a.T:
            a.lp.add(rows.at(ti + 1, row), cols, -(1.0 - share) * coefs)


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """With a ramp, each process's activity in a region rises from one year to the next (the
    base year before the first) by at most the ramp's share of its capacity the year before,
    besides the capacity that comes into use: activity[t] - activity[t - 1] <=
    capacity[t] - (1 - ramp) capacity[t - 1]; a year a re-plan holds as facts is exempt."""
    share = e.settings.ramp
    if share is None:
        return
    facilities = e.tables["facilities"]
    options = e.tables["investments"]
    region = options["region"].copy()
    renovates = options["facility"].notna()
    region[renovates] = (
        facilities.set_index("id")["region"].reindex(options.loc[renovates, "facility"]).to_numpy()
    )
    pairs = pd.MultiIndex.from_frame(
        pd.concat(
            [
                facilities[["process", "region"]],
                pd.DataFrame({"process": options["process"], "region": region}),
            ]
        ).drop_duplicates()
    )
    years = (e.settings.base_year, *e.years)
    grid = pairs.to_frame(index=False).merge(pd.DataFrame({"year": years}), how="cross")
    at = pd.MultiIndex.from_frame(grid)
    shape = (len(pairs), len(years))
    capacity = capacity_in(e, tables, years).groupby(level=["process", "region", "year"]).sum()
    cap = capacity.reindex(at).fillna(0.0).to_numpy(dtype=float).reshape(shape)
    activity = tables["activity"].groupby(["process", "region", "year"])["activity"].sum()
    act = activity.reindex(at).fillna(0.0).to_numpy(dtype=float, copy=True).reshape(shape)
    # before the first plan year: the base year's activity, its facilities' base output
    base_activity = (
        pd.Series(e.base_output.to_numpy(dtype=float), index=facilities.index)
        .groupby([facilities["process"], facilities["region"]])
        .sum()
    )
    act[:, 0] = base_activity.reindex(pairs).fillna(0.0).to_numpy(dtype=float)
    room = cap[:, 1:] - (1.0 - share) * cap[:, :-1]
    excess = act[:, 1:] - act[:, :-1] - room
    size = np.maximum.reduce([cap[:, 1:], np.abs(act[:, 1:]), np.abs(act[:, :-1])])
    planned = grid[grid["year"] != years[0]].reset_index(drop=True)
    facts = tables.get("fixed_activity")
    if facts is not None:
        held = facts.loc[facts["lower"] == facts["upper"], ["process", "region", "year"]]
        planned = planned.assign(
            held=pd.MultiIndex.from_frame(planned).isin(
                pd.MultiIndex.from_frame(held.astype({"year": int}))
            )
        )
    else:
        planned = planned.assign(held=False)
    keep = ~planned["held"].to_numpy(dtype=bool)
    labels = planned["process"].astype(str) + " " + planned["region"].astype(str)
    labels = labels + " " + planned["year"].astype(str)
    record(
        "ramp",
        pd.Series(excess.ravel()[keep]),
        pd.Series(np.maximum(size.ravel()[keep], 1e-9)),
        labels[keep].reset_index(drop=True),
    )


FAMILY = Family(
    "ramp",
    (
        Constraint(
            "ramp",
            ("year", "process", "region"),
            "one more unit of room for the process's output to rise in the region and year",
            "main product unit",
            limit=True,
            ranged=True,
            checks=("ramp",),
        ),
    ),
    assemble,
    check,
    needs=("activity", "capacity", "pairs", "pair_key", "capacity_of_pair", "capacity_terms"),
    gives=("ramp",),
)
