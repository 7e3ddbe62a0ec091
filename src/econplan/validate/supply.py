"""Checks across tables about what the economy can meet and supply: targets of a product or
sector that something can make, import or export; statistics of one unit; links between two
regions; trade rows that allow something; every product that is used, supplied by a process,
imports, a resource or labour."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from econplan.columns import positions, to_object, uniques
from econplan.errors import Problem
from econplan.schema import Schema
from econplan.validate.lookups import (
    among_ids,
    beyond,
    flagged,
    mask_of,
    product_table,
    rows,
    sector_members,
    sector_units,
    shown_rows,
)
from econplan.validate.tables import TypedTables

TARGET_KIND = re.compile(r"^(hard|weight|tier[1-9][0-9]*)$")


def _product_or_sector(typed: TypedTables, table: str) -> Iterator[Problem]:
    frame = typed.tables[table]
    both = frame["product"].notna() & frame["sector"].notna()
    neither = frame["product"].isna() & frame["sector"].isna()
    for row, _ in shown_rows(frame, both | neither):
        yield Problem(
            typed.file(table),
            row,
            "product",
            "give either a product or a sector, not both or neither",
        )
    yield from beyond(typed.file(table), "product", both | neither)
    for row, values in rows(frame, frame["sector"].notna() & frame["product"].isna()):
        found = sector_units(typed).get(values["sector"], [])
        if len(found) > 1:
            yield Problem(
                typed.file(table),
                row,
                "sector",
                f"sector {values['sector']!r} mixes units ({', '.join(found)}), so its amounts "
                "cannot be added up: name a product, or a sub-sector whose products share a unit",
            )
        elif not found and values["sector"] in sector_units(typed):
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
    for row, values in shown_rows(frame, bad_kind):
        yield Problem(
            file, row, "kind", f"{values['kind']!r} is not hard, tier1 .. tierN or weight"
        )
    yield from beyond(file, "kind", bad_kind)
    no_weight = (frame["kind"] == "weight") & frame["weight"].isna()
    for row, _ in shown_rows(frame, no_weight):
        yield Problem(file, row, "weight", "a target of kind weight needs its weight")
    yield from beyond(file, "weight", no_weight)
    yield from _unmakeable_targets(typed)


def _unmakeable_targets(typed: TypedTables) -> Iterator[Problem]:
    frame = typed.tables["targets"]
    aimed = frame["product"].notna() | frame["sector"].notna()
    if not aimed.any():
        return
    io = typed.tables["process_io"]
    processes, (run, offered, making) = among_ids(
        typed,
        "processes",
        typed.tables["facilities"]["process"],
        typed.tables["investments"]["process"],
        io["process"],
    )
    products, (made,) = among_ids(typed, "products", io["product"])
    running = mask_of(len(processes), run, offered)
    outputs_of_running = (io["flow"] == "output").to_numpy(dtype=bool) & running[making]
    makeable: set[str] = set(products[mask_of(len(products), made[outputs_of_running])[:-1]])
    trade = typed.tables["trade"]
    importable: set[str] = set(uniques(trade.loc[trade["import_price"].notna(), "product"]))
    exportable: set[str] = set(uniques(trade.loc[trade["export_price"].notna(), "product"]))
    for row, values in rows(frame, aimed):
        what = values["product"] if isinstance(values["product"], str) else values["sector"]
        if isinstance(values["product"], str):
            aimed_at = {what}
        else:
            aimed_at = sector_members(typed).get(what, set())
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
    _, (origin, destination) = among_ids(typed, "regions", frame["origin"], frame["destination"])
    loop = pd.Series((origin >= 0) & (origin == destination), index=frame.index)
    for row, _ in shown_rows(frame, loop):
        yield Problem(
            typed.file("links"), row, "destination", "a link must join two different regions"
        )
    yield from beyond(typed.file("links"), "destination", loop)


def check_trade(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    frame = typed.tables["trade"]
    idle = frame["import_price"].isna() & frame["export_price"].isna()
    for row, _ in shown_rows(frame, idle):
        yield Problem(
            typed.file("trade"),
            row,
            "import_price",
            "the row allows neither imports nor exports: "
            "give an import_price, an export_price, or delete it",
        )
    yield from beyond(typed.file("trade"), "import_price", idle)
    for amount, price, what in (
        ("base_imports", "import_price", "imported"),
        ("base_exports", "export_price", "exported"),
    ):
        unpriced = (frame[amount] > 0) & frame[price].isna()
        for row, _ in shown_rows(frame, unpriced):
            yield Problem(
                typed.file("trade"),
                row,
                price,
                f"the product was {what} in the base year ({amount}) but has no {price}: "
                "give the price, which values the trade and makes the product tradable",
            )
        yield from beyond(typed.file("trade"), price, unpriced)


def check_self_sufficiency(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    """A self-sufficiency share is of a good or a service: what a process makes and may be
    bought abroad or shipped, not labour, a natural resource or a primary input."""
    frame = typed.tables["self_sufficiency"]
    if len(frame) == 0:
        return
    file = typed.file("self_sufficiency")
    kinds = product_table(typed)["kind"].astype(object)
    kind = to_object(frame["product"]).map(kinds)
    made = kind.isin(["good", "service"]) | kind.isna()  # an unknown product is reported already
    for row, line in shown_rows(frame, ~made):
        yield Problem(
            file,
            row,
            "product",
            f"{line['product']!r} is {kinds[line['product']]}, not a good or a service: a "
            "self-sufficiency share is of what the economy makes; delete the row or name one",
        )
    yield from beyond(file, "product", ~made)


def check_supplied(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    """Every product that something uses is produced, imported or endowed by something."""
    io = typed.tables["process_io"]
    products = typed.ids("products")
    kinds = product_table(typed)["kind"]
    trade = typed.tables["trade"]
    supplied = mask_of(
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
        for row, i in flagged(frame, used):
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


SHARES_ADD_UP = 1e-6
"""How far a seasonal profile's shares may stray from 1 in total: rounding in a file (twelve
shares of 0.0833) is forgiven, and control figures divide by the total, so months still add
up to the year exactly."""


def check_seasonality(typed: TypedTables, schema: Schema) -> Iterator[Problem]:
    """Each seasonal profile names a product or a sector, and its shares add up to 1."""
    frame = typed.tables["seasonality"]
    file = typed.file("seasonality")
    both = frame["product"].notna() & frame["sector"].notna()
    neither = frame["product"].isna() & frame["sector"].isna()
    for row, _ in shown_rows(frame, both | neither):
        yield Problem(
            file, row, "product", "give either a product or a sector, not both or neither"
        )
    yield from beyond(file, "product", both | neither)
    named = frame[~(both | neither) & frame["share"].notna()]
    if len(named) == 0:
        return
    product, sector = to_object(named["product"]), to_object(named["sector"])
    what = product.where(product.notna(), sector)
    flow = to_object(named["flow"]).fillna("output")
    total = named["share"].groupby([what, flow], sort=False).transform("sum")
    first = ~pd.DataFrame({"what": what, "flow": flow}).duplicated()
    off = first & ((total - 1.0).abs() > SHARES_ADD_UP)
    for row, _ in shown_rows(named, off):
        yield Problem(
            file,
            row,
            "share",
            f"the {flow[row]} shares of {what[row]!r} add up to {total[row]:.6g}, not 1: "
            "correct them so that the months of a year make the whole year",
        )
    yield from beyond(file, "share", off)
