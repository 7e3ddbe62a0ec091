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
from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import production

TABLE = "self_sufficiency"


def in_force(economy: Economy, year: int) -> pd.DataFrame:
    """The shares of ``year``, one row per product and region (NaN: the nation): a row for
    the year replaces the undated row of the same product and region."""
    table = economy.tables[TABLE]
    key = ["product", "region"]
    dated = table[(table["year"] == year).fillna(False)]
    undated = table[table["year"].isna()]
    both = pd.MultiIndex.from_frame(undated[key].astype(object).fillna(""))
    replaced = both.isin(pd.MultiIndex.from_frame(dated[key].astype(object).fillna("")))
    rows = pd.concat([undated[~replaced], dated], ignore_index=True)
    return pd.DataFrame(rows[[*key, "share"]]).assign(year=year)


def _members(economy: Economy, region: object) -> tuple[str, ...]:
    """The regions a row counts: the region (with its members), or every region."""
    if isinstance(region, str):
        return tuple(economy.region_members[region])
    return tuple(economy.region_ids)


def assemble(a: Assembly) -> None:
    e = a.economy
    if TABLE not in e.tables or not len(e.tables[TABLE]):
        return
    rows = pd.concat([in_force(e, int(y)) for y in a.years], ignore_index=True)
    block = a.lp.add_rows(
        TABLE,
        rows[["product", "region", "year"]],
        lower=0.0,
        unit="product unit",
        shape=(len(rows),),
    )
    activity = a.block("activity")
    columns = {flow: a.block(flow) for flow in ("imports", "exports")}
    shipment = a.lp.columns.get("shipment")
    for i, (product_id, region, year, share) in enumerate(
        zip(
            rows["product"].to_numpy(dtype=object),
            rows["region"].to_numpy(dtype=object),
            rows["year"].to_numpy(dtype=int),
            rows["share"].to_numpy(dtype=float),
            strict=True,
        )
    ):
        ti = int(np.searchsorted(a.years, year))
        members = _members(e, region)
        inside = np.zeros(a.R, dtype=bool)
        inside[a.region_positions(np.array(members, dtype=object))] = True
        product = e.product_ids.get_loc(product_id)
        # production: the activity of every pair in the regions that makes the product
        made = np.asarray(e.outputs(int(year))[product, a.pair_process].todense()).ravel()
        pairs = np.flatnonzero((made != 0) & inside[a.pair_region])
        cols = [activity.at(ti, pairs)]
        coefs = [(1.0 - share) * made[pairs]]
        # net imports and, for a region, net shipments in, each at minus the share
        for flow, sign in (("imports", -1.0), ("exports", 1.0)):
            labels = columns[flow].labels
            pick = np.flatnonzero(
                (labels["product"] == product_id).to_numpy()
                & (labels["year"] == year).to_numpy()
                & labels["region"].isin(members).to_numpy()
            )
            cols.append(columns[flow].index[pick])
            coefs.append(np.full(len(pick), sign * share))
        if shipment is not None and not inside.all():
            labels = shipment.labels
            of = ((labels["product"] == product_id) & (labels["year"] == year)).to_numpy()
            into = labels["destination"].isin(members).to_numpy()
            out_of = labels["origin"].isin(members).to_numpy()
            for picked, sign in ((of & into & ~out_of, -1.0), (of & out_of & ~into, 1.0)):
                at = np.flatnonzero(picked)
                cols.append(shipment.index[at])
                coefs.append(np.full(len(at), sign * share))
        joined = np.concatenate(cols)
        a.lp.add(block.at(np.full(len(joined), i)), joined, np.concatenate(coefs))


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
        shares = in_force(e, year)
        for p, region, share in zip(
            shares["product"].astype(str),
            shares["region"].to_numpy(dtype=object),
            shares["share"].to_numpy(dtype=float),
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
