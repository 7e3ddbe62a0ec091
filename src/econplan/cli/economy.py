"""Commands about an economy's files: validate, summary, init, template, convert, docs."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from econplan.analysis.calibration import calibration
from econplan.cli.common import (
    console,
    counts_table,
    fail,
    io_table_options,
    json_option,
    main,
    path_argument,
    print_json,
    validated,
)
from econplan.errors import UsageError
from econplan.formatdoc import render_format
from econplan.io.replace import OutputError, check_output_folder, write_folder
from econplan.io.write import write_economy
from econplan.model.technology import spectral_radius, technology_matrix
from econplan.template import write_template
from econplan.validate import builtin_path


@main.command("validate")
@path_argument
@io_table_options
@json_option
def validate_command(path: Path | None, as_json: bool) -> None:
    """Check an economy's files and report every problem at once."""
    report = validated(path, as_json)
    assert report.economy is not None
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        Text.assemble(("ok", "bold green"), f" {report.source}: {report.economy.settings.name}")
    )
    console.print(counts_table(report.economy.counts()))


@main.command()
@path_argument
@io_table_options
@json_option
def summary(path: Path | None, as_json: bool) -> None:
    """Validate an economy and summarise it: counts, regions, calibration, technology."""
    report = validated(path, as_json)
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
        print_json(
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
    console.print(
        Text.assemble(
            (s.name, "bold"), f"  base year {s.base_year}, plan {s.first_year}-{s.last_year}"
        )
    )
    if s.description:
        console.print(s.description.strip())
    console.print(counts_table(economy.counts()))
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
            ok = (
                Text("yes", style="green")
                if check["within"]
                else Text(f"no (±{check['tolerance']:.0%})", style="red")
            )
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


def _copy_builtin(folder: Path) -> None:
    shutil.copytree(builtin_path(), folder, dirs_exist_ok=True)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Write the built-in economy's files into DIRECTORY, as a start for your own."""
    try:
        target = check_output_folder(
            directory, lambda _: "exists and is not empty", "DIRECTORY", "econplan init mine"
        )
        write_folder(target, _copy_builtin, "the economy")
    except OutputError as error:
        fail(str(error))
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
        fail(str(error))
    except OSError as error:
        fail(f"{out}: cannot be written ({error.strerror or error})")
    console.print(f"wrote a blank economy to {out}; see docs/format.md for every column")


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("target", type=click.Path(path_type=Path))
@io_table_options
def convert(source: Path, target: Path) -> None:
    """Convert an economy between a folder and an .xlsx workbook (validating it on the way)."""
    report = validated(source, as_json=False)
    assert report.economy is not None
    try:
        write_economy(report.economy, target)
    except (UsageError, OSError) as error:
        fail(str(error))
    console.print(f"wrote {target}")


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


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
            fail(f"{out} is stale: run `econplan docs {out}`")
        console.print(f"{out} is up to date")
        return
    if out.is_dir():
        fail(f"{out}: is a folder; give the file to write, e.g. docs/format.md")
    title = text.splitlines()[0].encode()
    if out.exists() and (not out.is_file() or _head(out, len(title)) != title):
        fail(f"{out}: exists and is not econplan's format reference; give a new file")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"{out}: cannot be written ({error.strerror})")
    console.print(f"wrote {out}")
