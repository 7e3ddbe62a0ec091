"""The terminal condition: capacity left for the next plan. For every process an option can
build, its national capacity the year after the horizon at least (1 + growth) times its
activity in the last year (``terminal_growth`` in the economy's settings; no rows without
it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.capacity import capacity_in
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family


def assemble(a: Assembly) -> None:
    growth = a.economy.settings.terminal_growth
    if growth is not None:
        _terminal(a, growth)


def _terminal(a: Assembly, growth: float) -> None:
    """Capacity left for the next plan: for every process an option can build, its national
    capacity the year after the horizon (facilities still open then, options ready by then)
    at least (1 + growth) times its activity in the last year:

        sum_u cap_u units_u - sum_r (1 + growth) activity[p, r, T] >= - facilities[p, T + 1]

    (a renovation to another process takes its share of the old facility's capacity, as in
    the capacity rows). Without it a finite plan stops building in its last years, since
    capacity that comes after the horizon serves none of its objectives."""
    e = a.economy
    inv = e.tables["investments"]
    after = a.years[-1] + 1
    process_of = e.positions("investments", "process")
    processes = np.unique(process_of)
    row_of = np.full(len(e.process_ids), -1)
    row_of[processes] = np.arange(len(processes))
    facilities = e.tables["facilities"]
    f_process = e.positions("facilities", "process")
    f_capacity = facilities["capacity"].to_numpy(dtype=float)
    open_ = e.operating(after).to_numpy()
    standing = np.zeros(len(processes))
    has = open_ & (row_of[f_process] >= 0)
    np.add.at(standing, row_of[f_process[has]], f_capacity[has])
    rows = a.lp.add_rows(
        "terminal_capacity",
        a.labels(process=e.process_ids.to_numpy(dtype=object)[processes]),
        lower=-standing,
        unit="main product unit",
        shape=(len(processes),),
    )
    # new capacity ready by the year after the horizon
    opt, begin = a.investment_option, a.investment_start
    block = a.lp.columns["investment"]
    lead = inv["lead_time"].fillna(1).to_numpy(dtype=int)
    cap = inv["capacity"].to_numpy(dtype=float)
    ready = begin + lead[opt] <= after
    a.lp.add(rows.at(row_of[process_of[opt[ready]]]), block.index[ready], cap[opt[ready]])
    # a renovation to another process takes the old facility's share from its process
    facility = e.positions("investments", "facility")
    units = inv["max_units"].fillna(1.0).to_numpy(dtype=float)
    old = f_process[np.maximum(facility[opt], 0)]
    gone = ready & (facility[opt] >= 0) & (old != process_of[opt]) & (row_of[old] >= 0)
    if gone.any():
        kept = open_[facility[opt][gone]]
        share = f_capacity[facility[opt][gone]] / units[opt][gone] * kept
        a.lp.add(rows.at(row_of[old[gone]]), block.index[gone], -share)
    # the last year's activity, grown
    last = a.T - 1
    pairs = np.flatnonzero(row_of[a.pair_process] >= 0)
    a.lp.add(
        rows.at(row_of[a.pair_process[pairs]]),
        a.block("activity").at(last, pairs),
        -(1.0 + growth),
    )


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """With a terminal condition, each process an option can build has, the year after the
    horizon, capacity of at least (1 + growth) times its activity in the last plan year."""
    growth = e.settings.terminal_growth
    if growth is None:
        return
    after = e.settings.last_year + 1
    processes = pd.Index(e.tables["investments"]["process"].unique())
    capacity = capacity_in(e, tables, (after,)).groupby(level="process").sum()
    activity = tables["activity"]
    last = activity[activity["year"] == e.settings.last_year].groupby("process")["activity"].sum()
    need = (1.0 + growth) * last.reindex(processes).fillna(0.0)
    have = capacity.reindex(processes).fillna(0.0)
    record(
        "terminal capacity",
        need - have,
        pd.Series(np.maximum(need.abs(), have.abs()), index=processes),
        pd.Series([f"{p} {after}" for p in processes], index=processes),
    )


FAMILY = Family(
    "terminal",
    (
        Constraint(
            "terminal_capacity",
            ("process",),
            "one unit less of capacity the process must leave for the year after the horizon",
            "main product unit",
            limit=True,
            ranged=True,
            checks=("terminal capacity",),
        ),
    ),
    assemble,
    check,
    needs=("activity", "investment", "pair_process", "investment_option", "investment_start"),
    gives=("terminal_capacity",),
)
