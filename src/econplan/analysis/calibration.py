"""Calibration: the economy's base-year production against published statistics.

Base-year production of a product is the sum over facilities of base-year activity times the
process's output of that product (joint products count); a sector's is the sum over its
products and those of its sub-sectors. Each statistic in ``observed.csv`` carries the
tolerance within which the model should reproduce it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.model.economy import Economy


def base_year_production(economy: Economy, region: str | None = None) -> pd.Series:
    """Production of every product in the base year, nationally or in a region (sub-regions
    included)."""
    output = economy.base_output
    if region is not None:
        inside = economy.tables["facilities"]["region"].isin(economy.region_members[region])
        output = output.where(inside.to_numpy(), 0.0)
    activity = economy.facility_process @ output.to_numpy()
    outputs: sp.csr_matrix = economy.outputs(economy.settings.base_year)
    return pd.Series(outputs @ activity, index=economy.product_ids, name="production")


def calibration(economy: Economy) -> pd.DataFrame:
    """One row per observed statistic: the published figure, the model's base-year figure,
    their relative deviation and whether it lies within the tolerance."""
    observed = economy.tables["observed"]
    units = economy.tables["products"].set_index("id")["unit"]
    rows = []
    by_region: dict[str | None, pd.Series] = {}  # production is the same for every statistic
    for _, stat in observed.iterrows():
        region = stat["region"] if isinstance(stat["region"], str) else None
        if region not in by_region:
            by_region[region] = base_year_production(economy, region)
        production = by_region[region]
        members: tuple[str, ...]
        if isinstance(stat["product"], str):
            name, members = stat["product"], (stat["product"],)
        else:
            name, members = stat["sector"], economy.sector_products[stat["sector"]]
        model = float(production.loc[list(members)].sum())
        deviation = model / stat["amount"] - 1.0 if stat["amount"] > 0 else np.inf
        rows.append(
            {
                "item": name,
                "region": region or "",
                "unit": units[members[0]] if members else "",
                "year": int(stat["year"]),
                "observed": float(stat["amount"]),
                "model": model,
                "deviation": deviation,
                "tolerance": float(stat["tolerance"]),
                "within": bool(abs(deviation) <= stat["tolerance"]),
                "source": stat["source"],
            }
        )
    columns = [
        "item",
        "region",
        "unit",
        "year",
        "observed",
        "model",
        "deviation",
        "tolerance",
        "within",
        "source",
    ]
    return pd.DataFrame(rows, columns=columns)
