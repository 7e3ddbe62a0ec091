"""Final demand claims by joins against the plain row-by-row reading of final_demand.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.validate import load_economy


def claims_row_by_row(economy: Economy, year: int, production: pd.DataFrame | None) -> pd.DataFrame:
    """The oracle: each row of final_demand in turn, as the format describes it."""
    demand = economy.tables["final_demand"]
    demand = demand[demand["year"].isna() | (demand["year"] == year)]
    population = economy.population[year] if year in economy.population.columns else None
    parts = []
    for row in demand.to_dict(orient="records"):
        region = row["region"]
        members = list(
            economy.region_ids if not isinstance(region, str) else economy.region_members[region]
        )
        if row["basis"] == "per_head":
            if population is None:
                continue
            amounts = population.reindex(members) * row["amount"]
        elif row["basis"] == "absolute":
            weights = population.reindex(members) if population is not None else None
            if weights is None:
                weights = pd.Series(1.0, index=members)
            total = float(weights.sum())
            shares = weights / total if total > 0 else pd.Series(1 / len(weights), index=members)
            amounts = shares * row["amount"]
        else:
            if production is None:
                continue
            inside = (production["product"] == row["product"]) & production["region"].isin(members)
            amounts = production[inside].groupby("region")["amount"].sum() * row["amount"]
        parts.append(
            pd.DataFrame(
                {
                    "category": row["category"],
                    "product": str(row["product"]),
                    "region": amounts.index.to_numpy(dtype=object),
                    "amount": amounts.to_numpy(dtype=float),
                }
            )
        )
    keys = ["category", "product", "region"]
    summed = pd.concat(parts, ignore_index=True).groupby(keys)["amount"].sum().reset_index()
    return summed[summed["amount"] != 0].reset_index(drop=True)


@pytest.mark.parametrize("where", [None, "tests/data/tiny"])
def test_claims_by_joins_are_the_rows_claims(where: str | None) -> None:
    economy = load_economy(where)
    rng = np.random.default_rng(0)
    products = economy.tables["products"]["id"].to_numpy(dtype=object)
    for year in range(economy.settings.first_year, economy.settings.last_year + 1):
        # what share_of_output claims (reserves) are shares of: some output in every region
        production = pd.DataFrame(
            [
                {"product": p, "region": r, "amount": float(rng.uniform(0, 1000))}
                for p in products
                for r in economy.region_ids
            ]
        )
        for made in (None, production):
            expected = claims_row_by_row(economy, year, made)
            found = final_demand_claims(economy, year, made)
            pd.testing.assert_frame_equal(found, expected, check_exact=True)
