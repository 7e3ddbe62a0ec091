"""Commands that analyse an economy: material balances and input-output analysis."""

from __future__ import annotations

import math
import os
import resource
import tempfile
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from rich.table import Table

from econplan.analysis.balance import base_year_flows, material_balance
from econplan.analysis.inputoutput import analyse
from econplan.analysis.leontief import SolveError, total_output
from econplan.cli.common import (
    console,
    fail,
    json_option,
    main,
    path_argument,
    print_json,
    validated,
)
from econplan.model.economy import Economy

FULL_JSON_LIMIT = 10_000
"""Above this many products, --json lists the top rows only; --csv writes them all."""


def peak_memory_bytes() -> int:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ranked_by_backward(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("backward", ascending=False, kind="stable")


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if value != 0 and abs(value) < 0.01:
        return f"{value:.3g}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN becomes null."""
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]


def _write_csv(frame: pd.DataFrame, out: Path) -> None:
    """Write atomically: a half-written file never appears under ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".econplan-", suffix=".csv", dir=out.parent)
    os.close(handle)
    try:
        frame.to_csv(staging, index=False)
        os.replace(staging, out)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)


def _table(title: str, frame: pd.DataFrame, columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and column != "year"
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(_number(v) if isinstance(v, float) else str(v) for v in row))
    return table


@main.command()
@path_argument
@click.option("--year", type=int, help="The year (until plans exist: the base year).")
@click.option("--region", help="Show the balances of this region (and its sub-regions' own).")
@click.option("--product", help="Show every source and use of this product.")
@click.option("--top", default=15, show_default=True, help="Rows in the ranked tables.")
@click.option(
    "--csv", "csv_out", type=click.Path(path_type=Path), help="Write every entry to this CSV file."
)
@json_option
def balance(
    path: Path | None,
    year: int | None,
    region: str | None,
    product: str | None,
    top: int,
    csv_out: Path | None,
    as_json: bool,
) -> None:
    """Material balances: sources and uses of every product, by region and year.

    Shortfalls (uses above sources) come first, worst first as a share of uses.
    """
    economy = validated(path, as_json).economy
    assert economy is not None
    base = economy.settings.base_year
    if year is not None and year != base:
        fail(f"balances are available for the base year {base} (plans bring the other years)")
    _known(economy, region=region, product=product)
    result = material_balance(economy, [base_year_flows(economy)])
    national = result.national()
    regional = result.regional()
    entries = result.entries
    if region is not None:
        members = economy.region_members[region]
        regional = regional[regional["region"].isin(members)]
        entries = entries[entries["region"].isin(members)]
    if product is not None:
        national = national[national["product"] == product]
        regional = regional[regional["product"] == product]
        entries = entries[entries["product"] == product]
    shortfalls = result.shortfalls(regional=region is not None)
    if region is not None:
        shortfalls = shortfalls[shortfalls["region"].isin(economy.region_members[region])]
    if product is not None:
        shortfalls = shortfalls[shortfalls["product"] == product]
    if csv_out is not None:
        _write_csv(entries, csv_out)
    if as_json:
        print_json(
            {
                "year": base,
                "national": _records(national),
                "regional": _records(regional),
                "shortfalls": _records(shortfalls),
            }
        )
        return
    units = economy.tables["products"].set_index("id")["unit"]
    console.print(f"[bold]Material balances, {economy.settings.name}, base year {base}[/]")
    short = shortfalls.assign(unit=shortfalls["product"].map(units)).head(top)
    where = ["product", "region"] if region is not None else ["product"]
    console.print(
        _table(
            f"Shortfalls: uses above sources ({len(shortfalls)} in all)",
            short,
            [*where, "unit", "sources", "uses", "difference", "share"],
        )
    )
    surplus = national[national["difference"] > 0].assign(
        share=lambda f: f["difference"] / f["sources"], unit=lambda f: f["product"].map(units)
    )
    surplus = surplus.sort_values(["share", "product"], ascending=[False, True]).head(top)
    console.print(
        _table(
            "Largest surpluses (share of sources left unused, nationally)",
            surplus,
            ["product", "unit", "sources", "uses", "difference", "share"],
        )
    )
    if product is not None:
        flows = result.by_flow(("product", "region", "year"))
        flows = flows.loc[flows.index.get_level_values("product") == product].reset_index()
        console.print(_table(f"{product} by region and flow", flows, list(flows.columns)))
    if csv_out is not None:
        console.print(f"wrote {len(entries)} entries to {csv_out}")


def _known(economy: Economy, region: str | None = None, product: str | None = None) -> None:
    if region is not None and region not in economy.region_ids:
        fail(f"unknown region {region!r}: it must be an id in regions.csv")
    if product is not None and product not in economy.product_ids:
        fail(f"unknown product {product!r}: it must be an id in products.csv")


@main.command("analyse")
@path_argument
@click.option("--year", type=int, help="Coefficients of this year (default: the base year).")
@click.option(
    "--mix",
    type=click.Choice(["base", "capacity", "equal"]),
    default="base",
    show_default=True,
    help="How each product's processes are weighted into one technology.",
)
@click.option(
    "--demand",
    type=click.Path(path_type=Path),
    help="CSV of product,amount: report the total requirements of this final demand.",
)
@click.option("--top", default=15, show_default=True, help="Rows in the ranked tables.")
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(path_type=Path),
    help="Write every product's figures to this CSV file.",
)
@json_option
def analyse_command(
    path: Path | None,
    year: int | None,
    mix: str,
    demand: Path | None,
    top: int,
    csv_out: Path | None,
    as_json: bool,
) -> None:
    """Input-output analysis: multipliers, linkages, key sectors, embodied content."""
    economy = validated(path, as_json).economy
    assert economy is not None
    if year is not None and not economy.settings.base_year <= year <= economy.settings.last_year:
        fail(f"year {year} is outside the base year and horizon")
    try:
        result = analyse(economy, year=year, mix=mix)
    except SolveError as error:
        fail(str(error))
    table = result.products.join(result.embodied)
    requirements = _requirements(economy, result.technology.A, result.technology.products, demand)
    if csv_out is not None:
        _write_csv(table.reset_index(), csv_out)
    solves = {
        name: {"method": s.method, "iterations": s.iterations, "residual": s.residual}
        for name, s in result.solves.items()
    }
    key = result.key_sectors()
    complete = len(table) <= FULL_JSON_LIMIT
    rows = table.reset_index() if complete else ranked_by_backward(table).head(top).reset_index()
    if as_json:
        print_json(
            {
                "products": len(table),
                "mix": mix,
                "year": year or economy.settings.base_year,
                "units": result.units,
                "key_sectors": list(key.index),
                "by_product": _records(rows),
                "by_product_complete": complete,
                "total_requirements": None if requirements is None else _records(requirements),
                "solves": solves,
                "peak_memory_bytes": peak_memory_bytes(),
            }
        )
        return
    console.print(f"[bold]Input-output analysis, {economy.settings.name}[/] ({mix} technology mix)")
    ranked = ranked_by_backward(table).head(top).reset_index()
    console.print(
        _table(
            "Products that pull most through the economy (backward linkage)",
            ranked,
            ["product", "unit", "multiplier", "backward", "forward", "import_dependency"],
        )
    )
    console.print(
        _table(
            f"Key sectors: both linkages above average ({len(key)})",
            key.head(top).reset_index(),
            ["product", "unit", "backward", "forward"],
        )
    )
    if len(result.embodied.columns):
        columns = list(result.embodied.columns)
        shown = table.head(top).reset_index()
        console.print(
            _table(
                "Embodied content per unit (direct and indirect)",
                shown,
                ["product", "unit", *columns],
            )
        )
        console.print("Units: " + "; ".join(f"{k}: {v}" for k, v in result.units.items()))
    if requirements is not None:
        console.print(
            _table(
                "Total requirements of the final demand",
                requirements.head(top),
                list(requirements.columns),
            )
        )
    worst = max(s.residual for s in result.solves.values())
    console.print(
        f"{len(result.solves)} sparse solves, largest relative residual {worst:.1e}; "
        f"peak memory {peak_memory_bytes() / 2**30:.2f} GiB"
    )
    if csv_out is not None:
        console.print(f"wrote {len(table)} products to {csv_out}")


def _requirements(
    economy: Economy, A: Any, products: pd.Index, demand: Path | None
) -> pd.DataFrame | None:
    """Gross output of every product needed to deliver the final demand in ``demand``."""
    if demand is None:
        return None
    try:
        frame = pd.read_csv(demand, dtype={"product": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        fail(f"{demand}: cannot be read as CSV ({error})")
    missing = {"product", "amount"} - set(frame.columns)
    if missing:
        fail(
            f"{demand}: needs the columns product and amount "
            f"(missing: {', '.join(sorted(missing))})"
        )
    amounts = pd.to_numeric(frame["amount"], errors="coerce")
    for line, (name, value) in enumerate(zip(frame["product"], amounts, strict=True), start=2):
        if name not in products:
            fail(
                f"{demand}:{line}: [product] unknown or primary product {name!r}: "
                "name a produced product"
            )
        if not np.isfinite(value):
            fail(f"{demand}:{line}: [amount] {frame['amount'][line - 2]!r} is not a number")
    vector = np.zeros(len(products))
    np.add.at(
        vector, products.get_indexer(pd.Index(frame["product"])), amounts.to_numpy(dtype=float)
    )
    solved = total_output(A, vector)
    units = economy.tables["products"].set_index("id")["unit"]
    out = pd.DataFrame(
        {
            "product": products,
            "unit": units.reindex(products).to_numpy(),
            "final_demand": vector,
            "total_output": solved.x,
        }
    )
    out = out[out["total_output"].abs() > 0]
    return out.sort_values("total_output", ascending=False, kind="stable").reset_index(drop=True)
