"""Least waste: among the plans that keep every stage's optimum, the one that leaves least output
unused.

A balance row is an inequality (free disposal, docs/planning.md section 3.1), so a plan may make
more than anything uses; the stages before price most of it away (it costs labour or imports),
but where surplus costs nothing at the margin (a joint product, output a target asks for, a
power station already running) the solver's path decides how much is left over and where, or
whether it is hidden in stocks carried past the last year. This last choice, made on the last
stage's optimal face (:mod:`econplan.plan.face`), minimises

    sum over goods and services p, regions r, years t of  unused[p, r, t] / size[p]
    + sum over p, r of  stock carried out of the last year[p, r] / size[p]

with size[p] the product's national base-year output (its largest claim where the base year
made none; at least one unit): each product's waste as a share of a year's output, so that a
tonne of steel and a tonne of sand count as the shares they are. Buildings stand where they
are built (kind construction) and are not counted; labour, resources and primary inputs are
not output. What is left is waste the objectives cannot avoid, and the plausibility report
states it with its reason.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from econplan.plan.assemble import PlanProblem
from econplan.plan.face import Face, run
from econplan.plan.solve import Solution

COUNTED = ("good", "service")
"""Kinds of product whose unused output is waste."""

GAIN = 1e-6
"""The plan moves only where the waste falls by more than this share of it (at least 1e-6 of a
year's output): the stages' own tolerance. A smaller gain is rounding, and moving for it would
only trade the stages' vertex for a neighbour."""

KEPT = 1e-9
"""The waste a later choice on the face may add, relative to the least found (at least 1e-9 of
a year's output): room for rounding, not for trading waste away."""


def waste_weights(problem: PlanProblem) -> tuple[np.ndarray, float]:
    """Coefficients ``w`` over the problem's columns and a constant ``c`` such that
    ``w @ x - c`` is the plan's weighted waste (the module's formula)."""
    e = problem.economy
    lp = problem.lp
    kinds = e.tables["products"]["kind"].to_numpy(dtype=object)
    counted = np.isin(kinds, COUNTED)
    size = output_size(problem)
    balance = lp.rows["balance"]
    product = e.product_ids.get_indexer(pd.Index(balance.labels["product"]))
    lower = np.concatenate(lp.row_lower)[balance.start : balance.stop]
    weight = np.where(counted[product] & np.isfinite(lower), 1.0 / size[product], 0.0)
    coefs = np.asarray(problem.matrix[balance.start : balance.stop].T @ weight).ravel()
    if "stock" in lp.columns:
        block = lp.columns["stock"]
        held = block.labels
        last = np.flatnonzero(held["year"].to_numpy() == e.settings.last_year)
        at = e.product_ids.get_indexer(pd.Index(held["product"].iloc[last]))
        coefs[block.start + last] += np.where(counted[at], 1.0 / size[at], 0.0)
    used = weight > 0
    return coefs, float(weight[used] @ lower[used])


def output_size(problem: PlanProblem) -> np.ndarray:
    """Each product's national base-year output, or where the base year made none its largest
    claim on a balance, at least one unit: what its waste is counted against."""
    e = problem.economy
    activity = np.zeros(len(e.process_ids))
    np.add.at(activity, e.positions("facilities", "process"), e.base_output.to_numpy(dtype=float))
    made = np.asarray(e.outputs(e.settings.first_year) @ activity).ravel()
    balance = problem.lp.rows["balance"]
    product = e.product_ids.get_indexer(pd.Index(balance.labels["product"]))
    lower = np.concatenate(problem.lp.row_lower)[balance.start : balance.stop]
    claimed = np.zeros(len(e.product_ids))
    finite = np.isfinite(lower)
    np.maximum.at(claimed, product[finite], np.abs(lower[finite]))
    return np.maximum(np.where(made > 0, made, claimed), 1.0)


def least_waste(
    problem: PlanProblem, face: Face, solution: Solution, time_limit: float | None = None
) -> tuple[Solution, Face, dict[str, Any]]:
    """The plan on ``face`` with least waste, the face holding that least waste for the next
    choice, and what plan.json records. Where HiGHS finds no optimum the plan stays as solved
    and the record says why."""
    coefs, constant = waste_weights(problem)
    measure = (
        "unused output and stocks left after the last year, each product as a share of its "
        "base-year output"
    )
    return least_on_face(problem, face, solution, coefs, constant, measure, time_limit)


def least_on_face(
    problem: PlanProblem,
    face: Face,
    solution: Solution,
    coefs: np.ndarray,
    constant: float,
    measure: str,
    time_limit: float | None = None,
) -> tuple[Solution, Face, dict[str, Any]]:
    """The plan on ``face`` with the least ``coefs @ x - constant`` (a measure in the
    problem's units, ``measure`` in words), the face holding that least for the next choice,
    and what plan.json records. Where HiGHS finds no optimum the plan stays as solved and the
    record says why."""
    began = time.perf_counter()
    before = float(coefs @ solution.x) - constant
    record: dict[str, Any] = {"measure": measure, "before": before}
    scaled = coefs * face.col_scale
    highs = face.highs(scaled, time_limit=time_limit)
    if not run(highs):
        status = highs.modelStatusToString(highs.getModelStatus())
        why = f"HiGHS stopped on the optimal face: {status}"
        seconds = time.perf_counter() - began
        return solution, face, {**record, "applied": False, "why": why, "seconds": seconds}
    found = face.solution(highs, solution, problem.matrix)
    after = float(coefs @ found.x) - constant
    if before - after <= GAIN * max(1.0, abs(before)):
        # nothing worth the move: the plan stays the vertex the stages found, rather than
        # one a hair away along columns whose reduced costs are below the face's zero
        kept_record = {**record, "applied": True, "after": before, "moved": False}
        return solution, face, {**kept_record, "seconds": time.perf_counter() - began}
    least = float(scaled @ np.asarray(highs.getSolution().col_value)[: face.n])
    kept = face.holding(scaled, least + KEPT * max(1.0, abs(least)), highs)
    return (
        found,
        kept,
        {
            **record,
            "applied": True,
            "after": after,
            "moved": True,
            "fixed_columns": face.fixed,
            "seconds": time.perf_counter() - began,
        },
    )
