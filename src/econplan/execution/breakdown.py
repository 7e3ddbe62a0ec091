"""Control figures: the plan broken down to every enterprise, by year and by month.

The plan decides the activity of each process in each region and year; an enterprise needs
its own share of it: what it must make, the materials and labour allotted to it, and the
investment tasks it carries out. :func:`control_figures` splits the plan's activity among the
capacity units that can carry it, then turns each unit's activity into products with the
economy's coefficients of that year, exactly as the plan itself does
(:func:`econplan.plan.flows.production`), and spreads each year over its months by the
economy's seasonal profiles (:func:`monthly_shares`).

Who carries what, in each process, region and year:

1. **Capacity the economy already has** (facilities open in the year, less what a renovation
   converts to another process) is loaded first, every facility to the same utilisation, in
   proportion to its capacity. Existing works have their workforce, suppliers and know-how;
   loading them evenly keeps no one idle while another is pushed, and it is what the plan
   assumed when it counted their capacity as one.
2. **Capacity the plan adds** (options built, from their ready year: a unit ``new:<option>``;
   renovations, which belong to their facility) takes only what the existing capacity cannot,
   again in proportion to capacity: a new works gets figures once the old ones are full.
3. Activity beyond all capacity (solver tolerance, at most 1e-6 of it) is spread over every
   unit in proportion to capacity. Activity where there is no capacity at all (a process that
   no facility runs and no option offers, such as a service provided everywhere) goes to a
   residual unit ``rest:<process>:<region>``, named so that nobody mistakes it for an
   enterprise.

The figures of the units add up to the plan: for every process, region and year their
activity sums to the plan's activity, so their outputs, inputs and labour sum to the plan's
(to rounding, about 1e-15 relative), and the twelve months of a figure add up to its year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from econplan.errors import UsageError
from econplan.model.economy import Economy
from econplan.plan.flows import investment_bills
from econplan.plan.output import Plan, economy_hash

NEW = "new:"
"""Prefix of a unit of capacity that the plan builds where no facility is named."""

REST = "rest:"
"""Prefix of the residual unit of a process and region that no facility or option covers."""

OVER_CAPACITY = 1e-6
"""Largest share by which a plan's activity may exceed the capacity it was planned against
(the tolerance of a valid plan, :data:`econplan.plan.VALID`); beyond it the plan is not one of
this economy and is refused."""

MONTHS = np.arange(1, 13)
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

FIGURES = ["facility", "region", "process", "product", "year", "month", "kind", "amount"]
"""Columns of the control figures (see :mod:`econplan.execution`)."""

ACTIVITY = ["facility", "region", "process", "year", "capacity", "activity", "utilisation"]
TASKS = [
    "facility",
    "option",
    "action",
    "process",
    "region",
    "units",
    "capacity",
    "start_year",
    "ready_year",
]
MATERIALS = ["facility", "option", "start_year", "region", "product", "year", "kind", "amount"]

EXISTING, ADDED, RESIDUAL = "existing", "added", "residual"


class BreakdownError(UsageError):
    """A plan that cannot be broken down against this economy, or a facility or region that
    is not in it: the message says which and what to do."""


@dataclass(frozen=True)
class ControlFigures:
    """The plan's figures for every enterprise.

    ``figures``: output, input and labour of each unit by product, year and month (the long
    frame of :mod:`econplan.execution`). ``activity``: each unit's capacity, activity and
    utilisation by process and year, every unit with capacity listed even when idle.
    ``tasks``: the investment tasks, one row per option and start year, with the unit that
    carries it out (its facility, or ``new:<option>``). ``materials``: what each task uses,
    by product and year (kind ``input`` or ``labour``). ``names``: a readable name for every
    unit, named or not. Amounts are in the product's unit, labour in person-years.
    """

    figures: pd.DataFrame
    activity: pd.DataFrame
    tasks: pd.DataFrame
    materials: pd.DataFrame
    names: pd.Series
    units: pd.Series = field(repr=False)
    """The unit of each product, for readable tables."""
    regions: Mapping[str, tuple[str, ...]] = field(repr=False)
    """Each region with the regions below it."""

    def __repr__(self) -> str:
        return (
            f"<ControlFigures: {len(self.activity['facility'].unique()):,} units, "
            f"{len(self.figures):,} figures, {len(self.tasks):,} investment tasks>"
        )

    def for_facility(self, facility: str) -> ControlFigures:
        """The figures of one unit: a facility id, ``new:<option>`` or
        ``rest:<process>:<region>``."""
        if facility not in self.names.index:
            near = [f for f in self.names.index if facility.lower() in f.lower()][:5]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            message = f"no facility {facility!r} in this plan's control figures{hint}"
            raise BreakdownError(message)
        return self._where(lambda frame: frame["facility"] == facility)

    def for_region(self, region: str, below: bool = True) -> ControlFigures:
        """The figures of every unit in ``region`` and, with ``below``, in its sub-regions."""
        if region not in self.regions:
            message = f"no region {region!r} in the economy: give one of regions.csv's ids"
            raise BreakdownError(message)
        members = self.regions[region] if below else (region,)
        return self._where(lambda frame: frame["region"].isin(members))

    def for_units(self, units: list[str]) -> ControlFigures:
        """The figures of the units named (those not in the plan are left out)."""
        return self._where(lambda frame: frame["facility"].isin(units))

    def _where(self, keep: object) -> ControlFigures:
        def take(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[keep(frame)].reset_index(drop=True)  # type: ignore[operator]

        activity = take(self.activity)
        tasks = take(self.tasks)
        kept = pd.Index(pd.unique(np.concatenate([activity["facility"], tasks["facility"]])))
        return replace(
            self,
            figures=take(self.figures),
            activity=activity,
            tasks=tasks,
            materials=take(self.materials),
            names=self.names[self.names.index.isin(kept)],
        )

    def to_wide(self) -> pd.DataFrame:
        """The figures as people read them: a row per unit, process, product, kind and year
        with its name and unit, a column per month and the year's total."""
        keys = ["facility", "region", "process", "kind", "product", "year"]
        wide = self.figures.pivot_table(
            index=keys, columns="month", values="amount", aggfunc="sum", fill_value=0.0
        ).reindex(columns=MONTHS, fill_value=0.0)
        wide.columns = pd.Index(MONTH_NAMES)
        wide["total"] = wide.sum(axis=1)
        wide = wide.reset_index()
        wide.insert(1, "name", self.names.reindex(wide["facility"]).to_numpy(dtype=object))
        wide.insert(6, "unit", self.units.reindex(wide["product"]).to_numpy(dtype=object))
        return wide


# -- seasonal profiles -----------------------------------------------------------------------


def monthly_shares(economy: Economy, flow: str = "output") -> pd.DataFrame:
    """The share of a year's amount that falls in each month, for every product: ``product,
    month, share``, twelve rows a product, shares adding up to 1.

    ``flow="output"``: when the product is made. ``flow="input"``: when the processes whose
    main product it is take in their inputs and labour. A product's own rows in
    ``seasonality.csv`` come first, then its nearest sector's (a sub-sector before its
    parent); an input profile falls back to the output profile, and that to an even twelfth
    a month. Shares are divided by their total, so the months add up to the year exactly
    even where a file's shares were rounded.
    """
    matrix = share_matrix(economy, flow)
    products = economy.product_ids.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "product": np.repeat(products, len(MONTHS)),
            "month": np.tile(MONTHS, len(products)),
            "share": matrix.ravel(),
        }
    )


def share_matrix(economy: Economy, flow: str = "output") -> np.ndarray:
    """Products (rows, sorted ids) by months: the profiles of :func:`monthly_shares`."""
    if flow not in ("output", "input"):
        raise ValueError(f"flow is output or input, not {flow!r}")
    products = economy.product_ids
    if flow == "input":
        shares = share_matrix(economy, "output").copy()
    else:
        shares = np.full((len(products), len(MONTHS)), 1.0 / len(MONTHS))
    table = economy.tables["seasonality"]
    rows = table[(table["flow"].fillna("output") == flow).to_numpy(dtype=bool)]
    parents = economy.tables["sectors"].set_index("id")["parent"]
    sectors = sorted(set(rows["sector"].dropna()), key=lambda s: (_depth(s, parents), s))
    for sector in sectors:  # shallow first: a nearer sector overrides its parent
        members = products.get_indexer(pd.Index(economy.sector_products[sector]))
        shares[members] = _profiles(rows[rows["sector"] == sector], "sector")[0]
    own = rows[rows["product"].notna()]
    if len(own):
        profiles, named = _profiles(own, "product")
        shares[products.get_indexer(named)] = profiles
    return shares


def _profiles(rows: pd.DataFrame, by: str) -> tuple[np.ndarray, pd.Index]:
    """Each ``by`` of ``rows`` with its twelve shares, divided by their total."""
    wide = rows.pivot_table(index=by, columns="month", values="share", aggfunc="sum")
    wide = wide.reindex(columns=MONTHS).fillna(0.0)
    values = wide.to_numpy(dtype=float)
    total = values.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        empty = wide.index[(total <= 0).ravel()][0]
        message = f"seasonality.csv: the shares of {empty!r} add up to 0; validate the economy"
        raise BreakdownError(message)
    return values / total, pd.Index(wide.index, dtype=object)


def _depth(sector: str, parents: pd.Series) -> int:
    depth, seen = 0, {sector}
    parent = parents.get(sector)
    while isinstance(parent, str) and parent not in seen:
        seen.add(parent)
        depth += 1
        parent = parents.get(parent)
    return depth


# -- who carries the plan --------------------------------------------------------------------


def capacity_units(economy: Economy, investment: pd.DataFrame) -> pd.DataFrame:
    """Every unit's capacity by process, region and year, as the plan counted it
    (:func:`econplan.plan.families.capacity.capacity_in`): ``facility, process, region, year, tier,
    capacity`` with tier ``existing`` (facilities open in the year, less what renovations
    convert to another process) or ``added`` (investments ready by the year)."""
    e = economy
    years = np.asarray(e.years)
    facilities = e.tables["facilities"]
    options = e.tables["investments"].set_index("id")
    n = len(facilities)
    which = np.repeat(np.arange(n), len(years))
    year = np.tile(years, n)
    first = facilities["first_year"].fillna(years[0]).to_numpy(dtype=int)[which]
    last = facilities["last_year"].fillna(years[-1]).to_numpy(dtype=int)[which]
    open_ = (first <= year) & (year <= last)
    existing = pd.DataFrame(
        {
            "facility": facilities["id"].to_numpy(dtype=object)[which],
            "process": facilities["process"].to_numpy(dtype=object)[which],
            "region": facilities["region"].to_numpy(dtype=object)[which],
            "year": year,
            "tier": EXISTING,
            "capacity": facilities["capacity"].to_numpy(dtype=float)[which],
        }
    )[open_]
    # each investment counts from its ready year to the end of the plan
    which = np.repeat(np.arange(len(investment)), len(years))
    year = np.tile(years, len(investment))
    ready = investment["ready_year"].to_numpy(dtype=int)[which] <= year
    which, year = which[ready], year[ready]
    option = investment["option"].to_numpy(dtype=object)[which]
    named = investment["facility"].to_numpy(dtype=object)[which]
    units = investment["units"].to_numpy(dtype=float)[which]
    per_unit = options["capacity"].reindex(option).to_numpy(dtype=float)
    added = pd.DataFrame(
        {
            "facility": np.where(pd.isna(named), NEW + option.astype(str), named),
            "process": investment["process"].to_numpy(dtype=object)[which],
            "region": investment["region"].to_numpy(dtype=object)[which],
            "year": year,
            "tier": ADDED,
            "capacity": units * per_unit,
        }
    )
    # a renovation to another process takes its share of the facility's old capacity away
    by_id = facilities.set_index("id")
    old_process = by_id["process"].reindex(named).to_numpy(dtype=object)
    converts = ~pd.isna(named) & (old_process != added["process"].to_numpy(dtype=object))
    share = by_id["capacity"].reindex(named).to_numpy(dtype=float) / options["max_units"].fillna(
        1.0
    ).reindex(option).to_numpy(dtype=float)
    converted = pd.DataFrame(
        {
            "facility": named[converts],
            "process": old_process[converts],
            "region": by_id["region"].reindex(named[converts]).to_numpy(dtype=object),
            "year": year[converts],
            "tier": EXISTING,
            "capacity": -(share * units)[converts],
        }
    )
    keys = ["facility", "process", "region", "year", "tier"]
    frames = [f for f in (existing, added, converted) if len(f)]
    if not frames:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in keys}).assign(capacity=0.0)
    everything = pd.concat(frames, ignore_index=True)
    units_frame = pd.DataFrame(everything.groupby(keys, as_index=False)["capacity"].sum())
    # what a conversion removes counts only while the facility is open (as in verification)
    inside = units_frame.merge(existing[keys], on=keys, how="left", indicator=True)
    keep = (units_frame["tier"] == ADDED).to_numpy() | (inside["_merge"] == "both").to_numpy()
    units_frame = units_frame[keep]
    units_frame["capacity"] = units_frame["capacity"].clip(lower=0.0)
    return units_frame.reset_index(drop=True)


def allocate(economy: Economy, activity: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Each unit's activity (``facility, process, region, year, tier, capacity, activity``):
    existing capacity first, added capacity after, each in proportion to capacity; activity
    without capacity to a residual unit ``rest:<process>:<region>``.

    Raises BreakdownError where the plan runs a process beyond its capacity by more than
    :data:`OVER_CAPACITY`: such a plan was not made from this economy's capacities."""
    key = ["process", "region", "year"]
    planned = activity[activity["activity"] != 0][[*key, "activity"]]
    tiers = units.pivot_table(index=key, columns="tier", values="capacity", aggfunc="sum")
    tiers = tiers.reindex(columns=[EXISTING, ADDED]).fillna(0.0)
    groups = planned.merge(tiers.reset_index(), on=key, how="outer").fillna(
        {"activity": 0.0, EXISTING: 0.0, ADDED: 0.0}
    )
    A = groups["activity"].to_numpy(dtype=float)
    C0, C1 = groups[EXISTING].to_numpy(dtype=float), groups[ADDED].to_numpy(dtype=float)
    C = C0 + C1
    fill0 = np.minimum(A, C0)
    fill1 = np.minimum(A - fill0, C1)
    over = A - fill0 - fill1
    capped = set(economy.tables["facilities"]["process"]) | set(
        economy.tables["investments"]["process"]
    )
    too_much = groups["process"].isin(capped).to_numpy() & (over > OVER_CAPACITY * np.maximum(C, 1))
    if too_much.any():
        worst = int(np.argmax(np.where(too_much, over / np.maximum(C, 1), -np.inf)))
        row = groups.iloc[worst]
        message = (
            f"the plan runs {row['process']} in {row['region']} in {row['year']} at "
            f"{A[worst]:,.6g}, beyond the {C[worst]:,.6g} of capacity the economy has there: "
            "it was not planned from this economy; plan again, or name the economy it was "
            "planned from"
        )
        raise BreakdownError(message)
    groups = groups.assign(fill0=fill0, fill1=fill1, over=over, total=C)
    carried = units.merge(
        groups[[*key, EXISTING, ADDED, "fill0", "fill1", "over", "total"]], on=key
    )
    c = carried["capacity"].to_numpy(dtype=float)
    existing = (carried["tier"] == EXISTING).to_numpy()
    tier_total = np.where(existing, carried[EXISTING], carried[ADDED]).astype(float)
    fill = np.where(existing, carried["fill0"], carried["fill1"]).astype(float)
    total = carried["total"].to_numpy(dtype=float)
    share = np.divide(c, tier_total, out=np.zeros(len(c)), where=tier_total > 0)
    spread = np.divide(c, total, out=np.zeros(len(c)), where=total > 0)
    carried = carried[["facility", *key, "tier", "capacity"]].assign(
        activity=fill * share + carried["over"].to_numpy(dtype=float) * spread
    )
    rest = groups[(C <= 0) & (A != 0)]
    residual = pd.DataFrame(
        {
            "facility": REST + rest["process"].astype(str) + ":" + rest["region"].astype(str),
            **{k: rest[k].to_numpy() for k in key},
            "tier": RESIDUAL,
            "capacity": np.nan,
            "activity": rest["activity"].to_numpy(dtype=float),
        }
    )
    frames = [f for f in (carried, residual) if len(f)]
    if not frames:
        return carried
    return pd.concat(frames, ignore_index=True)


# -- figures ---------------------------------------------------------------------------------


def _yearly(economy: Economy, carried: pd.DataFrame) -> pd.DataFrame:
    """Each unit's output, inputs and labour in each year, from its activity and that
    year's coefficients, with the product whose profile each figure follows (``profile``:
    a product's own for output, the process's main product for inputs and labour)."""
    e = economy
    products = e.product_ids.to_numpy(dtype=object)
    labour = e.tables["products"]["kind"].to_numpy(dtype=object) == "labour"
    main = e.positions("processes", "main_product")
    parts = []
    for year in e.years:
        here = carried[(carried["year"] == year).to_numpy() & (carried["activity"] != 0).to_numpy()]
        process = e.process_ids.get_indexer(pd.Index(here["process"]))
        level = here["activity"].to_numpy(dtype=float)
        for flow, matrix in (("output", e.outputs(year)), ("input", e.inputs(year))):
            coo = matrix[:, process].tocoo()
            if flow == "output":
                kind = np.full(coo.nnz, "output", dtype=object)
                profile = coo.row
            else:
                kind = np.where(labour[coo.row], "labour", "input").astype(object)
                profile = main[process[coo.col]]
            parts.append(
                pd.DataFrame(
                    {
                        "facility": here["facility"].to_numpy(dtype=object)[coo.col],
                        "region": here["region"].to_numpy(dtype=object)[coo.col],
                        "process": here["process"].to_numpy(dtype=object)[coo.col],
                        "product": products[coo.row],
                        "year": year,
                        "kind": kind,
                        "amount": coo.data * level[coo.col],
                        "profile": profile,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _monthly(economy: Economy, yearly: pd.DataFrame) -> pd.DataFrame:
    """The yearly figures spread over their months; months without a share are left out."""
    output = yearly["kind"].to_numpy() == "output"
    profile = yearly["profile"].to_numpy(dtype=int)
    shares = np.where(
        output[:, None],
        share_matrix(economy, "output")[profile],
        share_matrix(economy, "input")[profile],
    )
    amount = (yearly["amount"].to_numpy(dtype=float)[:, None] * shares).ravel()
    rows = np.repeat(np.arange(len(yearly)), len(MONTHS))
    monthly = yearly.drop(columns=["profile", "amount"]).iloc[rows]
    monthly = monthly.assign(month=np.tile(MONTHS, len(yearly)), amount=amount)[FIGURES]
    kept: pd.DataFrame = monthly[amount != 0]
    return kept


def _names(economy: Economy, unit_ids: pd.Index) -> pd.Series:
    """A name for every unit: the facility's own; for new capacity the option's name; for a
    residual unit what it stands for."""
    facilities = economy.tables["facilities"].set_index("id")["name"]
    options = economy.tables["investments"].set_index("id")["name"]
    processes = economy.tables["processes"].set_index("id")["name"]
    regions = economy.tables["regions"].set_index("id")["name"]
    ids = pd.Series(unit_ids.to_numpy(dtype=object), index=unit_ids)
    new = ids.str.startswith(NEW)
    rest = ids.str.startswith(REST)
    option = ids[new].str.slice(len(NEW))
    parts = ids[rest].str.slice(len(REST)).str.split(":", n=1, expand=True)
    names = facilities.reindex(unit_ids).astype(object)
    names[new] = ("New: " + options.reindex(option).fillna(option).astype(str)).to_numpy()
    if rest.any():
        process = processes.reindex(parts[0]).fillna(parts[0]).astype(str).to_numpy()
        region = regions.reindex(parts[1]).fillna(parts[1]).astype(str).to_numpy()
        names[rest] = (
            "Other " + pd.Series(process) + " in " + region + " (no named facility)"
        ).to_numpy()
    return names.fillna(ids).rename("name")


# -- the whole job -------------------------------------------------------------------------


def check_plan(economy: Economy, plan: Plan) -> None:
    """Raise BreakdownError unless ``plan`` is an optimal plan made from ``economy``."""
    if plan.info.get("status") != "optimal" or "activity" not in plan.tables:
        message = (
            f"the plan is {plan.info.get('status')!r}, not 'optimal': it has no activity to "
            "break down (an infeasible plan's diagnosis says why)"
        )
        raise BreakdownError(message)
    head = plan.info.get("economy")
    if not isinstance(head, dict) or head.get("hash") != economy_hash(economy):
        name = head.get("name") if isinstance(head, dict) else None
        message = (
            f"the plan was made from another economy ({name!r}), or from another version of "
            f"{economy.settings.name!r} (their hashes differ): break it down against the "
            "economy it was planned from, or plan again"
        )
        raise BreakdownError(message)


def control_figures(economy: Economy, plan: Plan) -> ControlFigures:
    """The plan's control figures for every facility, new unit of capacity and residual unit.

    Raises BreakdownError for a plan that is not optimal, was made from another economy, or
    runs a process beyond its capacity."""
    check_plan(economy, plan)
    investment = plan.tables["investment"]
    units = capacity_units(economy, investment)
    carried = allocate(economy, plan.tables["activity"], units)
    key = ["facility", "process", "region", "year"]
    activity = pd.DataFrame(
        carried.groupby(key, as_index=False, dropna=False)[["capacity", "activity"]].sum(
            min_count=1
        )
    )
    capacity = activity["capacity"].to_numpy(dtype=float)
    activity["utilisation"] = np.divide(
        activity["activity"].to_numpy(dtype=float),
        capacity,
        out=np.full(len(activity), np.nan),
        where=capacity > 0,
    )
    activity = activity[ACTIVITY].sort_values(["facility", "process", "year"], kind="stable")
    figures = _monthly(economy, _yearly(economy, carried))
    figures = figures.sort_values(
        ["facility", "process", "year", "kind", "product", "month"], kind="stable"
    )
    tasks, materials = investment_tasks(economy, investment)
    unit_ids = pd.Index(sorted(set(activity["facility"]) | set(tasks["facility"])), dtype=object)
    products = economy.tables["products"].set_index("id")["unit"]
    return ControlFigures(
        figures=figures.reset_index(drop=True),
        activity=activity.reset_index(drop=True),
        tasks=tasks,
        materials=materials,
        names=_names(economy, unit_ids),
        units=products,
        regions=MappingProxyType(dict(economy.region_members)),
    )


def investment_tasks(
    economy: Economy, investment: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan's investments as tasks of the units that carry them out (a renovation its
    facility, a build ``new:<option>``), and the materials and labour of each by product and
    year: the option's bill times the units, spread evenly over its lead time, as the plan
    counts them (:func:`econplan.plan.flows.investment_bills`)."""
    options = economy.tables["investments"].set_index("id")
    option = investment["option"].to_numpy(dtype=object)
    named = investment["facility"].to_numpy(dtype=object)
    units = investment["units"].to_numpy(dtype=float)
    tasks = pd.DataFrame(
        {
            "facility": np.where(pd.isna(named), NEW + option.astype(str), named),
            "option": option,
            "action": investment["kind"].to_numpy(dtype=object),
            "process": investment["process"].to_numpy(dtype=object),
            "region": investment["region"].to_numpy(dtype=object),
            "units": units,
            "capacity": units * options["capacity"].reindex(option).to_numpy(dtype=float),
            "start_year": investment["start_year"].to_numpy(dtype=int),
            "ready_year": investment["ready_year"].to_numpy(dtype=int),
        }
    )
    bills = investment_bills(economy, investment)
    if len(bills) == 0:
        empty = {c: pd.Series(dtype=object) for c in MATERIALS}
        return tasks, pd.DataFrame(empty).astype({"amount": float})
    labour = economy.tables["products"].set_index("id")["kind"] == "labour"
    materials = bills.merge(
        tasks[["facility", "option", "start_year"]], on=["option", "start_year"]
    )
    is_labour = labour.reindex(materials["product"]).fillna(False).to_numpy(dtype=bool)
    materials["kind"] = np.where(is_labour, "labour", "input")
    materials = materials[MATERIALS].sort_values(
        ["facility", "option", "start_year", "year", "kind", "product"], kind="stable"
    )
    tasks = tasks.sort_values(["facility", "option", "start_year"], kind="stable")
    return tasks.reset_index(drop=True), materials.reset_index(drop=True)
