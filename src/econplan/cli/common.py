"""What every ``econplan`` command shares: the group, printing, and exits for bad input."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from econplan.errors import MoreProblems, printable
from econplan.plan import firstorder, gpu
from econplan.plan.pick import AUTO, CHOICES
from econplan.plan.solve import DEFAULT_HOLD, HOLDS
from econplan.validate import Report, validate

if TYPE_CHECKING:
    from econplan.model.economy import Economy
    from econplan.plan import Plan, Reference

EXIT_BAD_INPUT = 2

# no markup: ids, labels and paths are the user's text and may hold brackets
console = Console(highlight=False, markup=False)
errors = Console(stderr=True, highlight=False, markup=False)

path_argument = click.argument(
    "path", required=False, type=click.Path(path_type=Path), metavar="[PATH]"
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
reference_option = click.option(
    "--reference",
    "reference_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="A plan (folder) to stay close to: among the plans that keep every stage's optimum, "
    "the one whose activity and trade are nearest this plan's (a scenario's base plan, last "
    "year's plan).",
)


def _installed(_: click.Context, __: click.Parameter, value: str) -> str:
    """A solver whose package is installed: one that is not is bad input, said as such."""
    if value == firstorder.METHOD and not firstorder.available():
        raise click.BadParameter(
            f"{value} needs OR-Tools, which is not installed: pip install "
            "'econplan[first-order]', or use another solver"
        )
    if value == gpu.METHOD and not gpu.available():
        raise click.BadParameter(f"{value} cannot run here: {gpu.missing()}; use another solver")
    return value


solver_option = click.option(
    "--solver",
    "method",
    type=click.Choice(list(CHOICES)),
    default=AUTO,
    show_default=True,
    callback=_installed,
    help="HiGHS's simplex or interior point (with crossover); a first-order method whose "
    "point simplex takes to a vertex: HiGHS's PDLP (pdlp) or OR-Tools' started from each "
    "stage's last optimum (ortools-pdlp; needs the first-order extra) or cuPDLPx's on an NVIDIA "
    "GPU (cupdlpx; needs the gpu extra and a GPU); auto picks by the "
    "problem's size (the rule and its measurements: docs/performance.md) and says what it "
    "picked.",
)

hold_option = click.option(
    "--hold",
    type=click.Choice(HOLDS),
    default=DEFAULT_HOLD,
    show_default=True,
    help="How each stage's optimum is kept by the later stages: within --tolerance (slack), "
    "which a later stage may spend; exactly, by the stage's optimal face, the consumption "
    "stages within the tolerance (face); or every stage exactly (exact). face and exact give "
    "the same optima whatever path the solver takes. On the random economies of `econplan "
    "generate` past 1,000 products exact is much the faster (docs/performance.md).",
)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_problems(report: Report) -> None:
    more = sum(p.count for p in report.problems if isinstance(p, MoreProblems))
    listed = len(report.problems) - sum(isinstance(p, MoreProblems) for p in report.problems)
    count = f"{listed + more:,} problem(s)" + (f", {listed:,} of them listed" if more else "")
    errors.print(printable(f"{report.source}: {count}"), style="bold red", soft_wrap=True)
    for problem in report.problems:
        errors.print(str(problem), markup=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    errors.print(Text.assemble(("error:", "bold red"), " ", printable(message)), soft_wrap=True)
    sys.exit(EXIT_BAD_INPUT)


def validated(path: Path | None, as_json: bool) -> Report:
    """The validated economy at ``path``, read with the input-output table options the
    command was given; exits 2 with every problem when it is not sound. Notes on how a
    table was read go to stderr (in --json, into the report)."""
    report = validate(path, io_options=_io_options())
    if not report.ok:
        if as_json:
            print_json(report.to_dict())
        else:
            print_problems(report)
        sys.exit(EXIT_BAD_INPUT)
    if not as_json:
        for note in report.notes:
            errors.print(Text.assemble(("note:", "bold"), " ", printable(note)), soft_wrap=True)
    return report


_IO_KEY = "econplan.io_table"


def _io_options() -> dict[str, Any]:
    context = click.get_current_context(silent=True)
    options = dict(context.meta.get(_IO_KEY, {})) if context is not None else {}
    return {k: v for k, v in options.items() if v}


def _categories(context: click.Context, _: click.Parameter, values: tuple[str, ...]) -> None:
    named = {}
    for value in values:
        label, sep, category = value.rpartition("=")
        if not sep or not label or not category:
            raise click.BadParameter(f"{value!r}: write LABEL=CATEGORY, as C_g=public_services")
        named[label] = category.strip()
    context.meta.setdefault(_IO_KEY, {})["categories"] = named


def _imports(context: click.Context, _: click.Parameter, value: str | None) -> None:
    context.meta.setdefault(_IO_KEY, {})["imports"] = value


def io_table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a plain input-output table, for every command that reads an economy."""
    command = click.option(
        "--imports",
        type=click.Choice(["proportional"]),
        expose_value=False,
        callback=_imports,
        help="Input-output table with an imports column: convert it to domestic flows "
        "(each product's imports serve all its uses in the same share).",
    )(command)
    return click.option(
        "--category",
        multiple=True,
        metavar="LABEL=CATEGORY",
        expose_value=False,
        callback=_categories,
        help="Input-output table: the category of a final-demand column (consumption, "
        "public_services, construction, defence, exports, imports); repeatable.",
    )(command)


EXIT_INTERRUPTED = 130
"""128 + SIGINT, as shells report a command stopped by Ctrl-C."""


def exit_if_a_solve_runs_on() -> None:
    """After Ctrl-C, with the outputs already cleaned up: where a HiGHS run would not stop
    (inside a factorisation, seconds at thousands of products), end the process now with exit
    130. Python's teardown would destroy the running solver, and C++ would then abort the
    process (seen as exit -6 under load)."""
    solver = sys.modules.get("econplan.plan.highs")  # loaded only where a solve ran
    if solver is not None and solver.left_running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


class Commands(click.Group):
    """The command group; Ctrl-C anywhere ends the command with one line and exit 130 (click
    itself would say "Aborted!" and exit 1). Writers clean up on the way out: nothing is left
    half-written."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            errors.print("interrupted: nothing half-written was left", style="bold red")
            exit_if_a_solve_runs_on()
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
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


def read_plan(
    economy: Economy, directory: Path, valid: bool = True, economy_option: str = "PATH"
) -> Plan:
    """The plan written in ``directory``, checked: intact (every file as econplan wrote it),
    made from ``economy``, optimal, and (with ``valid``) verified when it was written; its
    tables fit to be read. Bad input exits 2 with one line naming the file."""
    from econplan.plan import PlanError, load_plan
    from econplan.plan.output import economy_hash
    from econplan.plan.verify import table_problems

    try:
        plan = load_plan(directory)
    except FileNotFoundError as error:
        fail(str(error))
    except PlanError as error:
        fail(str(error))
    head = plan.info.get("economy")
    head = head if isinstance(head, dict) else {}
    if plan.info.get("status") != "optimal":
        fail(
            f"{directory}: plan.json says the plan is {plan.info.get('status')!r}, not "
            "'optimal': it has no flows (an infeasible plan's diagnosis is in diagnosis.json)"
        )
    if head.get("hash") != economy_hash(economy):
        fail(
            f"{directory}: this plan was made from another economy ({head.get('name')!r}); "
            f"name the economy it was planned from with {economy_option}"
        )
    checked = plan.info.get("verification")
    if valid and not (isinstance(checked, dict) and checked.get("valid") is True):
        fail(f"{directory}: plan.json says the plan failed verification; plan again")
    problems = table_problems(economy, plan.tables)
    if problems:
        fail(f"{directory}: not a plan of this economy: {problems[0]}")
    return plan


def read_reference(directory: Path | None, economy: Economy) -> Reference | None:
    """The plan in ``directory`` as a reference for planning ``economy``: intact, optimal, of
    an economy with the same products. Bad input exits 2 with one line naming the folder."""
    if directory is None:
        return None
    from econplan.plan import PlanError, Reference, ReferenceError, load_plan

    try:
        return Reference.of(load_plan(directory), economy, directory)
    except (FileNotFoundError, PlanError, ReferenceError) as error:
        fail(f"--reference: {error}")


def write_csv(frame: pd.DataFrame, out: Path, option: str) -> None:
    """Write a table to the file ``option`` names, atomically: a half-written file never
    appears under ``out``, and an existing file is replaced only when it is a table of the
    same columns (an earlier run's), never another file."""
    if not out.parent.is_dir():
        fail(f"{out}: the folder {out.parent} does not exist")
    if out.is_dir():
        fail(f"{out}: is a folder; give {option} a file name")
    if out.exists() and not out.is_file():
        fail(f"{out}: is not a plain file; give {option} a file name")
    if out.exists():  # only an earlier table of the same kind may be replaced
        header = frame.head(0).to_csv(index=False).rstrip("\r\n")
        try:
            with out.open("rb") as handle_in:
                first = handle_in.read(len(header.encode()) + 2).decode("utf-8", "replace")
                first = first.splitlines()[0] if first else ""
        except OSError as error:
            fail(f"{out}: exists and cannot be read ({error.strerror})")
        if first != header:
            fail(
                f"{out}: exists and is not a table of these columns that econplan wrote; give "
                f"{option} a new file, or remove it"
            )
    write_file(out, lambda staging: frame.to_csv(staging, index=False))


def write_file(out: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` write a file beside ``out``, then move it to ``out`` in one rename: a
    half-written file never appears there. The caller has checked that ``out`` may be
    replaced; a write that fails is one line and exit 2, leaving ``out`` as it was."""
    try:
        handle, staging = tempfile.mkstemp(prefix=".econplan-", suffix=out.suffix, dir=out.parent)
    except OSError as error:
        fail(f"{out}: cannot be written ({error.strerror})")
    os.close(handle)
    try:
        write(Path(staging))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(staging, out)
    except OSError as error:
        fail(f"{out}: cannot be written ({error.strerror})")
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
