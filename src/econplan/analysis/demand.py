"""Final demand claims region by region: norms per head times population, absolute claims
shared by population, and reserves as a share of what each region produces."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy

CLAIM_COLUMNS = ["category", "product", "region", "amount"]


def _shares(weights: pd.Series) -> pd.Series:
    total = float(weights.sum())
    return weights / total if total > 0 else pd.Series(1.0 / len(weights), index=weights.index)


def final_demand_claims(
    economy: Economy,
    year: int,
    production: pd.DataFrame | None = None,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Claims of ``year`` by category, product and region.

    ``production`` (product, region, amount) is what share_of_output claims are shares of;
    without it those claims are left out. Rows without a year hold every year; a row with a
    region covers the region and its sub-regions. ``rows``: some rows of final_demand only
    (the soft claims of a priority); None: all of them.
    """
    demand = economy.tables["final_demand"] if rows is None else rows
    demand = demand[demand["year"].isna() | (demand["year"] == year)]
    population = economy.population[year] if year in economy.population.columns else None
    all_regions = tuple(economy.region_ids)
    parts: list[pd.DataFrame] = []
    for row in demand.to_dict(orient="records"):
        region, product, amount = row["region"], str(row["product"]), float(row["amount"])
        members = list(
            all_regions if not isinstance(region, str) else economy.region_members[region]
        )
        amounts: pd.Series
        if row["basis"] == "per_head":
            if population is None:
                continue
            amounts = population.reindex(members) * amount
        elif row["basis"] == "absolute":
            weights = population.reindex(members) if population is not None else None
            if weights is None:
                weights = pd.Series(1.0, index=members)
            amounts = _shares(weights) * amount
        else:  # share_of_output
            if production is None:
                continue
            inside = (production["product"] == product) & production["region"].isin(members)
            amounts = production[inside].groupby("region")["amount"].sum() * amount
        parts.append(
            pd.DataFrame(
                {
                    "category": row["category"],
                    "product": product,
                    "region": amounts.index.to_numpy(dtype=object),
                    "amount": amounts.to_numpy(dtype=float),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c == "amount" else object) for c in CLAIM_COLUMNS}
        )
    keys = ["category", "product", "region"]
    summed = pd.concat(parts, ignore_index=True).groupby(keys, sort=True)["amount"].sum()
    claims = summed.reset_index()
    return claims[claims["amount"] != 0].reset_index(drop=True)


def allocate(national: pd.Series, weights: pd.DataFrame, fallback: pd.Series) -> pd.DataFrame:
    """Share national amounts per product among regions in proportion to ``weights`` (product,
    region, amount); products without weights are shared by ``fallback`` (region -> weight)."""
    rows = []
    for product, amount in national.items():
        if amount == 0 or not np.isfinite(amount):
            continue
        w = weights[weights["product"] == product].groupby("region")["amount"].sum()
        w = w[w > 0]
        shares = _shares(w if len(w) else fallback)
        rows.append(
            pd.DataFrame(
                {
                    "product": product,
                    "region": shares.index.to_numpy(dtype=object),
                    "amount": shares.to_numpy() * amount,
                }
            )
        )
    if not rows:
        return pd.DataFrame(
            {
                "product": pd.Series(dtype=object),
                "region": pd.Series(dtype=object),
                "amount": pd.Series(dtype=float),
            }
        )
    return pd.concat(rows, ignore_index=True)
