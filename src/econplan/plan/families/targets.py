"""Targets: a row per target in a plan year measuring what it counts (production, final use,
imports or exports of a product or sector, in a region or the nation); tier and weighted
targets get a shortfall column, a fraction of the target, so that they can fall short at a
price (the stages' objectives); hard targets must hold."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.families.assembly import CONSUMPTION, Assembly
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family
from econplan.plan.flows import production
from econplan.plan.lp import INF


def tier_of(kind: str) -> int:
    """1 for tier1 and so on; 0 for hard, -1 for weight."""
    if kind == "hard":
        return 0
    if kind == "weight":
        return -1
    return int(kind[4:])


def assemble(a: Assembly) -> None:
    """A row per target measuring it; tier and weighted targets get a shortfall column
    (a fraction of the amount) so that they can fall short at a price."""
    e = a.economy
    targets = e.tables["targets"]
    year_pos = {int(y): i for i, y in enumerate(a.years)}
    records = []
    entries: list[tuple[np.ndarray, np.ndarray]] = []
    held_hard = set(a.fixed.hard_targets) if a.fixed is not None else set()
    released = set(a.fixed.released_targets) if a.fixed is not None else set()
    for row in targets.to_dict(orient="records"):
        if row["id"] in held_hard:
            row = {**row, "kind": "hard", "weight": np.nan}
        elif row["id"] in released:  # measured and reported, no longer enforced
            row = {**row, "kind": "weight", "weight": 0.0}
        year = int(row["year"])
        ti = year_pos.get(year)
        if ti is None:
            continue
        product_ids = (
            (row["product"],)
            if isinstance(row["product"], str)
            else e.sector_products[row["sector"]]
        )
        products = a.product_positions(np.array(product_ids, dtype=object))
        members = (
            e.region_members[row["region"]]
            if isinstance(row["region"], str)
            else tuple(e.region_ids)
        )
        regions = a.region_positions(np.array(members, dtype=object))
        in_regions = np.zeros(a.R, dtype=bool)
        in_regions[regions] = True
        required = float(row["amount"])
        if row["basis"] == "per_head":
            required *= float(a.population[regions, ti].sum())
        cols, coefs = _measure(a, row["measure"], products, in_regions, ti)
        constant = 0.0
        if row["measure"] == "final_use":
            claims = a.claims[ti]
            fixed = claims[
                (claims["category"] != CONSUMPTION)
                & claims["product"].isin(product_ids)
                & claims["region"].isin(members)
            ]
            constant = float(fixed["amount"].sum())
        entries.append((cols, coefs))
        records.append(
            {
                "id": row["id"],
                "product": row["product"],
                "sector": row["sector"],
                "region": row["region"],
                "year": year,
                "measure": row["measure"],
                "sense": row["sense"],
                "kind": row["kind"],
                "tier": tier_of(str(row["kind"])),
                "weight": float(row["weight"]) if pd.notna(row["weight"]) else 0.0,
                "required": required,
                "scale": required if required > 0 else 1.0,
                "constant": constant,
            }
        )
    frame = pd.DataFrame(
        records,
        columns=[
            "id",
            "product",
            "sector",
            "region",
            "year",
            "measure",
            "sense",
            "kind",
            "tier",
            "weight",
            "required",
            "scale",
            "constant",
        ],
    )
    at_least = (frame["sense"] == "at_least").to_numpy()
    goal = frame["required"].to_numpy(dtype=float) - frame["constant"].to_numpy(dtype=float)
    soft = np.flatnonzero(frame["tier"].to_numpy() != 0)
    shortfall = a.lp.add_columns(
        "shortfall",
        frame.loc[soft, ["id"]].rename(columns={"id": "target"}),
        unit="fraction of the target",
    )
    # (measure + sign * scale * shortfall) / row_scale against goal / row_scale. The
    # shortfall is a fraction of the target, so its coefficient is the target's amount
    # (16.5e9 t-km for rail freight) against measure coefficients near 1. Dividing by the
    # amount alone gave 6e-11, which HiGHS drops as zero (small_matrix_value 1e-9); the
    # geometric mean of the two sizes leaves both near the middle of the range.
    scale = frame["scale"].to_numpy(dtype=float)
    largest = np.array([np.abs(coefs).max() if len(coefs) else 1.0 for _, coefs in entries])
    row_scale = np.sqrt(scale * np.where(largest > 0, largest, 1.0))
    rows = a.lp.add_rows(
        "target",
        frame[["id"]].rename(columns={"id": "target"}),
        lower=np.where(at_least, goal / row_scale, -INF),
        upper=np.where(at_least, INF, goal / row_scale),
        unit="product unit / row_scale",
        shape=(len(frame),),
    )
    for i, (cols, coefs) in enumerate(entries):
        a.lp.add(rows.at(np.full(len(cols), i)), cols, coefs / row_scale[i])
    sign = np.where(at_least, 1.0, -1.0)
    a.lp.add(rows.at(soft), shortfall.index, (sign * scale / row_scale)[soft])
    frame["row_scale"] = row_scale
    frame["row"] = rows.index
    column = np.full(len(frame), -1)
    column[soft] = shortfall.index
    frame["shortfall"] = column
    a.targets = frame


def _measure(
    a: Assembly, measure: str, products: np.ndarray, in_regions: np.ndarray, ti: int
) -> tuple[np.ndarray, np.ndarray]:
    """Columns and coefficients that add up what a target counts."""
    year = int(a.years[ti])
    e = a.economy
    if measure in ("production", "final_use"):
        cols_parts, coef_parts = [], []
        outputs = e.outputs(year)[products, :]
        if measure == "production":
            per_process = np.asarray(outputs.sum(axis=0)).ravel()
        else:
            share = a.reserve_share[ti][:, products]  # regions x products
            weighted = (share @ outputs).tocsr()  # regions x processes
            per_process = None
        pick = np.flatnonzero(in_regions[a.pair_region])
        if per_process is not None:
            coefs = per_process[a.pair_process[pick]]
        else:
            # an empty pick indexes the sparse matrix into a (1, 0) matrix, not an array
            coefs = (
                np.asarray(weighted[a.pair_region[pick], a.pair_process[pick]]).ravel()
                if len(pick)
                else np.zeros(0)
            )
        cols_parts.append(a.block("activity").at(ti, pick))
        coef_parts.append(coefs)
        if measure == "final_use":
            basket = a.basket[
                (a.basket["key"] // a.R == ti) & np.isin(a.basket["product"], products)
            ]
            basket = basket[in_regions[basket["key"].to_numpy() % a.R]]
            by_level = basket.groupby("key")["amount"].sum()
            cols_parts.append(
                a.block("consumption").at(np.searchsorted(a.levels, by_level.index.to_numpy()))
            )
            coef_parts.append(by_level.to_numpy(dtype=float))
        return np.concatenate(cols_parts), np.concatenate(coef_parts)
    block = a.lp.columns[measure]
    labels = block.labels
    pick = (
        (labels["year"].to_numpy() == year)
        & np.isin(a.product_positions(labels["product"]), products)
        & in_regions[a.region_positions(labels["region"])]
    )
    cols = block.index[np.flatnonzero(pick)]
    return cols, np.ones(len(cols))


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Hard targets must hold; the plan's stated amounts for every target must be true."""
    targets = e.tables["targets"]
    made = production(e, tables)
    trade = tables["trade"]
    consumption = tables["consumption"]
    population = e.population
    excess, size, labels, stated_error, stated_size = [], [], [], [], []
    planned_table = tables["targets"].set_index("id")["planned"]
    # a target the plan held as hard (one a re-plan must keep) is checked as hard
    stated_kind = tables["targets"].set_index("id").get("kind")
    held_hard = set() if stated_kind is None else set(stated_kind[stated_kind == "hard"].index)
    # a target a re-plan released (of a year wholly past) is a fact, not a constraint
    held = tables.get("fixed_targets")
    released = set() if held is None else set(held.loc[held["held"] == "released", "target"])
    for row in targets.to_dict(orient="records"):
        year = int(row["year"])
        if year not in e.years:
            continue
        products = (
            (row["product"],)
            if isinstance(row["product"], str)
            else e.sector_products[row["sector"]]
        )
        members = (
            e.region_members[row["region"]]
            if isinstance(row["region"], str)
            else tuple(e.region_ids)
        )
        if row["measure"] == "production":
            frame = made
            column = "amount"
        elif row["measure"] in ("imports", "exports"):
            frame = trade
            column = row["measure"]
        else:
            frame = consumption
            column = "amount"
        inside = (
            (frame["year"] == year)
            & frame["product"].isin(products)
            & frame["region"].isin(members)
        )
        planned = float(frame.loc[inside, column].sum())
        if row["measure"] == "final_use":
            claims = final_demand_claims(e, year, made[made["year"] == year])
            fixed = claims[
                (claims["category"] != CONSUMPTION)
                & claims["product"].isin(products)
                & claims["region"].isin(members)
            ]
            planned += float(fixed["amount"].sum())
        required = float(row["amount"])
        if row["basis"] == "per_head":
            required *= (
                float(population.reindex(list(members))[year].sum())
                if year in population.columns
                else 0.0
            )
        stated_error.append(abs(planned - float(planned_table.get(row["id"], np.nan))))
        stated_size.append(max(abs(planned), abs(required)))
        if (row["kind"] != "hard" and row["id"] not in held_hard) or row["id"] in released:
            continue
        excess.append(required - planned if row["sense"] == "at_least" else planned - required)
        size.append(required)
        labels.append(str(row["id"]))
    record(
        "hard targets",
        pd.Series(excess, dtype=float),
        pd.Series(size, dtype=float),
        pd.Series(labels, dtype=object),
    )
    record(
        "target amounts stated",
        pd.Series(stated_error, dtype=float).fillna(np.inf),
        pd.Series(stated_size, dtype=float),
        pd.Series(list(targets["id"]), dtype=object).iloc[: len(stated_error)],
    )


FAMILY = Family(
    "targets",
    (
        Constraint(
            "target",
            ("target",),
            "one more unit of room in the target (a lower floor, a higher ceiling)",
            "product unit",
            ranged=True,
            checks=("hard targets", "target amounts stated"),
        ),
    ),
    assemble,
    check,
    needs=(
        "activity",
        "consumption",
        "imports",
        "exports",
        "pair_process",
        "pair_region",
        "levels",
        "basket",
        "reserve_share",
    ),
    gives=("target", "shortfall", "targets"),
)
