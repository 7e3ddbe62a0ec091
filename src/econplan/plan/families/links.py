"""Links between regions: shipments of each product along each link (both ways for a two-way
link), each year; the transport service they use in the region they leave; and each
direction's capacity per year, in tonnes (the grid's in MWh)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly, shippable
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import carried, look


def assemble(a: Assembly) -> None:
    """Shipments along links (both ways for two-way links), the transport service they use
    in the region they leave, and each direction's capacity per year."""
    e = a.economy
    links = e.tables["links"]
    if len(links) == 0:
        return
    origin = e.positions("links", "origin")
    destination = e.positions("links", "destination")
    two_way = links["two_way"].fillna(True).to_numpy(dtype=bool)
    link = np.concatenate([np.arange(len(links)), np.flatnonzero(two_way)])
    frm = np.concatenate([origin, destination[two_way]])
    to = np.concatenate([destination, origin[two_way]])
    mode = links["mode"].to_numpy(dtype=object)[link]
    service = e.positions("links", "service")[link]
    per_unit = links["service_per_unit"].fillna(0.0).to_numpy(dtype=float)[link]
    carried = shippable(e)
    arc_parts, product_parts, mass_parts = [], [], []
    for m in ("grid", "rail", "road", "sea"):
        arcs = np.flatnonzero(mode == m)
        goods, mass = carried[m]
        arc_parts.append(np.repeat(arcs, len(goods)))
        product_parts.append(np.tile(goods, len(arcs)))
        mass_parts.append(np.tile(mass, len(arcs)))
    arc = np.concatenate(arc_parts)
    product = np.concatenate(product_parts)
    mass = np.concatenate(mass_parts)
    n = len(arc)
    link_ids = e.ids("links").to_numpy(dtype=object)
    region_ids = e.region_ids.to_numpy(dtype=object)
    labels = pd.concat(
        [
            a.labels(
                product=e.product_ids.to_numpy(dtype=object)[product],
                link=link_ids[link[arc]],
                origin=region_ids[frm[arc]],
                destination=region_ids[to[arc]],
                year=y,
            )
            for y in a.years
        ]
    )
    block = a.lp.add_columns("shipment", labels, unit="product unit", shape=(a.T, n))
    n_arcs = len(link)
    cap_labels = pd.concat(
        [
            a.labels(
                link=link_ids[link], origin=region_ids[frm], destination=region_ids[to], year=y
            )
            for y in a.years
        ]
    )
    capacity = np.tile(links["capacity"].to_numpy(dtype=float)[link], a.T)
    rows = a.lp.add_rows(
        "link", cap_labels, upper=capacity, unit="t (grid: MWh)", shape=(a.T, n_arcs)
    )
    uses_service = service[arc] >= 0
    for ti in range(a.T):
        cols = block.at(ti, np.arange(n))
        a.lp.add(a.balance_row(product, to[arc], ti), cols, 1.0)
        a.lp.add(a.balance_row(product, frm[arc], ti), cols, -1.0)
        a.lp.add(
            a.balance_row(service[arc][uses_service], frm[arc][uses_service], ti),
            cols[uses_service],
            -(per_unit[arc] * mass)[uses_service],
        )
        a.lp.add(rows.at(ti, arc), cols, mass)


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """The mass carried each way on each link each year within its capacity (none the other
    way on a one-way link)."""
    ship = tables["shipments"]
    links = e.tables["links"].set_index("id")
    load = (
        (ship["amount"] * carried(e, ship))
        .groupby([ship["link"], ship["origin"], ship["destination"], ship["year"]])
        .sum()
    )
    link = load.index.get_level_values("link")
    capacity = pd.Series(look(link, links["capacity"]).astype(float), index=load.index)
    reverse = load.index.get_level_values("origin").to_numpy() != look(link, links["origin"])
    one_way = ~look(link, links["two_way"].fillna(True)).astype(bool)
    capacity[reverse & one_way] = 0.0
    record(
        "link capacity",
        load - capacity,
        capacity,
        pd.Series([" ".join(map(str, k)) for k in load.index], index=load.index),
    )


FAMILY = Family(
    "links",
    (
        Constraint(
            "link",
            ("year", "link", "origin", "destination"),
            "one more t (grid: MWh) of link capacity in the direction and year",
            "t or MWh",
            limit=True,
            ranged=True,
            checks=("link capacity",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=("shipment", "link"),
)
