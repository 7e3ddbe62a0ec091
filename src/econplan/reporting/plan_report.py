"""The plan report: one definition (:func:`build_report`: sections of tables and figures, and
the provenance of the plan) rendered two ways, as one self-contained HTML page
(:func:`write_html`: plotly.js inlined once, works offline) and as an Excel workbook
(:func:`write_xlsx`: a sheet per table, units in the header, and a ``provenance`` sheet).

The writers write the file they are given; a front makes the write atomic (the command line
writes beside the target and renames, :func:`econplan.cli.common.write_file`).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econplan.execution.store import Store
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.reporting.figure import Figure, number, product_units, slug
from econplan.reporting.progress import targets as target_figure
from econplan.reporting.valuations import LEVEL_UNIT, consumption_per_head
from econplan.reporting.valuations import bottlenecks as bottleneck_figure

GENERATOR = "econplan report-plan"
"""Marks a file as a plan report econplan wrote (the only kind it will replace)."""

PROVENANCE = "provenance"
"""The name of the workbook's provenance sheet."""

TOP_BOTTLENECKS = 20


@dataclass(frozen=True)
class Table:
    """A table of the report: ``key`` names its sheet; ``units`` gives the unit of each
    column that has one unit (a column of rows in several units has a ``unit`` column
    beside it)."""

    key: str
    title: str
    frame: pd.DataFrame
    units: dict[str, str] = field(default_factory=dict)

    def header(self) -> list[str]:
        return [f"{c} ({self.units[c]})" if c in self.units else str(c) for c in self.frame]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    text: tuple[str, ...]
    items: tuple[Table | Figure, ...]


@dataclass(frozen=True)
class Report:
    """A plan report: its title, the provenance of the plan, and its sections."""

    title: str
    provenance: dict[str, object]
    sections: tuple[Section, ...]

    def tables(self) -> list[Table]:
        return [i for s in self.sections for i in s.items if isinstance(i, Table)]


SECTIONS = (
    "headline",
    "targets",
    "consumption",
    "output",
    "investment",
    "trade",
    "bottlenecks",
    "verification",
)
"""Every section of a plan report, in order."""


def build_report(store: Store, version: int) -> Report:
    """The report of ``version`` in ``store``: its plan, its economy and who decided on it."""
    found = store.version(version)
    economy = store.economy(found.economy)
    plan = store.plan(version)
    solver = plan.info.get("solver", {})
    checked = plan.info.get("verification", {})
    approved = found.state in ("approved", "superseded")
    provenance: dict[str, object] = {
        "economy": str(plan.info.get("economy", {}).get("name", "")),
        "economy hash": found.economy,
        "plan hash": found.plan,
        "version": found.id,
        "plan line": found.line,
        "version number": found.number,
        "state": found.state,
        "approved by": found.decided_by if approved else "",
        "approved at": found.decided_at if approved else "",
        "solver": f"{solver.get('name', '')} {solver.get('version', '')}".strip(),
        "solver method": str(solver.get("method", "")),
        "solver tolerance": solver.get("tolerance"),
        "verification": "valid" if checked.get("valid") else "failed",
        "largest violation": checked.get("max_violation"),
        "violation limit": checked.get("limit"),
        "econplan version": metadata.version("econplan"),
        "made at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    sections = (
        _headline(plan),
        _targets(plan, economy),
        _consumption(plan, economy),
        _output(plan, economy),
        _investment(plan, economy),
        _trade(plan, economy),
        _bottlenecks(plan, economy),
        _verification(plan),
    )
    title = f"Plan report: {found.line} v{found.number} (version {found.id}, {found.state})"
    return Report(title, provenance, sections)


def _headline(plan: Plan) -> Section:
    table = plan.tables["targets"]
    met = int(table["met"].sum())
    missed = sorted(table.loc[~table["met"].astype(bool), "id"].astype(str))
    objectives = plan.info.get("objectives", {})
    level = objectives.get("consumption")
    average = objectives.get("consumption_average")
    rows = [
        ("targets", len(table), "targets"),
        ("targets met", met, "targets"),
        ("targets missed", len(missed), "targets"),
        ("consumption per head, worst-off region and year", level, LEVEL_UNIT),
        ("consumption per head, average over people and years", average, LEVEL_UNIT),
    ]
    text = [
        f"{met} of {len(table)} targets met"
        + (f"; missed: {', '.join(missed)}." if missed else ".")
    ]
    if level is not None:
        text.append(
            f"Consumption per head at {number(level)} times the norms in the worst-off region and "
            f"year ({number(average)} on average)."
        )
    frame = pd.DataFrame(rows, columns=["measure", "value", "unit"])
    return Section("headline", "Headline", tuple(text), (Table("headline", "Headline", frame),))


def _targets(plan: Plan, economy: Economy) -> Section:
    figure = target_figure(plan, economy)
    frame = figure.data.drop(columns=["met"]).assign(
        fulfilment=plan.tables["targets"]["fulfilment"].to_numpy(dtype=float),
        met=figure.data["met"].to_numpy(dtype=bool),
    )
    table = Table("targets", "Targets: required and planned", frame, {"fulfilment": "share"})
    text = ("Required and planned amounts are in each target's unit (the unit column).",)
    return Section("targets", "Targets", text, (figure, table))


def _consumption(plan: Plan, economy: Economy) -> Section:
    figure = consumption_per_head(plan, economy)
    frame = figure.data.drop(columns=["unit", "persons_unit"])
    table = Table(
        "consumption per head",
        "Consumption per head by region and year",
        frame,
        {"level": LEVEL_UNIT, "persons": "person"},
    )
    text = (f"The level is the {LEVEL_UNIT}: 1 is the consumption norms per head.",)
    return Section("consumption", "Consumption per head", text, (figure, table))


def _output(plan: Plan, economy: Economy) -> Section:
    made = plan.tables["production"].groupby(["product", "year"])["amount"].sum()
    wide = made.unstack("year").fillna(0.0)
    wide.columns = [str(c) for c in wide.columns]
    products = economy.tables["products"].set_index("id")
    wide.insert(0, "unit", products["unit"].reindex(wide.index).to_numpy(dtype=object))
    wide.insert(0, "name", products["name"].reindex(wide.index).to_numpy(dtype=object))
    frame = wide.reset_index()
    table = Table("output", "Output by product and year (the nation)", frame)
    text = ("Gross output of every product the plan makes, in the product's unit a year.",)
    return Section("output", "Output by product and year", text, (table,))


def _investment(plan: Plan, economy: Economy) -> Section:
    investment = plan.tables["investment"]
    main = economy.tables["processes"].set_index("id")["main_product"]
    units = product_units(economy)
    capacity_unit = [
        f"{units.get(main.get(p), '?')} of {main.get(p, p)} a year" for p in investment["process"]
    ]
    frame = investment.assign(capacity_unit=capacity_unit)
    frame = frame[
        [
            "option",
            "kind",
            "process",
            "region",
            "facility",
            "start_year",
            "ready_year",
            "units",
            "capacity",
            "capacity_unit",
        ]
    ]
    table = Table(
        "investment", "Investment: capacity built or renovated", frame, {"units": "option units"}
    )
    text = (f"{len(frame)} investment tasks; capacity in its process's main product a year.",)
    return Section("investment", "Investment", text, (table,))


def _trade(plan: Plan, economy: Economy) -> Section:
    trade = (
        plan.tables["trade"]
        .groupby(["product", "year"], as_index=False)[["imports", "exports"]]
        .sum()
    )
    units = product_units(economy)
    frame = trade.assign(unit=[str(units.get(p, "?")) for p in trade["product"]])
    table = Table("foreign trade", "Foreign trade by product and year (the nation)", frame)
    spending = plan.info.get("objectives", {}).get("imports")
    text = ["Imports and exports in the product's unit a year."]
    if spending is not None:
        text.append(f"Spending on imports over the horizon: {number(spending)} USD.")
    return Section("trade", "Foreign trade", tuple(text), (table,))


def _bottlenecks(plan: Plan, economy: Economy) -> Section:
    figure = bottleneck_figure(plan, economy, TOP_BOTTLENECKS)
    table = Table("bottlenecks", "Bottlenecks with their valuations", figure.data)
    text = (
        "The limits that bind, stage by stage, ranked by their valuation: what one more unit of "
        "each would add to (or save from) its stage's objective, in the unit given.",
    )
    return Section("bottlenecks", "Bottlenecks and valuations", text, (figure, table))


def _verification(plan: Plan) -> Section:
    checked = plan.info.get("verification", {})
    rows = [(k, v) for k, v in checked.items() if k != "checks"]
    frame = pd.DataFrame(rows, columns=["check", "value"])
    frame["value"] = frame["value"].astype(object)
    valid = "valid" if checked.get("valid") else "NOT valid"
    text = (
        f"The plan was checked against the economy after solving: {valid}, largest relative "
        f"violation {number(checked.get('max_violation'))} (limit {number(checked.get('limit'))}).",
    )
    tables = [Table("verification", "Verification", frame)]
    checks = checked.get("checks")
    if isinstance(checks, dict) and checks:  # each check in a row of its own, not one dict
        tables.append(Table("verification checks", "Each check", _checks_frame(checks)))
    return Section("verification", "Verification", text, tuple(tables))


def _checks_frame(checks: dict[str, Any]) -> pd.DataFrame:
    """The plan's verification checks (``info["verification"]["checks"]``: each check's
    count, largest relative violation and where it is) as a table."""
    return pd.DataFrame(
        [
            (
                str(check),
                int(found.get("count", 0)),
                float(found.get("max_violation", 0.0)),
                "" if found.get("worst") is None else str(found.get("worst")),
            )
            for check, found in checks.items()
        ],
        columns=["check", "count", "largest violation", "where"],
    )


# -- HTML --------------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.5rem; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-height: 32rem; overflow: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
"""


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        if isinstance(value, float | np.floating) and math.isnan(float(value)):
            return "<td></td>"
        if isinstance(value, int | np.integer):  # counts and years, as they are
            return f'<td class="n">{int(value)}</td>'
        return f'<td class="n">{html.escape(number(float(value)))}</td>'
    if value is None or value is pd.NA:
        return "<td></td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header())
    body = "\n".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in table.frame.itertuples(index=False, name=None)
    )
    return (
        f'<h3>{html.escape(table.title)}</h3><div class="scroll"><table data-sheet="'
        f'{html.escape(table.key)}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody>'
        "</table></div>"
    )


def _fact(value: object) -> str:
    """A provenance value in full (a hash is never cut, a tolerance never rounded)."""
    return "" if value is None else str(value)


def html_page(report: Report) -> str:
    """The report as one HTML page, plotly.js inlined once in its head."""
    from plotly.offline import get_plotlyjs

    nav = " ".join(f'<a href="#{slug(s.key)}">{html.escape(s.title)}</a>' for s in report.sections)
    facts = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(_fact(v))}</dd>"
        for k, v in report.provenance.items()
    )
    parts = []
    for section in report.sections:
        body = "".join(f"<p>{html.escape(t)}</p>" for t in section.text)
        for item in section.items:
            body += item.html_div() if isinstance(item, Figure) else _table_html(item)
        heading = f"<h2>{html.escape(section.title)}</h2>"
        parts.append(f'<section id="{slug(section.key)}">{heading}{body}</section>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR}">'
        f"<title>{html.escape(report.title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<h1>{html.escape(report.title)}</h1><nav>{nav}</nav>"
        f'<section id="{PROVENANCE}"><h2>Provenance</h2><dl>{facts}</dl></section>'
        + "\n".join(parts)
        + "</body></html>\n"
    )


def write_html(report: Report, path: Path) -> None:
    """The report as one self-contained HTML page at ``path``."""
    Path(path).write_text(html_page(report), encoding="utf-8")


# -- Excel -------------------------------------------------------------------------------------
def _excel_value(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    return value if isinstance(value, int | str) else str(value)


def sheet_names(report: Report) -> list[str]:
    """A sheet name for each table: Excel allows 31 characters, no []:*?/\\."""
    names = []
    for table in report.tables():
        name = "".join("_" if c in "[]:*?/\\" else c for c in table.key)[:31]
        names.append(name)
    return names


def write_xlsx(report: Report, path: Path) -> None:
    """The report as a workbook at ``path``: a sheet per table (units in the header row,
    which stays in view) and a ``provenance`` sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    first = book.active
    book.remove(first)
    bold = Font(bold=True)

    def fill(sheet: object, header: list[str], rows: list[list[object]]) -> None:
        sheet.append(header)  # type: ignore[attr-defined]
        for row in rows:
            sheet.append(row)  # type: ignore[attr-defined]
        for cell in sheet[1]:  # type: ignore[index]
            cell.font = bold
        sheet.freeze_panes = "A2"  # type: ignore[attr-defined]
        for i, name in enumerate(header, start=1):
            values = [len(name)] + [
                len(number(r[i - 1]) if isinstance(r[i - 1], float) else str(r[i - 1] or ""))
                for r in rows[:500]
            ]
            sheet.column_dimensions[get_column_letter(i)].width = min(max(values) + 2, 60)  # type: ignore[attr-defined]

    for table, name in zip(report.tables(), sheet_names(report), strict=True):
        rows = [
            [_excel_value(v) for v in row] for row in table.frame.itertuples(index=False, name=None)
        ]
        fill(book.create_sheet(name), table.header(), rows)
    facts = [[k, _excel_value(v)] for k, v in report.provenance.items()]
    fill(book.create_sheet(PROVENANCE), ["field", "value"], facts)
    book.properties.creator = GENERATOR
    book.save(path)
