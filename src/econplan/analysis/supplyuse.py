"""Supply and use tables made symmetric: the product-by-product or industry-by-industry
input-output table that a technology assumption gives.

Notation of Miller and Blair (Input-Output Analysis, 2009, chapter 5), with the supply table
as statistics offices publish it, products by industries (the make matrix transposed):

- ``supply`` V' (products x industries): product i made by industry j; q = V' i is the output
  of each product, x = i'V' that of each industry.
- ``use`` U (products x industries): product i used up by industry j; ``final_demand`` e
  (products x categories); ``value_added`` W (rows x industries). Balanced tables have
  U i + e i = q (every product used as much as supplied) and i'U + i'W = x' (every industry's
  inputs worth its output).
- B = U x^-1 (inputs per unit of industry output), C = V' x^-1 (the product mix of each
  industry's output), D = V q^-1 (market shares: industry j's share of product i's output).

The assumptions (Eurostat, Manual of Supply, Use and Input-Output Tables, 2008, chapter 11):

- ``technology="product", by="product"``: Z = U V'^-1 q (A = B C^-1), Eurostat's model A: a
  product is made the same way by whichever industry makes it.
- ``technology="industry", by="product"``: Z = U x^-1 V (A = B D), model B: an industry makes
  all its products the same way.
- ``technology="industry", by="industry"``: Z = D U (A = D B), model D: the fixed product sales
  structure (a product goes to the same users whichever industry made it).
- ``technology="product", by="industry"``: Z = C^-1 U (A = C^-1 B), industry by industry with
  the product technology (pymrio's construct C).

Product technology needs as many products as industries and an invertible supply table, and
may give negative flows (an industry whose secondary product takes fewer inputs than the
product's main makers use): they are kept and listed in ``negative``, never set to 0. The
product technology is solved for, not inverted; the tables are dense, for the few hundred
products of published supply and use tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TECHNOLOGIES = ("product", "industry")
"""The technology assumptions: each product has one technology, or each industry has one."""

NOISE = 1e-12
"""Flows within this share of the output of their column are the rounding of a solve
(a cell that is 0 exactly comes out as 1e-17): read as 0. Anything more negative is reported."""


@dataclass(frozen=True)
class SupplyUse:
    """A supply and a use table, labelled: see the module's description."""

    supply: pd.DataFrame
    use: pd.DataFrame
    final_demand: pd.DataFrame
    value_added: pd.DataFrame

    @property
    def product_output(self) -> pd.Series:
        """q: each product's output, the rows of the supply table added up."""
        return self.supply.sum(axis=1)

    @property
    def industry_output(self) -> pd.Series:
        """x: each industry's output, the columns of the supply table added up."""
        return self.supply.sum(axis=0)


@dataclass(frozen=True)
class SymmetricTable:
    """A symmetric input-output table: ``flows`` Z (sectors x sectors), ``final_demand``
    (sectors x categories), ``primary`` (rows x sectors) and ``output`` (each sector's total
    output, which the rows and the columns add up to). ``negative`` lists the negative flows
    (row, column, flow) that the technology assumption gave."""

    technology: str
    by: str
    flows: pd.DataFrame
    final_demand: pd.DataFrame
    primary: pd.DataFrame
    output: pd.Series
    negative: pd.DataFrame

    @property
    def coefficients(self) -> pd.DataFrame:
        """A = Z x^-1: the input coefficients."""
        x = self.output.to_numpy()
        return self.flows.div(np.where(x != 0, x, 1.0), axis=1)


def market_shares(supply: pd.DataFrame) -> pd.DataFrame:
    """D = V q^-1 (industries x products): industry j's share of the output of product i."""
    q = supply.sum(axis=1).to_numpy()
    return supply.div(np.where(q != 0, q, 1.0), axis=0).T


def product_mix(supply: pd.DataFrame) -> pd.DataFrame:
    """C = V' x^-1 (products x industries): the products that make up a unit of each
    industry's output."""
    x = supply.sum(axis=0).to_numpy()
    return supply.div(np.where(x != 0, x, 1.0), axis=1)


def symmetric_table(tables: SupplyUse, technology: str, by: str | None = None) -> SymmetricTable:
    """The symmetric table of ``tables`` under ``technology`` (``product`` or ``industry``),
    product by product or industry by industry (``by``; default: product by product for the
    product technology, industry by industry for the industry technology, Eurostat's models A
    and D). Raises ValueError when the product technology cannot be applied: a supply table
    that is not square or is singular."""
    if technology not in TECHNOLOGIES:
        raise ValueError(f"technology {technology!r}: use product or industry")
    by = by or ("product" if technology == "product" else "industry")
    if by not in ("product", "industry"):
        raise ValueError(f"by {by!r}: use product or industry")
    V_t, U = tables.supply, tables.use
    products, industries = V_t.index, V_t.columns
    q = V_t.sum(axis=1).to_numpy(dtype=float)
    x = V_t.sum(axis=0).to_numpy(dtype=float)
    e = tables.final_demand.to_numpy(dtype=float)
    W = tables.value_added.to_numpy(dtype=float)
    if technology == "product":
        supply = _square(V_t)
        if by == "product":  # Z = U V'^-1 q, and value added W V'^-1 q
            labels = products
            flows = np.linalg.solve(supply.T, U.to_numpy(dtype=float).T).T * q
            primary = np.linalg.solve(supply.T, W.T).T * q if len(W) else W
            final, output = e, q
        else:  # C^-1 U: every industry's deliveries as the mix of products it makes
            labels = industries
            mix = product_mix(V_t).to_numpy(dtype=float)
            flows = np.linalg.solve(mix, U.to_numpy(dtype=float))
            final = np.linalg.solve(mix, e) if e.size else e
            primary, output = W, x
    else:
        per_unit = U.to_numpy(dtype=float) / np.where(x != 0, x, 1.0)
        shares = market_shares(V_t).to_numpy(dtype=float)
        if by == "product":  # B D q
            labels = products
            flows = per_unit @ shares * q
            primary = W / np.where(x != 0, x, 1.0) @ shares * q if len(W) else W
            final, output = e, q
        else:  # D U
            labels = industries
            flows = shares @ U.to_numpy(dtype=float)
            final = shares @ e if e.size else e
            primary, output = W, x
    scale = np.abs(output)[None, :]
    flows = np.where(np.abs(flows) <= NOISE * scale, 0.0, flows)
    frame = pd.DataFrame(flows, index=labels, columns=labels)
    rows, columns = np.nonzero(flows < 0)
    negative = pd.DataFrame(
        {
            "row": labels[rows],
            "column": labels[columns],
            "flow": flows[rows, columns],
        }
    )
    return SymmetricTable(
        technology=technology,
        by=by,
        flows=frame,
        final_demand=pd.DataFrame(final, index=labels, columns=tables.final_demand.columns),
        primary=pd.DataFrame(primary, index=tables.value_added.index, columns=labels),
        output=pd.Series(output, index=labels),
        negative=negative,
    )


def _square(supply: pd.DataFrame) -> np.ndarray:
    """The supply table as a matrix the product technology can be solved with."""
    products, industries = supply.shape
    if products != industries:
        raise ValueError(
            f"the product technology needs as many products as industries, not {products} "
            f"products and {industries} industries: aggregate the table, or use the industry "
            "technology"
        )
    matrix = supply.to_numpy(dtype=float)
    if np.linalg.matrix_rank(matrix) < products:
        raise ValueError(
            "the supply table is singular (some products are made only in fixed proportions "
            "with others), so the product technology has no solution: aggregate those "
            "products, or use the industry technology"
        )
    return matrix
