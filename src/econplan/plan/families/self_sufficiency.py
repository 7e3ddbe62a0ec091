"""Self-sufficiency: the least share of a product's use that its own production supplies, in
the nation or in a region, each plan year (``self_sufficiency.csv``; no rows without it). The
share is FAO's self-sufficiency ratio, production over what is used of the product there:

    production >= share * (production + imports - exports [+ shipments in - shipments out])

the shipments only for a region (between the nation's regions they cancel). As a row:

    (1 - share) * production - share * (imports - exports + in - out) >= 0

with production the gross output of the activity in the regions named (every process that
makes the product, joint products included). The imports stage keeps spending abroad low as
a whole; this holds a product (food, finishing materials: the plan documents' "self-
sufficiency") to its share whatever it costs the stages, as a hard constraint."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly, in_force
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import production

TABLE = "self_sufficiency"


def shares(economy: Economy, year: int) -> pd.DataFrame:
    """The shares of ``year``, one row per product and region (NaN: the nation)."""
    rows = in_force(economy.tables[TABLE], ["product", "region"], year)
    return pd.DataFrame(rows[["product", "region", "share"]]).assign(year=year)


def _members(economy: Economy, region: object) -> tuple[str, ...]:
    """The regions a row counts: the region (with its members), or every region."""
    if isinstance(region, str):
        return tuple(economy.region_members[region])
    return tuple(economy.region_ids)


def assemble(a: Assembly) -> None:
    """A row per share and year; its terms gathered for all rows at once, by joins."""
    e = a.economy
    if TABLE not in e.tables or not len(e.tables[TABLE]):
        return
    rows = pd.concat([shares(e, int(y)) for y in a.years], ignore_index=True)
    block = a.lp.add_rows(
        TABLE,
        rows[["product", "region", "year"]],
        lower=0.0,
        unit="product unit",
        shape=(len(rows),),
    )
    n = len(rows)
    share = rows["share"].to_numpy(dtype=float)
    product = a.product_positions(rows["product"])
    year = rows["year"].to_numpy(dtype=int)
    # inside[i, r]: row i counts region r (its region with its members, or the nation)
    inside = np.zeros((n, a.R), dtype=bool)
    for i, region in enumerate(rows["region"].to_numpy(dtype=object)):
        inside[i, a.region_positions(np.array(_members(e, region), dtype=object))] = True
    row_parts, col_parts, coef_parts = [], [], []
    # production: the activity of every pair in the rows' regions that makes the product
    activity = a.block("activity")
    for ti, y in enumerate(a.years):
        mine = np.flatnonzero(year == y)
        if not len(mine):
            continue
        made = e.outputs(int(y))[:, a.pair_process].tocsr()[product[mine]].tocoo()
        keep = inside[mine[made.row], a.pair_region[made.col]]
        row_parts.append(mine[made.row[keep]])
        col_parts.append(activity.at(ti, made.col[keep]))
        coef_parts.append((1.0 - share[mine[made.row[keep]]]) * made.data[keep])
    # net imports, and for a region net shipments in, each at minus the share
    wanted = rows[["product", "year"]].assign(row=np.arange(n))
    for flow, sign in (("imports", -1.0), ("exports", 1.0)):
        traded = a.lp.columns[flow]
        labels = traded.labels.assign(at=np.arange(traded.size))
        both = wanted.merge(labels, on=["product", "year"])
        row = both["row"].to_numpy()
        there = inside[row, a.region_positions(both["region"])]
        row_parts.append(row[there])
        col_parts.append(traded.index[both["at"].to_numpy()[there]])
        coef_parts.append(sign * share[row[there]])
    shipment = a.lp.columns.get("shipment")
    regional = ~inside.all(axis=1)
    if shipment is not None and regional.any():
        labels = shipment.labels[["product", "year", "origin", "destination"]]
        both = wanted[regional].merge(
            labels.assign(at=np.arange(shipment.size)), on=["product", "year"]
        )
        row = both["row"].to_numpy()
        into = inside[row, a.region_positions(both["destination"])]
        out_of = inside[row, a.region_positions(both["origin"])]
        for picked, sign in ((into & ~out_of, -1.0), (out_of & ~into, 1.0)):
            row_parts.append(row[picked])
            col_parts.append(shipment.index[both["at"].to_numpy()[picked]])
            coef_parts.append(sign * share[row[picked]])
    a.lp.add(
        block.at(np.concatenate(row_parts)), np.concatenate(col_parts), np.concatenate(coef_parts)
    )


def _total(frame: pd.DataFrame, column: str, product: str, year: int, where: pd.Series) -> float:
    picked = (frame["product"] == product) & (frame["year"] == year) & where
    return float(frame.loc[picked, column].sum())


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Each share recomputed from the plan's production, trade and shipments."""
    if TABLE not in e.tables or not len(e.tables[TABLE]):
        return
    made = production(e, tables)
    trade = tables["trade"]
    ship = tables["shipments"]
    excess, size, labels = [], [], []
    for year in e.years:
        rows = shares(e, year)
        for p, region, share in zip(
            rows["product"].astype(str),
            rows["region"].to_numpy(dtype=object),
            rows["share"].to_numpy(dtype=float),
            strict=True,
        ):
            members = _members(e, region)
            produced = _total(made, "amount", p, year, made["region"].isin(members))
            here = trade["region"].isin(members)
            into = ship["destination"].isin(members) & ~ship["origin"].isin(members)
            out_of = ship["origin"].isin(members) & ~ship["destination"].isin(members)
            used = (
                produced
                + _total(trade, "imports", p, year, here)
                - _total(trade, "exports", p, year, here)
                + _total(ship, "amount", p, year, into)
                - _total(ship, "amount", p, year, out_of)
            )
            excess.append(float(share) * used - produced)
            size.append(max(abs(produced), abs(used)))
            where = region if isinstance(region, str) else "nation"
            labels.append(f"{p} {where} {year}")
    record(
        "self-sufficiency",
        pd.Series(excess, dtype=float),
        pd.Series(size, dtype=float),
        pd.Series(labels, dtype=object),
    )


FAMILY = Family(
    "self_sufficiency",
    (
        Constraint(
            TABLE,
            ("product", "region", "year"),
            "one unit less of production the self-sufficiency share asks for, net of the "
            "share of use it also counts",
            "product unit",
            limit=True,
            ranged=True,
            checks=("self-sufficiency",),
        ),
    ),
    assemble,
    check,
    needs=("activity", "pair_process", "pair_region", "imports", "exports", "shipment"),
    gives=(TABLE,),
)
