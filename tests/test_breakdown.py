"""Control figures: the plan broken down to enterprises adds up to the plan, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from econplan import load_economy
from econplan.execution.breakdown import (
    BreakdownError,
    ControlFigures,
    control_figures,
    monthly_shares,
)
from econplan.model.economy import Economy
from econplan.plan import load_plan, make_plan
from econplan.plan.flows import plan_flows, production
from econplan.plan.output import Plan, economy_hash
from econplan.validate import validate

EXACT = 1e-9
KEY = ["process", "region", "year"]
NAMED = (
    "sunchon_cement_kilns",
    "sunchon_cement_mill",
    "sangwon_cement_kilns",
    "sangwon_cement_mill",
    "kim_chaek_steel_works",
    "musan_mining_complex",
    "musan_concentrator",
    "huichon_power_stations",
)


def close(found: pd.Series, wanted: pd.Series) -> None:
    """``found`` equals ``wanted`` (same index) to 1e-9 of each figure."""
    found, wanted = found.align(wanted, fill_value=0.0)
    gap = np.abs(found - wanted) / np.maximum(np.abs(wanted), 1.0)
    assert gap.max() <= EXACT, gap.sort_values().tail()


def check_adds_up(economy: Economy, plan: Plan, figures: ControlFigures) -> None:
    """Units carry exactly the plan's activity; their outputs, inputs and labour are the
    plan's; each figure's months add up to its year's activity times its coefficient."""
    planned = plan.activity[plan.activity["activity"] != 0].set_index(KEY)["activity"]
    close(figures.activity.groupby(KEY)["activity"].sum(), planned)
    made = production(economy, plan.tables).set_index(["product", "region", "year"])["amount"]
    outputs = figures.figures[figures.figures["kind"] == "output"]
    close(outputs.groupby(["product", "region", "year"])["amount"].sum(), made)
    # inputs and labour: the coefficients of each year times the plan's activity
    used = []
    for year in economy.years:
        act = plan.activity[(plan.activity["year"] == year) & (plan.activity["activity"] != 0)]
        coo = economy.inputs(year)[:, economy.process_ids.get_indexer(act["process"])].tocoo()
        used.append(
            pd.DataFrame(
                {
                    "product": economy.product_ids[coo.row],
                    "region": act["region"].to_numpy()[coo.col],
                    "year": year,
                    "amount": coo.data * act["activity"].to_numpy()[coo.col],
                }
            )
        )
    inputs = pd.concat(used).groupby(["product", "region", "year"])["amount"].sum()
    taken = figures.figures[figures.figures["kind"] != "output"]
    close(taken.groupby(["product", "region", "year"])["amount"].sum(), inputs)
    # month by month: each unit's twelve months make its year
    yearly = outputs.groupby(["facility", "process", "product", "year"])["amount"].sum()
    unit = figures.activity.set_index(["facility", "process", "year"])["activity"]
    level = unit.reindex(yearly.index.droplevel("product")).to_numpy()
    coefficient = [
        economy.outputs(y)[economy.product_ids.get_loc(p), economy.process_ids.get_loc(k)]
        for _, k, p, y in yearly.index
    ]
    close(yearly, pd.Series(level * np.asarray(coefficient), index=yearly.index))
    assert set(figures.figures["month"]) <= set(range(1, 13))


@pytest.fixture(scope="module")
def built(builtin_plan_dir: Path) -> tuple[Economy, Plan, ControlFigures]:
    economy = load_economy()
    plan = load_plan(builtin_plan_dir)
    return economy, plan, control_figures(economy, plan)


def test_builtin_figures_add_up_to_the_plan(built: tuple[Economy, Plan, ControlFigures]) -> None:
    economy, plan, figures = built
    check_adds_up(economy, plan, figures)
    columns = ["facility", "region", "process", "product", "year", "month", "kind", "amount"]
    assert list(figures.figures.columns) == columns
    assert set(figures.figures["kind"]) == {"output", "input", "labour"}


def test_builtin_capacity_is_what_the_plan_counted(
    built: tuple[Economy, Plan, ControlFigures],
) -> None:
    """The units' capacity is the plan's, process by process (the LP's own capacity rows)."""
    _, plan, figures = built
    named = figures.activity[~figures.activity["facility"].str.startswith("rest:")]
    total = plan.capacity.set_index(KEY)["total"]
    close(named.groupby(KEY)["capacity"].sum(), total[total != 0])
    assert (figures.activity["utilisation"].dropna() <= 1 + 1e-6).all()


def test_named_enterprises_get_their_own_figures(
    built: tuple[Economy, Plan, ControlFigures],
) -> None:
    economy, _, figures = built
    for facility in NAMED:
        mine = figures.for_facility(facility)
        process = economy.facilities.at[facility, "process"]
        main = economy.processes.at[process, "main_product"]
        made = mine.figures[(mine.figures["kind"] == "output") & (mine.figures["product"] == main)]
        assert sorted(set(made["year"])) == list(economy.years), facility
        assert (made["amount"] > 0).all()
        assert len(mine.figures[mine.figures["kind"] == "labour"]), facility
        assert mine.names.to_dict() == {facility: economy.facilities.at[facility, "name"]}
    sunchon = figures.for_facility("sunchon_cement_mill").to_wide()
    cement = sunchon[(sunchon["product"] == "cement") & (sunchon["kind"] == "output")]
    assert cement["unit"].eq("t").all()
    assert np.allclose(cement["total"], cement[["Jan", "Jun", "Dec"]].sum(axis=1) * 4)


def test_existing_capacity_is_loaded_evenly(built: tuple[Economy, Plan, ControlFigures]) -> None:
    """Facilities of one process and region run at one utilisation (proportional rule)."""
    _, _, figures = built
    existing = figures.activity[
        ~figures.activity["facility"].str.contains(":")
        & ~figures.activity["facility"].isin(figures.tasks["facility"])
    ]
    spread = existing.groupby(KEY)["utilisation"].agg(lambda u: u.max() - u.min())
    assert spread.max() <= 1e-9


def test_tasks_use_the_plans_investment_spending(
    built: tuple[Economy, Plan, ControlFigures],
) -> None:
    economy, plan, figures = built
    spending = pd.concat(
        [flows.investment.assign(year=flows.year) for flows in plan_flows(economy, plan.tables)]
    )
    close(
        figures.materials.groupby(["product", "region", "year"])["amount"].sum(),
        spending.groupby(["product", "region", "year"])["amount"].sum(),
    )
    # each task: the option's bill times the units, an equal part in each year of its lead time
    costs = economy.investment_costs
    options = economy.investments
    for task in figures.tasks.itertuples():
        lead = int(options.at[task.option, "lead_time"])
        assert task.ready_year == task.start_year + lead
        bill = costs[costs["investment"] == task.option].set_index("product")["amount"]
        mine = figures.materials[
            (figures.materials["option"] == task.option)
            & (figures.materials["start_year"] == task.start_year)
        ]
        assert set(mine["year"]) == set(range(task.start_year, task.start_year + lead))
        assert (mine["facility"] == task.facility).all()
        close(mine.groupby("product")["amount"].sum(), bill * task.units)
    built_new = figures.tasks[figures.tasks["action"] == "build"]
    assert built_new["facility"].str.startswith("new:").all()
    renovated = figures.tasks[figures.tasks["action"] == "renovate"]
    assert renovated["facility"].isin(economy.facility_ids).all()


def test_new_capacity_only_from_its_ready_year(
    built: tuple[Economy, Plan, ControlFigures],
) -> None:
    _, _, figures = built
    new = figures.activity[figures.activity["facility"].str.startswith("new:")]
    ready = figures.tasks.groupby("facility")["ready_year"].min()
    assert len(new) and (new["year"].to_numpy() >= ready.reindex(new["facility"]).to_numpy()).all()
    assert figures.names[new["facility"]].str.startswith("New: ").all()


def test_seasonal_profiles_of_the_builtin_economy(
    built: tuple[Economy, Plan, ControlFigures],
) -> None:
    economy, _, figures = built
    shares = monthly_shares(economy)
    assert len(shares) == 12 * len(economy.product_ids)
    assert np.allclose(shares.groupby("product")["share"].sum(), 1.0, rtol=0, atol=1e-15)
    wide = shares.pivot(index="product", columns="month", values="share")
    assert np.allclose(wide.loc["cement"], 1 / 12)
    assert wide.loc["rice"].to_dict() == {m: {9: 0.4, 10: 0.6}.get(m, 0.0) for m in range(1, 13)}
    assert wide.loc["flat"].idxmax() == 10 and wide.loc["flat", 1] < 1 / 12
    rice = figures.figures[(figures.figures["process"] == "rice_farming")]
    assert set(rice.loc[rice["kind"] == "output", "month"]) == {9, 10}
    # fertilizer and labour go in while the crop grows, before the harvest
    assert set(rice.loc[rice["kind"] == "labour", "month"]) == set(range(4, 11))
    assert set(
        monthly_shares(economy, "input").query("product == 'rice' and share > 0")["month"]
    ) == set(range(4, 11))


def test_filters(built: tuple[Economy, Plan, ControlFigures]) -> None:
    economy, _, figures = built
    north = figures.for_region("north_hamgyong")
    assert set(north.figures["region"]) == {"north_hamgyong"}
    assert "musan_mining_complex" in north.names.index
    whole = figures.for_region("pyongyang", below=True)
    members = set(economy.region_members["pyongyang"])
    assert set(whole.activity["region"]) <= members
    with pytest.raises(BreakdownError, match="no facility 'sunchon'"):
        figures.for_facility("sunchon")
    with pytest.raises(BreakdownError, match="no region 'atlantis'"):
        figures.for_region("atlantis")
    wide = figures.for_facility("musan_mining_complex").to_wide()
    assert list(wide.columns[-13:]) == [
        *["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        "total",
    ]


def plannable(folder: Path) -> Path:
    """The tiny economy's hard targets cannot all hold (it tests diagnosis): as priorities
    instead, it has an optimal plan."""
    targets = folder / "targets.csv"
    targets.write_text(targets.read_text().replace(",hard,", ",tier1,"))
    return folder


def test_tiny_economy(tiny_copy: Path) -> None:
    economy = load_economy(plannable(tiny_copy))
    plan = make_plan(economy)
    assert plan.ok
    figures = control_figures(economy, plan)
    check_adds_up(economy, plan, figures)
    # the south power station closes after 2022, the horizon's end: it has figures throughout
    assert set(figures.for_facility("south_power").activity["year"]) == {2021, 2022}


def hand_made(tmp_path: Path, tiny_path: Path) -> Economy:
    """The tiny economy with a second north mine of half the first one's capacity, a mine
    closed before the plan, and an option to build a third from 2022."""
    import shutil

    folder = tmp_path / "hand"
    shutil.copytree(tiny_path, folder)
    with (folder / "facilities.csv").open("a") as f:
        f.write("north_mine_2,Second north mine,north,coal_mining,500,400,,,central,t,assumption\n")
        f.write("old_mine,Old mine,north,coal_mining,700,,,2020,central,t,assumption\n")
    with (folder / "investments.csv").open("a") as f:
        f.write("north_new_mine,New north mine,build,coal_mining,north,,300,1,2021,,1\n")
    return load_economy(folder)


def fake_plan(economy: Economy, activity: list[tuple[str, str, int, float]]) -> Plan:
    """A plan of ``economy`` that runs the given activity, with one north mine built in 2021."""
    info = {"status": "optimal", "economy": {"name": "hand", "hash": economy_hash(economy)}}
    tables = {
        "activity": pd.DataFrame(activity, columns=[*KEY, "activity"]),
        "investment": pd.DataFrame(
            {
                "option": ["north_new_mine"],
                "start_year": [2021],
                "units": [1.0],
                "kind": ["build"],
                "process": ["coal_mining"],
                "region": ["north"],
                "facility": [None],
                "capacity": [300.0],
                "ready_year": [2022],
            }
        ),
    }
    return Plan(info, tables)


def test_known_answer(tmp_path: Path, tiny_path: Path) -> None:
    """Two facilities of 2:1 capacity share 2:1; new capacity takes only what they cannot;
    a facility closed before the plan gets nothing; a process no one runs goes to rest:."""
    economy = hand_made(tmp_path, tiny_path)
    plan = fake_plan(
        economy,
        [
            ("coal_mining", "north", 2021, 900.0),
            ("coal_mining", "north", 2022, 1700.0),
            ("coal_mining", "south", 2021, 0.0),
        ],
    )
    figures = control_figures(economy, plan)
    got = figures.activity.set_index(["facility", "year"])["activity"]
    assert got[("north_mine", 2021)] == pytest.approx(600.0, rel=1e-12)
    assert got[("north_mine_2", 2021)] == pytest.approx(300.0, rel=1e-12)
    assert got[("north_mine", 2022)] == pytest.approx(1000.0, rel=1e-12)
    assert got[("north_mine_2", 2022)] == pytest.approx(500.0, rel=1e-12)
    assert got[("new:north_new_mine", 2022)] == pytest.approx(200.0, rel=1e-12)
    assert "old_mine" not in set(figures.activity["facility"])
    assert ("new:north_new_mine", 2021) not in got.index  # not ready yet
    # outputs: a unit's coal is its activity (one t of coal a unit), evenly over the months
    coal = figures.figures[
        (figures.figures["product"] == "coal") & (figures.figures["kind"] == "output")
    ]
    by_month = coal[coal["facility"] == "north_mine_2"].groupby(["year", "month"])["amount"].sum()
    coefficient = economy.outputs(2021)[
        economy.product_ids.get_loc("coal"), economy.process_ids.get_loc("coal_mining")
    ]
    assert np.allclose(by_month.loc[2021], 300.0 * coefficient / 12, rtol=1e-12)
    assert figures.tasks["facility"].tolist() == ["new:north_new_mine"]


def test_activity_without_capacity_goes_to_a_residual_unit(tmp_path: Path, tiny_path: Path) -> None:
    economy = hand_made(tmp_path, tiny_path)
    # rail runs only in the north: a small activity in the south (within tolerance)
    plan = fake_plan(economy, [("rail", "south", 2021, 1e-7)])
    figures = control_figures(economy, plan)
    rest = figures.activity[figures.activity["facility"].str.startswith("rest:")]
    assert rest["facility"].tolist() == ["rest:rail:south"]
    assert rest["activity"].tolist() == [1e-7] and np.isnan(rest["capacity"]).all()
    assert figures.names["rest:rail:south"].startswith("Other Railway in ")
    with pytest.raises(BreakdownError, match="beyond the 1,500 of capacity"):
        control_figures(economy, fake_plan(economy, [("coal_mining", "north", 2021, 1600.0)]))


def test_refuses_plans_it_cannot_break_down(
    tmp_path: Path, tiny_path: Path, built: tuple[Economy, Plan, ControlFigures]
) -> None:
    economy, plan, _ = built
    with pytest.raises(BreakdownError, match="another economy"):
        control_figures(load_economy(tiny_path), plan)
    with pytest.raises(BreakdownError, match="not 'optimal'"):
        control_figures(economy, Plan({"status": "infeasible"}))


def test_validation_of_seasonal_profiles(tiny_copy: Path) -> None:
    (tiny_copy / "seasonality.csv").write_text(
        "product,sector,flow,month,share,source\n"
        "grain_crop,,output,9,0.5,assumption\n"
        "grain_crop,,output,10,0.4,assumption\n"
        ",construction,,4,1,assumption\n"
        "coal,energy,,1,1,assumption\n"
        "steel,,,13,1,assumption\n"
    )
    problems = [str(p) for p in validate(tiny_copy).problems]
    assert any(
        p.startswith("seasonality.csv:2: [share]") and "add up to 0.9" in p for p in problems
    ), problems
    assert any(p.startswith("seasonality.csv:5: [product]") for p in problems), problems
    assert any(p.startswith("seasonality.csv:6: [month]") for p in problems), problems
    assert not any(":4:" in p for p in problems)


def test_sector_profiles_and_flat_default(tiny_copy: Path) -> None:
    (tiny_copy / "seasonality.csv").write_text(
        "product,sector,flow,month,share,source\n"
        ",construction,output,4,0.5,assumption\n"
        ",construction,output,5,0.5,assumption\n"
        "flat,,input,1,0.3333333,assumption\n"
        "flat,,input,2,0.3333333,assumption\n"
        "flat,,input,3,0.3333333,assumption\n"
        ",agriculture,output,9,1,assumption\n"
        ",grain,output,8,1,assumption\n"
    )
    economy = load_economy(plannable(tiny_copy))
    out = monthly_shares(economy).pivot(index="product", columns="month", values="share")
    inp = monthly_shares(economy, "input").pivot(index="product", columns="month", values="share")
    assert out.loc["flat", 4] == 0.5 and out.loc["flat", 1] == 0.0
    assert np.allclose(out.loc["coal"], 1 / 12)
    assert inp.loc["flat", 1] == pytest.approx(1 / 3, abs=1e-15) and inp.loc["flat", 4] == 0.0
    assert inp.loc["flat"].sum() == pytest.approx(1.0, abs=1e-15)
    plan = make_plan(economy)
    figures = control_figures(economy, plan)
    check_adds_up(economy, plan, figures)
    # grain's own sector is nearer than agriculture; without input rows, inputs follow output
    farming = figures.figures[figures.figures["process"] == "farming"]
    assert len(farming) and set(farming["month"]) == {8}
