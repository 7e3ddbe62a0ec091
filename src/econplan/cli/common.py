"""What every ``econplan`` command shares: the group, printing, and exits for bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from econplan.errors import MoreProblems
from econplan.validate import Report, validate

EXIT_BAD_INPUT = 2

# no markup: ids, labels and paths are the user's text and may hold brackets
console = Console(highlight=False, markup=False)
errors = Console(stderr=True, highlight=False, markup=False)

path_argument = click.argument(
    "path", required=False, type=click.Path(path_type=Path), metavar="[PATH]"
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_problems(report: Report) -> None:
    more = sum(p.count for p in report.problems if isinstance(p, MoreProblems))
    listed = len(report.problems) - sum(isinstance(p, MoreProblems) for p in report.problems)
    count = f"{listed + more:,} problem(s)" + (f", {listed:,} of them listed" if more else "")
    errors.print(f"{report.source}: {count}", style="bold red", soft_wrap=True)
    for problem in report.problems:
        errors.print(str(problem), markup=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    errors.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


def validated(path: Path | None, as_json: bool) -> Report:
    report = validate(path)
    if not report.ok:
        if as_json:
            print_json(report.to_dict())
        else:
            print_problems(report)
        sys.exit(EXIT_BAD_INPUT)
    return report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="econplan")
def main() -> None:
    """econplan: balanced, optimal multi-year plans for a whole economy.

    PATH is an economy folder (economy.toml and CSV files) or an .xlsx workbook; without it,
    the built-in economy (the DPRK's 2021-2025 five-year plan) is used.
    """


def counts_table(counts: dict[str, int], title: str = "What the economy holds") -> Table:
    table = Table(title=title)
    table.add_column("thing")
    table.add_column("count", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table
