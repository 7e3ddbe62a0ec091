"""``econplan sut``: supply and use tables made into a symmetric input-output table.

A command of its own that writes a table, rather than options of every command that reads
one: the symmetric table is then a file like any published one, which every command reads
(analyse, plan, balance, validate), which can be looked at and kept, and whose negative flows
(the product technology's known defect) are reported once, where it is made.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from econplan.analysis.supplyuse import TECHNOLOGIES, symmetric_table
from econplan.cli.common import (
    EXIT_BAD_INPUT,
    console,
    errors,
    fail,
    main,
    print_problems,
    write_csv,
)
from econplan.errors import EconomyError
from econplan.validate import Report

NEGATIVE_SHOWN = 20
"""Negative flows listed one per line; the count says how many more there are."""


@main.command("sut")
@click.argument("supply", type=click.Path(path_type=Path))
@click.argument("use", type=click.Path(path_type=Path))
@click.option(
    "--technology",
    type=click.Choice(TECHNOLOGIES),
    required=True,
    help="product: a product is made the same way by every industry that makes it; industry: "
    "an industry makes all its products the same way.",
)
@click.option(
    "--by",
    type=click.Choice(["product", "industry"]),
    help="Product by product or industry by industry (default: product for the product "
    "technology, industry for the industry technology: Eurostat's models A and D).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The table, a CSV.")
def sut_command(supply: Path, use: Path, technology: str, by: str | None, out: Path) -> None:
    """Make a symmetric input-output table from a SUPPLY table (products x industries) and a
    USE table (products x industries, final demand, value added), and write it to --out in
    the layout every command reads."""
    from econplan.io.supplyuse import read_supply_use, symmetric_frame

    if out.suffix.lower() != ".csv":
        fail(f"{out}: --out writes a CSV file; name it .csv")
    try:
        tables = read_supply_use(supply, use)
    except EconomyError as error:
        print_problems(Report(f"{supply} and {use}", list(error.problems)))
        raise SystemExit(EXIT_BAD_INPUT) from None
    try:
        table = symmetric_table(tables, technology, by)
    except ValueError as error:
        fail(f"{supply}: {error}")
    write_csv(symmetric_frame(table), out, "--out")
    for row in table.negative.head(NEGATIVE_SHOWN).itertuples(index=False):
        errors.print(
            Text.assemble(
                ("negative:", "bold yellow"),
                f" {out}: [{row.column}] {row.row!r} delivers {row.flow:g} to {row.column!r}: "
                f"the {technology} technology gives a negative flow (a secondary product made "
                "with fewer inputs than its main makers use); econplan reads no negative flow "
                "beyond rounding, so correct it or use the industry technology",
            ),
            soft_wrap=True,
        )
    more = len(table.negative) - NEGATIVE_SHOWN
    if more > 0:
        errors.print(f"negative: {out}: and {more} more negative flows", soft_wrap=True)
    n = len(table.flows)
    console.print(
        f"wrote {out}: {n} x {n} {table.by}-by-{table.by} table, {technology} technology, "
        f"{len(table.negative)} negative flows"
    )
