"""``econplan compare``: two plans side by side, the differences ranked by size."""

from __future__ import annotations

from pathlib import Path

import click

from econplan.cli.common import console, fail, json_option, main, print_json, write_file
from econplan.compare import compare_plans
from econplan.errors import EconomyError
from econplan.model.economy import Economy
from econplan.plan import Plan, PlanError, load_plan
from econplan.reporting.figure import number
from econplan.validate import load_economy


def _plan(directory: Path) -> Plan:
    try:
        plan = load_plan(directory)
    except (FileNotFoundError, PlanError) as error:
        fail(str(error))
    if plan.status != "optimal":
        fail(f"{directory}: the plan is {plan.status!r}, not optimal: it has no flows to compare")
    return plan


def _economy(path: Path | None) -> Economy:
    """The economy whose units the comparison shows: a folder, a workbook, a scenario file
    (its changed economy), or the built-in economy."""
    if path is not None and path.suffix == ".toml":
        from econplan.scenario import ScenarioError, apply_scenario

        try:
            return apply_scenario(path).economy
        except ScenarioError as error:
            fail(str(error.problems[0]))
    try:
        return load_economy(path)
    except EconomyError as error:
        fail(str(error))


def _name(plan: Plan, directory: Path) -> str:
    scenario = plan.info.get("scenario")
    return str(scenario["name"]) if isinstance(scenario, dict) else str(directory)


def _provenance(plan: Plan, directory: Path) -> dict[str, object]:
    scenario = plan.info.get("scenario")
    return {
        "folder": str(directory),
        "economy": plan.info["economy"]["name"],
        "economy hash": plan.info["economy"]["hash"],
        "scenario": scenario["name"] if isinstance(scenario, dict) else "",
        "scenario hash": scenario["hash"] if isinstance(scenario, dict) else "",
    }


@main.command("compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("other", type=click.Path(path_type=Path))
@click.option(
    "--economy",
    "path",
    type=click.Path(path_type=Path),
    default=None,
    help="The economy whose products' units and sectors are shown (a folder, a workbook or a "
    "scenario file; default: the built-in economy).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Differences printed (--json and --html give them all).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the comparison as one HTML page to this file.",
)
@json_option
def compare_command(
    base: Path, other: Path, path: Path | None, top: int, html_file: Path | None, as_json: bool
) -> None:
    """What changed from the plan in BASE to the plan in OTHER (a scenario against its base):
    targets, consumption per head, output, investment, trade, foreign exchange and binding
    limits, each in its unit, the largest relative change first. Exit 2 for a folder that is
    not an optimal plan."""
    if html_file is not None and html_file.suffix.lower() not in (".html", ".htm"):
        fail(f"{html_file}: give --html a file name ending in .html")
    first, second = _plan(base), _plan(other)
    economy = _economy(path)
    names = (_name(first, base), _name(second, other))
    comparison = compare_plans(first, second, economy, names)
    if html_file is not None:
        from econplan.reporting.comparison import comparison_report
        from econplan.reporting.plan_report import html_page

        provenance = {
            **{f"base {k}": v for k, v in _provenance(first, base).items()},
            **{f"other {k}": v for k, v in _provenance(second, other).items()},
        }
        page = html_page(comparison_report(comparison, provenance))
        write_file(html_file, lambda staging: staging.write_text(page, encoding="utf-8"))
    if as_json:
        print_json(comparison.to_dict())
        return
    frame = comparison.differences
    click.echo(
        f"{names[1]} against {names[0]}: {len(frame)} differences beyond the plans' tolerance "
        f"({comparison.tolerance:g}), largest relative change first"
    )
    for row in frame.head(top).to_dict(orient="records"):
        where = " ".join(
            str(v) for v in (row["region"], row["year"]) if v is not None and str(v) != "nan"
        )
        line = (
            f"  {row['what']} {where}: {number(row['base'])} -> {number(row['other'])} "
            f"{row['unit']} ({row['change']:+,.4g}, {row['relative']:+.1%})"
        )
        click.echo(line)
        if row["explanation"]:
            click.echo(f"      {row['explanation']}")
    console.print("Objectives:")
    for row in comparison.objectives.to_dict(orient="records"):
        click.echo(f"  {row['stage']}: {row['base']:.6g} -> {row['other']:.6g}")
    if html_file is not None:
        click.echo(f"wrote {html_file}")
