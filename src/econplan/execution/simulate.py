"""Simulated fulfilment reports: what enterprises would report, month by month, if they carried
out the plan's control figures as real enterprises do.

The loop of execution (report, compare, trace, re-plan) has to be shown and tested before any
real enterprise reports. :func:`simulate` makes its reports from the control figures: each
facility's output is the plan times a realisation factor, the product of

- noise: a few per cent, autocorrelated from month to month (a good or bad spell lasts),
  with mean 1 so that the months average to the plan;
- a seasonal swing around the plan's own monthly figures, low in winter and high in summer,
  zero over a whole year (construction swings far more than production);
- breakdowns: a facility at 0-30 % of its plan for a month or two, drawn at random;
- shocks given as text (:class:`Shock`), such as a typhoon over a province.

Inputs used scale with output (with a little noise of their own: technique varies), labour
stays close to plan (workers stay on through a breakdown and repair the damage). The same
seed gives the same reports: every draw comes from one ``numpy`` Generator, in a fixed order,
over facilities and months sorted by id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from econplan.columns import to_object
from econplan.errors import UsageError
from econplan.execution.reports import COLUMNS, PERIOD_PATTERN, report_id
from econplan.model.economy import Economy

NOISE = 0.03
"""Standard deviation of a facility's monthly output around its plan (as a share)."""
PERSISTENCE = 0.6
"""Correlation of a facility's noise from one month to the next."""
SEASONAL_SWING = 0.04
"""How far output lies above plan in July and below it in January (as a share)."""
CONSTRUCTION_SWING = 0.25
"""The same for construction, which frozen ground slows far more in winter."""
INPUT_NOISE = 0.015
"""Spread of inputs used per unit of output, month by month."""
LABOUR_NOISE = 0.01
"""Spread of labour worked around its plan."""
BREAKDOWN_LEVEL = (0.0, 0.3)
"""A broken-down facility makes this share of its plan (drawn uniformly)."""
BREAKDOWN_MONTHS = (1, 2)
"""Months a breakdown lasts (drawn uniformly)."""
SIGNIFICANT = 6
"""Significant digits of a simulated amount: a report gives figures, not doubles."""

RECOVERY = {"typhoon": "linear", "flood": "linear", "breakdown": "none"}
"""Each kind of shock and how output comes back: ``linear`` from the loss in the first month
to none after the shock's months; ``none``: the loss lasts all its months, then ends."""

BUILTIN_SHOCKS = ("typhoon:south_hamgyong:2021-08:0.5:6",)
"""The built-in scenario: a typhoon such as Maysak (September 2020) over South Hamgyong in
August of the plan's first year, half of the province's output lost at first and recovered
over six months."""


@dataclass(frozen=True)
class Shock:
    """An event that cuts the output of a region's facilities (sub-regions included) or of one
    facility: written ``KIND:TARGET:START:LOSS:MONTHS``, as
    ``typhoon:south_hamgyong:2021-08:0.5:6``.

    ``KIND`` is one of :data:`RECOVERY`; ``TARGET`` a region or facility id; ``START`` the
    first month hit (YYYY-MM); ``LOSS`` the share of planned output lost in that month (0 to
    1); ``MONTHS`` how many months it lasts, recovery included.
    """

    kind: str
    target: str
    start: str
    loss: float
    months: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}:{self.start}:{self.loss:g}:{self.months}"

    @classmethod
    def parse(cls, spec: str) -> Shock:
        """A shock from its text; UsageError saying what is wrong and how to write it."""
        how = f"write KIND:TARGET:YYYY-MM:LOSS:MONTHS, like {BUILTIN_SHOCKS[0]}"
        parts = spec.strip().split(":")
        if len(parts) != 5:
            raise UsageError(f"shock {spec!r} has {len(parts)} parts, not 5: {how}")
        kind, target, start, loss_text, months_text = (p.strip() for p in parts)
        if kind not in RECOVERY:
            raise UsageError(
                f"shock {spec!r}: unknown kind {kind!r}; the kinds are {', '.join(RECOVERY)}"
            )
        if not re.fullmatch(PERIOD_PATTERN, start):
            raise UsageError(f"shock {spec!r}: {start!r} is not a month as YYYY-MM; {how}")
        try:
            loss = float(loss_text)
        except ValueError:
            loss = np.nan
        if not 0 <= loss <= 1:
            raise UsageError(f"shock {spec!r}: the loss {loss_text!r} is not a share from 0 to 1")
        if not months_text.isdigit() or int(months_text) < 1:
            raise UsageError(
                f"shock {spec!r}: the months {months_text!r} are not a whole number >= 1"
            )
        return cls(kind, target, start, loss, int(months_text))

    def losses(self, first_year: int, months: int) -> np.ndarray:
        """The share of output lost in each of ``months`` months from January of
        ``first_year``."""
        start = (int(self.start[:4]) - first_year) * 12 + int(self.start[5:]) - 1
        since = np.arange(months) - start
        hit = (since >= 0) & (since < self.months)
        ramp = 1 - since / self.months if RECOVERY[self.kind] == "linear" else np.ones(months)
        lost: np.ndarray = np.where(hit, self.loss * ramp, 0.0)
        return lost

    def hits(self, economy: Economy) -> pd.Index:
        """The ids of the facilities the shock hits; UsageError for an unknown target."""
        facilities = economy.tables["facilities"]
        if self.target in economy.region_ids:
            members = economy.region_members[self.target]
            inside = facilities["region"].isin(members).to_numpy(dtype=bool)
            hit: pd.Index = pd.Index(facilities["id"].to_numpy(dtype=object)[inside])
            return hit
        if self.target in economy.facility_ids:
            return pd.Index([self.target], dtype=object)
        raise UsageError(
            f"shock {self}: {self.target!r} is neither a region nor a facility of the economy"
        )


def default_shocks(economy: Economy) -> tuple[Shock, ...]:
    """The built-in scenario's shocks that fit ``economy`` (their target is in it and their
    month within its horizon): the typhoon for the built-in economy, none for most others."""
    chosen = []
    for spec in BUILTIN_SHOCKS:
        shock = Shock.parse(spec)
        known = shock.target in economy.region_ids or shock.target in economy.facility_ids
        if known and int(shock.start[:4]) in economy.years:
            chosen.append(shock)
    return tuple(chosen)


def _month_count(until: str, economy: Economy) -> int:
    """Months from January of the plan's first year to ``until``, inclusive."""
    first, last = economy.settings.first_year, economy.settings.last_year
    if not re.fullmatch(PERIOD_PATTERN, until) or not first <= int(until[:4]) <= last:
        raise UsageError(
            f"--until {until!r}: give a month YYYY-MM of the plan, from {first}-01 to {last}-12"
        )
    return (int(until[:4]) - first) * 12 + int(until[5:])


def _periods(first_year: int, months: int) -> np.ndarray:
    return np.array(
        [f"{first_year + t // 12}-{t % 12 + 1:02d}" for t in range(months)], dtype=object
    )


def _noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Factors with mean 1: a stationary AR(1) in logs, so that a spell lasts some months."""
    shocks = rng.standard_normal(shape)
    log = np.empty(shape)
    log[:, 0] = NOISE * shocks[:, 0]
    step = NOISE * np.sqrt(1 - PERSISTENCE**2)
    for t in range(1, shape[1]):
        log[:, t] = PERSISTENCE * log[:, t - 1] + step * shocks[:, t]
    factors: np.ndarray = np.exp(log - NOISE**2 / 2)
    return factors


def _season(months: int, swing: float) -> np.ndarray:
    """1 + swing in July, 1 - swing in January; the twelve months average 1."""
    month = np.arange(months) % 12 + 1
    season: np.ndarray = 1 + swing * np.cos(2 * np.pi * (month - 7) / 12)
    return season


def _significant(values: np.ndarray) -> np.ndarray:
    """Amounts rounded to :data:`SIGNIFICANT` digits (zero stays zero)."""
    size = np.abs(values)
    digits = SIGNIFICANT - 1 - np.floor(np.log10(np.where(size > 0, size, 1.0)))
    scale = 10.0**digits
    rounded: np.ndarray = np.round(values * scale) / scale
    return rounded


def simulate(
    economy: Economy,
    figures: pd.DataFrame,
    until: str,
    seed: int,
    shocks: Sequence[Shock | str] | None = None,
    *,
    breakdowns: int = 1,
    investment: pd.DataFrame | None = None,
    units: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Monthly reports of every facility with control figures, from the plan's first month
    to ``until`` (YYYY-MM), in the shared reports frame (sorted by report, kind, product).

    ``figures`` are control figures (``facility, region, process, product, year, month,
    kind, amount``); ``shocks`` the events (None: :func:`default_shocks`; ``()``: none);
    ``breakdowns`` how many random breakdowns to draw. With ``investment``, the plan's
    investment table (``option, start_year, units``), construction is reported too: each
    option's units spread evenly over the months of its lead time, with noise, a strong
    seasonal swing and the shocks of its region. With ``units`` (the control figures'
    ``activity``: facility, year, capacity, activity), no facility reports more than its
    capacity allows: one planned at full capacity can fall short but not overshoot.
    """
    first_year = economy.settings.first_year
    months = _month_count(until, economy)
    chosen = default_shocks(economy) if shocks is None else tuple(
        s if isinstance(s, Shock) else Shock.parse(s) for s in shocks
    )  # fmt: skip
    plan = figures.assign(t=(figures["year"].astype(int) - first_year) * 12 + figures["month"] - 1)
    plan = plan[(plan["t"] >= 0) & (plan["t"] < months) & (plan["amount"] > 0)]
    plan = pd.DataFrame(
        plan.groupby(["facility", "t", "kind", "product"], as_index=False)["amount"].sum()
    )
    facilities = pd.Index(np.unique(plan["facility"].to_numpy(dtype=object)))
    rng = np.random.default_rng(seed)
    factor = _noise(rng, (len(facilities), months)) * _season(months, SEASONAL_SWING)
    row_noise = {
        "input": np.exp(rng.normal(0, INPUT_NOISE, len(plan)) - INPUT_NOISE**2 / 2),
        "labour": np.exp(rng.normal(0, LABOUR_NOISE, len(plan)) - LABOUR_NOISE**2 / 2),
    }
    for _ in range(breakdowns if len(facilities) else 0):
        hit, start = rng.integers(len(facilities)), rng.integers(months)
        lasting = rng.integers(BREAKDOWN_MONTHS[0], BREAKDOWN_MONTHS[1] + 1)
        factor[hit, start : start + lasting] *= rng.uniform(*BREAKDOWN_LEVEL)
    for shock in chosen:
        inside = facilities.isin(shock.hits(economy))
        factor[inside] *= 1 - shock.losses(first_year, months)
    if units is not None:
        factor = np.minimum(factor, _headroom(units, facilities, first_year, months))
    at = facilities.get_indexer(pd.Index(plan["facility"].to_numpy(dtype=object)))
    t = plan["t"].to_numpy()
    kind = plan["kind"].to_numpy(dtype=object)
    realised = np.where(kind == "labour", 1.0, factor[at, t])
    realised *= np.where(kind == "input", row_noise["input"], 1.0)
    realised *= np.where(kind == "labour", row_noise["labour"], 1.0)
    periods = _periods(first_year, months)
    facility = plan["facility"].to_numpy(dtype=object)
    reports = pd.DataFrame(
        {
            "report": [report_id(f, p) for f, p in zip(facility, periods[t], strict=True)],
            "facility": facility,
            "period": periods[t],
            "kind": kind,
            "product": plan["product"].to_numpy(dtype=object),
            "amount": plan["amount"].to_numpy(dtype=float) * realised,
        }
    )
    if investment is not None:
        built = _construction(economy, investment, months, rng, chosen)
        reports = pd.concat([reports, built], ignore_index=True)
    reports["amount"] = _significant(reports["amount"].to_numpy(dtype=float)) + 0.0
    reports = reports.sort_values(["report", "kind", "product"], kind="stable", ignore_index=True)
    text = {c: to_object(reports[c]) for c in COLUMNS if c != "amount"}  # None for blank
    return pd.DataFrame({**text, "amount": reports["amount"]})[list(COLUMNS)]


CAPACITY_MARGIN = 1e-5
"""Kept below a facility's capacity, so that rounding reports to six digits never puts one
above it."""


def _headroom(
    units: pd.DataFrame, facilities: pd.Index, first_year: int, months: int
) -> np.ndarray:
    """The largest factor each facility's plan may be multiplied by in each month without
    its output passing its capacity (facilities x months; inf where nothing limits it)."""
    years = first_year + np.arange(months) // 12
    capacity = units.pivot_table(index="facility", columns="year", values="capacity", aggfunc="sum")
    activity = units.pivot_table(index="facility", columns="year", values="activity", aggfunc="sum")
    ratio = (capacity / activity.where(activity > 0)).reindex(index=facilities, columns=years)
    return (1 - CAPACITY_MARGIN) * ratio.fillna(np.inf).to_numpy(dtype=float)


def _construction(
    economy: Economy,
    investment: pd.DataFrame,
    months: int,
    rng: np.random.Generator,
    shocks: tuple[Shock, ...],
) -> pd.DataFrame:
    """Construction reports of the plan's investment: each option's units over its lead time
    (a lead time of 0 years is built within the start year)."""
    first_year = economy.settings.first_year
    taken = investment[investment["units"] > 0].sort_values(["option", "start_year"])
    options = economy.tables["investments"].set_index("id")
    option = taken["option"].to_numpy(dtype=object)
    lead = options["lead_time"].reindex(option).fillna(1).to_numpy(dtype=int).clip(1)
    start = (taken["start_year"].to_numpy(dtype=int) - first_year) * 12
    span = np.arange(months)
    active = (span >= start[:, None]) & (span < (start + 12 * lead)[:, None])
    factor = _noise(rng, active.shape) * _season(months, CONSTRUCTION_SWING)
    facility = options["facility"].reindex(option).to_numpy(dtype=object)
    facility_region = economy.tables["facilities"].set_index("id")["region"]
    region = np.where(
        pd.isna(facility),
        options["region"].reindex(option).to_numpy(dtype=object),
        facility_region.reindex(facility).to_numpy(dtype=object),
    )
    for shock in shocks:
        if shock.target in economy.region_ids:
            inside = np.isin(region, economy.region_members[shock.target])
        else:
            inside = facility == shock.target
        factor[inside] *= 1 - shock.losses(first_year, months)
    which, t = np.nonzero(active)
    per_month = taken["units"].to_numpy(dtype=float) / (12 * lead)
    work = pd.DataFrame(
        {"product": option[which], "t": t, "amount": per_month[which] * factor[which, t]}
    )
    # an option started in several years is built in overlapping months: one row a month
    work = pd.DataFrame(work.groupby(["product", "t"], as_index=False)["amount"].sum())
    product = work["product"].to_numpy(dtype=object)
    reporter = options["facility"].reindex(product).to_numpy(dtype=object).copy()
    new = pd.isna(reporter)
    reporter[new] = None
    builder = np.where(new, product, reporter)
    periods = _periods(first_year, months)[work["t"].to_numpy()]
    return pd.DataFrame(
        {
            "report": [report_id(b, p) for b, p in zip(builder, periods, strict=True)],
            "facility": reporter,
            "period": periods,
            "kind": "construction",
            "product": product,
            "amount": work["amount"].to_numpy(dtype=float),
        }
    )
