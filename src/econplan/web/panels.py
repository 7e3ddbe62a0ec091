"""The frames each page shows, as panels (a figure's data, its table and its CSV): pure
functions of a version's economy, plan, control figures, reports and monitoring.

Where :mod:`econplan.reporting` provides the figure, the panel is ``Panel.of(figure)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from econplan.execution.monitor import Monitoring
from econplan.model.economy import Economy
from econplan.web.context import Loaded
from econplan.web.render import Panel
from econplan.web.scope import Scope


def _units(economy: Economy) -> pd.Series:
    return economy.tables["products"].set_index("id")["unit"]


def dashboard(loaded: Loaded, found: Monitoring | None, scope: Scope) -> list[Panel]:
    """The targets (required, planned, reported, forecast), the alerts that fire and the
    consumption per head by region; a scoped user sees only its own alerts."""
    shown = []
    if scope.whole:
        shown.append(targets(loaded, found))
    if found is not None:
        alerts = scope.rows(found.alerts[found.alerts["state"] == "firing"])
        columns = ["series", "product", "region", "severity", "fired", "months_firing"]
        columns += ["escalation", "addressee", "plan_year", "forecast", "shortfall"]
        ranked = alerts.sort_values(["months_firing", "shortfall"], ascending=[False, False])
        shown.append(Panel("alerts", "Alerts firing, with their escalation", ranked[columns]))
    if scope.whole:
        level = loaded.plan.tables["consumption_level"]
        shown.append(
            Panel(
                "consumption-per-head",
                "Consumption per head by region (level of the norms)",
                level[["region", "year", "level", "persons"]],
            )
        )
    return shown


def targets(loaded: Loaded, found: Monitoring | None) -> Panel:
    """Each target's required and planned amounts; for the year being reported, what was
    reported of its product so far and the year's forecast (national)."""
    frame = loaded.plan.tables["targets"][
        ["id", "product", "sector", "region", "year", "kind", "required", "planned", "met"]
    ]
    if found is not None:
        status = found.status
        nation = status[status["level"] == "product"].set_index("id")
        year = int(found.as_of[:4])
        this = frame["year"].eq(year) & frame["region"].isna()
        product = frame["product"].where(this)
        frame = frame.assign(
            reported=product.map(nation["actual_to_date"]),
            forecast=product.map(nation["forecast"]),
        )
    else:
        frame = frame.assign(reported=float("nan"), forecast=float("nan"))
    return Panel("targets", "Targets: required, planned, reported and forecast", frame)


def _balance_entries(loaded: Loaded, product: str) -> pd.DataFrame:
    from econplan.analysis.balance import material_balance
    from econplan.plan.flows import plan_flows

    entries = material_balance(loaded.economy, plan_flows(loaded.economy, loaded.plan.tables))
    return entries.entries[entries.entries["product"] == product]


def product(loaded: Loaded, product: str, year: int, region: str | None) -> list[Panel]:
    """A product's material balance by year and region, where it comes from and goes to in a
    year (the Sankey's flows), and its valuation by year."""
    unit = _units(loaded.economy).get(product, "")
    entries = _balance_entries(loaded, product)
    if region:
        entries = entries[entries["region"] == region]
    balance = (
        entries.groupby(["year", "region", "side", "flow"], sort=True)["amount"]
        .sum()
        .reset_index()
        .assign(unit=unit)
    )
    flows = (
        entries[entries["year"] == year]
        .assign(detail=lambda f: f["detail"].fillna("").astype(str))
        .groupby(["side", "flow", "detail"], sort=True)["amount"]
        .sum()
        .reset_index()
        .assign(unit=unit)
    )
    flows = flows[flows["amount"] > 0]
    values = loaded.plan.tables["valuations"]
    mine = values[(values["item"] == product) & (values["constraint"] == "balance")]
    valuation = (
        mine.groupby(["stage", "year"], sort=True)["valuation"]
        .agg(["mean", "max"])
        .reset_index()
        .rename(columns={"mean": "valuation_mean_over_regions", "max": "valuation_max"})
    )
    return [
        Panel(f"balance-{product}", f"Material balance of {product} by year and region", balance),
        Panel(f"flows-{product}-{year}", f"Where {product} comes from and goes, {year}", flows),
        Panel(f"valuation-{product}", f"Valuation of {product} by year", valuation),
    ]


def trajectory(
    loaded: Loaded,
    reports: pd.DataFrame,
    found: Monitoring | None,
    facility: str | None,
    product: str | None,
    region: str | None,
) -> list[Panel]:
    """Plan and actual output month by month for a facility, a product or a region (one
    product: amounts of different products do not add), with the year's forecast band."""
    figures = loaded.figures.figures
    plan = figures[figures["kind"] == "output"]
    actual = reports[reports["kind"] == "output"]
    if facility:
        plan, actual = plan[plan["facility"] == facility], actual[actual["facility"] == facility]
    if region:
        members = loaded.figures.regions.get(region, (region,))
        plan = plan[plan["region"].isin(members)]
        actual = actual[actual["facility"].isin(set(plan["facility"]))]
    if product is None and len(plan):
        product = str(plan.groupby("product")["amount"].sum().idxmax())
    plan, actual = plan[plan["product"] == product], actual[actual["product"] == product]
    by_month = plan.assign(
        period=plan["year"].astype(str) + "-" + plan["month"].map("{:02d}".format)
    )
    frame = pd.DataFrame({"plan": by_month.groupby("period")["amount"].sum()})
    frame["actual"] = actual.groupby("period")["amount"].sum()
    frame = frame.reset_index().assign(
        product=product, unit=_units(loaded.economy).get(product, "")
    )
    band = pd.DataFrame()
    if found is not None:
        status = found.status
        series = status["product"] == product
        if facility:
            series &= (status["level"] == "facility") & (status["id"] == facility)
        elif region:
            series &= (status["level"] == "region") & (status["id"] == region)
        else:
            series &= status["level"] == "product"
        band = status[series][
            ["level", "id", "product", "plan_year", "forecast", "forecast_low", "forecast_high"]
        ].assign(year=int(found.as_of[:4]), as_of=found.as_of)
    what = facility or region or "the nation"
    return [
        Panel("trajectory", f"{product}: plan and actual by month, {what}", frame),
        Panel("forecast-band", "The year's forecast and its 90 % band", band),
    ]


def valuations(loaded: Loaded, top: int) -> list[Panel]:
    """The limits that bind, ranked by what relaxing each would give, and the products whose
    one more unit is worth most."""
    limits = loaded.plan.tables["bottlenecks"].head(top)
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
        Panel("bottlenecks", "Bottlenecks: the limits that bind, ranked", limits),
        Panel("valued-products", "Products most valued (one more unit)", products),
    ]


def enterprise(
    loaded: Loaded, reports: pd.DataFrame, found: Monitoring | None, facility: str, year: int
) -> tuple[list[Panel], list[dict[str, Any]]]:
    """A facility's control figures by month, its reports, fulfilment and alerts; and the
    rows of its report form (each figure it is given)."""
    figures = loaded.figures.figures
    own = figures[figures["facility"] == facility]
    units = _units(loaded.economy)
    monthly = own[own["year"] == year][["year", "month", "kind", "product", "amount"]]
    monthly = monthly.assign(unit=monthly["product"].map(units))
    mine = reports[reports["facility"] == facility]
    shown = [
        Panel(f"control-figures-{facility}-{year}", f"Control figures by month, {year}", monthly),
        Panel(f"reports-{facility}", "Reports received", mine),
    ]
    if found is not None:
        status = found.status
        shown.append(
            Panel(
                f"fulfilment-{facility}",
                f"Fulfilment as of {found.as_of}",
                status[(status["level"] == "facility") & (status["id"] == facility)],
            )
        )
        alerts = found.alerts
        shown.append(
            Panel(
                f"alerts-{facility}",
                "Alerts",
                alerts[(alerts["level"] == "facility") & (alerts["series"] == facility)],
            )
        )
    given = own[["kind", "product"]].drop_duplicates().sort_values(["kind", "product"])
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


def report(loaded: Loaded) -> list[Panel]:
    """The plan report's tables."""
    tables = loaded.plan.tables
    production = tables["production"].groupby(["product", "year"])["amount"].sum().reset_index()
    production = production.assign(unit=production["product"].map(_units(loaded.economy)))
    objectives = pd.DataFrame(
        [{"objective": k, "value": v} for k, v in loaded.plan.info.get("objectives", {}).items()]
    )
    return [
        Panel("report-targets", "Targets", tables["targets"]),
        Panel("report-objectives", "Objectives", objectives),
        Panel("report-production", "Production by product and year (national)", production),
        Panel("report-investment", "Investment", tables["investment"]),
        Panel("report-bottlenecks", "Bottlenecks", tables["bottlenecks"].head(20)),
    ]


def provenance(loaded: Loaded) -> list[tuple[str, str]]:
    """What the plan is and where it came from: hashes, solver, verification."""
    info = loaded.plan.info
    solver = info.get("solver", {})
    check = info.get("verification", {})
    return [
        ("version", f"{loaded.version.label} (id {loaded.version.id}), {loaded.version.state}"),
        ("economy", str(info.get("economy", {}).get("name", ""))),
        ("economy hash", loaded.version.economy),
        ("plan hash", loaded.version.plan),
        ("status", loaded.plan.status),
        (
            "solver",
            f"{solver.get('name', '')} {solver.get('version', '')}, {solver.get('method', '')}",
        ),
        ("tolerance", str(solver.get("tolerance", ""))),
        ("verified", f"{check.get('valid')} (largest violation {check.get('max_violation')})"),
    ]


def write_report_xlsx(loaded: Loaded, path: str | Path | BinaryIO) -> None:
    """The plan report as a workbook: a sheet per table and a provenance sheet."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for panel in report(loaded):
            panel.data.to_excel(writer, sheet_name=panel.title[:31], index=False)
        pd.DataFrame(provenance(loaded), columns=["what", "value"]).to_excel(
            writer, sheet_name="provenance", index=False
        )
