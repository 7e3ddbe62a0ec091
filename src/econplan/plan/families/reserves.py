"""Reserves set as a share of output (the defence reserve): a use of each region's production
of the product, so they enter the balances through the activity columns."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from econplan.plan.families.assembly import Assembly
from econplan.plan.families.family import Family


def assemble(a: Assembly) -> None:
    """Reserves set as a share of output (the defence reserve): a use of each region's
    production of the product, so they enter the activity columns."""
    e = a.economy
    demand = e.tables["final_demand"]
    shares = demand[demand["basis"] == "share_of_output"]
    a.reserve_share = []
    for ti, year in enumerate(a.years):
        rows = shares[shares["year"].isna() | (shares["year"] == year)]
        regions, products, values = [], [], []
        for region, product, amount in zip(
            rows["region"], rows["product"], rows["amount"], strict=False
        ):
            members = e.region_members[region] if isinstance(region, str) else tuple(e.region_ids)
            regions.append(a.region_positions(np.array(members, dtype=object)))
            products.append(np.full(len(members), e.product_ids.get_loc(product)))
            values.append(np.full(len(members), float(amount)))
        if regions:
            share = sp.csr_matrix(
                (np.concatenate(values), (np.concatenate(regions), np.concatenate(products))),
                shape=(a.R, a.P),
            )
        else:
            share = sp.csr_matrix((a.R, a.P))
        a.reserve_share.append(share)
        if share.nnz == 0:
            continue
        out = e.outputs(int(year))[:, a.pair_process].tocoo()
        s = np.asarray(share[a.pair_region[out.col], out.row]).ravel()
        rows_ = a.balance_row(out.row, a.pair_region[out.col], ti)
        a.lp.add(rows_, a.block("activity").at(ti, out.col), -s * out.data)


FAMILY = Family(
    "reserves",
    (),
    assemble,
    needs=("balance", "activity", "pair_process", "pair_region"),
    gives=("reserve_share",),
)
