"""``econplan scenario``: what-if economies from a change file; run, show, apply."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from econplan.cli.common import (
    errors,
    fail,
    hold_option,
    json_option,
    main,
    print_json,
    read_reference,
    reference_option,
    solver_option,
)
from econplan.cli.summary import reference_lines
from econplan.errors import UsageError
from econplan.io.replace import OutputError, check_output_folder
from econplan.io.write import write_economy
from econplan.plan import VALID, ReferenceError, SolveError, make_plan, write_plan
from econplan.plan.disk import plan_folder_problem
from econplan.plan.whole import whole_units_said
from econplan.scenario import Applied, ScenarioError, apply_scenario, read_scenario, shipped
from econplan.scenario.describe import describe

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4

scenario_argument = click.argument("file", metavar="FILE")


def exit_with_problems(error: ScenarioError, as_json: bool, what: str = "scenario") -> None:
    """Every problem of a scenario (or ensemble) file, one a line (or as JSON); exit 2."""
    if as_json:
        print_json({"ok": False, "problems": [p.to_dict() for p in error.problems]})
    else:
        errors.print(f"{len(error.problems)} problem(s) in the {what}", style="bold red")
        for problem in error.problems:
            errors.print(str(problem), markup=False, soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


def _applied(file: str, as_json: bool) -> Applied:
    try:
        return apply_scenario(file)
    except ScenarioError as error:
        exit_with_problems(error, as_json)
        raise  # not reached: exit_with_problems exits


@main.group("scenario")
def scenario_group() -> None:
    (
        """What-if plans: a scenario is a small TOML file of changes to a base economy.

    FILE is a scenario file or the name of a shipped scenario ("""
        + ", ".join(shipped())
        + """).
    docs/scenarios.md describes the file."""
    )


@scenario_group.command("show")
@scenario_argument
@json_option
def show_command(file: str, as_json: bool) -> None:
    """List what the scenario changes, in words with units."""
    applied = _applied(file, as_json)
    found = describe(applied.scenario, applied.base)
    if as_json:
        print_json(found)
        return
    click.echo(f"{found['name']} ({found['file']}), on {found['base']}")
    if found["description"]:
        click.echo(found["description"])
    for change in found["changes"]:
        click.echo(f"  {change['scenario']} change {change['change']}: {change['what']}")
        if change["note"]:
            click.echo(f"      {change['note']}")


@scenario_group.command("apply")
@scenario_argument
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="New folder (or .xlsx file)."
)
def apply_command(file: str, out: Path) -> None:
    """Write the changed economy as a folder (or workbook) in the economy's own format."""
    if out.exists():
        fail(f"{out} already exists: choose a new path or remove it first")
    applied = _applied(file, False)
    try:
        write_economy(applied.economy, out)
    except UsageError as error:
        fail(str(error))
    errors.print(f"wrote {out}: {applied.scenario.name} applied to {applied.base.settings.name}")


@scenario_group.command("run")
@scenario_argument
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder the plan is written to."
)
@solver_option
@click.option("--time-limit", type=float, default=None, help="Seconds the plan may take.")
@hold_option
@reference_option
@click.option("--csv", "csv", is_flag=True, help="Write CSV copies of the tables too.")
@json_option
def run_command(
    file: str,
    out: Path,
    method: str,
    time_limit: float | None,
    hold: str,
    reference_dir: Path | None,
    csv: bool,
    as_json: bool,
) -> None:
    """Apply the scenario, validate, plan and write the plan to --out, with the scenario's
    name and hash (and its base economy's hash) in plan.json. With --reference (the base
    plan), the plan that keeps every objective and moves least from it; with --hold face as
    well, only what the scenario changes moves (docs/planning.md 4.2).

    Exit 0: a verified optimal plan. 2: a bad scenario (every problem is listed). 3: the hard
    targets cannot all hold (the diagnosis is written). 4: no plan for another reason.
    """
    try:
        check_output_folder(out, plan_folder_problem)
    except OutputError as error:
        fail(str(error))
    if time_limit is not None and time_limit <= 0:
        fail("--time-limit must be a positive number of seconds")
    applied = _applied(file, as_json)
    reference = read_reference(reference_dir, applied.economy)

    def progress(message: str) -> None:
        if not as_json:
            errors.print(message)

    try:
        plan = make_plan(
            applied.economy,
            method,
            time_limit,
            progress=progress,
            reference=reference,
            hold=hold,
        )
    except ReferenceError as error:
        fail(f"--reference: {error}")
    except SolveError as error:
        errors.print(f"error: no plan: {error}", style="bold red")
        sys.exit(EXIT_NO_PLAN)
    plan = dataclasses.replace(plan, info={**plan.info, "scenario": applied.info()})
    if plan.status == "optimal" and not plan.info["verification"]["valid"]:
        errors.print(
            f"error: the plan fails verification (largest relative violation "
            f"{plan.info['verification']['max_violation']:.3g} > {VALID:g})",
            style="bold red",
        )
        sys.exit(EXIT_NO_PLAN)
    try:
        plan = write_plan(plan, out, csv)
    except OutputError as error:
        fail(str(error))
    if as_json:
        print_json(plan.info)
    else:
        objectives = plan.info.get("objectives", {})
        click.echo(f"{applied.scenario.name}: {plan.status} plan written to {out}")
        for stage, value in objectives.items():
            click.echo(f"  {stage}: {value:.6g}")
        for line in reference_lines(plan):
            click.echo(line)
        whole = whole_units_said(plan.diagnosis)
        if whole:  # the elastic diagnosis makes whole units fractions: it cannot say this
            errors.print(f"No plan: {whole}.", style="bold red")
    if plan.status == "infeasible":
        sys.exit(EXIT_INFEASIBLE)


def read_scenario_or_fail(file: str) -> None:
    """Check a scenario file alone (for commands that take one as an option)."""
    try:
        read_scenario(file)
    except ScenarioError as error:
        exit_with_problems(error, False)
