"""Input-output analysis of an economy's technology mix: multipliers, linkages, key sectors,
embodied content and import dependency, each from sparse solves (see ``leontief``).

Definitions (L = (I - A)^-1; Miller and Blair, Input-Output Analysis, 2009, chapters 6 and
12): the output multiplier of product j is the column sum of L (type I); backward linkage is
it over the mean (Rasmussen's power of dispersion); forward linkage is the row sum of the
Ghosh inverse (I - B)^-1, B = X^-1 A X, over its mean (``forward``: how much output downstream
a unit of primary input supplies), and ``forward_leontief`` the row sum of L over its mean
(Rasmussen's sensitivity of dispersion). The content of a primary row b (value added, an
income, labour) is b L: per unit of final demand, the value added, income or employment
multiplier (simple, type I). Type II multipliers count households' spending of the income
they earn: L of the model closed for households.

In physical units the column sums behind multipliers and linkages add tonnes to
megawatt-hours; they rank products by how much gross activity they pull through the economy,
which is what Rasmussen's indices do, but their levels depend on the units chosen. Embodied
content (labour, each resource, primary energy, imports) is free of that caveat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.analysis.leontief import Operator, Solve, leontief_operator, solve
from econplan.model.economy import Economy
from econplan.model.technology import TechnologyMatrix, technology_matrix


def rasmussen_index(values: np.ndarray) -> np.ndarray:
    """Values over their mean: above 1, more than the average product."""
    mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
    return values / mean if mean else np.full_like(values, np.nan)


def ghosh_forward(
    A: sp.csr_matrix, x: np.ndarray, tol: float = 1e-10
) -> tuple[np.ndarray, Solve | None]:
    """Row sums of the Ghosh inverse (I - B)^-1 with allocation coefficients B = X^-1 A X:
    how much gross output downstream one more unit of primary input to each product
    supports. Products with no output have no allocation coefficients (NaN)."""
    made = x > 0
    result = np.full(len(x), np.nan)
    if not made.any():
        return result, None
    index = np.flatnonzero(made)
    sub = sp.csr_matrix(A[index][:, index])
    scale = x[index]
    allocation = sp.diags(1.0 / scale) @ sub @ sp.diags(scale)
    forward = solve(sp.csr_matrix(allocation), np.ones(len(index)), tol=tol)
    result[index] = forward.x
    return result, forward


def leontief_forward(A: sp.csr_matrix, tol: float = 1e-10) -> Solve:
    """Row sums of the Leontief inverse (I - A)^-1: the gross output of each product needed
    when the final demand for every product rises by one unit (Rasmussen's forward linkage,
    "sensitivity of dispersion"; one solve)."""
    return solve(A, np.ones(A.shape[0]), tol=tol)


def closed_model(A: sp.spmatrix, income: np.ndarray, consumption: np.ndarray) -> sp.csr_matrix:
    """A closed for households (Miller and Blair, section 6.1): households are one more
    sector, which makes ``income`` (income per unit of each product's output, a row) and uses
    ``consumption`` (each product bought per unit of income, a column)."""
    n = A.shape[0]
    closed = sp.bmat(
        [
            [sp.csr_matrix(A), sp.csr_matrix(np.asarray(consumption).reshape(n, 1))],
            [sp.csr_matrix(np.asarray(income).reshape(1, n)), None],
        ],
        format="csr",
    )
    return sp.csr_matrix(closed)


def type_ii(
    A: sp.spmatrix,
    income: np.ndarray,
    consumption: np.ndarray,
    rows: dict[str, np.ndarray],
    tol: float = 1e-10,
) -> dict[str, Solve]:
    """Type II multipliers: the output multipliers (``output``) and the content of each of
    ``rows`` (``income`` itself, labour, value added: per unit of each product) per unit of
    final demand, with households' spending of the income they earn counted (the inverse of
    the closed model, restricted to the products). Solves with the transposed closed model,
    one per quantity."""
    closed = closed_model(A, income, consumption)
    n = A.shape[0]
    results = {"output": solve(closed, np.r_[np.ones(n), 0.0], transpose=True, tol=tol)}
    for name, row in rows.items():
        results[name] = solve(
            closed, np.r_[np.asarray(row, dtype=float), 0.0], transpose=True, tol=tol
        )
    return {name: Solve(s.x[:n], s.method, s.iterations, s.residual) for name, s in results.items()}


@dataclass(frozen=True)
class Analysis:
    """One row per produced product; ``embodied`` has a column per quantity."""

    technology: TechnologyMatrix
    products: pd.DataFrame
    embodied: pd.DataFrame
    units: dict[str, str]
    solves: dict[str, Solve]

    def key_sectors(self) -> pd.DataFrame:
        """Products with both linkage indices above 1, strongest first."""
        table = self.products
        key = table[(table["backward"] > 1) & (table["forward"] > 1)]
        order = (key["backward"] + key["forward"]).sort_values(ascending=False, kind="stable")
        return key.loc[order.index]


def base_output_by_product(economy: Economy, year: int) -> pd.Series:
    return economy.production(economy.base_activity, year)


def analyse(
    economy: Economy, year: int | None = None, mix: str = "base", tol: float = 1e-10
) -> Analysis:
    """IO analysis of the technology mix of ``year`` (default: the base year).

    ``mix``: ``base`` weights each product's processes by base-year activity, ``capacity`` by
    installed capacity, ``equal`` equally.
    """
    year = economy.settings.base_year if year is None else year
    if mix == "base":
        weights = economy.base_activity
    elif mix == "capacity":
        capacity = economy.tables["facilities"]["capacity"].to_numpy(dtype=float)
        weights = pd.Series(economy.facility_process @ capacity, index=economy.process_ids)
    elif mix == "equal":
        weights = pd.Series(0.0, index=economy.process_ids)
    else:
        raise ValueError(f"unknown technology mix {mix!r}: use base, capacity or equal")
    technology = technology_matrix(economy, year=year, activity=weights)
    A, B = technology.A, technology.B
    made = technology.products
    units = economy.tables["products"].set_index("id")["unit"]
    output = base_output_by_product(economy, year).reindex(made).to_numpy()
    solves: dict[str, Solve] = {}
    M = leontief_operator(A, transpose=True)

    def transposed(name: str, rhs: np.ndarray, matrix: Operator = M) -> np.ndarray:
        solves[name] = solve(A, rhs, transpose=True, tol=tol, M=matrix)
        return solves[name].x

    multipliers = transposed("multipliers", np.ones(len(made)))
    solves["forward_leontief"] = leontief_forward(A, tol)
    forward, forward_solve = ghosh_forward(A, output, tol)
    if forward_solve is not None:
        solves["forward"] = forward_solve
    embodied: dict[str, np.ndarray] = {}
    quantity_units: dict[str, str] = {}
    for k, primary in enumerate(technology.primary):
        row = B[k].toarray().ravel()
        if row.any():
            embodied[primary] = transposed(primary, row)
            quantity_units[primary] = f"{units[primary]} per unit"
    energy = _energy_row(economy, technology)
    if energy is not None:
        embodied["energy"] = transposed("energy", energy)
        quantity_units["energy"] = "GJ per unit"
    imports = _import_content(economy, technology, output, tol, solves)
    if imports is not None:
        embodied["imports"], dependency = imports
        quantity_units["imports"] = f"{economy.settings.foreign_currency} per unit"
    else:
        dependency = np.zeros(len(made))
    products = pd.DataFrame(
        {
            "unit": units.reindex(made).to_numpy(),
            "output": output,
            "multiplier": multipliers,
            "backward": rasmussen_index(multipliers),
            "forward": rasmussen_index(forward),
            "forward_leontief": rasmussen_index(solves["forward_leontief"].x),
            "import_dependency": dependency,
        },
        index=made,
    )
    embodied_frame = pd.DataFrame(embodied, index=made)
    return Analysis(technology, products, embodied_frame, quantity_units, solves)


def _energy_row(economy: Economy, technology: TechnologyMatrix) -> np.ndarray | None:
    """Primary energy per unit of each product's direct requirements: the energy content of
    the product itself (a primary carrier) plus that of the primary inputs it takes."""
    content = economy.tables["products"].set_index("id")["energy_content"].fillna(0.0)
    if not content.any():
        return None
    own = content.reindex(technology.products).to_numpy()
    primary = content.reindex(technology.primary).to_numpy()
    return np.asarray(own + technology.B.T @ primary)


def _import_content(
    economy: Economy,
    technology: TechnologyMatrix,
    output: np.ndarray,
    tol: float,
    solves: dict[str, Solve],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Imports embodied in one unit of each product, at foreign prices, and the share of its
    importable requirements met from abroad (competitive imports: each product's import share
    of supply in the base year)."""
    trade = economy.tables["trade"]
    undated = trade[trade["year"].isna()].set_index("product")
    made = technology.products
    imports = undated["base_imports"].reindex(made).fillna(0.0).to_numpy()
    price = undated["import_price"].reindex(made).fillna(0.0).to_numpy()
    if not (imports > 0).any():
        return None
    supply = output + imports
    share = np.divide(imports, supply, out=np.zeros_like(supply), where=supply > 0)
    A = technology.A
    domestic = sp.csr_matrix(sp.diags(1.0 - share) @ A)
    M = leontief_operator(domestic, transpose=True)
    solves["imports"] = solve(domestic, A.T @ (price * share), transpose=True, tol=tol, M=M)
    solves["importable"] = solve(domestic, A.T @ price, transpose=True, tol=tol, M=M)
    embodied, importable = solves["imports"].x, solves["importable"].x
    dependency = np.divide(embodied, importable, out=np.zeros_like(embodied), where=importable > 0)
    return embodied, dependency


def output_by_category(
    economy: Economy, technology: TechnologyMatrix, year: int | None = None, tol: float = 1e-10
) -> pd.DataFrame:
    """Gross output of every product that each category of final demand (and exports) calls
    for in ``year`` (default: the base year): L f_c, one solve per category. The columns add
    up to the output the whole final demand calls for."""
    from econplan.analysis.demand import final_demand_claims

    year = economy.settings.base_year if year is None else year
    claims = final_demand_claims(economy, year)
    made = technology.products
    by_category = claims.pivot_table(
        index="product", columns="category", values="amount", aggfunc="sum", fill_value=0.0
    ).reindex(index=made, fill_value=0.0)
    trade = economy.tables["trade"]
    exports = trade[trade["year"].isna()].set_index("product")["base_exports"].fillna(0.0)
    if exports.reindex(made).fillna(0.0).any():
        by_category["exports"] = exports.reindex(made).fillna(0.0)
    M = leontief_operator(technology.A)
    columns = {
        str(c): solve(technology.A, by_category[c].to_numpy(dtype=float), tol=tol, M=M).x
        for c in sorted(by_category.columns)
    }
    return pd.DataFrame(columns, index=made)


def households_closed(
    economy: Economy, technology: TechnologyMatrix, income: str, tol: float = 1e-10
) -> pd.DataFrame:
    """Type II multipliers with households closed: ``income`` (a primary row, such as
    compensation of employees) is what households earn per unit of each product, and they
    spend every unit of it in the shares of the base year's consumption claims (the
    consumption column of the closed model sums to 1). Columns: ``multiplier_type2`` and, for
    the income row and each other primary row, ``ROW_type2``."""
    primary = list(technology.primary)
    if income not in primary:  # ids leave out outer spaces: " wages " is wages
        income = income.strip()
    if income not in primary:
        raise ValueError(f"{income!r} is not a primary row: one of {', '.join(primary)}")
    B = technology.B.toarray()
    made = technology.products
    row = B[primary.index(income)]
    from econplan.analysis.demand import final_demand_claims

    claims = final_demand_claims(economy, economy.settings.base_year)
    spent = claims[claims["category"] == "consumption"].groupby("product")["amount"].sum()
    basket = spent.reindex(made).fillna(0.0).to_numpy(dtype=float)
    if basket.sum() <= 0:
        raise ValueError("there is no consumption in the base year for households to spend on")
    consumption = basket / basket.sum()
    rows = {f"{p}_type2": B[k] for k, p in enumerate(primary) if B[k].any()}
    solves = type_ii(technology.A, row, consumption, rows, tol)
    frame = pd.DataFrame({"multiplier_type2": solves.pop("output").x}, index=made)
    for name, result in solves.items():
        frame[name] = result.x
    return frame
