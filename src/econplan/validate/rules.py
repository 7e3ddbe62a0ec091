"""All cross-table rules, in the order they run."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from econplan.errors import Problem
from econplan.schema import Schema
from econplan.validate.structure import (
    check_facilities,
    check_final_demand,
    check_growth,
    check_hierarchies,
    check_horizon,
    check_investments,
    check_labour,
    check_population,
    check_processes,
    check_resources,
    check_units,
)
from econplan.validate.supply import (
    check_links,
    check_observed,
    check_seasonality,
    check_self_sufficiency,
    check_supplied,
    check_targets,
    check_trade,
)
from econplan.validate.tables import TypedTables

Rule = Callable[[TypedTables, Schema], Iterator[Problem]]


def check_rules(typed: TypedTables, schema: Schema) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(typed, schema)]


RULES: tuple[Rule, ...] = (
    check_horizon,
    check_growth,
    check_hierarchies,
    check_units,
    check_processes,
    check_facilities,
    check_investments,
    check_resources,
    check_labour,
    check_population,
    check_final_demand,
    check_targets,
    check_observed,
    check_seasonality,
    check_links,
    check_trade,
    check_self_sufficiency,
    check_supplied,
)
