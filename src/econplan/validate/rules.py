"""Checks across tables: years in the horizon, hierarchies without cycles, units that match
their products, processes that make what they claim, resources and labour of the right kind,
targets that something can meet, and products that something supplies.

Each rule looks only at rows whose own cells were readable; rows with bad cells were
already reported by ``validate.tables``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pandas as pd

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


def _products(typed: TypedTables) -> pd.DataFrame:
    products = typed.tables["products"]
    return products.dropna(subset=["id"]).drop_duplicates("id").set_index("id")


def _sector_members(typed: TypedTables) -> dict[str, set[str]]:
    """For each sector, the products of it and of all its sub-sectors."""
    sectors = typed.tables["sectors"].dropna(subset=["id"]).drop_duplicates("id")
    products = _products(typed)
    own: dict[str, set[str]] = {}
    for product, sector in zip(products.index, products["sector"], strict=True):
        if isinstance(sector, str):
            own.setdefault(sector, set()).add(product)
    return {
        sector: set().union(*(own.get(s, set()) for s in members))
        for sector, members in descendants(sectors["id"], sectors["parent"]).items()
    }


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
    typed: TypedTables, table: str, expected: pd.Series, whose: str
) -> Iterator[Problem]:
    frame = typed.tables[table]
    given = frame["unit"]
    wrong = given.notna() & expected.notna() & (given != expected)
    for row, values in _rows(frame, wrong):
        yield Problem(
            typed.file(table),
            row,
            "unit",
            f"unit {values['unit']!r} is not the unit of {whose} ({expected[row]!r}): give amounts "
            f"in {expected[row]!r} or leave the unit blank",
        )


def check_units(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    unit = _products(typed)["unit"]
    for table in ("process_io", "investment_costs", "resources", "trade", "final_demand"):
        frame = typed.tables[table]
        yield from _unit_problems(typed, table, frame["product"].map(unit), "the product")
    main_unit = (
        typed.tables["processes"]
        .dropna(subset=["id"])
        .drop_duplicates("id")
        .set_index("id")["main_product"]
        .map(unit)
    )
    for table in ("facilities", "investments"):
        frame = typed.tables[table]
        yield from _unit_problems(
            typed, table, frame["process"].map(main_unit), "the process's main product"
        )
    targets = typed.tables["targets"]
    yield from _unit_problems(typed, "targets", targets["product"].map(unit), "the product")


def check_processes(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    processes = typed.tables["processes"]
    io = typed.tables["process_io"]
    outputs = io[(io["flow"] == "output") & io["year"].isna()]
    made = set(zip(outputs["process"], outputs["product"], strict=True))
    has_output = set(outputs["process"])
    for row, values in _rows(
        processes, processes["id"].notna() & processes["main_product"].notna()
    ):
        if values["id"] not in has_output:
            yield Problem(
                typed.file("processes"),
                row,
                "id",
                f"process {values['id']!r} has no output in process_io.csv (rows without a year): "
                "add at least its main product as an output",
            )
        elif (values["id"], values["main_product"]) not in made:
            yield Problem(
                typed.file("processes"),
                row,
                "main_product",
                f"{values['main_product']!r} is not an output of process {values['id']!r} in "
                "process_io.csv: add it as an output (amount 1 per unit of activity) or name "
                "another main product",
            )
    main_of = processes.dropna(subset=["id"]).drop_duplicates("id").set_index("id")["main_product"]
    is_main = io["product"].notna() & (io["process"].map(main_of) == io["product"])
    for row, _ in _rows(io, is_main & (io["flow"] == "output") & (io["amount"] == 0)):
        yield Problem(
            typed.file("process_io"),
            row,
            "amount",
            "the main product's output is 0: one unit of activity must give some of it",
        )
    for row, _ in _rows(io, is_main & (io["flow"] == "input")):
        yield Problem(
            typed.file("process_io"),
            row,
            "flow",
            "the process's main product cannot also be its input: net the two into one output row",
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
    wrong = (
        frame["product"].notna()
        & frame["product"].map(kinds).notna()
        & (frame["product"].map(kinds) != kind)
    )
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
                f"region {values['id']!r} (regions.csv row {row}) has no population for {shown}: "
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
    units = _products(typed)["unit"]
    for row, values in _rows(frame, frame["sector"].notna() & frame["product"].isna()):
        members = _sector_members(typed).get(values["sector"], set())
        found = sorted({units[p] for p in members if isinstance(units.get(p), str)})
        if len(found) > 1:
            yield Problem(
                typed.file(table),
                row,
                "sector",
                f"sector {values['sector']!r} mixes units ({', '.join(found)}), so its amounts "
                "cannot be added up: name a product, or a sub-sector whose products share a unit",
            )
        elif not found and values["sector"] in _sector_members(typed):
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
    io = typed.tables["process_io"]
    outputs = io[io["flow"] == "output"]
    running = set(typed.tables["facilities"]["process"].dropna()) | set(
        typed.tables["investments"]["process"].dropna()
    )
    makeable = set(outputs.loc[outputs["process"].isin(running), "product"])
    trade = typed.tables["trade"]
    importable = set(trade.loc[trade["import_price"].notna(), "product"])
    exportable = set(trade.loc[trade["export_price"].notna(), "product"])
    members = _sector_members(typed)
    frame = typed.tables["targets"]
    for row, values in _rows(frame, frame["product"].notna() | frame["sector"].notna()):
        what = values["product"] if isinstance(values["product"], str) else values["sector"]
        products = {what} if isinstance(values["product"], str) else members.get(what, set())
        measure = values["measure"]
        if values["sense"] == "at_most" or not products:
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
        if products.isdisjoint(able):
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
    loop = frame["origin"].notna() & (frame["origin"] == frame["destination"])
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
    supplied = (
        set(io.loc[io["flow"] == "output", "product"].dropna())
        | set(typed.tables["trade"].dropna(subset=["import_price"])["product"].dropna())
        | set(typed.tables["resources"]["product"].dropna())
        | set(typed.tables["labour"]["product"].dropna())
        | set(_products(typed).query("kind == 'primary'").index)
    )
    uses = [
        ("process_io", io["flow"] == "input", "product"),
        ("investment_costs", None, "product"),
        ("final_demand", None, "product"),
        ("links", None, "service"),
    ]
    reported: set[str] = set()
    for table, only, column in uses:
        frame = typed.tables[table]
        used = frame[column].notna() & ~frame[column].isin(supplied)
        if only is not None:
            used &= only
        for row, values in _rows(frame, used):
            product = values[column]
            if product in reported or product not in set(_products(typed).index):
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
