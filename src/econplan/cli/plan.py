"""``econplan plan``: the optimal plan of an economy, written to a folder and summarised."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from pathlib import Path

import click
from rich.table import Table

from econplan.cli.common import (
    console,
    errors,
    fail,
    hold_option,
    io_table_options,
    json_option,
    main,
    path_argument,
    print_json,
    read_plan,
    read_reference,
    reference_option,
    solver_option,
    validated,
)
from econplan.cli.summary import plan_summary, report_lines
from econplan.io.replace import OutputError, check_output_folder, describe_os_error
from econplan.model.economy import Economy
from econplan.plan import (
    VALID,
    Plan,
    ReferenceError,
    SolveError,
    assemble,
    make_plan,
    write_plan,
)
from econplan.plan.disk import plan_folder_problem
from econplan.plan.pick import pick_method
from econplan.plan.plausibility import plausibility
from econplan.plan.solve import Solver
from econplan.plan.target_cost import costed, target_costs, with_target_costs
from econplan.plan.verify import verify
from econplan.plan.whole import STAGE_NODES, STAGE_SECONDS, STRATEGIES

EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4


def _number(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _targets_table(plan: Plan) -> Table:
    table = Table(title="Targets")
    for name in ("target", "kind", "region", "year", "required", "planned", "met"):
        table.add_column(
            name, justify="right" if name in ("required", "planned") else "left", overflow="fold"
        )
    for row in plan.info["targets"]:
        table.add_row(
            str(row["id"]),
            str(row["kind"]),
            str(row["region"] or "nation"),
            str(row["year"]),
            ("<= " if row["sense"] == "at_most" else "") + _number(row["required"]),
            _number(row["planned"]),
            "yes" if row["met"] else "NO",
        )
    return table


def _consumption_table(plan: Plan) -> Table:
    levels = plan.tables["consumption_level"]
    wide = levels.pivot_table(index="region", columns="year", values="level", aggfunc="sum")
    table = Table(title="Consumption per head, as a level of the norms (1 = the norms)")
    table.add_column("region")
    for year in wide.columns:
        table.add_column(str(year), justify="right")
    for region, row in wide.iterrows():
        table.add_row(str(region), *(f"{v:.3f}" for v in row.to_numpy()))
    return table


def _bottleneck_table(plan: Plan, top: int) -> Table:
    limits = plan.tables["bottlenecks"]
    limits = limits[limits["rank"] <= top]
    table = Table(title=f"Binding limits, top {top} of each stage (valuation: gain per unit)")
    for name in ("stage", "limit", "where", "valuation", "in"):
        table.add_column(name, justify="right" if name == "valuation" else "left", overflow="fold")
    for row in limits.to_dict(orient="records"):
        where = " ".join(
            str(part)
            for part in (
                row["item"],
                row["region"],
                f"-> {row['destination']}" if row["destination"] else "",
                row["year"] or "",
            )
            if part
        )
        table.add_row(
            str(row["stage"]),
            str(row["constraint"]),
            where,
            f"{row['valuation']:.4g}",
            f"{str(row['per']).removesuffix(' per unit')} / {row['unit']}",
        )
    return table


def _print_diagnosis(plan: Plan, top: int) -> None:
    diagnosis = plan.diagnosis or {}
    whole = diagnosis.get("whole_units")
    if whole:
        # the elastic problem below makes whole units fractions: it finds nothing short
        errors.print(
            "No plan meets every hard constraint with the options declared integer in whole "
            "units; with them divisible, one does, starting:",
            style="bold red",
        )
        for row in whole["relaxation"][:top]:
            what = f"{row['units']:.6g} of a unit of {row['option']}"
            errors.print(f"  {what} in {row['start_year']}")
        if len(whole["relaxation"]) > top:
            errors.print(f"  ... {len(whole['relaxation']) - top} more (diagnosis.json)")
        errors.print(f"To plan: {whole['what_to_do']}.")
        return
    errors.print(
        "No plan meets every hard constraint. Least shortfalls (elastic problem):", style="bold red"
    )
    for row in diagnosis.get("failing_targets", []):
        what = row["product"] or row["sector"]
        errors.print(
            f"  target {row['id']} ({what}, {row['region'] or 'nation'}, {row['year']}): "
            f"required {_number(row['required'])}, at most {_number(row['planned'])} possible, "
            f"short by {_number(row['shortfall'])}"
        )
    gaps = diagnosis.get("unbalanced", [])
    for row in gaps[:top]:
        errors.print(
            f"  balance of {row['product']} in {row['region']} {row['year']} "
            f"short by {_number(row['gap'])}"
        )
    if len(gaps) > top:
        errors.print(f"  ... {len(gaps) - top} more balances short (diagnosis.json)")
    limits = diagnosis.get("limits", [])
    if limits:
        errors.print("The limits behind them (valuation in the elastic problem):")
        for row in limits[:top]:
            where = " ".join(
                str(part) for part in (row["item"], row["region"], row["year"]) if part
            )
            errors.print(
                f"  {row['constraint']} {where}: {row['valuation']:.4g} {row['per']} of "
                f"{row['unit']}"
            )


def _write(plan: Plan, out: Path, csv: bool) -> Plan:
    try:
        return write_plan(plan, out, csv)
    except OutputError as error:
        fail(str(error))


def _check_mps_path(mps: Path) -> None:
    """An MPS file may replace an earlier MPS file, nothing else."""
    if mps.suffix.lower() != ".mps":
        fail(f"{mps}: an MPS file's name ends in .mps (HiGHS picks the format by it)")
    if not mps.parent.is_dir():
        fail(f"{mps}: the folder {mps.parent} does not exist")
    if mps.exists() or mps.is_symlink():
        try:
            with mps.open("rb") as handle:
                head = handle.read(64)
        except OSError as error:
            fail(f"{mps}: exists and cannot be read ({describe_os_error(error)})")
        if not head.startswith((b"NAME", b"*")):
            fail(f"{mps}: exists and is not an MPS file; give --mps a new file")


def _write_mps(solver: Solver, mps: Path) -> None:
    """Write through a temporary file beside it, checked whole (HiGHS does not report a
    failed write), so that a failure leaves the earlier file as it was."""
    try:
        handle, name = tempfile.mkstemp(prefix=".econplan-mps-", suffix=".mps", dir=mps.parent)
        os.close(handle)
    except OSError as error:
        fail(f"{mps}: cannot be written ({describe_os_error(error)})")
    staging = Path(name)
    try:
        solver.write_mps(staging)
        with staging.open("rb") as written:
            written.seek(max(0, staging.stat().st_size - 64))
            complete = b"ENDATA" in written.read()
        if not complete:
            raise OSError(errno.ENOSPC, "the file came out incomplete (is the disk full?)")
        os.replace(staging, mps)
    except (OSError, SolveError) as error:
        reason = (
            describe_os_error(error) if isinstance(error, OSError) else "HiGHS could not write it"
        )
        fail(f"{mps}: cannot be written ({reason}); an earlier file there is kept")
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()


@main.command("plan")
@path_argument
@io_table_options
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Folder the plan is written to: new, empty, or an earlier plan (replaced whole).",
)
@solver_option
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Seconds the plan may take: assembling the problem and all its stages.",
)
@click.option(
    "--tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    help="How far below its optimum an earlier stage may fall for the later ones (relative).",
)
@hold_option
@click.option(
    "--integer",
    type=click.Choice(list(STRATEGIES)),
    default="auto",
    show_default=True,
    help="Options built in whole units (integer in investments.csv): every stage as a MIP "
    "(exact), every stage's LP dived to whole units (dive), or the relaxation rounded and "
    "fixed (round); auto: up to 400 whole columns a dive, and exact where neither the dive "
    "nor rounding gives whole units; above 400, round.",
)
@click.option(
    "--mip-nodes",
    type=click.IntRange(min=1),
    default=STAGE_NODES,
    show_default=True,
    help="With whole units solved exactly: the branch-and-bound nodes each stage's MIP may "
    "search before the best whole plan found is taken (more may find a better one; the same "
    "plan on any machine).",
)
@click.option(
    "--mip-seconds",
    type=float,
    default=STAGE_SECONDS,
    show_default=True,
    help="With whole units: the seconds each stage's MIP or dive may run at most, a guard "
    "for a root node HiGHS cannot finish or an LP simplex cannot settle (a stage stopped by "
    "it depends on the machine's speed, and the summary says so).",
)
@reference_option
@click.option(
    "--target-costs",
    "costs",
    is_flag=True,
    help="Solve again, for each product whose targets are met by output nobody uses, with "
    "those targets lowered to what is used, and say what the unused output costs (one more "
    "plan per product).",
)
@click.option("--csv", "csv", is_flag=True, help="Write CSV copies of the tables too.")
@click.option(
    "--mps",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the problem (first stage's objective) as an MPS file.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Binding limits shown per stage.",
)
@click.option(
    "--full", is_flag=True, help="Print every target, region, limit and stage in full tables."
)
@json_option
def plan_command(
    path: Path | None,
    out: Path,
    method: str,
    time_limit: float | None,
    tolerance: float,
    hold: str,
    integer: str,
    mip_nodes: int,
    mip_seconds: float | None,
    reference_dir: Path | None,
    costs: bool,
    csv: bool,
    mps: Path | None,
    top: int,
    full: bool,
    as_json: bool,
) -> None:
    """Build and solve the optimal plan over the economy's horizon and write it to --out.

    Exit 0: a verified optimal plan. 3: the hard targets cannot all hold (the diagnosis is
    printed and written to diagnosis.json). 4: no plan (time limit, solver trouble, or a plan
    that fails verification). 2: bad input.
    """
    if time_limit is not None and time_limit <= 0:
        fail("--time-limit must be a positive number of seconds")
    if not 0 <= tolerance < 1:
        fail("--tolerance must be at least 0 and below 1")
    if mip_seconds is not None and not mip_seconds > 0:
        fail("--mip-seconds must be a positive number of seconds")
    try:  # before the solve: minutes of work must not end in "cannot write"
        check_output_folder(out, plan_folder_problem)
    except OutputError as error:
        fail(str(error))
    if mps is not None:
        _check_mps_path(mps)
    economy = validated(path, as_json).economy  # with the input-output table's options
    assert economy is not None
    reference = read_reference(reference_dir, economy)

    def progress(message: str) -> None:
        if not as_json:
            errors.print(message)

    try:
        if mps is not None:
            problem = assemble(economy, tolerance)
            _write_mps(Solver(problem, pick_method(problem, method)[0]), mps)
            progress(f"wrote {mps}")
        plan = make_plan(
            economy,
            method,
            time_limit,
            tolerance,
            progress,
            integer=integer,
            reference=reference,
            mip_seconds=mip_seconds,
            mip_nodes=mip_nodes,
            hold=hold,
        )
    except ReferenceError as error:
        fail(f"--reference: {error}")
    except SolveError as error:
        errors.print(f"error: no plan: {error}", style="bold red")
        sys.exit(EXIT_NO_PLAN)
    if plan.status == "infeasible":
        plan = _write(plan, out, csv)
        if as_json:
            print_json({"plan": plan.info, "diagnosis": plan.diagnosis})
        else:
            _print_diagnosis(plan, top)
            errors.print(f"wrote {out}/diagnosis.json")
        sys.exit(EXIT_INFEASIBLE)
    verification = plan.info["verification"]
    if not verification["valid"]:
        errors.print(
            f"error: the plan fails verification: largest relative violation "
            f"{verification['max_violation']:.3g} > {VALID:g}",
            style="bold red",
        )
        for check, found in verification["checks"].items():
            if found["max_violation"] > VALID:
                errors.print(f"  {check}: {found['max_violation']:.3g} at {found['worst']}")
        sys.exit(EXIT_NO_PLAN)
    if costs:

        def replan(lowered: Economy) -> Plan:
            return make_plan(
                lowered,
                method,
                time_limit,
                tolerance,
                integer=integer,
                mip_seconds=mip_seconds,
                mip_nodes=mip_nodes,
                hold=hold,
            )

        plan = with_target_costs(plan, target_costs(economy, plan, replan, progress))
    plan = _write(plan, out, csv)
    if as_json:
        print_json(plan.info)
        return
    if not full:
        for line in plan_summary(plan, out, top):
            click.echo(line)
        return
    console.print(
        f"{plan.info['economy']['name']}: optimal plan for "
        + "-".join(str(y) for y in plan.info["economy"]["horizon"])
    )
    console.print(_targets_table(plan))
    console.print(_consumption_table(plan))
    console.print(_bottleneck_table(plan, top))
    table = Table(title="Stages (each held within the tolerance for the next)")
    for name in ("stage", "objective", "unit", "iterations", "seconds"):
        table.add_column(name, justify="left" if name in ("stage", "unit") else "right")
    seconds = plan.run.get("times", {}).get("stages", {})
    for row in plan.info["stages"]:
        table.add_row(
            str(row["name"]),
            f"{row['objective']:.6g}",
            str(row["unit"]),
            str(row["iterations"]),
            f"{seconds.get(row['name'], 0.0):.2f}",
        )
    console.print(table)
    problem, solver = plan.info["problem"], plan.info["solver"]
    console.print(
        f"Problem: {problem['rows']:,} rows, {problem['columns']:,} columns, "
        f"{problem['nonzeros']:,} nonzeros; "
        f"{solver.get('label', 'HiGHS ' + solver['method'])} ({solver.get('why', 'asked for')}), "
        f"HiGHS {solver['version']}, {plan.run['solver_seconds']:.2f} s."
    )
    console.print(
        f"Verification: largest relative violation {verification['max_violation']:.2g} "
        f"(limit {VALID:g}) "
        f"over {sum(c['count'] for c in verification['checks'].values()):,} constraints."
    )
    console.print(f"Wrote the plan to {out}/ (plan.json and {len(plan.tables)} tables).")


@main.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--economy",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="The economy the plan was made from (default: the built-in economy).",
)
@json_option
def verify_command(directory: Path, path: Path | None, as_json: bool) -> None:
    """Check a written plan: every file as econplan wrote it, and every constraint of its
    economy met again, recomputed from the plan's tables.

    Exit 0: intact and valid. 2: changed, damaged, incomplete, or of another economy. 4: the
    plan's tables break the economy's constraints.
    """
    economy = validated(path, as_json).economy
    assert economy is not None
    plan = read_plan(economy, directory, valid=False, economy_option="--economy")
    verification = verify(economy, plan.tables)
    valid = verification.ok(VALID)
    if as_json:
        print_json(
            {"plan": str(directory), "valid": valid, "limit": VALID, **verification.to_dict()}
        )
    else:
        table = Table(title=f"Verification of {directory} (relative violation, limit {VALID:g})")
        for name in ("check", "constraints", "largest violation", "where"):
            table.add_column(name, justify="right" if name == "constraints" else "left")
        for check, found in verification.to_dict()["checks"].items():  # type: ignore[attr-defined]
            table.add_row(
                check,
                f"{found['count']:,}",
                f"{found['max_violation'] + 0.0:.3g}",  # no "-0"
                found["worst"],
            )
        console.print(table)
    recorded = plan.info.get("verification")
    recorded = recorded if isinstance(recorded, dict) else {}
    if not valid:
        errors.print(
            f"error: the plan breaks its economy's constraints: largest relative violation "
            f"{verification.max_violation:.3g} > {VALID:g}",
            style="bold red",
        )
        sys.exit(EXIT_NO_PLAN)
    if not recorded.get("valid"):
        errors.print(
            "error: plan.json says the plan failed verification when it was written",
            style="bold red",
        )
        sys.exit(EXIT_NO_PLAN)
    if not as_json:
        console.print(
            f"ok: {directory} is intact and meets every constraint "
            f"(largest relative violation {verification.max_violation:.2g})"
        )


@main.command("plausibility")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--economy",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="The economy the plan was made from (default: the built-in economy).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Flags shown of each kind, the largest first.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every flag.")
@json_option
def plausibility_command(
    directory: Path, path: Path | None, top: int, show_all: bool, as_json: bool
) -> None:
    """What an economist would question in a written plan: output nothing uses, targets met
    by it, goods shipped both ways, jumps in output, capacity run far from the base year's
    pace; each flagged above a stated threshold, with its reason where one is known.

    The report is recomputed from the plan's tables and its economy (the same as the
    plausibility.json `econplan plan` wrote). Exit 0, or 2 for a folder that is not an intact
    plan of the economy.
    """
    economy = validated(path, as_json).economy
    assert economy is not None
    plan = read_plan(economy, directory, economy_option="--economy")
    report = plausibility(economy, plan.tables).to_dict()
    if "target_costs" in plan.tables:  # written by `econplan plan --target-costs`
        report = costed(report, plan.tables["target_costs"])
    if as_json:
        print_json({"plan": str(directory), **report})
        return
    click.echo(f"Plausibility of the plan in {directory}:")
    for line in report_lines(report, None if show_all else top):
        click.echo(line)
