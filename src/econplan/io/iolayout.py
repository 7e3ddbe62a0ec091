"""The layout of an input-output table: row and column labels, blocks of figures.

The first column labels the rows and the first row the columns. Columns labelled as a row
are the inter-industry block Z; ``total_output`` (or ``total``) is total output and ``unit``
the unit of each row; every other column is final demand. Rows that are not sectors are
primary inputs, except ``total_input`` (or ``total``, ``total_output``), which only checks
the column totals, and ``category``, which names the category of each final-demand column.
Totals labelled with codes (GO, TIU, TFU, TII, TVA, TI) are found by their arithmetic
(``econplan.io.iototals``). ``econplan.io.iofile.read_text`` reads the cells of a CSV file or
an xlsx sheet and :func:`parse_layout` turns them into a :class:`Layout` of numbers; whatever
cannot be read is reported as a Problem with file, row and column label, and what was done to
read the table (an encoding guessed, totals left out) as a note. Labels are kept as written
for the checks of labels; a sector's id, and the key every user-given label is matched with,
is its label without outer spaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from econplan.errors import EconomyError, Problem
from econplan.io.iofile import Cells, read_text
from econplan.io.iototals import Doubt, find_totals, rounding_unit
from econplan.io.sectoral import IMPORTS, final_use_category

__all__ = ["Cells", "Layout", "normal_label", "parse_layout", "read_text"]

TOTAL_OUTPUT_COLUMNS = frozenset({"total_output", "total"})
UNIT_COLUMN = "unit"
CATEGORY_ROW = "category"
CHECK_ROWS = frozenset({"total", "total_input", "total_inputs", "total_output"})

FloatArray = npt.NDArray[np.float64]


def normal_label(label: str) -> str:
    """A label compared without case, spaces or hyphens: "Total output" is total_output."""
    return "_".join(label.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class Layout:
    """A table in the documented layout, as numbers, with the line each row came from.

    ``Z`` (sectors by sectors) and ``final_demand`` (sectors by final-demand columns) read
    blank cells as 0; ``total_output`` is None without its column. ``primary`` (primary rows
    by sectors and final-demand columns) and ``totals`` (check rows by sectors) keep blank
    cells as NaN. ``lines`` gives each row label's line, ``units`` its ``unit`` cell.
    """

    file: str
    labels_column: str
    sectors: tuple[str, ...]
    Z: FloatArray
    final_demand: pd.DataFrame
    total_output: FloatArray | None
    total_output_column: str
    primary: pd.DataFrame
    totals: pd.DataFrame
    units: Mapping[str, str]
    lines: Mapping[str, int]
    categories: Mapping[str, str] = field(default_factory=dict)
    """The category of each final-demand column, where the ``category`` row or the caller
    named one."""
    notes: tuple[str, ...] = ()
    """What was done to read the table: an encoding guessed, totals found and left out."""

    @property
    def x(self) -> FloatArray:
        """Total output: as given, or the row sums of Z and final demand."""
        if self.total_output is not None:
            return self.total_output
        return np.asarray(self.Z.sum(axis=1) + self.final_demand.to_numpy().sum(axis=1))


def parse_layout(
    text: pd.DataFrame,
    file: str,
    categories: Mapping[str, str] | None = None,
    *,
    decimal_comma: bool = False,
) -> Layout:
    """The table of text cells (a header of column labels, rows indexed by line, the first
    column the row labels) as numbers; raises EconomyError for what cannot be read.

    ``categories`` names the category of final-demand columns (and marks rows of imports
    with ``imports``), over what the ``category`` row and the labels say; with
    ``decimal_comma`` figures are written 12,5."""
    header = [str(h).strip() for h in text.columns]
    corner = header[0] if header and header[0] else "(row labels)"
    if len(header) < 2 or text.empty:
        raise EconomyError(
            [
                Problem(
                    file,
                    1,
                    None,
                    "no table: the first row labels the columns, the first column labels the "
                    "rows, and at least one sector has its row and its column",
                )
            ]
        )
    given = [str(v) for v in text.iloc[:, 0]]
    labels = [label.strip() for label in given]
    lines = [int(n) for n in text.index]
    columns = header[1:]
    problems = _label_problems(file, corner, [str(h) for h in text.columns[1:]], given, lines)
    if problems:
        raise EconomyError(problems)
    line = dict(zip(labels, lines, strict=True))
    kinds = _classify(columns, labels)
    values = _numbers(text, columns, kinds, lines, file, problems, decimal_comma)
    named = _category_cells(text, columns, labels, kinds, file, line, problems)
    named.update(_named_categories(file, categories or {}, kinds, problems))
    notes = _find_totals(file, columns, labels, kinds, values, named, line, problems)
    problems += _special_problems(file, corner, kinds, line)
    if problems:
        raise EconomyError(problems)
    layout = _assemble(file, corner, text, columns, labels, kinds, values, line)
    kept = set(layout.final_demand.columns) | set(layout.primary.index)
    return replace(
        layout,
        categories={k: v for k, v in named.items() if k in kept},
        notes=tuple(notes),
    )


def _named_categories(
    file: str, categories: Mapping[str, str], kinds: Mapping[str, str], problems: list[Problem]
) -> dict[str, str]:
    """The caller's categories, each for a final-demand column or (imports) a primary row."""
    named = {}
    allowed = ", ".join(sorted(FINAL_CATEGORIES))
    for given, category in categories.items():
        # the label as the table writes it, or as its id (without outer spaces)
        label = given if f"column:{given}" in kinds or f"row:{given}" in kinds else given.strip()
        column, row = kinds.get(f"column:{label}"), kinds.get(f"row:{label}")
        if category not in FINAL_CATEGORIES:
            problems.append(
                Problem(file, None, given, f"category {category!r} is not one of: {allowed}")
            )
        elif column != "final" and not (row == "primary" and category == IMPORTS):
            problems.append(
                Problem(
                    file,
                    None,
                    given,
                    "a category was given for this label, but it is not a final-demand column "
                    "(nor a primary row, which may only be named imports): check the label, "
                    "spaces and case included",
                )
            )
        else:
            named[label] = category
    return named


def column_category(label: str, categories: Mapping[str, str]) -> str:
    """The category of a final-demand column: as named, else from its label."""
    return categories.get(label) or final_use_category(label)


def _category_cells(
    text: pd.DataFrame,
    columns: list[str],
    labels: list[str],
    kinds: Mapping[str, str],
    file: str,
    line: Mapping[str, int],
    problems: list[Problem],
) -> dict[str, str]:
    """The categories the ``category`` row names for final-demand columns."""
    rows = [label for label in labels if kinds[f"row:{label}"] == "category"]
    if not rows:
        return {}
    allowed = sorted(FINAL_CATEGORIES)
    position = labels.index(rows[0])
    named = {}
    for k, column in enumerate(columns):
        cell = str(text.iloc[position, k + 1]).strip()
        if not cell or kinds[f"column:{column}"] != "final":
            continue
        if cell not in FINAL_CATEGORIES:
            problems.append(
                Problem(
                    file,
                    line[rows[0]],
                    column,
                    f"{cell!r} is not a final-demand category: write one of {', '.join(allowed)}",
                )
            )
        named[column] = cell
    return named


FINAL_CATEGORIES = frozenset(
    {"consumption", "public_services", "construction", "defence", "exports", IMPORTS}
)
"""What a final-demand column may be: a category of final_demand.csv, exports or imports."""


def _find_totals(
    file: str,
    columns: list[str],
    labels: list[str],
    kinds: dict[str, str],
    values: FloatArray,
    categories: Mapping[str, str],
    line: Mapping[str, int],
    problems: list[Problem],
) -> list[str]:
    """Mark the final-demand columns and primary rows that are totals by their arithmetic
    (``econplan.io.iototals``) as totals or subtotals; notes on what was found, problems
    for lines in doubt."""
    figures = np.nan_to_num(values)
    sector_columns = [c for c in columns if kinds[f"column:{c}"] == "sector"]
    sector_rows = [r for r in labels if kinds[f"row:{r}"] == "sector"]
    sector_row_set = set(sector_rows)
    at_row = {label: i for i, label in enumerate(labels)}
    at_column = {column: k for k, column in enumerate(columns)}
    unit = rounding_unit(values[np.ix_([at_row[r] for r in sector_rows], range(len(columns)))])
    notes = []

    # columns, over the sectors' rows
    candidates = [c for c in columns if kinds[f"column:{c}"] == "final"]
    lines = {c: figures[[at_row[r] for r in sector_rows], at_column[c]] for c in columns}
    order = [c for c in columns if kinds[f"column:{c}"] in ("sector", "final")]
    imports = {c for c in candidates if column_category(c, categories) == IMPORTS}
    totals, doubts = find_totals(order, candidates, lines, subtractable=imports, unit=unit)
    has_output = any(kinds[f"column:{c}"] == "total_output" for c in columns)
    for total in totals:
        # a total output covers the sectors and some final demand (TIU only the sectors)
        everything = set(total.members) > set(sector_columns)
        if everything and not has_output:
            kinds[f"column:{total.label}"] = "total_output"
            has_output = True
            what = "total output"
        else:
            kinds[f"column:{total.label}"] = "subtotal"
            what = "a subtotal, left out"
        minus = f" less {', '.join(map(repr, total.subtracted))}" if total.subtracted else ""
        notes.append(
            f"{file}: column {total.label!r} read as {what}: it is the sum of "
            f"{_span(total.members)}{minus} in every row"
        )
        for column in total.subtracted:
            values[:, at_column[column]] *= -1.0
            notes.append(
                f"{file}: column {column!r} holds imports as positive figures, which "
                f"{total.label!r} subtracts: read as negative final demand"
            )
    problems += [_doubt_problem(file, 1, d, "column", "columns") for d in doubts]

    # rows, over the sectors' columns
    candidates = [r for r in labels if kinds[f"row:{r}"] == "primary"]
    lines = {r: figures[at_row[r], [at_column[c] for c in sector_columns]] for r in labels}
    order = sector_rows + [r for r in labels if r not in sector_row_set and r in candidates]
    totals, doubts = find_totals(order, candidates, lines, unit=unit)
    for total in totals:
        # a total input covers the sectors and some primary rows (TII only the sectors)
        everything = set(total.members) > sector_row_set
        if everything:
            kinds[f"row:{total.label}"] = "check"
            what = "total input (a check of the columns)"
        else:
            kinds[f"row:{total.label}"] = "subtotal"
            what = "a subtotal, left out"
        notes.append(
            f"{file}:{line[total.label]}: row {total.label!r} read as {what}: it is the sum of "
            f"{_span(total.members)} in every column"
        )
    problems += [_doubt_problem(file, line[d.label], d, "row", "rows") for d in doubts]
    return notes


def _span(members: tuple[str, ...]) -> str:
    if len(members) <= 3:
        return ", ".join(map(repr, members))
    return f"the {len(members)} lines {members[0]!r} to {members[-1]!r}"


def _doubt_problem(file: str, row: int, doubt: Doubt, what: str, plural: str) -> Problem:
    return Problem(
        file,
        row,
        doubt.label,
        f"this {what} looks like a total: it equals the sum of {_span(doubt.members)} in "
        f"{doubt.agree} of {doubt.rows} {'rows' if what == 'column' else 'columns'}, but not "
        f"in the others; correct it if it is a total (or delete it), or check the figures of "
        f"those {plural} if it is not",
    )


def _label_problems(
    file: str, corner: str, columns: list[str], labels: list[str], lines: list[int]
) -> list[Problem]:
    """Blank labels, and labels given twice; ``columns`` and ``labels`` as the table writes
    them. A label's id is the label without outer spaces, so two labels that differ only in
    outer spaces would be one sector: they are refused, both shown as written."""
    problems = []
    seen: dict[str, str] = {}
    for k, given in enumerate(columns, start=2):
        column = given.strip()
        if not column:
            problems.append(
                Problem(file, 1, "(blank)", f"column {k} has no label: label it or delete it")
            )
        elif column in seen:
            problems.append(
                Problem(
                    file,
                    1,
                    given,
                    "this column label appears twice"
                    + _spaces(given, seen[column])
                    + ": labels must be unique",
                )
            )
        seen.setdefault(column, given)
    first: dict[str, tuple[int, str]] = {}
    for given, number in zip(labels, lines, strict=True):
        label = given.strip()
        if not label:
            problems.append(
                Problem(file, number, corner, "the row has no label: label it or delete it")
            )
        elif label in first:
            line, earlier = first[label]
            problems.append(
                Problem(
                    file,
                    number,
                    corner,
                    f"row label {given!r} appears twice (first on line {line})"
                    + _spaces(given, earlier)
                    + ": labels must be unique",
                )
            )
        else:
            first[label] = (number, given)
    return problems


def _spaces(given: str, earlier: str) -> str:
    if given == earlier:
        return ""
    return (
        f", as {earlier!r} but for outer spaces, which ids leave out: rename one, or delete "
        "the spaces if they are the same"
    )


def _classify(columns: list[str], labels: list[str]) -> dict[str, str]:
    """What each column label and row label is: sector, final, total_output, unit; and for
    rows: sector, primary, check."""
    rows = set(labels)
    kinds: dict[str, str] = {}
    for column in columns:
        normal = normal_label(column)
        if normal in TOTAL_OUTPUT_COLUMNS:
            kinds[f"column:{column}"] = "total_output"
        elif normal == UNIT_COLUMN:
            kinds[f"column:{column}"] = "unit"
        elif column in rows and normal_label(column) not in CHECK_ROWS:
            kinds[f"column:{column}"] = "sector"
        else:
            kinds[f"column:{column}"] = "final"
    sectors = {c for c in columns if kinds[f"column:{c}"] == "sector"}
    for label in labels:
        if label in sectors:
            kinds[f"row:{label}"] = "sector"
        elif normal_label(label) in CHECK_ROWS:
            kinds[f"row:{label}"] = "check"
        elif normal_label(label) == CATEGORY_ROW:
            kinds[f"row:{label}"] = "category"
        else:
            kinds[f"row:{label}"] = "primary"
    return kinds


def _of_kind(kinds: Mapping[str, str], what: str, kind: str) -> list[str]:
    prefix = f"{what}:"
    return [k[len(prefix) :] for k, v in kinds.items() if k.startswith(prefix) and v == kind]


def _special_problems(
    file: str, corner: str, kinds: Mapping[str, str], line: Mapping[str, int]
) -> list[Problem]:
    problems = []
    if not _of_kind(kinds, "column", "sector"):
        problems.append(
            Problem(
                file,
                1,
                None,
                "no sectors: a single file is read as an input-output table, whose inter-industry "
                "columns are labelled exactly as the rows of the same sectors (to read an "
                "economy of several tables, give its folder or workbook)",
            )
        )
    for kind in ("total_output", "unit"):
        found = _of_kind(kinds, "column", kind)
        for column in found[1:]:
            problems.append(
                Problem(file, 1, column, f"a second {kind} column ({found[0]!r} is the first)")
            )
    for column in _of_kind(kinds, "column", "final"):
        if normal_label(column).startswith("total"):
            problems.append(
                Problem(
                    file,
                    1,
                    column,
                    "a subtotal column would be counted twice as final demand, and it is not "
                    "the sum of the columns next to it: delete it (total output goes in a "
                    "column named total_output)",
                )
            )
    for label in _of_kind(kinds, "row", "primary"):
        if normal_label(label).startswith("total"):
            problems.append(
                Problem(
                    file,
                    line[label],
                    corner,
                    "a subtotal row would be counted twice as a primary input, and it is not "
                    "the sum of the rows next to it: delete it (the column totals go in a row "
                    "named total_input)",
                )
            )
    return problems


def _numbers(
    text: pd.DataFrame,
    columns: list[str],
    kinds: Mapping[str, str],
    lines: list[int],
    file: str,
    problems: list[Problem],
    decimal_comma: bool = False,
) -> FloatArray:
    """Every cell as a number, NaN where blank (and in the unit column and category row)."""
    values = np.full((len(lines), len(columns)), np.nan)
    skip = np.array(
        [kinds.get(f"row:{label}") == "category" for label in text.iloc[:, 0].str.strip()]
    )
    example = "1234,5" if decimal_comma else "1234.5"
    for k, column in enumerate(columns):
        if kinds[f"column:{column}"] == "unit":
            continue
        cells = text.iloc[:, k + 1].astype(str).str.strip()
        if decimal_comma:
            cells = cells.str.replace(",", ".", regex=False)
        blank = (cells == "").to_numpy() | skip
        parsed = pd.to_numeric(cells.where(~blank, None), errors="coerce").to_numpy(dtype=float)
        bad = ~blank & ~np.isfinite(parsed)
        for i in np.flatnonzero(bad):
            problems.append(
                Problem(
                    file,
                    lines[i],
                    str(text.columns[k + 1]),
                    f"{text.iloc[int(i), k + 1]!r} is not a number: write figures like {example}, "
                    "without thousands separators",
                )
            )
        values[:, k] = parsed
    return values


def _assemble(
    file: str,
    corner: str,
    text: pd.DataFrame,
    columns: list[str],
    labels: list[str],
    kinds: Mapping[str, str],
    values: FloatArray,
    line: Mapping[str, int],
) -> Layout:
    row = {label: i for i, label in enumerate(labels)}
    col = {column: k for k, column in enumerate(columns)}
    sectors = _of_kind(kinds, "column", "sector")
    final = _of_kind(kinds, "column", "final")
    primary = _of_kind(kinds, "row", "primary")
    checks = _of_kind(kinds, "row", "check")

    def block(rows: list[str], cols: list[str]) -> FloatArray:
        return values[np.ix_([row[r] for r in rows], [col[c] for c in cols])]

    output_columns = _of_kind(kinds, "column", "total_output")
    total_output = block(sectors, output_columns[:1]).ravel() if output_columns else None
    units: dict[str, str] = {}
    for unit_column in _of_kind(kinds, "column", "unit")[:1]:
        cells = text.iloc[:, col[unit_column] + 1].astype(str).str.strip().tolist()
        units = {label: cell for label, cell in zip(labels, cells, strict=True) if cell}
    return Layout(
        file=file,
        labels_column=corner,
        sectors=tuple(sectors),
        Z=np.nan_to_num(block(sectors, sectors)),
        final_demand=pd.DataFrame(
            np.nan_to_num(block(sectors, final)), index=sectors, columns=final
        ),
        total_output=total_output,
        total_output_column=output_columns[0] if output_columns else "total_output",
        primary=pd.DataFrame(
            block(primary, sectors + final), index=primary, columns=sectors + final
        ),
        totals=pd.DataFrame(block(checks, sectors), index=checks, columns=sectors),
        units=units,
        lines=dict(line),
    )
