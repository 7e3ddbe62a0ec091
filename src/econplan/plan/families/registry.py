"""Every constraint family, in the order the plan problem is assembled from them, and what the
rest of econplan reads from their declarations: the valuations' meanings and units, which
constraints are limits of the economy, which get ranges."""

from __future__ import annotations

from econplan.plan.families import (
    balance,
    capacity,
    claims,
    consumption,
    fixed,
    investment,
    links,
    ramp,
    reserves,
    resources,
    self_sufficiency,
    stages,
    stocks,
    targets,
    terminal,
    trade,
)
from econplan.plan.families.family import Constraint, Family

FAMILIES: tuple[Family, ...] = (
    balance.FAMILY,
    capacity.FAMILY,
    investment.FAMILY,
    terminal.FAMILY,
    ramp.FAMILY,
    links.FAMILY,
    trade.FAMILY,
    self_sufficiency.FAMILY,
    stocks.FAMILY,
    resources.FAMILY,
    consumption.FAMILY,
    reserves.FAMILY,
    claims.FAMILY,
    targets.FAMILY,
    stages.FAMILY,
    fixed.FAMILY,
)
"""In assembly order: a family may use what those before it published (see
:mod:`econplan.plan.families.assembly`)."""


def out_of_order(families: tuple[Family, ...]) -> list[str]:
    """What a family in ``families`` needs that no family before it gives."""
    given: set[str] = set()
    problems = []
    for family in families:
        missing = [need for need in family.needs if need not in given]
        if missing:
            problems.append(f"{family.name} needs {', '.join(missing)}, given by none before it")
        given.update(family.gives)
    return problems


if out_of_order(FAMILIES):  # a bug in the registry, not in anyone's data
    raise RuntimeError("; ".join(out_of_order(FAMILIES)))

DECLARED: dict[str, Constraint] = {c.name: c for f in FAMILIES for c in f.constraints}

CONSTRAINTS: dict[str, tuple[str, str]] = {
    name: (c.meaning, c.unit) for name, c in DECLARED.items() if c.valued
}
"""The constraints the valuation table lists: what one unit of each valuation is worth, and
in what unit."""

LIMITS: tuple[str, ...] = tuple(name for name, c in DECLARED.items() if c.limit)
"""Constraints that are limits of the economy (ranked in the bottleneck report), as opposed
to balances and targets; labour's limit is its balance row (kind labour)."""

RANGED: tuple[str, ...] = tuple(name for name, c in DECLARED.items() if c.ranged and not c.bound)
"""Row blocks whose valuations get a range of validity (besides the labour balances)."""
