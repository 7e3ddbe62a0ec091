"""What the constraint families share while they assemble the plan problem: the economy, the
linear programme they add their blocks to, the horizon, and the indices one family publishes
for those after it.

Each family (a module of :mod:`econplan.plan.families`) adds its columns and rows to
``Assembly.lp`` in the order of ``FAMILIES``. What a later family needs of an earlier one is an
attribute here, set once by the family named beside it, so the dependencies between families
are written down in one place rather than hidden in offsets (each family also declares them,
``Family.needs`` and ``gives``, and the registry refuses an order that breaks them):

- balance: the ``balance`` row block, a grid of year x region x product (``balance_row``);
- capacity: ``pairs`` (the process-region pairs activity exists for), ``pair_key``,
  ``pair_process``, ``pair_region``, ``capacity_of_pair`` (a pair's position among the capped
  pairs, -1 where uncapped) and the ``activity`` and ``capacity`` blocks;
- investment: ``integer`` (whole columns), ``investment_option``, ``investment_start``,
  ``capacity_terms`` (what each capacity row holds of the investment columns);
- trade: ``import_columns`` (columns and prices, for the imports stage);
- consumption: ``levels`` (region-year keys of the consumption columns), ``basket``;
- reserves: ``reserve_share``;
- claims: ``claim_priority``, ``claim_amount``;
- balance (in a re-plan): ``discrepancy_weight``;
- targets: ``targets``; stages: ``stages``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan.fixed import Fixed
from econplan.plan.lp import INF, Block, LinearProgram
from econplan.plan.problem import Stage

CONSUMPTION = "consumption"
"""The final-demand category that is the consumption basket: planned at a level (the
consumption family), where every other claim is fixed by the data (the balance family)."""


def shippable(economy: Economy) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Products each link mode carries, as (product positions, mass per unit): the grid
    carries products measured in MWh that are not resources; rail, road and sea carry goods
    by mass (t, or any unit with a mass per unit)."""
    products = economy.tables["products"]
    kind = products["kind"].to_numpy(dtype=object)
    unit = products["unit"].to_numpy(dtype=object)
    mass = products["mass_per_unit"].to_numpy(dtype=float)
    grid = np.flatnonzero((unit == "MWh") & np.isin(kind, ["good", "service"]))
    mass = np.where(unit == "t", 1.0, mass)
    goods = np.flatnonzero((kind == "good") & np.isfinite(mass) & (mass > 0))
    by_mass = (goods, mass[goods])
    return {"grid": (grid, np.ones(len(grid))), "rail": by_mass, "road": by_mass, "sea": by_mass}


def in_force(table: pd.DataFrame, key: list[str], year: int) -> pd.DataFrame:
    """The rows of ``table`` (with a ``year`` column, blank for every year) in force in
    ``year``: a row for the year replaces the undated row with the same ``key`` (a blank in
    the key matches a blank)."""
    dated = table[(table["year"] == year).fillna(False)]
    undated = table[table["year"].isna()]
    mine = pd.MultiIndex.from_frame(undated[key].astype(object).fillna(""))
    replaced = mine.isin(pd.MultiIndex.from_frame(dated[key].astype(object).fillna("")))
    return pd.concat([undated[~replaced], dated], ignore_index=True)


class Assembly:
    """The problem as the families build it (see the module note for what each one sets)."""

    def __init__(
        self, economy: Economy, tolerance: float, elastic: bool = False, fixed: Fixed | None = None
    ) -> None:
        self.economy = economy
        self.elastic = elastic
        """The problem that diagnoses an infeasible one (see ``assemble``)."""
        self.fixed = fixed
        self.tolerance = tolerance
        self.lp = LinearProgram()
        self.years = np.array(economy.years)
        self.P = len(economy.product_ids)
        self.R = len(economy.region_ids)
        self.T = len(self.years)
        population = economy.population.reindex(columns=list(self.years)).fillna(0.0)
        self.population = population.to_numpy(dtype=float)  # regions x years
        self.claims = [final_demand_claims(economy, int(y)) for y in self.years]
        # published by the families (module note)
        self.discrepancy_weight = np.zeros(0)
        self.pairs = pd.DataFrame()
        self.pair_key = self.pair_process = self.pair_region = np.zeros(0, dtype=np.int64)
        self.capacity_of_pair = np.zeros(0, dtype=np.int64)
        self.integer = np.zeros(0, dtype=np.int64)
        self.investment_option = self.investment_start = np.zeros(0, dtype=np.int64)
        self.capacity_terms: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.import_columns: list[tuple[np.ndarray, np.ndarray]] = []
        self.levels = np.zeros(0, dtype=np.int64)
        self.basket = pd.DataFrame()
        self.reserve_share: list[sp.csr_matrix] = []
        self.claim_priority = np.zeros(0, dtype=int)
        self.claim_amount = np.zeros(0)
        self.targets = pd.DataFrame()
        self.stages: list[Stage] = []

    # -- finding things --------------------------------------------------------------------
    def block(self, name: str) -> Block:
        """A column block by name."""
        return self.lp.columns[name]

    def balance_row(self, p: np.ndarray, r: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        """The balance rows of products ``p`` in regions ``r`` in years ``t`` (positions)."""
        return self.lp.rows["balance"].at(t, r, p)

    def product_positions(self, ids: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
        return self.economy.product_ids.get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    def region_positions(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        return self.economy.region_ids.get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    @staticmethod
    def labels(**columns: object) -> pd.DataFrame:
        return pd.DataFrame(columns)

    def defined(self, name: str, cols: np.ndarray, coefs: np.ndarray) -> int:
        """A column equal to coefs . x[cols], with its defining row (a stage's objective)."""
        column = self.lp.add_columns(f"objective_{name}", self.labels(stage=[name]), lower=-INF)
        row = self.lp.add_rows(f"objective_{name}", self.labels(stage=[name]), lower=0.0, upper=0.0)
        self.lp.add(np.full(len(cols), row.start), cols, coefs)
        self.lp.add(np.array([row.start]), np.array([column.start]), -1.0)
        return column.start
