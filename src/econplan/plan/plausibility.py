"""Does the plan read as an economist would sign it? Output nothing uses, targets met by such
output, goods shipped both ways, jumps in output, capacity run far from the base year's pace:
each found above a stated threshold and flagged, with its reason where one is known.

Pure functions over an economy and a plan's tables. The flows are those verification checks
(:func:`econplan.plan.flows.plan_flows` through
:func:`econplan.analysis.balance.material_balance`), not a second derivation of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from econplan.analysis.balance import Balance, base_year_flows, material_balance
from econplan.model.economy import Economy
from econplan.plan.flows import KEY, plan_flows

if TYPE_CHECKING:
    from econplan.plan.output import Plan

UNUSED_NOISE = 1e-6
"""Leftover below this share of a balance's gross flows (sources plus uses) is rounding, not
output: it is the relative violation verification accepts as exact (``econplan.plan.VALID``),
so a smaller difference cannot be told from the solver's tolerance."""

UNUSED_SHARE = 0.01
"""Unused output, or an end-of-horizon stock, is flagged above 1% of what the region had of the
product that year: the base year keeps margins of 1-3% on purpose (storage and handling losses
the economy does not model; docs/default-economy.md, "The base-year balance"), and a margin
that size is what a balance leaves over in any real plan."""

TARGET_SHARE = 0.01
"""A production target is flagged when unused output of what it counts exceeds 1% of its
amount: the same margin as unused output, now measured against what the target asks for."""

CHANGE = 0.25
"""A product's national output moving more than 25% from one year to the next is flagged: the
issue's test of a plan that ramps (a five-year plan grows a few percent a year; a quarter in
one year needs new capacity or a stated reason)."""

CHANGE_FLOOR = 1e-3
"""Outputs below this share of the product's largest yearly output are ignored when looking for
jumps: a product that starts from nothing would otherwise jump by an infinite share."""

UTILISATION = 0.25
"""A process whose capacity is used more than 25% above or below its base-year rate (output
over capacity of its facilities in the base year) is flagged: the same measure of a jump as for
output, applied to how hard capacity runs."""

CROSS_HAUL_SHARE = 1e-6
"""Shipments of one product both ways between two regions in a year are flagged when the
smaller direction is above this share of the larger: below it, it is solver rounding."""

AT_CAPACITY = 1 - 1e-6
"""Utilisation from which a process counts as running at its capacity (the solver's tolerance)."""

EXCLUDED_KINDS = ("labour", "resource", "primary")
"""Products that are not output: labour not employed and nature left in the ground are not
waste, and primary inputs come from outside the economy."""

UNUSED_COLUMNS = ["product", "region", "year", "kind", "amount", "unit", "sources", "share"]
FLAG_COLUMNS = [
    "kind",
    "what",
    "where",
    "year",
    "amount",
    "unit",
    "against",
    "share",
    "threshold",
    "reason",
]
FLAG_KINDS = {
    "unused_output": "output left over: sources minus uses (amount), against the sources",
    "end_stock": "stock carried past the last plan year (amount), against the year's sources",
    "target_unused": "a production target met by output with no use: unused output of what it "
    "counts (amount), against the target's amount",
    "cross_hauling": "a product shipped both ways between two regions in a year: one way "
    "(amount), the other (against)",
    "output_change": "national output (amount) against the year before's (against); share is "
    "the change",
    "utilisation": "capacity used (amount, a fraction) against the base year's rate "
    "(against); share is the change",
}
"""What each kind of flag measures, for readers of plausibility.json."""


@dataclass(frozen=True)
class Plausibility:
    """The plausibility report of a plan: ``unused`` (a row per product, region and year with
    output left over or a stock carried past the horizon) and ``flags`` (FLAG_COLUMNS)."""

    unused: pd.DataFrame
    flags: pd.DataFrame

    @property
    def unexplained(self) -> pd.DataFrame:
        return self.flags[self.flags["reason"] == ""]

    def summary(self) -> dict[str, Any]:
        """What plan.json says of unused output: totals by product, in its unit."""
        unused = self.unused
        rows: list[dict[str, Any]] = []
        for product, group in unused.groupby("product", sort=True):
            surplus = group[group["kind"] == "surplus"]
            stock = group[group["kind"] == "end_stock"]
            rows.append(
                {
                    "product": product,
                    "unit": str(group["unit"].iloc[0]),
                    "unused": float(surplus["amount"].sum()),
                    "end_stock": float(stock["amount"].sum()),
                    "largest_share": float(group["share"].max()),
                }
            )
        rows.sort(key=lambda r: (-float(r["largest_share"]), str(r["product"])))
        return {
            "rows": len(unused),
            "noise": UNUSED_NOISE,
            "flag_share": UNUSED_SHARE,
            "by_product": rows,
        }

    def to_dict(self) -> dict[str, Any]:
        """plausibility.json: the thresholds, what each flag kind means, and every flag."""
        counts = self.flags.groupby("kind").size()
        return {
            "thresholds": {
                "unused_noise": UNUSED_NOISE,
                "unused_share": UNUSED_SHARE,
                "target_share": TARGET_SHARE,
                "output_change": CHANGE,
                "utilisation_change": UTILISATION,
                "cross_hauling_share": CROSS_HAUL_SHARE,
            },
            "kinds": FLAG_KINDS,
            "counts": {str(k): int(v) for k, v in counts.items()},
            "flags_total": len(self.flags),
            "unexplained": len(self.unexplained),
            "flags": _plain_records(self.flags),
        }


def with_plausibility(plan: Plan, report: Plausibility) -> Plan:
    """``plan`` with its plausibility report: the summary of unused output and the count of
    flags in plan.json, the report itself for plausibility.json."""
    whole = report.to_dict()
    info = {
        **plan.info,
        "unused": report.summary(),
        "plausibility": {
            "flags": whole["flags_total"],
            "unexplained": whole["unexplained"],
            "counts": whole["counts"],
        },
    }
    return replace(plan, info=info, plausibility=whole)


def flag_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The flags of a plausibility.json as a table (FLAG_COLUMNS)."""
    return pd.DataFrame(report.get("flags", []), columns=FLAG_COLUMNS)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON holds them: Python values, None for what is missing or
    not finite. Column by column (a row at a time was 2.6 s for the 56,000 flags of IBGE's
    table at 10,000 products)."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "f":
            plain = [v if np.isfinite(v) else None for v in values.tolist()]
        elif values.dtype.kind in "iub":
            plain = values.tolist()
        else:
            plain = [
                None if _missing(v) else v.item() if isinstance(v, np.generic) else v
                for v in values.tolist()
            ]
        columns[str(name)] = plain
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _missing(value: Any) -> bool:
    """None, NaN, pandas' NA, or a float that is not finite."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and not np.isfinite(value)


def plausibility(economy: Economy, tables: dict[str, pd.DataFrame]) -> Plausibility:
    """The plausibility report of the plan in ``tables``."""
    balance = material_balance(economy, plan_flows(economy, tables))
    unused = unused_output(economy, tables, balance)
    drivers = Drivers.of(economy, balance)  # read once for both reports that explain changes
    flags = pd.concat(
        [
            unused_flags(economy, tables, unused),
            target_flags(economy, tables, unused),
            cross_hauling(economy, tables),
            output_changes(economy, tables, balance, drivers),
            utilisation(economy, tables, balance, drivers),
        ],
        ignore_index=True,
    )
    return Plausibility(unused, flags[FLAG_COLUMNS].reset_index(drop=True))


def _units(economy: Economy) -> pd.Series:
    return economy.tables["products"].set_index("id")["unit"]


def _flags(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FLAG_COLUMNS)
    return frame.astype(
        {
            "kind": object,
            "what": object,
            "where": object,
            "year": int,
            "amount": float,
            "unit": object,
            "against": float,
            "share": float,
            "threshold": float,
            "reason": object,
        }
    )


# -- unused output ------------------------------------------------------------------------------


def unused_output(
    economy: Economy, tables: dict[str, pd.DataFrame], balance: Balance | None = None
) -> pd.DataFrame:
    """Output nothing uses, by product, region and year (kind ``surplus``: sources minus uses
    above UNUSED_NOISE of the balance's gross flows), and stocks left at the end of the last
    plan year (kind ``end_stock``), in the product's unit; ``share`` of the region's sources."""
    e = economy
    if balance is None:
        balance = material_balance(e, plan_flows(e, tables))
    products = e.tables["products"].set_index("id")
    totals = balance.regional()
    output = ~products["kind"].reindex(totals["product"]).isin(EXCLUDED_KINDS).to_numpy()
    totals = totals[output]
    totals = totals.assign(difference=totals["difference"] - _programmes(e, tables, totals))
    gross = totals["sources"] + totals["uses"]
    left = totals[totals["difference"] > UNUSED_NOISE * gross]
    surplus = pd.DataFrame(
        {
            "product": left["product"].to_numpy(dtype=object),
            "region": left["region"].to_numpy(dtype=object),
            "year": left["year"].to_numpy(dtype=int),
            "kind": "surplus",
            "amount": left["difference"].to_numpy(dtype=float),
            "sources": left["sources"].to_numpy(dtype=float),
        }
    )
    stocks = tables["stocks"]
    last = stocks[(stocks["year"] == e.settings.last_year) & (stocks["stock"] > 0)]
    sources = totals.set_index(KEY)["sources"]
    at = pd.MultiIndex.from_frame(last[KEY])
    end = pd.DataFrame(
        {
            "product": last["product"].to_numpy(dtype=object),
            "region": last["region"].to_numpy(dtype=object),
            "year": last["year"].to_numpy(dtype=int),
            "kind": "end_stock",
            "amount": last["stock"].to_numpy(dtype=float),
            "sources": sources.reindex(at).fillna(0.0).to_numpy(dtype=float),
        }
    )
    frame = pd.concat([surplus, end], ignore_index=True)
    frame["unit"] = products["unit"].reindex(frame["product"]).to_numpy(dtype=object)
    frame["share"] = np.divide(
        frame["amount"].to_numpy(dtype=float),
        frame["sources"].to_numpy(dtype=float),
        out=np.full(len(frame), np.inf),
        where=frame["sources"].to_numpy(dtype=float) > 0,
    )
    frame = frame.sort_values(["product", "region", "year", "kind"], kind="stable")
    # text as the plan's other tables hold it (and as it reads back from Parquet), even when
    # a plan leaves nothing unused and the columns have no values to infer it from
    for column in ("product", "region", "kind", "unit"):
        frame[column] = frame[column].astype("str")
    return frame[UNUSED_COLUMNS].reset_index(drop=True)


def _programmes(
    economy: Economy, tables: dict[str, pd.DataFrame], totals: pd.DataFrame
) -> np.ndarray:
    """What building programmes take of each balance in ``totals``: buildings (products of
    kind construction) are used where they stand, and a programme stated as a production
    target (10,000 flats a year in Pyongyang) hands its buildings to their residents, so the
    target's amount is their use. Only buildings beyond it are left over."""
    kinds = economy.tables["products"].set_index("id")["kind"]
    taken = np.zeros(len(totals))
    keys = totals.reset_index(drop=True)
    left = (keys["difference"]).to_numpy(dtype=float).copy()
    for target in records(_production_targets(economy, tables)):
        products, regions = _target_scope(economy, target)
        if kinds.get(products[0]) != "construction":
            continue
        inside = np.flatnonzero(
            keys["product"].isin(products).to_numpy()
            & keys["region"].isin(regions).to_numpy()
            & (keys["year"] == int(target["year"])).to_numpy()
        )
        wanted = float(target["required"])
        for at in inside[np.argsort(-left[inside], kind="stable")]:
            give = min(max(left[at], 0.0), wanted)
            taken[at] += give
            left[at] -= give
            wanted -= give
    return taken


def _joint_makers(
    economy: Economy, tables: dict[str, pd.DataFrame]
) -> tuple[dict[tuple[Any, ...], list[str]], dict[tuple[Any, ...], dict[str, list[str]]]]:
    """Why processes that ran made a product in a region and year though nobody asked for
    it, by (product, region, year): the processes that made it as a joint product (not
    their main one), made alongside what was; and the processes that made it as their main
    product, with their joint products, which they may have run for instead (a
    carbonization plant run for its tar leaves its semi-coke)."""
    e = economy
    main = e.tables["processes"].set_index("id")["main_product"]
    activity = tables["activity"]
    activity = activity[activity["activity"] > 0]
    joint_of: dict[tuple[Any, ...], set[str]] = {}
    made_with: dict[tuple[Any, ...], dict[str, list[str]]] = {}
    for year in e.years:
        act = activity[activity["year"] == year]
        process = e.process_ids.get_indexer(pd.Index(act["process"]))
        coo = e.outputs(year)[:, process].tocoo()
        products = e.product_ids.to_numpy(dtype=object)[coo.row]
        names = act["process"].to_numpy(dtype=object)[coo.col]
        regions = act["region"].to_numpy(dtype=object)[coo.col]
        joints: dict[tuple[str, str], list[str]] = {}
        for product, name, region in zip(products, names, regions, strict=True):
            if main[name] != product:
                joint_of.setdefault((product, region, year), set()).add(name)
                joints.setdefault((name, region), []).append(product)
        for product, name, region in zip(products, names, regions, strict=True):
            if main[name] == product and (name, region) in joints:
                made_with.setdefault((product, region, year), {})[name] = sorted(
                    set(joints[(name, region)])
                )
    return {key: sorted(names) for key, names in joint_of.items()}, made_with


def _target_scope(economy: Economy, target: dict[str, Any]) -> tuple[tuple[str, ...], set[str]]:
    """The products and regions a target counts."""
    e = economy
    products = (
        (str(target["product"]),)
        if isinstance(target["product"], str)
        else tuple(e.sector_products[target["sector"]])
    )
    regions = (
        set(e.region_members[target["region"]])
        if isinstance(target["region"], str)
        else set(e.region_ids)
    )
    return products, regions


def _production_targets(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    targets = tables["targets"]
    floors = targets[(targets["measure"] == "production") & (targets["sense"] == "at_least")]
    return floors.reset_index(drop=True)


def unused_flags(
    economy: Economy, tables: dict[str, pd.DataFrame], unused: pd.DataFrame
) -> pd.DataFrame:
    """Unused output and end stocks above UNUSED_SHARE of the region's sources; the reason is
    a production target that asks for the product there, the process it is a joint product
    of, or the process whose main product it is, run for a joint product the plan uses (in
    that year; for an end stock, in any year up to it: output made then, carried out)."""
    joint, made_with = _joint_makers(economy, tables)
    # a joint product a process was run for is one the plan uses: none of it flagged unused
    # (a process that leaves both its products unused, or half of one, ran for neither)
    flagged = {
        (r["product"], r["region"], int(r["year"]))
        for r in unused[(unused["kind"] == "surplus") & (unused["share"] > UNUSED_SHARE)].to_dict(
            orient="records"
        )
    }
    targets = _production_targets(economy, tables)
    scopes = [(_target_scope(economy, t), t) for t in records(targets)]
    rows = []
    for row in unused[unused["share"] > UNUSED_SHARE].to_dict(orient="records"):
        key = (row["product"], row["region"], int(row["year"]))
        # the same reasons for output left unused and for output carried past the last year
        # in stock: the waste stage counts both alike, and which of the two a plan shows is
        # a tie among its optimal plans
        reasons = [
            f"target {t['id']} asks for it"
            for (products, regions), t in scopes
            if int(t["year"]) == key[2] and key[0] in products and key[1] in regions
        ]
        # an end stock is output made in some year, carried out past the last
        years = [key[2]] if row["kind"] == "surplus" else [y for y in economy.years if y <= key[2]]
        of = sorted({name for y in years for name in joint.get((key[0], key[1], y), [])})
        if of:
            reasons.append(f"joint product of {', '.join(of)}")
        for y in years if not reasons else []:  # a target asking for it says why already
            for name, joints in made_with.get((key[0], key[1], y), {}).items():
                used = [p for p in joints if (p, key[1], y) not in flagged]
                if used:
                    reasons.append(f"made by {name} run for its joint product {', '.join(used)}")
        reasons = list(dict.fromkeys(reasons))
        rows.append(
            {
                "kind": "unused_output" if row["kind"] == "surplus" else "end_stock",
                "what": row["product"],
                "where": row["region"],
                "year": key[2],
                "amount": row["amount"],
                "unit": row["unit"],
                "against": row["sources"],
                "share": row["share"],
                "threshold": UNUSED_SHARE,
                "reason": "; ".join(reasons),
            }
        )
    return _flags(rows)


def _target_cost(valuations: pd.DataFrame | None, target: str) -> str:
    """What meeting a target takes from consumption, as far as the plan says: its valuation in
    the consumption stage (the change of that stage's objective per unit of the target). A
    target held by its tier's bound rather than its own row has valuation 0 there: its cost
    shows only in a plan re-solved without it."""
    if valuations is None or not len(valuations):
        return "its cost in consumption is not valued in this plan"
    rows = valuations[
        (valuations["constraint"] == "target")
        & (valuations["item"] == target)
        & (valuations["stage"] == "consumption")
    ]
    value = float(rows["valuation"].iloc[0]) if len(rows) else 0.0
    if not np.isfinite(value) or value == 0:
        return (
            "valuation 0 in the consumption stage (held by its tier, not its own row: "
            "its cost shows in a plan solved again without it, `econplan plan --target-costs`)"
        )
    per = str(rows["per"].iloc[0]).removesuffix(" per unit")
    return f"each unit of it costs {abs(value):.3g} {per} in the consumption stage"


def target_flags(
    economy: Economy, tables: dict[str, pd.DataFrame], unused: pd.DataFrame
) -> pd.DataFrame:
    """Tier-1, tier-2 and hard production targets met by output that has no use: unused output
    of the products and regions they count, above TARGET_SHARE of their amount, with what
    meeting them costs in the consumption stage."""
    targets = _production_targets(economy, tables)
    firm = targets[targets["kind"].isin(["hard", "tier1", "tier2"]) & targets["met"].astype(bool)]
    surplus = unused[unused["kind"] == "surplus"]
    units = _units(economy)
    valuations = tables.get("valuations")
    rows = []
    for target in records(firm):
        products, regions = _target_scope(economy, target)
        year = int(target["year"])
        inside = surplus[
            (surplus["year"] == year)
            & surplus["product"].isin(products)
            & surplus["region"].isin(regions)
        ]
        amount = float(inside["amount"].sum())
        required = float(target["required"])
        share = amount / required if required > 0 else np.inf
        if amount <= 0 or share <= TARGET_SHARE:
            continue
        rows.append(
            {
                "kind": "target_unused",
                "what": target["id"],
                "where": target["region"] if isinstance(target["region"], str) else "nation",
                "year": year,
                "amount": amount,
                "unit": units[products[0]],
                "against": required,
                "share": share,
                "threshold": TARGET_SHARE,
                "reason": _target_cost(valuations, str(target["id"])),
            }
        )
    return _flags(rows)


# -- cross-hauling ------------------------------------------------------------------------------


def cross_hauling(economy: Economy, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A product shipped both ways between the same two regions in a year (on one two-way link
    or two links), with both amounts: one of the two shipments serves no purpose."""
    ship = tables["shipments"]
    ship = ship[ship["amount"] > 0]
    if not len(ship):
        return _flags([])
    flows = ship.groupby(["product", "origin", "destination", "year"], as_index=False)[
        "amount"
    ].sum()
    back = flows.set_axis(["product", "destination", "origin", "year", "back"], axis=1)
    both = flows.merge(back, on=["product", "origin", "destination", "year"])
    both = both[both["origin"] < both["destination"]]  # each pair once
    units = _units(economy)
    rows = []
    for row in records(both):
        small, large = sorted((float(row["amount"]), float(row["back"])))
        share = small / large
        if share <= CROSS_HAUL_SHARE:
            continue
        rows.append(
            {
                "kind": "cross_hauling",
                "what": row["product"],
                "where": f"{row['origin']} <-> {row['destination']}",
                "year": int(row["year"]),
                "amount": float(row["amount"]),
                "unit": units[row["product"]],
                "against": float(row["back"]),
                "share": share,
                "threshold": CROSS_HAUL_SHARE,
                "reason": "",
            }
        )
    return _flags(rows)


# -- year-on-year changes -----------------------------------------------------------------------


def national_output(economy: Economy, balance: Balance) -> pd.DataFrame:
    """Gross output by product and year: the base year's (facilities' base output) and every
    plan year's, products in rows and years in columns."""
    entries = _with_base_year(economy, balance)
    made = entries[entries["flow"] == "production"]
    wide = made.pivot_table(
        index="product", columns="year", values="amount", aggfunc="sum", fill_value=0.0
    )
    years = [economy.settings.base_year, *economy.years]
    return wide.reindex(columns=years, fill_value=0.0)


def _with_base_year(economy: Economy, balance: Balance) -> pd.DataFrame:
    """The balance entries of the base year (as the economy's files describe it) and of the
    plan years."""
    base = material_balance(economy, [base_year_flows(economy)]).entries
    return pd.concat([base, balance.entries], ignore_index=True)


DRIVER_SHARE = 0.1
"""A use or source is named as a driver of a change in output when it accounts for more than
10% of the change (and moved the same way)."""

DRIVERS = 3
"""At most this many drivers are named, the largest first."""

UNUSED = "output without a use"
"""The component that closes a product's balance: output left over."""

BUILT = "buildings completed"
"""The same for buildings (products of kind construction), which stand where they are built."""

_COMPONENT_NAMES = {
    "investment": "building new capacity",
    "exports": "exports",
    "transport": "transport on the links",
    "stock_built": "stocks built",
    "imports": "imports",
    "stock_drawn": "stocks drawn",
    "endowment": "endowment",
}


Span = tuple[int, int]
"""Rows first to past the last."""


@dataclass(frozen=True)
class Drivers:
    """What each product's national output is made of, year by year: every use (intermediate
    use by process, final demand by category, building, exports, transport, stocks built), every
    other source (imports, stocks drawn, endowment), and what is left unused, so that

        output = uses - other sources + unused

    holds in every year, the base year included. The change of output between two years is then
    the sum of the changes of these components, and the largest name what moved it."""

    components: pd.DataFrame
    """product, year, component, flow (the component's own amount), sign (+1 a use or what is
    left unused, -1 another source): output is the sum of sign x flow."""
    makers: pd.DataFrame
    """product, year, process, amount: national output by the process that makes it."""

    @classmethod
    def of(cls, economy: Economy, balance: Balance) -> Drivers:
        entries = _with_base_year(economy, balance)
        entries = entries[~entries["flow"].isin(["shipments_in", "shipments_out"])]
        made = entries[entries["flow"] == "production"]
        makers = (
            made.groupby(["product", "year", "detail"])["amount"]
            .sum()
            .rename_axis(["product", "year", "process"])
            .reset_index()
        )
        other = entries[entries["flow"] != "production"]
        name = other["flow"].map(_COMPONENT_NAMES)
        by_process = other["flow"] == "intermediate"
        name = name.where(~by_process, "use in " + other["detail"].astype(str))
        final = other["flow"] == "final"
        name = name.where(~final, "final demand (" + other["detail"].astype(str) + ")")
        parts = pd.DataFrame(
            {
                "product": other["product"].to_numpy(dtype=object),
                "year": other["year"].to_numpy(dtype=int),
                "component": name.to_numpy(dtype=object),
                "flow": other["amount"].to_numpy(dtype=float),
                "sign": np.where(other["side"].to_numpy() == "use", 1.0, -1.0),
            }
        )
        parts = parts.groupby(["product", "year", "component", "sign"])["flow"].sum().reset_index()
        # what is left unused closes the identity: output + other sources - uses
        output = made.groupby(["product", "year"])["amount"].sum()
        net = (parts["flow"] * parts["sign"]).groupby([parts["product"], parts["year"]]).sum()
        left = output.sub(net, fill_value=0.0)
        unused = pd.DataFrame(
            {
                "product": left.index.get_level_values(0).to_numpy(dtype=object),
                "year": left.index.get_level_values(1).to_numpy(dtype=int),
                "component": UNUSED,
                "flow": left.to_numpy(dtype=float),
                "sign": 1.0,
            }
        )
        # buildings are not left over: they stand where they were built
        kinds = economy.tables["products"].set_index("id")["kind"]
        built = kinds.reindex(unused["product"]).to_numpy() == "construction"
        unused.loc[built, "component"] = BUILT
        components = pd.concat([parts, unused], ignore_index=True)
        return cls(components, makers)

    @cached_property
    def _by_year(self) -> tuple[pd.DataFrame, np.ndarray, dict[int, int], dict[str, Span]]:
        """The components summed by (product, component, sign), sorted so, with their flows
        as an array by year (0 where a component has none that year); the column of each
        year; each product's rows (first, past the last). Read once for every change a
        report explains: at 10,000 products on IBGE's table the report explained 56,115, and
        a lookup per change was half of its 23.5 s."""
        sums = self.components.groupby(["product", "year", "component", "sign"])["flow"].sum()
        wide = sums.unstack("year").fillna(0.0).sort_index()
        keys = wide.index.to_frame(index=False)
        keys["product"] = keys["product"].astype(str)
        keys["component"] = keys["component"].astype(str)
        column = {int(year): i for i, year in enumerate(wide.columns)}
        products = keys["product"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])[: len(products)]
        stops = np.r_[starts[1:], len(products)][: len(starts)]
        rows = {str(products[a]): (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
        return keys, wide.to_numpy(dtype=float), column, rows

    def of_changes(self, changes: list[tuple[str, int, int]]) -> list[list[tuple[str, float]]]:
        """``of_change`` for each (product, before, year) of ``changes``, all at once."""
        if not changes:
            return []
        keys, flows, column, rows = self._by_year
        spans = np.array([rows.get(product, (0, 0)) for product, _, _ in changes], dtype=np.int64)
        spans = spans.reshape(-1, 2)
        counts = spans[:, 1] - spans[:, 0]
        which = np.repeat(np.arange(len(changes)), counts)
        # the rows of each change's product, in their sorted order (component, then sign)
        first = np.repeat(spans[:, 0] - np.r_[0, np.cumsum(counts)[:-1]], counts)
        at = first + np.arange(len(which))
        zero = np.zeros(len(flows))
        flows = np.column_stack([flows, zero]) if len(flows) else np.zeros((0, 1))
        absent = flows.shape[1] - 1
        old_col = np.array([column.get(before, absent) for _, before, _ in changes], dtype=np.int64)
        new_col = np.array([column.get(year, absent) for _, _, year in changes], dtype=np.int64)
        flow_change = flows[at, new_col[which]] - flows[at, old_col[which]]
        contribution = flow_change * keys["sign"].to_numpy(dtype=float)[at]
        total = np.zeros(len(changes))
        np.add.at(total, which, contribution)
        way = contribution * np.sign(total)[which]
        picked = np.flatnonzero(way > DRIVER_SHARE * np.abs(total)[which])
        # largest first within each change; among equals, in the components' order
        order = picked[np.lexsort((picked, -way[picked], which[picked]))]
        group = which[order]
        begins = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else group
        rank = np.arange(len(order)) - np.repeat(begins, np.diff(np.r_[begins, len(order)]))
        kept = order[rank < DRIVERS]
        names = keys["component"].to_numpy(dtype=object)
        found: list[list[tuple[str, float]]] = [[] for _ in changes]
        for i, row, change in zip(which[kept], at[kept], flow_change[kept], strict=True):
            found[i].append((str(names[row]), float(change)))
        return found

    def of_change(self, product: str, before: int, year: int) -> list[tuple[str, float]]:
        """The components that moved ``product``'s output from ``before`` to ``year`` the way
        it went, largest first: (component, change of its own flow), each above DRIVER_SHARE
        of the change, at most DRIVERS of them."""
        return self.of_changes([(product, before, year)])[0]

    def share(self, process: str, product: str, year: int) -> float:
        """``process``'s share of ``product``'s national output in ``year`` (0 where it makes
        none): one number, for the thousands of processes a large economy's report asks
        about (a Series per question was 8 of the 15 s the report took at 3,000 products)."""
        return self.shares_of(product, year).get(process, 0.0)

    def shares_of(self, product: str, year: int) -> dict[str, float]:
        """Each process's share of ``product``'s national output in ``year``, makers in the
        order they are read (0 each where the product's output is 0)."""
        return self._shares.get((product, year), {})

    @cached_property
    def _shares(self) -> dict[tuple[str, int], dict[str, float]]:
        """``shares_of`` for every (product, year), computed once, in one pass over the
        makers (a group at a time was 1.3 s at 3,000 products)."""
        makers = self.makers
        amount = makers["amount"].to_numpy(dtype=float)
        by_product = makers.groupby(["product", "year"], sort=False)["amount"]
        total = by_product.transform("sum").to_numpy(dtype=float)
        share = np.divide(amount, total, out=np.zeros_like(amount), where=total > 0)
        found: dict[tuple[str, int], dict[str, float]] = {}
        for product, year, process, value in zip(
            makers["product"].to_numpy(dtype=object),
            makers["year"].to_numpy(dtype=int),
            makers["process"].to_numpy(dtype=object),
            share,
            strict=True,
        ):
            found.setdefault((str(product), int(year)), {})[str(process)] = float(value)
        return found


def _signed(value: float, unit: str) -> str:
    """A change as a reader wants it in a reason: its sign, whole units when large, three
    figures when small."""
    size = abs(value)
    digits = f"{size:,.0f}" if size >= 100 else f"{size:.3g}"
    return f"{'+' if value > 0 else '-'}{digits} {unit}"


def _driver_text(
    drivers: list[tuple[str, float]],
    unit: str,
    before: int,
    year: int,
    base_year: int,
    main: dict[Any, Any],
    targeted: dict[tuple[Any, ...], list[str]],
) -> str:
    """The drivers of a change in words; a use by a process whose main product has a target
    that year says so."""
    parts = []
    for component, change in drivers:
        text = f"{component} {_signed(change, unit)}"
        if component == UNUSED and before == base_year and change < 0:
            text += " (the base year's files record no use for it)"
        if component.startswith("use in "):
            product = main.get(component.removeprefix("use in "))
            if (product, year) in targeted:
                text += f" (its product {product}: target {', '.join(targeted[(product, year)])})"
        parts.append(text)
    return "moved by: " + ", ".join(parts) if parts else ""


def _new_capacity(
    economy: Economy, tables: dict[str, pd.DataFrame]
) -> dict[tuple[Any, ...], list[str]]:
    """(product, year) -> investment options whose capacity comes into use that year in a
    process that makes the product."""
    e = economy
    investment = tables["investment"]
    investment = investment[investment["units"] > 0]
    found: dict[tuple[Any, ...], list[str]] = {}
    for row in records(investment):
        year = int(row["ready_year"])
        if year not in e.years:
            continue
        column = e.outputs(year)[:, e.process_ids.get_loc(row["process"])].tocoo()
        for product in e.product_ids.to_numpy(dtype=object)[column.row]:
            found.setdefault((product, year), []).append(str(row["option"]))
    return {key: sorted(set(names)) for key, names in found.items()}


def _targets_by_year(
    economy: Economy, tables: dict[str, pd.DataFrame]
) -> dict[tuple[Any, ...], list[str]]:
    """(product, year) -> production targets on the product (or its sector) that year."""
    found: dict[tuple[Any, ...], list[str]] = {}
    for target in records(_production_targets(economy, tables)):
        products, _ = _target_scope(economy, target)
        for product in products:
            found.setdefault((product, int(target["year"])), []).append(str(target["id"]))
    return found


def output_changes(
    economy: Economy,
    tables: dict[str, pd.DataFrame],
    balance: Balance | None = None,
    drivers: Drivers | None = None,
) -> pd.DataFrame:
    """Each product's national output moving more than CHANGE from the year before (the base
    year before the first plan year); the reason is new capacity in use that year, a target
    that falls in that year, or (for a fall) a target of the year before, and always, where the
    change is not noise, what moved it: the uses and sources that changed the same way
    (:class:`Drivers`)."""
    e = economy
    if balance is None:
        balance = material_balance(e, plan_flows(e, tables))
    wide = national_output(e, balance)
    drivers = drivers if drivers is not None else Drivers.of(e, balance)
    main = e.tables["processes"].set_index("id")["main_product"]
    kinds = e.tables["products"].set_index("id")["kind"]
    wide = wide[~kinds.reindex(wide.index).isin(EXCLUDED_KINDS).to_numpy()]
    units = _units(e)
    new = _new_capacity(e, tables)
    targeted = _targets_by_year(e, tables)
    years = [int(year) for year in wide.columns]
    unit_of = units.to_dict()
    rows: list[dict[str, Any]] = []
    # what moved each change, asked of the drivers all at once after the loop
    asked: list[tuple[str, int, int]] = []
    for product, values in zip(
        wide.index.to_numpy(dtype=object), wide.to_numpy(dtype=float), strict=True
    ):
        floor = CHANGE_FLOOR * float(values.max())
        for before, year, old, now in zip(years, years[1:], values, values[1:], strict=False):
            if max(old, now) <= floor:
                continue
            change = (now - old) / old if old > floor else np.inf
            if abs(change) <= CHANGE:
                continue
            reasons = []
            if change > 0 and (product, year) in new:
                reasons.append("new capacity in use: " + ", ".join(new[(product, year)]))
            if (product, year) in targeted:
                reasons.append("target " + ", ".join(targeted[(product, year)]) + " that year")
            if change < 0 and (product, before) in targeted:
                reasons.append(
                    "target " + ", ".join(targeted[(product, before)]) + " the year before"
                )
            asked.append((product, before, year))
            rows.append(
                {
                    "kind": "output_change",
                    "what": product,
                    "where": "nation",
                    "year": int(year),
                    "amount": float(now),
                    "unit": unit_of[product],
                    "against": float(old),
                    "share": float(change),
                    "threshold": CHANGE,
                    "reason": reasons,
                }
            )
    main_of = main.to_dict()
    for row, (product, before, year), moved in zip(
        rows, asked, drivers.of_changes(asked), strict=True
    ):
        if moved:
            text = _driver_text(
                moved, unit_of[product], before, year, e.settings.base_year, main_of, targeted
            )
            row["reason"].append(text)
        row["reason"] = "; ".join(row["reason"])
    return _flags(rows)


# -- capacity utilisation -----------------------------------------------------------------------


def base_utilisation(economy: Economy) -> pd.Series:
    """Each process's base-year rate: its facilities' base-year output over their capacity
    (facilities operating in the base year, with a capacity), nationally."""
    sums = _base_capacity(economy)
    rate: pd.Series = sums["output"] / sums["capacity"]
    return rate[rate > 0]


def _base_capacity(economy: Economy) -> pd.DataFrame:
    """Each process's base-year activity (its facilities' base output) and capacity, over the
    facilities operating in the base year with a capacity."""
    e = economy
    facilities = e.tables["facilities"]
    base = e.settings.base_year
    first = facilities["first_year"].fillna(base)
    last = facilities["last_year"].fillna(base)
    operating = (first <= base) & (last >= base) & (facilities["capacity"] > 0)
    frame = pd.DataFrame(
        {
            "process": facilities["process"].to_numpy(dtype=object),
            "output": e.base_output.to_numpy(dtype=float),
            "capacity": facilities["capacity"].to_numpy(dtype=float),
        }
    )[operating.to_numpy()]
    return frame.groupby("process")[["output", "capacity"]].sum()


FACTOR = 1.1
"""A factor of a change in utilisation (capacity, the product's output, the process's share of
it) is named when it moved by more than 10% either way."""


def utilisation(
    economy: Economy,
    tables: dict[str, pd.DataFrame],
    balance: Balance | None = None,
    drivers: Drivers | None = None,
) -> pd.DataFrame:
    """Processes whose capacity runs more than UTILISATION above or below their base-year rate,
    nationally, in a plan year; the reason is new capacity that year, running at capacity, a
    target on the main product that year, and what the change is made of: the rate is
    activity over capacity, and activity is the national output of the main product times the
    process's share of it, so each of the three that moved by more than FACTOR is named (the
    product's output with what moved it, the share with the maker that gained or lost most)."""
    e = economy
    if balance is None:
        balance = material_balance(e, plan_flows(e, tables))
    base = base_utilisation(e)
    at_base = _base_capacity(e)
    drivers = drivers if drivers is not None else Drivers.of(e, balance)
    made = national_output(e, balance)
    units = _units(e)
    capacity = tables["capacity"]
    sums = capacity.groupby(["process", "year"])[["activity", "total", "added"]].sum()
    main = e.tables["processes"].set_index("id")["main_product"]
    targeted = _targets_by_year(e, tables)
    first = e.settings.base_year
    # plain lookups for the loop below: a pandas lookup per flag was most of the report's
    # time on large economies (15 s of 30 at 3,000 products, 293 s of a 1,342-s plan at
    # 30,000)
    added_by = dict(zip(sums.index, sums["added"].to_numpy(dtype=float), strict=True))
    base_rate = base.astype(float).to_dict()
    main_of = main.to_dict()
    capacity_at_base = at_base["capacity"].astype(float).to_dict()
    output_by: dict[int, dict[Any, float]] = {
        int(year): made[year].astype(float).to_dict() for year in made.columns
    }
    unit_of = units.to_dict()
    rows: list[dict[str, Any]] = []
    # what moved each output named in a reason, asked of the drivers all at once after the
    # loop: (the row, its reason, the change)
    asked: list[tuple[int, int, tuple[str, int, int]]] = []
    for (process, year), activity, total, added in zip(
        sums.index, sums["activity"], sums["total"], sums["added"], strict=True
    ):
        if process not in base_rate or total <= 0:
            continue
        rate = float(activity / total)
        change = rate / base_rate[process] - 1
        if abs(change) <= UTILISATION:
            continue
        year = int(year)
        reasons = []
        before = added_by.get((process, year - 1), 0.0)
        if added > before:
            reasons.append("new capacity in use that year")
        if rate >= AT_CAPACITY:
            reasons.append("runs at capacity")
        product = main_of[process]
        if change > 0 and (product, year) in targeted:
            reasons.append("target " + ", ".join(targeted[(product, year)]) + " that year")
        grown = float(total) / capacity_at_base[process]
        if max(grown, 1 / grown) > FACTOR:
            reasons.append(f"capacity {grown:.2f} times the base year's")
        at_first = output_by[first].get(product, 0.0)
        if at_first > 0:
            output = output_by[year][product] / at_first
            if max(output, 1 / output if output > 0 else np.inf) > FACTOR:
                text = f"national output of {product} {output - 1:+.0%} against the base year"
                asked.append((len(rows), len(reasons), (product, first, year)))
                reasons.append(text)
            reasons += _share_shift(drivers, process, product, first, year)
        rows.append(
            {
                "kind": "utilisation",
                "what": process,
                "where": "nation",
                "year": year,
                "amount": rate,
                "unit": "fraction of capacity",
                "against": base_rate[process],
                "share": change,
                "threshold": UTILISATION,
                "reason": reasons,
            }
        )
    changes = [change for _, _, change in asked]
    for (at, reason, (product, _, year)), moved in zip(
        asked, drivers.of_changes(changes), strict=True
    ):
        if moved:
            words = _driver_text(moved, unit_of[product], first, year, first, main_of, targeted)
            rows[at]["reason"][reason] += f" ({words})"
    for row in rows:
        row["reason"] = "; ".join(row["reason"])
    return _flags(rows)


def _share_shift(drivers: Drivers, process: str, product: str, first: int, year: int) -> list[str]:
    """The process's share of its product's national output, base year against ``year``, where
    it moved by more than FACTOR, with the maker whose share moved most the other way."""
    was, now = drivers.share(process, product, first), drivers.share(process, product, year)
    if was <= 0 or max(now / was, was / now if now > 0 else np.inf) <= FACTOR:
        return []
    old, new = drivers.shares_of(product, first), drivers.shares_of(product, year)
    text = f"its share of {product} output {was:.0%} -> {now:.0%}"
    # the maker whose share moved most the other way; among equals, the first in the order
    # of the makers of both years (sorted where they differ, as pandas aligns them)
    makers = list(old) if list(old) == list(new) else sorted(set(old) | set(new))
    way = -np.sign(now - was)
    moved = [
        (abs(change), maker)
        for maker in makers
        if maker != process and np.sign(change := new.get(maker, 0.0) - old.get(maker, 0.0)) == way
    ]
    if moved:
        other = max(moved, key=lambda pair: pair[0])[1]
        text += f" ({other} {old.get(other, 0.0):.0%} -> {new.get(other, 0.0):.0%})"
    return [text]
