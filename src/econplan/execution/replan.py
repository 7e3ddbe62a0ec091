"""Planning again from what was reported: the months reported are facts, the rest of the
horizon is planned again, optimally, from there.

The plan is yearly; reports are monthly. Each facility's reported output of its process's main
product, divided by the main product's yield per unit of activity, is activity, summed to
process, region and month. Then, for the re-plan:

- a year wholly reported (every month up to ``as_of``) holds each process and region at what
  was done that year, exactly; investment started in such a year is held at the plan it
  revises (construction begun cannot be un-begun, and reports do not name options);
- the year ``as_of`` falls in holds each process and region at least at what was done so far,
  and at most that plus its capacity times the share of the year left (monthly shares by
  product, flat by default), so a shortfall is made up only as far as capacity allows; the
  targets of that year which the revised plan met are held as hard, so that a shortfall the
  months left cannot absorb makes the re-plan infeasible, with the usual diagnosis naming the
  targets and the limits, rather than quietly missing a promise made for the year under way;
- later years are free, with the economy's targets as they are.

What was not reported is taken as planned: a facility with no output report for a month is
assumed to have made its share of the plan (its share of its process's capacity in its region,
times the month's share of the year), and so is capacity the plan builds, which no facility of
the economy reports for. Zero would turn every late or lost report into a shortfall that did
not happen; as planned, a missing report changes nothing, and monitoring is where it is chased.

Reports after ``as_of``, or for months outside the plan's horizon, are left out. Kinds other
than ``output`` (input, labour, construction) do not fix anything here: the re-plan fills in
the rest of the past (shipments, trade, stocks, consumption) as the best account consistent
with the facts.

The re-plan uses the method and tolerance of the plan it revises. It starts HiGHS from scratch:
a written plan holds no basis, and the solver deliberately clears the last one (a stale basis
was measured to send the first stage's dual simplex on for minutes), so a re-plan takes as long
as a plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from econplan.execution.diff import PlanDiff, diff_plans
from econplan.model.economy import Economy
from econplan.plan import Fixed, Plan, make_plan
from econplan.plan.solve import Progress

REPORT_COLUMNS = ["report", "facility", "period", "kind", "product", "amount"]
PAIR = ["process", "region"]
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_ABOVE_CAPACITY = 1e-6
"""Relative excess over capacity a fact may have (rounding in reports) before it is refused."""


class ReplanError(ValueError):
    """Reports or a date that cannot be re-planned from: the message says which and why."""


@dataclass(frozen=True)
class Replan:
    """A re-plan: the new plan, what was fixed in it, the facts by process, region and year,
    and how it differs from the plan it revises."""

    as_of: str
    plan: Plan
    fixed: Fixed
    facts: pd.DataFrame
    """process, region, year, months (reported through), done (activity to date, with months
    not reported as planned), planned (the revised plan's activity for the year), lower,
    upper (the bounds the re-plan keeps)."""
    diff: PlanDiff

    @property
    def status(self) -> str:
        return self.plan.status

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "status": self.status,
            "fixed": self.fixed.summary(),
            "diff": self.diff.to_dict(top),
        }


def parse_period(text: str) -> tuple[int, int]:
    """(year, month) of "YYYY-MM"."""
    found = _PERIOD.fullmatch(str(text).strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        message = f"{text!r} is not a month: write it as YYYY-MM (2021-06)"
        raise ReplanError(message)
    return int(found.group(1)), int(found.group(2))


def flat_shares(products: pd.Index | list[str]) -> pd.DataFrame:
    """A twelfth of the year in every month, for every product."""
    product = np.repeat(np.asarray(list(products), dtype=object), 12)
    month = np.tile(np.arange(1, 13), len(product) // 12)
    return pd.DataFrame({"product": product, "month": month, "share": 1.0 / 12.0})


def _shares(economy: Economy, shares: pd.DataFrame | None) -> pd.DataFrame:
    """Monthly shares of every product (product x month 1-12, rows summing to 1); a product
    the frame leaves out gets flat shares."""
    flat = flat_shares(economy.product_ids).pivot(index="product", columns="month", values="share")
    if shares is None or shares.empty:
        return flat
    given = shares.pivot_table(index="product", columns="month", values="share", aggfunc="sum")
    given = given.reindex(columns=range(1, 13)).fillna(0.0)
    totals = given.sum(axis=1)
    bad = totals[(totals - 1.0).abs() > 1e-6]
    if len(bad):
        message = (
            f"monthly shares of {bad.index[0]} add up to {bad.iloc[0]:g}, not 1: "
            "give each product's share of every month of the year"
        )
        raise ReplanError(message)
    flat.loc[flat.index.isin(given.index)] = given.reindex(flat.index[flat.index.isin(given.index)])
    return flat


def _main_yield(economy: Economy, year: int) -> pd.Series:
    """Units of its main product each process gives per unit of activity in ``year``."""
    processes = economy.tables["processes"]
    rows = economy.product_ids.get_indexer(pd.Index(processes["main_product"]))
    cols = economy.process_ids.get_indexer(pd.Index(processes["id"]))
    values = np.asarray(economy.outputs(year)[rows, cols]).ravel()
    return pd.Series(values, index=pd.Index(processes["id"], name="process"))


def _reported_activity(
    economy: Economy, actuals: pd.DataFrame, months: pd.DataFrame
) -> pd.DataFrame:
    """facility, year, month, activity: output of the facility's main product reported in the
    months of ``months`` (year, month), as activity."""
    missing = [c for c in REPORT_COLUMNS if c not in actuals.columns]
    if missing:
        message = f"reports: no column {', '.join(missing)} (columns: {', '.join(REPORT_COLUMNS)})"
        raise ReplanError(message)
    output = actuals[actuals["kind"] == "output"]
    facilities = economy.tables["facilities"].set_index("id")
    unknown = sorted(set(output["facility"].astype(str)) - set(facilities.index.astype(str)))
    if unknown:
        message = f"reports name facility {unknown[0]!r}, which the economy does not have"
        raise ReplanError(message)
    amount = output["amount"].to_numpy(dtype=float)
    if not np.isfinite(amount).all() or (amount < 0).any():
        message = "reports: an output amount is missing, negative or not a number"
        raise ReplanError(message)
    period = [parse_period(p) for p in output["period"]]
    frame = pd.DataFrame(
        {
            "facility": output["facility"].to_numpy(dtype=object),
            "year": np.array([y for y, _ in period], dtype=int),
            "month": np.array([m for _, m in period], dtype=int),
            "product": output["product"].to_numpy(dtype=object),
            "amount": amount,
        }
    )
    frame = frame.merge(months, on=["year", "month"])  # the months fixed, no others
    process = facilities["process"].reindex(frame["facility"]).to_numpy(dtype=object)
    main = economy.tables["processes"].set_index("id")["main_product"]
    frame = frame.assign(process=process)
    frame = frame[frame["product"].to_numpy(dtype=object) == main.reindex(process).to_numpy()]
    parts = []
    for year, part in frame.groupby("year"):
        per_unit = _main_yield(economy, int(year)).reindex(part["process"]).to_numpy()
        parts.append(part.assign(activity=part["amount"].to_numpy() / per_unit))
    columns = ["facility", "year", "month", "activity"]
    if not parts:
        return pd.DataFrame({"facility": pd.Series(dtype=object)}).assign(
            year=pd.Series(dtype=int), month=pd.Series(dtype=int), activity=pd.Series(dtype=float)
        )
    reported = pd.concat(parts, ignore_index=True)
    summed: pd.DataFrame = reported.groupby(columns[:3])["activity"].sum().reset_index()
    return summed[columns]


def activity_done(
    economy: Economy,
    plan: Plan,
    actuals: pd.DataFrame,
    as_of: str,
    shares: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """process, region, year, months, done: activity from the start of the plan through
    ``as_of``, by year, from the reports, with every facility-month not reported (and the
    plan's new capacity, which no facility reports for) taken as planned."""
    last_year, last_month = parse_period(as_of)
    years = [y for y in economy.years if y <= last_year]
    months = pd.DataFrame(
        [(y, m) for y in years for m in range(1, 13) if (y, m) <= (last_year, last_month)],
        columns=["year", "month"],
    ).astype(int)
    by_month = _shares(economy, shares)
    main = economy.tables["processes"].set_index("id")["main_product"]
    planned = plan.tables["activity"]
    planned = planned[planned["year"].isin(years)]
    # the plan's activity of each process, region and month
    pair_months = planned.merge(months, on="year")
    share = by_month.stack()
    month_share = share.reindex(
        pd.MultiIndex.from_arrays(
            [main.reindex(pair_months["process"]).to_numpy(), pair_months["month"].to_numpy()]
        )
    ).to_numpy()
    pair_months = pair_months.assign(planned=pair_months["activity"] * month_share)
    # each facility's part of it: its capacity over the pair's (the plan's new capacity too)
    facilities = economy.tables["facilities"]
    capacity = plan.tables["capacity"].set_index([*PAIR, "year"])["total"]
    parts = []
    for year in years:
        open_ = facilities[economy.operating(year).to_numpy()]
        parts.append(open_[["id", *PAIR, "capacity"]].assign(year=year))
    own = pd.concat(parts, ignore_index=True).rename(columns={"id": "facility"})
    theirs = own.groupby([*PAIR, "year"])["capacity"].transform("sum")
    total = capacity.reindex(pd.MultiIndex.from_frame(own[[*PAIR, "year"]])).to_numpy()
    whole_pair = np.fmax(np.nan_to_num(total), theirs.to_numpy())
    own["part"] = np.divide(
        own["capacity"].to_numpy(dtype=float),
        whole_pair,
        out=np.zeros(len(own)),
        where=whole_pair > 0,
    )
    per_facility = own.merge(pair_months[[*PAIR, "year", "month", "planned"]], on=[*PAIR, "year"])
    per_facility["planned"] *= per_facility["part"]
    reported = _reported_activity(economy, actuals, months)
    located = facilities.set_index("id")[PAIR].reindex(reported["facility"])
    reported = reported.assign(
        process=located["process"].to_numpy(dtype=object),
        region=located["region"].to_numpy(dtype=object),
    )
    key = ["facility", *PAIR, "year", "month"]
    merged = per_facility[[*key, "planned"]].merge(reported, on=key, how="outer")
    merged["done"] = merged["activity"].where(merged["activity"].notna(), merged["planned"])
    # what the plan's new capacity makes: planned minus the facilities' parts
    facility_part = own.groupby([*PAIR, "year"])["part"].sum()
    new_part = (
        1.0
        - facility_part.reindex(pd.MultiIndex.from_frame(pair_months[[*PAIR, "year"]]))
        .fillna(0.0)
        .to_numpy()
    )
    built = pair_months.assign(done=pair_months["planned"] * np.clip(new_part, 0.0, None))
    done = pd.concat(
        [merged[[*PAIR, "year", "month", "done"]], built[[*PAIR, "year", "month", "done"]]],
        ignore_index=True,
    )
    total_done = done.groupby([*PAIR, "year"])["done"].sum().reset_index()
    through = months.groupby("year")["month"].max().rename("months").reset_index()
    found: pd.DataFrame = total_done.merge(through, on="year")
    return found[[*PAIR, "year", "months", "done"]]


def fixed_from_reports(
    economy: Economy,
    plan: Plan,
    actuals: pd.DataFrame,
    as_of: str,
    shares: pd.DataFrame | None = None,
) -> tuple[Fixed, pd.DataFrame]:
    """The bounds a re-plan as of ``as_of`` keeps (see the module's docstring), and the facts
    behind them by process, region and year."""
    if plan.status != "optimal" or "activity" not in plan.tables:
        message = f"the plan to revise is {plan.status!r}: only an optimal plan can be re-planned"
        raise ReplanError(message)
    year, month = parse_period(as_of)
    first, last = economy.settings.first_year, economy.settings.last_year
    if not first <= year <= last:
        message = (
            f"as of {as_of}: outside the plan's horizon {first}-{last}: give the last month "
            f"reported, {first}-01 to {last}-12"
        )
        raise ReplanError(message)
    done = activity_done(economy, plan, actuals, as_of, shares)
    planned = plan.tables["activity"].set_index([*PAIR, "year"])["activity"]
    facts = done.assign(
        planned=planned.reindex(pd.MultiIndex.from_frame(done[[*PAIR, "year"]])).to_numpy()
    )
    capacity = plan.tables["capacity"].set_index([*PAIR, "year"])["total"]
    total = capacity.reindex(pd.MultiIndex.from_frame(facts[[*PAIR, "year"]])).to_numpy()
    whole = (facts["months"] == 12).to_numpy()
    left = _shares(economy, shares).iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
    left = left.shift(-1, axis=1).fillna(0.0)  # left[p][m]: share of the months after m
    main = economy.tables["processes"].set_index("id")["main_product"]
    share_left = left[month].reindex(main.reindex(facts["process"]).to_numpy()).to_numpy()
    room = np.where(np.isnan(total), np.inf, np.nan_to_num(total) * share_left)
    done_ = facts["done"].to_numpy(dtype=float)
    facts["lower"] = done_
    facts["upper"] = np.where(whole, done_, done_ + room)
    # a fact beyond capacity means the economy's capacity or the report is wrong; no plan
    # (not even the diagnosis) could hold it
    over = done_ > np.nan_to_num(total, nan=np.inf) * (1 + _ABOVE_CAPACITY) + 1e-9
    if over.any():
        row = facts[over].iloc[0]
        cap = float(capacity.loc[(row["process"], row["region"], row["year"])])
        message = (
            f"{row['process']} in {row['region']} made {row['done']:.6g} (as activity) in "
            f"{row['year']} through month {row['months']}, more than its capacity of {cap:.6g}: "
            "correct the facilities' capacities in the economy, or the reports"
        )
        raise ReplanError(message)
    started = _investment_started(
        economy, plan, [y for y in economy.years if (y, 12) <= (year, month)]
    )
    # the year under way keeps what the revised plan promised for it
    targets = plan.tables["targets"]
    promised = targets[(targets["year"] == year) & targets["met"] & (targets["kind"] != "hard")]
    if month == 12:
        promised = promised.iloc[:0]  # a year wholly reported is past: nothing left to promise
    # the targets of a year wholly past, hard ones included, are facts now: met or not, the
    # re-plan cannot change them (the diff shows those lost); it plans what is still open
    closed = year if month == 12 else year - 1
    past = targets[targets["year"] <= closed]
    fixed = Fixed(
        activity=facts[[*PAIR, "year", "lower", "upper"]],
        investment=started,
        hard_targets=tuple(promised["id"].astype(str)),
        released_targets=tuple(past["id"].astype(str)),
        closed_years=tuple(y for y in economy.years if y <= closed),
        as_of=as_of,
    )
    return fixed, facts


def _investment_started(economy: Economy, plan: Plan, years: list[int]) -> pd.DataFrame:
    """option, start_year, lower, upper: every option's start in ``years`` held at the plan's
    units (none where the plan starts none)."""
    options = economy.tables["investments"]["id"].to_numpy(dtype=object)
    grid = pd.DataFrame(
        {
            "option": np.repeat(options, len(years)),
            "start_year": np.tile(np.asarray(years, dtype=int), len(options)),
        }
    )
    chosen = plan.tables["investment"].set_index(["option", "start_year"])["units"]
    units = chosen.reindex(pd.MultiIndex.from_frame(grid)).fillna(0.0).to_numpy()
    return grid.assign(lower=units, upper=units)


def replan(
    economy: Economy,
    plan: Plan,
    actuals: pd.DataFrame,
    as_of: str,
    shares: pd.DataFrame | None = None,
    *,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> Replan:
    """Plan ``economy`` again as of ``as_of`` ("YYYY-MM"), with what ``actuals`` (the reports
    frame) says was made through that month held as facts; see the module's docstring for
    what is fixed and why. ``shares``: product, month, share of the year's output made in the
    month (flat when None or for a product left out).

    An infeasible re-plan is returned, not raised: its plan has status ``infeasible`` and the
    diagnosis (the targets that cannot be met and the limits behind them). Raises ReplanError
    for reports that cannot be facts of this economy and plan."""
    fixed, facts = fixed_from_reports(economy, plan, actuals, as_of, shares)
    solver = plan.info["solver"]
    new = make_plan(
        economy,
        method=str(solver["method"]),
        time_limit=time_limit,
        tolerance=float(solver["tolerance"]),
        progress=progress,
        fixed=fixed,
        previous=plan,
    )
    return Replan(as_of, new, fixed, facts, diff_plans(plan, new))
