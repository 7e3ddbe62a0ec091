"""Stocks of storable goods carried from one year to the next (none at the start): a use in
the balance of the year they are put by, a source in the next year's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.plan.families.assembly import Assembly
from econplan.plan.families.family import Family


def assemble(a: Assembly) -> None:
    """Stocks of storable goods carried from one year to the next (none at the start)."""
    e = a.economy
    products = e.tables["products"]
    storable = np.flatnonzero(
        products["storable"].fillna(False).to_numpy(dtype=bool)
        & (products["kind"].to_numpy(dtype=object) == "good")
    )
    p = np.tile(storable, a.R)
    r = np.repeat(np.arange(a.R), len(storable))
    labels = pd.concat(
        [
            a.labels(
                product=e.product_ids.to_numpy(dtype=object)[p],
                region=e.region_ids.to_numpy(dtype=object)[r],
                year=y,
            )
            for y in a.years
        ]
    )
    n = len(p)
    block = a.lp.add_columns("stock", labels, unit="product unit", shape=(a.T, n))
    for ti in range(a.T):
        cols = block.at(ti, np.arange(n))
        a.lp.add(a.balance_row(p, r, ti), cols, -1.0)
        if ti + 1 < a.T:
            a.lp.add(a.balance_row(p, r, ti + 1), cols, 1.0)


FAMILY = Family("stocks", (), assemble, needs=("balance",), gives=("stock",))
