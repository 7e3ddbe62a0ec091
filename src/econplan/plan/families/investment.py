"""Investment: units of each option started each year, their bill of materials spread over the
lead time (a use in the balance of the option's region), the capacity they add to the
capacity rows once ready (and, for a renovation to another process, take from the old one),
and the most units of each option; options declared whole are integer columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.capacity import investment_regions
from econplan.plan.families.checking import Record, label
from econplan.plan.families.family import Constraint, Family


def assemble(a: Assembly) -> None:
    """Investment starts, their bill of materials spread over the lead time, the capacity
    they add once built (and, for a renovation to another process, take from the old
    one), and the most units of each option."""
    e = a.economy
    inv = e.tables["investments"]
    n = len(inv)
    process = e.positions("investments", "process")
    region = investment_regions(e)
    facility = e.positions("investments", "facility")
    lead = inv["lead_time"].fillna(1).to_numpy(dtype=int)
    first = inv["first_year"].fillna(a.years[0]).to_numpy(dtype=int)
    last = inv["last_year"].fillna(a.years[-1]).to_numpy(dtype=int)
    cap = inv["capacity"].to_numpy(dtype=float)
    units = inv["max_units"].fillna(1.0).to_numpy(dtype=float)
    # with a terminal condition, capacity ready the year after the horizon counts too:
    # construction started in the last years is the next plan's first capacity
    end = a.years[-1] + (0 if e.settings.terminal_growth is None else 1)
    option, start = [], []
    for s in a.years:
        ok = (first <= s) & (s <= last) & (s + lead <= end)
        option.append(np.flatnonzero(ok))
        start.append(np.full(int(ok.sum()), s))
    opt = np.concatenate(option) if n else np.zeros(0, dtype=int)
    begin = np.concatenate(start) if n else np.zeros(0, dtype=int)
    labels = a.labels(option=e.ids("investments").to_numpy(dtype=object)[opt], start_year=begin)
    block = a.lp.add_columns("investment", labels, unit="units of the option")
    columns = block.index
    whole = inv["integer"].fillna(False).to_numpy(dtype=bool)[opt] if n else np.zeros(0, bool)
    a.integer = columns[whole]
    # bill of materials: evenly over the years of construction
    spread = np.maximum(lead[opt], 1)
    bill = e.investment_bill
    for ti, year in enumerate(a.years):
        building = (begin <= year) & (year < begin + spread)
        if not building.any():
            continue
        part = bill[:, opt[building]].tocoo()
        rows = a.balance_row(part.row, region[opt[building]][part.col], ti)
        scale = 1.0 / spread[building][part.col]
        a.lp.add(rows, columns[building][part.col], -part.data * scale)
    # capacity arrives lead time after the start
    pair = np.searchsorted(a.pair_key, process * a.R + region)
    capacity_row = a.capacity_of_pair[pair[opt]]
    f_process = e.positions("facilities", "process")
    f_capacity = e.tables["facilities"]["capacity"].to_numpy(dtype=float)
    switches = (facility[opt] >= 0) & (f_process[np.maximum(facility[opt], 0)] != process[opt])
    old_pair = np.searchsorted(
        a.pair_key, f_process[np.maximum(facility[opt], 0)] * a.R + region[opt]
    )
    old_row = a.capacity_of_pair[old_pair]
    # what each capacity row holds of the investment columns, kept for the ramp rows:
    # (year index, capacity row within the year, column, coefficient)
    a.capacity_terms = []
    capacity_rows = a.lp.rows["capacity"]
    for ti, year in enumerate(a.years):
        ready = begin + lead[opt] <= year
        a.lp.add(capacity_rows.at(ti, capacity_row[ready]), columns[ready], -cap[opt][ready])
        a.capacity_terms.append((ti, capacity_row[ready], columns[ready], -cap[opt][ready]))
        # a renovation to another process takes its share of the facility's old capacity
        gone = ready & switches
        if gone.any():
            open_ = e.operating(int(year)).to_numpy()[facility[opt][gone]]
            share = f_capacity[facility[opt][gone]] / units[opt][gone] * open_
            a.lp.add(capacity_rows.at(ti, old_row[gone]), columns[gone], share)
            a.capacity_terms.append((ti, old_row[gone], columns[gone], share))
    limit = a.lp.add_rows(
        "investment_limit",
        a.labels(option=e.ids("investments").to_numpy(dtype=object)),
        upper=units,
        unit="units of the option",
        shape=(n,),
    )
    a.lp.add(limit.at(opt), columns, 1.0)
    a.investment_start, a.investment_option = begin, opt


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """At most max_units of each option, started in its years and ready within the horizon
    (or the year after it, with a terminal condition); whole options in whole units."""
    investment = tables["investment"]
    options = e.tables["investments"].set_index("id")
    units = investment.groupby("option")["units"].sum()
    allowed = options["max_units"].fillna(1.0).reindex(units.index)
    record("investment limit", units - allowed, allowed, pd.Series(units.index, index=units.index))
    first = (
        options["first_year"].fillna(e.settings.first_year).reindex(investment["option"]).to_numpy()
    )
    last = (
        options["last_year"].fillna(e.settings.last_year).reindex(investment["option"]).to_numpy()
    )
    start = investment["start_year"].to_numpy()
    # and ready within the horizon (lead time 1 when blank, as assembled): a bill spread past
    # the last year would fall outside the plan
    lead = options["lead_time"].fillna(1).reindex(investment["option"]).to_numpy()
    # ready within the horizon, or the year after it where a terminal condition asks for it
    end = e.settings.last_year + (0 if e.settings.terminal_growth is None else 1)
    late = start + lead > end
    outside = ((start < first) | (start > last) | late) & (investment["units"].to_numpy() > 0)
    # a start outside the option's years is broken outright, whatever its size
    record(
        "investment years",
        pd.Series(np.where(outside, np.inf, 0.0)),
        pd.Series(np.ones(len(start))),
        label(investment, ["option", "start_year"]),
    )

    # options built in whole units: whole units in every start year
    whole = options["integer"].fillna(False).astype(bool).reindex(investment["option"])
    started = investment[whole.to_numpy(dtype=bool)]
    record(
        "whole units",
        (started["units"] - started["units"].round()).abs(),
        pd.Series(np.ones(len(started)), index=started.index),
        label(started, ["option", "start_year"]),
    )


FAMILY = Family(
    "investment",
    (
        Constraint(
            "investment_limit",
            ("option",),
            "one more unit of the investment option allowed",
            "unit of the option",
            limit=True,
            ranged=True,
            checks=("investment limit", "investment years"),
        ),
    ),
    assemble,
    check,
    needs=("balance", "capacity", "pair_key", "capacity_of_pair"),
    gives=(
        "investment",
        "investment_limit",
        "integer",
        "investment_option",
        "investment_start",
        "capacity_terms",
    ),
)
