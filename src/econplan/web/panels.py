"""The panels each page shows: the figures of :mod:`econplan.reporting.figures` (the plotly
figure, its table and the CSV of exactly its data) and a few plain tables; pure functions of
a version's economy, plan, control figures, reports and monitoring.

A figure that cannot be drawn from what was asked raises
:class:`~econplan.reporting.figure.FigureError`, which the application answers with 422 and
its one line. Who may see which facility is decided before a page runs (the policy's scope);
what a scoped user's page shows beyond that is cut down here with :class:`Scope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from econplan.analysis.balance import Balance
from econplan.execution.monitor import Monitoring
from econplan.model.economy import Economy
from econplan.reporting import figures
from econplan.reporting.plan_report import Report, Table
from econplan.web.context import Loaded
from econplan.web.render import Panel
from econplan.web.scope import Scope

OWN_FULFILMENT = 3
"""A scoped user with at most this many units sees each one's fulfilment on the dashboard."""


def dashboard(
    loaded: Loaded, reports: pd.DataFrame, found: Monitoring | None, scope: Scope
) -> list[Panel]:
    """The targets (required, planned, reported, forecast), the alerts that fire and the
    consumption per head by region; a scoped user sees only its own alerts and, an
    enterprise, its units' fulfilment (the scope decides which: :class:`Scope`)."""
    plan, economy = loaded.plan, loaded.economy
    shown = []
    if scope.whole:
        if found is None:
            shown.append(Panel.of(figures.targets(plan, economy)))
        else:
            target = figures.targets(
                plan,
                economy,
                reports,
                found.as_of,
                control=loaded.figures.figures,
                monitoring=found,
            )
            shown.append(Panel.of(target))
    if found is not None:
        alerts = scope.rows(found.alerts[found.alerts["state"] == "firing"])
        columns = ["series", "product", "region", "severity", "fired", "months_firing"]
        columns += ["escalation", "addressee", "plan_year", "forecast", "shortfall"]
        ranked = rank_alerts(
            alerts, set() if scope.whole else scope.user.facilities | scope.user.regions
        )
        shown.append(Panel("alerts", "Alerts firing, with their escalation", ranked[columns]))
    if scope.whole:
        shown.append(Panel.of(figures.consumption_per_head(plan, economy)))
    elif found is not None:
        own = sorted(scope.facilities & set(loaded.figures.activity["facility"]))
        if len(own) <= OWN_FULFILMENT:  # an enterprise's own; a region's units are many
            for facility in own:
                fulfilment = figures.fulfilment(
                    plan,
                    economy,
                    reports,
                    found.as_of,
                    facility,
                    control=loaded.figures.figures,
                    monitoring=found,
                )
                shown.append(Panel.of(fulfilment))
    return shown


SEVERITY_ORDER = ("critical", "warning")
"""The alerts' severities, most severe first (any other after them)."""


def rank_alerts(alerts: pd.DataFrame, own: set[str] | frozenset[str]) -> pd.DataFrame:
    """Alerts in the order a person deals with them: those addressed to ``own`` (a scoped
    user's facilities and regions) first, then the most severe, the most recently fired, the
    longest firing and the largest shortfall; a long table's first rows are what matters."""
    severity = alerts["severity"].map({s: i for i, s in enumerate(SEVERITY_ORDER)})
    keys = pd.DataFrame(
        {
            "theirs": ~alerts["addressee"].isin(list(own)),  # False (theirs) sorts first
            "severity": severity.fillna(len(SEVERITY_ORDER)),
            "fired": alerts["fired"].fillna("").astype(str),
            "months_firing": alerts["months_firing"],
            "shortfall": alerts["shortfall"],
        },
        index=alerts.index,
    )
    order = keys.sort_values(
        ["theirs", "severity", "fired", "months_firing", "shortfall"],
        ascending=[True, True, False, False, False],
        kind="stable",
        na_position="last",
    ).index
    return alerts.loc[order]


def product(
    loaded: Loaded, balance: Balance, product: str, year: int, region: str | None
) -> list[Panel]:
    """A product's material balance by year (in a region, or the nation), where it comes
    from and goes in a year (Sankey), and its valuation by year. ``balance``: the plan's
    (:func:`econplan.reporting.figures.plan_balance`, computed once per version)."""
    plan, economy = loaded.plan, loaded.economy
    return [
        Panel.of(figures.product_balance(plan, economy, product, region, balance=balance)),
        Panel.of(figures.product_sankey(plan, economy, product, year, region, balance=balance)),
        Panel.of(figures.product_valuations(plan, economy, product)),
    ]


def trajectory(
    loaded: Loaded,
    reports: pd.DataFrame,
    found: Monitoring | None,
    facility: str | None,
    product: str | None,
    region: str | None,
) -> list[Panel]:
    """Plan and reported month by month, and the year's forecast with its 90 % band, of a
    facility, a product (in a region), a region's product or the nation; nothing before the
    first report."""
    if found is None:
        return []
    figure = figures.trajectory(
        loaded.plan,
        loaded.economy,
        reports,
        found.as_of,
        facility=facility,
        product=product,
        region=region,
        control=loaded.figures.figures,
        monitoring=found,
    )
    return [Panel.of(figure)]


def valuations(loaded: Loaded, top: int) -> list[Panel]:
    """The limits that bind, ranked by what relaxing each would give, and the products whose
    one more unit is worth most."""
    values = loaded.plan.tables["valuations"]
    balance = values[(values["constraint"] == "balance") & (values["valuation"] > 0)]
    products = (
        balance.groupby(["stage", "item"])["valuation"]
        .max()
        .reset_index()
        .rename(columns={"item": "product", "valuation": "largest valuation"})
        .sort_values("largest valuation", ascending=False)
        .head(top)
    )
    return [
        Panel.of(figures.bottlenecks(loaded.plan, loaded.economy, top)),
        Panel("valued-products", "Products most valued (one more unit)", products),
    ]


def enterprise(
    loaded: Loaded, reports: pd.DataFrame, found: Monitoring | None, facility: str, year: int
) -> tuple[list[Panel], list[dict[str, Any]]]:
    """A facility's fulfilment (from its first report), its control figures by month, the
    reports it sent and its alerts; and the rows of its report form (each figure it is
    given)."""
    plan, economy, control = loaded.plan, loaded.economy, loaded.figures.figures
    shown = []
    if found is not None:
        fulfilment = figures.fulfilment(
            plan, economy, reports, found.as_of, facility, control=control, monitoring=found
        )
        shown.append(Panel.of(fulfilment))
    shown.append(Panel.of(figures.control_by_month(plan, economy, facility, year, control=control)))
    shown.append(
        Panel(f"reports-{facility}", "Reports received", reports[reports["facility"] == facility])
    )
    if found is not None:
        alerts = found.alerts
        shown.append(
            Panel(
                f"alerts-{facility}",
                "Alerts",
                alerts[(alerts["level"] == "facility") & (alerts["series"] == facility)],
            )
        )
    units = economy.tables["products"].set_index("id")["unit"]
    given = control.loc[control["facility"] == facility, ["kind", "product"]]
    given = given.drop_duplicates().sort_values(["kind", "product"])
    form = [
        {"kind": kind, "product": item, "unit": units.get(item, "")}
        for kind, item in given.itertuples(index=False)
    ]
    return shown, form


def next_period(reports: pd.DataFrame, facility: str, economy: Economy) -> str:
    """The month a facility reports next: after its last report, else the plan's first."""
    periods = reports.loc[reports["facility"] == facility, "period"]
    if periods.empty:
        return f"{economy.settings.first_year}-01"
    year, month = (int(x) for x in str(periods.max()).split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class ReportSection:
    """A section of the plan report as a page shows it: its text and its panels."""

    key: str
    title: str
    text: tuple[str, ...]
    panels: tuple[Panel, ...]


def report(found: Report) -> list[ReportSection]:
    """The plan report (:func:`econplan.reporting.plan_report.build_report`, the definition
    `econplan report-plan` renders) as panels: a figure as a figure, a table with its units
    in its header as the workbook has them."""
    return [
        ReportSection(
            section.key,
            section.title,
            section.text,
            tuple(_report_panel(item) for item in section.items),
        )
        for section in found.sections
    ]


def _report_panel(item: Table | figures.Figure) -> Panel:
    if isinstance(item, Table):
        return Panel(f"report-{item.key}", item.title, item.frame.set_axis(item.header(), axis=1))
    return Panel.of(item)
