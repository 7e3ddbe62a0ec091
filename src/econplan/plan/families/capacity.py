"""Activity and capacity: a column for each process in each region that has (or may build)
capacity for it, by year, and for every capped pair a capacity row, activity at most the
facilities open that year plus what investments have made ready (the investment family adds
those terms)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import look


def assemble(a: Assembly) -> None:
    """Activity of each process in each region that has (or may build) capacity for it,
    and its capacity rows: activity <= facilities open that year + capacity built."""
    e = a.economy
    f_process = e.positions("facilities", "process")
    f_region = e.positions("facilities", "region")
    i_process = e.positions("investments", "process")
    i_region = investment_regions(e)
    J = len(e.process_ids)
    keys = np.unique(np.concatenate([f_process * a.R + f_region, i_process * a.R + i_region]))
    capped = np.zeros(J, dtype=bool)
    capped[keys // a.R] = True
    # a process nobody runs or may build is not limited by capacity: it may run anywhere
    free = np.flatnonzero(~capped)
    free_keys = (free[:, None] * a.R + np.arange(a.R)[None, :]).ravel()
    all_keys = np.concatenate([keys, free_keys])
    order = np.argsort(all_keys, kind="stable")
    all_keys = all_keys[order]
    is_capped = np.concatenate([np.ones(len(keys), bool), np.zeros(len(free_keys), bool)])
    is_capped = is_capped[order]
    a.pair_key = all_keys
    a.pair_process = all_keys // a.R
    a.pair_region = all_keys % a.R
    K = len(all_keys)
    a.pairs = pd.DataFrame(
        {
            "process": e.process_ids.to_numpy(dtype=object)[a.pair_process],
            "region": e.region_ids.to_numpy(dtype=object)[a.pair_region],
            "capped": is_capped,
        }
    )
    labels = pd.concat([a.pairs[["process", "region"]].assign(year=y) for y in a.years])
    block = a.lp.add_columns("activity", labels, unit="main product unit", shape=(a.T, K))
    # net output of each pair into the balance rows of its region
    for ti, year in enumerate(a.years):
        net = e.net_output(int(year))[:, a.pair_process].tocoo()
        rows = a.balance_row(net.row, a.pair_region[net.col], ti)
        a.lp.add(rows, block.at(ti, net.col), net.data)
    # capacity rows for capped pairs
    capped_pairs = np.flatnonzero(is_capped)
    a.capacity_of_pair = np.full(K, -1)
    a.capacity_of_pair[capped_pairs] = np.arange(len(capped_pairs))
    f_pair = np.searchsorted(all_keys, f_process * a.R + f_region)
    standing = np.zeros((a.T, len(capped_pairs)))
    capacity = e.tables["facilities"]["capacity"].to_numpy(dtype=float)
    for ti, year in enumerate(a.years):
        open_ = e.operating(int(year)).to_numpy()
        np.add.at(standing[ti], a.capacity_of_pair[f_pair[open_]], capacity[open_])
    labels = pd.concat(
        [a.pairs.loc[capped_pairs, ["process", "region"]].assign(year=y) for y in a.years]
    )
    capacity_rows = a.lp.add_rows(
        "capacity",
        labels,
        upper=standing.ravel(),
        unit="main product unit",
        shape=(a.T, len(capped_pairs)),
    )
    t_index = np.repeat(np.arange(a.T), len(capped_pairs))
    pair_index = np.tile(capped_pairs, a.T)
    a.lp.add(capacity_rows.index, block.at(t_index, pair_index), 1.0)


def investment_regions(e: Economy) -> np.ndarray:
    """The region of each investment option (positions): its own, or its facility's for a
    renovation."""
    region = e.positions("investments", "region").copy()
    facility = e.positions("investments", "facility")
    renovate = facility >= 0
    region[renovate] = e.positions("facilities", "region")[facility[renovate]]
    return region


def capacity_in(e: Economy, tables: dict[str, pd.DataFrame], years: Iterable[int]) -> pd.Series:
    """Capacity by process, region and year, recomputed from the economy and the plan's
    investment table: facilities open that year, options ready by then, less what a
    renovation to another process takes from its old facility."""
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    investment = tables["investment"]
    facility_table = facilities.set_index("id")
    parts = []
    for year in years:
        open_ = facilities[e.operating(year).to_numpy()]
        parts.append(
            open_[["process", "region"]].assign(year=year, capacity=open_["capacity"].to_numpy())
        )
        ready = investment[investment["ready_year"] <= year]
        if len(ready):
            lead_ok = (
                ready["start_year"]
                + options["lead_time"].fillna(1).reindex(ready["option"]).to_numpy()
                <= year
            )
            ready = ready[lead_ok.to_numpy()]
            per_unit = options["capacity"].reindex(ready["option"]).to_numpy()
            parts.append(
                ready[["process", "region"]].assign(
                    year=year, capacity=ready["units"].to_numpy() * per_unit
                )
            )
            facility = ready["facility"]
            switch = facility.notna().to_numpy() & (
                look(facility, facility_table["process"]) != ready["process"].to_numpy()
            )
            gone = ready[switch]
            if len(gone):
                old = facility_table.loc[gone["facility"]]
                operating = e.operating(year).reindex(gone["facility"]).to_numpy()
                share = (
                    old["capacity"].to_numpy()
                    / options["max_units"].fillna(1.0).reindex(gone["option"]).to_numpy()
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "process": old["process"].to_numpy(dtype=object),
                            "region": old["region"].to_numpy(dtype=object),
                            "year": year,
                            "capacity": -share * gone["units"].to_numpy() * operating,
                        }
                    )
                )
    capacity: pd.Series = (
        pd.concat(parts, ignore_index=True).groupby(["process", "region", "year"])["capacity"].sum()
    )
    return capacity


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Activity <= facilities open + investments ready - renovated away, where capped."""
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    capacity = capacity_in(e, tables, e.years)
    activity = tables["activity"].groupby(["process", "region", "year"])["activity"].sum()
    capped_processes = set(facilities["process"]) | set(options["process"])
    capped = activity[activity.index.get_level_values("process").isin(capped_processes)]
    limit = capacity.reindex(capped.index).fillna(0.0)
    labels = pd.Series([" ".join(map(str, k)) for k in capped.index], index=capped.index)
    record("capacity", capped - limit, limit, labels)


FAMILY = Family(
    "capacity",
    (
        Constraint(
            "capacity",
            ("year", "process", "region"),
            "one more unit of capacity of the process in the region and year",
            "main product unit",
            limit=True,
            ranged=True,
            checks=("capacity",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=(
        "activity",
        "capacity",
        "pairs",
        "pair_key",
        "pair_process",
        "pair_region",
        "capacity_of_pair",
    ),
)
