"""What a published input-output table needs before it is an economy, each step said in a
note: tiny negative flows from price conversion set to 0, competitive imports converted to
domestic flows, and final demand netted where a category is negative.

- **Tiny negative flows**: an inter-industry flow between ``-NEGATIVE_TOLERANCE`` times the
  total output of the product sold and 0 (a cell of a labour row: times the row's largest
  cell) is rounding from a price conversion and is read as 0. Larger negative flows are
  refused.
- **Negative primary inputs** (subsidies, net taxes on production, a negative operating
  surplus) are kept: a money row may be negative. A labour row, or any row with its own unit,
  may not.
- **Competitive imports** (a final-demand column of category ``imports``, negative figures:
  x = Z + F - M) are converted with ``imports="proportional"``: each product's imports are
  taken to serve every domestic use of it (the sectors and final demand other than exports)
  in the same share s_i = M_i / (sum_j Z_ij + sum_c F_ic), so the domestic flows are
  (1 - s_i) Z_ij and (1 - s_i) F_ic, a primary row of imported inputs holds sum_i s_i Z_ij
  per sector, and imports delivered to final demand leave the table (they are not made at
  home). Without the option such a table is refused: read with total coefficients, its
  multipliers would count imported inputs as domestic output.
- **Non-competitive imports** (rows of category ``imports``: a row per imported product, or
  one row of all imports) are primary inputs; their cells under final-demand columns
  (imported goods bought by households) leave the table.
- **Negative final demand** (changes in inventories, statistical discrepancies): a
  product's claims are summed by category; a category that is negative is set to 0 and taken
  off the product's other categories (exports last) in proportion, so the product's total
  final demand, and the total output it calls for, stay as the table gives them. A product
  whose final demand is negative in total (more drawn from stocks than final users took) has
  none: claims cannot be negative.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from econplan.errors import Problem
from econplan.io.iolayout import Layout, column_category, normal_label
from econplan.io.sectoral import EXPORTS, IMPORTS, final_use_category

NEGATIVE_TOLERANCE = 1e-4
"""Negative flows down to this share of the output of the product sold are rounding, read as
0 (IBGE's tables at level 68, converted to basic prices, hold flows of -2.3 in an output of
287,344: 8e-6)."""

IMPORT_CHOICES = ("proportional",)
"""How competitive imports may be converted (``imports=``)."""

LABOUR_ROWS = frozenset({"labour", "labor"})


@dataclass(frozen=True)
class Adjusted:
    """The table as it will be read, what was done to it, and what cannot be done."""

    layout: Layout
    notes: tuple[str, ...]
    problems: tuple[Problem, ...]


def row_category(layout: Layout, label: str) -> str | None:
    """``imports`` for a primary row of imports (named so, or with "import" in its label)."""
    named = layout.categories.get(label)
    if named is not None:
        return named
    return IMPORTS if final_use_category(label) == IMPORTS else None


def is_labour(layout: Layout, label: str) -> bool:
    return normal_label(label) in LABOUR_ROWS


def adjust(layout: Layout, imports: str | None = None) -> Adjusted:
    """The table with tiny negative flows set to 0 and competitive imports converted
    (``imports="proportional"``); see the module's description."""
    notes: list[str] = []
    problems: list[Problem] = []
    layout = _tiny_negatives(layout, notes)
    layout = _competitive(layout, imports, notes, problems)
    noncompetitive = [r for r in layout.primary.index if row_category(layout, str(r)) == IMPORTS]
    final = list(layout.final_demand.columns)
    if noncompetitive and final:
        cells = layout.primary.loc[noncompetitive, final].fillna(0.0)
        if cells.to_numpy().any():
            primary = layout.primary.copy()
            primary.loc[noncompetitive, final] = np.nan
            layout = replace(layout, primary=primary)
            notes.append(
                f"{layout.file}: imports delivered straight to final demand (rows "
                f"{', '.join(map(repr, noncompetitive))}, {cells.to_numpy().sum():g} in all) "
                "are not made at home and are left out"
            )
    return Adjusted(layout, tuple(notes), tuple(problems))


def _tiny_negatives(layout: Layout, notes: list[str]) -> Layout:
    Z = layout.Z
    sold = np.abs(np.nan_to_num(layout.x))[:, None]
    tiny = (Z < 0) & (-NEGATIVE_TOLERANCE * sold <= Z)
    primary = layout.primary
    labour = [r for r in primary.index if is_labour(layout, str(r))]
    sectors = list(layout.sectors)
    cells = primary.loc[labour, sectors].fillna(0.0).to_numpy() if labour else np.zeros((0, 0))
    labour_largest = float(np.abs(cells).max()) if cells.size else 0.0
    labour_tiny = (cells < 0) & (cells >= -NEGATIVE_TOLERANCE * labour_largest)
    if not tiny.any() and not labour_tiny.any():
        return layout
    count = int(tiny.sum() + labour_tiny.sum())
    worst = float(min(Z[tiny].min(initial=0.0), cells[labour_tiny].min(initial=0.0)))
    notes.append(
        f"{layout.file}: {count} negative flow(s) down to {worst:g} (rounding from a price "
        f"conversion: at most {NEGATIVE_TOLERANCE:g} of the output of the product sold) read "
        "as 0"
    )
    if labour_tiny.any():
        primary = primary.copy()
        primary.loc[labour, sectors] = np.where(labour_tiny, 0.0, cells)
    return replace(layout, Z=np.where(tiny, 0.0, Z), primary=primary)


def _competitive(
    layout: Layout, imports: str | None, notes: list[str], problems: list[Problem]
) -> Layout:
    final = layout.final_demand
    columns = [c for c in final.columns if column_category(str(c), layout.categories) == IMPORTS]
    if not columns:
        return layout
    M = final[columns].to_numpy().sum(axis=1)
    if not M.any():
        return replace(layout, final_demand=final.drop(columns=columns))
    first = str(columns[0])
    if (M > 0).any():
        i = int(np.flatnonzero(M > 0)[0])
        problems.append(
            Problem(
                layout.file,
                layout.lines[layout.sectors[i]],
                first,
                f"imports of {layout.sectors[i]!r} are positive ({M[i]:g}): in a table with "
                "an imports column, rows add up as x = Z + final demand - imports, so write "
                "imports as negative figures (or give total output, from which econplan tells "
                "the sign)",
            )
        )
        return layout
    if imports not in IMPORT_CHOICES:
        problems.append(
            Problem(
                layout.file,
                1,
                first,
                "this column holds competitive imports (imports of each product, whoever uses "
                "them): convert the table to domestic flows with --imports proportional "
                "(imports= 'proportional' in Python), which takes imports to serve every use "
                "of a product in the same share, or give domestic flows and imports as rows",
            )
        )
        return layout
    imported = -M
    rest = final.drop(columns=columns)
    domestic_final = [
        c for c in rest.columns if column_category(str(c), layout.categories) != EXPORTS
    ]
    use = layout.Z.sum(axis=1) + rest[domestic_final].to_numpy().sum(axis=1)
    share = np.divide(imported, use, out=np.zeros_like(use), where=use > 0)
    for k in np.flatnonzero((imported > 0) & ((use <= 0) | (share > 1 + 1e-9))):
        i = int(k)
        problems.append(
            Problem(
                layout.file,
                layout.lines[layout.sectors[i]],
                first,
                f"imports of {layout.sectors[i]!r} ({imported[i]:g}) exceed its domestic use "
                f"({use[i]:g}: the sectors and final demand other than exports), so no share "
                "of its uses can be imported: check the row",
            )
        )
    if problems:
        return layout
    share = np.minimum(share, 1.0)
    kept = 1.0 - share
    Z = layout.Z * kept[:, None]
    row = (layout.Z * share[:, None]).sum(axis=0)
    final_imported = rest[domestic_final].to_numpy() * share[:, None]
    rest = rest.copy()
    rest[domestic_final] = rest[domestic_final].to_numpy() * kept[:, None]
    label = _unused("imports", [*layout.sectors, *map(str, layout.primary.index)])
    primary = layout.primary.copy()
    primary.loc[label] = np.nan
    primary.loc[label, list(layout.sectors)] = row
    primary = primary.drop(columns=columns)
    lines = {**layout.lines, label: layout.lines.get(first, 1)}
    notes.append(
        f"{layout.file}: competitive imports in {', '.join(map(repr, columns))} converted to "
        "domestic flows by the import-proportionality assumption (each product's imports "
        "serve all its domestic uses in the same share, largest "
        f"{share.max():.3g} for {layout.sectors[int(np.argmax(share))]!r}): imported inputs "
        f"are the primary row {label!r}, and imports delivered to final demand "
        f"({final_imported.sum():g}) are left out"
    )
    categories = {**layout.categories, label: IMPORTS}
    return replace(
        layout,
        Z=Z,
        final_demand=rest,
        primary=primary,
        lines=lines,
        categories=categories,
    )


def _unused(name: str, taken: list[str]) -> str:
    while name in taken:
        name += "_"
    return name


def final_claims(layout: Layout) -> tuple[pd.DataFrame, list[str], list[Problem]]:
    """Final demand by product and category (exports a category of its own), with negative
    categories netted against the product's others; notes and problems."""
    final = layout.final_demand
    categories = [column_category(str(c), layout.categories) for c in final.columns]
    summed = final.T.groupby(categories).sum().T.reindex(index=list(layout.sectors))
    notes: list[str] = []
    problems: list[Problem] = []
    if summed.empty:
        return summed, notes, problems
    netted: list[str] = []
    drawn: list[str] = []
    order = [c for c in summed.columns if c != EXPORTS] + [
        c for c in summed.columns if c == EXPORTS
    ]
    summed = summed[order]
    for sector in summed.index:
        row = summed.loc[sector].to_numpy(dtype=float)
        negative = row < 0
        if not negative.any():
            continue
        short = float(-row[negative].sum())
        total = float(row.sum())
        if total < 0:
            summed.loc[sector] = 0.0
            drawn.append(f"{sector!r} ({total:g})")
            continue
        positive = np.where(negative, 0.0, row)
        domestic = positive.copy()
        domestic[[c == EXPORTS for c in summed.columns]] = 0.0
        pool = domestic if domestic.sum() >= short else positive
        taken = pool / pool.sum() * short if pool.sum() > 0 else pool
        summed.loc[sector] = np.maximum(positive - taken, 0.0)
        names = [str(c) for c, n in zip(summed.columns, negative, strict=True) if n]
        netted.append(f"{sector!r} ({', '.join(names)}: {-short:g})")
    if netted:
        shown = "; ".join(netted[:5]) + (f"; and {len(netted) - 5} more" if len(netted) > 5 else "")
        notes.append(
            f"{layout.file}: negative final demand (changes in inventories) netted against the "
            f"same product's other categories, in proportion, totals kept: {shown}"
        )
    if drawn:
        notes.append(
            f"{layout.file}: final demand adds up to less than 0 for {', '.join(drawn)}: more "
            "was drawn from stocks than final users took; claims cannot be negative, so it is "
            "read as 0 (multipliers do not change; the base-year balance shows the drawdown as "
            "a shortfall)"
        )
    return summed, notes, problems
