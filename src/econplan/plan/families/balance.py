"""Product balances: for every product, region and year, supply minus use at least the claims
the data fix (less what is endowed: labour available), with equality for a natural resource
where it lies; in a re-plan, a discrepancy column for each balance of a year wholly past."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.analysis.balance import material_balance
from econplan.model.economy import Economy
from econplan.plan.families.assembly import CONSUMPTION, Assembly
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import KEY, look, plan_flows
from econplan.plan.lp import INF


def assemble(a: Assembly) -> None:
    _balance_rows(a)
    _discrepancy(a)


def _balance_rows(a: Assembly) -> None:
    """Supply minus use of every product, region and year >= claims fixed by data minus
    endowments (labour available); = for a natural resource where it lies."""
    e = a.economy
    P, R, T = a.P, a.R, a.T
    t, r, p = np.meshgrid(np.arange(T), np.arange(R), np.arange(P), indexing="ij")
    labels = a.labels(
        product=e.product_ids.to_numpy(dtype=object)[p.ravel()],
        region=e.region_ids.to_numpy(dtype=object)[r.ravel()],
        year=a.years[t.ravel()],
    )
    lower = np.zeros((T, R, P))
    for ti, claims in enumerate(a.claims):
        fixed = claims[claims["category"] != CONSUMPTION]
        at = np.ravel_multi_index(
            (
                np.full(len(fixed), ti),
                a.region_positions(fixed["region"]),
                a.product_positions(fixed["product"]),
            ),
            (T, R, P),
        )
        np.add.at(lower.ravel(), at, fixed["amount"].to_numpy(dtype=float))
    labour = e.tables["labour"]
    labour = labour[labour["year"].isin(a.years).to_numpy(dtype=bool)]
    at = np.ravel_multi_index(
        (
            np.searchsorted(a.years, labour["year"].to_numpy(dtype=int)),
            a.region_positions(labour["region"]),
            a.product_positions(labour["product"]),
        ),
        (T, R, P),
    )
    np.add.at(lower.ravel(), at, -labour["amount"].to_numpy(dtype=float))
    # what is drawn from a natural resource is used, not thrown away: otherwise any draw up
    # to the limits is as good as the one needed, and the plan reports extraction (and
    # deposits left) that nothing uses
    upper = np.full((T, R, P), INF)
    lies = (e.positions("resources", "region"), e.positions("resources", "product"))
    upper[:, lies[0], lies[1]] = lower[:, lies[0], lies[1]]
    # primary inputs of an input-output table (value added, taxes, non-competitive imports)
    # come from outside the economy in whatever amount is used, as in the base-year balance
    primary = e.tables["products"]["kind"].to_numpy(dtype=object) == "primary"
    lower[:, :, primary] = -INF
    a.lp.add_rows(
        "balance",
        labels,
        lower=lower.ravel(),
        upper=upper.ravel(),
        unit="product unit",
        shape=(T, R, P),
    )


def _discrepancy(a: Assembly) -> None:
    """In a year wholly past (a re-plan's ``closed_years``) every activity is a reported
    fact, and facts reported one by one never balance exactly: a use the reported output
    could not have supplied, a claim left unmet. A column per balance of those years lets
    supply fall short of uses and claims; the first stage keeps the discrepancy as small as
    it can (each unit weighted by the balance's size, as the elastic problem does)."""
    closed = set(a.fixed.closed_years) if a.fixed is not None else set()
    if not closed:
        return
    balance = a.lp.rows["balance"]
    labels = balance.labels
    picked = np.flatnonzero(labels["year"].isin(closed).to_numpy())
    block = a.lp.add_columns(
        "discrepancy", labels.iloc[picked].reset_index(drop=True), unit="product unit"
    )
    a.lp.add(balance.index[picked], block.index, 1.0)
    lower = a.lp.row_lower[list(a.lp.rows).index("balance")][picked]
    a.discrepancy_weight = 1.0 / np.maximum(
        np.abs(np.nan_to_num(lower, posinf=0.0, neginf=0.0)), 1.0
    )


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Supply minus use of every balance >= 0, from the plan's flows (labour separately); a
    natural resource's balance with equality."""
    entries = material_balance(e, plan_flows(e, tables)).entries
    signed = entries["amount"].where(entries["side"] == "source", -entries["amount"])
    gross = entries["amount"].abs().groupby([entries[k] for k in KEY]).sum()
    net = signed.groupby([entries[k] for k in KEY]).sum()
    kinds = e.tables["products"].set_index("id")["kind"]
    is_labour = look(net.index.get_level_values("product"), kinds) == "labour"
    labels = pd.Series([" ".join(map(str, k)) for k in net.index], index=net.index)
    record("balance", -net[~is_labour], gross[~is_labour], labels[~is_labour])
    # a natural resource is drawn as it is used: its balance holds with equality
    lies = pd.MultiIndex.from_frame(e.tables["resources"][["product", "region"]])
    drawn = net.droplevel("year").index.isin(lies)
    record("resource drawn is used", net[drawn], gross[drawn], labels[drawn])
    record("labour", -net[is_labour], gross[is_labour], labels[is_labour])


FAMILY = Family(
    "balance",
    (
        Constraint(
            "balance",
            ("year", "region", "product"),
            "one more unit of the product available in the region and year",
            "product unit",
            checks=("balance", "labour", "resource drawn is used"),
        ),
    ),
    assemble,
    check,
    gives=("balance", "discrepancy", "discrepancy_weight"),
)
