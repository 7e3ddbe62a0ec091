"""Every figure econplan shows, as pure functions of a plan, its economy and (for the plan
carried out) the reports: each returns a :class:`Figure` (its data as a tidy table with
units, and the interactive plotly figure). The web application and the plan report are thin
fronts over these."""

from econplan.reporting.balances import plan_balance, product_balance, product_sankey
from econplan.reporting.figure import Figure, FigureError, read_csv
from econplan.reporting.monthly import control_by_month
from econplan.reporting.progress import fulfilment, targets, trajectory
from econplan.reporting.valuations import bottlenecks, consumption_per_head, product_valuations

__all__ = [
    "Figure",
    "FigureError",
    "bottlenecks",
    "consumption_per_head",
    "control_by_month",
    "fulfilment",
    "plan_balance",
    "product_balance",
    "product_sankey",
    "product_valuations",
    "read_csv",
    "targets",
    "trajectory",
]
