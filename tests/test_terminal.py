"""The terminal condition: capacity left for the next plan, on an economy whose answer is known
by hand; the plan verifies it and values it."""

from __future__ import annotations

from pathlib import Path

import pytest

from econplan import load_economy
from econplan.io.write import write_economy
from econplan.plan import make_plan
from econplan.plan.assemble import assemble as plan_problem
from test_plan import TIGHT, build


def terminal_economy(folder: Path, growth: float | None) -> Path:
    """X made at a plant of 10 a year for a claim of 10 a year in 2021-2022; an option adds 50
    a year two years after it starts, for 100 person-years a unit."""
    build(
        folder,
        horizon=(2021, 2022),
        objective="labour",
        products="id,unit,sector,kind\nX,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\npx,s,X\n",
        process_io="process,product,flow,amount\npx,X,output,1\npx,labour,input,0.01\n",
        facilities="id,region,process,capacity\nplant,r,px,10\n",
        investments="id,kind,process,region,capacity,lead_time,max_units\n"
        "new_px,build,px,r,50,2,2\n",
        investment_costs="investment,product,amount\nnew_px,labour,100\n",
        final_demand="category,product,region,basis,amount\nconstruction,X,r,absolute,10\n",
    )
    if growth is not None:
        toml = folder / "economy.toml"
        toml.write_text(toml.read_text() + f"terminal_growth = {growth}\n")
    return folder


def test_capacity_is_left_for_the_next_plan(tmp_path: Path) -> None:
    """Growth 0.5: 2023 needs 1.5 x 10 = 15 of capacity, the plant has 10, so 0.1 of the option
    starts in 2021 (ready in 2023, the year after the horizon) for 10 person-years; each unit of
    capacity less to leave saves 100 / 50 = 2 person-years."""
    economy = load_economy(terminal_economy(tmp_path / "t", 0.5))
    assert economy.settings.terminal_growth == 0.5
    plan = make_plan(economy, tolerance=TIGHT)
    assert plan.ok, plan.info["verification"]
    assert "terminal capacity" in plan.info["verification"]["checks"]
    built = plan.tables["investment"]
    built = built[built["units"] > 1e-9]
    assert len(built) == 1
    row = built.iloc[0]
    assert (row["option"], int(row["start_year"]), int(row["ready_year"])) == ("new_px", 2021, 2023)
    assert row["units"] == pytest.approx(0.1, abs=1e-9)
    labour = 2 * 10 * 0.01 + 0.1 * 100
    assert plan.info["objectives"]["labour"] == pytest.approx(labour, rel=1e-9)
    valuations = plan.tables["valuations"]
    terminal = valuations[
        (valuations["constraint"] == "terminal_capacity") & (valuations["stage"] == "labour")
    ]
    assert terminal["item"].tolist() == ["px"]
    assert terminal["valuation"].iloc[0] == pytest.approx(2.0, rel=1e-9)


def test_without_growth_the_last_years_activity_is_enough(tmp_path: Path) -> None:
    """Growth 0: the plant's 10 covers the last year's 10, nothing is built; without the
    condition nothing may even start that is not ready within the horizon."""
    for growth in (0.0, None):
        plan = make_plan(load_economy(terminal_economy(tmp_path / f"g{growth}", growth)))
        assert plan.ok
        assert (plan.tables["investment"]["units"] <= 1e-9).all()
        assert plan.info["objectives"]["labour"] == pytest.approx(0.2, rel=1e-9)
        # the option (lead time 2) may start in 2021 only for capacity ready in 2023
        starts = plan_problem(load_economy(tmp_path / f"g{growth}")).lp.columns["investment"]
        assert starts.labels["start_year"].tolist() == ([2021] if growth is not None else [])


def test_a_plan_that_leaves_too_little_fails_verification(tmp_path: Path) -> None:
    from econplan.plan.verify import verify

    economy = load_economy(terminal_economy(tmp_path / "t", 0.5))
    plan = make_plan(economy, tolerance=TIGHT)
    tables = dict(plan.tables)
    tables["investment"] = tables["investment"].assign(units=0.0)
    found = verify(economy, tables)
    check = found.to_dict()["checks"]["terminal capacity"]  # type: ignore[index]
    assert check["max_violation"] == pytest.approx(5 / 15, rel=1e-9)
    assert check["worst"] == "px 2023"


def test_the_setting_is_written_back(tmp_path: Path) -> None:
    economy = load_economy(terminal_economy(tmp_path / "t", 0.03))
    again = load_economy(write_economy(economy, tmp_path / "copy"))
    assert again.settings.terminal_growth == 0.03
