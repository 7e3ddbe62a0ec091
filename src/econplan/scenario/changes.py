"""Each kind of change, as an edit of an economy's tables (in the economy's own format).

A change takes the tables as the changes before it left them and returns the problems it
found (unknown ids, fields that do not go together); when there are none it has edited the
tables. Everything a change does is expressible in the economy's files, so the changed economy
can be written, read and validated like any other:

- capacity that varies by year (a loss and its recovery) becomes pieces of the facility,
  each open for the years its share applies (``id~before``, ``id~2022``, ...), the original
  keeping what is left in the worst year;
- a shock on a process in some years becomes dated rows of process_io;
- trade changes in some years become dated rows of trade.csv (a dated row replaces the
  undated one in its year);
- final demand scaled in some years is split into dated rows first (rows add up);
- a self-sufficiency share set in some years becomes dated rows of self_sufficiency.csv.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd

from econplan.hierarchy import descendants
from econplan.model.economy import ID_TABLES, Settings
from econplan.scenario.read import Change
from econplan.scenario.spec import ScenarioProblem, as_list

Tables = dict[str, pd.DataFrame]


class Edit:
    """The tables being changed, with what the changes need to know about them."""

    def __init__(self, settings: Settings, tables: Tables) -> None:
        self.settings = settings
        self.tables = tables

    def ids(self, table: str) -> set[str]:
        return set(self.tables[table]["id"].astype(str))

    def members(self, table: str, ids: list[str]) -> set[str]:
        """The ids with everything below them (regions, sectors)."""
        frame = self.tables[table]
        tree = descendants(frame["id"], frame["parent"])
        return {m for i in ids for m in tree.get(i, (i,))}

    def years(self, change: Change, default: tuple[int, int] | None = None) -> list[int]:
        given = change.get("years")
        if given is None:
            first, last = default or (self.settings.first_year, self.settings.last_year)
        else:
            first, last = (given, given) if isinstance(given, int) else given
        return list(range(int(first), int(last) + 1))


def _problem(change: Change, key: str, message: str) -> ScenarioProblem:
    return ScenarioProblem(change.file, change.position, key, message)


SINGULAR = {"facilities": "facility", "processes": "process"}


def unknown(change: Change, edit: Edit, key: str, table: str) -> list[ScenarioProblem]:
    """Ids in field ``key`` that ``table`` does not hold."""
    known = edit.ids(table)
    one = SINGULAR.get(table, table.removesuffix("s"))
    return [
        _problem(change, key, f"no {one} {value!r} in the economy: give an id of {table}.csv")
        for value in as_list(change.get(key))
        if value not in known
    ]


def outside_horizon(change: Change, edit: Edit, key: str = "years") -> list[ScenarioProblem]:
    s = edit.settings
    given = change.get(key)
    if given is None:
        return []
    years = [given, given] if isinstance(given, int) else given
    if years[0] < s.first_year or years[1] > s.last_year:
        return [
            _problem(change, key, f"{given} lies outside the horizon {s.first_year}-{s.last_year}")
        ]
    return []


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts keyed by column name."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _concat(frame: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return frame
    added = pd.DataFrame(rows, columns=frame.columns).astype(frame.dtypes.to_dict())
    return pd.concat([frame, added], ignore_index=True)


# -- targets ---------------------------------------------------------------------------------
def targets(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "id", "targets") + unknown(change, edit, "product", "products")
    if change.get("region") is not None:
        problems += unknown(change, edit, "region", "regions")
    if change.get("scale") is not None and change.get("set") is not None:
        problems.append(_problem(change, "scale", "give scale or set, not both"))
    if all(change.get(k) is None for k in ("scale", "set", "target_kind")):
        problems.append(_problem(change, "scale", "give scale, set or target_kind"))
    kind = change.get("target_kind")
    if kind is not None and not re.fullmatch(r"hard|weight|tier[1-9][0-9]*", str(kind)):
        message = f"{kind!r}: give hard, tier1 .. tierN or weight"
        problems.append(_problem(change, "target_kind", message))
    if not any(change.get(k) is not None for k in ("id", "product", "region", "years")):
        problems.append(_problem(change, "id", "pick targets by id, product, region or years"))
    if problems:
        return problems
    frame = edit.tables["targets"]
    pick = pd.Series(True, index=frame.index)
    if change.get("id") is not None:
        pick &= frame["id"].isin(as_list(change.get("id")))
    if change.get("product") is not None:
        pick &= frame["product"].isin(as_list(change.get("product")))
    if change.get("region") is not None:
        pick &= frame["region"] == change.get("region")
    if change.get("years") is not None:
        pick &= frame["year"].isin(edit.years(change)).fillna(False).astype(bool)
    if not pick.any():
        return [_problem(change, "id", "picks no target: check the ids, products, region, years")]
    frame = frame.copy()
    if change.get("scale") is not None:
        frame.loc[pick, "amount"] = frame.loc[pick, "amount"] * float(change.get("scale"))
    if change.get("set") is not None:
        frame.loc[pick, "amount"] = float(change.get("set"))
    if kind is not None:
        frame.loc[pick, "kind"] = str(kind)
    edit.tables["targets"] = frame
    return []


# -- trade -----------------------------------------------------------------------------------
TRADE_FIELDS = ("import_cap", "export_cap", "import_price", "export_price")


def trade(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "product", "products") + outside_horizon(change, edit)
    if not any(change.get(k) is not None for k in TRADE_FIELDS):
        problems.append(_problem(change, "import_cap", f"give one of {', '.join(TRADE_FIELDS)}"))
    if problems:
        return problems
    frame = edit.tables["trade"]
    for product in as_list(change.get("product")):
        for year in edit.years(change):
            dated = (frame["product"] == product) & (frame["year"] == year).fillna(False)
            if not dated.any():
                undated = (frame["product"] == product) & frame["year"].isna()
                if undated.any():
                    row = records(frame[undated])[0]
                else:
                    row = {c: None for c in frame.columns} | {"product": product}
                # base-year trade belongs on the undated row only
                row |= {"year": year, "base_imports": None, "base_exports": None}
                frame = _concat(frame, [row])
                dated = (frame["product"] == product) & (frame["year"] == year).fillna(False)
            frame = frame.copy()
            for name in TRADE_FIELDS:
                if change.get(name) is not None:
                    frame.loc[dated.to_numpy(), name] = float(change.get(name))
    edit.tables["trade"] = frame
    return []


# -- capacity --------------------------------------------------------------------------------
def capacity_path(change: Change, edit: Edit) -> dict[int, float]:
    """The share of capacity left in every year from ``from`` to the horizon's end."""
    start, last = int(change.get("from")), edit.settings.last_year
    path = change.get("path")
    shares: dict[int, float] = {}
    for year in range(start, last + 1):
        k = year - start
        if path is not None:
            shares[year] = float(path[min(k, len(path) - 1)])
        else:
            lost = float(change.get("lost"))
            n = change.get("recovery_years")
            shares[year] = 1.0 - lost * (1.0 - min(k / n, 1.0)) if n else 1.0 - lost
    return shares


def capacity(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "facility", "facilities") + outside_horizon(
        change, edit, "from"
    )
    if change.get("region") is not None:
        problems += unknown(change, edit, "region", "regions")
    if change.get("process") is not None:
        problems += unknown(change, edit, "process", "processes")
    by_facility = change.get("facility") is not None
    if by_facility == (change.get("region") is not None) or (
        change.get("process") is not None and change.get("region") is None
    ):
        problems.append(
            _problem(change, "facility", "give facility, or region (with or without process)")
        )
    if change.get("path") is not None:
        for key in ("lost", "recovery_years"):
            if change.get(key) is not None:
                problems.append(_problem(change, key, "give path, or lost and recovery_years"))
    elif change.get("lost") is None:
        problems.append(_problem(change, "lost", "give the share lost (or a path of shares)"))
    if problems:
        return problems
    frame = edit.tables["facilities"]
    if by_facility:
        pick = frame["id"].isin(as_list(change.get("facility")))
    else:
        pick = frame["region"].isin(edit.members("regions", [change.get("region")]))
        if change.get("process") is not None:
            pick &= frame["process"] == change.get("process")
    if not pick.any():
        return [_problem(change, "region", "picks no facility: check region and process")]
    shares = capacity_path(change, edit)
    start = int(change.get("from"))
    kept = records(frame[~pick])
    for row in records(frame[pick]):
        kept += _pieces(row, shares, start)
    edit.tables["facilities"] = _concat(frame.iloc[0:0], kept)
    return []


def _pieces(row: dict[str, Any], shares: dict[int, float], start: int) -> list[dict[str, Any]]:
    """A facility whose capacity follows ``shares`` from ``start`` on, as facilities of fixed
    capacity: the original keeps the least share, a piece ``id~before`` the rest until the
    year before, and a piece for each run of years with the same share above the least."""
    least = min(shares.values())
    if least >= 1.0:
        return [row]
    full, base = float(row["capacity"]), row["base_output"]
    opens = row["first_year"] if pd.notna(row["first_year"]) else None
    closes = row["last_year"] if pd.notna(row["last_year"]) else None

    def piece(suffix: str, share: float, first: int | None, last: int | None) -> dict[str, Any]:
        first = first if opens is None or (first is not None and first >= opens) else opens
        last = last if closes is None or (last is not None and last <= closes) else closes
        return row | {
            "id": f"{row['id']}~{suffix}",
            "capacity": full * share,
            "base_output": None,
            "first_year": first,
            "last_year": last,
        }

    rows = [
        row | {"capacity": full * least, "base_output": base * least if pd.notna(base) else base}
    ]
    before = piece("before", 1.0 - least, opens, start - 1)
    before["base_output"] = base * (1.0 - least) if pd.notna(base) else None
    rows.append(before)
    years = sorted(shares)
    i = 0
    while i < len(years):
        j = i
        while j + 1 < len(years) and shares[years[j + 1]] == shares[years[i]]:
            j += 1
        extra = shares[years[i]] - least
        if extra > 0:
            last = None if j == len(years) - 1 else years[j]  # the last share holds on
            rows.append(piece(str(years[i]), extra, years[i], last))
        i = j + 1
    return [r for r in rows if _open_some_year(r["first_year"], r["last_year"])]


def _open_some_year(first: Any, last: Any) -> bool:
    return first is None or last is None or pd.isna(first) or pd.isna(last) or first <= last


# -- shock on a process's coefficients -------------------------------------------------------
def shock(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "process", "processes") + outside_horizon(change, edit)
    if change.get("sector") is not None:
        problems += unknown(change, edit, "sector", "sectors")
    if (change.get("process") is None) == (change.get("sector") is None):
        problems.append(_problem(change, "process", "give process or sector, one of the two"))
    if float(change.get("factor", 1.0)) <= 0:
        problems.append(_problem(change, "factor", "give a factor above 0"))
    if problems:
        return problems
    processes = edit.tables["processes"]
    if change.get("process") is not None:
        hit = set(as_list(change.get("process")))
    else:
        sectors = edit.members("sectors", [change.get("sector")])
        hit = set(processes.loc[processes["sector"].isin(sectors), "id"])
    if not hit:
        return [_problem(change, "sector", "the sector runs no process")]
    flow = "input" if change.get("on") == "inputs" else "output"
    factor = float(change.get("factor"))
    frame = edit.tables["process_io"]
    ours = frame["process"].isin(hit) & (frame["flow"] == flow)
    others = frame[~ours]
    rows = frame[ours]
    new = records(rows)
    for year in edit.years(change):
        undated = rows[rows["year"].isna()]
        dated = rows[(rows["year"] == year).fillna(False)]
        key = ["process", "product"]
        missing = undated.merge(dated[key], on=key, how="left", indicator=True)
        base = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
        for row in [*records(dated), *records(base)]:
            new = [r for r in new if not _same(r, row, year)]
            new.append(row | {"year": year, "amount": float(row["amount"]) * factor})
    edit.tables["process_io"] = _concat(others, new)
    return []


def _same(a: dict[str, Any], b: dict[str, Any], year: int) -> bool:
    return (
        a["process"] == b["process"]
        and a["product"] == b["product"]
        and a["flow"] == b["flow"]
        and pd.notna(a["year"])
        and int(a["year"]) == year
    )


# -- population and final demand -------------------------------------------------------------
def population(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "region", "regions")
    if problems:
        return problems
    frame = edit.tables["population"].copy()
    regions = edit.members("regions", as_list(change.get("region")))
    base = edit.settings.base_year
    pick = frame["region"].isin(regions) & frame["year"].isin(
        edit.years(change, (base, edit.settings.last_year))
    ).fillna(False).astype(bool)
    frame.loc[pick, "persons"] = frame.loc[pick, "persons"] * float(change.get("factor"))
    edit.tables["population"] = frame
    return []


DEMAND_KEY = ["category", "product", "region", "basis"]


def _demand_rows(change: Change, edit: Edit, frame: pd.DataFrame) -> pd.Series:
    pick = pd.Series(True, index=frame.index)
    for key in ("category", "product", "region"):
        if change.get(key) is not None:
            pick &= frame[key].isin(as_list(change.get(key)))
    return pick


def demand(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "product", "products") + unknown(
        change, edit, "region", "regions"
    )
    problems += outside_horizon(change, edit)
    if problems:
        return problems
    frame = edit.tables["final_demand"]
    pick = _demand_rows(change, edit, frame)
    if not pick.any():
        return [_problem(change, "product", "picks no row of final_demand.csv")]
    factor = float(change.get("factor"))
    if change.get("years") is None:
        frame = frame.copy()
        frame.loc[pick, "amount"] = frame.loc[pick, "amount"] * factor
        edit.tables["final_demand"] = frame
        return []
    # rows for every year are split into a row per year, so that some years can change
    every = list(range(edit.settings.base_year, edit.settings.last_year + 1))
    chosen = set(edit.years(change))
    split: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in records(frame[pick]):
        years = every if pd.isna(row["year"]) else [int(row["year"])]
        for year in years:
            key = (*(row[k] for k in DEMAND_KEY), year)
            if key in split:
                split[key]["amount"] += float(row["amount"])
            else:
                split[key] = row | {"year": year, "amount": float(row["amount"])}
    rows = list(split.values())
    for row in rows:
        if row["year"] in chosen:
            row["amount"] *= factor
    edit.tables["final_demand"] = _concat(frame[~pick], rows)
    return []


# -- adding and removing rows ----------------------------------------------------------------
def add(change: Change, edit: Edit) -> list[ScenarioProblem]:
    table = change.get("table")
    frame = edit.tables[table]
    problems = []
    rows = []
    for i, row in enumerate(change.get("rows"), start=1):
        wrong = [c for c in row if c not in frame.columns]
        for column in wrong:
            problems.append(
                _problem(
                    change,
                    f"rows[{i}].{column}",
                    f"{table}.csv has no column {column!r}: use {', '.join(frame.columns)}",
                )
            )
        if table in ID_TABLES and row.get("id") in edit.ids(table):
            problems.append(
                _problem(change, f"rows[{i}].id", f"{table}.csv already has {row['id']!r}")
            )
        rows.append({c: row.get(c) for c in frame.columns})
    if problems:
        return problems
    edit.tables[table] = _concat(frame, rows)
    return []


def remove(change: Change, edit: Edit) -> list[ScenarioProblem]:
    table = change.get("table")
    problems = unknown(change, edit, "id", table)
    if problems:
        return problems
    gone = as_list(change.get("id"))
    frame = edit.tables[table]
    edit.tables[table] = frame[~frame["id"].isin(gone)].reset_index(drop=True)
    if table == "investments":  # the bill of materials goes with its option
        costs = edit.tables["investment_costs"]
        edit.tables["investment_costs"] = costs[~costs["investment"].isin(gone)]
    return []


# -- soft claims -----------------------------------------------------------------------------
def soft_claims(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "product", "products") + unknown(
        change, edit, "region", "regions"
    )
    if problems:
        return problems
    frame = edit.tables["final_demand"].copy()
    pick = _demand_rows(change, edit, frame)
    pick &= (frame["category"] != "consumption") & (frame["basis"] != "share_of_output")
    if not pick.any():
        return [
            _problem(
                change,
                "category",
                "picks no claim that can be soft (a row of final_demand.csv of category "
                "public_services, construction or defence, basis per_head or absolute)",
            )
        ]
    frame.loc[pick, "priority"] = int(change.get("priority"))
    edit.tables["final_demand"] = frame
    return []


# -- self-sufficiency ------------------------------------------------------------------------
def self_sufficiency(change: Change, edit: Edit) -> list[ScenarioProblem]:
    problems = unknown(change, edit, "product", "products") + outside_horizon(change, edit)
    if change.get("region") is not None:
        problems += unknown(change, edit, "region", "regions")
    if problems:
        return problems
    share = float(change.get("share"))
    frame = edit.tables["self_sufficiency"]
    regions: list[str | None] = (
        list(dict.fromkeys(as_list(change.get("region"))))
        if change.get("region") is not None
        else [None]
    )
    given = change.get("years") is not None
    rows = []
    for product in dict.fromkeys(as_list(change.get("product"))):
        for region in regions:
            mine = (frame["product"] == product) & (
                frame["region"].isna() if region is None else frame["region"] == region
            )
            if given:
                # a dated row replaces the undated one in its year: the other years keep theirs;
                # a share of 0 needs a row only to lift an undated one
                years = edit.years(change)
                undated = bool((mine & frame["year"].isna()).any())
                mine &= frame["year"].isin(years).fillna(False).astype(bool)
                if share > 0 or undated:
                    rows += [
                        {"product": product, "region": region, "year": y, "share": share}
                        for y in years
                    ]
            elif share > 0:
                # every year: the key's dated rows go too, or they would still rule their years
                rows.append({"product": product, "region": region, "year": None, "share": share})
            frame = frame[~mine.to_numpy()]
    edit.tables["self_sufficiency"] = _concat(
        frame.reset_index(drop=True), [{c: r.get(c) for c in frame.columns} for r in rows]
    )
    return []


APPLY: dict[str, Callable[[Change, Edit], list[ScenarioProblem]]] = {
    "targets": targets,
    "trade": trade,
    "capacity": capacity,
    "shock": shock,
    "population": population,
    "demand": demand,
    "add": add,
    "remove": remove,
    "soft_claims": soft_claims,
    "self_sufficiency": self_sufficiency,
}
"""Each kind of change declared in schema/scenario.csv, and what it does."""


TOUCHES: dict[str, tuple[str, ...]] = {
    "targets": ("targets",),
    "trade": ("trade",),
    "capacity": ("facilities",),
    "shock": ("process_io",),
    "population": ("population",),
    "demand": ("final_demand",),
    "soft_claims": ("final_demand",),
    "self_sufficiency": ("self_sufficiency",),
}
"""The tables each kind edits (add and remove: the table they name), to say which change
broke a table that fails validation."""


def touched(change: Change) -> tuple[str, ...]:
    if change.kind in ("add", "remove"):
        table = str(change.get("table"))
        return (table, "investment_costs") if table == "investments" else (table,)
    return TOUCHES[change.kind]
