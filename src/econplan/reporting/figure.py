"""A figure as econplan shows it: the plotly figure and exactly the numbers it shows, as a
tidy table with its units; with the helpers every figure shares (units, rounding, layout).

Numbers in the data stay as the plan computed them (a balance must close to 1e-9); what a
person reads (hover text, labels, report tables) is rounded to four significant digits, which
is what a plan's coefficients support.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from econplan.model.economy import Economy

DIGITS = 4
"""Significant digits shown: the economy's coefficients are known to about this many."""

HOVER_NUMBER = ",.4r"
"""d3 format of numbers in hover text: four significant digits, thousands separated."""

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


class FigureError(ValueError):
    """A figure that cannot be drawn from what was asked (an unknown product, a year outside
    the plan): the message says which and what to give instead."""


@dataclass(frozen=True)
class Figure:
    """One figure: ``key`` (a slug for file names), ``title``, ``data`` (the numbers the
    figure shows, tidy, with unit columns) and the interactive plotly ``figure``."""

    key: str
    title: str
    data: pd.DataFrame
    figure: go.Figure

    def __post_init__(self) -> None:
        # missing text is missing, not "": a CSV cannot tell the two apart
        data = self.data.copy()
        for column in data.columns:
            if data[column].dtype == object or pd.api.types.is_string_dtype(data[column]):
                values = data[column].astype(object)
                data[column] = values.where(values.notna() & (values != ""), None)
        object.__setattr__(self, "data", data.reset_index(drop=True))

    def csv(self) -> str:
        """The data as CSV text (numbers in full: pandas writes floats that read back
        exactly)."""
        return self.data.to_csv(index=False, lineterminator="\n")

    def html_div(self) -> str:
        """The figure as a ``<div>`` (its script included, plotly.js not: the page loads it
        once)."""
        return str(
            self.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                div_id=f"figure-{slug(self.key)}",  # a valid id, whatever the key
                config={"displaylogo": False, "responsive": True},
            )
        )


def read_csv(text: str) -> pd.DataFrame:
    """A figure's CSV read back (ids stay text, empty cells missing)."""
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def slug(*parts: object) -> str:
    """A file-name-safe key from parts (ids keep their letters, digits, - and _)."""
    text = "-".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()


def rounded(value: float, digits: int = DIGITS) -> float:
    """``value`` to ``digits`` significant digits."""
    if not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def number(value: object, digits: int = DIGITS) -> str:
    """A number as a person reads it: four significant digits, thousands separated, no
    exponent for the amounts of an economy."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    x = rounded(float(value), digits)
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    if abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{x:,.{decimals}f}".rstrip("0").rstrip(".")


def product_units(economy: Economy) -> pd.Series:
    """Each product's unit, by id."""
    units: pd.Series = economy.tables["products"].set_index("id")["unit"]
    return units


def product_unit(economy: Economy, product: str) -> str:
    """The unit of ``product``; an unknown product is a FigureError naming near ones."""
    units = product_units(economy)
    if product not in units.index:
        near = [p for p in units.index if product.lower() in str(p).lower()][:5]
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        message = f"no product {product!r} in the economy{hint}: give one of products.csv's ids"
        raise FigureError(message)
    return str(units[product])


def check_region(economy: Economy, region: str | None) -> None:
    if region is not None and region not in set(economy.tables["regions"]["id"]):
        message = f"no region {region!r} in the economy: give one of regions.csv's ids"
        raise FigureError(message)


def layout(figure: go.Figure, title: str, height: int = 480) -> go.Figure:
    """The look every figure shares: its title, room for whole ids, a legend that does not
    hide the data."""
    figure.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0.0},
        hoverlabel={"namelength": -1},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        colorway=list(PALETTE),
    )
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


def empty(title: str, message: str) -> go.Figure:
    """A figure that says why it has nothing to show, instead of blank axes."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return layout(figure, title, height=240)
