"""Verification of a plan against its economy, independent of the LP.

Every balance, capacity, investment limit, link, trade cap, foreign-exchange limit, resource
limit, labour limit, hard target and bound the plan was made to keep (its ``fixed_activity``
and ``fixed_investment`` tables, when it has them) is recomputed from the plan's tables (activity,
investment, shipments, trade, stocks, resources, consumption levels) and the economy's own
tables, with pandas group-bys rather than the problem's matrix, so a mistake in assembling the
problem, a solver's tolerance or a table altered after the solve shows up as a violation.

A violation is relative: how far the constraint is broken, divided by the size of what it
holds (the larger of its bound and its gross flows, and at least 1 unit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from econplan.analysis.balance import material_balance
from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.assemble import CONSUMPTION, trade_in_force
from econplan.plan.claims import BLOCK, claim_violations
from econplan.plan.claims import KEY as KEY_CLAIMS
from econplan.plan.flows import KEY, carried, look, plan_flows, production


@dataclass(frozen=True)
class Verification:
    checks: pd.DataFrame
    """One row per check: check, count (constraints checked), max_violation, worst (what
    is most violated)."""

    @property
    def max_violation(self) -> float:
        return float(self.checks["max_violation"].max()) if len(self.checks) else 0.0

    def ok(self, limit: float = 1e-6) -> bool:
        return self.max_violation <= limit

    def to_dict(self) -> dict[str, object]:
        return {
            "max_violation": self.max_violation,
            "checks": {
                str(check): {"count": int(count), "max_violation": float(worst), "worst": what}
                for check, count, worst, what in zip(
                    self.checks["check"],
                    self.checks["count"],
                    self.checks["max_violation"],
                    self.checks["worst"],
                    strict=True,
                )
            },
        }


def _violation(excess: pd.Series, size: pd.Series, labels: pd.Series) -> tuple[float, str]:
    """The largest relative excess and what it is."""
    if len(excess) == 0:
        return 0.0, ""
    relative: np.ndarray = np.nan_to_num(
        (excess.clip(lower=0) / np.maximum(size.abs(), 1.0)).to_numpy(dtype=float), nan=np.inf
    )
    worst = int(np.argmax(relative))
    return float(relative[worst]), str(labels.iloc[worst]) if relative[worst] > 0 else ""


def _label(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    text = frame[columns[0]].astype(str)
    for column in columns[1:]:
        text = text + " " + frame[column].astype(str)
    return text


PLAN_TABLES: dict[str, dict[str, str]] = {
    "activity": {"process": "process", "region": "region", "year": "year", "activity": "amount"},
    "investment": {
        "option": "option",
        "start_year": "integer",
        "units": "amount",
        "process": "any",
        "region": "any",
        "facility": "any",
        "ready_year": "integer",
    },
    "shipments": {
        "product": "product",
        "link": "link",
        "origin": "region",
        "destination": "region",
        "year": "year",
        "amount": "amount",
    },
    "trade": {
        "product": "product",
        "region": "region",
        "year": "year",
        "imports": "amount",
        "exports": "amount",
    },
    "stocks": {"product": "product", "region": "region", "year": "year", "stock": "amount"},
    "resources": {"product": "product", "region": "region", "year": "year", "draw": "amount"},
    "consumption": {"product": "product", "region": "region", "year": "year", "amount": "amount"},
    "consumption_level": {"region": "region", "year": "year", "level": "amount"},
    "targets": {"id": "target", "planned": "amount"},
}
"""The plan tables verification reads, their columns and what each column holds. The columns
that name things (all but amounts) are the table's key: each combination appears once."""


def table_problems(economy: Economy, tables: dict[str, pd.DataFrame]) -> list[str]:
    """What makes ``tables`` unfit to be verified as a plan of ``economy``: a missing table or
    column, text where numbers belong, numbers that are not finite, names the economy does not
    know, a key that appears twice. Empty when verification can run."""
    e = economy
    known: dict[str, set[str]] = {
        kind: set(e.tables[table]["id"].astype(str))
        for kind, table in (
            ("process", "processes"),
            ("region", "regions"),
            ("product", "products"),
            ("option", "investments"),
            ("link", "links"),
            ("target", "targets"),
        )
    }
    known["year"] = {str(year) for year in e.years}
    problems: list[str] = []
    for name, columns in PLAN_TABLES.items():
        frame = tables.get(name)
        if frame is None:
            problems.append(f"{name}: the table is missing")
            continue
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            problems.append(f"{name}: no column {', '.join(absent)}")
            continue
        for column, kind in columns.items():
            values = frame[column]
            if kind in ("amount", "integer", "year"):
                if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                    problems.append(f"{name}.{column}: holds {values.dtype}, not numbers")
                    continue
                bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
                if bad.any():
                    problems.append(
                        f"{name}.{column}: {int(bad.sum())} value(s) missing or not finite"
                    )
                    continue
            if kind in known:
                unknown = sorted(set(values.dropna().astype(str)) - known[kind])
                if unknown or values.isna().any():
                    what = ", ".join(unknown[:3]) if unknown else "an empty cell"
                    problems.append(f"{name}.{column}: {what}, not a {kind} of the economy")
        keys = [c for c, kind in columns.items() if kind not in ("amount", "any")]
        if not problems and frame.duplicated(keys).any():
            twice = frame[frame.duplicated(keys)].iloc[0][keys].tolist()
            problems.append(f"{name}: {' '.join(map(str, twice))} appears more than once")
    if not problems:
        problems += _investment_problems(e, tables["investment"])
    return problems


def _investment_problems(e: Economy, investment: pd.DataFrame) -> list[str]:
    """What a plan says an option builds (process, region, facility, year ready) must be what
    the economy says: verification counts capacity from these columns."""
    options = e.tables["investments"].set_index("id").reindex(investment["option"])
    facility_region = e.tables["facilities"].set_index("id")["region"]
    region = options["region"].where(
        options["region"].notna(),
        pd.Series(facility_region.reindex(options["facility"]).to_numpy(), index=options.index),
    )
    expected = {
        "process": options["process"].to_numpy(dtype=object),
        "region": region.to_numpy(dtype=object),
        "facility": options["facility"].to_numpy(dtype=object),
        "ready_year": investment["start_year"].to_numpy(dtype=float)
        + options["lead_time"].fillna(1).to_numpy(dtype=float),
    }
    for column, wanted in expected.items():
        found = investment[column].to_numpy(dtype=object)
        differs = [
            i
            for i, (a, b) in enumerate(zip(found, wanted, strict=True))
            if not (pd.isna(a) and pd.isna(b)) and str(a) != str(b) and a != b
        ]
        if differs:
            i = differs[0]
            return [
                f"investment.{column}: option {investment['option'].iloc[i]} is said to give "
                f"{found[i]!r}, where the economy says {wanted[i]!r}"
            ]
    return []


def verify(economy: Economy, tables: dict[str, pd.DataFrame]) -> Verification:
    """Recompute every constraint of the plan in ``tables`` and measure what is broken."""
    e = economy
    rows: list[tuple[str, int, float, str]] = []

    def record(check: str, excess: pd.Series, size: pd.Series, labels: pd.Series) -> None:
        worst, what = _violation(excess, size, labels)
        rows.append((check, len(excess), worst, what))

    # non-negativity of what cannot be negative
    for table, column in (
        ("activity", "activity"),
        ("investment", "units"),
        ("shipments", "amount"),
        ("trade", "imports"),
        ("trade", "exports"),
        ("stocks", "stock"),
        ("consumption_level", "level"),
        ("discrepancy", "amount"),
        (BLOCK, "shortfall"),
    ):
        if table not in tables:  # discrepancy: a re-plan's, when it closed a year
            continue
        frame = tables[table]
        record(
            f"non-negative {table}.{column}",
            -frame[column],
            frame[column] * 0,
            _label(frame, list(frame.columns[:3])),
        )

    # balances (labour separately): supply minus use >= 0
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

    # capacity: activity <= facilities open + investments ready - renovated away
    record_capacity(e, tables, record)
    record_terminal(e, tables, record)
    record_ramp(e, tables, record)

    # investment: at most max_units of each option, started in allowed years
    investment = tables["investment"]
    options = e.tables["investments"].set_index("id")
    units = investment.groupby("option")["units"].sum()
    allowed = options["max_units"].fillna(1.0).reindex(units.index)
    record("investment limit", units - allowed, allowed, pd.Series(units.index, index=units.index))
    first = (
        options["first_year"].fillna(e.settings.first_year).reindex(investment["option"]).to_numpy()
    )
    last = (
        options["last_year"].fillna(e.settings.last_year).reindex(investment["option"]).to_numpy()
    )
    start = investment["start_year"].to_numpy()
    # and ready within the horizon (lead time 1 when blank, as assembled): a bill spread past
    # the last year would fall outside the plan
    lead = options["lead_time"].fillna(1).reindex(investment["option"]).to_numpy()
    # ready within the horizon, or the year after it where a terminal condition asks for it
    end = e.settings.last_year + (0 if e.settings.terminal_growth is None else 1)
    late = start + lead > end
    outside = ((start < first) | (start > last) | late) & (investment["units"].to_numpy() > 0)
    # a start outside the option's years is broken outright, whatever its size
    record(
        "investment years",
        pd.Series(np.where(outside, np.inf, 0.0)),
        pd.Series(np.ones(len(start))),
        _label(investment, ["option", "start_year"]),
    )

    # options built in whole units: whole units in every start year
    whole = options["integer"].fillna(False).astype(bool).reindex(investment["option"])
    started = investment[whole.to_numpy(dtype=bool)]
    record(
        "whole units",
        (started["units"] - started["units"].round()).abs(),
        pd.Series(np.ones(len(started)), index=started.index),
        _label(started, ["option", "start_year"]),
    )

    # links: mass carried each way each year within capacity
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

    # trade: caps and foreign exchange
    trade = tables["trade"]
    spending = []
    for year in e.years:
        terms = trade_in_force(e, year)
        here = trade[trade["year"] == year]
        total = here.groupby("product")[["imports", "exports"]].sum()
        for flow, price, cap in (
            ("imports", "import_price", "import_cap"),
            ("exports", "export_price", "export_cap"),
        ):
            amount = total[flow]
            amount = amount[amount > 0]
            cap_values = terms[cap].reindex(amount.index)
            priced = terms[price].reindex(amount.index)
            record(
                f"{flow} allowed",
                amount.where(priced.isna(), 0.0),
                amount,
                pd.Series(amount.index + f" {year}", index=amount.index),
            )
            capped = cap_values.notna()
            record(
                f"{flow} cap",
                (amount - cap_values)[capped],
                cap_values[capped],
                pd.Series(amount.index + f" {year}", index=amount.index)[capped],
            )
        paid = float(
            (total["imports"] * terms["import_price"].reindex(total.index).fillna(0.0)).sum()
        )
        earned = float(
            (total["exports"] * terms["export_price"].reindex(total.index).fillna(0.0)).sum()
        )
        spending.append(
            (
                year,
                paid - earned - e.settings.credit_line,
                max(paid, earned, e.settings.credit_line),
            )
        )
    fx = pd.DataFrame(spending, columns=["year", "excess", "size"])
    record("foreign exchange", fx["excess"], fx["size"], fx["year"].astype(str))

    # natural resources
    record_resources(e, tables, record)

    # the consumption basket: its level where the economy fixes it, and what the plan states
    record_consumption(e, tables, record)

    # hard targets
    record_targets(e, tables, record)

    # what the plan was made to keep (a re-plan's facts)
    record_fixed(tables, record)

    # soft claims: a shortfall the plan states is allowed up to the soft claim, no further
    if BLOCK in tables:
        found = claim_violations(e, tables)
        record("claim shortfall", found["excess"], found["size"], _label(found, KEY_CLAIMS))

    found = pd.DataFrame(rows, columns=["check", "count", "max_violation", "worst"])
    # one line per check: the counts add up, the worst of its parts is its worst
    worst = found.sort_values("max_violation", ascending=False, kind="stable")
    worst = worst.drop_duplicates("check").set_index("check")
    checks = pd.DataFrame(found.groupby("check", sort=False, as_index=False)["count"].sum())
    checks["max_violation"] = worst["max_violation"].reindex(checks["check"]).to_numpy()
    checks["worst"] = worst["worst"].reindex(checks["check"]).to_numpy()
    return Verification(checks)


def record_capacity(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    capacity = capacity_in(e, tables, e.years)
    activity = tables["activity"].groupby(["process", "region", "year"])["activity"].sum()
    capped_processes = set(facilities["process"]) | set(options["process"])
    capped = activity[activity.index.get_level_values("process").isin(capped_processes)]
    limit = capacity.reindex(capped.index).fillna(0.0)
    labels = pd.Series([" ".join(map(str, k)) for k in capped.index], index=capped.index)
    record("capacity", capped - limit, limit, labels)


def record_terminal(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    """With a terminal condition, each process an option can build has, the year after the
    horizon, capacity of at least (1 + growth) times its activity in the last plan year."""
    growth = e.settings.terminal_growth
    if growth is None:
        return
    after = e.settings.last_year + 1
    processes = pd.Index(e.tables["investments"]["process"].unique())
    capacity = capacity_in(e, tables, (after,)).groupby(level="process").sum()
    activity = tables["activity"]
    last = activity[activity["year"] == e.settings.last_year].groupby("process")["activity"].sum()
    need = (1.0 + growth) * last.reindex(processes).fillna(0.0)
    have = capacity.reindex(processes).fillna(0.0)
    record(
        "terminal capacity",
        need - have,
        np.maximum(need.abs(), have.abs()),
        pd.Series([f"{p} {after}" for p in processes], index=processes),
    )


def record_ramp(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    """With a ramp, each process's activity in a region rises from one year to the next (the
    base year before the first) by at most the ramp's share of its capacity the year before,
    besides the capacity that comes into use: activity[t] - activity[t - 1] <=
    capacity[t] - (1 - ramp) capacity[t - 1]; a year a re-plan holds as facts is exempt."""
    share = e.settings.ramp
    if share is None:
        return
    facilities = e.tables["facilities"]
    options = e.tables["investments"]
    region = options["region"].copy()
    renovates = options["facility"].notna()
    region[renovates] = (
        facilities.set_index("id")["region"].reindex(options.loc[renovates, "facility"]).to_numpy()
    )
    pairs = pd.MultiIndex.from_frame(
        pd.concat(
            [
                facilities[["process", "region"]],
                pd.DataFrame({"process": options["process"], "region": region}),
            ]
        ).drop_duplicates()
    )
    years = (e.settings.base_year, *e.years)
    grid = pairs.to_frame(index=False).merge(pd.DataFrame({"year": years}), how="cross")
    at = pd.MultiIndex.from_frame(grid)
    shape = (len(pairs), len(years))
    capacity = capacity_in(e, tables, years).groupby(level=["process", "region", "year"]).sum()
    cap = capacity.reindex(at).fillna(0.0).to_numpy(dtype=float).reshape(shape)
    activity = tables["activity"].groupby(["process", "region", "year"])["activity"].sum()
    act = activity.reindex(at).fillna(0.0).to_numpy(dtype=float, copy=True).reshape(shape)
    # before the first plan year: the base year's activity, its facilities' base output
    base_activity = (
        pd.Series(e.base_output.to_numpy(dtype=float), index=facilities.index)
        .groupby([facilities["process"], facilities["region"]])
        .sum()
    )
    act[:, 0] = base_activity.reindex(pairs).fillna(0.0).to_numpy(dtype=float)
    room = cap[:, 1:] - (1.0 - share) * cap[:, :-1]
    excess = act[:, 1:] - act[:, :-1] - room
    size = np.maximum.reduce([cap[:, 1:], np.abs(act[:, 1:]), np.abs(act[:, :-1])])
    planned = grid[grid["year"] != years[0]].reset_index(drop=True)
    facts = tables.get("fixed_activity")
    if facts is not None:
        held = facts.loc[facts["lower"] == facts["upper"], ["process", "region", "year"]]
        planned = planned.assign(
            held=pd.MultiIndex.from_frame(planned).isin(
                pd.MultiIndex.from_frame(held.astype({"year": int}))
            )
        )
    else:
        planned = planned.assign(held=False)
    keep = ~planned["held"].to_numpy(dtype=bool)
    labels = planned["process"].astype(str) + " " + planned["region"].astype(str)
    labels = labels + " " + planned["year"].astype(str)
    record(
        "ramp",
        pd.Series(excess.ravel()[keep]),
        pd.Series(np.maximum(size.ravel()[keep], 1e-9)),
        labels[keep].reset_index(drop=True),
    )


def capacity_in(e: Economy, tables: dict[str, pd.DataFrame], years: Iterable[int]) -> pd.Series:
    """Capacity by process, region and year, recomputed from the economy and the plan's
    investment table: facilities open that year, options ready by then, less what a
    renovation to another process takes from its old facility."""
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    investment = tables["investment"]
    facility_table = facilities.set_index("id")
    parts = []
    for year in years:
        open_ = facilities[e.operating(year).to_numpy()]
        parts.append(
            open_[["process", "region"]].assign(year=year, capacity=open_["capacity"].to_numpy())
        )
        ready = investment[investment["ready_year"] <= year]
        if len(ready):
            lead_ok = (
                ready["start_year"]
                + options["lead_time"].fillna(1).reindex(ready["option"]).to_numpy()
                <= year
            )
            ready = ready[lead_ok.to_numpy()]
            per_unit = options["capacity"].reindex(ready["option"]).to_numpy()
            parts.append(
                ready[["process", "region"]].assign(
                    year=year, capacity=ready["units"].to_numpy() * per_unit
                )
            )
            facility = ready["facility"]
            switch = facility.notna().to_numpy() & (
                look(facility, facility_table["process"]) != ready["process"].to_numpy()
            )
            gone = ready[switch]
            if len(gone):
                old = facility_table.loc[gone["facility"]]
                operating = e.operating(year).reindex(gone["facility"]).to_numpy()
                share = (
                    old["capacity"].to_numpy()
                    / options["max_units"].fillna(1.0).reindex(gone["option"]).to_numpy()
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "process": old["process"].to_numpy(dtype=object),
                            "region": old["region"].to_numpy(dtype=object),
                            "year": year,
                            "capacity": -share * gone["units"].to_numpy() * operating,
                        }
                    )
                )
    capacity: pd.Series = (
        pd.concat(parts, ignore_index=True).groupby(["process", "region", "year"])["capacity"].sum()
    )
    return capacity


def record_resources(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    res = e.tables["resources"].set_index(["region", "product"])
    draws = (
        tables["resources"]
        .pivot_table(index=["region", "product"], columns="year", values="draw", aggfunc="sum")
        .reindex(columns=list(e.years))
        .fillna(0.0)
    )
    draws = draws.reindex(res.index).fillna(0.0)
    labels = pd.Series([" ".join(k) for k in res.index], index=res.index)
    kind = res["kind"]
    limit = res["yearly_limit"]
    for year in e.years:
        limited = limit.notna()
        record(
            "resource yearly limit",
            (draws[year] - limit)[limited],
            limit[limited],
            labels[limited] + f" {year}",
        )
        negative = kind != "renewable"
        record(
            "resource draw non-negative",
            -draws[year][negative],
            draws[year][negative] * 0,
            labels[negative] + f" {year}",
        )
    deposit = (kind == "deposit") & res["stock"].notna()
    total = draws.sum(axis=1)
    record("deposit", (total - res["stock"])[deposit], res["stock"][deposit], labels[deposit])
    renewable = kind == "renewable"
    stock = res["stock"].fillna(0.0)[renewable]
    growth = res["regrowth_rate"].fillna(0.0)[renewable]
    minimum = res["min_stock"].fillna(0.0)[renewable]
    for year in e.years:
        stock = (1.0 + growth) * stock - draws[year][renewable]
        record("renewable minimum stock", minimum - stock, minimum, labels[renewable] + f" {year}")


def record_consumption(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    """The level of the consumption basket of every region and year that has one: present in
    the plan (a missing level would count as no consumption at all), exactly 1 where the
    economy's objective is labour (the norms must be met, no more and no less); and the
    ``consumption`` table, which readers take as what people get, equal to the basket at
    that level."""
    levels = tables["consumption_level"].set_index(["region", "year"])["level"]
    fixed = e.settings.objective != CONSUMPTION
    wanted = []
    for year in e.years:
        claims = final_demand_claims(e, year)
        basket = claims[claims["category"] == CONSUMPTION]
        if len(basket) == 0:
            continue
        keys = pd.MultiIndex.from_arrays(
            [basket["region"].to_numpy(dtype=object), np.full(len(basket), year)]
        )
        level = levels.reindex(keys).to_numpy(dtype=float)
        wanted.append(basket.assign(year=year, amount=basket["amount"].to_numpy() * level))
        has = pd.Index(basket["region"].unique())
        found = levels.reindex(pd.MultiIndex.from_arrays([has, np.full(len(has), year)]))
        labels = pd.Series([f"{region} {year}" for region in has])
        record(
            "consumption level present",
            pd.Series(np.where(found.isna().to_numpy(), np.inf, 0.0)),
            pd.Series(np.ones(len(has))),
            labels,
        )
        if fixed:
            gap = (found.fillna(1.0) - 1.0).abs().reset_index(drop=True)
            record("consumption level fixed at 1", gap, pd.Series(np.ones(len(has))), labels)
    growth = e.settings.consumption_growth
    if growth is not None and e.settings.objective == CONSUMPTION:
        # every region's level at least (1 + growth) times its level the year before
        table = tables["consumption_level"]
        inhabited = table[table["persons"] > 0]
        if inhabited.empty:  # no population given: every region's basket counts (as assembled)
            inhabited = table
        before = inhabited.assign(year=inhabited["year"] + 1)
        pairs = inhabited.merge(before, on=["region", "year"], suffixes=("", "_before"))
        record(
            "consumption growth",
            (1.0 + growth) * pairs["level_before"] - pairs["level"],
            pairs["level"],
            _label(pairs, ["region", "year"]),
        )
    if not wanted:
        return
    total = pd.concat(wanted, ignore_index=True).groupby(KEY)["amount"].sum()
    stated = tables["consumption"].groupby(KEY)["amount"].sum()
    both = total.index.union(stated.index)
    want = total.reindex(both).fillna(np.inf)  # a stated amount of nothing: broken outright
    said = stated.reindex(both).fillna(0.0)
    record(
        "consumption amounts stated",
        (want - said).abs().where(np.isfinite(want), np.inf),
        np.maximum(want.where(np.isfinite(want), 0.0).abs(), said.abs()),
        pd.Series([" ".join(map(str, k)) for k in both], index=both),
    )


def record_targets(e: Economy, tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
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


def record_fixed(tables: dict[str, pd.DataFrame], record) -> None:  # type: ignore[no-untyped-def]
    """Activity and investment starts within the bounds the plan was made to keep."""
    for name, table, key, column in (
        ("fixed_activity", "activity", ["process", "region", "year"], "activity"),
        ("fixed_investment", "investment", ["option", "start_year"], "units"),
    ):
        bounds = tables.get(name)
        if bounds is None:
            continue
        # an investment not started is not in the plan's table: zero units
        value = tables[table].groupby(key)[column].sum()
        index = pd.MultiIndex.from_frame(bounds[key])
        found = pd.Series(value.reindex(index).fillna(0.0).to_numpy(), index=bounds.index)
        lower, upper = bounds["lower"], bounds["upper"]
        labels = _label(bounds, key)
        size = np.maximum(lower.abs(), upper.where(np.isfinite(upper), lower).abs())
        record(name.replace("_", " "), lower - found, pd.Series(size), labels)
        record(name.replace("_", " "), found - upper, pd.Series(size), labels)
