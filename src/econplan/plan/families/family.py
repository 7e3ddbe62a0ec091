"""A constraint family's declaration: the row blocks (or column bounds) it adds to the plan
problem, each with its named dimensions and what its valuation means, how it assembles them,
and how verification recomputes them from a plan's tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from econplan.plan.families.assembly import Assembly
from econplan.plan.families.checking import Check


@dataclass(frozen=True)
class Constraint:
    """One kind of constraint: a row block of the problem, or (``bound``) the bounds of a
    column block, whose valuations are then the columns' reduced costs."""

    name: str
    """The row block's name (a bound's: the column block's)."""
    dims: tuple[str, ...]
    """Its labels: the dimensions one constraint is indexed by."""
    meaning: str
    """What one unit of its valuation is the worth of (one more unit of what)."""
    unit: str
    """The unit that one more unit is counted in."""
    limit: bool = False
    """A limit of the economy: ranked in the bottleneck report."""
    ranged: bool = False
    """Its valuations get a range of validity (how far the limit may move)."""
    bound: bool = False
    """Bounds on a column block rather than rows: valued by the columns' reduced costs, which
    the valuation table reads for each such constraint by name (``min_stock``, ``fixed``); a
    new one gets no valuations until it is read there too."""
    valued: bool = True
    """Listed in the plan's valuation table (the growth path's rows are not: the consumption
    stages state what it costs)."""
    checks: tuple[str, ...] = ()
    """The verification checks (their names in plan.json's ``verification.checks``) that
    recompute it from the plan's tables: a constraint no check names would go unverified."""


@dataclass(frozen=True)
class Family:
    """A module's contribution to the plan problem and to its verification."""

    name: str
    constraints: tuple[Constraint, ...]
    assemble: Callable[[Assembly], None]
    check: Check | None = None
    """None where verification has nothing of this family's own to recompute (its columns'
    signs are checked with every table's)."""
    needs: tuple[str, ...] = ()
    """What it uses of the families before it: blocks by name, or attributes of
    :class:`~econplan.plan.families.assembly.Assembly`. The registry refuses an order in
    which a family comes before what it needs (it would find an empty default and drop its
    terms without a word)."""
    gives: tuple[str, ...] = ()
    """The blocks and attributes it makes, for those after it."""
