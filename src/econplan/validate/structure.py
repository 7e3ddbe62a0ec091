"""Checks across tables about structure: years in the horizon, hierarchies without cycles,
units that match their products, processes that make what they claim, facilities and
investment options that are whole, resources and labour of the right kind, population for
every region and year. ``validate.supply`` holds the checks of what can be met and supplied.

Each rule looks only at rows whose own cells were readable; rows with bad cells were
already reported by ``validate.tables``. Rules compute whole-column masks (through integer
positions where a table may have 10^7 rows) and visit only the rows they flag.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from econplan.columns import positions, to_object, vocabulary
from econplan.errors import Problem
from econplan.schema import Schema
from econplan.validate.lookups import (
    among_ids,
    beyond,
    by_id,
    flagged,
    lookup,
    mask_of,
    product_table,
    rows,
    shown_flagged,
    shown_rows,
)
from econplan.validate.tables import TypedTables


def check_growth(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    """A growth path of consumption per head only means something where the plan maximises
    consumption: with the objective labour the level is fixed at the norms."""
    settings = typed.settings
    if settings.get("consumption_growth") is not None and settings.get("objective") == "labour":
        yield Problem(
            typed.file("economy"),
            None,
            "consumption_growth",
            'applies only with objective = "consumption" (with labour, consumption is held '
            "at the norms): remove it or set the objective to consumption",
        )


def check_horizon(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    settings = typed.settings
    base, horizon = settings.get("base_year"), settings.get("horizon")
    if base is None or horizon is None:
        return
    first, last = horizon
    file = typed.file("economy")
    if not base < first <= last:
        yield Problem(
            file,
            None,
            "horizon",
            f"horizon [{first}, {last}] must start after base_year {base} "
            "and not end before it starts",
        )
        return
    for table in schema.csv_tables:
        frame = typed.tables[table.name]
        for column in table.columns:
            if column.type != "year":
                continue
            years = frame[column.name]
            outside = years.notna() & ((years < base) | (years > last))
            for row, values in shown_rows(frame, outside):
                yield Problem(
                    typed.file(table.name),
                    row,
                    column.name,
                    f"year {values[column.name]} is outside the base year and horizon "
                    f"({base}..{last}): correct it or widen the horizon in economy.toml",
                )
            yield from beyond(typed.file(table.name), column.name, outside)
    observed = typed.tables["observed"]
    late = observed["year"].notna() & (observed["year"] > base)
    for row, values in shown_rows(observed, late):
        yield Problem(
            typed.file("observed"),
            row,
            "year",
            f"year {values['year']} is after the base year {base}: observed statistics check the "
            "base year, so give figures of the base year or earlier",
        )
    yield from beyond(typed.file("observed"), "year", late)


def check_hierarchies(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    for table in ("regions", "sectors"):
        frame = typed.tables[table]
        ids = to_object(frame["id"])
        row_of: dict[str, int] = {}  # the first row of each id
        for row, i in zip(frame.index, ids, strict=True):
            if isinstance(i, str):
                row_of.setdefault(i, int(row))
        parent_of = {
            i: p
            for i, p in zip(ids, to_object(frame["parent"]), strict=True)
            if isinstance(i, str) and isinstance(p, str)
        }
        for cycle in _cycles(parent_of):
            shown = " -> ".join([*cycle, cycle[0]])
            yield Problem(
                typed.file(table),
                row_of[min(cycle)],
                "parent",
                f"the hierarchy has a cycle ({shown}): one of them must have no parent "
                "or another parent",
            )


def _cycles(parent_of: dict[str, str]) -> Iterator[list[str]]:
    """Each cycle of the parent links once, as met walking up from the ids in sorted order.

    Every id is walked over once: a walk stops at an id an earlier walk passed (whose way
    up is known), so a hierarchy N levels deep costs N steps, not N^2 or N^3.
    """
    done: set[str] = set()
    for start in sorted(parent_of):
        path: dict[str, int] = {}  # the walk so far, each id with its place on it
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path[node] = len(path)
            node = parent_of.get(node)
        if node is not None and node in path:
            yield list(path)[path[node] :]
        done.update(path)


def _unit_problems(
    typed: TypedTables, table: str, key: str, unit_of: pd.Series, whose: str
) -> Iterator[Problem]:
    """Rows whose unit cell differs from ``unit_of`` their ``key`` cell."""
    frame = typed.tables[table]
    given = frame["unit"]
    if not given.notna().any():
        return
    vocab = vocabulary(given, unit_of)
    have = positions(given, vocab)
    expected = lookup(frame[key], unit_of, vocab)
    wrong = (have >= 0) & (expected >= 0) & (have != expected)
    for row, i in shown_flagged(frame, wrong):
        unit = vocab[int(expected[i])]
        yield Problem(
            typed.file(table),
            row,
            "unit",
            f"unit {given.iloc[i]!r} is not the unit of {whose} ({unit!r}): give "
            f"amounts in {unit!r} or leave the unit blank",
        )
    yield from beyond(typed.file(table), "unit", wrong)


def check_units(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    unit = product_table(typed)["unit"]
    for table in ("process_io", "investment_costs", "resources", "trade", "final_demand"):
        yield from _unit_problems(typed, table, "product", unit, "the product")
    main_unit = by_id(typed, "processes")["main_product"].map(unit)
    for table in ("facilities", "investments"):
        yield from _unit_problems(typed, table, "process", main_unit, "the process's main product")
    yield from _unit_problems(typed, "targets", "product", unit, "the product")


def check_processes(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    processes = typed.tables["processes"]
    io = typed.tables["process_io"]
    output = (io["flow"] == "output").to_numpy(dtype=bool)
    process_vocab, (ids, processed) = among_ids(typed, "processes", processes["id"], io["process"])
    product_vocab, (mains, product) = among_ids(
        typed, "products", processes["main_product"], io["product"]
    )
    undated_output = output & io["year"].isna().to_numpy()
    makers, made_products = processed[undated_output], product[undated_output]
    known = (makers >= 0) & (made_products >= 0)
    # (process, product) pairs as one integer each
    made = makers[known] * len(product_vocab) + made_products[known]
    has_output = mask_of(len(process_vocab), makers)[ids]
    makes_main = np.isin(ids * len(product_vocab) + mains, made)
    claimed = (ids >= 0) & (mains >= 0)
    file = typed.file("processes")
    io_file = typed.file("process_io")
    for row, i in flagged(processes, claimed & ~(has_output & makes_main)):
        values = processes.iloc[i]
        if not has_output[i]:
            yield Problem(
                file,
                row,
                "id",
                f"process {values['id']!r} has no output in {io_file} (rows without a year): "
                "add at least its main product as an output",
            )
        else:
            yield Problem(
                file,
                row,
                "main_product",
                f"{values['main_product']!r} is not an output of process {values['id']!r} in "
                f"{io_file}: add it as an output (amount 1 per unit of activity) or name "
                "another main product",
            )
    # each process's main product (of its first row), by position in the process vocabulary
    main_of = np.full(len(process_vocab) + 1, -1, dtype=np.int64)
    first = (ids >= 0) & ~processes["id"].duplicated().to_numpy()
    main_of[ids[first]] = mains[first]
    of_row = main_of[processed]
    is_main = (product >= 0) & (of_row == product)
    zero = is_main & output & (io["amount"] == 0).to_numpy(dtype=bool)
    for row, _ in shown_flagged(io, zero):
        yield Problem(
            typed.file("process_io"),
            row,
            "amount",
            "the main product's output is 0: one unit of activity must give some of it",
        )
    yield from beyond(typed.file("process_io"), "amount", zero)
    own_use = is_main & (io["flow"] == "input").to_numpy(dtype=bool)
    if own_use.any():
        # a process may take in some of its own product, but less than it gives out
        keys = ["process", "product", "year"]
        given = io.loc[is_main & output, [*keys, "amount"]].astype({"year": "float64"})
        taken = io.loc[own_use, [*keys, "amount"]].astype({"year": "float64"}).reset_index()
        both = taken.merge(given, on=keys, how="left", suffixes=("", "_out"))
        undated = given[given["year"].isna()].drop(columns="year")
        fallback = taken.merge(
            undated, on=["process", "product"], how="left", suffixes=("", "_out")
        )
        # a dated input compares with the output in force that year: dated, else undated
        both["amount_out"] = both["amount_out"].fillna(fallback["amount_out"])
        for record in both[~(both["amount"] < both["amount_out"])].to_dict(orient="records"):
            yield Problem(
                typed.file("process_io"),
                int(record["row"]),
                "amount",
                f"the process takes in {record['amount']:g} of its own main product per unit of "
                f"activity but gives out {record['amount_out']:g}: it must give out more than "
                "it takes in, or no net output is left",
            )


def check_facilities(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["facilities"]
    file = typed.file("facilities")
    over = frame["base_output"].notna() & (frame["base_output"] > frame["capacity"])
    for row, values in shown_rows(frame, over):
        yield Problem(
            file,
            row,
            "base_output",
            f"base_output {values['base_output']:g} exceeds capacity {values['capacity']:g}: "
            "raise the capacity or lower the base-year output",
        )
    yield from beyond(file, "base_output", over)
    yield from _first_after_last(typed, "facilities")


def _first_after_last(typed: TypedTables, table: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    wrong = (
        frame["first_year"].notna()
        & frame["last_year"].notna()
        & (frame["first_year"] > frame["last_year"])
    )
    for row, values in shown_rows(frame, wrong):
        yield Problem(
            typed.file(table),
            row,
            "last_year",
            f"last_year {values['last_year']} comes before first_year {values['first_year']}",
        )
    yield from beyond(typed.file(table), "last_year", wrong)


def check_investments(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["investments"]
    file = typed.file("investments")
    build, renovate = frame["kind"] == "build", frame["kind"] == "renovate"
    checks = [
        (
            build & frame["region"].isna(),
            "region",
            "a build option needs the region where the capacity goes",
        ),
        (
            build & frame["facility"].notna(),
            "facility",
            "a build option names no facility: leave it blank (or make the option kind renovate)",
        ),
        (
            renovate & frame["facility"].isna(),
            "facility",
            "a renovate option needs the facility it renovates",
        ),
        (
            renovate & frame["region"].notna(),
            "region",
            "a renovate option takes its facility's region: leave the region blank",
        ),
        (
            frame["integer"].fillna(False).astype(bool) & (frame["max_units"].fillna(1.0) % 1 != 0),
            "max_units",
            "an option built in whole units (integer true) needs a whole max_units: round it, "
            "or set integer to false",
        ),
    ]
    for mask, column, message in checks:
        for row, _ in shown_rows(frame, mask):
            yield Problem(file, row, column, message)
        yield from beyond(file, column, mask)
    yield from _first_after_last(typed, "investments")


def _kind_problems(typed: TypedTables, table: str, kind: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    kinds = product_table(typed)["kind"]
    kind_of = to_object(frame["product"]).map(kinds)
    wrong = frame["product"].notna() & kind_of.notna() & (kind_of != kind)
    for row, values in shown_rows(frame, wrong):
        yield Problem(
            typed.file(table),
            row,
            "product",
            f"{values['product']!r} is of kind {kinds[values['product']]!r}, not {kind!r}: "
            f"{table}.csv supplies only products of kind {kind} (set its kind in products.csv)",
        )
    yield from beyond(typed.file(table), "product", wrong)


def check_resources(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    yield from _kind_problems(typed, "resources", "resource")
    frame = typed.tables["resources"]
    file = typed.file("resources")
    stocked = frame["kind"].isin(["deposit", "renewable"])
    checks = [
        (
            stocked & frame["stock"].isna(),
            "stock",
            "a deposit or renewable resource needs its stock",
        ),
        (
            (frame["kind"] == "flow") & frame["yearly_limit"].isna(),
            "yearly_limit",
            "a flow resource needs its yearly_limit",
        ),
        (
            frame["stock"].notna() & (frame["min_stock"] > frame["stock"]),
            "min_stock",
            "min_stock exceeds the stock: the resource would start below its minimum",
        ),
        (
            (frame["kind"] != "renewable") & (frame["regrowth_rate"] > 0),
            "regrowth_rate",
            "only a renewable resource regrows: set kind renewable or leave regrowth_rate blank",
        ),
    ]
    for mask, column, message in checks:
        for row, _ in shown_rows(frame, mask):
            yield Problem(file, row, column, message)
        yield from beyond(file, column, mask)


def check_labour(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    yield from _kind_problems(typed, "labour", "labour")


def check_population(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    base, horizon = typed.settings.get("base_year"), typed.settings.get("horizon")
    if base is None or horizon is None:
        return
    population = typed.tables["population"].dropna(subset=["region", "year"])
    have = set(zip(population["region"], population["year"], strict=True))
    regions = typed.tables["regions"]
    for row, values in rows(regions, regions["id"].notna()):
        missing = [y for y in range(base, horizon[1] + 1) if (values["id"], y) not in have]
        if missing:
            shown = ", ".join(map(str, missing))
            yield Problem(
                typed.file("population"),
                None,
                "persons",
                f"region {values['id']!r} ({typed.file('regions')} row {row}) has no population "
                f"for {shown}: "
                "give every region a row for every year from the base year to the horizon's end "
                "(0 where nobody lives)",
            )


def check_final_demand(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["final_demand"]
    share = (frame["basis"] == "share_of_output") & (frame["amount"] > 1)
    for row, values in shown_rows(frame, share):
        yield Problem(
            typed.file("final_demand"),
            row,
            "amount",
            f"a share of output must lie between 0 and 1, not {values['amount']:g}",
        )
    yield from beyond(typed.file("final_demand"), "amount", share)
    # a soft claim falls short through its own column in the balance; the basket falls
    # through its level and a reserve with the output it is a share of, so neither needs one
    soft = frame["priority"].notna() & (
        (frame["category"] == "consumption") | (frame["basis"] == "share_of_output")
    )
    for row, values in shown_rows(frame, soft):
        what = (
            "the consumption basket already falls short through its level"
            if values["category"] == "consumption"
            else "a share of output falls with the output it is a share of"
        )
        yield Problem(
            typed.file("final_demand"),
            row,
            "priority",
            f"{what}: leave priority blank on this row",
        )
    yield from beyond(typed.file("final_demand"), "priority", soft)
