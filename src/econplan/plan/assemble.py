"""The plan problem assembled from an Economy's sparse matrices.

Columns (all in physical units, by year t of the horizon):
  activity    x[k,t]   process j run in region r (k = (j, r)), units of its main product
  investment  z[i,s]   units of investment option i started in year s
  shipment    s[p,a,t] product p shipped along the directed link a
  imports     m[p,r,t], exports e[p,r,t]
  stock       k[p,r,t] stock of a storable product at the end of year t
  draw        w[q,t]   taken from natural resource q (region, product); negative for a
                       renewable means adding to the stock (planting)
  resource_stock S[q,t] renewable stock at the end of year t
  consumption λ[r,t]   level of the consumption basket (1 = the norms) in region r
  shortfall   u[g]     shortfall of tier or weighted target g, as a fraction of its amount
  and one column per objective stage (see ``Stage``).

Rows: product balances (p, r, t), capacities (k, t), investment limits, link capacities,
import and export caps, foreign exchange, resource limits and stock dynamics, targets, and the
rows that define each stage's objective column. ``docs/planning.md`` writes it all out.

Everything is built per year (and per start year for investments) from sparse products of
the economy's matrices with index arrays: no loop over products or nonzeros.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.analysis.demand import final_demand_claims
from econplan.model.economy import Economy
from econplan.plan import claims as soft
from econplan.plan.fixed import ACTIVITY_KEY, INVESTMENT_KEY, Fixed
from econplan.plan.lp import INF, Block, LinearProgram
from econplan.plan.problem import HOLD_TARGETS, Stage, StageProblem

CONSUMPTION = "consumption"

LIMIT_ROWS = (
    "capacity",
    "investment_limit",
    "link",
    "imports_cap",
    "exports_cap",
    "foreign_exchange",
    "resource_yearly",
    "deposit",
    "regrowth",
    "target",
    "consumption_growth",
    "terminal_capacity",
    "ramp",
)
"""Row blocks that are limits of the economy (see :func:`limit_rows`)."""


@dataclass(frozen=True)
class PlanProblem(StageProblem):
    """The assembled problem: what the solver needs (:class:`StageProblem`) and the economy
    and facts it was assembled from, which the plan's tables are read with."""

    economy: Economy
    pairs: pd.DataFrame
    """The (process, region) pairs activity columns exist for, with ``capped``."""
    fixed: Fixed | None = None
    """What was held fixed (see :class:`~econplan.plan.fixed.Fixed`); None for a plan made
    from the economy alone."""

    def for_solver(self) -> StageProblem:
        """The problem without the economy: what can be shipped to a worker or a device
        (pickled, it holds arrays, labels and the stages only)."""
        return StageProblem(**{f.name: getattr(self, f.name) for f in fields(StageProblem)})


def limit_rows(lp: LinearProgram, economy: Economy) -> np.ndarray:
    """The rows whose valuations are read as limits of the economy (and get a range of
    validity): capacities, investment limits, links, trade caps, foreign exchange, natural
    resources, targets, the growth path, and the labour balances."""
    parts = [lp.rows[name].index for name in LIMIT_ROWS if name in lp.rows]
    balance = lp.rows.get("balance")
    if balance is not None:
        kinds = economy.tables["products"].set_index("id")["kind"]
        kind = kinds.reindex(balance.labels["product"]).to_numpy(dtype=object)
        parts.append(balance.index[kind == "labour"])
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def tier_of(kind: str) -> int:
    """1 for tier1 and so on; 0 for hard, -1 for weight."""
    if kind == "hard":
        return 0
    if kind == "weight":
        return -1
    return int(kind[4:])


def trade_in_force(economy: Economy, year: int) -> pd.DataFrame:
    """Trade terms of ``year`` by product: a row for the year replaces the undated row."""
    trade = economy.tables["trade"]
    undated = trade[trade["year"].isna()].set_index("product")
    dated = trade[(trade["year"] == year).fillna(False)].set_index("product")
    terms = pd.concat([undated[~undated.index.isin(dated.index)], dated]).sort_index()
    return terms[["import_price", "export_price", "import_cap", "export_cap"]]


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


def assemble(
    economy: Economy, tolerance: float = 1e-6, elastic: bool = False, fixed: Fixed | None = None
) -> PlanProblem:
    """The plan problem of ``economy`` over its horizon.

    ``fixed``: bounds on activity and investment starts, as column bounds, and targets held as
    hard; for planning again when part of the horizon has happened.

    ``elastic``: the problem that diagnoses an infeasible one. Hard targets may fall short and
    balances may be short of supply, each at a price (a hard target's shortfall as a fraction
    of it, a balance's as a fraction of its claims, at least one unit); its only stage
    minimises the sum, so the solution is the least shortfall and its valuations name the
    limits that cause it.
    """
    return _Assembler(economy, tolerance, elastic, fixed).build()


class _Assembler:
    def __init__(
        self, economy: Economy, tolerance: float, elastic: bool = False, fixed: Fixed | None = None
    ) -> None:
        self.economy = economy
        self.elastic = elastic
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
        self.discrepancy_weight = np.zeros(0)

    # -- indexing --------------------------------------------------------------------------
    def balance_row(self, p: np.ndarray, r: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        start = self.lp.rows["balance"].start
        rows: np.ndarray = start + (np.asarray(t) * self.R + np.asarray(r)) * self.P + np.asarray(p)
        return rows

    def _product_positions(self, ids: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
        return self.economy.product_ids.get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    def _region_positions(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        return self.economy.region_ids.get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    def _discrepancy(self) -> None:
        """In a year wholly past (a re-plan's ``closed_years``) every activity is a reported
        fact, and facts reported one by one never balance exactly: a use the reported output
        could not have supplied, a claim left unmet. A column per balance of those years lets
        supply fall short of uses and claims; the first stage keeps the discrepancy as small as
        it can (each unit weighted by the balance's size, as the elastic problem does)."""
        closed = set(self.fixed.closed_years) if self.fixed is not None else set()
        if not closed:
            return
        balance = self.lp.rows["balance"]
        labels = balance.labels
        picked = np.flatnonzero(labels["year"].isin(closed).to_numpy())
        block = self.lp.add_columns(
            "discrepancy", labels.iloc[picked].reset_index(drop=True), unit="product unit"
        )
        self.lp.add(balance.start + picked, block.index, 1.0)
        lower = self.lp.row_lower[list(self.lp.rows).index("balance")][picked]
        self.discrepancy_weight = 1.0 / np.maximum(
            np.abs(np.nan_to_num(lower, posinf=0.0, neginf=0.0)), 1.0
        )

    def _labels(self, **columns: object) -> pd.DataFrame:
        return pd.DataFrame(columns)

    # -- the whole problem -----------------------------------------------------------------
    def build(self) -> PlanProblem:
        self._balance_rows()
        self._discrepancy()
        self._activity()
        self._investment()
        if self.economy.settings.terminal_growth is not None:
            self._terminal(self.economy.settings.terminal_growth)
        if self.economy.settings.ramp is not None:
            self._ramp(self.economy.settings.ramp)
        self._shipments()
        self._trade()
        self._stocks()
        self._resources()
        self._consumption()
        self._reserves()
        self._soft_claims()
        targets = self._targets()
        stages = self._elastic(targets) if self.elastic else self._stages(targets)
        if self.fixed is not None:
            self._fix("activity", self.fixed.activity, ACTIVITY_KEY)
            self._fix("investment", self.fixed.investment, INVESTMENT_KEY)
        matrix = self.lp.matrix()
        return PlanProblem(
            lp=self.lp,
            matrix=matrix,
            stages=tuple(stages),
            targets=targets,
            tolerance=self.tolerance,
            integer=self.integer,
            limit_rows=limit_rows(self.lp, self.economy),
            economy=self.economy,
            pairs=self.pairs,
            fixed=self.fixed,
        )

    def _fix(self, name: str, bounds: pd.DataFrame, key: list[str]) -> None:
        """Bounds from ``Fixed`` on the columns of block ``name``, matched by their labels."""
        block: Block = self.lp.columns[name]
        at = pd.MultiIndex.from_frame(block.labels[key]).get_indexer(
            pd.MultiIndex.from_frame(bounds[key])
        )
        lower = bounds["lower"].to_numpy(dtype=float)
        absent = (at < 0) & (lower > 0)
        if absent.any():
            where = " ".join(map(str, bounds.loc[absent, key].iloc[0].tolist()))
            message = (
                f"fixed {name} {where}: the plan has no such column (it cannot run or start "
                f"there), so it cannot be held at {lower[absent][0]:g}"
            )
            raise ValueError(message)
        there = at >= 0
        upper = bounds["upper"].to_numpy(dtype=float)
        self.lp.bound_columns(name, at[there], lower[there], upper[there])

    def _balance_rows(self) -> None:
        """Supply minus use of every product, region and year >= claims fixed by data minus
        endowments (labour available); = for a natural resource where it lies."""
        e = self.economy
        P, R, T = self.P, self.R, self.T
        t, r, p = np.meshgrid(np.arange(T), np.arange(R), np.arange(P), indexing="ij")
        labels = self._labels(
            product=e.product_ids.to_numpy(dtype=object)[p.ravel()],
            region=e.region_ids.to_numpy(dtype=object)[r.ravel()],
            year=self.years[t.ravel()],
        )
        lower = np.zeros(P * R * T)
        for ti, claims in enumerate(self.claims):
            fixed = claims[claims["category"] != CONSUMPTION]
            rows = (ti * R + self._region_positions(fixed["region"])) * P
            np.add.at(lower, rows + self._product_positions(fixed["product"]), fixed["amount"])
        labour = e.tables["labour"]
        inside = labour["year"].isin(self.years).to_numpy(dtype=bool)
        labour = labour[inside]
        at = np.searchsorted(self.years, labour["year"].to_numpy(dtype=int))
        rows = (at * R + self._region_positions(labour["region"])) * P
        np.add.at(lower, rows + self._product_positions(labour["product"]), -labour["amount"])
        # what is drawn from a natural resource is used, not thrown away: otherwise any draw up
        # to the limits is as good as the one needed, and the plan reports extraction (and
        # deposits left) that nothing uses
        upper = np.full(P * R * T, INF)
        at = (
            e.positions("resources", "region")[None, :] + R * np.arange(T)[:, None]
        ) * P + e.positions("resources", "product")[None, :]
        upper[at.ravel()] = lower[at.ravel()]
        # primary inputs of an input-output table (value added, taxes, non-competitive imports)
        # come from outside the economy in whatever amount is used, as in the base-year balance
        primary = e.tables["products"]["kind"].to_numpy(dtype=object) == "primary"
        lower[np.tile(primary, R * T)] = -INF
        self.lp.add_rows("balance", labels, lower=lower, upper=upper, unit="product unit")

    def _activity(self) -> None:
        """Activity of each process in each region that has (or may build) capacity for it,
        and its capacity rows: activity <= facilities open that year + capacity built."""
        e = self.economy
        facilities = e.tables["facilities"]
        f_process = e.positions("facilities", "process")
        f_region = e.positions("facilities", "region")
        investments = e.tables["investments"]
        i_process = e.positions("investments", "process")
        i_region = self._investment_regions()
        J = len(e.process_ids)
        keys = np.unique(
            np.concatenate([f_process * self.R + f_region, i_process * self.R + i_region])
        )
        capped = np.zeros(J, dtype=bool)
        capped[keys // self.R] = True
        # a process nobody runs or may build is not limited by capacity: it may run anywhere
        free = np.flatnonzero(~capped)
        free_keys = (free[:, None] * self.R + np.arange(self.R)[None, :]).ravel()
        all_keys = np.concatenate([keys, free_keys])
        order = np.argsort(all_keys, kind="stable")
        all_keys = all_keys[order]
        is_capped = np.concatenate([np.ones(len(keys), bool), np.zeros(len(free_keys), bool)])
        is_capped = is_capped[order]
        self.pair_key = all_keys
        self.pair_process = all_keys // self.R
        self.pair_region = all_keys % self.R
        K = len(all_keys)
        self.K = K
        self.pairs = pd.DataFrame(
            {
                "process": e.process_ids.to_numpy(dtype=object)[self.pair_process],
                "region": e.region_ids.to_numpy(dtype=object)[self.pair_region],
                "capped": is_capped,
            }
        )
        labels = pd.concat([self.pairs[["process", "region"]].assign(year=y) for y in self.years])
        block = self.lp.add_columns("activity", labels, unit="main product unit")
        self.activity_start = block.start
        # net output of each pair into the balance rows of its region
        for ti, year in enumerate(self.years):
            net = e.net_output(int(year))[:, self.pair_process].tocoo()
            rows = self.balance_row(net.row, self.pair_region[net.col], ti)
            self.lp.add(rows, block.start + ti * K + net.col, net.data)
        # capacity rows for capped pairs
        capped_pairs = np.flatnonzero(is_capped)
        self.capacity_of_pair = np.full(K, -1)
        self.capacity_of_pair[capped_pairs] = np.arange(len(capped_pairs))
        f_pair = np.searchsorted(all_keys, f_process * self.R + f_region)
        fixed = np.zeros((self.T, len(capped_pairs)))
        capacity = facilities["capacity"].to_numpy(dtype=float)
        for ti, year in enumerate(self.years):
            open_ = e.operating(int(year)).to_numpy()
            np.add.at(fixed[ti], self.capacity_of_pair[f_pair[open_]], capacity[open_])
        self.n_capped = len(capped_pairs)
        labels = pd.concat(
            [self.pairs.loc[capped_pairs, ["process", "region"]].assign(year=y) for y in self.years]
        )
        capacity_rows = self.lp.add_rows(
            "capacity", labels, upper=fixed.ravel(), unit="main product unit"
        )
        self.capacity_start = capacity_rows.start
        t_index = np.repeat(np.arange(self.T), len(capped_pairs))
        pair_index = np.tile(capped_pairs, self.T)
        self.lp.add(capacity_rows.index, block.start + t_index * K + pair_index, 1.0)
        del investments

    def _investment_regions(self) -> np.ndarray:
        e = self.economy
        investments = e.tables["investments"]
        region = e.positions("investments", "region")
        facility = e.positions("investments", "facility")
        f_region = e.positions("facilities", "region")
        renovate = facility >= 0
        region = region.copy()
        region[renovate] = f_region[facility[renovate]]
        del investments
        return region

    def _investment(self) -> None:
        """Investment starts, their bill of materials spread over the lead time, the capacity
        they add once built (and, for a renovation to another process, take from the old
        one), and the most units of each option."""
        e = self.economy
        inv = e.tables["investments"]
        n = len(inv)
        process = e.positions("investments", "process")
        region = self._investment_regions()
        facility = e.positions("investments", "facility")
        lead = inv["lead_time"].fillna(1).to_numpy(dtype=int)
        first = inv["first_year"].fillna(self.years[0]).to_numpy(dtype=int)
        last = inv["last_year"].fillna(self.years[-1]).to_numpy(dtype=int)
        cap = inv["capacity"].to_numpy(dtype=float)
        units = inv["max_units"].fillna(1.0).to_numpy(dtype=float)
        # with a terminal condition, capacity ready the year after the horizon counts too:
        # construction started in the last years is the next plan's first capacity
        end = self.years[-1] + (0 if e.settings.terminal_growth is None else 1)
        option, start = [], []
        for s in self.years:
            ok = (first <= s) & (s <= last) & (s + lead <= end)
            option.append(np.flatnonzero(ok))
            start.append(np.full(int(ok.sum()), s))
        opt = np.concatenate(option) if n else np.zeros(0, dtype=int)
        begin = np.concatenate(start) if n else np.zeros(0, dtype=int)
        labels = self._labels(
            option=e.ids("investments").to_numpy(dtype=object)[opt], start_year=begin
        )
        block = self.lp.add_columns("investment", labels, unit="units of the option")
        columns = block.index
        whole = inv["integer"].fillna(False).to_numpy(dtype=bool)[opt] if n else np.zeros(0, bool)
        self.integer = columns[whole]
        # bill of materials: evenly over the years of construction
        spread = np.maximum(lead[opt], 1)
        bill = e.investment_bill
        for ti, year in enumerate(self.years):
            building = (begin <= year) & (year < begin + spread)
            if not building.any():
                continue
            part = bill[:, opt[building]].tocoo()
            rows = self.balance_row(part.row, region[opt[building]][part.col], ti)
            scale = 1.0 / spread[building][part.col]
            self.lp.add(rows, columns[building][part.col], -part.data * scale)
        # capacity arrives lead time after the start
        pair = np.searchsorted(self.pair_key, process * self.R + region)
        capacity_row = self.capacity_of_pair[pair[opt]]
        f_process = e.positions("facilities", "process")
        f_capacity = e.tables["facilities"]["capacity"].to_numpy(dtype=float)
        switches = (facility[opt] >= 0) & (f_process[np.maximum(facility[opt], 0)] != process[opt])
        old_pair = np.searchsorted(
            self.pair_key, f_process[np.maximum(facility[opt], 0)] * self.R + region[opt]
        )
        old_row = self.capacity_of_pair[old_pair]
        # what each capacity row holds of the investment columns, kept for the ramp rows:
        # (year index, capacity row within the year, column, coefficient)
        self.capacity_terms: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for ti, year in enumerate(self.years):
            ready = begin + lead[opt] <= year
            base = self.capacity_start + ti * self.n_capped
            self.lp.add(base + capacity_row[ready], columns[ready], -cap[opt][ready])
            self.capacity_terms.append((ti, capacity_row[ready], columns[ready], -cap[opt][ready]))
            # a renovation to another process takes its share of the facility's old capacity
            gone = ready & switches
            if gone.any():
                open_ = e.operating(int(year)).to_numpy()[facility[opt][gone]]
                share = f_capacity[facility[opt][gone]] / units[opt][gone] * open_
                self.lp.add(base + old_row[gone], columns[gone], share)
                self.capacity_terms.append((ti, old_row[gone], columns[gone], share))
        limit = self.lp.add_rows(
            "investment_limit",
            self._labels(option=e.ids("investments").to_numpy(dtype=object)),
            upper=units,
            unit="units of the option",
        )
        self.lp.add(limit.start + opt, columns, 1.0)
        self.investment_start, self.investment_option = begin, opt

    def _terminal(self, growth: float) -> None:
        """Capacity left for the next plan: for every process an option can build, its national
        capacity the year after the horizon (facilities still open then, options ready by then)
        at least (1 + growth) times its activity in the last year:

            sum_u cap_u units_u - sum_r (1 + growth) activity[p, r, T] >= - facilities[p, T + 1]

        (a renovation to another process takes its share of the old facility's capacity, as in
        the capacity rows). Without it a finite plan stops building in its last years, since
        capacity that comes after the horizon serves none of its objectives."""
        e = self.economy
        inv = e.tables["investments"]
        after = self.years[-1] + 1
        process_of = e.positions("investments", "process")
        processes = np.unique(process_of)
        row_of = np.full(len(e.process_ids), -1)
        row_of[processes] = np.arange(len(processes))
        facilities = e.tables["facilities"]
        f_process = e.positions("facilities", "process")
        f_capacity = facilities["capacity"].to_numpy(dtype=float)
        open_ = e.operating(after).to_numpy()
        standing = np.zeros(len(processes))
        has = open_ & (row_of[f_process] >= 0)
        np.add.at(standing, row_of[f_process[has]], f_capacity[has])
        rows = self.lp.add_rows(
            "terminal_capacity",
            self._labels(process=e.process_ids.to_numpy(dtype=object)[processes]),
            lower=-standing,
            unit="main product unit",
        )
        # new capacity ready by the year after the horizon
        opt, begin = self.investment_option, self.investment_start
        block = self.lp.columns["investment"]
        lead = inv["lead_time"].fillna(1).to_numpy(dtype=int)
        cap = inv["capacity"].to_numpy(dtype=float)
        ready = begin + lead[opt] <= after
        self.lp.add(
            rows.start + row_of[process_of[opt[ready]]], block.index[ready], cap[opt[ready]]
        )
        # a renovation to another process takes the old facility's share from its process
        facility = e.positions("investments", "facility")
        units = inv["max_units"].fillna(1.0).to_numpy(dtype=float)
        old = f_process[np.maximum(facility[opt], 0)]
        gone = ready & (facility[opt] >= 0) & (old != process_of[opt]) & (row_of[old] >= 0)
        if gone.any():
            kept = open_[facility[opt][gone]]
            share = f_capacity[facility[opt][gone]] / units[opt][gone] * kept
            self.lp.add(rows.start + row_of[old[gone]], block.index[gone], -share)
        # the last year's activity, grown
        last = self.T - 1
        pairs = np.flatnonzero(row_of[self.pair_process] >= 0)
        self.lp.add(
            rows.start + row_of[self.pair_process[pairs]],
            self.activity_start + last * self.K + pairs,
            -(1.0 + growth),
        )

    def _ramp(self, share: float) -> None:
        """Output ramps up: from one year to the next, a process's activity in a region may
        rise by at most ``share`` of the capacity it had the year before, besides the capacity
        that comes into use that year (D. Day's flexibility constraints, bounded by capacity
        rather than by last year's activity, so that idle capacity can be taken into use):

            activity[t] - activity[t - 1] <= capacity[t] - (1 - share) capacity[t - 1]

        with the base year's activity and capacity before the first plan year. Capacity is
        the capacity row's: facilities open that year (a constant) plus what options ready by
        then add (their coefficients in the capacity rows). A year whose activity is a
        reported fact (a re-plan) has no ramp row: facts are not planned."""
        e = self.economy
        capped = np.flatnonzero(self.capacity_of_pair >= 0)
        n = self.n_capped
        facilities = e.tables["facilities"]
        f_pair = self.capacity_of_pair[
            np.searchsorted(
                self.pair_key,
                e.positions("facilities", "process") * self.R + e.positions("facilities", "region"),
            )
        ]
        base_year = e.settings.base_year
        open_base = e.operating(base_year).to_numpy()
        base_activity = np.zeros(n)
        np.add.at(base_activity, f_pair, e.base_output.to_numpy(dtype=float))
        base_capacity = np.zeros(n)
        capacity = facilities["capacity"].to_numpy(dtype=float)
        np.add.at(base_capacity, f_pair[open_base], capacity[open_base])
        # the capacity rows' constants: facilities open each year
        standing = np.concatenate(self.lp.row_upper)[
            self.capacity_start : self.capacity_start + self.T * n
        ].reshape(self.T, n)
        before = np.vstack([base_capacity[None, :], standing[:-1]])
        upper = standing - (1.0 - share) * before
        upper[0] += base_activity
        labels = pd.concat(
            [self.pairs.loc[capped, ["process", "region"]].assign(year=y) for y in self.years]
        )
        keep = np.ones((self.T, n), dtype=bool)
        if self.fixed is not None:
            facts = self.fixed.activity
            facts = facts[facts["lower"] == facts["upper"]]
            at = pd.MultiIndex.from_frame(labels.astype({"year": int})).get_indexer(
                pd.MultiIndex.from_frame(facts[["process", "region", "year"]])
            )
            keep.ravel()[at[at >= 0]] = False
        upper = np.where(keep, upper, INF)
        rows = self.lp.add_rows("ramp", labels, upper=upper.ravel(), unit="main product unit")
        t_index = np.repeat(np.arange(self.T), n)
        pair_index = np.tile(capped, self.T)
        activity = self.activity_start + t_index * self.K + pair_index
        self.lp.add(rows.index, activity, 1.0)
        later = t_index > 0
        self.lp.add(rows.index[later], activity[later] - self.K, -1.0)
        # capacity[t] - (1 - share) capacity[t - 1]: the capacity rows' investment terms are
        # minus what the options add, so they enter with the opposite sign here, negated
        for ti, row, cols, coefs in self.capacity_terms:
            self.lp.add(rows.start + ti * n + row, cols, coefs)
            if ti + 1 < self.T:
                self.lp.add(rows.start + (ti + 1) * n + row, cols, -(1.0 - share) * coefs)

    def _shipments(self) -> None:
        """Shipments along links (both ways for two-way links), the transport service they use
        in the region they leave, and each direction's capacity per year."""
        e = self.economy
        links = e.tables["links"]
        if len(links) == 0:
            return
        origin = e.positions("links", "origin")
        destination = e.positions("links", "destination")
        two_way = links["two_way"].fillna(True).to_numpy(dtype=bool)
        link = np.concatenate([np.arange(len(links)), np.flatnonzero(two_way)])
        frm = np.concatenate([origin, destination[two_way]])
        to = np.concatenate([destination, origin[two_way]])
        mode = links["mode"].to_numpy(dtype=object)[link]
        service = e.positions("links", "service")[link]
        per_unit = links["service_per_unit"].fillna(0.0).to_numpy(dtype=float)[link]
        carried = shippable(e)
        arc_parts, product_parts, mass_parts = [], [], []
        for m in ("grid", "rail", "road", "sea"):
            arcs = np.flatnonzero(mode == m)
            goods, mass = carried[m]
            arc_parts.append(np.repeat(arcs, len(goods)))
            product_parts.append(np.tile(goods, len(arcs)))
            mass_parts.append(np.tile(mass, len(arcs)))
        arc = np.concatenate(arc_parts)
        product = np.concatenate(product_parts)
        mass = np.concatenate(mass_parts)
        n = len(arc)
        link_ids = e.ids("links").to_numpy(dtype=object)
        region_ids = e.region_ids.to_numpy(dtype=object)
        labels = pd.concat(
            [
                self._labels(
                    product=e.product_ids.to_numpy(dtype=object)[product],
                    link=link_ids[link[arc]],
                    origin=region_ids[frm[arc]],
                    destination=region_ids[to[arc]],
                    year=y,
                )
                for y in self.years
            ]
        )
        block = self.lp.add_columns("shipment", labels, unit="product unit")
        n_arcs = len(link)
        cap_labels = pd.concat(
            [
                self._labels(
                    link=link_ids[link], origin=region_ids[frm], destination=region_ids[to], year=y
                )
                for y in self.years
            ]
        )
        capacity = np.tile(links["capacity"].to_numpy(dtype=float)[link], self.T)
        rows = self.lp.add_rows("link", cap_labels, upper=capacity, unit="t (grid: MWh)")
        uses_service = service[arc] >= 0
        for ti in range(self.T):
            cols = block.start + ti * n + np.arange(n)
            self.lp.add(self.balance_row(product, to[arc], ti), cols, 1.0)
            self.lp.add(self.balance_row(product, frm[arc], ti), cols, -1.0)
            self.lp.add(
                self.balance_row(service[arc][uses_service], frm[arc][uses_service], ti),
                cols[uses_service],
                -(per_unit[arc] * mass)[uses_service],
            )
            self.lp.add(rows.start + ti * n_arcs + arc, cols, mass)

    def _trade(self) -> None:
        """Imports and exports by product, region and year; national caps; foreign exchange:
        imports paid for by exports and the credit line."""
        e = self.economy
        region_ids = e.region_ids.to_numpy(dtype=object)
        fx_rows = self.lp.add_rows(
            "foreign_exchange",
            self._labels(year=self.years),
            upper=e.settings.credit_line,
            unit=e.settings.foreign_currency,
        )
        self.import_columns: list[tuple[np.ndarray, np.ndarray]] = []
        for flow, price_column, cap_column, sign in (
            ("imports", "import_price", "import_cap", 1.0),
            ("exports", "export_price", "export_cap", -1.0),
        ):
            parts = []
            for ti, year in enumerate(self.years):
                terms = trade_in_force(e, int(year))
                terms = terms[terms[price_column].notna()]
                p = self._product_positions(terms.index)
                parts.append(
                    (
                        ti,
                        np.repeat(p, self.R),
                        np.tile(np.arange(self.R), len(p)),
                        np.repeat(terms[price_column].to_numpy(dtype=float), self.R),
                        terms[cap_column].to_numpy(dtype=float),
                        p,
                    )
                )
            labels = pd.concat(
                [
                    self._labels(
                        product=e.product_ids.to_numpy(dtype=object)[p],
                        region=region_ids[r],
                        year=self.years[ti],
                    )
                    for ti, p, r, *_ in parts
                ]
            )
            block = self.lp.add_columns(flow, labels, unit="product unit")
            cap_labels, cap_upper, cap_entries = [], [], []
            offset = block.start
            for ti, p, r, price, caps, products in parts:
                cols = offset + np.arange(len(p))
                offset += len(p)
                self.lp.add(self.balance_row(p, r, ti), cols, sign)
                self.lp.add(np.full(len(p), fx_rows.start + ti), cols, sign * price)
                if flow == "imports":
                    self.import_columns.append((cols, price))
                capped = np.flatnonzero(np.isfinite(caps))
                cap_labels.append(
                    self._labels(
                        product=e.product_ids.to_numpy(dtype=object)[products[capped]],
                        year=self.years[ti],
                    )
                )
                cap_upper.append(caps[capped])
                # the national cap sums the product's columns over regions
                which = np.full(len(products), -1)
                which[capped] = np.arange(len(capped))
                cap_entries.append((which[np.repeat(np.arange(len(products)), self.R)], cols))
            rows = self.lp.add_rows(
                f"{flow}_cap",
                pd.concat(cap_labels),
                upper=np.concatenate(cap_upper),
                unit="product unit",
            )
            offset = rows.start
            for which, cols in cap_entries:
                has = which >= 0
                self.lp.add(offset + which[has], cols[has], 1.0)
                offset += int(which.max() + 1) if has.any() else 0

    def _stocks(self) -> None:
        """Stocks of storable goods carried from one year to the next (none at the start)."""
        e = self.economy
        products = e.tables["products"]
        storable = np.flatnonzero(
            products["storable"].fillna(False).to_numpy(dtype=bool)
            & (products["kind"].to_numpy(dtype=object) == "good")
        )
        p = np.tile(storable, self.R)
        r = np.repeat(np.arange(self.R), len(storable))
        labels = pd.concat(
            [
                self._labels(
                    product=e.product_ids.to_numpy(dtype=object)[p],
                    region=e.region_ids.to_numpy(dtype=object)[r],
                    year=y,
                )
                for y in self.years
            ]
        )
        block = self.lp.add_columns("stock", labels, unit="product unit")
        n = len(p)
        for ti in range(self.T):
            cols = block.start + ti * n + np.arange(n)
            self.lp.add(self.balance_row(p, r, ti), cols, -1.0)
            if ti + 1 < self.T:
                self.lp.add(self.balance_row(p, r, ti + 1), cols, 1.0)

    def _resources(self) -> None:
        """What is taken from natural resources: deposits shrink, flows have a yearly limit,
        renewable stocks regrow at their rate and may not fall below their minimum."""
        e = self.economy
        res = e.tables["resources"]
        n = len(res)
        p = e.positions("resources", "product")
        r = e.positions("resources", "region")
        kind = res["kind"].to_numpy(dtype=object)
        renewable = kind == "renewable"
        stock = res["stock"].to_numpy(dtype=float)
        limit = res["yearly_limit"].to_numpy(dtype=float)
        growth = res["regrowth_rate"].fillna(0.0).to_numpy(dtype=float)
        minimum = res["min_stock"].fillna(0.0).to_numpy(dtype=float)
        base = self._labels(
            product=res["product"].to_numpy(dtype=object),
            region=res["region"].to_numpy(dtype=object),
        )
        labels = pd.concat([base.assign(year=y) for y in self.years])
        lower = np.tile(np.where(renewable, -INF, 0.0), self.T)
        draw = self.lp.add_columns("draw", labels, lower=lower, unit="product unit")
        for ti in range(self.T):
            self.lp.add(self.balance_row(p, r, ti), draw.start + ti * n + np.arange(n), 1.0)
        limited = np.flatnonzero(np.isfinite(limit))
        rows = self.lp.add_rows(
            "resource_yearly",
            pd.concat([base.iloc[limited].assign(year=y) for y in self.years]),
            upper=np.tile(limit[limited], self.T),
            unit="product unit",
        )
        for ti in range(self.T):
            self.lp.add(
                rows.start + ti * len(limited) + np.arange(len(limited)),
                draw.start + ti * n + limited,
                1.0,
            )
        deposits = np.flatnonzero((kind == "deposit") & np.isfinite(stock))
        rows = self.lp.add_rows(
            "deposit", base.iloc[deposits], upper=stock[deposits], unit="product unit"
        )
        for ti in range(self.T):
            self.lp.add(rows.start + np.arange(len(deposits)), draw.start + ti * n + deposits, 1.0)
        # renewable stocks: S_t = (1 + g) S_{t-1} - w_t, S_t >= min_stock
        ren = np.flatnonzero(renewable)
        m = len(ren)
        ren_labels = pd.concat([base.iloc[ren].assign(year=y) for y in self.years])
        stocks = self.lp.add_columns(
            "resource_stock", ren_labels, lower=np.tile(minimum[ren], self.T), unit="product unit"
        )
        rhs = np.zeros(self.T * m)
        rhs[:m] = (1.0 + growth[ren]) * np.nan_to_num(stock[ren])
        rows = self.lp.add_rows("regrowth", ren_labels, lower=rhs, upper=rhs, unit="product unit")
        for ti in range(self.T):
            row = rows.start + ti * m + np.arange(m)
            self.lp.add(row, stocks.start + ti * m + np.arange(m), 1.0)
            self.lp.add(row, draw.start + ti * n + ren, 1.0)
            if ti > 0:
                self.lp.add(row, stocks.start + (ti - 1) * m + np.arange(m), -(1.0 + growth[ren]))

    def _consumption(self) -> None:
        """The consumption basket (norms per head times population) at a level per region and
        year; the level is 1 when the economy's objective is labour (norms must be met)."""
        e = self.economy
        keys, products, amounts = [], [], []
        for ti, claims in enumerate(self.claims):
            basket = claims[claims["category"] == CONSUMPTION]
            keys.append(ti * self.R + self._region_positions(basket["region"]))
            products.append(self._product_positions(basket["product"]))
            amounts.append(basket["amount"].to_numpy(dtype=float))
        key = np.concatenate(keys)
        levels = np.unique(key)
        level = 1.0 if e.settings.objective != CONSUMPTION else None
        labels = self._labels(
            region=e.region_ids.to_numpy(dtype=object)[levels % self.R],
            year=self.years[levels // self.R],
        )
        block = self.lp.add_columns(
            "consumption",
            labels,
            lower=0.0 if level is None else level,
            upper=INF if level is None else level,
            unit="level of the norms (1 = the norms)",
        )
        col = block.start + np.searchsorted(levels, key)
        product = np.concatenate(products)
        self.lp.add(
            self.balance_row(product, key % self.R, key // self.R), col, -np.concatenate(amounts)
        )
        self.levels = levels
        self.level_start = block.start
        self.basket = pd.DataFrame(
            {"key": key, "product": product, "amount": np.concatenate(amounts)}
        )

    def _reserves(self) -> None:
        """Reserves set as a share of output (the defence reserve): a use of each region's
        production of the product, so they enter the activity columns."""
        e = self.economy
        demand = e.tables["final_demand"]
        shares = demand[demand["basis"] == "share_of_output"]
        self.reserve_share: list[sp.csr_matrix] = []
        for ti, year in enumerate(self.years):
            rows = shares[shares["year"].isna() | (shares["year"] == year)]
            regions, products, values = [], [], []
            for region, product, amount in zip(
                rows["region"], rows["product"], rows["amount"], strict=False
            ):
                members = (
                    e.region_members[region] if isinstance(region, str) else tuple(e.region_ids)
                )
                regions.append(self._region_positions(np.array(members, dtype=object)))
                products.append(np.full(len(members), e.product_ids.get_loc(product)))
                values.append(np.full(len(members), float(amount)))
            if regions:
                share = sp.csr_matrix(
                    (np.concatenate(values), (np.concatenate(regions), np.concatenate(products))),
                    shape=(self.R, self.P),
                )
            else:
                share = sp.csr_matrix((self.R, self.P))
            self.reserve_share.append(share)
            if share.nnz == 0:
                continue
            out = e.outputs(int(year))[:, self.pair_process].tocoo()
            s = np.asarray(share[self.pair_region[out.col], out.row]).ravel()
            rows_ = self.balance_row(out.row, self.pair_region[out.col], ti)
            self.lp.add(rows_, self.activity_start + ti * self.K + out.col, -s * out.data)

    def _soft_claims(self) -> None:
        """Soft claims (final_demand rows with a priority) may fall short: a column per
        product, region, year and priority, the share of the claim left unmet (0 to 1),
        supplies the balance with that share of the claim (``econplan.plan.claims``)."""
        e = self.economy
        table = soft.claimed(e)
        self.claim_priority = table["priority"].to_numpy(dtype=int)
        self.claim_amount = table["claimed"].to_numpy(dtype=float)
        if not len(table):
            return
        # the column is the unmet share of the claim, as a target's shortfall is a fraction of
        # the target: shares of claims of 10 and of 10^9 units are alike for the solver
        block = self.lp.add_columns(
            soft.BLOCK, table[soft.KEY], upper=1.0, unit="share of the claim"
        )
        ti = np.searchsorted(self.years, table["year"].to_numpy(dtype=int))
        rows = self.balance_row(
            self._product_positions(table["product"]), self._region_positions(table["region"]), ti
        )
        self.lp.add(rows, block.index, self.claim_amount)

    def _claims_stage(self, priority: int) -> Stage:
        """Least unmet share of the soft claims of ``priority``, summed over claims."""
        picked = np.flatnonzero(self.claim_priority == priority)
        cols = self.lp.columns[soft.BLOCK].start + picked
        name = soft.stage_name(priority)
        return Stage(
            name,
            self._defined(name, cols, np.ones(len(cols))),
            "min",
            "fraction",
            f"sum of the unmet shares of the soft claims of priority {priority}",
            "claims",
            int(priority),
        )

    def _targets(self) -> pd.DataFrame:
        """A row per target measuring it; tier and weighted targets get a shortfall column
        (a fraction of the amount) so that they can fall short at a price."""
        e = self.economy
        targets = e.tables["targets"]
        year_pos = {int(y): i for i, y in enumerate(self.years)}
        records = []
        entries: list[tuple[np.ndarray, np.ndarray]] = []
        held_hard = set(self.fixed.hard_targets) if self.fixed is not None else set()
        released = set(self.fixed.released_targets) if self.fixed is not None else set()
        for row in targets.to_dict(orient="records"):
            if row["id"] in held_hard:
                row = {**row, "kind": "hard", "weight": np.nan}
            elif row["id"] in released:  # measured and reported, no longer enforced
                row = {**row, "kind": "weight", "weight": 0.0}
            year = int(row["year"])
            ti = year_pos.get(year)
            if ti is None:
                continue
            product_ids = (
                (row["product"],)
                if isinstance(row["product"], str)
                else e.sector_products[row["sector"]]
            )
            products = self._product_positions(np.array(product_ids, dtype=object))
            members = (
                e.region_members[row["region"]]
                if isinstance(row["region"], str)
                else tuple(e.region_ids)
            )
            regions = self._region_positions(np.array(members, dtype=object))
            in_regions = np.zeros(self.R, dtype=bool)
            in_regions[regions] = True
            required = float(row["amount"])
            if row["basis"] == "per_head":
                required *= float(self.population[regions, ti].sum())
            cols, coefs = self._measure(row["measure"], products, in_regions, ti)
            constant = 0.0
            if row["measure"] == "final_use":
                claims = self.claims[ti]
                fixed = claims[
                    (claims["category"] != CONSUMPTION)
                    & claims["product"].isin(product_ids)
                    & claims["region"].isin(members)
                ]
                constant = float(fixed["amount"].sum())
            entries.append((cols, coefs))
            records.append(
                {
                    "id": row["id"],
                    "product": row["product"],
                    "sector": row["sector"],
                    "region": row["region"],
                    "year": year,
                    "measure": row["measure"],
                    "sense": row["sense"],
                    "kind": row["kind"],
                    "tier": tier_of(str(row["kind"])),
                    "weight": float(row["weight"]) if pd.notna(row["weight"]) else 0.0,
                    "required": required,
                    "scale": required if required > 0 else 1.0,
                    "constant": constant,
                }
            )
        frame = pd.DataFrame(
            records,
            columns=[
                "id",
                "product",
                "sector",
                "region",
                "year",
                "measure",
                "sense",
                "kind",
                "tier",
                "weight",
                "required",
                "scale",
                "constant",
            ],
        )
        at_least = (frame["sense"] == "at_least").to_numpy()
        goal = frame["required"].to_numpy(dtype=float) - frame["constant"].to_numpy(dtype=float)
        soft = np.flatnonzero(frame["tier"].to_numpy() != 0)
        shortfall = self.lp.add_columns(
            "shortfall",
            frame.loc[soft, ["id"]].rename(columns={"id": "target"}),
            unit="fraction of the target",
        )
        # (measure + sign * scale * shortfall) / row_scale against goal / row_scale. The
        # shortfall is a fraction of the target, so its coefficient is the target's amount
        # (16.5e9 t-km for rail freight) against measure coefficients near 1. Dividing by the
        # amount alone gave 6e-11, which HiGHS drops as zero (small_matrix_value 1e-9); the
        # geometric mean of the two sizes leaves both near the middle of the range.
        scale = frame["scale"].to_numpy(dtype=float)
        largest = np.array([np.abs(coefs).max() if len(coefs) else 1.0 for _, coefs in entries])
        row_scale = np.sqrt(scale * np.where(largest > 0, largest, 1.0))
        rows = self.lp.add_rows(
            "target",
            frame[["id"]].rename(columns={"id": "target"}),
            lower=np.where(at_least, goal / row_scale, -INF),
            upper=np.where(at_least, INF, goal / row_scale),
            unit="product unit / row_scale",
        )
        for i, (cols, coefs) in enumerate(entries):
            self.lp.add(np.full(len(cols), rows.start + i), cols, coefs / row_scale[i])
        sign = np.where(at_least, 1.0, -1.0)
        self.lp.add(rows.start + soft, shortfall.index, (sign * scale / row_scale)[soft])
        frame["row_scale"] = row_scale
        frame["row"] = rows.index
        column = np.full(len(frame), -1)
        column[soft] = shortfall.index
        frame["shortfall"] = column
        return frame

    def _measure(
        self, measure: str, products: np.ndarray, in_regions: np.ndarray, ti: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Columns and coefficients that add up what a target counts."""
        year = int(self.years[ti])
        e = self.economy
        if measure in ("production", "final_use"):
            cols_parts, coef_parts = [], []
            outputs = e.outputs(year)[products, :]
            if measure == "production":
                per_process = np.asarray(outputs.sum(axis=0)).ravel()
            else:
                share = self.reserve_share[ti][:, products]  # regions x products
                weighted = (share @ outputs).tocsr()  # regions x processes
                per_process = None
            pick = np.flatnonzero(in_regions[self.pair_region])
            if per_process is not None:
                coefs = per_process[self.pair_process[pick]]
            else:
                # an empty pick indexes the sparse matrix into a (1, 0) matrix, not an array
                coefs = (
                    np.asarray(weighted[self.pair_region[pick], self.pair_process[pick]]).ravel()
                    if len(pick)
                    else np.zeros(0)
                )
            cols_parts.append(self.activity_start + ti * self.K + pick)
            coef_parts.append(coefs)
            if measure == "final_use":
                basket = self.basket[
                    (self.basket["key"] // self.R == ti) & np.isin(self.basket["product"], products)
                ]
                basket = basket[in_regions[basket["key"].to_numpy() % self.R]]
                by_level = basket.groupby("key")["amount"].sum()
                cols_parts.append(
                    self.level_start + np.searchsorted(self.levels, by_level.index.to_numpy())
                )
                coef_parts.append(by_level.to_numpy(dtype=float))
            return np.concatenate(cols_parts), np.concatenate(coef_parts)
        block = self.lp.columns[measure]
        labels = block.labels
        pick = (
            (labels["year"].to_numpy() == year)
            & np.isin(self._product_positions(labels["product"]), products)
            & in_regions[self._region_positions(labels["region"])]
        )
        cols = block.start + np.flatnonzero(pick)
        return cols, np.ones(len(cols))

    def _stages(self, targets: pd.DataFrame) -> list[Stage]:
        """The objectives in order, each as one column defined by rows: the largest and the
        total shortfall of each tier, the consumption level (least region and year, then the
        average), weighted targets, import spending, labour."""
        e = self.economy
        stages: list[Stage] = []
        if "discrepancy" in self.lp.columns:
            block = self.lp.columns["discrepancy"]
            column = self._defined("past_balance", block.index, self.discrepancy_weight)
            stages.append(
                Stage(
                    "past_balance",
                    column,
                    "min",
                    "weighted gap",
                    "supply missing from the balances of years wholly past (reported facts "
                    "that do not add up, claims left unmet)",
                    "past_balance",
                )
            )
        tiers = sorted(t for t in targets["tier"].unique() if t > 0)
        priorities = sorted(set(self.claim_priority.tolist()))
        for tier in sorted(set(tiers) | set(priorities)):
            if tier in priorities:
                stages.append(self._claims_stage(tier))
            if tier not in tiers:
                continue
            members = targets[targets["tier"] == tier]
            cols = members["shortfall"].to_numpy()
            worst = self.lp.add_columns(
                f"objective_tier{tier}", self._labels(stage=[f"tier{tier}"])
            )
            rows = self.lp.add_rows(
                f"objective_tier{tier}", members[["id"]].rename(columns={"id": "target"}), upper=0.0
            )
            self.lp.add(rows.index, cols, 1.0)
            self.lp.add(rows.index, np.full(len(cols), worst.start), -1.0)
            stages.append(
                Stage(
                    f"tier{tier}",
                    worst.start,
                    "min",
                    "fraction",
                    f"largest shortfall of the tier {tier} targets (plan ray)",
                    "tier",
                    int(tier),
                )
            )
            total = self._defined(f"tier{tier}_total", cols, np.ones(len(cols)))
            stages.append(
                Stage(
                    f"tier{tier}_total",
                    total,
                    "min",
                    "fraction",
                    f"sum of the shortfalls of the tier {tier} targets",
                    "tier_total",
                    int(tier),
                    HOLD_TARGETS,
                )
            )
        if e.settings.objective == CONSUMPTION and len(self.levels):
            pop = self.population[self.levels % self.R, self.levels // self.R]
            inhabited = np.flatnonzero(pop > 0)
            if not len(inhabited):
                # no population given (a plain input-output table): every basket counts alike
                inhabited, pop = np.arange(len(self.levels)), np.ones(len(self.levels))
            least = self.lp.add_columns(
                "objective_consumption", self._labels(stage=["consumption"])
            )
            region_ids = e.region_ids.to_numpy(dtype=object)
            rows = self.lp.add_rows(
                "objective_consumption",
                self._labels(
                    region=region_ids[self.levels[inhabited] % self.R],
                    year=self.years[self.levels[inhabited] // self.R],
                ),
                lower=0.0,
            )
            growth = e.settings.consumption_growth
            # on a growth path each year's level is held against the first year's grown at
            # the declared rate, so the maximin is the level of the path's first year
            path = (1.0 + (growth or 0.0)) ** (self.levels[inhabited] // self.R)
            self.lp.add(rows.index, self.level_start + inhabited, 1.0)
            self.lp.add(rows.index, np.full(len(inhabited), least.start), -path)
            if growth is not None:
                self._growth_rows(inhabited, growth)
            stages.append(
                Stage(
                    "consumption",
                    least.start,
                    "max",
                    "level of the norms",
                    "consumption level of the worst-off region and year (maximin)"
                    if growth is None
                    else f"first-year consumption level of the worst-off region, every "
                    f"region growing at least {growth:.1%} a year",
                    "consumption",
                )
            )
            average = self._defined(
                "consumption_average",
                self.level_start + inhabited,
                pop[inhabited] / pop[inhabited].sum(),
            )
            stages.append(
                Stage(
                    "consumption_average",
                    average,
                    "max",
                    "level of the norms",
                    "consumption level averaged over people and years",
                    "consumption_average",
                )
            )
        weighted = targets[targets["tier"] == -1]
        if len(weighted):
            cols = weighted["shortfall"].to_numpy()
            coefs = (weighted["weight"] * weighted["scale"]).to_numpy(dtype=float)
            column = self._defined("weighted", cols, coefs)
            stages.append(
                Stage(
                    "weighted",
                    column,
                    "min",
                    "weighted shortfall",
                    "weighted shortfall of the weight targets",
                    "weighted",
                )
            )
        if self.import_columns:
            cols = np.concatenate([c for c, _ in self.import_columns])
            prices = np.concatenate([p for _, p in self.import_columns])
            if len(cols):
                column = self._defined("imports", cols, prices)
                stages.append(
                    Stage(
                        "imports",
                        column,
                        "min",
                        e.settings.foreign_currency,
                        "spending on imports over the horizon (self-reliance)",
                        "imports",
                    )
                )
        labour = self._labour_use()
        if labour is not None:
            column = self._defined("labour", *labour)
            stages.append(
                Stage(
                    "labour", column, "min", "person-year", "labour used over the horizon", "labour"
                )
            )
        return stages

    def _growth_rows(self, inhabited: np.ndarray, growth: float) -> None:
        """Consumption per head grows at least at ``growth`` from one year to the next in
        every inhabited region: level[r, t] - (1 + growth) level[r, t - 1] >= 0."""
        keys = self.levels[inhabited]
        earlier = np.searchsorted(keys, keys - self.R)
        has = (keys >= self.R) & (earlier < len(keys))
        has[has] &= keys[earlier[has]] == keys[has] - self.R
        later, before = inhabited[has], inhabited[earlier[has]]
        region_ids = self.economy.region_ids.to_numpy(dtype=object)
        rows = self.lp.add_rows(
            "consumption_growth",
            self._labels(
                region=region_ids[self.levels[later] % self.R],
                year=self.years[self.levels[later] // self.R],
            ),
            lower=0.0,
            unit="level of the norms",
        )
        self.lp.add(rows.index, self.level_start + later, 1.0)
        self.lp.add(rows.index, self.level_start + before, -(1.0 + growth))

    def _elastic(self, targets: pd.DataFrame) -> list[Stage]:
        """Gaps that let the hard targets and the balances fail, and one stage pricing them."""
        hard = np.flatnonzero(targets["tier"].to_numpy() == 0)
        gap = self.lp.add_columns(
            "gap_target",
            targets.loc[hard, ["id"]].rename(columns={"id": "target"}),
            unit="fraction of the target",
        )
        sign = np.where(targets["sense"].to_numpy()[hard] == "at_least", 1.0, -1.0)
        scale = (targets["scale"] / targets["row_scale"]).to_numpy(dtype=float)[hard]
        self.lp.add(targets["row"].to_numpy()[hard], gap.index, sign * scale)
        balance = self.lp.rows["balance"]
        lower = self.lp.row_lower[0]
        gaps = self.lp.add_columns("gap_balance", balance.labels, unit="product unit")
        self.lp.add(balance.index, gaps.index, 1.0)
        cols = np.concatenate([gap.index, gaps.index])
        weights = np.concatenate([np.ones(len(hard)), 1.0 / np.maximum(np.abs(lower), 1.0)])
        column = self._defined("elastic", cols, weights)
        return [
            Stage(
                "elastic",
                column,
                "min",
                "weighted gap",
                "least shortfall of hard targets and balances",
                "elastic",
            )
        ]

    def _defined(self, name: str, cols: np.ndarray, coefs: np.ndarray) -> int:
        """A column equal to coefs . x[cols], with its defining row."""
        column = self.lp.add_columns(f"objective_{name}", self._labels(stage=[name]), lower=-INF)
        row = self.lp.add_rows(
            f"objective_{name}", self._labels(stage=[name]), lower=0.0, upper=0.0
        )
        self.lp.add(np.full(len(cols), row.start), cols, coefs)
        self.lp.add(np.array([row.start]), np.array([column.start]), -1.0)
        return column.start

    def _labour_use(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Labour used by every column: minus its entries in the labour balance rows."""
        e = self.economy
        labour = np.flatnonzero(e.tables["products"]["kind"].to_numpy(dtype=object) == "labour")
        if len(labour) == 0:
            return None
        t, r, p = np.meshgrid(np.arange(self.T), np.arange(self.R), labour, indexing="ij")
        rows = self.balance_row(p.ravel(), r.ravel(), t.ravel())
        matrix = self.lp.matrix().tocsr()[rows, :]
        use = -np.asarray(matrix.sum(axis=0)).ravel()
        cols = np.flatnonzero(use != 0)
        return cols, use[cols]
