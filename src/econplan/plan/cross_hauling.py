"""Least cross-hauling: among the plans that keep every stage's optimum and the least waste,
the one that ships least of the products it ships both ways.

Where shipping costs nothing the stages care about (electricity over a grid line, a freight
link whose labour no stage prices any more), a plan may ship a product both ways between two
regions in the same year, and which of the equally good plans the solver lands on decides
whether it does. Cross-hauling is what an economist reads first as the sign of a plan nobody
checked (issue 11): held by its optimal faces (``--hold face``), the built-in plan shipped
electricity both ways at the lines' capacity on 36 pairs of regions and years. This choice,
made on the waste stage's face, minimises

    sum over the products p that the plan ships both ways between two regions in some year,
    of every shipment of p / size[p]

with size[p] the product's national base-year output, as the waste stage counts it
(:func:`econplan.plan.waste.output_size`). Only those products are counted, so a plan that
ships nothing both ways is left as it is, and what the plan ships of other products is not
rerouted: the least of every product's shipments moved salt's output between years on the
built-in economy (9 new plausibility flags, where the plan shipped nothing both ways). All of
a cross-hauled product's shipments are counted, not only the pairs shipped both ways: netting
those alone, the built-in plan shipped electricity both ways on 9 other pairs instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from econplan.plan.assemble import PlanProblem
from econplan.plan.face import Face
from econplan.plan.solve import Solution
from econplan.plan.waste import least_on_face, output_size

MEASURE = (
    "shipments of each product shipped both ways between two regions in some year, as a "
    "share of its base-year output"
)

SHIPPED = 1e-9
"""A shipment above this (in its product's unit) counts as one the plan makes."""


def cross_hauling_weights(problem: PlanProblem, x: np.ndarray) -> np.ndarray:
    """Coefficients over the problem's columns: ``1 / size`` on every shipment of a product
    that plan ``x`` ships both ways between two regions in a year, 0 elsewhere."""
    coefs = np.zeros(problem.matrix.shape[1])
    if "shipment" not in problem.lp.columns:
        return coefs
    block = problem.lp.columns["shipment"]
    labels = block.labels
    origin = labels["origin"].to_numpy(dtype=object)
    destination = labels["destination"].to_numpy(dtype=object)
    flows = pd.DataFrame(
        {
            "product": labels["product"].to_numpy(dtype=object),
            "low": np.where(origin < destination, origin, destination),
            "high": np.where(origin < destination, destination, origin),
            "forward": origin < destination,
            "year": labels["year"].to_numpy(),
            "shipped": x[block.start : block.stop] > SHIPPED,
        }
    )
    pair = ["product", "low", "high", "year"]
    ways = flows[flows["shipped"]].groupby(pair)["forward"].nunique().rename("ways").reset_index()
    hauled = pd.unique(ways.loc[ways["ways"] == 2, "product"].to_numpy(dtype=object))
    counted = flows["product"].isin(hauled).to_numpy()
    product = problem.economy.product_ids.get_indexer(pd.Index(flows["product"]))
    coefs[block.start : block.stop] = np.where(counted, 1.0 / output_size(problem)[product], 0.0)
    return coefs


def least_cross_hauling(
    problem: PlanProblem, face: Face, solution: Solution, time_limit: float | None = None
) -> tuple[Solution, Face, dict[str, Any]]:
    """The plan on ``face`` that ships least of the products ``solution`` ships both ways, the face
    holding that for the next choice, and what plan.json records (as
    :func:`econplan.plan.waste.least_waste`; nothing moves where nothing is shipped both
    ways)."""
    coefs = cross_hauling_weights(problem, solution.x)
    if not np.any(coefs):
        record = {"measure": MEASURE, "before": 0.0, "applied": True, "after": 0.0}
        return solution, face, {**record, "moved": False, "seconds": 0.0}
    return least_on_face(problem, face, solution, coefs, 0.0, MEASURE, time_limit)
