"""Commands that analyse an economy: material balances and input-output analysis."""

from __future__ import annotations

import math
import resource
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from rich.table import Table

from econplan.analysis.balance import base_year_flows, material_balance
from econplan.analysis.inputoutput import analyse, households_closed, output_by_category
from econplan.analysis.leontief import SolveError, total_output
from econplan.cli.common import (
    console,
    fail,
    io_table_options,
    json_option,
    main,
    path_argument,
    print_json,
    read_plan,
    validated,
    write_csv,
)
from econplan.cli.text import number as text_number
from econplan.errors import UsageError
from econplan.model.economy import Economy
from econplan.plan.flows import plan_flows
from econplan.plan.plausibility import target_flags, unused_output

INVERSE_LIMIT = 3000
"""Most products whose Leontief inverse --inverse writes: a dense n x n table."""


RANKED_COLUMNS = [
    "product", "unit", "multiplier", "backward", "forward", "forward_leontief",
    "import_dependency",
]  # fmt: skip

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


def _table(title: str, frame: pd.DataFrame, columns: list[str]) -> Table | str:
    if frame.empty:
        return f"{title}: none"
    table = Table(title=title)
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and column != "year"
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(_number(v) if isinstance(v, float) else str(v) for v in row))
    return table


@main.command()
@path_argument
@io_table_options
@click.option(
    "--plan",
    "plan_dir",
    type=click.Path(path_type=Path),
    help="Balances of the plan written in this folder (by `econplan plan --out`), year by year.",
)
@click.option(
    "--year", type=int, help="Only this year (without --plan: the base year, the only one)."
)
@click.option("--region", help="Show the balances of this region (and its sub-regions' own).")
@click.option("--product", help="Show every source and use of this product.")
@click.option(
    "--top", type=click.IntRange(1), default=15, show_default=True, help="Rows in ranked tables."
)
@click.option(
    "--csv", "csv_out", type=click.Path(path_type=Path), help="Write every entry to this CSV file."
)
@json_option
def balance(
    path: Path | None,
    plan_dir: Path | None,
    year: int | None,
    region: str | None,
    product: str | None,
    top: int,
    csv_out: Path | None,
    as_json: bool,
) -> None:
    """Material balances: sources and uses of every product, by region and year.

    Of the base year as the economy's files describe it, or with --plan of every year of a
    plan. Shortfalls (uses above sources) come first, worst first as a share of uses.
    """
    economy = validated(path, as_json).economy
    assert economy is not None
    base = economy.settings.base_year
    _known(economy, region=region, product=product)
    if plan_dir is None:
        if year is not None and year != base:
            fail(
                f"without --plan, balances are of the base year {base}; for {year}, make a plan "
                "(econplan plan --out DIR) and add --plan DIR"
            )
        flows = [base_year_flows(economy)]
        what = f"base year {base}"
    else:
        plan_tables = read_plan(economy, plan_dir).tables
        flows = plan_flows(economy, plan_tables)
        if year is not None:
            if year not in economy.years:
                fail(
                    f"{year} is not a plan year: the plan covers "
                    f"{economy.settings.first_year}-{economy.settings.last_year}"
                )
            flows = [f for f in flows if f.year == year]
        what = f"plan in {plan_dir}, " + (
            str(year) if year is not None else f"{flows[0].year}-{flows[-1].year}"
        )
    result = material_balance(economy, flows)
    unused = None
    if plan_dir is not None:
        unused = unused_output(economy, plan_tables, result)
        if year is not None:
            unused = unused[unused["year"] == year]
        if region is not None:
            unused = unused[unused["region"].isin(economy.region_members[region])]
        if product is not None:
            unused = unused[unused["product"] == product]
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
        write_csv(entries, csv_out, "--csv")
    if as_json:
        print_json(
            {
                # "year" as before for one year; a plan's years in "years"
                "year": flows[0].year if len(flows) == 1 else None,
                "years": [f.year for f in flows],
                "plan": None if plan_dir is None else str(plan_dir),
                "national": _records(national),
                "regional": _records(regional),
                "shortfalls": _records(shortfalls),
                **({} if unused is None else {"unused": _records(unused)}),
            }
        )
        return
    products = economy.tables["products"].set_index("id")
    units = products["unit"]
    # one year needs no year column; a plan's years do
    when = ["year"] if len(flows) > 1 else []
    console.print(f"Material balances, {economy.settings.name}, {what}", style="bold")
    national_short = shortfalls if region is not None else result.shortfalls()
    if product is not None:
        national_short = national_short[national_short["product"] == product]
    where = ["product", "region"] if region is not None else ["product"]
    console.print(
        _table(
            f"Shortfalls: uses above sources ({len(national_short)} in all)",
            national_short.assign(unit=national_short["product"].map(units)).head(top),
            [*where, *when, "unit", "sources", "uses", "difference", "share"],
        )
    )
    if region is None:
        # a plan's regional balances already hold its shipments
        meet = ", to be met by shipments" if plan_dir is None else ""
        regional_short = result.shortfalls(regional=True)
        if product is not None:
            regional_short = regional_short[regional_short["product"] == product]
        console.print(
            _table(
                f"Regional shortfalls{meet} ({len(regional_short)} in all)",
                regional_short.assign(unit=regional_short["product"].map(units)).head(top),
                ["product", "region", *when, "unit", "sources", "uses", "difference", "share"],
            )
        )
    # natural resources are stocks, not flows: their "surplus" is the deposit left in the ground
    flows_only = national[national["product"].map(products["kind"]) != "resource"]
    surplus = flows_only[flows_only["difference"] > 0].assign(
        share=lambda f: f["difference"] / f["sources"], unit=lambda f: f["product"].map(units)
    )
    surplus = surplus.sort_values(["share", "product"], ascending=[False, True]).head(top)
    console.print(
        _table(
            "Largest surpluses (share of sources left unused, nationally; resources left out)",
            surplus,
            ["product", *when, "unit", "sources", "uses", "difference", "share"],
        )
    )
    if product is not None:
        by_flow = result.by_flow(("product", "region", "year"))
        by_flow = by_flow.loc[by_flow.index.get_level_values("product") == product]
        if region is not None:
            inside = by_flow.index.get_level_values("region").isin(economy.region_members[region])
            by_flow = by_flow.loc[inside]
        by_flow = by_flow.loc[:, (by_flow != 0).any()].droplevel("product")
        if not when:
            by_flow = by_flow.droplevel("year")
        by_flow = by_flow.reset_index()
        console.print(
            _table(
                f"{product} by region and flow ({units[product]})", by_flow, list(by_flow.columns)
            )
        )
    if product is not None and unused is not None:
        _explain_unused(economy, plan_tables, unused, product)
    if csv_out is not None:
        console.print(f"wrote {len(entries)} entries to {csv_out}")


def _explain_unused(
    economy: Economy, tables: dict[str, pd.DataFrame], unused: pd.DataFrame, product: str
) -> None:
    """How much of ``product`` the plan leaves unused, where, and which targets ask for it."""
    unit = str(economy.tables["products"].set_index("id").at[product, "unit"])
    surplus = unused[unused["kind"] == "surplus"]
    stocks = unused[unused["kind"] == "end_stock"]
    if not len(unused):
        console.print(f"Unused {product}: none (every unit has a use)")
        return
    console.print(
        f"Unused {product}: {text_number(surplus['amount'].sum())} {unit} over the plan "
        f"years, and {text_number(stocks['amount'].sum())} {unit} in stocks left after the "
        "last year",
        soft_wrap=True,
    )
    console.print(
        _table(
            f"Unused {product} by region and year ({unit}; share of the region's sources)",
            unused,
            ["region", "year", "kind", "amount", "sources", "share"],
        )
    )
    targets = tables["targets"]
    sectors = [s for s, members in economy.sector_products.items() if product in members]
    serves = targets[
        (targets["measure"] == "production")
        & (targets["product"].eq(product) | targets["sector"].isin(sectors))
    ]
    flags = target_flags(economy, tables, unused_output(economy, tables))
    flagged = flags.set_index("what")["amount"]
    serves = serves.assign(
        unused=[float(flagged.get(t, 0.0)) for t in serves["id"]],
        region=serves["region"].fillna("nation"),
    )
    console.print(
        _table(
            f"Production targets on {product} (unused: output of what each counts that has no "
            "use, flagged above 1% of its amount)",
            serves,
            ["id", "kind", "region", "year", "required", "planned", "unused"],
        )
    )


def _known(economy: Economy, region: str | None = None, product: str | None = None) -> None:
    if region is not None and region not in economy.region_ids:
        fail(f"unknown region {region!r}: it must be an id in regions.csv")
    if product is not None and product not in economy.product_ids:
        fail(f"unknown product {product!r}: it must be an id in products.csv")


@main.command("analyse")
@path_argument
@io_table_options
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
@click.option(
    "--households",
    metavar="ROW",
    help="Close the model for households: ROW (a primary row, such as compensation) is their "
    "income, spent as base-year consumption; adds type II multipliers.",
)
@click.option(
    "--inverse",
    type=click.Path(path_type=Path),
    help=f"Write the Leontief inverse itself to this CSV file (up to {INVERSE_LIMIT} products).",
)
@click.option(
    "--top", type=click.IntRange(1), default=15, show_default=True, help="Rows in ranked tables."
)
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
    households: str | None,
    inverse: Path | None,
    top: int,
    csv_out: Path | None,
    as_json: bool,
) -> None:
    """Input-output analysis: multipliers (types I and II), linkages, key sectors, embodied
    content (value added, income and employment multipliers), output by final-demand
    category."""
    economy = validated(path, as_json).economy
    assert economy is not None
    if year is not None and not economy.settings.base_year <= year <= economy.settings.last_year:
        fail(f"year {year} is outside the base year and horizon")
    try:
        result = analyse(economy, year=year, mix=mix)
        by_category = output_by_category(economy, result.technology)
        closed = (
            None
            if households is None
            else households_closed(economy, result.technology, households)
        )
    except SolveError as error:
        fail(f"{error}{_largest_coefficient(economy, year)}")
    except ValueError as error:
        fail(f"--households: {error}")
    table = result.products.join(result.embodied)
    if closed is not None:
        table = table.join(closed)
    if inverse is not None:
        _write_inverse(result.technology.A, result.technology.products, inverse)
    requirements = _requirements(economy, result.technology.A, result.technology.products, demand)
    if csv_out is not None:
        write_csv(table.reset_index(), csv_out, "--csv")
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
                "output_by_category": _records(by_category.rename_axis("product").reset_index()),
                "solves": solves,
                "peak_memory_bytes": peak_memory_bytes(),
            }
        )
        return
    console.print(
        f"Input-output analysis, {economy.settings.name} ({mix} technology mix)", style="bold"
    )
    ranked = ranked_by_backward(table).head(top).reset_index()
    console.print(
        _table(
            "Products that pull most through the economy (backward linkage)",
            ranked,
            RANKED_COLUMNS,
        )
    )
    if table["unit"].nunique() > 1:
        console.print(
            "Multipliers and linkages add up amounts in different units "
            f"({', '.join(sorted(table['unit'].unique())[:5])}, ...): they rank products, but "
            "their levels depend on the units chosen. Embodied content below does not."
        )
    console.print(
        _table(
            f"Key sectors: both linkages above average ({len(key)})",
            key.head(top).reset_index(),
            ["product", "unit", "backward", "forward"],
        )
    )
    if len(result.embodied.columns):
        preferred = [c for c in ("labour", "energy", "imports") if c in result.embodied.columns]
        columns = preferred or list(result.embodied.columns)[:4]
        shown = table.head(top).reset_index()
        console.print(
            _table(
                "Embodied content per unit (direct and indirect)",
                shown,
                ["product", "unit", *columns],
            )
        )
        console.print("Units: " + "; ".join(f"{k}: {result.units[k]}" for k in columns))
        hidden = len(result.embodied.columns) - len(columns)
        if hidden:
            console.print(
                f"({hidden} more embodied quantities, one per resource, in --json and --csv)"
            )
    if len(by_category.columns):
        shown = by_category.assign(total=by_category.sum(axis=1))
        shown = shown.sort_values("total", ascending=False, kind="stable").head(top)
        console.print(
            _table(
                "Gross output called for by each category of final demand (L f)",
                shown.rename_axis("product").reset_index(),
                ["product", *by_category.columns, "total"],
            )
        )
    if closed is not None:
        console.print(
            _table(
                f"Type II multipliers (households closed; income: {households})",
                table.head(top).reset_index(),
                ["product", "multiplier", *closed.columns],
            )
        )
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


def _largest_coefficient(economy: Economy, year: int | None) -> str:
    """Where to look when (I - A) cannot be solved accurately: coefficients that span more
    orders of magnitude than double precision resolves (a stray 1e10 beside ones of 1e-3)
    make it numerically singular although it validates."""
    from econplan import technology_matrix

    A = technology_matrix(economy, year=year or economy.settings.base_year)
    coo = A.A.tocoo()
    if coo.nnz == 0:
        return ""
    k = int(np.argmax(np.abs(coo.data)))
    products = A.products
    return (
        f"; its largest input coefficient is {coo.data[k]:.6g} {products[coo.row[k]]} per unit "
        f"of {products[coo.col[k]]}: check that product's rows in process_io"
    )


def _write_inverse(A: Any, products: pd.Index, out: Path) -> None:
    """The Leontief inverse as a CSV table (row: product made, column: product of final
    demand), dense: only for small tables."""
    n = len(products)
    if n > INVERSE_LIMIT:
        fail(
            f"--inverse: {n:,} products make a dense table of {n * n:,} numbers; it is written "
            f"up to {INVERSE_LIMIT:,} products (the multipliers and --demand need no inverse)"
        )
    inverse = np.linalg.inv(np.eye(n) - A.toarray())
    frame = pd.DataFrame(inverse, index=products, columns=products)
    write_csv(frame.rename_axis("product").reset_index(), out, "--inverse")


def _requirements(
    economy: Economy, A: Any, products: pd.Index, demand: Path | None
) -> pd.DataFrame | None:
    """Gross output of every product needed to deliver the final demand in ``demand``."""
    if demand is None:
        return None
    try:
        frame = pd.read_csv(demand, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        fail(f"{demand}: cannot be read as CSV ({error})")
    missing = {"product", "amount"} - set(frame.columns)
    if missing:
        fail(
            f"{demand}: needs the columns product and amount "
            f"(missing: {', '.join(sorted(missing))})"
        )
    amounts = pd.to_numeric(frame["amount"], errors="coerce")
    # ids are stripped when an economy is read: " agriculture " in a table is agriculture
    frame["product"] = frame["product"].str.strip()
    for line, (name, value) in enumerate(zip(frame["product"], amounts, strict=True), start=2):
        if name not in products:
            fail(
                f"{demand}:{line}: [product] unknown or primary product {name!r}: "
                "name a produced product"
            )
        if not np.isfinite(value) or value < 0:
            fail(
                f"{demand}:{line}: [amount] {frame['amount'].iloc[line - 2]!r} is not a "
                "number of at least 0"
            )
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


@main.command()
@click.option("--products", "n", type=click.IntRange(2), required=True, help="Products made.")
@click.option(
    "--inputs", type=click.IntRange(1), default=20, show_default=True, help="Inputs per process."
)
@click.option("--regions", type=click.IntRange(1), default=3, show_default=True)
@click.option("--years", type=click.IntRange(1), default=5, show_default=True, help="Plan years.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--spectral-radius",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=0.6,
    show_default=True,
    help="Of the base-year technology matrix.",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["auto", "csv", "parquet"]),
    default="auto",
    show_default=True,
    help="auto: Parquet from 100,000 products on, CSV below.",
)
@click.option(
    "--table",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="An input-output table (what `analyse` reads): its sectors split into the products, "
    "layered as supply chains, instead of a random structure (--spectral-radius is then the "
    "table's).",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A new folder.")
def generate(
    n: int,
    inputs: int,
    regions: int,
    years: int,
    seed: int,
    spectral_radius: float,
    table_format: str,
    table: Path | None,
    out: Path,
) -> None:
    """Write a synthetic economy of any size: a random sparse input structure with cycles, or
    the sectors of a published input-output table split into products (--table)."""
    from econplan.generate import SectorTable, expand_table, generate_economy
    from econplan.io.write import write_economy

    if inputs >= n and table is None:
        fail(f"--inputs {inputs} must be below --products {n}: a process takes other products")
    if out.exists():
        fail(f"{out} already exists: choose a new folder")
    chosen = table_format if table_format != "auto" else ("parquet" if n >= 100_000 else "csv")
    if table is not None:
        source = validated(table, as_json=False).economy
        assert source is not None
        try:
            sectors = SectorTable.of_economy(source)
            with console.status(f"splitting {table.name} into {n:,} products"):
                economy = expand_table(sectors, n, inputs, regions, years, seed)
        except ValueError as error:
            fail(f"{table}: {error}")
    else:
        with console.status(f"generating {n:,} products"):
            economy = generate_economy(
                products=n, inputs=inputs, regions=regions, years=years, seed=seed,
                spectral_radius=spectral_radius,
            )  # fmt: skip
    with console.status(f"writing {out} ({chosen})"):
        try:
            write_economy(economy, out, table_format=chosen)  # type: ignore[arg-type]
        except (UsageError, OSError) as error:
            fail(f"{out}: cannot be written ({error})")
    counts = ", ".join(f"{v:,} {k}" for k, v in economy.counts().items())
    console.print(f"wrote {out} ({chosen}): {counts}")
