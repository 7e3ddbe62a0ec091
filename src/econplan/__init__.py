"""econplan: balanced, optimal multi-year plans for a whole economy, in physical units."""

from econplan.errors import EconomyError, Problem
from econplan.io.write import write_economy
from econplan.model.economy import Economy, Settings
from econplan.model.technology import TechnologyMatrix, technology_matrix
from econplan.plan import Plan, load_plan, make_plan
from econplan.validate import Report, builtin_path, load_economy, validate

__all__ = [
    "Economy",
    "EconomyError",
    "Plan",
    "Problem",
    "Report",
    "Settings",
    "TechnologyMatrix",
    "builtin_path",
    "load_economy",
    "load_plan",
    "make_plan",
    "technology_matrix",
    "validate",
    "write_economy",
]

__version__ = "0.1.0"
