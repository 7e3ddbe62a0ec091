"""The solved plan as tidy tables, read off the labelled columns and rows of the problem."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.plan.assemble import PlanProblem
from econplan.plan.families.registry import CONSTRAINTS, DECLARED, LIMITS
from econplan.plan.solve import Solution, StageResult

ZERO = 1e-9
"""Amounts smaller than this (in the product's unit) are solver noise, written as zero."""


def _values(problem: PlanProblem, x: np.ndarray, block: str) -> tuple[pd.DataFrame, np.ndarray]:
    b = problem.lp.columns[block]
    return b.labels.copy(), x[b.start : b.stop]


def _clean(values: np.ndarray) -> np.ndarray:
    """Noise to zero, -0.0 to 0.0: the same plan gives the same bytes."""
    out = np.where(np.abs(values) < ZERO, 0.0, values)
    return out + 0.0


def plan_tables(problem: PlanProblem, solution: Solution) -> dict[str, pd.DataFrame]:
    """Every table of the plan, sorted by its labels."""
    e = problem.economy
    x = solution.x
    tables: dict[str, pd.DataFrame] = {}

    labels, activity = _values(problem, x, "activity")
    tables["activity"] = labels.assign(activity=_clean(activity))

    # production of every product: outputs of each year times that year's activity
    parts = []
    K = len(problem.pairs)
    pair_process = e.process_ids.get_indexer(pd.Index(problem.pairs["process"]))
    for ti, year in enumerate(e.years):
        level = activity[ti * K : (ti + 1) * K]
        scale = sp.csr_matrix((level, (pair_process, np.arange(K))), shape=(len(e.process_ids), K))
        made = sp.coo_matrix(e.outputs(year) @ scale)
        frame = pd.DataFrame(
            {
                "product": e.product_ids.to_numpy(dtype=object)[made.row],
                "region": problem.pairs["region"].to_numpy(dtype=object)[made.col],
                "year": year,
                "amount": made.data,
            }
        )
        parts.append(frame.groupby(["product", "region", "year"], as_index=False)["amount"].sum())
    production = pd.concat(parts, ignore_index=True)
    production["amount"] = _clean(production["amount"].to_numpy())
    tables["production"] = production[production["amount"] != 0]

    labels, units = _values(problem, x, "investment")
    inv = e.tables["investments"].set_index("id")
    chosen = labels.assign(units=_clean(units))
    chosen = chosen[chosen["units"] > 0]
    option = inv.loc[chosen["option"]]
    facility_region = e.tables["facilities"].set_index("id")["region"]
    region = option["region"].where(
        option["region"].notna(),
        pd.Series(facility_region.reindex(option["facility"]).to_numpy(), index=option.index),
    )
    lead = option["lead_time"].fillna(1).to_numpy(dtype=int)
    tables["investment"] = chosen.assign(
        kind=option["kind"].to_numpy(dtype=object),
        process=option["process"].to_numpy(dtype=object),
        region=region.to_numpy(dtype=object),
        facility=option["facility"].to_numpy(dtype=object),
        capacity=chosen["units"].to_numpy() * option["capacity"].to_numpy(dtype=float),
        ready_year=chosen["start_year"].to_numpy(dtype=int) + lead,
    )

    cap = problem.lp.rows["capacity"]
    cap_labels = cap.labels.copy()
    _, _, _, upper = problem.lp.bounds()
    existing = upper[cap.start : cap.stop]
    row_value = solution.row_activity[cap.start : cap.stop]
    pair_index = pd.MultiIndex.from_frame(problem.pairs[["process", "region"]])
    used = np.zeros(cap.size)
    for ti, year in enumerate(e.years):
        in_year = (cap_labels["year"] == year).to_numpy()
        where = pair_index.get_indexer(
            pd.MultiIndex.from_frame(cap_labels.loc[in_year, ["process", "region"]])
        )
        used[in_year] = activity[ti * K + where]
    added = used - row_value  # capacity row: activity - added capacity <= existing
    total = existing + added
    tables["capacity"] = cap_labels.assign(
        existing=_clean(existing),
        added=_clean(added),
        total=_clean(total),
        activity=_clean(used),
        utilisation=np.divide(used, total, out=np.zeros(cap.size), where=total > ZERO),
    )

    if "shipment" in problem.lp.columns:
        labels, amount = _values(problem, x, "shipment")
        frame = labels.assign(amount=_clean(amount))
        tables["shipments"] = frame[frame["amount"] > 0]
    else:
        tables["shipments"] = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("product", "link", "origin", "destination")}
        ).assign(year=pd.Series(dtype=int), amount=pd.Series(dtype=float))

    trade = []
    for flow in ("imports", "exports"):
        labels, amount = _values(problem, x, flow)
        trade.append(labels.assign(flow=flow, amount=_clean(amount)))
    frame = pd.concat(trade, ignore_index=True)
    frame = frame[frame["amount"] > 0]
    wide = frame.pivot_table(
        index=["product", "region", "year"], columns="flow", values="amount", aggfunc="sum"
    )
    wide = wide.reindex(columns=["imports", "exports"]).fillna(0.0).reset_index()
    wide.columns.name = None
    tables["trade"] = wide

    labels, stock = _values(problem, x, "stock")
    frame = labels.assign(stock=_clean(stock))
    tables["stocks"] = frame[frame["stock"] > 0]

    labels, draw = _values(problem, x, "draw")
    resources = labels.assign(draw=_clean(draw))
    res = e.tables["resources"].set_index(["region", "product"])
    keys = pd.MultiIndex.from_frame(resources[["region", "product"]])
    kind = res["kind"].reindex(keys).to_numpy(dtype=object)
    resources["kind"] = kind
    stock_labels, stock_values = _values(problem, x, "resource_stock")
    renewable_stock = pd.Series(
        _clean(stock_values),
        index=pd.MultiIndex.from_frame(stock_labels[["product", "region", "year"]]),
    )
    start = res["stock"].reindex(keys).to_numpy(dtype=float)
    taken = resources.groupby(["product", "region"])["draw"].cumsum().to_numpy()
    remaining = np.where(kind == "deposit", start - taken, np.nan)
    index = pd.MultiIndex.from_frame(resources[["product", "region", "year"]])
    remaining = np.where(kind == "renewable", renewable_stock.reindex(index).to_numpy(), remaining)
    resources["stock"] = remaining
    tables["resources"] = resources

    labels, level = _values(problem, x, "consumption")
    levels = labels.assign(level=_clean(level))
    population = e.population
    persons = np.array(
        [
            population.at[r, y] if y in population.columns else 0.0
            for r, y in zip(levels["region"], levels["year"], strict=True)
        ],
        dtype=float,
    )
    levels["persons"] = persons
    tables["consumption_level"] = levels
    bal = problem.lp.rows["balance"]
    column = problem.lp.columns["consumption"]
    basket = problem.matrix[bal.start : bal.stop, column.start : column.stop].tocoo()
    amounts = -basket.data * levels["level"].to_numpy()[basket.col]
    rows = bal.labels.iloc[basket.row].reset_index(drop=True)
    consumed = rows.assign(
        amount=_clean(amounts),
        per_head=_clean(amounts / np.maximum(persons[basket.col], 1.0)),
    )
    tables["consumption"] = consumed

    tables["targets"] = target_table(problem, solution)
    if problem.fixed is not None:
        tables.update(problem.fixed.tables())
    if "discrepancy" in problem.lp.columns:
        labels, short = _values(problem, x, "discrepancy")
        found = labels.assign(amount=_clean(short))
        tables["discrepancy"] = found[found["amount"] != 0].reset_index(drop=True)
    tables["valuations"] = valuation_table(problem, solution.stages)
    tables["bottlenecks"] = bottlenecks(
        tables["valuations"],
        scale={r.stage.name: r.value for r in solution.stages},
        tolerance=problem.tolerance,
    )
    return {name: _sorted(frame) for name, frame in tables.items()}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in frame.columns if frame[c].dtype == object or c in ("year", "start_year")]
    keys = [c for c in keys if c not in ("kind", "sense", "measure", "unit", "meaning")]
    if keys:
        frame = frame.sort_values(keys, kind="stable", na_position="first")
    return frame.reset_index(drop=True)


def target_table(problem: PlanProblem, solution: Solution) -> pd.DataFrame:
    """Each target with what it asks (required) and what the plan gives (planned)."""
    targets = problem.targets
    rows = targets["row"].to_numpy()
    scale = targets["scale"].to_numpy(dtype=float)
    # a target row holds (measure + sign * scale * shortfall) / row_scale
    value = solution.row_activity[rows] * targets["row_scale"].to_numpy(dtype=float)
    soft = targets["shortfall"].to_numpy() >= 0
    at_least = (targets["sense"] == "at_least").to_numpy()
    shortfall_value = np.where(
        soft, solution.x[np.maximum(targets["shortfall"].to_numpy(), 0)], 0.0
    )
    measured = value - np.where(at_least, 1.0, -1.0) * scale * shortfall_value
    planned = measured + targets["constant"].to_numpy(dtype=float)
    required = targets["required"].to_numpy(dtype=float)
    gap = np.where(at_least, required - planned, planned - required)
    met = gap <= problem.tolerance * np.maximum(np.abs(required), 1.0)
    return pd.DataFrame(
        {
            "id": targets["id"],
            "product": targets["product"],
            "sector": targets["sector"],
            "region": targets["region"],
            "year": targets["year"],
            "measure": targets["measure"],
            "sense": targets["sense"],
            "kind": targets["kind"],
            "required": required,
            "planned": _clean(planned),
            "fulfilment": np.divide(
                planned, required, out=np.ones(len(targets)), where=required > 0
            ),
            "met": met,
        }
    )


def valuation_table(problem: PlanProblem, stages: tuple[StageResult, ...]) -> pd.DataFrame:
    """The dual value of every limit, balance and target in every stage, as what one more
    unit of it would add to (or save from) that stage's objective."""
    lp = problem.lp
    _, _, row_lower, row_upper = lp.bounds()
    row_scale = problem.targets["row_scale"].to_numpy(dtype=float)
    products = problem.economy.tables["products"].set_index("id")
    kinds = products["kind"]
    units = products["unit"]
    parts = []
    for result in stages:
        if result.stage.column < 0:
            continue
        for name, (meaning, unit) in CONSTRAINTS.items():
            if name == "min_stock":
                block = lp.columns.get("resource_stock")
                if block is None or block.size == 0:
                    continue
                # a column bound: the reduced cost is what relaxing it is worth
                dual = result.col_dual[block.start : block.stop]
                value = _unfaced(dual.copy(), result.faced_columns, block.start)
                labels = block.labels
            elif name == "fixed":
                if problem.fixed is None:
                    continue
                # column bounds too: whichever bound holds, its reduced cost in size is what
                # one more unit of room there would gain
                block = lp.columns["activity"]
                at = pd.MultiIndex.from_frame(block.labels).get_indexer(
                    pd.MultiIndex.from_frame(problem.fixed.activity[list(block.labels.columns)])
                )
                at = at[at >= 0]
                value = np.abs(result.col_dual[block.start + at])
                value[np.isin(block.start + at, result.faced_columns)] = np.nan
                labels = block.labels.iloc[at]
            else:
                block = lp.rows.get(name)
                if block is None or block.size == 0:
                    continue
                dual = result.row_dual[block.start : block.stop]
                lower_only = ~np.isfinite(row_upper[block.start : block.stop])
                value = _unfaced(np.where(lower_only, dual, -dual), result.faced_rows, block.start)
                low, high, room = _ranges(result, block.start, block.stop, row_lower, row_upper)
                if name == "target":
                    value = value / row_scale  # per product unit
                    constant = problem.targets["constant"].to_numpy(dtype=float)
                    low, high = low * row_scale + constant, high * row_scale + constant
                    room = room * row_scale
                labels = block.labels
            frame = _generic(labels, name)
            if name == "balance":
                kind = kinds.reindex(frame["item"]).to_numpy(dtype=object)
                frame["constraint"] = np.where(kind == "labour", "labour", "balance")
                frame["unit"] = units.reindex(frame["item"]).to_numpy(dtype=object)
            else:
                frame["unit"] = unit
            if result.stage.sense == "max":
                pass  # the stage minimised minus its column: the sign is already a gain
            frame["valuation"] = _clean(value)
            if DECLARED[name].bound:  # column bounds: not ranged
                low = high = room = np.full(len(frame), np.nan)
            frame["range_low"], frame["range_high"] = low, high
            frame["gain"] = np.abs(frame["valuation"].to_numpy()) * room
            frame["stage"] = result.stage.name
            frame["per"] = f"{result.stage.unit} per unit"
            frame["meaning"] = meaning
            parts.append(frame)
    columns = [
        "stage",
        "constraint",
        "item",
        "region",
        "destination",
        "year",
        "valuation",
        "unit",
        "per",
        "range_low",
        "range_high",
        "gain",
        "meaning",
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    table = pd.concat(parts, ignore_index=True)
    order = {s.stage.name: i for i, s in enumerate(stages)}
    table["_stage"] = pd.Index(list(order)).get_indexer(
        pd.Index(table["stage"].to_numpy(dtype=object))
    )
    table = table.sort_values(
        ["_stage", "constraint", "item", "region", "destination", "year"],
        kind="stable",
        na_position="first",
    )
    return table[columns].reset_index(drop=True)


def _unfaced(value: np.ndarray, faced: np.ndarray, start: int) -> np.ndarray:
    """``value`` (a block's valuations from ``start``) without those an earlier stage's
    optimal face holds at their bound (``hold="face"``): NaN, since such a valuation prices a
    move that keeps the limit binding and every earlier optimum exact, not the limit itself;
    the limit's price is in the stage whose face fixed it."""
    at = faced[(faced >= start) & (faced < start + len(value))] - start
    value[at] = np.nan
    return value


def _ranges(
    result: StageResult, start: int, stop: int, row_lower: np.ndarray, row_upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the rows start..stop in one stage: the values between which the row's bound may
    lie with its valuation unchanged (NaN where not ranged: no valuation, or no basis), and
    the room to relax it over that range (raising a ceiling, lowering a floor)."""
    size = stop - start
    down = np.full(size, np.nan)
    up = np.full(size, np.nan)
    inside = (result.ranged >= start) & (result.ranged < stop)
    down[result.ranged[inside] - start] = result.range_down[inside]
    up[result.ranged[inside] - start] = result.range_up[inside]
    lower, upper = row_lower[start:stop], row_upper[start:stop]
    floor_only = ~np.isfinite(upper)
    bound = np.where(floor_only, lower, upper)
    dual = result.row_dual[start:stop]
    # a floor is relaxed downwards; a ceiling, or an equality whose valuation says more is
    # worth having, upwards
    downwards = floor_only | (np.isfinite(lower) & (lower == upper) & (dual > 0))
    room = np.where(downwards, -down, up)
    return bound + down, bound + up, room


def _generic(labels: pd.DataFrame, name: str) -> pd.DataFrame:
    """A block's labels as item, region, destination, year."""
    n = len(labels)
    item_column = next(
        (c for c in ("product", "process", "option", "link", "target") if c in labels.columns), None
    )
    item = (
        labels[item_column].to_numpy(dtype=object) if item_column else np.full(n, "", dtype=object)
    )
    if name == "link":
        region = labels["origin"].to_numpy(dtype=object)
        destination = labels["destination"].to_numpy(dtype=object)
    else:
        region = (
            labels["region"].to_numpy(dtype=object)
            if "region" in labels.columns
            else np.full(n, "", dtype=object)
        )
        destination = np.full(n, "", dtype=object)
    year = (
        labels["year"].to_numpy(dtype=int) if "year" in labels.columns else np.zeros(n, dtype=int)
    )
    return pd.DataFrame(
        {
            "constraint": name,
            "item": item,
            "region": region,
            "destination": destination,
            "year": year,
        }
    )


def bottlenecks(
    valuations: pd.DataFrame,
    top: int | None = None,
    scale: Mapping[str, float] | None = None,
    tolerance: float = 0.0,
) -> pd.DataFrame:
    """The binding limits, stage by stage (the first stages matter most), each ranked by
    what relaxing it over its range of validity would gain its stage's objective (``gain``),
    then by its valuation (the gain of one more unit).

    A limit binds when one more unit of it is worth more than ``tolerance`` of its stage's
    objective (``scale``, at least 1): the stages are held within that tolerance, so less is
    solver noise (a valuation of 2e-8 on a level near 1 is not a bottleneck)."""
    scale = scale or {}
    # one floor per stage, spread over its rows (a lookup per row was 3.5 s at 10,000
    # products)
    stage_of = pd.Index(valuations["stage"].to_numpy(dtype=object))
    named = pd.unique(stage_of.to_numpy())
    floors = np.array(
        [max(ZERO, tolerance * max(abs(scale.get(stage, 1.0)), 1.0)) for stage in named],
        dtype=float,
    )
    floor: np.ndarray = floors[pd.Index(named).get_indexer(stage_of)]
    limits: pd.DataFrame = valuations[
        valuations["constraint"].isin([*LIMITS, "labour"]).to_numpy()
        & (valuations["valuation"].to_numpy(dtype=float) > floor)
    ].copy()
    stages = pd.Index(pd.unique(valuations["stage"].to_numpy(dtype=object)))
    limits["_stage"] = stages.get_indexer(pd.Index(limits["stage"].to_numpy(dtype=object)))
    limits["_gain"] = limits["gain"].fillna(-1.0)  # unranged after ranged
    limits = limits.sort_values(
        ["_stage", "_gain", "valuation"], ascending=[True, False, False], kind="stable"
    ).drop(columns="_gain")
    limits["rank"] = limits.groupby("stage").cumcount() + 1
    if top is not None:
        limits = limits[limits["rank"] <= top]
    return limits.drop(columns="_stage").reset_index(drop=True)
