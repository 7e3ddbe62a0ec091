"""The plan as it is carried out, in figures: the targets (required, planned, reported,
forecast), the trajectory of a facility, product or region over the months (plan, actual and
the forecast's band), and an enterprise's fulfilment.

The numbers are monitoring's (:mod:`econplan.execution.monitor`): the same series, the same
variances estimated for each level, the same forecast (:func:`~econplan.execution.forecast.
year_outcome`); the monthly plan is the control figures' (:func:`~econplan.execution.
breakdown.control_figures`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from econplan.execution.breakdown import BreakdownError, control_figures
from econplan.execution.forecast import Filtered, kalman_filter, ratios_of, year_outcome
from econplan.execution.monitor import (
    INTERVAL,
    MonitorError,
    Monitoring,
    Series,
    monitor,
    monitored_series,
    parse_period,
)
from econplan.execution.risk import target_members
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.reporting.figure import (
    HOVER_NUMBER,
    PALETTE,
    Figure,
    FigureError,
    check_region,
    empty,
    layout,
    product_unit,
    product_units,
    slug,
)

MAX_SERIES = 4
"""Most series one trajectory figure draws (a region makes dozens of products: name one)."""

SHARE = "share of the year's plan"
"""The unit of the nation's series: every product counted as a share of its year's plan."""


def control_of(plan: Plan, economy: Economy, control: pd.DataFrame | None = None) -> pd.DataFrame:
    """The plan's control figures (``control`` when already computed)."""
    if control is not None:
        return control
    try:
        return control_figures(economy, plan).figures
    except BreakdownError as error:
        raise FigureError(str(error)) from None


def _monitor(
    plan: Plan,
    economy: Economy,
    reports: pd.DataFrame,
    as_of: str,
    control: pd.DataFrame | None = None,
    monitoring: Monitoring | None = None,
) -> Monitoring:
    if monitoring is not None:
        if monitoring.as_of != as_of:
            message = f"the monitoring given is as of {monitoring.as_of}, not {as_of}"
            raise FigureError(message)
        return monitoring
    try:
        return monitor(control_of(plan, economy, control), reports, as_of, economy, plan)
    except MonitorError as error:
        raise FigureError(str(error)) from None


def _target_unit(economy: Economy, product: object, sector: object) -> str:
    units = product_units(economy)
    if isinstance(product, str):
        return str(units.get(product, "?"))
    members = economy.tables["products"]
    found = set(members.loc[members["sector"] == sector, "unit"])
    return found.pop() if len(found) == 1 else "units of its products"


def targets(
    plan: Plan,
    economy: Economy,
    reports: pd.DataFrame | None = None,
    as_of: str | None = None,
    *,
    control: pd.DataFrame | None = None,
    monitoring: Monitoring | None = None,
) -> Figure:
    """Every target as a share of what it requires: what the plan gives and, with reports
    and ``as_of``, what was reported so far and the year's forecast (production targets of
    the year of ``as_of``; only its targets are shown then).

    Reported and forecast are monitoring's series summed over what the target counts (its
    product or the products of its sector; a national target its product series, a regional
    one its region series), as the targets put at risk are. ``control`` and ``monitoring``:
    the plan's control figures and its monitoring as of ``as_of``, if already computed (a
    server keeps them; monitoring the built-in plan takes seconds)."""
    if "targets" not in plan.tables:
        raise FigureError("this plan has no targets table (it is not optimal)")
    table = plan.tables["targets"]
    data = pd.DataFrame(
        {
            "target": table["id"].to_numpy(dtype=object),
            "product": table["product"].to_numpy(dtype=object),
            "sector": table["sector"].to_numpy(dtype=object),
            "region": table["region"].to_numpy(dtype=object),
            "year": table["year"].to_numpy(dtype=int),
            "measure": table["measure"].to_numpy(dtype=object),
            "sense": table["sense"].to_numpy(dtype=object),
            "kind": table["kind"].to_numpy(dtype=object),
            "required": table["required"].to_numpy(dtype=float),
            "planned": table["planned"].to_numpy(dtype=float),
            "met": table["met"].to_numpy(dtype=bool),
        }
    )
    data["unit"] = [
        _target_unit(economy, p, s) for p, s in zip(data["product"], data["sector"], strict=True)
    ]
    title = "Targets: planned as a share of required"
    if reports is not None and as_of is not None:
        year, _ = _period(as_of)
        data = data[data["year"] == year].reset_index(drop=True)
        data = _with_progress(data, plan, economy, reports, as_of, control, monitoring)
        title = f"Targets of {year} as of {as_of}: planned, reported and forecast"
    figure = _targets_figure(data, title)
    key = slug("targets", as_of)
    return Figure(key, title, data.reset_index(drop=True), figure)


def _period(as_of: str) -> tuple[int, int]:
    try:
        return parse_period(as_of)
    except MonitorError as error:
        raise FigureError(str(error)) from None


def _with_progress(
    data: pd.DataFrame,
    plan: Plan,
    economy: Economy,
    reports: pd.DataFrame,
    as_of: str,
    control: pd.DataFrame | None,
    monitoring: Monitoring | None,
) -> pd.DataFrame:
    data = data.assign(reported=np.nan, forecast=np.nan, forecast_low=np.nan, forecast_high=np.nan)
    counted = (data["measure"] == "production").to_numpy()
    if reports.empty or not counted.any():
        return data
    status = _monitor(plan, economy, reports, as_of, control, monitoring).status
    # a national target sums monitoring's product series, a regional one its region series:
    # the same series, so the same forecasts, as monitoring shows for them
    national = data["region"].isna().to_numpy()
    reported = np.full(len(data), np.nan)
    forecast, low, high = reported.copy(), reported.copy(), reported.copy()
    for level, rows in (("product", counted & national), ("region", counted & ~national)):
        if not rows.any():
            continue
        series = status[status["level"] == level]
        where = series["region"] if level == "region" else pd.Series("", index=series.index)
        nodes = pd.MultiIndex.from_arrays(
            [series["product"].to_numpy(dtype=object), where.to_numpy(dtype=object)],
            names=["product", "region"],
        )
        members = target_members(economy, data[rows].reset_index(drop=True), nodes)
        reported[rows] = members @ series["actual_to_date"].to_numpy(dtype=float)
        forecast[rows] = members @ series["forecast"].to_numpy(dtype=float)
        low[rows] = members @ series["forecast_low"].to_numpy(dtype=float)
        high[rows] = members @ series["forecast_high"].to_numpy(dtype=float)
    counted = ~np.isnan(reported)
    reported, forecast, low, high = (a[counted] for a in (reported, forecast, low, high))
    data.loc[counted, "reported"] = reported
    data.loc[counted, "forecast"] = forecast
    # the band of a sum of series taken as the sum of their bands: wider than a band that
    # knew their correlation, never narrower
    data.loc[counted, "forecast_low"] = low
    data.loc[counted, "forecast_high"] = high
    return data


def _targets_figure(data: pd.DataFrame, title: str) -> go.Figure:
    if data.empty:
        return empty(title, "no targets to show")
    required = data["required"].to_numpy(dtype=float)
    labels = [
        f"{t} ({'at most' if s == 'at_most' else 'at least'})"
        for t, s in zip(data["target"], data["sense"], strict=True)
    ]

    def share(column: str) -> np.ndarray:
        values = data[column].to_numpy(dtype=float)
        out: np.ndarray = np.divide(
            values, required, out=np.full(len(values), np.nan), where=required > 0
        )
        return out

    figure = go.Figure()
    columns = [("planned", "planned")]
    if "reported" in data:
        columns += [("reported", "reported to date"), ("forecast", "forecast of the year")]
    for i, (column, name) in enumerate(columns):
        custom = np.stack(
            [data[column].to_numpy(dtype=float), required, data["unit"].to_numpy(dtype=object)],
            axis=1,
        )
        error = None
        if column == "forecast":
            error = {
                "type": "data",
                "symmetric": False,
                "array": share("forecast_high") - share("forecast"),
                "arrayminus": share("forecast") - share("forecast_low"),
                "color": "#444444",
            }
        figure.add_bar(
            y=labels,
            x=share(column),
            name=name,
            orientation="h",
            marker_color=PALETTE[i],
            error_x=error,
            customdata=custom,
            hovertemplate=f"%{{y}}<br>{name}: %{{customdata[0]:{HOVER_NUMBER}}} "
            f"%{{customdata[2]}} of %{{customdata[1]:{HOVER_NUMBER}}} required "
            "(%{x:.1%})<extra></extra>",
        )
    figure.add_vline(x=1.0, line_dash="dash", line_color="#222222")
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="share of the amount required (%)", tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    height = 160 + len(data) * (14 + 8 * len(columns))
    return layout(figure, title, height=height)


# -- trajectories ------------------------------------------------------------------------------
TRAJECTORY_COLUMNS = [
    "level",
    "series",
    "product",
    "region",
    "month",
    "plan",
    "actual",
    "plan_cumulative",
    "actual_cumulative",
    "forecast_cumulative",
    "forecast_low",
    "forecast_high",
    "unit",
]


def _select(
    levels: dict[str, Series],
    facility: str | None,
    product: str | None,
    region: str | None,
) -> tuple[str, np.ndarray]:
    """The level and the rows of its series that the figure shows."""
    if facility is not None:
        level = "facility"
        labels = levels[level].labels
        rows = labels["facility"] == facility
        if not rows.any():
            message = f"no facility {facility!r} has an output plan in this year's control figures"
            raise FigureError(message)
    elif region is not None:
        level = "region"
        labels = levels[level].labels
        rows = labels["region"] == region
    elif product is not None:
        level = "product"
        labels = levels[level].labels
        rows = labels["product"] == product
    else:
        level = "nation"
        labels = levels[level].labels
        rows = pd.Series(True, index=labels.index)
    if product is not None and level != "product":
        rows &= labels["product"] == product
    found = np.flatnonzero(rows.to_numpy())
    if not len(found):
        what = ", ".join(
            f"{k} {v!r}"
            for k, v in (("facility", facility), ("product", product), ("region", region))
            if v
        )
        raise FigureError(f"no output is planned for {what} in this year")
    if len(found) > MAX_SERIES:
        names = ", ".join(str(p) for p in labels["product"].iloc[found])
        message = f"{len(found)} products are planned here ({names}): name one with product"
        raise FigureError(message)
    return level, found


def trajectory(
    plan: Plan,
    economy: Economy,
    reports: pd.DataFrame,
    as_of: str,
    *,
    facility: str | None = None,
    product: str | None = None,
    region: str | None = None,
    control: pd.DataFrame | None = None,
    monitoring: Monitoring | None = None,
) -> Figure:
    """Month by month in the year of ``as_of``: the plan (the control figures), what was
    reported, and from ``as_of`` on the forecast of output to date with its 90% band, for a
    facility, a product (in a region), a region's product, or the nation (nothing named).
    ``control``, ``monitoring``: as for :func:`targets`."""
    if product is not None:
        product_unit(economy, product)
    check_region(economy, region)
    year, month = _period(as_of)
    control = control_of(plan, economy, control)
    result = _monitor(plan, economy, reports, as_of, control, monitoring)
    levels = monitored_series(control, reports, year, month)
    level, rows = _select(levels, facility, product, region)
    series = levels[level]
    model = result.models[level]
    ratios = ratios_of(series.reported_plan[rows], series.actual[rows])
    filtered = kalman_filter(ratios, model)
    units = product_units(economy)
    frames = []
    for i, row in enumerate(rows):
        plan_months = series.plan[row]
        actual = series.actual[row]
        # the forecast of output through month f is the year's forecast of a plan that
        # ends in f: the same model, the same filtered level, the months after f left out
        mean = np.full(12, np.nan)
        sd = np.full(12, np.nan)
        for f in range(month, 13):
            through = np.where(np.arange(1, 13) <= f, plan_months, 0.0)[None, :]
            outcome = year_outcome(
                through,
                series.reported_plan[row][None, :],
                actual[None, :],
                model,
                _one(filtered, i),
            )
            mean[f - 1], sd[f - 1] = outcome.mean[0, -1], outcome.sd[0, -1]
        label = series.labels.iloc[row]
        name = label["product"]
        unit = SHARE if level == "nation" else str(units.get(name, "?"))
        reported = np.full(12, np.nan)
        reported[:month] = actual
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "series": label["id"],
                    "product": name,
                    "region": label["region"],
                    "month": [f"{year:04d}-{m:02d}" for m in range(1, 13)],
                    "plan": plan_months,
                    "actual": reported,
                    "plan_cumulative": np.cumsum(plan_months),
                    "actual_cumulative": np.where(
                        np.isnan(reported), np.nan, np.nancumsum(reported)
                    ),
                    "forecast_cumulative": mean,
                    "forecast_low": mean - INTERVAL * sd,
                    "forecast_high": mean + INTERVAL * sd,
                    "unit": unit,
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)[TRAJECTORY_COLUMNS]
    what = facility or (
        f"{product} in {region}" if product and region else region or product or "the nation"
    )
    title = f"Trajectory of {what}, {year}, as of {as_of}: plan, reported and forecast"
    key = slug("trajectory", facility, product, region, as_of)
    return Figure(key, title, data, _trajectory_figure(data, title))


def _one(filtered: Filtered, i: int) -> Filtered:
    return Filtered(
        filtered.level[i : i + 1], filtered.variance[i : i + 1], filtered.loglik[i : i + 1]
    )


def _trajectory_figure(data: pd.DataFrame, title: str) -> go.Figure:
    groups = list(data.groupby(["series", "product"], sort=False, dropna=False))
    titles = []
    for (series, product), rows in groups:
        unit = rows["unit"].iloc[0]
        what = (
            series if not isinstance(product, str) or series == product else f"{series}: {product}"
        )
        titles += [f"{what}, by month ({unit})", f"{what}, to date ({unit})"]
    figure = make_subplots(
        rows=2 * len(groups),
        cols=1,
        subplot_titles=titles,
        vertical_spacing=0.3 / (2 * len(groups)),
    )
    for g, ((_, _), rows) in enumerate(groups):
        unit = rows["unit"].iloc[0]
        top, bottom = 2 * g + 1, 2 * g + 2
        number = f"%{{y:{HOVER_NUMBER}}} {unit}"
        first = g == 0
        figure.add_bar(
            x=rows["month"],
            y=rows["plan"],
            name="plan",
            marker_color="#9ecae1",
            legendgroup="plan",
            showlegend=first,
            hovertemplate=f"plan %{{x}}: {number}<extra></extra>",
            row=top,
            col=1,
        )
        figure.add_bar(
            x=rows["month"],
            y=rows["actual"],
            name="reported",
            marker_color=PALETTE[0],
            legendgroup="reported",
            showlegend=first,
            hovertemplate=f"reported %{{x}}: {number}<extra></extra>",
            row=top,
            col=1,
        )
        ahead = rows[rows["forecast_cumulative"].notna()]
        figure.add_scatter(
            x=ahead["month"],
            y=ahead["forecast_high"],
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
            row=bottom,
            col=1,
        )
        figure.add_scatter(
            x=ahead["month"],
            y=ahead["forecast_low"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(214,39,40,0.18)",
            name="forecast, 90% band",
            legendgroup="band",
            showlegend=first,
            hovertemplate=f"90% band %{{x}}: from {number}<extra></extra>",
            row=bottom,
            col=1,
        )
        figure.add_scatter(
            x=rows["month"],
            y=rows["plan_cumulative"],
            mode="lines",
            name="plan to date",
            line={"color": "#6baed6", "dash": "dash"},
            legendgroup="plan-to-date",
            showlegend=first,
            hovertemplate=f"plan to %{{x}}: {number}<extra></extra>",
            row=bottom,
            col=1,
        )
        figure.add_scatter(
            x=rows["month"],
            y=rows["actual_cumulative"],
            mode="lines+markers",
            name="reported to date",
            line={"color": PALETTE[0]},
            legendgroup="actual-to-date",
            showlegend=first,
            hovertemplate=f"reported to %{{x}}: {number}<extra></extra>",
            row=bottom,
            col=1,
        )
        figure.add_scatter(
            x=ahead["month"],
            y=ahead["forecast_cumulative"],
            mode="lines+markers",
            name="forecast to date",
            line={"color": PALETTE[1]},
            legendgroup="forecast",
            showlegend=first,
            hovertemplate=f"forecast to %{{x}}: {number}<extra></extra>",
            row=bottom,
            col=1,
        )
        figure.update_yaxes(title_text=f"{unit} a month", row=top, col=1)
        figure.update_yaxes(title_text=unit, row=bottom, col=1)
    figure.update_layout(barmode="group")
    return layout(figure, title, height=160 + 520 * len(groups))


# -- an enterprise's fulfilment ----------------------------------------------------------------
FULFILMENT_COLUMNS = [
    "facility",
    "kind",
    "product",
    "plan_to_date",
    "actual_to_date",
    "fulfilment",
    "plan_year",
    "forecast",
    "forecast_low",
    "forecast_high",
    "unit",
    "as_of",
]


def fulfilment(
    plan: Plan,
    economy: Economy,
    reports: pd.DataFrame,
    as_of: str,
    facility: str,
    *,
    control: pd.DataFrame | None = None,
    monitoring: Monitoring | None = None,
) -> Figure:
    """An enterprise's year to date: each product it makes (monitoring's fulfilment over the
    months it reported, and the year's forecast) and each material and labour allotted to it
    (used against allotted, over the same months), as shares of plan. ``control``,
    ``monitoring``: as for :func:`targets`."""
    year, month = _period(as_of)
    control = control_of(plan, economy, control)
    own = control[(control["facility"] == facility) & (control["year"] == year)]
    if own.empty:
        message = f"no facility {facility!r} has control figures in {year}: give a unit of the plan"
        raise FigureError(message)
    ours = reports[
        (reports["facility"] == facility)
        & reports["period"].astype(str).str.startswith(f"{year:04d}-")
        & (reports["period"].astype(str) <= as_of)
    ]
    # a month counts as reported when any report of the facility came in (as monitoring has it)
    months_in = sorted({int(str(p)[5:7]) for p in ours["period"]})
    keys = ["kind", "product"]
    whole = own.groupby(keys)["amount"].sum()
    data = pd.DataFrame(
        {
            "plan_year": whole,
            "plan_to_date": own[own["month"].isin(months_in)].groupby(keys)["amount"].sum(),
            "actual_to_date": ours.groupby(keys)["amount"].sum(),
        }
    )
    data = data.reindex(whole.index).fillna({"plan_to_date": 0.0, "actual_to_date": 0.0})
    data = data.reset_index().assign(facility=facility)
    status = _monitor(plan, economy, reports, as_of, control, monitoring).status
    made = status[(status["level"] == "facility") & (status["id"] == facility)]
    forecast = made.set_index("product")[["forecast", "forecast_low", "forecast_high"]]
    outputs = (data["kind"] == "output").to_numpy()
    data = data.join(forecast, on="product")
    data.loc[~outputs, ["forecast", "forecast_low", "forecast_high"]] = np.nan
    order = data["kind"].map({"output": 0, "input": 1, "labour": 2})
    data = data.assign(_order=order).sort_values(["_order", "product"]).drop(columns="_order")
    plan_to_date = data["plan_to_date"].to_numpy(dtype=float)
    data["fulfilment"] = np.divide(
        data["actual_to_date"].to_numpy(dtype=float),
        plan_to_date,
        out=np.full(len(data), np.nan),
        where=plan_to_date > 0,
    )
    units = product_units(economy)
    data["unit"] = [str(units.get(p, "?")) for p in data["product"]]
    data["as_of"] = f"{year:04d}-{month:02d}"
    data = data[FULFILMENT_COLUMNS].reset_index(drop=True)
    title = f"Fulfilment of {facility} as of {as_of}: reported as a share of plan"
    key = slug("fulfilment", facility, as_of)
    if not months_in:
        message = f"{facility} has reported nothing for {year} through {as_of}"
        return Figure(key, title, data, empty(title, message))
    labels = [f"{k}: {p}" for k, p in zip(data["kind"], data["product"], strict=True)]
    figure = go.Figure()
    custom = np.stack([data["actual_to_date"], data["plan_to_date"], data["unit"]], axis=1)
    figure.add_bar(
        y=labels,
        x=data["fulfilment"],
        orientation="h",
        name="reported to date",
        marker_color=PALETTE[0],
        customdata=custom,
        hovertemplate=f"%{{y}}: %{{customdata[0]:{HOVER_NUMBER}}} %{{customdata[2]}} of "
        f"%{{customdata[1]:{HOVER_NUMBER}}} planned for the months reported (%{{x:.1%}})"
        "<extra></extra>",
    )
    year_plan = data["plan_year"].to_numpy(dtype=float)
    share = np.divide(
        data["forecast"].to_numpy(dtype=float),
        year_plan,
        out=np.full(len(data), np.nan),
        where=year_plan > 0,
    )
    low = np.divide(
        data["forecast_low"].to_numpy(dtype=float),
        year_plan,
        out=np.full(len(data), np.nan),
        where=year_plan > 0,
    )
    high = np.divide(
        data["forecast_high"].to_numpy(dtype=float),
        year_plan,
        out=np.full(len(data), np.nan),
        where=year_plan > 0,
    )
    figure.add_bar(
        y=labels,
        x=share,
        orientation="h",
        name="forecast of the year",
        marker_color=PALETTE[1],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": high - share,
            "arrayminus": share - low,
        },
        customdata=np.stack([data["forecast"], data["plan_year"], data["unit"]], axis=1),
        hovertemplate=f"%{{y}}: forecast %{{customdata[0]:{HOVER_NUMBER}}} %{{customdata[2]}} of "
        f"%{{customdata[1]:{HOVER_NUMBER}}} planned for the year (%{{x:.1%}})<extra></extra>",
    )
    figure.add_vline(x=1.0, line_dash="dash", line_color="#222222")
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="share of plan (%)", tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    return Figure(key, title, data, layout(figure, title, height=200 + 40 * len(data)))
