"""The ``econplan`` command: a thin front over the library.

Exit codes: 0 success; 2 bad input (the problems are printed, one per line); 1 only for bugs.
Every command that reports something takes ``--json``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from econplan.analysis.calibration import calibration
from econplan.errors import UsageError
from econplan.formatdoc import render_format
from econplan.io.write import write_economy
from econplan.model.technology import spectral_radius, technology_matrix
from econplan.template import write_template
from econplan.validate import Report, builtin_path, validate

EXIT_BAD_INPUT = 2

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

path_argument = click.argument(
    "path", required=False, type=click.Path(path_type=Path), metavar="[PATH]"
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _print_problems(report: Report) -> None:
    errors.print(f"[bold red]{report.source}: {len(report.problems)} problem(s)[/]")
    for problem in report.problems:
        errors.print(str(problem), markup=False, soft_wrap=True)


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}")
    sys.exit(EXIT_BAD_INPUT)


def _validated(path: Path | None, as_json: bool) -> Report:
    report = validate(path)
    if not report.ok:
        if as_json:
            _print_json(report.to_dict())
        else:
            _print_problems(report)
        sys.exit(EXIT_BAD_INPUT)
    return report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="econplan")
def main() -> None:
    """econplan: balanced, optimal multi-year plans for a whole economy.

    PATH is an economy folder (economy.toml and CSV files) or an .xlsx workbook; without it,
    the built-in economy (the DPRK's 2021-2025 five-year plan) is used.
    """


@main.command("validate")
@path_argument
@json_option
def validate_command(path: Path | None, as_json: bool) -> None:
    """Check an economy's files and report every problem at once."""
    report = _validated(path, as_json)
    assert report.economy is not None
    if as_json:
        _print_json(report.to_dict())
        return
    console.print(f"[bold green]ok[/] {report.source}: {report.economy.settings.name}")
    console.print(_counts_table(report.economy.counts()))


def _counts_table(counts: dict[str, int]) -> Table:
    table = Table(title="What the economy holds")
    table.add_column("thing")
    table.add_column("count", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table


@main.command()
@path_argument
@json_option
def summary(path: Path | None, as_json: bool) -> None:
    """Validate an economy and summarise it: counts, regions, calibration, technology."""
    report = _validated(path, as_json)
    economy = report.economy
    assert economy is not None
    s = economy.settings
    population = economy.population
    regions = economy.regions.assign(first=population[s.base_year], last=population[s.last_year])
    checks = calibration(economy)
    technology = technology_matrix(economy, year=s.base_year)
    radius = spectral_radius(technology.A)
    targets = economy.targets["kind"].value_counts().sort_index()
    if as_json:
        _print_json(
            {
                "ok": True,
                "name": s.name,
                "base_year": s.base_year,
                "horizon": [s.first_year, s.last_year],
                "counts": economy.counts(),
                "population": {str(y): float(population[y].sum()) for y in population.columns},
                "calibration": checks.to_dict(orient="records"),
                "spectral_radius": radius,
                "targets_by_kind": {str(k): int(v) for k, v in targets.items()},
            }
        )
        return
    console.print(f"[bold]{s.name}[/]  base year {s.base_year}, plan {s.first_year}-{s.last_year}")
    if s.description:
        console.print(s.description.strip())
    console.print(_counts_table(economy.counts()))
    table = Table(title=f"Regions: population {s.base_year} and {s.last_year}")
    for column in ("region", "kind", "parent", str(s.base_year), str(s.last_year)):
        table.add_column(column, justify="right" if column[0].isdigit() else "left")
    for region, row in regions.iterrows():
        parent = row["parent"] if isinstance(row["parent"], str) else ""
        table.add_row(
            str(region), str(row["kind"]), parent, f"{row['first']:,.0f}", f"{row['last']:,.0f}"
        )
    table.add_row(
        "total",
        "",
        "",
        f"{population[s.base_year].sum():,.0f}",
        f"{population[s.last_year].sum():,.0f}",
        style="bold",
    )
    console.print(table)
    if len(checks):
        table = Table(title=f"Calibration: base-year ({s.base_year}) production against statistics")
        for column in ("item", "unit", "statistic", "year", "model", "deviation", "ok"):
            table.add_column(column, justify="left" if column in ("item", "unit") else "right")
        for check in checks.to_dict(orient="records"):
            ok = "[green]yes[/]" if check["within"] else f"[red]no (±{check['tolerance']:.0%})[/]"
            table.add_row(
                check["item"] + (f" ({check['region']})" if check["region"] else ""),
                check["unit"],
                f"{check['observed']:,.0f}",
                str(check["year"]),
                f"{check['model']:,.0f}",
                f"{check['deviation']:+.1%}",
                ok,
            )
        console.print(table)
    console.print(
        f"Base-year technology mix: spectral radius {radius:.4f} (< 1: every product can be made "
        "with a net surplus)"
    )
    console.print("Targets by kind: " + ", ".join(f"{k} {v}" for k, v in targets.items()))


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Write the built-in economy's files into DIRECTORY, as a start for your own."""
    if directory.exists() and any(directory.iterdir()):
        _fail(f"{directory} exists and is not empty: choose a new folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(builtin_path(), directory, dirs_exist_ok=True)
    console.print(
        f"wrote the built-in economy to {directory}; check it with `econplan validate {directory}`"
    )


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
def template(out: Path) -> None:
    """Write a blank economy to OUT: a folder of CSV headers, or a workbook if OUT ends in .xlsx."""
    try:
        write_template(out)
    except UsageError as error:
        _fail(str(error))
    console.print(f"wrote a blank economy to {out}; see docs/format.md for every column")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
def convert(source: Path, target: Path) -> None:
    """Convert an economy between a folder and an .xlsx workbook (validating it on the way)."""
    report = _validated(source, as_json=False)
    assert report.economy is not None
    try:
        write_economy(report.economy, target)
    except UsageError as error:
        _fail(str(error))
    console.print(f"wrote {target}")


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--check", is_flag=True, help="Exit 2 if OUT differs from the schema instead of writing it."
)
def docs(out: Path, check: bool) -> None:
    """Write the file-format reference (docs/format.md) from the schema."""
    text = render_format()
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            _fail(f"{out} is stale: run `econplan docs {out}`")
        console.print(f"{out} is up to date")
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")
