"""The reference stage: among the plans that keep every stage's optimum, the one closest to a
reference plan (the base plan a scenario is compared with, last year's plan).

Plans are not unique: where two processes, regions or routes cost the stages the same, the
solver's path decides, and two scenarios differing in one corner differ in many places. After
the last stage this stage picks, on the *optimal face* of the last stage, the plan whose
activity (process, region, year) and trade (imports and exports of a product, region and
year) are nearest the reference's::

    min  sum_k |x_k - ref_k| / size_k
    size_k = max(|ref_k|, 1% of the process's (or the product's flow's) largest amount in
                 the reference, 1)

so that a change of 10% counts alike for a large and a small process, and a process the
reference left idle is measured against its own scale instead of one unit. Trade is matched
as well because that is where most of the remaining ties were: between the built-in plan and
the same economy with the 2025 fish target 1% higher, crude oil and wheat imports moved
between years by up to 77% when only activity was matched (docs/planning.md 4.7).

The optimal face is every plan the last stage's valuations (its duals) hold optimal: columns
with a nonzero reduced cost stay where they are, rows with a nonzero valuation stay at their
bound. Every earlier stage is already held by the bounds the stage loop set, so each plan on
that face keeps every objective exactly as found; and the face is a small problem (on the
typhoon scenario 7,266 of 25,316 columns free, 0.2 s with dual simplex), where the same
distance over every plan within the stages' tolerance did not finish in minutes
(docs/planning.md, "The reference stage", has the measurements).

Activity and trade are matched by their labels; activity the reference does not have is free,
and trade it does not list is matched at zero (the trade table lists only what a plan imports
or exports).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.errors import UsageError
from econplan.model.economy import Economy
from econplan.plan.assemble import PlanProblem
from econplan.plan.face import Face, run
from econplan.plan.output import Plan
from econplan.plan.solve import Solution

KEY = ["process", "region", "year"]
TRADE_KEY = ["product", "region", "year"]
FLOWS = ("imports", "exports")
"""The trade columns matched, named as the problem's column blocks and the trade table's
columns."""

FLOOR = 0.01
"""Activity the reference left small is measured against this share of the process's largest
activity in the reference (and at least one unit)."""


class ReferenceError(UsageError):
    """A reference plan that cannot be one for this economy: the message says why."""


@dataclass(frozen=True)
class Reference:
    """The activity a plan should stay close to, and where it came from."""

    activity: pd.DataFrame
    """process, region, year, activity."""
    source: str
    economy: str
    trade: pd.DataFrame | None = None
    """product, region, year, imports, exports (None: the reference has no trade table)."""
    investment: pd.DataFrame | None = None
    """option, start_year, units: what the reference started (None: it has no such table).
    Its whole units are tried first, and kept where no other whole units do better in any
    stage (:mod:`econplan.plan.whole`)."""

    @classmethod
    def of(cls, plan: Plan, economy: Economy, source: Path | str) -> Reference:
        """The reference held in ``plan`` (read from ``source``), checked against the
        ``economy`` to be planned: an optimal plan of an economy with the same products."""
        if plan.status != "optimal" or "activity" not in plan.tables:
            raise ReferenceError(
                f"{source}: the reference plan is {plan.status!r}, not optimal: it has no "
                "activity to stay close to; give --reference an optimal plan"
            )
        products = set(economy.product_ids)
        made = plan.tables.get("production")
        unknown = sorted(set(made["product"]) - products) if made is not None else []
        if unknown:
            shown = ", ".join(map(str, unknown[:5]))
            raise ReferenceError(
                f"{source}: the reference plan makes products this economy does not have "
                f"({shown}{', ...' if len(unknown) > 5 else ''}); give --reference a plan of "
                "an economy with the same products"
            )
        head = plan.info.get("economy")
        name = str(head.get("name", "")) if isinstance(head, dict) else ""
        activity = plan.tables["activity"][[*KEY, "activity"]]
        trade = plan.tables.get("trade")
        if trade is not None:
            trade = trade[[*TRADE_KEY, *FLOWS]].reset_index(drop=True)
        investment = plan.tables.get("investment")
        if investment is not None:
            investment = investment[["option", "start_year", "units"]].reset_index(drop=True)
        return cls(activity.reset_index(drop=True), str(source), name, trade, investment)


@dataclass(frozen=True)
class Matched:
    """The problem's columns the reference has, with its amounts and their sizes, and what
    they are in words."""

    columns: np.ndarray
    amounts: np.ndarray
    sizes: np.ndarray
    compared: str = "activity (process, region, year)"

    def distance(self, x: np.ndarray) -> float:
        return float(np.sum(np.abs(x[self.columns] - self.amounts) / self.sizes))


def matched(problem: PlanProblem, reference: Reference) -> Matched:
    """Activity columns matched to the reference by (process, region, year), and import and
    export columns by (product, region, year)."""
    parts = [_matched(problem, "activity", KEY, reference.activity, "activity")]
    if reference.trade is not None:
        # the trade table leaves out what a plan neither imports nor exports: none of it
        parts += [
            _matched(problem, flow, TRADE_KEY, reference.trade, flow, absent=0.0)
            for flow in FLOWS
            if flow in problem.lp.columns
        ]
    columns, amounts, sizes = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    compared = "activity (process, region, year)"
    if len(parts) > 1:
        compared += " and trade (product, region, year)"
    return Matched(columns, amounts, sizes, compared)


def _matched(
    problem: PlanProblem,
    block_name: str,
    key: list[str],
    table: pd.DataFrame,
    amount: str,
    absent: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One column block's matched columns, the reference's amounts and their sizes (the
    module's formula, grouped by the key's first label). ``absent``: the amount of a column
    the reference's table has no row for (None: the column is not matched)."""
    block = problem.lp.columns[block_name]
    joined = block.labels[key].merge(table[[*key, amount]], on=key, how="left")
    if absent is not None:
        joined[amount] = joined[amount].fillna(absent)
    has = joined[amount].notna().to_numpy()
    amounts = joined[amount].to_numpy(dtype=float)[has]
    item = joined[key[0]].to_numpy(dtype=object)[has]
    largest = pd.Series(np.abs(amounts)).groupby(item).transform("max").to_numpy()
    sizes = np.maximum(np.maximum(np.abs(amounts), FLOOR * largest), 1.0)
    return np.asarray(block.index[has]), amounts, sizes


def _start(
    face: Face, cols: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A primal feasible basis of the face with its deviation pairs, from the face's own: for
    each matched column, the deviation that takes up the gap to the reference basic (d- where
    the plan is below it, d+ above), the other at zero, and each deviation row at its bound."""
    if face.basis is None or face.point is None:
        return None
    col_status, row_status = face.basis
    below = target - face.point[cols] >= 0  # d- = reference - plan
    plus = np.where(below, 0, 1).astype(np.int8)
    minus = np.where(below, 1, 0).astype(np.int8)
    return (
        np.concatenate([col_status, plus, minus]),
        np.concatenate([row_status, np.zeros(len(cols), dtype=np.int8)]),
    )


def closest(
    problem: PlanProblem,
    face: Face | None,
    solution: Solution,
    reference: Matched,
    time_limit: float | None = None,
) -> tuple[Solution, dict[str, object]]:
    """The plan on ``face`` (the last stage's optimal face, :mod:`econplan.plan.face`, holding
    any choice made on it before) closest to ``reference``; and what plan.json records of it.
    Where HiGHS finds no optimum the plan stays as solved and the record says why."""
    began = time.perf_counter()
    before = reference.distance(solution.x)
    record: dict[str, object] = {
        "compared": reference.compared,
        "matched": len(reference.columns),
        "distance_before": before,
    }
    if face is None:
        # PDLP's duals are approximate: no face to read from them
        return solution, {**record, "applied": False, "why": "the last stage has no basis"}
    n = face.n
    cols = reference.columns
    k = len(cols)
    scale = face.col_scale[cols]
    # a deviation pair per matched column: x_k - d+_k + d-_k = ref_k (scaled), with
    # coefficients of one, as well scaled as the rows HiGHS holds; the weights (1e-2 to 3e8
    # in scaled units on the typhoon scenario) are costs
    picks = sp.csc_matrix((np.ones(k), (np.arange(k), cols)), shape=(k, n))
    deviation = sp.hstack([picks, -sp.identity(k), sp.identity(k)]).tocsc()
    weight = scale / reference.sizes
    target = reference.amounts / scale
    highs = face.highs(
        np.zeros(n),
        extra=deviation,
        extra_cost=np.concatenate([weight, weight]),
        extra_rows=(target, target),
        time_limit=time_limit,
        start=_start(face, cols, target),
    )
    if not run(highs):
        status = highs.modelStatusToString(highs.getModelStatus())
        return solution, {
            **record,
            "applied": False,
            "why": f"HiGHS stopped on the optimal face: {status}",
            "seconds": time.perf_counter() - began,
        }
    found = face.solution(highs, solution, problem.matrix)
    return found, {
        **record,
        "applied": True,
        "distance": reference.distance(found.x),
        "fixed_columns": face.fixed,
        "seconds": time.perf_counter() - began,
    }
