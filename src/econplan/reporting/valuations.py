"""The plan's outcome and its valuations in figures: consumption per head by region, a
product's valuation by year, and the limits that bind (what one more unit of each would
give), all read from the plan's own tables (:mod:`econplan.plan.tables`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.tables import ZERO
from econplan.reporting.figure import (
    HOVER_NUMBER,
    Figure,
    FigureError,
    empty,
    layout,
    product_unit,
    slug,
)

LEVEL_UNIT = "level of the norms"
"""The consumption level's unit: 1 is the consumption norms per head, 1.05 five percent
more of every product of the basket."""


def _tables(plan: Plan, *names: str) -> None:
    missing = [n for n in names if n not in plan.tables]
    if missing:
        message = f"this plan has no {', '.join(missing)} table (it is not optimal)"
        raise FigureError(message)


def consumption_per_head(plan: Plan, economy: Economy) -> Figure:
    """The consumption level per head of every region, year by year."""
    _tables(plan, "consumption_level")
    levels = plan.tables["consumption_level"]
    data = pd.DataFrame(
        {
            "region": levels["region"].to_numpy(dtype=object),
            "year": levels["year"].to_numpy(dtype=int),
            "level": levels["level"].to_numpy(dtype=float),
            "unit": LEVEL_UNIT,
            "persons": levels["persons"].to_numpy(dtype=float),
            "persons_unit": "person",
        }
    ).sort_values(["region", "year"], ignore_index=True)
    title = "Consumption per head by region (1 = the consumption norms)"
    figure = go.Figure()
    for region, rows in data.groupby("region", sort=True):
        figure.add_scatter(
            x=rows["year"],
            y=rows["level"],
            mode="lines+markers",
            name=str(region),
            customdata=rows["persons"],
            hovertemplate=f"{region} %{{x}}: %{{y:.4f}} {LEVEL_UNIT} per head, "
            f"%{{customdata:{HOVER_NUMBER}}} persons<extra></extra>",
        )
    figure.update_xaxes(title_text="year", dtick=1)
    figure.update_yaxes(title_text=f"consumption per head ({LEVEL_UNIT})", tickformat=".3f")
    low, high = float(data["level"].min()), float(data["level"].max())
    if high - low < 0.02:  # levels equal to a few decimals (maximin evens them out): show them
        # flat on an axis a few hundredths wide, not a span of 1e-5 whose ticks all read the same
        middle = (low + high) / 2
        figure.update_yaxes(range=[middle - 0.02, middle + 0.02])
    return Figure("consumption-per-head", title, data, layout(figure, title))


def _stage_info(plan: Plan) -> dict[str, dict[str, str]]:
    return {str(s["name"]): s for s in plan.info.get("stages", [])}


def product_valuations(plan: Plan, economy: Economy, product: str) -> Figure:
    """The valuation of ``product`` by year and region in every stage where it is above
    zero: what one more unit of it available there would add to (or save from) the stage's
    objective."""
    unit = product_unit(economy, product)
    _tables(plan, "valuations")
    valuations = plan.tables["valuations"]
    rows = valuations[
        valuations["constraint"].isin(["balance", "labour"]) & (valuations["item"] == product)
    ]
    stages = _stage_info(plan)
    shown = [
        s
        for s in pd.unique(rows["stage"])
        if (rows.loc[rows["stage"] == s, "valuation"].abs() > ZERO).any()
    ]
    rows = rows[rows["stage"].isin(shown)]
    data = pd.DataFrame(
        {
            "product": product,
            "stage": rows["stage"].to_numpy(dtype=object),
            "region": rows["region"].to_numpy(dtype=object),
            "year": rows["year"].to_numpy(dtype=int),
            "valuation": rows["valuation"].to_numpy(dtype=float),
            "unit": [f"{stages.get(s, {}).get('unit', '?')} per {unit}" for s in rows["stage"]],
        }
    ).reset_index(drop=True)
    title = f"Valuation of {product} by year and region (per {unit})"
    key = slug("valuations", product)
    if data.empty:
        message = (
            f"one more {unit} of {product} would not improve any stage of the plan: "
            "its valuation is zero everywhere"
        )
        return Figure(key, title, data, empty(title, message))
    figure = make_subplots(
        rows=len(shown),
        cols=1,
        subplot_titles=[f"{s}: {stages.get(s, {}).get('description', '')}" for s in shown],
        vertical_spacing=0.22 / max(len(shown), 1),
    )
    for row, stage in enumerate(shown, start=1):
        part = data[data["stage"] == stage]
        stage_unit = part["unit"].iloc[0]
        for i, (region, series) in enumerate(part.groupby("region", sort=True)):
            figure.add_scatter(
                x=series["year"],
                y=series["valuation"],
                mode="lines+markers",
                name=str(region),
                legendgroup=str(region),
                showlegend=row == 1,
                line={"color": _colour(i)},
                hovertemplate=f"{region} %{{x}}: %{{y:{HOVER_NUMBER}}} {stage_unit}<extra></extra>",
                row=row,
                col=1,
            )
        figure.update_yaxes(title_text=stage_unit, row=row, col=1)
        figure.update_xaxes(dtick=1, row=row, col=1)
    figure.update_xaxes(title_text="year", row=len(shown), col=1)
    return Figure(key, title, data, layout(figure, title, height=180 + 300 * len(shown)))


def _colour(i: int) -> str:
    from econplan.reporting.figure import PALETTE

    return PALETTE[i % len(PALETTE)]


def limit_label(row: pd.Series) -> str:
    """A limit as a person names it: what, where, when (ids whole)."""
    parts = [f"{row['constraint']}: {row['item']}"]
    if row["region"]:
        parts.append(
            f"{row['region']}" + (f" -> {row['destination']}" if row["destination"] else "")
        )
    if pd.notna(row["year"]) and int(row["year"]):
        parts.append(str(int(row["year"])))
    return " ".join(parts)


def _same_ranking(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> bool:
    """The same limits in the same order with the same valuations (to solver precision)."""
    if len(a) != len(b) or not a[columns].equals(b[columns]):
        return False
    return bool(np.allclose(a["valuation"], b["valuation"], rtol=1e-9, atol=0.0))


def bottlenecks(plan: Plan, economy: Economy, top: int = 20) -> Figure:
    """The limits that bind, stage by stage, ranked by what one more unit of each would gain
    its stage (the plan's bottlenecks table, :func:`econplan.plan.tables.bottlenecks`); a
    stage that repeats an earlier one's ranking (the same limits and valuations) is shown
    once."""
    if top < 1:
        raise FigureError(f"top must be at least 1, not {top}")
    _tables(plan, "bottlenecks")
    stages = _stage_info(plan)
    table = plan.tables["bottlenecks"]
    order = pd.Index(list(stages)).get_indexer(pd.Index(table["stage"].to_numpy(dtype=object)))
    ranked = table[table["rank"] <= top].assign(_stage=order[table["rank"] <= top])
    ranked = ranked.sort_values(["_stage", "rank"], kind="stable")
    shown: list[str] = []
    seen: list[pd.DataFrame] = []
    columns = ["constraint", "item", "region", "destination", "year"]
    for stage in pd.unique(ranked["stage"]):
        part = ranked[ranked["stage"] == stage].reset_index(drop=True)
        if any(_same_ranking(part, earlier, columns) for earlier in seen):
            continue
        seen.append(part)
        shown.append(str(stage))
    ranked = ranked[ranked["stage"].isin(shown)]
    data = pd.DataFrame(
        {
            "stage": ranked["stage"].to_numpy(dtype=object),
            "rank": ranked["rank"].to_numpy(dtype=int),
            "constraint": ranked["constraint"].to_numpy(dtype=object),
            "item": ranked["item"].to_numpy(dtype=object),
            "region": ranked["region"].to_numpy(dtype=object),
            "destination": ranked["destination"].to_numpy(dtype=object),
            # a limit of no one year (an investment limit over the horizon) is stored with
            # year 0: shown blank, not as a year 0
            "year": pd.array([int(y) if int(y) else None for y in ranked["year"]], dtype="Int64"),
            "valuation": ranked["valuation"].to_numpy(dtype=float),
            "unit": [
                f"{stages.get(s, {}).get('unit', '?')} per {u}"
                for s, u in zip(ranked["stage"], ranked["unit"], strict=True)
            ],
            "meaning": ranked["meaning"].to_numpy(dtype=object),
        }
    )
    title = f"Bottlenecks: the {top} limits that bind most in each stage"
    if data.empty:
        return Figure("bottlenecks", title, data, empty(title, "no limit binds in any stage"))
    height = 200 + 24 * len(data) + 150 * len(shown)
    figure = make_subplots(
        rows=len(shown),
        cols=1,
        subplot_titles=[f"{s}: {stages.get(s, {}).get('description', '')}" for s in shown],
        vertical_spacing=min(140 / height, 0.9 / max(len(shown) - 1, 1)),
    )
    for row, stage in enumerate(shown, start=1):
        part = data[data["stage"] == stage].iloc[::-1]  # the largest on top
        labels = [limit_label(r) for _, r in part.iterrows()]
        figure.add_bar(
            x=part["valuation"],
            y=labels,
            orientation="h",
            name=stage,
            showlegend=False,
            marker_color=_colour(row - 1),
            customdata=list(zip(part["unit"], part["meaning"], strict=True)),
            hovertemplate=f"%{{y}}<br>%{{x:{HOVER_NUMBER}}} %{{customdata[0]}}"
            "<br>%{customdata[1]}<extra></extra>",
            row=row,
            col=1,
        )
        units = sorted(set(part["unit"]))
        # several units do not fit one axis title: each bar's is in its hover and the table
        what = units[0] if len(units) == 1 else "in each limit's unit (hover, table)"
        figure.update_xaxes(
            title_text=f"gain from one more unit, {what}",
            type="log",
            row=row,
            col=1,
        )
    return Figure("bottlenecks", title, data, layout(figure, title, height=height))
