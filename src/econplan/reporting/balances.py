"""A product's material balance in figures: its sources and uses by year (bars) and where it
comes from and goes in one year (a Sankey diagram).

Both are drawn from the plan's material balance as ``econplan balance --plan`` computes it
(:func:`econplan.plan.flows.plan_flows` and :func:`econplan.analysis.balance.material_balance`),
so the figures and the balance report cannot disagree. A national figure leaves shipments
between regions out, as the national balance does: they are a use of one region and a source
of another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from econplan.analysis.balance import SOURCES, USES, Balance, material_balance
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.flows import plan_flows
from econplan.reporting.figure import (
    HOVER_NUMBER,
    Figure,
    FigureError,
    check_region,
    empty,
    layout,
    number,
    product_unit,
    slug,
)

NATION = "all regions"
"""The region column of a national figure."""

FLOW_NAMES = {
    "production": "production",
    "endowment": "nature and labour",
    "imports": "imports",
    "shipments_in": "shipments in",
    "stock_drawn": "stock drawn",
    "intermediate": "used by processes",
    "investment": "investment",
    "final": "final demand",
    "exports": "exports",
    "shipments_out": "shipments out",
    "transport": "transport",
    "stock_built": "stock built",
    "surplus": "not used",
    "shortfall": "short",
}
FLOW_COLOURS = {
    "production": "#1f77b4",
    "endowment": "#17becf",
    "imports": "#9467bd",
    "shipments_in": "#aec7e8",
    "stock_drawn": "#bcbd22",
    "intermediate": "#ff7f0e",
    "investment": "#8c564b",
    "final": "#d62728",
    "exports": "#e377c2",
    "shipments_out": "#ffbb78",
    "transport": "#7f7f7f",
    "stock_built": "#dbdb8d",
    "surplus": "#c7c7c7",
    "shortfall": "#000000",
}

SMALL = 0.005
"""Links below this share of the product's total flow are drawn together as one "other"
node per kind of flow (their members are listed in the data), so that a product used by a
hundred processes still reads."""

CLOSED = 1e-9
"""Relative difference of sources and uses below which a balance is closed (rounding)."""


def plan_balance(plan: Plan, economy: Economy) -> Balance:
    """The plan's material balance, every product, region and year (what ``econplan balance
    --plan`` shows)."""
    if not plan.tables:
        message = "this plan has no flows (it is not optimal): there is no balance to draw"
        raise FigureError(message)
    return material_balance(economy, plan_flows(economy, plan.tables))


def product_entries(
    balance: Balance, economy: Economy, product: str, region: str | None
) -> pd.DataFrame:
    """The balance's entries of ``product`` in ``region`` (None: the nation, without
    shipments between regions)."""
    product_unit(economy, product)
    check_region(economy, region)
    entries = balance.entries[balance.entries["product"] == product]
    if region is None:
        entries = entries[~entries["flow"].isin(["shipments_in", "shipments_out"])]
    else:
        entries = entries[entries["region"] == region]
    return entries.reset_index(drop=True)


def product_balance(
    plan: Plan,
    economy: Economy,
    product: str,
    region: str | None = None,
    balance: Balance | None = None,
) -> Figure:
    """Sources and uses of ``product`` by year (in ``region``, or the nation), as two stacked
    bars a year. ``balance``: the plan's balance if already computed (:func:`plan_balance`)."""
    unit = product_unit(economy, product)
    check_region(economy, region)
    entries = product_entries(balance or plan_balance(plan, economy), economy, product, region)
    where = region or NATION
    data = (
        entries.groupby(["year", "side", "flow"], as_index=False)["amount"]
        .sum()
        .assign(region=where, product=product, unit=unit)
    )
    order = {f: i for i, f in enumerate((*SOURCES, *USES))}
    data = data.sort_values(["year", "flow"], key=lambda c: c.map(order) if c.name == "flow" else c)
    data = data[["product", "region", "year", "side", "flow", "amount", "unit"]]
    data = data.reset_index(drop=True)
    title = f"Material balance of {product} ({unit}), {where}"
    key = slug("balance", product, region)
    if data.empty:
        return Figure(key, title, data, empty(title, f"{product} has no flows in {where}"))
    figure = go.Figure()
    years = sorted(data["year"].unique())
    for flow in (*SOURCES, *USES):
        rows = data[data["flow"] == flow].set_index("year").reindex(years)
        if rows["amount"].isna().all():
            continue
        side = "sources" if flow in SOURCES else "uses"
        figure.add_bar(
            x=[[str(y) for y in years], [side] * len(years)],
            y=rows["amount"].to_numpy(),
            name=f"{FLOW_NAMES[flow]} ({side})",
            marker_color=FLOW_COLOURS[flow],
            hovertemplate=f"%{{x[0]}} {FLOW_NAMES[flow]}: %{{y:{HOVER_NUMBER}}} {unit}"
            "<extra></extra>",
        )
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text=f"{product} ({unit} a year)", tickformat="~s")
    return Figure(key, title, data, layout(figure, title))


SANKEY_COLUMNS = [
    "product",
    "region",
    "year",
    "side",
    "flow",
    "node",
    "members",
    "amount",
    "unit",
]


def _node(row: pd.Series, national: bool) -> str:
    flow, detail, region = str(row["flow"]), str(row["detail"] or ""), str(row["region"])
    name = FLOW_NAMES[flow]
    if flow == "production":
        return f"{detail} in {region}" if national else detail
    if flow == "intermediate":
        return f"{name}: {detail}"
    if flow == "shipments_in":
        return f"from {detail}"
    if flow == "shipments_out":
        return f"to {detail}"
    if flow in ("final", "transport") and detail:
        return f"{name}: {detail}"
    return name


def sankey_links(
    entries: pd.DataFrame, product: str, year: int, region: str | None, unit: str
) -> pd.DataFrame:
    """One row per link of the Sankey diagram: each source node into the product, the product
    into each use node; small links of a kind of flow drawn as one "other" node, with what
    they hold in ``members``; a balance that does not close gets a "not used" (or "short")
    node so that the diagram's two sides match."""
    national = region is None
    year_entries = entries[entries["year"] == year]
    if year_entries.empty:
        return pd.DataFrame(columns=SANKEY_COLUMNS)
    named = year_entries.assign(node=[_node(r, national) for _, r in year_entries.iterrows()])
    links = named.groupby(["side", "flow", "node"], as_index=False, sort=True).agg(
        amount=("amount", "sum")
    )
    links = links[links["amount"] != 0]
    total = max(links.loc[links["side"] == "source", "amount"].sum(), 1e-300)
    small = links["amount"] < SMALL * total
    # what a grouped node holds: its members as their nodes name them, without the kind
    links = links.assign(
        member=[_member(f, n) for f, n in zip(links["flow"], links["node"], strict=True)]
    )
    grouped = links[small].groupby(["side", "flow"], as_index=False)
    others = grouped.agg(
        amount=("amount", "sum"), members=("member", "; ".join), count=("node", "size")
    )
    others = others[others["count"] > 1]
    alone = small & ~links.set_index(["side", "flow"]).index.isin(
        pd.MultiIndex.from_frame(others[["side", "flow"]])
    )
    kept = links[~small | alone].assign(members="")
    merged: list[pd.DataFrame] = [kept[["side", "flow", "node", "amount", "members"]]]
    if len(others):
        others_nodes = [
            f"{FLOW_NAMES[f]}: {n} others"
            for f, n in zip(others["flow"], others["count"], strict=True)
        ]
        merged.append(
            others.assign(node=others_nodes)[["side", "flow", "node", "amount", "members"]]
        )
    links = pd.concat(merged, ignore_index=True)
    sources = links.loc[links["side"] == "source", "amount"].sum()
    uses = links.loc[links["side"] == "use", "amount"].sum()
    gap = sources - uses
    if abs(gap) > CLOSED * max(sources, uses):
        side, flow = ("use", "surplus") if gap > 0 else ("source", "shortfall")
        extra = pd.DataFrame(
            {
                "side": [side],
                "flow": [flow],
                "node": [FLOW_NAMES[flow]],
                "amount": [abs(gap)],
                "members": [""],
            }
        )
        links = pd.concat([links, extra], ignore_index=True)
    order = {f: i for i, f in enumerate((*SOURCES, "shortfall", *USES, "surplus"))}
    links = links.assign(_order=links["flow"].map(order)).sort_values(
        ["_order", "amount", "node"], ascending=[True, False, True]
    )
    links = links.assign(product=product, region=region or NATION, year=year, unit=unit)
    return pd.DataFrame(links[SANKEY_COLUMNS].reset_index(drop=True))


def product_sankey(
    plan: Plan,
    economy: Economy,
    product: str,
    year: int,
    region: str | None = None,
    balance: Balance | None = None,
) -> Figure:
    """Where ``product`` comes from and where it goes in ``year`` (in ``region``, or the
    nation): sources -> the product -> uses, each link as wide as its amount."""
    unit = product_unit(economy, product)
    check_region(economy, region)
    years = list(economy.years)
    if year not in years:
        message = f"year {year} is not in the plan: give one of {years[0]}-{years[-1]}"
        raise FigureError(message)
    entries = product_entries(balance or plan_balance(plan, economy), economy, product, region)
    data = sankey_links(entries, product, year, region, unit)
    where = region or NATION
    title = f"Where {product} comes from and goes, {where}, {year} ({unit})"
    key = slug("sankey", product, year, region)
    if data.empty:
        return Figure(
            key, title, data, empty(title, f"{product} has no flows in {where} in {year}")
        )
    centre = f"{product} ({unit})"
    sources = data[data["side"] == "source"]
    uses = data[data["side"] == "use"]
    labels = [*sources["node"], centre, *uses["node"]]
    middle = len(sources)
    colours = (
        [FLOW_COLOURS[f] for f in sources["flow"]]
        + ["#444444"]
        + [FLOW_COLOURS[f] for f in uses["flow"]]
    )
    link_source = [*range(middle), *([middle] * len(uses))]
    link_target = [*([middle] * len(sources)), *range(middle + 1, middle + 1 + len(uses))]
    amounts = np.concatenate([sources["amount"].to_numpy(), uses["amount"].to_numpy()])
    members = [*sources["members"], *uses["members"]]
    hover = [
        f"{number(a)} {unit}" + (f"<br>{_wrap(m)}" if m else "")
        for a, m in zip(amounts, members, strict=True)
    ]
    node_total = [*sources["amount"], float(sources["amount"].sum()), *uses["amount"]]
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=HOVER_NUMBER,
            valuesuffix=f" {unit}",
            node={
                "label": labels,
                "color": colours,
                "pad": 12,
                "thickness": 18,
                "customdata": [f"{number(v)} {unit}" for v in node_total],
                "hovertemplate": "%{label}: %{customdata}<extra></extra>",
            },
            link={
                "source": link_source,
                "target": link_target,
                "value": amounts,
                "customdata": hover,
                "color": [_faint(c) for i, c in enumerate(colours) if i != middle],
                "hovertemplate": "%{source.label} -> %{target.label}: %{customdata}<extra></extra>",
            },
        )
    )
    height = max(460, 34 * max(len(sources), len(uses)) + 160)  # a label's height a node
    return Figure(key, title, data, layout(figure, title, height=height))


def _member(flow: str, node: str) -> str:
    prefix = f"{FLOW_NAMES[flow]}: "
    return node[len(prefix) :] if node.startswith(prefix) else node


def _faint(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.35)"


def _wrap(text: str, width: int = 80) -> str:
    """A long list of members over several hover lines (nothing cut)."""
    lines, line = [], ""
    for part in text.split("; "):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line = f"{line}; {part}" if line else part
    lines.append(line)
    return "<br>".join(lines)
