"""``econplan ensemble``: many what-if plans with shocks drawn at random, run on Dask."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from econplan.cli.common import (
    EXIT_INTERRUPTED,
    errors,
    exit_if_a_solve_runs_on,
    fail,
    json_option,
    main,
    print_json,
)
from econplan.cli.scenario import exit_with_problems
from econplan.ensemble import read_ensemble, run_ensemble, shipped_ensembles
from econplan.errors import UsageError
from econplan.scenario import ScenarioError

SHOWN = 10
"""Targets and limits listed on the terminal; the CSV files hold them all."""


@main.command("ensemble")
@click.argument("file", metavar="FILE")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Results folder.")
@click.option(
    "--members", type=click.IntRange(1), default=None, help="Members (default: the file's, or 100)."
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=None,
    help="Seed of the draws (default: the file's, or 0).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A Dask scheduler (tcp://host:8786) whose workers plan the members; "
    "default: a LocalCluster on this machine.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Workers of the LocalCluster (default: one per core).",
)
@click.option(
    "--cold",
    is_flag=True,
    help="Start every member's solve from scratch, not from the base plan's basis.",
)
@json_option
def ensemble_command(
    file: str,
    out: Path,
    members: int | None,
    seed: int | None,
    scheduler: str | None,
    workers: int | None,
    cold: bool,
    as_json: bool,
) -> None:
    (
        """Plan every member of an ensemble (shocks drawn from the distributions in FILE) and
    write to --out the probability that each target is met (targets.csv), quantiles of
    key outputs and consumption (quantiles.csv), the limits that bind most often
    (binding.csv), every member with what struck it and, without a plan, why (members.csv).

    FILE is an ensemble file or the name of a shipped one ("""
        + ", ".join(shipped_ensembles())
        + """). Run the same command again to resume an interrupted ensemble: finished
    members are kept in --out/members. docs/scenarios.md describes the file.

    Exit 0: every member planned (members without a plan are results too). 2: a bad file,
    or --out holding something else. 130: interrupted (the finished members are kept).
    """
    )
    if scheduler is not None and workers is not None:
        fail("give --workers for the LocalCluster or --scheduler for a cluster, not both")
    try:
        ensemble = read_ensemble(file, members, seed)
        say = None if as_json else (lambda line: errors.print(line, soft_wrap=True))
        result = run_ensemble(ensemble, out, scheduler, workers, say, warm=not cold)
    except ScenarioError as error:
        exit_with_problems(error, as_json, "ensemble")
    except UsageError as error:
        fail(str(error))
    except KeyboardInterrupt:
        errors.print(
            f"interrupted: the members finished so far are kept in {out / 'members'}; "
            "run the same command again to go on",
            style="bold red",
        )
        exit_if_a_solve_runs_on()
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        print_json(result.info)
        return
    _summary(result.info, result.tables, out)


def _summary(info: dict[str, object], tables: dict[str, pd.DataFrame], out: Path) -> None:
    statuses = info["statuses"]
    assert isinstance(statuses, dict)
    click.echo(
        f"{info['ensemble']}: {info['members']} members, seed {info['seed']}: "
        + ", ".join(f"{n} {s}" for s, n in statuses.items() if n)
    )
    targets = tables["targets"]
    risky = targets[targets["probability"] < 1.0].head(SHOWN)
    if len(risky):
        click.echo("Targets at risk (probability met, 95% interval, mean fulfilment):")
        for row in risky.itertuples():
            click.echo(
                f"  {row.id}: {row.probability:.0%} ({row.low95:.0%}-{row.high95:.0%}),"
                f" {row.fulfilment_mean:.1%}"
            )
    else:
        click.echo("Every target is met in every member.")
    levels = tables["quantiles"]
    levels = levels[levels["what"] == "consumption"]
    if len(levels):
        worst = levels.groupby("year")[["q05", "q50", "q95"]].min()
        click.echo("Lowest regional consumption level by year (5%, median, 95%):")
        for year, q05, q50, q95 in worst.itertuples():
            click.echo(f"  {year}: {q05:.3f}  {q50:.3f}  {q95:.3f}")
    binding = tables["binding"]
    binding = binding.groupby("stage", sort=False).head(3).head(SHOWN)
    if len(binding):
        click.echo("Limits binding most often, by stage (share of members with a plan):")
        for row in binding.itertuples():
            parts = (row.item, row.region, row.year if row.year else "")
            where = " ".join(str(v) for v in parts if str(v))
            click.echo(f"  {row.share:.0%}  {row.stage} {row.constraint} {where}")
    click.echo(f"Results in {out}: targets.csv, quantiles.csv, binding.csv, members.csv")
