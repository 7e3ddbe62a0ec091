"""Fulfilment reports: what each enterprise says it produced, used, worked and built in a month.

Reports come as a CSV file (:func:`read_reports`) or as a frame through the library API
(:func:`check_reports`); both are checked whole against the economy and the plan's horizon,
and a file with any problem is refused with every problem listed (file, row, column), so that
nothing of a bad file is ever stored. The file's columns are declared as data, like the
economy's tables, in ``schema/execution_columns.csv``; :func:`report_template` writes a blank
file with example rows.

A report (one id) covers one facility and one month. :func:`report_hash` gives a canonical
hash of a report's content, so that the store can tell a resubmission (same hash: nothing to
do) from a correction (another hash: a new revision). :mod:`econplan.execution.simulate`
writes realistic reports for an economy whose enterprises do not report yet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from econplan.columns import positions, to_object
from econplan.errors import EconomyError, Problem
from econplan.io.folder import read_csv_cells, unusable_file
from econplan.model.economy import Economy
from econplan.schema import Table, figure, load_schema
from econplan.validate.tables import listed, type_table

COLUMNS = ("report", "facility", "period", "kind", "product", "amount")
"""The reports frame shared by the execution modules (see :mod:`econplan.execution`)."""

KINDS = ("output", "input", "labour", "construction")
"""What a report row says; for the first three the product is a product, for construction
it is an investment option."""

CONSTRUCTION_UNIT = "unit"
"""The unit of a construction amount: one unit of the investment option."""

PERIOD_PATTERN = r"\d{4}-(?:0[1-9]|1[0-2])"
"""A month as YYYY-MM."""

HASH_VERSION = "econplan report v1"
"""Prefixed to what is hashed: a change of the canonical form changes every hash at once
instead of making two different forms collide."""


class ReportError(EconomyError):
    """Reports were refused; ``problems`` lists every problem found, each with its file, row
    and column. Nothing of a refused file or frame may be stored."""


@cache
def report_table() -> Table:
    """The declared columns of a report file (``schema/execution_columns.csv``)."""
    return load_schema("execution_")["reports"]


def report_id(reporter: str, period: str) -> str:
    """The id econplan gives the report of a facility (or of a build option's construction)
    for a month: ``FACILITY-YYYY-MM``. Any other id works as well; this one is readable and
    the same each time the same month is reported, so that a resubmission corrects it."""
    return f"{reporter}-{period}"


@dataclass(frozen=True)
class Reports:
    """Reports that passed every check: ``frame`` in the shared reports format (one row per
    figure, sorted by report, kind and product) and ``notes``, the note of each row (None
    where blank), kept apart because the shared frame has no note."""

    frame: pd.DataFrame
    notes: pd.Series
    source: str

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Reports({self.source!r}: {len(self.ids)} reports, {len(self.frame)} rows)"

    @property
    def ids(self) -> pd.Index:
        """The report ids, sorted."""
        ids: pd.Index = pd.Index(pd.unique(self.frame["report"].to_numpy(dtype=object)))
        return ids.rename("report")

    def with_notes(self) -> pd.DataFrame:
        """The frame with its ``note`` column: everything the enterprise sent."""
        notes = pd.Series(self.notes.to_numpy(dtype=object), index=self.frame.index, dtype=object)
        return self.frame.assign(note=notes)

    def report(self, report: str) -> pd.DataFrame:
        """The rows of one report, notes included."""
        frame = self.with_notes()
        return frame[frame["report"] == report].reset_index(drop=True)

    def hashes(self) -> pd.Series:
        """The content hash of each report (:func:`report_hash`), by report id."""
        return report_hashes(self.with_notes())


# -- reading and checking ----------------------------------------------------------------------
def read_reports(
    path: str | os.PathLike[str], economy: Economy, horizon: tuple[int, int] | None = None
) -> Reports:
    """The reports in a CSV file, checked whole against ``economy`` and the plan's
    ``horizon`` (first and last year; None: the economy's).

    Raises ReportError listing every problem (``FILE:ROW: [column] what and what to do``,
    the header being row 1) when anything is wrong: a file is stored whole or not at all.
    """
    path = Path(path)
    file = os.fspath(path)
    why = unusable_file(path)
    if why is None and path.is_dir():
        why = "is a folder: give a CSV file of reports (econplan report template writes one)"
    if why is not None:
        raise ReportError([Problem(file, None, None, why)])
    problems: list[Problem] = []
    cells = read_csv_cells(path, file, problems)
    if cells is None:
        raise ReportError(problems)
    return _checked(cells, False, file, economy, horizon, problems)


def check_reports(
    frame: pd.DataFrame,
    economy: Economy,
    horizon: tuple[int, int] | None = None,
    source: str = "reports",
) -> Reports:
    """Reports given as a frame (the library API, a web form), checked as a file would be.

    The frame has the columns of a report file; cells may be text or typed (numbers, None for
    blank). Rows are numbered as in a CSV file with a header (the first row is row 2), and
    problems name ``source`` as their file.
    """
    cells = frame.reset_index(drop=True)
    cells.index = pd.RangeIndex(2, len(cells) + 2, name="row")
    return _checked(cells, True, source, economy, horizon, [])


def _checked(
    cells: pd.DataFrame,
    typed_columns: bool,
    file: str,
    economy: Economy,
    horizon: tuple[int, int] | None,
    problems: list[Problem],
) -> Reports:
    table = report_table()
    before = len(problems)
    typed = type_table(cells, table, file, problems, typed_columns)
    if any(p.row == 1 for p in problems[before:]):
        # a wrong header: every row would only repeat it
        raise ReportError(problems)
    if typed.empty and not problems:
        problems.append(
            Problem(file, None, None, "holds no reports: add a row per figure below the header")
        )
    years = horizon or (economy.settings.first_year, economy.settings.last_year)
    _check_rows(_Rows(typed, economy, file, problems, years))
    if problems:
        raise ReportError(problems)
    frame = pd.DataFrame(
        {
            "report": to_object(typed["report"]),
            "facility": to_object(typed["facility"]),
            "period": to_object(typed["period"]),
            "kind": to_object(typed["kind"]),
            "product": to_object(typed["product"]),
            "amount": typed["amount"].to_numpy(dtype=float) + 0.0,
        }
    ).assign(note=to_object(typed["note"]))
    frame = frame.sort_values(["report", "kind", "product"], kind="stable", ignore_index=True)
    return Reports(frame[list(COLUMNS)], frame["note"].rename(None), file)


@dataclass
class _Rows:
    """The typed rows under check, with what several rules look up once: where each cell
    lies among the economy's ids (-1: blank or unknown) and the year of each period."""

    typed: pd.DataFrame
    economy: Economy
    file: str
    problems: list[Problem]
    horizon: tuple[int, int]

    def __post_init__(self) -> None:
        t, e = self.typed, self.economy
        self.kind = to_object(t["kind"]).to_numpy(dtype=object)
        self.facility = positions(t["facility"], e.facility_ids)
        self.product = positions(t["product"], e.product_ids)
        self.option = positions(t["product"], e.ids("investments"))
        self.construction = self.kind == "construction"
        self.year = np.full(len(t), -1, dtype=np.int64)  # set by the period rule

    def given(self, column: str) -> np.ndarray:
        given: np.ndarray = self.typed[column].notna().to_numpy(dtype=bool)
        return given

    def cell(self, row: int, column: str) -> str:
        return str(self.typed.at[row, column])

    def flag(self, column: str, mask: np.ndarray, message: Callable[[int], str]) -> None:
        """A problem for each row flagged (the first ``SHOWN`` worded, the rest counted)."""
        flags = pd.Series(mask, index=self.typed.index)
        for row in listed(self.problems, self.file, column, flags):
            self.problems.append(Problem(self.file, int(row), column, message(int(row))))


def _check_rows(rows: _Rows) -> None:
    """Every rule that crosses a row's cells with each other or with the economy; a cell
    already refused by its type (blank, not a number, ...) is left out of each rule."""
    _check_period(rows)
    _check_facility(rows)
    _check_product(rows)
    _check_made(rows)
    _check_construction(rows)
    _check_unit(rows)
    _check_report_ids(rows)
    _check_duplicates(rows)


def _check_period(rows: _Rows) -> None:
    text = to_object(rows.typed["period"]).fillna("").astype(str)
    month = text.str.fullmatch(PERIOD_PATTERN).to_numpy(dtype=bool)
    rows.flag(
        "period",
        rows.given("period") & ~month,
        lambda r: f"{rows.cell(r, 'period')!r} is not a month as YYYY-MM (like 2021-08)",
    )
    year = pd.to_numeric(text.str.slice(0, 4).where(month), errors="coerce")
    year_of = year.fillna(-1).to_numpy(dtype=np.int64)
    first, last = rows.horizon
    outside = month & ((year_of < first) | (year_of > last))
    rows.flag(
        "period",
        outside,
        lambda r: (
            f"{rows.cell(r, 'period')} is outside the plan, which runs from {first}-01 "
            f"to {last}-12: report only months of the plan"
        ),
    )
    rows.year = np.where(month & ~outside, year_of, -1)


def _check_facility(rows: _Rows) -> None:
    e = rows.economy
    given = rows.given("facility")
    rows.flag(
        "facility",
        given & (rows.facility < 0),
        lambda r: (
            f"unknown facility {rows.cell(r, 'facility')!r}: it must be an id in the "
            "economy's facilities.csv"
        ),
    )
    rows.flag(
        "facility",
        ~given & rows.given("kind") & ~rows.construction,
        lambda r: (
            f"required cell is empty on a row of kind {rows.cell(r, 'kind')}: the "
            "facility reporting (only construction of new capacity has none)"
        ),
    )
    facilities = e.tables["facilities"]
    first = facilities["first_year"].fillna(-1).to_numpy(dtype=np.int64)
    last = facilities["last_year"].fillna(10_000).to_numpy(dtype=np.int64)
    known = (rows.facility >= 0) & (rows.year >= 0)
    at = np.where(known, rows.facility, 0)
    closed = known & ((rows.year < first[at]) | (rows.year > last[at]))

    def message(r: int) -> str:
        i = int(rows.facility[rows.typed.index.get_loc(r)])
        runs = f" from {first[i]}" if first[i] >= 0 else ""
        runs += f" until {last[i]}" if last[i] < 10_000 else ""
        return (
            f"facility {rows.cell(r, 'facility')!r} does not operate in "
            f"{rows.cell(r, 'period')[:4]} (it runs{runs}): report only months it operates"
        )

    rows.flag("facility", closed, message)


def _check_product(rows: _Rows) -> None:
    e = rows.economy
    given = rows.given("product") & rows.given("kind")
    rows.flag(
        "product",
        given & ~rows.construction & (rows.product < 0),
        lambda r: (
            f"unknown product {rows.cell(r, 'product')!r}: it must be an id in the "
            "economy's products.csv"
        ),
    )
    rows.flag(
        "product",
        given & rows.construction & (rows.option < 0),
        lambda r: (
            f"unknown investment option {rows.cell(r, 'product')!r}: construction is "
            "reported against an id in the economy's investments.csv"
        ),
    )
    product_kind = e.tables["products"]["kind"].to_numpy(dtype=object)
    known = rows.product >= 0
    labour = known & (product_kind[np.where(known, rows.product, 0)] == "labour")
    rows.flag(
        "product",
        known & (rows.kind == "labour") & ~labour,
        lambda r: f"{rows.cell(r, 'product')!r} is not labour: report it with kind input or output",
    )
    rows.flag(
        "product",
        labour & np.isin(rows.kind, ["input", "output"]),
        lambda r: f"{rows.cell(r, 'product')!r} is labour: report it with kind labour",
    )


def _facility_processes(economy: Economy) -> pd.DataFrame:
    """Each facility's processes (positions): its own, and those a renovation option may
    switch it to, whose products it may report once renovated."""
    facilities = economy.tables["facilities"]
    own = pd.DataFrame(
        {
            "facility": np.arange(len(facilities)),
            "process": economy.positions("facilities", "process"),
        }
    )
    options = economy.tables["investments"]
    renovated = (options["kind"] == "renovate").to_numpy(dtype=bool)
    switched = pd.DataFrame(
        {
            "facility": economy.facility_ids.get_indexer(
                pd.Index(options["facility"].to_numpy(dtype=object)[renovated])
            ),
            "process": economy.positions("investments", "process")[renovated],
        }
    )
    both = pd.concat([own, switched[switched["facility"] >= 0]], ignore_index=True)
    return both.drop_duplicates(ignore_index=True)


def _check_made(rows: _Rows) -> None:
    """Output must be a product the facility's process gives out in the period's year, input
    one it takes in, labour a labour product it takes in."""
    e = rows.economy
    flows = {"output": "output", "input": "input", "labour": "input"}
    check = (rows.facility >= 0) & (rows.product >= 0) & (rows.year >= 0)
    check &= np.isin(rows.kind, list(flows))
    candidates = np.flatnonzero(check)
    if not len(candidates):
        return
    expanded = pd.DataFrame({"at": candidates, "facility": rows.facility[candidates]}).merge(
        _facility_processes(e), on="facility"
    )
    at = expanded["at"].to_numpy()
    process = expanded["process"].to_numpy()
    made = np.zeros(len(expanded), dtype=bool)
    for year in np.unique(rows.year[at]):
        for kind, flow in flows.items():
            these = (rows.year[at] == year) & (rows.kind[at] == kind)
            if these.any():
                matrix = e.outputs(int(year)) if flow == "output" else e.inputs(int(year))
                values = matrix[rows.product[at[these]], process[these]]
                made[these] = np.asarray(values).ravel() != 0
    allowed = np.zeros(len(rows.typed), dtype=bool)
    allowed[at[made]] = True
    own_process = e.positions("facilities", "process")

    def message(r: int) -> str:
        i = rows.typed.index.get_loc(r)
        kind, year = str(rows.kind[i]), int(rows.year[i])
        p = int(own_process[rows.facility[i]])
        matrix = e.outputs(year) if kind == "output" else e.inputs(year)
        found = e.product_ids[matrix[:, p].nonzero()[0]].tolist()
        if kind == "labour":
            found = [f for f in found if e.products.at[f, "kind"] == "labour"]
        verb = "gives out" if kind == "output" else "takes in"
        some = ", ".join(found[:8]) + (", ..." if len(found) > 8 else "")
        return (
            f"facility {rows.cell(r, 'facility')!r} does not report {kind} of "
            f"{rows.cell(r, 'product')!r}: its process {e.process_ids[p]!r} {verb} "
            f"{some or 'nothing of the kind'} (process_io.csv)"
        )

    rows.flag("product", check & ~allowed, message)


def _check_construction(rows: _Rows) -> None:
    e = rows.economy
    options = e.tables["investments"]
    known = rows.construction & (rows.option >= 0)
    at = np.where(known, rows.option, 0)
    renovates = options["facility"].to_numpy(dtype=object)[at]
    build = known & (options["kind"].to_numpy(dtype=object)[at] == "build")
    facility = to_object(rows.typed["facility"]).to_numpy(dtype=object)
    rows.flag(
        "facility",
        build & rows.given("facility"),
        lambda r: (
            f"option {rows.cell(r, 'product')!r} builds new capacity, which has no "
            "facility yet: leave facility blank"
        ),
    )
    wrong = known & ~build & (facility != renovates)
    rows.flag(
        "facility",
        wrong,
        lambda r: (
            f"option {rows.cell(r, 'product')!r} renovates "
            f"{renovates[rows.typed.index.get_loc(r)]!r}: give that facility"
        ),
    )
    most = options["max_units"].fillna(1.0).to_numpy(dtype=float)[at]
    amount = rows.typed["amount"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        beyond = known & (amount > most)
    rows.flag(
        "amount",
        beyond,
        lambda r: (
            f"{rows.cell(r, 'amount')} is more than the "
            f"{figure(float(most[rows.typed.index.get_loc(r)]))} units the option may take "
            "(max_units): give the share of one unit built in the month"
        ),
    )


def _check_unit(rows: _Rows) -> None:
    e = rows.economy
    units = e.tables["products"]["unit"].to_numpy(dtype=object)
    expected = units[np.where(rows.product >= 0, rows.product, 0)]
    expected[rows.construction] = CONSTRUCTION_UNIT
    given = to_object(rows.typed["unit"]).to_numpy(dtype=object)
    known = (rows.construction & (rows.option >= 0)) | (~rows.construction & (rows.product >= 0))
    wrong = rows.given("unit") & known & (given != expected)

    def message(r: int) -> str:
        unit = expected[rows.typed.index.get_loc(r)]
        of = "construction" if unit == CONSTRUCTION_UNIT else rows.cell(r, "product")
        return (
            f"{rows.cell(r, 'unit')!r} is not the unit of {of} ({unit}): give the amount in "
            f"{unit}, or leave unit blank"
        )

    rows.flag("unit", wrong, message)


def _check_report_ids(rows: _Rows) -> None:
    """All rows of a report are of its first row's facility and month."""
    report = to_object(rows.typed["report"])
    given = report.notna().to_numpy(dtype=bool)
    numbers = pd.Series(rows.typed.index.to_numpy(), index=rows.typed.index)
    first = numbers.groupby(report.to_numpy(dtype=object), sort=False).transform("first")
    first_row = first.fillna(-1).to_numpy(dtype=np.int64)
    for column in ("facility", "period"):
        values = to_object(rows.typed[column]).fillna("").to_numpy(dtype=object)
        firsts = pd.Series(values, index=rows.typed.index).reindex(first_row).to_numpy()
        differs = given & (first_row >= 0) & (values != np.where(first_row >= 0, firsts, ""))

        def message(r: int, values: np.ndarray = values, column: str = column) -> str:
            i = rows.typed.index.get_loc(r)
            origin = int(first_row[i])
            theirs = values[rows.typed.index.get_loc(origin)]
            return (
                f"report {rows.cell(r, 'report')!r} is of {column} {theirs!r} (row {origin}), "
                f"not {values[i]!r}: a report covers one facility and one month; give this "
                "row a report id of its own"
            )

        rows.flag(column, differs, message)


def _check_duplicates(rows: _Rows) -> None:
    """A report gives each product of each kind once."""
    key = ["report", "kind", "product"]
    keys = pd.DataFrame({k: to_object(rows.typed[k]) for k in key})
    complete = keys.notna().all(axis=1).to_numpy(dtype=bool)
    repeat = keys.duplicated(keep="first").to_numpy(dtype=bool) & complete
    numbers = pd.Series(rows.typed.index.to_numpy(), index=rows.typed.index)
    first = numbers.groupby([keys[k] for k in key], sort=False).transform("first")
    rows.flag(
        "product",
        repeat,
        lambda r: (
            f"duplicate of row {first.at[r]} (report {rows.cell(r, 'report')!r}, "
            f"{rows.cell(r, 'kind')} of {rows.cell(r, 'product')!r}): give each product once a "
            "report, adding up its amounts"
        ),
    )


# -- content hashes ----------------------------------------------------------------------------
def _text(values: pd.Series) -> pd.Series:
    """Cells as text, blank for missing, each prefixed by its length: joined, the fields of a
    row can be read back one way only, whatever characters they hold."""
    text = to_object(values).where(values.notna(), "").astype(str)
    return text.str.len().astype(str) + ":" + text


def _canonical_rows(frame: pd.DataFrame) -> pd.Series:
    """Each row's content in one canonical text: the fields that make a report what it is
    (facility, period, kind, product, amount, note), the amount as the shortest text that
    reads back as the same number (so 5, 5.0 and 5.00 are one amount)."""
    amount = frame["amount"].to_numpy(dtype=float) + 0.0  # -0.0 is 0.0
    amounts = pd.Series([repr(float(a)) for a in amount], index=frame.index, dtype=object)
    note = frame["note"] if "note" in frame else pd.Series(None, index=frame.index, dtype=object)
    text = _text(frame["facility"])
    for values in (frame["period"], frame["kind"], frame["product"], amounts, note):
        text = text + _text(values)
    return text


def _digest(texts: list[str]) -> str:
    body = "\n".join([HASH_VERSION, *sorted(texts)])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def report_hash(rows: pd.DataFrame) -> str:
    """A canonical hash of one report's content: the same for the same figures and notes in
    any row order, different as soon as one figure or note differs.

    ``rows`` has the reports frame's columns (a ``report`` column, if present, must hold one
    id; it is not hashed) and may have ``note`` (blank notes hash as no note).
    """
    if "report" in rows and rows["report"].nunique(dropna=False) > 1:
        raise ValueError("report_hash: the rows hold several reports; use report_hashes")
    return _digest(_canonical_rows(rows).tolist())


def report_hashes(frame: pd.DataFrame) -> pd.Series:
    """:func:`report_hash` of every report in ``frame``, by report id (sorted)."""
    texts = _canonical_rows(frame)
    grouped = texts.groupby(frame["report"].to_numpy(dtype=object), sort=True)
    hashes = grouped.agg(lambda group: _digest(group.tolist()))
    return hashes.rename("hash").rename_axis("report")


# -- the template ------------------------------------------------------------------------------
def report_template(economy: Economy, examples: bool = True) -> str:
    """A report file to fill in, as CSV text: the header, and with ``examples`` a report of
    one facility for the plan's first month (an output, an input and labour, amounts a
    twelfth of its base-year figures) and one month of construction of a build option, so
    that whoever fills it in sees each kind of row once. The examples pass
    :func:`read_reports`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report_table().column_names)
    if examples:
        writer.writerows(_example_rows(economy))
    return out.getvalue()


def _example_rows(economy: Economy) -> list[list[str]]:
    e = economy
    period = f"{e.settings.first_year}-01"
    year = e.settings.first_year
    units = e.tables["products"].set_index("id")["unit"]
    kinds = e.tables["products"].set_index("id")["kind"]
    note = "example: replace with the month's figures"
    rows: list[list[str]] = []
    facilities = e.tables["facilities"]
    process = e.positions("facilities", "process")
    running = e.operating(year).to_numpy()
    for i in np.flatnonzero(running & (e.base_output.to_numpy() > 0)):
        taken = e.inputs(year)[:, process[i]].tocoo()
        products = e.product_ids[taken.row]
        labour = [p for p in products if kinds[p] == "labour"]
        other = [p for p in products if kinds[p] != "labour"]
        if not labour or not other:
            continue
        facility = str(facilities["id"].to_numpy(dtype=object)[i])
        activity = float(e.base_output.to_numpy()[i]) / 12
        main = str(e.tables["processes"]["main_product"].to_numpy(dtype=object)[process[i]])
        made = activity * float(e.outputs(year)[e.product_ids.get_loc(main), process[i]])
        rid = report_id(facility, period)
        rows.append([rid, facility, period, "output", main, _rounded(made), units[main], note])
        for product in (other[0], labour[0]):
            amount = activity * float(e.inputs(year)[e.product_ids.get_loc(product), process[i]])
            kind = "labour" if product in labour else "input"
            rows.append(
                [rid, facility, period, kind, product, _rounded(amount), units[product], ""]
            )
        break
    options = e.tables["investments"]
    build = options[options["kind"] == "build"]
    if len(build):
        option = str(build["id"].iat[0])
        rows.append(
            [report_id(option, period), "", period, "construction", option, "0.05",
             CONSTRUCTION_UNIT, "example: 5 % of one unit of the option built in the month"]
        )  # fmt: skip
    return rows


def _rounded(amount: float) -> str:
    return f"{float(f'{amount:.4g}'):g}" if amount >= 1e-3 else "0"
