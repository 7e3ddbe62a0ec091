"""``econplan control-figures``, ``report``, ``monitor`` and ``replan``: the plan carried out,
from the command line, on versions held in the store (see :mod:`econplan.cli.store`)."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from econplan.cli.common import console, fail, main, print_json, write_csv
from econplan.cli.store import store_command
from econplan.execution.breakdown import BreakdownError, ControlFigures, control_figures
from econplan.execution.store import Store
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.output import jsonable


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
    parts = [figures.for_facility(f) for f in sorted(person.facilities)]
    parts += [figures.for_region(r) for r in sorted(person.regions)]
    keep = set().union(*(set(p.names.index) for p in parts)) if parts else set()
    return figures.for_units(sorted(keep))


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
    import os
    import tempfile

    if file.suffix.lower() != ".xlsx":
        fail(f"{file}: give --xlsx a file name ending in .xlsx")
    if not file.parent.is_dir():
        fail(f"{file}: the folder {file.parent} does not exist")
    if file.exists() and not _our_workbook(file):
        fail(f"{file}: exists and is not a control-figures workbook; give a new file name")
    handle, staging = tempfile.mkstemp(prefix=".econplan-", suffix=".xlsx", dir=file.parent)
    os.close(handle)
    try:
        with pd.ExcelWriter(staging, engine="openpyxl") as writer:
            for sheet, frame in zip(
                WORKBOOK_SHEETS,
                (figures.to_wide(), figures.activity, figures.tasks, figures.materials),
                strict=True,
            ):
                frame.to_excel(writer, sheet_name=sheet, index=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(staging, file)
    except OSError as error:
        fail(f"{file}: cannot be written ({error.strerror})")
    finally:
        if os.path.exists(staging):
            os.unlink(staging)


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


def show(figures: ControlFigures) -> None:
    units = figures.activity
    if units.empty:
        console.print("No unit has figures here.")
        return
    first = int(units["year"].min())
    table = Table(title=f"Control figures: {units['facility'].nunique():,} units")
    for column in ("unit", "name", "process", "region", "capacity", f"activity {first}", "use"):
        table.add_column(column, justify="right" if column[0] in "cau" else "left")
    for row in units[units["year"] == first].itertuples():
        table.add_row(
            str(row.facility),
            str(figures.names.get(row.facility, "")),
            str(row.process),
            str(row.region),
            f"{row.capacity:,.0f}",
            f"{row.activity:,.0f}",
            f"{row.utilisation:.0%}",
        )
    console.print(table)
    if len(units["facility"].unique()) == 1:
        wide = figures.to_wide()
        console.print(wide.drop(columns=["facility", "name"]).to_string(index=False))
