"""econplan: balanced, optimal multi-year plans for a whole economy, in physical units."""

from econplan.errors import EconomyError, Problem
from econplan.io.write import write_economy
from econplan.model.economy import Economy, Settings
from econplan.model.technology import TechnologyMatrix, technology_matrix
from econplan.validate import Report, builtin_path, load_economy, validate

__all__ = [
    "Economy",
    "EconomyError",
    "Problem",
    "Report",
    "Settings",
    "TechnologyMatrix",
    "builtin_path",
    "load_economy",
    "technology_matrix",
    "validate",
    "write_economy",
]

__version__ = "0.1.0"
