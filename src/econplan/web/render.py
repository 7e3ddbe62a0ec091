"""Rendering pages: the Jinja2 templates, and panels (a figure and its table) with the CSV of
exactly the numbers each shows.

A panel of a figure is ``Panel.of(figure)`` (a figure of :mod:`econplan.reporting.figures`:
its key, title, data and plotly ``<div>``); a plain table is a panel without a plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from econplan.reporting.figure import Figure
from econplan.reporting.figure import number as figure_number
from econplan.reporting.figure import slug as figure_slug
from econplan.web.auth import CSRF_FIELD, Caller

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

SHOWN_ROWS = 200
"""Rows of a panel's table shown in the page; its CSV has them all."""


def number(value: Any, column: str = "") -> str:
    """A cell as people read it: an amount as the figures' hover text and the plan report
    show it (four significant digits, thousands separated, :func:`econplan.reporting.figure.
    number`), a count in full, a year as a year. The CSV has every digit."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value) if column == "year" else f"{value:,}"
    if isinstance(value, float):
        return figure_number(value)
    return str(value)


templates.env.filters["number"] = number
templates.env.filters["slug"] = figure_slug  # every id in a page: no spaces, whatever the key


@dataclass(frozen=True)
class Panel:
    """One figure of a page: ``data`` is exactly what it shows (its CSV download)."""

    key: str
    title: str
    data: pd.DataFrame
    plot: str = ""  # the figure's <div>, when there is one

    @classmethod
    def of(cls, figure: Figure) -> Panel:
        """A figure of :mod:`econplan.reporting.figures`. The panel's heading is its title,
        so the plot is drawn without its own (the plan report's offline page keeps it)."""
        plot = figure.figure.to_dict()
        plot["layout"].pop("title", None)
        untitled = go.Figure(plot)
        untitled.update_layout(margin={"t": 30})
        return cls(
            figure.key, figure.title, figure.data, replace(figure, figure=untitled).html_div()
        )

    def csv(self) -> str:
        """The data as CSV, written as :meth:`econplan.reporting.figure.Figure.csv` writes
        it (the same bytes for a figure's panel)."""
        return self.data.to_csv(index=False, lineterminator="\n")

    def rows(self) -> list[dict[str, Any]]:
        shown = self.data.head(SHOWN_ROWS)
        clean = shown.astype(object).where(shown.notna(), None)
        return [{str(k): v for k, v in row.items()} for row in clean.to_dict(orient="records")]


def page(
    request: Request,
    caller: Caller,
    template: str,
    panels: Sequence[Panel] = (),
    status: int = 200,
    **values: Any,
) -> Response:
    """The page, or with ``?csv=KEY`` the CSV of that panel."""
    wanted = request.query_params.get("csv")
    if wanted is not None:
        for panel in panels:
            if panel.key == wanted:
                return Response(
                    panel.csv(),
                    media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{panel.key}.csv"'},
                )
        return Response(f"no figure {wanted!r} on this page\n", status_code=404)
    session = caller.session
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "csv"]
    context = {
        "csv_base": "".join(f"{urlencode([(k, v)])}&" for k, v in kept),
        "user": caller.user,
        "csrf": session.csrf if session else "",
        "csrf_field": CSRF_FIELD,
        "panels": panels,
        "plots": any(panel.plot for panel in panels),
        "shown_rows": SHOWN_ROWS,
        **values,
    }
    return templates.TemplateResponse(request, template, context, status_code=status)
