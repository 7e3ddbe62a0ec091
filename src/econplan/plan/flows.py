"""A plan's flows, year by year: what its tables say was produced, used, built, shipped,
traded, stocked and drawn from nature, in the form material balances take (``Flows``).

Everything is recomputed from the plan's tables and the economy's own tables, not from the
problem's matrix: ``econplan balance --plan`` shows these balances, and verification checks
them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.analysis.balance import Flows
from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.families.assembly import CONSUMPTION, shippable
from econplan.plan.families.claims import delivered

KEY = ["product", "region", "year"]


def look(keys: pd.Series | pd.Index, mapping: pd.Series) -> np.ndarray:
    """``mapping`` at each key (NaN where missing), as a plain array: ``Series.map`` on
    pandas' string dtype would turn the values into strings."""
    return mapping.reindex(pd.Index(np.asarray(keys, dtype=object))).to_numpy()


def production(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Gross output by product, region and year, recomputed from activity."""
    parts = []
    activity = tables["activity"]
    for year in economy.years:
        act = activity[(activity["year"] == year) & (activity["activity"] != 0)]
        process = economy.process_ids.get_indexer(pd.Index(act["process"]))
        coo = economy.outputs(year)[:, process].tocoo()
        parts.append(
            pd.DataFrame(
                {
                    "product": economy.product_ids.to_numpy(dtype=object)[coo.row],
                    "region": act["region"].to_numpy(dtype=object)[coo.col],
                    "year": year,
                    "amount": coo.data * act["activity"].to_numpy()[coo.col],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*KEY, "amount"])
    return pd.DataFrame(frame.groupby(KEY, as_index=False)["amount"].sum())


def _primary_used(economy: Economy, activity: pd.DataFrame) -> pd.DataFrame:
    """Primary inputs of an input-output table (value added, non-competitive imports) used by
    the plan's activity, by product, region and year: they come from outside the economy in
    whatever amount is used, so they are their own endowment (as in the base-year balance)."""
    primary = np.flatnonzero(economy.tables["products"]["kind"].to_numpy(dtype=object) == "primary")
    if not len(primary):
        return pd.DataFrame(columns=[*KEY, "amount"])
    parts = []
    for year in economy.years:
        act = activity[(activity["year"] == year) & (activity["activity"] != 0)]
        process = economy.process_ids.get_indexer(pd.Index(act["process"]))
        coo = economy.inputs(year)[primary][:, process].tocoo()
        parts.append(
            pd.DataFrame(
                {
                    "product": economy.product_ids.to_numpy(dtype=object)[primary[coo.row]],
                    "region": act["region"].to_numpy(dtype=object)[coo.col],
                    "year": year,
                    "amount": coo.data * act["activity"].to_numpy()[coo.col],
                }
            )
        )
    return pd.DataFrame(
        pd.concat(parts, ignore_index=True).groupby(KEY, as_index=False)["amount"].sum()
    )


def carried(economy: Economy, shipments: pd.DataFrame) -> np.ndarray:
    """What each shipment weighs against its link's capacity: the grid counts MWh, rail,
    road and sea count tonnes (a good's mass per unit)."""
    goods, mass = shippable(economy)["rail"]
    by_mass = pd.Series(mass, index=economy.product_ids.to_numpy(dtype=object)[goods])
    mode = look(shipments["link"], economy.tables["links"].set_index("id")["mode"])
    weight = look(shipments["product"], by_mass).astype(float)
    return np.where(mode == "grid", 1.0, weight)


def investment_bills(economy: Economy, investment: pd.DataFrame) -> pd.DataFrame:
    """Products used by construction: each option's bill of materials times the units
    started, spread evenly over the years of construction (option, start_year, product,
    region, year, amount: the option and its start say which task of the plan uses them)."""
    columns = ["option", "start_year", *KEY, "amount"]
    if len(investment) == 0:
        return pd.DataFrame(columns=columns)
    options = economy.tables["investments"].set_index("id")
    spread = options["lead_time"].fillna(1).clip(lower=1).astype(int)
    bill = economy.tables["investment_costs"].merge(
        investment, left_on="investment", right_on="option"
    )
    years = look(bill["option"], spread).astype(int)
    parts = []
    for offset in range(int(years.max()) if len(bill) else 0):
        during = bill[years > offset]
        share = during["units"].to_numpy(dtype=float) / years[years > offset]
        parts.append(
            pd.DataFrame(
                {
                    "option": during["option"].to_numpy(dtype=object),
                    "start_year": during["start_year"].to_numpy(dtype=int),
                    "product": during["product"].to_numpy(dtype=object),
                    "region": during["region"].to_numpy(dtype=object),
                    "year": during["start_year"].to_numpy(dtype=int) + offset,
                    "amount": during["amount"].to_numpy(dtype=float) * share,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _final(
    economy: Economy, tables: dict[str, pd.DataFrame], made: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Final demand of ``year``: claims fixed by data (soft claims less the shortfall the plan
    states), reserves as shares of what is made, the consumption basket at the plan's
    consumption level."""
    claims = final_demand_claims(economy, year, made[made["year"] == year])
    if len(claims) == 0:
        return claims
    claims = delivered(economy, tables, year, claims)
    table = tables["consumption_level"]
    levels = table[table["year"] == year].set_index("region")["level"]
    level = np.where(
        claims["category"].to_numpy() == CONSUMPTION,
        np.nan_to_num(look(claims["region"], levels).astype(float)),
        1.0,
    )
    return claims.assign(amount=claims["amount"].to_numpy(dtype=float) * level)


def plan_flows(economy: Economy, tables: dict[str, pd.DataFrame]) -> list[Flows]:
    """Every flow of the plan in ``tables``, one ``Flows`` per plan year.

    Endowments are the labour available and what the plan draws from nature; the stock change
    of a year is its closing stock less the year before's (plans start with no stocks), and
    what is planted into a renewable stock (a negative draw) is a stock built.
    """
    e = economy
    activity = tables["activity"]
    made = production(e, tables)
    bills = investment_bills(e, tables["investment"])
    trade = tables["trade"]
    ship = tables["shipments"]
    links = e.tables["links"].set_index("id")
    transport = pd.DataFrame(
        {
            "product": look(ship["link"], links["service"]),
            "region": ship["origin"].to_numpy(dtype=object),
            "link": ship["link"].to_numpy(dtype=object),
            "year": ship["year"].to_numpy(dtype=int),
            "amount": ship["amount"].to_numpy(dtype=float)
            * carried(e, ship)
            * np.nan_to_num(look(ship["link"], links["service_per_unit"]).astype(float)),
        }
    )
    transport = transport[transport["product"].notna() & (transport["amount"] != 0)]
    stocks = tables["stocks"]
    before = stocks.assign(year=stocks["year"] + 1, stock=-stocks["stock"])
    change = pd.DataFrame(
        pd.concat([stocks, before[before["year"] <= e.settings.last_year]])
        .groupby(KEY, as_index=False)["stock"]
        .sum()
    ).rename(columns={"stock": "amount"})
    # a negative draw is planting: the product goes into the renewable stock, a use (a stock
    # built), not a negative endowment that would hide both sides of the balance
    resources = tables["resources"].rename(columns={"draw": "amount"})
    drawn = resources[resources["amount"] > 0]
    planted = resources[resources["amount"] < 0].assign(amount=lambda f: -f["amount"])
    change = pd.concat([change, planted[[*KEY, "amount"]]], ignore_index=True)
    labour = e.tables["labour"]
    used = _primary_used(e, activity)
    # a re-plan's years wholly past: supply the reported facts do not account for
    missing = tables.get("discrepancy", pd.DataFrame(columns=[*KEY, "amount"]))
    result = []
    for year in e.years:
        endowment = pd.concat(
            [
                labour[labour["year"] == year][["product", "region", "amount"]],
                drawn[drawn["year"] == year][["product", "region", "amount"]],
                used[used["year"] == year][["product", "region", "amount"]],
                missing[missing["year"] == year][["product", "region", "amount"]],
            ],
            ignore_index=True,
        )
        here = trade[trade["year"] == year]
        result.append(
            Flows(
                year,
                activity[activity["year"] == year].rename(columns={"activity": "amount"})[
                    ["process", "region", "amount"]
                ],
                imports=here[["product", "region"]].assign(amount=here["imports"]),
                exports=here[["product", "region"]].assign(amount=here["exports"]),
                final=_final(e, tables, made, year),
                investment=bills[bills["year"] == year][["product", "region", "amount"]],
                endowment=endowment,
                shipments=ship[ship["year"] == year][
                    ["product", "origin", "destination", "amount"]
                ],
                stock_change=change[change["year"] == year][["product", "region", "amount"]],
                transport=transport[transport["year"] == year][
                    ["product", "region", "link", "amount"]
                ],
            )
        )
    return result


ROUNDING = 1e-12
"""What a balance may lack from rounding alone, as a share of its flows."""


def close_past_balances(
    economy: Economy, tables: dict[str, pd.DataFrame], years: tuple[int, ...]
) -> dict[str, pd.DataFrame]:
    """The plan's ``discrepancy`` table made whole: in years wholly past, what a balance
    lacks (supply short of uses and claims) is by definition what the reported facts do not
    account for. The plan's own discrepancy columns carry the gaps the facts make; this adds
    the last crumbs the solver left within its feasibility tolerance (4e-6 of a product that
    year had none of), so the table accounts for the whole of every past balance."""
    from econplan.analysis.balance import material_balance

    past = [f for f in plan_flows(economy, tables) if f.year in set(years)]
    entries = material_balance(economy, past).entries
    signed = entries["amount"].where(entries["side"] == "source", -entries["amount"])
    net = signed.groupby([entries[k] for k in KEY]).sum()
    gross = entries["amount"].abs().groupby([entries[k] for k in KEY]).sum()
    lacking = net < -ROUNDING * gross.clip(lower=1.0)  # not the last bits of a sum
    short = (-net[lacking]).rename("amount").reset_index()
    found = tables.get("discrepancy", pd.DataFrame(columns=[*KEY, "amount"]))
    both = pd.concat([found, short], ignore_index=True)
    whole = pd.DataFrame(both.groupby(KEY, as_index=False)["amount"].sum())
    return {**tables, "discrepancy": whole.sort_values(KEY, ignore_index=True)}
