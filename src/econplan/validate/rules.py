"""Checks across tables: years in the horizon, hierarchies without cycles, units that match
their products, processes that make what they claim, resources and labour of the right kind,
targets that something can meet, and products that something supplies.

Each rule looks only at rows whose own cells were readable; rows with bad cells were
already reported by ``validate.tables``. Rules compute whole-column masks (through integer
positions where a table may have 10^7 rows) and visit only the rows they flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from econplan.columns import is_categorical, positions, to_object, uniques, vocabulary
from econplan.errors import Problem
from econplan.hierarchy import descendants
from econplan.schema import Schema
from econplan.validate.tables import TypedTables

TARGET_KIND = re.compile(r"^(hard|weight|tier[1-9][0-9]*)$")

Rule = Callable[[TypedTables, Schema], Iterator[Problem]]


def check_rules(typed: TypedTables, schema: Schema) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(typed, schema)]


def _rows(frame: pd.DataFrame, mask: pd.Series) -> Iterator[tuple[int, pd.Series]]:
    for row in mask[mask.fillna(False).astype(bool)].index:
        yield int(row), frame.loc[row]


def _flagged(frame: pd.DataFrame, mask: np.ndarray) -> Iterator[tuple[int, int]]:
    """The row number and position of each row where ``mask`` (by position) holds."""
    rows = frame.index.to_numpy()
    for position in np.flatnonzero(mask):
        yield int(rows[position]), int(position)


def _derived(typed: TypedTables, name: str, make: Callable[[], Any]) -> Any:
    if name not in typed.derived:
        typed.derived[name] = make()
    return typed.derived[name]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with categorical columns as object text, for lookups by value."""
    columns = {name: to_object(c) if is_categorical(c) else c for name, c in frame.items()}
    return pd.DataFrame(columns, index=frame.index)


def _by_id(typed: TypedTables, table: str) -> pd.DataFrame:
    """An id table indexed by id (first row of each id), text as objects."""

    def make() -> pd.DataFrame:
        frame = typed.tables[table]
        frame = frame[frame["id"].notna() & ~frame["id"].duplicated()]
        by_id: pd.DataFrame = _as_text(frame).set_index("id")
        return by_id

    frame: pd.DataFrame = _derived(typed, f"{table} by id", make)
    return frame


def _products(typed: TypedTables) -> pd.DataFrame:
    return _by_id(typed, "products")


def _sector_members(typed: TypedTables) -> dict[str, set[str]]:
    """For each sector, the products of it and of all its sub-sectors."""

    def make() -> dict[str, set[str]]:
        products = _products(typed)
        own = {
            sector: set(ids)
            for sector, ids in products.index.to_series().groupby(products["sector"]).groups.items()
        }
        return {
            sector: set().union(*(own.get(s, set()) for s in members))
            for sector, members in _sector_tree(typed).items()
        }

    members: dict[str, set[str]] = _derived(typed, "sector members", make)
    return members


def _sector_tree(typed: TypedTables) -> dict[str, tuple[str, ...]]:
    sectors = _by_id(typed, "sectors")
    return descendants(sectors.index, sectors["parent"])


def _sector_units(typed: TypedTables) -> dict[str, list[str]]:
    """For each sector, the distinct units of its products and its sub-sectors', sorted."""

    def make() -> dict[str, list[str]]:
        products = _products(typed).dropna(subset=["sector", "unit"])
        own = {s: set(u) for s, u in products.groupby("sector")["unit"].unique().items()}
        return {
            sector: sorted(set().union(*(own.get(s, set()) for s in members)))
            for sector, members in _sector_tree(typed).items()
        }

    units: dict[str, list[str]] = _derived(typed, "sector units", make)
    return units


def _among_ids(
    typed: TypedTables, table: str, *columns: pd.Series
) -> tuple[pd.Index, list[np.ndarray]]:
    """An index to compare the columns through (the table's ids, plus any unknown values the
    columns hold, which other checks report), and each column's positions in it."""
    vocab = typed.ids(table)
    found = [positions(c, vocab) for c in columns]
    if any(((f < 0) & c.notna().to_numpy()).any() for f, c in zip(found, columns, strict=True)):
        vocab = vocabulary(pd.Series(vocab), *columns)
        found = [positions(c, vocab) for c in columns]
    return vocab, found


def _mask(size: int, *found: np.ndarray) -> np.ndarray:
    """A boolean array over ``size`` positions plus a last one for -1 (blank or unknown),
    true at the positions found."""
    mask = np.zeros(size + 1, dtype=bool)
    for positions_found in found:
        mask[positions_found] = True
    mask[-1] = False
    return mask


def _lookup(keys: pd.Series, values: pd.Series, vocab: pd.Index) -> np.ndarray:
    """For each key, the position in ``vocab`` of ``values[key]`` (``values`` indexed by
    unique ids); -1 where the key or its value is missing or unknown."""
    found = np.append(positions(values, vocab), -1)
    looked_up: np.ndarray = found[positions(keys, pd.Index(values.index, dtype=object))]
    return looked_up


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
            for row, values in _rows(frame, outside):
                yield Problem(
                    typed.file(table.name),
                    row,
                    column.name,
                    f"year {values[column.name]} is outside the base year and horizon "
                    f"({base}..{last}): correct it or widen the horizon in economy.toml",
                )
    observed = typed.tables["observed"]
    late = observed["year"].notna() & (observed["year"] > base)
    for row, values in _rows(observed, late):
        yield Problem(
            typed.file("observed"),
            row,
            "year",
            f"year {values['year']} is after the base year {base}: observed statistics check the "
            "base year, so give figures of the base year or earlier",
        )


def check_hierarchies(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    for table in ("regions", "sectors"):
        frame = typed.tables[table]
        parent_of = {
            i: p
            for i, p in zip(frame["id"], frame["parent"], strict=True)
            if isinstance(i, str) and isinstance(p, str)
        }
        reported: set[str] = set()
        for start in sorted(parent_of):
            path = [start]
            while path[-1] in parent_of and parent_of[path[-1]] not in path:
                path.append(parent_of[path[-1]])
            if path[-1] in parent_of and parent_of[path[-1]] in path:
                cycle = path[path.index(parent_of[path[-1]]) :]
                if reported.isdisjoint(cycle):
                    reported.update(cycle)
                    row = int(frame.index[frame["id"] == min(cycle)][0])
                    shown = " -> ".join([*cycle, cycle[0]])
                    yield Problem(
                        typed.file(table),
                        row,
                        "parent",
                        f"the hierarchy has a cycle ({shown}): one of them must have no parent "
                        "or another parent",
                    )


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
    expected = _lookup(frame[key], unit_of, vocab)
    wrong = (have >= 0) & (expected >= 0) & (have != expected)
    for row, i in _flagged(frame, wrong):
        unit = vocab[int(expected[i])]
        yield Problem(
            typed.file(table),
            row,
            "unit",
            f"unit {given.iloc[i]!r} is not the unit of {whose} ({unit!r}): give "
            f"amounts in {unit!r} or leave the unit blank",
        )


def check_units(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    unit = _products(typed)["unit"]
    for table in ("process_io", "investment_costs", "resources", "trade", "final_demand"):
        yield from _unit_problems(typed, table, "product", unit, "the product")
    main_unit = _by_id(typed, "processes")["main_product"].map(unit)
    for table in ("facilities", "investments"):
        yield from _unit_problems(typed, table, "process", main_unit, "the process's main product")
    yield from _unit_problems(typed, "targets", "product", unit, "the product")


def check_processes(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    processes = typed.tables["processes"]
    io = typed.tables["process_io"]
    output = (io["flow"] == "output").to_numpy(dtype=bool)
    process_vocab, (ids, processed) = _among_ids(typed, "processes", processes["id"], io["process"])
    product_vocab, (mains, product) = _among_ids(
        typed, "products", processes["main_product"], io["product"]
    )
    undated_output = output & io["year"].isna().to_numpy()
    makers, made_products = processed[undated_output], product[undated_output]
    known = (makers >= 0) & (made_products >= 0)
    # (process, product) pairs as one integer each
    made = makers[known] * len(product_vocab) + made_products[known]
    has_output = _mask(len(process_vocab), makers)[ids]
    makes_main = np.isin(ids * len(product_vocab) + mains, made)
    claimed = (ids >= 0) & (mains >= 0)
    file = typed.file("processes")
    io_file = typed.file("process_io")
    for row, i in _flagged(processes, claimed & ~(has_output & makes_main)):
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
    for row, _ in _flagged(io, zero):
        yield Problem(
            typed.file("process_io"),
            row,
            "amount",
            "the main product's output is 0: one unit of activity must give some of it",
        )
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
    for row, values in _rows(frame, over):
        yield Problem(
            file,
            row,
            "base_output",
            f"base_output {values['base_output']:g} exceeds capacity {values['capacity']:g}: "
            "raise the capacity or lower the base-year output",
        )
    yield from _first_after_last(typed, "facilities")


def _first_after_last(typed: TypedTables, table: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    wrong = (
        frame["first_year"].notna()
        & frame["last_year"].notna()
        & (frame["first_year"] > frame["last_year"])
    )
    for row, values in _rows(frame, wrong):
        yield Problem(
            typed.file(table),
            row,
            "last_year",
            f"last_year {values['last_year']} comes before first_year {values['first_year']}",
        )


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
    ]
    for mask, column, message in checks:
        for row, _ in _rows(frame, mask):
            yield Problem(file, row, column, message)
    yield from _first_after_last(typed, "investments")


def _kind_problems(typed: TypedTables, table: str, kind: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    kinds = _products(typed)["kind"]
    kind_of = to_object(frame["product"]).map(kinds)
    wrong = frame["product"].notna() & kind_of.notna() & (kind_of != kind)
    for row, values in _rows(frame, wrong):
        yield Problem(
            typed.file(table),
            row,
            "product",
            f"{values['product']!r} is of kind {kinds[values['product']]!r}, not {kind!r}: "
            f"{table}.csv supplies only products of kind {kind} (set its kind in products.csv)",
        )


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
        for row, _ in _rows(frame, mask):
            yield Problem(file, row, column, message)


def check_labour(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    yield from _kind_problems(typed, "labour", "labour")


def check_population(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    base, horizon = typed.settings.get("base_year"), typed.settings.get("horizon")
    if base is None or horizon is None:
        return
    population = typed.tables["population"].dropna(subset=["region", "year"])
    have = set(zip(population["region"], population["year"], strict=True))
    regions = typed.tables["regions"]
    for row, values in _rows(regions, regions["id"].notna()):
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
    for row, values in _rows(frame, share):
        yield Problem(
            typed.file("final_demand"),
            row,
            "amount",
            f"a share of output must lie between 0 and 1, not {values['amount']:g}",
        )


def _product_or_sector(typed: TypedTables, table: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    both = frame["product"].notna() & frame["sector"].notna()
    neither = frame["product"].isna() & frame["sector"].isna()
    for row, _ in _rows(frame, both | neither):
        yield Problem(
            typed.file(table),
            row,
            "product",
            "give either a product or a sector, not both or neither",
        )
    for row, values in _rows(frame, frame["sector"].notna() & frame["product"].isna()):
        found = _sector_units(typed).get(values["sector"], [])
        if len(found) > 1:
            yield Problem(
                typed.file(table),
                row,
                "sector",
                f"sector {values['sector']!r} mixes units ({', '.join(found)}), so its amounts "
                "cannot be added up: name a product, or a sub-sector whose products share a unit",
            )
        elif not found and values["sector"] in _sector_units(typed):
            yield Problem(
                typed.file(table), row, "sector", f"sector {values['sector']!r} has no products"
            )
        elif found and isinstance(values.get("unit"), str) and values["unit"] != found[0]:
            yield Problem(
                typed.file(table),
                row,
                "unit",
                f"unit {values['unit']!r} is not the unit of the sector's products ({found[0]!r})",
            )


def check_targets(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    yield from _product_or_sector(typed, "targets")
    frame = typed.tables["targets"]
    file = typed.file("targets")
    bad_kind = frame["kind"].notna() & ~frame["kind"].astype(str).str.match(TARGET_KIND)
    for row, values in _rows(frame, bad_kind):
        yield Problem(
            file, row, "kind", f"{values['kind']!r} is not hard, tier1 .. tierN or weight"
        )
    no_weight = (frame["kind"] == "weight") & frame["weight"].isna()
    for row, _ in _rows(frame, no_weight):
        yield Problem(file, row, "weight", "a target of kind weight needs its weight")
    yield from _unmakeable_targets(typed)


def _unmakeable_targets(typed: TypedTables) -> Iterator[Problem]:
    frame = typed.tables["targets"]
    aimed = frame["product"].notna() | frame["sector"].notna()
    if not aimed.any():
        return
    io = typed.tables["process_io"]
    processes, (run, offered, making) = _among_ids(
        typed,
        "processes",
        typed.tables["facilities"]["process"],
        typed.tables["investments"]["process"],
        io["process"],
    )
    products, (made,) = _among_ids(typed, "products", io["product"])
    running = _mask(len(processes), run, offered)
    outputs_of_running = (io["flow"] == "output").to_numpy(dtype=bool) & running[making]
    makeable: set[str] = set(products[_mask(len(products), made[outputs_of_running])[:-1]])
    trade = typed.tables["trade"]
    importable: set[str] = set(uniques(trade.loc[trade["import_price"].notna(), "product"]))
    exportable: set[str] = set(uniques(trade.loc[trade["export_price"].notna(), "product"]))
    for row, values in _rows(frame, aimed):
        what = values["product"] if isinstance(values["product"], str) else values["sector"]
        if isinstance(values["product"], str):
            aimed_at = {what}
        else:
            aimed_at = _sector_members(typed).get(what, set())
        measure = values["measure"]
        if values["sense"] == "at_most" or not aimed_at:
            continue
        if measure == "imports":
            able, how = importable, "no import price in trade.csv makes it importable"
        elif measure == "exports":
            able, how = exportable, "no export price in trade.csv makes it exportable"
        else:
            able, how = (
                makeable,
                (
                    "no process that outputs it is run by a facility "
                    "or offered by an investment option"
                ),
            )
        if aimed_at.isdisjoint(able):
            yield Problem(
                typed.file("targets"),
                row,
                "product" if isinstance(values["product"], str) else "sector",
                f"target {values['id']!r} cannot be met: {how}",
            )


def check_observed(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    yield from _product_or_sector(typed, "observed")


def check_links(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["links"]
    _, (origin, destination) = _among_ids(typed, "regions", frame["origin"], frame["destination"])
    loop = pd.Series((origin >= 0) & (origin == destination), index=frame.index)
    for row, _ in _rows(frame, loop):
        yield Problem(
            typed.file("links"), row, "destination", "a link must join two different regions"
        )


def check_trade(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["trade"]
    idle = frame["import_price"].isna() & frame["export_price"].isna()
    for row, _ in _rows(frame, idle):
        yield Problem(
            typed.file("trade"),
            row,
            "import_price",
            "the row allows neither imports nor exports: "
            "give an import_price, an export_price, or delete it",
        )


def check_supplied(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    """Every product that something uses is produced, imported or endowed by something."""
    io = typed.tables["process_io"]
    products = typed.ids("products")
    kinds = _products(typed)["kind"]
    trade = typed.tables["trade"]
    supplied = _mask(
        len(products),
        positions(io.loc[(io["flow"] == "output").to_numpy(dtype=bool), "product"], products),
        positions(trade.loc[trade["import_price"].notna(), "product"], products),
        positions(typed.tables["resources"]["product"], products),
        positions(typed.tables["labour"]["product"], products),
        positions(pd.Series(kinds.index[kinds == "primary"]), products),
    )
    supplied[-1] = True  # blank or unknown products: reported elsewhere
    uses = [
        ("process_io", (io["flow"] == "input").to_numpy(dtype=bool), "product"),
        ("investment_costs", None, "product"),
        ("final_demand", None, "product"),
        ("links", None, "service"),
    ]
    reported: set[str] = set()
    for table, only, column in uses:
        frame = typed.tables[table]
        used = ~supplied[positions(frame[column], products)]
        if only is not None:
            used = used & only
        for row, i in _flagged(frame, used):
            product = frame[column].iloc[i]
            if product in reported:
                continue
            reported.add(product)
            yield Problem(
                typed.file(table),
                row,
                column,
                f"{product!r} is used here but nothing produces, imports or endows it: add a "
                "process that outputs it, an import price in trade.csv, or a row in "
                "resources.csv or labour.csv",
            )


RULES: tuple[Rule, ...] = (
    check_horizon,
    check_hierarchies,
    check_units,
    check_processes,
    check_facilities,
    check_investments,
    check_resources,
    check_labour,
    check_population,
    check_final_demand,
    check_targets,
    check_observed,
    check_links,
    check_trade,
    check_supplied,
)
