"""The problem the stage driver solves (:class:`StageProblem`): the labelled LP, its matrix, the
stages as data, the targets' rows and shortfall columns, and which columns must be whole.

It holds no economy: arrays, labels and small tables only, so that it can be pickled and
shipped to a worker or a device, and later split by region or year. What an economy adds for
reading a plan back (its tables, the activity pairs, what was held fixed) is
:class:`econplan.plan.assemble.PlanProblem`, which is a StageProblem with those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.plan.lp import LinearProgram

HOLD_VALUE = "value"
"""A stage's optimum is held within the relative tolerance for the stages after it, exactly
where it is zero (a met target stays met)."""
HOLD_TARGETS = "targets"
"""As ``HOLD_VALUE``, and each target of the stage's tier keeps its own achievement (see
``Solver._hold_targets``): the total shortfall of a tier."""


@dataclass(frozen=True)
class Stage:
    """One objective of the lexicographic sequence: optimise one column, then hold it.

    What the solver needs to know of a stage is here as data: it never reads a stage's name
    (a name is for people and for plan.json's keys)."""

    name: str
    column: int
    sense: str  # "min" or "max"
    unit: str
    description: str
    kind: str
    """What the stage optimises (one of ``STAGE_KINDS``)."""
    tier: int | None = None
    """The priority of the targets or claims it is about (tier and claims stages)."""
    hold: str = HOLD_VALUE
    """How its optimum binds the stages after it (``HOLD_VALUE`` or ``HOLD_TARGETS``)."""


STAGE_KINDS = (
    "past_balance",
    "claims",
    "tier",
    "tier_total",
    "consumption",
    "consumption_average",
    "weighted",
    "imports",
    "labour",
    "elastic",
    "feasibility",
)
"""The kinds of stage, in the order a problem may hold them (``elastic`` stands alone: the
diagnosis of an infeasible economy; ``feasibility`` where an economy has no objective)."""


@dataclass(frozen=True)
class StageProblem:
    """What the driver needs: the LP with its labels, its matrix, the stages in order, the
    targets, the tolerance each stage is held within, the whole columns and the rows read as
    limits."""

    lp: LinearProgram
    matrix: sp.csc_matrix
    stages: tuple[Stage, ...]
    targets: pd.DataFrame
    """One row per target: id, product, sector, region, year, measure, sense, kind, tier,
    weight, required (absolute amount), scale (what a shortfall fraction is a fraction of),
    row_scale (what its LP row is divided by), constant (part of the measure fixed by data),
    row (its row in the LP) and shortfall (its shortfall column, -1 for hard targets)."""
    tolerance: float
    integer: np.ndarray
    """Columns that must come out whole: the starts of options built in whole units."""
    limit_rows: np.ndarray
    """The rows whose valuations are read as limits of the economy (and get a range of
    validity; see :func:`econplan.plan.assemble.limit_rows`)."""

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.matrix.shape
        return int(rows), int(cols)
