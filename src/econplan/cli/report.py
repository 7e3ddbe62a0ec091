"""``econplan report-plan``: a stored plan version as one HTML page and one Excel workbook,
from the same report definition (:mod:`econplan.reporting.plan_report`).

The report shows the whole plan, so the user (when named) needs to read all of it: a scoped
user (an enterprise, a regional planner) is refused with one line and exit 2.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from econplan.cli.common import console, fail, main, write_file
from econplan.cli.store import store_command
from econplan.execution.access import PERMISSIONS, READ, SCOPED
from econplan.execution.store import Store


def _ours(path: Path, kind: str) -> bool:
    """Whether ``path`` is a plan report econplan wrote (the only file it will replace)."""
    from econplan.reporting.plan_report import GENERATOR, PROVENANCE

    if kind == "html":
        try:
            with path.open("rb") as handle:
                head = handle.read(4096).decode("utf-8", "replace")
        except OSError:
            return False
        return f'<meta name="generator" content="{GENERATOR}">' in head
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception:  # not a workbook, or one openpyxl cannot open: not ours
        return False
    try:
        return PROVENANCE in book.sheetnames and book.properties.creator == GENERATOR
    finally:
        book.close()


def _check_out(path: Path | None, suffix: str, option: str) -> None:
    if path is None:
        return
    if path.suffix.lower() != suffix:
        fail(f"{path}: give {option} a file name ending in {suffix}")
    if not path.parent.is_dir():
        fail(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir() or (path.exists() and not path.is_file()):
        fail(f"{path}: is not a plain file; give {option} a file name")
    if path.exists() and not _ours(path, suffix[1:]):
        fail(f"{path}: exists and is not a plan report econplan wrote; give {option} a new file")


@main.command("report-plan")
@click.argument("version", type=int)
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the report as one self-contained HTML page (works offline).",
)
@click.option(
    "--xlsx",
    "xlsx_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the report as an Excel workbook: a sheet per table, and provenance.",
)
@store_command
def report_plan_command(
    store: Store, user: str | None, version: int, html_file: Path | None, xlsx_file: Path | None
) -> None:
    """The plan report of VERSION: headline, targets, consumption per head, output, investment,
    foreign trade, bottlenecks with their valuations, verification, and where the plan comes
    from (economy and plan hashes, approval, solver)."""
    from econplan.reporting.plan_report import build_report, write_html, write_xlsx

    if html_file is None and xlsx_file is None:
        fail("give --html FILE, --xlsx FILE or both")
    if user:
        person = store.user(user)
        person.require(READ)
        if not person.unscoped_for(READ):
            whole = ", ".join(sorted(PERMISSIONS[READ] - set(SCOPED)))
            fail(
                f"{user} ({', '.join(sorted(person.roles))}) may not read the whole plan: a plan "
                f"report needs a role that reads everything ({whole})"
            )
    _check_out(html_file, ".html", "--html")
    _check_out(xlsx_file, ".xlsx", "--xlsx")
    report = build_report(store, version)
    if html_file is not None:
        write_file(html_file, functools.partial(write_html, report))
        console.print(f"wrote {html_file}", soft_wrap=True)
    if xlsx_file is not None:
        write_file(xlsx_file, functools.partial(write_xlsx, report))
        console.print(f"wrote {xlsx_file}", soft_wrap=True)
