"""An ensemble's results as one HTML page (``OUT/ensemble.html``): the probability of each
target with its interval, fan charts of consumption and of the outputs whose targets are at
risk, the limits that bind most often, and the members without a plan. Made of the plan
report's pieces (:mod:`econplan.reporting.plan_report`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from econplan.reporting.figure import Figure, layout
from econplan.reporting.plan_report import Report, Section, Table

FANS = 6
"""Output fan charts drawn: the products of the targets least likely to be met."""

BAND = "rgba(31, 119, 180, {alpha})"


def _probabilities(targets: pd.DataFrame) -> Figure:
    shown = targets.iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=shown["probability"],
            y=shown["id"],
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": shown["high95"] - shown["probability"],
                "arrayminus": shown["probability"] - shown["low95"],
            },
            hovertemplate="%{y}: %{x:.0%} of members<extra></extra>",
        )
    )
    figure.update_xaxes(tickformat=".0%", range=[0, 1.02], title="members whose plan meets it")
    title = "Probability that each target is met (bars: Wilson's 95% interval)"
    height = max(320, 18 * len(shown) + 120)
    data = targets[["id", "year", "members", "met", "probability", "low95", "high95"]]
    return Figure("probabilities", title, data, layout(figure, title, height))


def _fan(rows: pd.DataFrame, key: str, title: str, unit: str) -> Figure:
    """A fan chart: the median by year, the 25-75% band darker, the 5-95% band lighter."""
    rows = rows.sort_values("year")
    years = rows["year"].tolist()
    figure = go.Figure()
    for low, high, alpha, name in (("q05", "q95", 0.15, "5-95%"), ("q25", "q75", 0.3, "25-75%")):
        figure.add_trace(
            go.Scatter(
                x=years + years[::-1],
                y=rows[high].tolist() + rows[low].tolist()[::-1],
                fill="toself",
                mode="lines",
                fillcolor=BAND.format(alpha=alpha),
                line={"width": 0},
                name=name,
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(x=years, y=rows["q50"], mode="lines+markers", name="median", line={"width": 2})
    )
    figure.update_xaxes(dtick=1, title="year")
    figure.update_yaxes(title=unit)
    data = rows[["year", "members", "mean", "q05", "q25", "q50", "q75", "q95"]].assign(unit=unit)
    return Figure(key, title, data, layout(figure, title, 360))


def ensemble_report(info: dict[str, Any], tables: dict[str, pd.DataFrame]) -> Report:
    targets = tables["targets"]
    quantiles = tables["quantiles"]
    statuses = ", ".join(f"{n} {s}" for s, n in info["statuses"].items() if n)
    sections = [
        Section(
            "targets",
            "Targets",
            (
                f"{info['members']} members (seed {info['seed']}): {statuses}. The "
                "probabilities count the members with a verified plan and those where the "
                "hard targets cannot hold (which meet none); members the solver could not "
                "settle are left out.",
            ),
            (_probabilities(targets), Table("targets", "Targets", targets)),
        )
    ]
    levels = quantiles[quantiles["what"] == "consumption"]
    if len(levels):
        medians = levels.groupby("region")["q50"].min().sort_values()
        worst = str(medians.index[0])
        fans: list[Figure | Table] = [
            _fan(
                levels[levels["region"] == worst],
                f"consumption-{worst}",
                f"Consumption level of {worst}, the region worst off at the median",
                "share of the norms",
            )
        ]
        shown = levels.drop(columns=["what", "item"])
        fans.append(Table("consumption", "Consumption level by region", shown))
        sections.append(Section("consumption", "Consumption per head", (), tuple(fans)))
    outputs = quantiles[quantiles["what"] == "output"]
    at_risk = targets[(targets["probability"] < 1) & targets["product"].notna()]
    products = list(dict.fromkeys(at_risk["product"].astype(str)))[:FANS]
    if products and len(outputs):
        units = dict(zip(targets["product"], targets["unit"].fillna(""), strict=False))
        figures = tuple(
            _fan(
                outputs[outputs["item"] == product],
                f"output-{product}",
                f"National output of {product}",
                str(units.get(product, "")) or "product unit",
            )
            for product in products
            if (outputs["item"] == product).any()
        )
        sections.append(
            Section(
                "outputs",
                "Outputs of the targets at risk",
                ("National output by year over the members with a plan.",),
                figures,
            )
        )
    sections.append(
        Section(
            "binding",
            "Limits that bind most often",
            (),
            (Table("binding", "Binding limits", tables["binding"]),),
        )
    )
    members = tables["members"]
    sections.append(
        Section(
            "members",
            "Members",
            ("Every member, what struck it and, without a plan, why.",),
            (Table("members", "Members", members),),
        )
    )
    provenance = {
        "ensemble": info["ensemble"],
        "file": info["file"],
        "hash": info["hash"],
        "seed": info["seed"],
        "members": info["members"],
    }
    return Report(f"Ensemble {info['ensemble']}", provenance, tuple(sections))
