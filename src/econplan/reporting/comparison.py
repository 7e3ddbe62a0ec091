"""A comparison of two plans as one HTML page (``econplan compare --html``), made of the plan
report's tables and figures (:mod:`econplan.reporting.plan_report`)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from econplan.compare import Comparison
from econplan.reporting.figure import Figure, layout
from econplan.reporting.plan_report import Report, Section, Table, html_page

TOP = 25
"""Differences drawn in the figure of the largest ones."""

SECTION_TITLES = {
    "targets": "Targets: shortfalls",
    "consumption": "Consumption per head",
    "output": "Output by product and region",
    "sector output": "Output by sector",
    "investment": "Investment",
    "imports": "Imports",
    "exports": "Exports",
    "foreign exchange": "Foreign exchange",
    "limits": "Binding limits and their valuations",
}


def _largest(comparison: Comparison) -> Figure:
    top = comparison.differences.head(TOP).iloc[::-1]
    labels = [
        " ".join(str(v) for v in (w, r, y) if v is not None and str(v) not in ("", "nan"))
        for w, r, y in zip(top["what"], top["region"], top["year"], strict=True)
    ]
    figure = go.Figure(
        go.Bar(
            x=top["relative"],
            y=labels,
            orientation="h",
            customdata=top[["change", "unit"]].to_numpy(),
            hovertemplate="%{y}: %{customdata[0]:,.4r} %{customdata[1]} (%{x:.1%})<extra></extra>",
        )
    )
    figure.update_xaxes(tickformat=".0%", title="change relative to the base")
    title = f"The {len(top)} largest differences, relative to the base"
    data = top[["section", "what", "region", "year", "unit", "change", "relative"]]
    return Figure("largest", title, data.reset_index(drop=True), layout(figure, title, 640))


def comparison_report(comparison: Comparison, provenance: dict[str, object]) -> Report:
    base, other = comparison.names
    sections = [
        Section(
            "largest",
            "Largest differences",
            (
                f"{other} against {base}: {len(comparison.differences)} differences beyond "
                f"the plans' tolerance ({comparison.tolerance:g}, relative), largest first.",
            ),
            (_largest(comparison),),
        ),
        Section(
            "objectives",
            "Objectives of the stages",
            (),
            (Table("objectives", "Objectives", comparison.objectives),),
        ),
    ]
    for key, title in SECTION_TITLES.items():
        frame = comparison.section(key)
        if frame.empty:
            continue
        shown = frame.drop(columns="section")
        sections.append(
            Section(key.replace(" ", "_"), title, (), (Table(key.replace(" ", "_"), title, shown),))
        )
    return Report(f"{other} against {base}", provenance, tuple(sections))


def write_comparison_html(
    comparison: Comparison, provenance: dict[str, object], path: Path
) -> None:
    Path(path).write_text(html_page(comparison_report(comparison, provenance)), encoding="utf-8")
