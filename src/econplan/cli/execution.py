"""``econplan control-figures``, ``report``, ``monitor`` and ``replan``: the plan carried out,
from the command line, on versions held in the store (see :mod:`econplan.cli.store`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd
from rich.table import Table

from econplan.cli.common import (
    EXIT_BAD_INPUT,
    console,
    errors,
    fail,
    json_option,
    main,
    print_json,
    write_csv,
    write_file,
)
from econplan.cli.plan import EXIT_INFEASIBLE, EXIT_NO_PLAN
from econplan.cli.store import store_command, store_group, who
from econplan.errors import EconomyError
from econplan.execution.breakdown import BreakdownError, ControlFigures, control_figures
from econplan.execution.diff import PlanDiff
from econplan.execution.monitor import Monitoring
from econplan.execution.store import Store
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.output import jsonable
from econplan.plan.whole import whole_units_said


def stored(store: Store, version: int) -> tuple[Economy, Plan]:
    """A version's economy and plan, read back from the store."""
    found = store.version(version)
    return store.economy(found.economy), store.plan(version)


def scoped(figures: ControlFigures, store: Store, user: str | None) -> ControlFigures:
    """An enterprise sees its own facilities and a regional planner its regions; others all."""
    if not user:
        return figures
    person = store.user(user)
    if person.unscoped:
        return figures
    units = figures.activity[["facility", "region"]].drop_duplicates()
    inside = units["facility"].isin(person.facilities)
    for region in person.regions:
        members = figures.regions.get(region, ())
        inside |= units["region"].isin(members)
    keep = sorted(units.loc[inside, "facility"].unique())
    if not keep:
        fail(f"{user} has no unit in this plan's control figures within its scope")
    return figures.for_units(keep)


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [jsonable(r) for r in clean.to_dict(orient="records")]


@main.command("control-figures")
@click.argument("version", type=int)
@click.option("--facility", default=None, help="Only this facility (or new:/rest: unit).")
@click.option("--region", default=None, help="Only this region and the regions inside it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the monthly figures (one row per figure and month) to this CSV file.",
)
@click.option(
    "--xlsx",
    "xlsx_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a workbook: monthly figures, units, investment tasks and their materials.",
)
@store_command
def control_figures_command(
    store: Store,
    user: str | None,
    version: int,
    facility: str | None,
    region: str | None,
    as_json: bool,
    csv_file: Path | None,
    xlsx_file: Path | None,
) -> None:
    """The plan of VERSION broken down to every enterprise: output, materials, labour and
    investment tasks, by year and month. The rules are in docs/execution.md."""
    if facility and region:
        fail("give --facility or --region, not both")
    economy, plan = stored(store, version)
    try:
        figures = control_figures(economy, plan)
        if facility:
            figures = figures.for_facility(facility)
        elif region:
            figures = figures.for_region(region)
    except BreakdownError as error:
        fail(str(error))
    figures = scoped(figures, store, user)
    if csv_file is not None:
        write_csv(figures.figures, csv_file, "--csv")
    if xlsx_file is not None:
        write_workbook(figures, xlsx_file)
    if as_json:
        print_json(
            {
                "version": version,
                "units": records(figures.activity),
                "figures": records(figures.figures),
                "tasks": records(figures.tasks),
                "materials": records(figures.materials),
            }
        )
    elif csv_file is None and xlsx_file is None:
        show(figures)


WORKBOOK_SHEETS = ("monthly figures", "units", "investment tasks", "task materials")


def write_workbook(figures: ControlFigures, file: Path) -> None:
    """The control figures as a workbook, written beside ``file`` and moved in whole; an
    existing file is replaced only when it is an earlier control-figures workbook."""
    if file.suffix.lower() != ".xlsx":
        fail(f"{file}: give --xlsx a file name ending in .xlsx")
    if not file.parent.is_dir():
        fail(f"{file}: the folder {file.parent} does not exist")
    if file.exists() and not _our_workbook(file):
        fail(f"{file}: exists and is not a control-figures workbook; give a new file name")

    def fill(staging: Path) -> None:
        with pd.ExcelWriter(staging, engine="openpyxl") as writer:
            for sheet, frame in zip(
                WORKBOOK_SHEETS,
                (figures.to_wide(), figures.activity, figures.tasks, figures.materials),
                strict=True,
            ):
                frame.to_excel(writer, sheet_name=sheet, index=False)

    write_file(file, fill)


def _our_workbook(file: Path) -> bool:
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True)
    except Exception:  # not a workbook at all, or one openpyxl cannot open: not ours
        return False
    try:
        return tuple(book.sheetnames) == WORKBOOK_SHEETS
    finally:
        book.close()


def amount(value: float) -> str:
    """A figure as people read it: whole units with separators, small ones to four digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def show(figures: ControlFigures) -> None:
    units = figures.activity
    if units.empty:
        console.print("No unit has figures here.")
        return
    if len(units["facility"].unique()) == 1:
        show_unit(figures)
        return
    first = int(units["year"].min())
    table = Table(title=f"Control figures: {units['facility'].nunique():,} units")
    for column in ("unit", "process", "region", "capacity", f"activity {first}", "use"):
        table.add_column(column, justify="right" if column[0] in "cau" else "left")
    for row in units[units["year"] == first].to_dict(orient="records"):
        table.add_row(
            str(row["facility"]),
            str(row["process"]),
            str(row["region"]),
            amount(row["capacity"]),
            amount(row["activity"]),
            f"{row['utilisation']:.0%}",
        )
    console.print(table)


def show_unit(figures: ControlFigures) -> None:
    """One unit's figures by year, as its planning department reads them."""
    units = figures.activity
    unit = str(units["facility"].iloc[0])
    head = units.iloc[0]
    console.print(
        f"{figures.names.get(unit, unit)} ({unit}): {head['process']} in {head['region']}, "
        f"capacity {amount(head['capacity'])} a year",
        soft_wrap=True,
    )
    wide = figures.to_wide()
    order = wide["kind"].map({"output": 0, "input": 1, "labour": 2}).fillna(9)
    yearly = wide.assign(order=order).pivot_table(
        index=["order", "kind", "product", "unit"], columns="year", values="total", aggfunc="sum"
    )
    table = Table(title="Control figures by year (by month: --csv, --xlsx or --json)")
    for column in ("", "product", "unit", *(str(y) for y in yearly.columns)):
        table.add_column(column, justify="right" if column.isdigit() else "left")
    for keys, values in zip(yearly.index, yearly.to_numpy(), strict=True):
        _, kind, product, unit_name = keys
        table.add_row(str(kind), str(product), str(unit_name), *(amount(v) for v in values))
    console.print(table)


# -- reports ------------------------------------------------------------------------------------
def reporting_version(store: Store, version: int | None) -> int:
    """The version reports are checked against: the one named, else the version in force
    (the most recently approved)."""
    if version is not None:
        return version
    approved = [v for v in store.versions() if v.state == "approved"]
    if not approved:
        fail("no approved version in the store: name the version reports are for with --version")
    return max(approved, key=lambda v: v.decided_at or "").id


def refused(error: EconomyError) -> NoReturn:
    """Refused input as every problem, one per line, and exit 2."""
    count = len(error.problems)
    errors.print(f"refused: {count:,} problem(s); nothing was stored", style="bold red")
    for problem in error.problems:
        errors.print(str(problem), soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


@main.group("report")
def report_group() -> None:
    """Fulfilment reports: what enterprises made, used and built, month by month."""


@report_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    help="Check against this version (default: the version in force).",
)
@store_command
@json_option
def report_import_command(
    store: Store, user: str | None, file: Path, version: int | None, as_json: bool
) -> None:
    """Store the reports in FILE (CSV; `econplan report template` writes one), all or none:
    a report id seen before with the same rows changes nothing, with other rows it is a
    correction (a new revision; the old one is kept)."""
    from econplan.execution.reports import read_reports

    actor = who(user)
    economy, _ = stored(store, reporting_version(store, version))
    horizon = (economy.settings.first_year, economy.settings.last_year)
    try:
        reports = read_reports(file, economy, horizon)
    except EconomyError as error:
        refused(error)
    frame = reports.with_notes()
    done = store.import_reports(actor, frame, economy, str(file))
    if as_json:
        print_json(done.to_dict() | {"rows": len(frame)})
    else:
        console.print(
            f"{file}: {len(done.added)} new report(s), {len(done.corrected)} corrected, "
            f"{len(done.unchanged)} unchanged ({len(frame):,} rows)",
            soft_wrap=True,
        )


@report_group.command("template")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    help="For this version's economy (default: the version in force).",
)
@store_command
def report_template_command(store: Store, user: str | None, out: Path, version: int | None) -> None:
    """Write a report file with its header and example rows to fill in."""
    from econplan.execution.reports import report_template

    economy, _ = stored(store, reporting_version(store, version))
    if out.exists():
        fail(f"{out}: exists; give a new file name")
    if not out.parent.is_dir():
        fail(f"{out}: the folder {out.parent} does not exist")
    text = report_template(economy)
    write_file(out, lambda staging: staging.write_text(text, encoding="utf-8"))
    console.print(f"wrote {out}")


@report_group.command("simulate")
@click.argument("version", type=int)
@click.option("--until", required=True, metavar="YYYY-MM", help="The last month reported.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="The same seed, the same reports."
)
@click.option(
    "--shock",
    "shocks",
    multiple=True,
    metavar="KIND:TARGET:START:LOSS:MONTHS",
    help="An event, e.g. typhoon:south_hamgyong:2021-08:0.5:6 (repeat for more; default: "
    "the built-in typhoon in South Hamgyong).",
)
@click.option("--no-shocks", is_flag=True, help="Noise and breakdowns only.")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="The CSV file of reports to write.",
)
@store_command
@json_option
def report_simulate_command(
    store: Store,
    user: str | None,
    version: int,
    until: str,
    seed: int,
    shocks: tuple[str, ...],
    no_shocks: bool,
    out: Path,
    as_json: bool,
) -> None:
    """Realistic monthly reports of every enterprise of VERSION through --until: noise,
    seasonal swings, a breakdown, and shocks (docs/execution.md), to show and test the
    loop without real enterprises."""
    from econplan.errors import UsageError
    from econplan.execution.reports import report_table
    from econplan.execution.simulate import simulate

    if no_shocks and shocks:
        fail("give --shock or --no-shocks, not both")
    economy, plan = stored(store, version)
    try:
        figures = control_figures(economy, plan)
        frame = simulate(
            economy,
            figures.figures,
            until,
            seed,
            () if no_shocks else (shocks or None),
            investment=plan.tables["investment"],
            units=figures.activity,
        )
    except (UsageError, BreakdownError) as error:
        fail(str(error))
    units = economy.tables["products"].set_index("id")["unit"]
    units = pd.concat([units, pd.Series({"": "unit"})])
    frame = frame.assign(
        unit=frame["product"].map(units).where(frame["kind"] != "construction", "unit"),
        note="",
    )
    columns = list(report_table().column_names)
    write_csv(frame[columns], out, "--out")
    summary = {
        "file": str(out),
        "rows": len(frame),
        "reports": int(frame["report"].nunique()),
        "through": until,
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"wrote {out}: {summary['reports']:,} reports, {summary['rows']:,} rows, through "
            f"{until}",
            soft_wrap=True,
        )


# -- re-planning and comparing ------------------------------------------------------------------
@main.command("replan")
@click.argument("version", type=int)
@click.option(
    "--as-of",
    "as_of",
    required=True,
    metavar="YYYY-MM",
    help="The last month reported: what was reported through it is held as fact.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder the new plan is written to (new, empty, or an earlier plan).",
)
@click.option(
    "--store", "keep", is_flag=True, help="Store the new plan as a draft version revising VERSION."
)
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Changes shown."
)
@store_command
@json_option
def replan_command(
    store: Store,
    user: str | None,
    version: int,
    as_of: str,
    out: Path,
    keep: bool,
    top: int,
    as_json: bool,
) -> None:
    """Plan VERSION again from what was reported through --as-of: the months reported are
    facts, the rest of the horizon is planned optimally from there.

    Exit 0: a verified re-plan (with --store, its new version's id is printed). 3: the
    targets that were met cannot all be met any more (the diagnosis names them and the
    limits). 4: no plan for another reason. 2: bad input.
    """
    from econplan.execution.breakdown import monthly_shares
    from econplan.execution.replan import ReplanError, replan
    from econplan.io.replace import OutputError, check_output_folder
    from econplan.plan import SolveError, write_plan
    from econplan.plan.disk import plan_folder_problem

    actor = who(user) if keep else user
    if keep:  # before the solve: minutes of work must not end in "not allowed"
        store.user(str(actor)).require("store.add")
    try:  # before the solve: minutes of work must not end in "cannot write"
        check_output_folder(out, plan_folder_problem)
    except OutputError as error:
        fail(str(error))
    found = store.version(version)
    economy, plan = stored(store, version)
    actuals = store.reports(found.economy, until=as_of)

    def progress(message: str) -> None:
        if not as_json:
            errors.print(message)

    progress(f"{len(actuals):,} reported figures through {as_of}")
    try:
        result = replan(economy, plan, actuals, as_of, monthly_shares(economy), progress=progress)
    except ReplanError as error:
        fail(str(error))
    except SolveError as error:
        errors.print(f"error: no plan: {error}", style="bold red")
        sys.exit(EXIT_NO_PLAN)
    written = write_plan(result.plan, out)
    summary = result.to_dict(top)
    if result.status == "infeasible":
        if as_json:
            print_json(summary | {"diagnosis": written.diagnosis})
        else:
            show_diff(result.diff, top)
            whole = whole_units_said(written.diagnosis)
            if whole:  # the elastic diagnosis makes whole units fractions: it cannot say this
                errors.print(f"No plan: {whole}.", style="bold red")
            errors.print(f"wrote {out}/diagnosis.json")
        sys.exit(EXIT_INFEASIBLE)
    if not written.ok:
        errors.print("error: the re-plan fails verification", style="bold red")
        sys.exit(EXIT_NO_PLAN)
    new_version = None
    if keep:
        note = f"re-plan of version {version} as of {as_of}"
        new_version = store.add_version(
            str(actor), found.line, written, out, economy, note=note, revises=version
        )
    if as_json:
        print_json(summary | {"version": new_version.id if new_version else None})
        return
    show_diff(result.diff, top)
    console.print(f"Wrote the re-plan to {out}/.", soft_wrap=True)
    if new_version is not None:
        console.print(str(new_version.id))


@store_group.command("diff")
@click.argument("first", type=int)
@click.argument("second", type=int)
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Changes shown."
)
@store_command
@json_option
def diff_command(
    store: Store, user: str | None, first: int, second: int, top: int, as_json: bool
) -> None:
    """What changed from version FIRST to version SECOND: targets lost or at risk, activity
    moved, objectives, and the valuations that explain it."""
    from econplan.execution.diff import diff_plans

    found = diff_plans(store.plan(first), store.plan(second))
    if as_json:
        print_json({"from": first, "to": second} | found.to_dict(top))
    else:
        show_diff(found, top)


def show_diff(diff: PlanDiff, top: int) -> None:
    old, new = diff.status
    console.print(f"from a plan {old} to a plan {new}", soft_wrap=True)
    for verdict in ("lost", "at_risk", "regained"):
        rows = diff.targets[diff.targets["verdict"] == verdict]
        for row in rows.itertuples():
            console.print(
                f"  target {row.id} {verdict.replace('_', ' ')}: required {row.required:,.6g}, "
                f"planned {row.old:,.6g} -> {row.new:,.6g}",
                soft_wrap=True,
            )
    if not diff.activity.empty:
        table = Table(title=f"Activity moved (largest {min(top, len(diff.activity))})")
        for column in ("process", "region", "year", "old", "new", "change"):
            table.add_column(
                column, justify="right" if column in ("old", "new", "change") else "left"
            )
        for row in diff.activity.head(top).itertuples():
            table.add_row(
                str(row.process),
                str(row.region),
                str(row.year),
                f"{row.old:,.6g}",
                f"{row.new:,.6g}",
                f"{row.change:+,.6g}",
            )
        console.print(table)
    for frame in (diff.valuations, diff.limits):
        if not frame.empty and "explanation" in frame:
            for line in frame["explanation"].head(top):
                console.print(f"  {line}", soft_wrap=True)


# -- monitoring ---------------------------------------------------------------------------------
@main.command("monitor")
@click.argument("version", type=int)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="YYYY-MM",
    help="Monitor as of this month (default: the last month reported).",
)
@click.option(
    "--level",
    type=click.Choice(["facility", "product", "region", "nation"]),
    default=None,
    help="Only this level of the status table.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Rows shown per table.",
)
@store_command
@json_option
def monitor_command(
    store: Store,
    user: str | None,
    version: int,
    as_of: str | None,
    level: str | None,
    top: int,
    as_json: bool,
) -> None:
    """How VERSION is being carried out: plan and actual to date, fulfilment and a forecast of
    the year with its uncertainty for every facility, product, region and the nation; the
    alerts that fire (and how far they have escalated); what each puts at risk downstream.
    The model and the rules are in docs/execution.md."""
    from econplan.execution.monitor import monitor

    found = store.version(version)
    economy, plan = stored(store, version)
    reports = store.reports(found.economy, until=as_of)
    if reports.empty:
        fail(
            f"no reports for version {version}'s economy{' through ' + as_of if as_of else ''}: "
            "import some with `econplan report import`"
        )
    as_of = as_of or str(reports["period"].max())
    try:
        figures = scoped(control_figures(economy, plan), store, user)
        result = monitor(figures.figures, reports, as_of, economy, plan, top=top)
    except (BreakdownError, ValueError) as error:
        fail(str(error))
    if as_json:
        print_json({"version": version} | result.to_dict())
        return
    show_monitoring(result, level, top)


SEVERITY = {"critical": 0, "warning": 1, "info": 2}
"""Most severe first."""


def show_monitoring(result: Monitoring, level: str | None, top: int) -> None:
    status = result.status
    nation = status[status["level"] == "nation"]
    if not nation.empty:
        whole = nation.iloc[0]
        console.print(
            f"As of {result.as_of}: the nation's output at {whole['fulfilment']:.1%} of plan "
            f"to date; the year forecast at {whole['forecast']:.1%} of plan "
            f"(90% band {whole['forecast_low']:.1%} to {whole['forecast_high']:.1%}).",
            soft_wrap=True,
        )
    shown = status if level is None else status[status["level"] == level]
    # most likely to fall short first; once a year is all reported, furthest behind first
    worst = shown[shown["level"] != "nation"].assign(
        ratio=lambda f: f["forecast"] / f["plan_year"].where(f["plan_year"] > 0)
    )
    worst = worst.sort_values(["probability_short", "ratio"], ascending=[False, True])
    table = Table(title=f"Furthest from the year's plan (of {len(worst):,} series)")
    for column in ("level", "series", "product", "to date", "forecast", "P(short)"):
        left = column in ("level", "series", "product")
        table.add_column(column, justify="left" if left else "right")
    for series in worst.head(top).to_dict(orient="records"):
        table.add_row(
            str(series["level"]),
            str(series["id"]),
            str(series["product"] or ""),
            f"{series['fulfilment']:.1%}",
            f"{series['ratio']:.1%}" if pd.notna(series["ratio"]) else "",
            f"{series['probability_short']:.2f}",
        )
    console.print(table)
    alerts = result.alerts
    firing = alerts[alerts["state"] == "firing"] if not alerts.empty else alerts
    table = Table(title=f"Alerts firing: {len(firing):,} (of {len(alerts):,} raised; --json: all)")
    for column in ("series", "product", "severity", "fired", "months", "escalated to"):
        table.add_column(column)
    if not firing.empty:
        ranked = firing.assign(rank=firing["severity"].map(SEVERITY).fillna(9)).sort_values(
            ["rank", "months_firing", "shortfall"], ascending=[True, False, False]
        )
        for alert in ranked.head(top).to_dict(orient="records"):
            escalation = str(alert["escalation"])
            addressee = str(alert["addressee"])
            table.add_row(
                str(alert["series"]),
                str(alert["product"] or ""),
                str(alert["severity"]),
                str(alert["fired"]),
                str(alert["months_firing"]),
                escalation if addressee == escalation else f"{escalation}: {addressee}",
            )
    console.print(table)
    risk = result.at_risk
    if not risk.empty:
        targets = (
            risk[risk["kind"] == "target"]
            .sort_values("share", ascending=False)
            .drop_duplicates("id")
            .head(top)
        )
        table = Table(title="Targets at risk downstream (largest share of the target)")
        for column in ("target", "planned", "at risk", "share"):
            table.add_column(column, justify="left" if column == "target" else "right")
        for target in targets.to_dict(orient="records"):
            table.add_row(
                str(target["id"]),
                amount(target["planned"]),
                amount(target["at_risk"]),
                f"{target['share']:.2%}",
            )
        console.print(table)
