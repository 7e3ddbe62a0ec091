"""The immutable Economy and the technology matrices derived from it."""

from econplan.model.economy import Economy, Settings
from econplan.model.technology import TechnologyMatrix, technology_matrix

__all__ = ["Economy", "Settings", "TechnologyMatrix", "technology_matrix"]
