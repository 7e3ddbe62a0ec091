"""Monitoring: the plan to date against what was reported, the year's outcome forecast for
every facility, product, region and the nation, the alerts that follow, and what each alert
puts at risk downstream.

Pure: control figures and reports in (the frames of :mod:`econplan.execution`), frames out.
The forecasting model is in :mod:`~econplan.execution.forecast`, the alert rules in
:mod:`~econplan.execution.alerts`, the downstream propagation in
:mod:`~econplan.execution.risk`; docs/execution.md (Monitoring) writes them out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.execution.alerts import LADDER, RULES, Rule, alert_id, evaluate
from econplan.execution.forecast import (
    LocalLevel,
    Outcome,
    Prior,
    estimate,
    kalman_filter,
    ratios_of,
    year_outcome,
)
from econplan.execution.risk import Shortfall, at_risk
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.output import jsonable

LEVELS = ("facility", "product", "region", "nation")
"""The series monitored: a facility's output of a product, a product in the nation, a product
in a region, and the nation (every product counted as a share of its year's plan)."""

START = {"facility": 0, "region": 1, "product": 2, "nation": 3}
"""The rung of the escalation ladder each level's alerts start on: a product's national
shortfall is the ministry's from the first month, the nation's is the centre's."""

NATION = "nation"
MONTHS = 12
INTERVAL = 1.6448536269514722
"""z of a central 90% interval: forecast_low and forecast_high."""

STATUS_COLUMNS = [
    "level",
    "id",
    "product",
    "plan_to_date",
    "actual_to_date",
    "fulfilment",
    "forecast",
    "forecast_sd",
    "forecast_low",
    "forecast_high",
    "probability_short",
    "region",
    "plan_year",
]
RISK_COLUMNS = ["alert", "rank", "kind", "id", "product", "region", "planned", "at_risk", "share"]
ALERT_COLUMNS = [
    "id",
    "rule",
    "severity",
    "state",
    "level",
    "series",
    "product",
    "region",
    "since",
    "fired",
    "resolved",
    "months_firing",
    "escalation",
    "addressee",
    "plan_year",
    "forecast",
    "shortfall",
    "probability_short",
]


class MonitorError(ValueError):
    """Inputs that cannot be monitored (a bad period, no plan for the year)."""


@dataclass(frozen=True)
class Monitoring:
    """What ``monitor`` finds as of a month: ``status`` of every series, ``alerts`` (every
    episode of the year that fired or is pending), ``at_risk`` (targets and products each
    firing alert puts at risk), and the variances estimated for each level."""

    as_of: str
    status: pd.DataFrame
    alerts: pd.DataFrame
    at_risk: pd.DataFrame
    models: dict[str, LocalLevel] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able values (``econplan monitor --json``)."""
        return {
            "as_of": self.as_of,
            "models": {
                level: {"irregular": m.irregular, "level": m.level, "prior_var": m.prior_var}
                for level, m in self.models.items()
            },
            "status": _records(self.status),
            "alerts": _records(self.alerts),
            "at_risk": _records(self.at_risk),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [jsonable(row) for row in clean.to_dict(orient="records")]


def parse_period(period: str) -> tuple[int, int]:
    """Year and month of "YYYY-MM"."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", str(period))
    if not found or not 1 <= int(found.group(2)) <= MONTHS:
        message = f"period {period!r} is not a month: write it as YYYY-MM, e.g. 2021-06"
        raise MonitorError(message)
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True)
class Series:
    """Series of one level as arrays: ``plan`` (series x 12), ``reported_plan`` and
    ``actual`` (series x months to date), with their labels (level, id, product, region)."""

    labels: pd.DataFrame
    plan: np.ndarray
    reported_plan: np.ndarray
    actual: np.ndarray

    def aggregate(self, members: sp.csr_matrix, labels: pd.DataFrame) -> Series:
        """Sums of member series: ``members`` is new series x these series (weights)."""
        return Series(
            labels.reset_index(drop=True),
            np.asarray(members @ self.plan),
            np.asarray(members @ self.reported_plan),
            np.asarray(members @ self.actual),
        )


def facility_series(control: pd.DataFrame, reports: pd.DataFrame, year: int, month: int) -> Series:
    """Each facility's output of each product it has a plan for, month by month.

    A month counts as reported for a facility when any report of it for that month came in;
    a product it then leaves out was not made. Report rows for the same facility, month and
    product add up.
    """
    planned = control[(control["kind"] == "output") & (control["year"] == year)]
    if planned.empty:
        message = f"the control figures hold no output plan for {year}"
        raise MonitorError(message)
    keys = ["facility", "product"]
    labels = (
        planned.groupby(keys, as_index=False, sort=True)
        .agg(region=("region", "first"), process=("process", "first"))
        .reset_index(drop=True)
    )
    index = pd.MultiIndex.from_frame(labels[keys])
    row = index.get_indexer(pd.MultiIndex.from_frame(planned[keys]))
    plan = np.zeros((len(labels), MONTHS))
    np.add.at(plan, (row, planned["month"].to_numpy(dtype=int) - 1), planned["amount"].to_numpy())

    period = reports["period"].astype(str)
    in_year = period.str.slice(0, 4) == str(year)
    months = pd.to_numeric(period.str.slice(5, 7), errors="coerce")
    reports = reports.assign(month=months)[in_year & (months <= month)]
    came_in = reports[["facility", "month"]].drop_duplicates()
    reported = np.zeros((len(labels), month), dtype=bool)
    facility_of = pd.Index(labels["facility"])
    for month_number, facilities in came_in.groupby("month")["facility"]:
        reported[facility_of.isin(facilities.to_numpy()), int(str(month_number)) - 1] = True
    output = reports[reports["kind"] == "output"]
    row = index.get_indexer(pd.MultiIndex.from_frame(output[keys]))
    known = row >= 0  # output the plan did not ask for has no fulfilment to measure
    actual = np.zeros((len(labels), month))
    np.add.at(
        actual,
        (row[known], output["month"].to_numpy(dtype=int)[known] - 1),
        output["amount"].to_numpy(dtype=float)[known],
    )
    labels = labels.assign(level="facility", id=labels["facility"])
    return Series(labels, plan, plan[:, :month] * reported, actual)


def _grouped(series: Series, keys: list[str], level: str, id_column: str) -> Series:
    """Sums of facility series by ``keys`` (product; region and product)."""
    groups = series.labels.groupby(keys, sort=True).ngroup().to_numpy()
    labels = series.labels.groupby(keys, as_index=False, sort=True).size()[keys]
    members = sp.csr_matrix(
        (np.ones(len(groups)), (groups, np.arange(len(groups)))),
        shape=(len(labels), len(groups)),
    )
    labels = labels.assign(level=level, id=labels[id_column])
    if "region" not in labels:
        labels["region"] = None
    return series.aggregate(members, labels)


def _nation(by_product: Series, weights: pd.Series | None) -> Series:
    """The nation as one series: each product's figures times its weight; by default every
    product weighs one over the number of products times its year's plan, so the nation's
    year plan is 1 and its figures read as shares of it."""
    year_plan = by_product.plan.sum(axis=1)
    products = by_product.labels["product"]
    if weights is None:
        weight = np.divide(1.0, year_plan * len(year_plan), out=np.zeros_like(year_plan),
                           where=year_plan > 0)  # fmt: skip
    else:
        weight = weights.reindex(pd.Index(products)).fillna(0.0).to_numpy(dtype=float)
    members = sp.csr_matrix(weight[None, :])
    labels = pd.DataFrame({"level": [NATION], "id": [NATION], "product": [None], "region": [None]})
    return by_product.aggregate(members, labels)


def monitored_series(
    control: pd.DataFrame,
    reports: pd.DataFrame,
    year: int,
    month: int,
    weights: pd.Series | None = None,
) -> dict[str, Series]:
    """The series of every level (LEVELS) in ``year`` through ``month``: what ``monitor``
    filters and forecasts, and what figures of a trajectory show."""
    facilities = facility_series(control, reports, year, month)
    by_product = _grouped(facilities, ["product"], "product", "product")
    return {
        "facility": facilities,
        "product": by_product,
        "region": _grouped(facilities, ["region", "product"], "region", "region"),
        "nation": _nation(by_product, weights),
    }


def monitor(
    control: pd.DataFrame,
    reports: pd.DataFrame,
    as_of: str,
    economy: Economy | None = None,
    plan: Plan | None = None,
    rules: Sequence[Rule] = RULES,
    threshold: float = 0.05,
    weights: pd.Series | None = None,
    prior: Prior | None = None,
    top: int = 10,
) -> Monitoring:
    """Monitor the plan's output in the year of ``as_of`` ("YYYY-MM") from the reports so far.

    ``probability_short`` in the status is P(the year's outcome < plan x (1 - threshold)).
    With ``economy`` and ``plan`` each firing alert is traced downstream (``at_risk``), and
    ministries are named by the sector of the facility's process; ``weights`` (by product)
    replace the equal weights of products in the nation's series.
    """
    year, month = parse_period(as_of)
    levels = monitored_series(control, reports, year, month, weights)
    thresholds = sorted({threshold, *(r.threshold for r in rules)})
    status, alerts, models = [], [], {}
    for level, series in levels.items():
        ratios = ratios_of(series.reported_plan, series.actual)
        model = estimate(ratios, prior)
        models[level] = model
        filtered = kalman_filter(ratios, model)
        outcome = year_outcome(series.plan, series.reported_plan, series.actual, model, filtered)
        year_plan = series.plan.sum(axis=1)
        short = {t: outcome.probability_below((year_plan * (1 - t))[:, None]) for t in thresholds}
        status.append(_status(series, outcome, short[threshold]))
        start = np.full(len(year_plan), START[level])
        episodes = evaluate(rules, short, start)
        alerts.append(_alerts(episodes, series, outcome, short, rules, year, economy))
    alert_frame = pd.concat(alerts, ignore_index=True)
    alert_frame = alert_frame.sort_values(["level", "series", "product", "rule", "since"])
    alert_frame = alert_frame.reset_index(drop=True)[ALERT_COLUMNS]
    risk = _at_risk(alert_frame, economy, plan, year, top)
    return Monitoring(
        as_of=f"{year:04d}-{month:02d}",
        status=pd.concat(status, ignore_index=True)[STATUS_COLUMNS],
        alerts=alert_frame,
        at_risk=risk,
        models=models,
    )


def _status(series: Series, outcome: Outcome, short: np.ndarray) -> pd.DataFrame:
    months = series.actual.shape[1]
    plan_to_date = series.plan[:, :months].sum(axis=1)
    # fulfilment over the months reported: a month not yet reported is not a month of zero
    plan_reported = series.reported_plan.sum(axis=1)
    actual_to_date = series.actual.sum(axis=1)
    mean, sd = outcome.mean[:, -1], outcome.sd[:, -1]
    labels = series.labels
    return pd.DataFrame(
        {
            "level": labels["level"].to_numpy(dtype=object),
            "id": labels["id"].to_numpy(dtype=object),
            "product": labels["product"].to_numpy(dtype=object),
            "plan_to_date": plan_to_date,
            "plan_reported": plan_reported,
            "actual_to_date": actual_to_date,
            "fulfilment": np.divide(
                actual_to_date,
                plan_reported,
                out=np.full(len(mean), np.nan),
                where=plan_reported > 0,
            ),
            "forecast": mean,
            "forecast_sd": sd,
            "forecast_low": mean - INTERVAL * sd,
            "forecast_high": mean + INTERVAL * sd,
            "probability_short": short[:, -1],
            "region": labels["region"].to_numpy(dtype=object),
            "plan_year": series.plan.sum(axis=1),
        }
    )


def _alerts(
    episodes: pd.DataFrame,
    series: Series,
    outcome: Outcome,
    short: dict[float, np.ndarray],
    rules: Sequence[Rule],
    year: int,
    economy: Economy | None,
) -> pd.DataFrame:
    if episodes.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    row = episodes["series"].to_numpy()
    labels = series.labels.iloc[row].reset_index(drop=True)
    threshold = dict(zip([r.name for r in rules], [r.threshold for r in rules], strict=True))
    probability = np.array(
        [short[threshold[name]][s, -1] for name, s in zip(episodes["rule"], row, strict=True)]
    )
    plan_year = series.plan.sum(axis=1)[row]
    forecast = outcome.mean[row, -1]

    def period(months: pd.Series) -> np.ndarray:
        month = months.to_numpy()
        text = np.array([f"{year:04d}-{m + 1:02d}" for m in month], dtype=object)
        text[month < 0] = None
        return text

    since = period(episodes["since"])
    frame = pd.DataFrame(
        {
            "rule": episodes["rule"].to_numpy(dtype=object),
            "severity": episodes["severity"].to_numpy(dtype=object),
            "state": episodes["state"].to_numpy(dtype=object),
            "level": labels["level"].to_numpy(dtype=object),
            "series": labels["id"].to_numpy(dtype=object),
            "product": labels["product"].to_numpy(dtype=object),
            "region": labels["region"].to_numpy(dtype=object),
            "since": since,
            "fired": period(episodes["fired"]),
            "resolved": period(episodes["resolved"]),
            "months_firing": episodes["months_firing"].to_numpy(dtype=int),
            "escalation": episodes["escalation"].to_numpy(dtype=object),
            "plan_year": plan_year,
            "forecast": forecast,
            "shortfall": np.maximum(plan_year - forecast, 0.0),
            "probability_short": probability,
        }
    )
    frame["addressee"] = _addressee(frame, labels, economy)
    frame["id"] = [
        alert_id(*key)
        for key in zip(
            frame["rule"], frame["level"], frame["series"], frame["product"], since, strict=True
        )
    ]
    return frame


def _addressee(frame: pd.DataFrame, labels: pd.DataFrame, economy: Economy | None) -> np.ndarray:
    """Who the alert is addressed to at its rung: the facility, its region, the ministry of
    its sector (the facility's process's, or the product's), the centre."""
    sector = np.full(len(frame), None, dtype=object)
    if economy is not None:
        by_process = economy.tables["processes"].set_index("id")["sector"]
        by_product = economy.tables["products"].set_index("id")["sector"]
        of_product = by_product.reindex(pd.Index(labels["product"].astype(object))).to_numpy()
        if "process" in labels:
            of_process = by_process.reindex(pd.Index(labels["process"].astype(object)))
            sector = np.where(of_process.notna(), of_process.to_numpy(), of_product)
        else:
            sector = of_product
    rung = frame["escalation"].to_numpy(dtype=object)
    return np.select(
        [rung == LADDER[0], rung == LADDER[1], rung == LADDER[2]],
        [frame["series"].to_numpy(dtype=object), frame["region"].to_numpy(dtype=object), sector],
        default="centre",
    )


def _at_risk(
    alerts: pd.DataFrame, economy: Economy | None, plan: Plan | None, year: int, top: int
) -> pd.DataFrame:
    """Targets and products put at risk by each firing alert's expected shortfall."""
    firing = alerts[(alerts["state"] == "firing") & alerts["product"].notna()]
    firing = firing[firing["shortfall"] > 0]
    if economy is None or plan is None or firing.empty:
        return pd.DataFrame(columns=RISK_COLUMNS)
    shortfalls = [
        Shortfall(key, product, None if level in ("product", "nation") else region, amount)
        for key, level, product, region, amount in zip(
            firing["id"],
            firing["level"],
            firing["product"],
            firing["region"],
            firing["shortfall"],
            strict=True,
        )
    ]
    return at_risk(economy, plan, year, shortfalls, top).rename(columns={"key": "alert"})
