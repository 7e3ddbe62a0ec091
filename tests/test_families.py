"""The constraint families: every block of the problem is declared by one family, positions
come from the blocks' dimensions, and the declarations are what the valuation table reads."""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from econplan.plan import load_plan
from econplan.plan.assemble import assemble
from econplan.plan.families.registry import (
    CONSTRAINTS,
    DECLARED,
    FAMILIES,
    LIMITS,
    RANGED,
    out_of_order,
)
from econplan.plan.lp import LinearProgram
from econplan.plan.verify import verify
from econplan.validate import load_economy


@pytest.fixture(scope="module")
def problems() -> dict[str, object]:
    """The built-in economy's problem without the optional families and with them."""
    economy = load_economy()
    without = dataclasses.replace(economy.settings, terminal_growth=None, ramp=None)
    settings = dataclasses.replace(economy.settings, terminal_growth=0.03, ramp=0.25)
    return {
        "plain": assemble(dataclasses.replace(economy, settings=without)),
        "terminal and ramp": assemble(dataclasses.replace(economy, settings=settings)),
    }


def test_every_row_block_is_declared_by_one_family(problems: dict[str, object]) -> None:
    names = [c.name for f in FAMILIES for c in f.constraints]
    assert len(names) == len(set(names)), "a constraint declared by two families"
    for problem in problems.values():
        rows = set(problem.lp.rows)  # type: ignore[attr-defined]
        # stage-definition rows are the stages' own, named after each stage
        undeclared = {r for r in rows if not r.startswith("objective_")} - set(DECLARED)
        assert not undeclared, undeclared
    optional = {"terminal_capacity", "ramp"}
    plain = set(problems["plain"].lp.rows)  # type: ignore[attr-defined]
    switched_on = set(problems["terminal and ramp"].lp.rows)  # type: ignore[attr-defined]
    assert not optional & plain and optional <= switched_on


def test_declarations_are_what_valuations_and_ranges_read() -> None:
    # every valued constraint has a meaning and a unit; bounds are never ranged rows
    assert all(meaning and unit for meaning, unit in CONSTRAINTS.values())
    assert {"balance", "capacity", "target", "min_stock", "fixed"} <= set(CONSTRAINTS)
    assert "consumption_growth" not in CONSTRAINTS and "consumption_growth" in RANGED
    assert {"min_stock", "fixed"} <= set(LIMITS) and not {"min_stock", "fixed"} & set(RANGED)
    assert "balance" not in LIMITS and "target" not in LIMITS


def test_dimensions_are_the_blocks_labels(problems: dict[str, object]) -> None:
    """Each declared row block is labelled by the dimensions its family declares."""
    for problem in problems.values():
        for name, block in problem.lp.rows.items():  # type: ignore[attr-defined]
            if name in DECLARED and not DECLARED[name].bound:
                assert set(block.labels.columns) == set(DECLARED[name].dims), name


def test_positions_from_dimensions_find_the_labelled_entry(problems: dict[str, object]) -> None:
    problem = problems["plain"]
    economy = problem.economy  # type: ignore[attr-defined]
    balance = problem.lp.rows["balance"]  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    t, r, p = (rng.integers(0, n, 50) for n in balance.shape)
    found = balance.labels.iloc[balance.at(t, r, p) - balance.start]
    assert (found["year"].to_numpy() == np.asarray(economy.years)[t]).all()
    assert (found["region"].to_numpy() == economy.region_ids.to_numpy()[r]).all()
    assert (found["product"].to_numpy() == economy.product_ids.to_numpy()[p]).all()
    activity = problem.lp.columns["activity"]  # type: ignore[attr-defined]
    years, pairs = activity.shape
    last = activity.labels.iloc[activity.at(years - 1, np.arange(pairs)) - activity.start]
    assert (last["year"] == economy.years[-1]).all()
    pairs_labels = problem.pairs[["process", "region"]].to_numpy()  # type: ignore[attr-defined]
    assert (last[["process", "region"]].to_numpy() == pairs_labels).all()


def test_a_position_outside_its_dimension_is_an_error() -> None:
    """An index one past its dimension would land in the next year's (or block's) entries
    with hand-written offsets; from the dimensions it is refused."""
    lp = LinearProgram()
    lp.add_rows("first", pd.DataFrame({"year": [1, 1, 2, 2], "k": [0, 1, 0, 1]}), shape=(2, 2))
    block = lp.add_rows("grid", pd.DataFrame({"k": range(6)}), shape=(2, 3))
    assert block.at(1, 2).tolist() == [4 + 5]  # after the 4 rows of the first block
    assert block.at([0, 1], 0).tolist() == [4, 7]
    with pytest.raises(ValueError):
        block.at(0, 3)
    with pytest.raises(ValueError):
        block.at(0)
    with pytest.raises(ValueError, match="do not fill a grid"):
        lp.add_rows("bad", pd.DataFrame({"k": range(5)}), shape=(2, 3))


def test_every_declared_constraint_is_verified(builtin_plan_dir: Path) -> None:
    """Each constraint names the verification checks that recompute it, and the built-in
    plan's verification ran them for every constraint its problem has."""
    assert all(c.checks for c in DECLARED.values()), [
        n for n, c in DECLARED.items() if not c.checks
    ]
    ran = load_plan(builtin_plan_dir).info["verification"]["checks"]
    problem = assemble(load_economy())
    present = set(problem.lp.rows)
    if problem.lp.columns["resource_stock"].size:  # the bound min_stock holds on them
        present.add("min_stock")
    assert {"balance", "capacity", "target", "min_stock"} <= present
    for name in present & set(DECLARED):
        missing = [check for check in DECLARED[name].checks if check not in ran]
        assert not missing, (name, missing)
        assert sum(ran[check]["count"] for check in DECLARED[name].checks) > 0, name


def test_an_order_that_breaks_a_dependency_is_refused() -> None:
    """A family run before what it needs would find an empty default and drop its terms
    without a word (ramp before investment loses the ramp rows' investment terms)."""
    assert out_of_order(FAMILIES) == []
    order = {f.name: f for f in FAMILIES}
    early_ramp = (order["balance"], order["capacity"], order["ramp"], order["investment"])
    assert out_of_order(early_ramp) == ["ramp needs capacity_terms, given by none before it"]
    late_claims = (*(f for f in FAMILIES if f.name != "claims"), order["claims"])
    assert any(p.startswith("stages needs claim_shortfall") for p in out_of_order(late_claims))


USES = re.compile(r"""a\.block\("(\w+)"\)|a\.lp\.(?:rows|columns)\["(\w+)"\]|a\.(\w+)""")
"""What a module uses of the assembly: blocks by name (tried first, so that ``a.block(...)``
is read for its argument), then attributes."""


def test_each_family_declares_what_it_uses_of_the_others() -> None:
    """What a family's module uses of the published attributes and blocks is what it declares
    it needs or gives: the declarations the registry checks its order by are the code's."""
    published = {g for f in FAMILIES for g in f.gives}
    for family in FAMILIES:
        module = sys.modules[family.assemble.__module__]
        source = inspect.getsource(module)
        used = {name for match in USES.findall(source) for name in match if name}
        undeclared = (used & published) - set(family.needs) - set(family.gives)
        assert not undeclared, (family.name, undeclared)


def test_check_names_of_the_optional_constraints_are_what_verify_records(
    builtin_plan_dir: Path,
) -> None:
    """The ramp's, a re-plan's fixed bounds' and the soft claims' checks, which the built-in
    plan does not run, by verifying its tables against an economy with a ramp and with
    bounds and stated claims added."""
    plan = load_plan(builtin_plan_dir)
    economy = load_economy()
    ramped = dataclasses.replace(economy, settings=dataclasses.replace(economy.settings, ramp=0.25))
    activity = plan.tables["activity"]
    investment = plan.tables["investment"]
    tables = {
        **plan.tables,
        "fixed_activity": activity[["process", "region", "year"]].assign(
            lower=activity["activity"], upper=activity["activity"]
        ),
        "fixed_investment": investment[["option", "start_year"]].assign(
            lower=investment["units"], upper=investment["units"]
        ),
        "claim_shortfall": pd.DataFrame(
            {
                "product": pd.Series(dtype=object),
                "region": pd.Series(dtype=object),
                "year": pd.Series(dtype=int),
                "priority": pd.Series(dtype=int),
                "claimed": pd.Series(dtype=float),
                "shortfall": pd.Series(dtype=float),
            }
        ),
    }
    ran = verify(ramped, tables).to_dict()["checks"]
    for name in ("ramp", "fixed", "fixed_investment", "claim_shortfall"):
        for check in DECLARED[name].checks:
            assert check in ran, (name, check)
    assert ran["fixed activity"]["max_violation"] == 0.0
