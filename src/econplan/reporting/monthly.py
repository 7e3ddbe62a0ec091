"""An enterprise's control figures month by month: what it is to make, and the materials and
labour it is allotted for that, in each month of a year (the control figures of
:func:`econplan.execution.breakdown.control_figures`, as the enterprise receives them)."""

from __future__ import annotations

import pandas as pd
from plotly.subplots import make_subplots

from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.reporting.figure import (
    HOVER_NUMBER,
    PALETTE,
    Figure,
    FigureError,
    layout,
    product_units,
    slug,
)
from econplan.reporting.progress import control_of

KINDS = ("output", "input", "labour")
"""The kinds of control figure, in the order shown: what is made, then what it takes."""

COLUMNS = ["facility", "year", "month", "kind", "product", "amount", "unit"]


def control_by_month(
    plan: Plan,
    economy: Economy,
    facility: str,
    year: int,
    *,
    control: pd.DataFrame | None = None,
) -> Figure:
    """``facility``'s control figures for each month of ``year``: one bar chart per output,
    material and labour (each in its own unit: amounts of different products do not add).
    ``control``: the plan's control figures, if already computed."""
    years = list(economy.years)
    if year not in years:
        message = f"year {year} is not in the plan: give one of {years[0]}-{years[-1]}"
        raise FigureError(message)
    figures = control_of(plan, economy, control)
    own = figures[(figures["facility"] == facility) & (figures["year"] == year)]
    if own.empty:
        message = f"no facility {facility!r} has control figures in {year}: give a unit of the plan"
        raise FigureError(message)
    units = product_units(economy)
    order = {kind: i for i, kind in enumerate(KINDS)}
    data = (
        own.groupby(["kind", "product", "month"], as_index=False)["amount"]
        .sum()
        .assign(
            facility=facility,
            year=year,
            unit=lambda f: [str(units.get(p, "?")) for p in f["product"]],
            _order=lambda f: f["kind"].map(order),
        )
        .sort_values(["_order", "product", "month"])
    )
    data["month"] = [f"{year:04d}-{int(m):02d}" for m in data["month"]]
    data = data[COLUMNS].reset_index(drop=True)
    series = list(data.groupby(["kind", "product"], sort=False))
    title = f"Control figures of {facility} by month, {year}"
    figure = make_subplots(
        rows=len(series),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[
            f"{kind}: {product} ({rows['unit'].iloc[0]})" for (kind, product), rows in series
        ],
        vertical_spacing=min(0.08, 0.5 / len(series)),
    )
    for i, ((kind, product), rows) in enumerate(series, start=1):
        unit = rows["unit"].iloc[0]
        figure.add_bar(
            x=rows["month"],
            y=rows["amount"],
            name=f"{kind}: {product}",
            marker_color=PALETTE[order[str(kind)] % len(PALETTE)],
            showlegend=False,
            hovertemplate=f"{product} %{{x}}: %{{y:{HOVER_NUMBER}}} {unit}<extra></extra>",
            row=i,
            col=1,
        )
        figure.update_yaxes(title_text=unit, tickformat="~s", row=i, col=1)
    figure.update_xaxes(dtick="M1", tickformat="%b", row=len(series), col=1)
    key = slug("control-figures", facility, year)
    return Figure(key, title, data, layout(figure, title, height=140 + 150 * len(series)))
