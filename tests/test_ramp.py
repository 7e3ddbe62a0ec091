"""Ramping: output may rise by a declared share of capacity a year, besides the capacity that
comes into use; on an economy whose answer is known by hand, the plan keeps it, verification
checks it, and its valuation says what one more unit of room is worth."""

from __future__ import annotations

from pathlib import Path

import pytest

from econplan import load_economy
from econplan.io.write import write_economy
from econplan.plan import make_plan
from econplan.plan.verify import verify
from test_plan import TIGHT, build


def ramp_economy(folder: Path, ramp: float | None, option: bool = False) -> Path:
    """X made at a plant of capacity 10 that made 4 in the base year (2020); a tier-1 target
    of 10 in 2022. With ``option``: a new plant of 50 a unit, ready the year after it starts,
    for 100 person-years a unit."""
    build(
        folder,
        horizon=(2021, 2022),
        objective="labour",
        products="id,unit,sector,kind\nX,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\npx,s,X\n",
        process_io="process,product,flow,amount\npx,X,output,1\npx,labour,input,0.01\n",
        facilities="id,region,process,capacity,base_output\nplant,r,px,10,4\n",
        investments="id,kind,process,region,capacity,lead_time,max_units\n"
        + ("new_px,build,px,r,50,1,1\n" if option else ""),
        investment_costs="investment,product,amount\n" + ("new_px,labour,100\n" if option else ""),
        final_demand="category,product,region,basis,amount\n",
        targets="id,product,year,amount,kind\nmore_x,X,2022,10,tier1\n",
    )
    if ramp is not None:
        toml = folder / "economy.toml"
        toml.write_text(toml.read_text() + f"ramp = {ramp}\n")
    return folder


def produced(plan_tables: dict, year: int) -> float:  # type: ignore[type-arg]
    activity = plan_tables["activity"]
    return float(activity.loc[activity["year"] == year, "activity"].sum())


def test_output_ramps_by_a_share_of_capacity(tmp_path: Path) -> None:
    """A quarter of 10 a year from 4: at most 6.5 in 2021 and 9 in 2022, so the target of 10
    falls short by a tenth; without the ramp it is met."""
    plan = make_plan(load_economy(ramp_economy(tmp_path / "ramp", 0.25)), tolerance=TIGHT)
    assert plan.ok, plan.info["verification"]
    assert "ramp" in plan.info["verification"]["checks"]
    assert produced(plan.tables, 2022) == pytest.approx(9.0, rel=1e-8)
    assert plan.info["objectives"]["tier1"] == pytest.approx(0.1, rel=1e-7)
    # the first stage values one more t of room in each year at a tenth of the target's
    # shortfall per t: 1 / 10 of the fraction
    valuations = plan.tables["valuations"]
    ramp = valuations[(valuations["constraint"] == "ramp") & (valuations["stage"] == "tier1")]
    assert sorted(ramp["year"].astype(int)) == [2021, 2022]
    assert ramp["valuation"].abs().tolist() == pytest.approx([0.1, 0.1], rel=1e-9)
    free = make_plan(load_economy(ramp_economy(tmp_path / "free", None)), tolerance=TIGHT)
    assert free.ok and produced(free.tables, 2022) == pytest.approx(10.0, rel=1e-8)
    assert "ramp" not in free.info["verification"]["checks"]


def test_new_capacity_adds_its_own_room(tmp_path: Path) -> None:
    """Capacity that comes into use adds room in full: 0.02 of a new plant (1 t of capacity)
    ready in 2022 lets 2022 reach 10, for 2 person-years of building."""
    economy = load_economy(ramp_economy(tmp_path / "ramp", 0.25, option=True))
    plan = make_plan(economy, tolerance=TIGHT)
    assert plan.ok, plan.info["verification"]
    assert plan.info["objectives"]["tier1"] == pytest.approx(0.0, abs=1e-9)
    assert produced(plan.tables, 2022) == pytest.approx(10.0, rel=1e-8)
    built = plan.tables["investment"]
    assert built["units"].sum() == pytest.approx(1 / 50, rel=1e-6)


def test_a_plan_that_jumps_fails_verification(tmp_path: Path) -> None:
    economy = load_economy(ramp_economy(tmp_path / "ramp", 0.25))
    plan = make_plan(economy, tolerance=TIGHT)
    tables = dict(plan.tables)
    activity = tables["activity"].copy()
    activity.loc[activity["year"] == 2022, "activity"] = 10.0
    tables["activity"] = activity
    check = verify(economy, tables).to_dict()["checks"]["ramp"]  # type: ignore[index]
    assert check["max_violation"] == pytest.approx(1 / 10, rel=1e-7)
    assert check["worst"] == "px r 2022"


def test_the_setting_is_written_back(tmp_path: Path) -> None:
    economy = load_economy(ramp_economy(tmp_path / "ramp", 0.25))
    assert economy.settings.ramp == 0.25
    again = load_economy(write_economy(economy, tmp_path / "copy"))
    assert again.settings.ramp == 0.25


def test_reported_facts_are_not_ramped(tmp_path: Path) -> None:
    """A re-plan holding 2021's activity at a reported 10 (above the 6.5 a ramp would allow)
    still plans: the fact has no ramp row, and 2022 ramps from it."""
    import pandas as pd

    from econplan.plan.fixed import Fixed

    economy = load_economy(ramp_economy(tmp_path / "ramp", 0.25))
    facts = pd.DataFrame(
        {"process": ["px"], "region": ["r"], "year": [2021], "lower": [10.0], "upper": [10.0]}
    )
    plan = make_plan(economy, tolerance=TIGHT, fixed=Fixed(activity=facts))
    assert plan.ok, plan.info["verification"]
    assert produced(plan.tables, 2021) == pytest.approx(10.0, rel=1e-12)
    assert produced(plan.tables, 2022) == pytest.approx(10.0, rel=1e-8)
    assert plan.info["objectives"]["tier1"] == pytest.approx(0.0, abs=1e-9)
