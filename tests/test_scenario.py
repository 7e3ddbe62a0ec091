"""Scenarios: each kind of change with its exact effect on the economy's tables, bad files,
the shipped scenarios, and soft claims that turn an infeasible plan into a partial one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.plan import make_plan
from econplan.scenario import ScenarioError, apply_scenario, read_scenario, shipped
from econplan.validate import load_economy

TINY = Path(__file__).parent / "data" / "tiny"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny economy without its two hard targets that no plan meets: a feasible base."""
    folder = tmp_path_factory.mktemp("small") / "economy"
    shutil.copytree(TINY, folder)
    targets = folder / "targets.csv"
    kept = [
        line
        for line in targets.read_text().splitlines()
        if not line.startswith(("flats_2021", "food_2021"))
    ]
    targets.write_text("\n".join(kept) + "\n")
    return folder


def scenario(folder: Path, body: str, name: str = "s.toml", base: str = "economy") -> Path:
    path = folder.parent / name
    path.write_text(f'name = "test"\nbase = "{base}"\n{body}')
    return path


def applied(small: Path, body: str) -> tuple[pd.DataFrame, ...]:
    return apply_scenario(scenario(small, body)).economy, load_economy(small)  # type: ignore[return-value]


def test_targets_scale_set_and_kind(small: Path) -> None:
    economy, base = applied(
        small,
        """
[[change]]
kind = "targets"
id = "steel_2022"
scale = 1.5
[[change]]
kind = "targets"
product = "coal"
set = 50
target_kind = "tier2"
""",
    )
    targets = economy.targets
    assert targets.at["steel_2022", "amount"] == 180.0
    assert targets.at["coal_imports_2021", "amount"] == 50.0
    assert targets.at["coal_imports_2021", "kind"] == "tier2"
    assert targets.at["steel_2022_more", "amount"] == base.targets.at["steel_2022_more", "amount"]
    assert base.targets.at["steel_2022", "amount"] == 120.0  # the base is untouched


def test_trade_caps_by_year(small: Path) -> None:
    economy, _ = applied(
        small,
        """
[[change]]
kind = "trade"
product = ["coal", "grain_crop"]
years = [2022, 2022]
import_cap = 0
""",
    )
    trade = economy.tables["trade"]
    dated = trade[trade["year"] == 2022].set_index("product")
    # coal gets a dated row copied from its undated one; grain's own dated row is changed
    assert dated.at["coal", "import_cap"] == 0.0
    assert dated.at["coal", "import_price"] == 50.0
    assert dated.at["grain_crop", "import_cap"] == 0.0
    assert dated.at["grain_crop", "import_price"] == 320.0
    undated = trade[trade["year"].isna()].set_index("product")
    assert undated.at["coal", "import_cap"] == 100.0
    assert len(trade) == 5


def test_capacity_loss_with_linear_recovery(small: Path) -> None:
    economy, _ = applied(
        small,
        """
[[change]]
kind = "capacity"
facility = "north_mine"
from = 2021
lost = 0.4
recovery_years = 2
""",
    )
    facilities = economy.facilities
    # 2021: 60% left, 2022: 80%: the original keeps 60%, a piece for 2022 the next 20%, and the
    # capacity before 2021 is whole (with the base year's output split alike)
    assert facilities.at["north_mine", "capacity"] == pytest.approx(600.0)
    assert facilities.at["north_mine", "base_output"] == pytest.approx(480.0)
    before = facilities.loc["north_mine~before"]
    assert before["capacity"] == pytest.approx(400.0)
    assert before["base_output"] == pytest.approx(320.0)
    assert before["last_year"] == 2020
    piece = facilities.loc["north_mine~2022"]
    assert piece["capacity"] == pytest.approx(200.0)
    assert piece["first_year"] == 2022 and pd.isna(piece["last_year"])
    for year, expected in ((2020, 1000.0), (2021, 600.0), (2022, 800.0)):
        open_ = economy.operating(year)
        rows = facilities[open_.to_numpy() & facilities.index.str.startswith("north_mine")]
        assert rows["capacity"].sum() == pytest.approx(expected)
    assert economy.base_activity["coal_mining"] == pytest.approx(800.0 + 500.0)


def test_capacity_of_a_region_with_a_path(small: Path) -> None:
    economy, base = applied(
        small,
        """
[[change]]
kind = "capacity"
region = "north"
from = 2022
path = [0.5]
""",
    )
    facilities = economy.facilities
    # every facility of north and of mine_town (inside it) keeps half from 2022
    for facility in ("north_mine", "north_steel", "mine_town_mine", "builders", "railway"):
        full = base.facilities.at[facility, "capacity"]
        assert facilities.at[facility, "capacity"] == pytest.approx(full / 2)
        assert facilities.at[f"{facility}~before", "last_year"] == 2021
    assert facilities.at["south_farm", "capacity"] == 1000.0


def test_shock_on_outputs_in_a_year(small: Path) -> None:
    economy, _ = applied(
        small,
        """
[[change]]
kind = "shock"
sector = "agriculture"
years = 2022
factor = 0.8
""",
    )
    farming = economy.process_ids.get_loc("farming")
    grain = economy.product_ids.get_loc("grain_crop")
    assert economy.outputs(2021)[grain, farming] == 1.0
    assert economy.outputs(2022)[grain, farming] == pytest.approx(0.8)
    assert economy.inputs(2022).toarray()[:, farming].sum() == pytest.approx(0.15)


def test_shock_on_inputs_keeps_dated_rows(small: Path) -> None:
    economy, _ = applied(
        small,
        """
[[change]]
kind = "shock"
process = "steel_making"
years = [2021, 2022]
on = "inputs"
factor = 2
""",
    )
    steel = economy.process_ids.get_loc("steel_making")
    coal = economy.product_ids.get_loc("coal")
    assert economy.inputs(2021)[coal, steel] == pytest.approx(1.6)
    assert economy.inputs(2022)[coal, steel] == pytest.approx(1.4)  # its own 2022 row, doubled
    assert economy.outputs(2022).toarray()[:, steel].sum() == 1.0


def test_population_and_demand(small: Path) -> None:
    economy, base = applied(
        small,
        """
[[change]]
kind = "population"
region = "north"
years = 2022
factor = 0.5
[[change]]
kind = "demand"
category = "consumption"
years = 2022
factor = 2
""",
    )
    people = economy.population
    assert people.at["north", 2022] == 1010.0
    assert people.at["mine_town", 2022] == 260.0  # inside north
    assert people.at["north", 2021] == 2010.0
    assert people.at["south", 2022] == 3020.0
    demand = economy.tables["final_demand"]
    grain = demand[demand["category"] == "consumption"].set_index("year")["amount"]
    assert grain.to_dict() == {2020: 0.2, 2021: 0.2, 2022: 0.4}
    assert len(base.tables["final_demand"]) == 3


def test_add_and_remove_rows(small: Path) -> None:
    economy, _ = applied(
        small,
        """
[[change]]
kind = "add"
table = "links"
[[change.rows]]
id = "north_mine_town"
origin = "north"
destination = "mine_town"
mode = "road"
capacity = 500
[[change]]
kind = "remove"
table = "investments"
id = "new_mine"
""",
    )
    assert economy.links.at["north_mine_town", "capacity"] == 500.0
    assert list(economy.investments.index) == ["steel_renovation"]
    assert set(economy.tables["investment_costs"]["investment"]) == {"steel_renovation"}


def test_scenario_on_a_scenario(small: Path) -> None:
    scenario(
        small,
        '[[change]]\nkind = "targets"\nid = "steel_2022"\nscale = 2\n',
        name="first.toml",
    )
    second = scenario(
        small,
        '[[change]]\nkind = "targets"\nid = "steel_2022"\nscale = 0.5\n',
        name="second.toml",
        base="first.toml",
    )
    result = apply_scenario(second)
    assert result.economy.targets.at["steel_2022", "amount"] == 120.0
    assert [s.path.name for s in result.scenario.chain] == ["first.toml", "second.toml"]
    assert result.scenario.hash != read_scenario(small.parent / "first.toml").hash


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        apply_scenario(path)
    return [str(p) for p in caught.value.problems]


def test_bad_files_name_file_change_and_key(small: Path) -> None:
    path = scenario(
        small,
        """
colour = "red"
[[change]]
kind = "targets"
id = "no_such_target"
scale = "big"
[[change]]
kind = "trade"
product = "coal"
import_cap = 0
years = [2023, 2024]
[[change]]
kind = "capacity"
facility = "ghost_works"
from = 2021
lost = 1.5
[[change]]
kind = "earthquake"
""",
    )
    found = problems(path)
    file = str(path)
    assert (
        f"{file}: [colour] the file has no key 'colour': use name, description, base, change"
        in found
    )
    assert f"{file}: change 1: [scale] give a number, not 'big'" in found
    assert f"{file}: change 3: [lost] 1.5 is above the most allowed, 1" in found
    assert any(p.startswith(f"{file}: change 4: [kind] 'earthquake' is not one of") for p in found)
    # the changes whose fields are sound are checked against the economy as well
    path = scenario(
        small,
        """
[[change]]
kind = "targets"
id = "no_such_target"
scale = 2
[[change]]
kind = "trade"
product = "coal"
import_cap = 0
years = [2023, 2024]
[[change]]
kind = "capacity"
facility = "ghost_works"
from = 2021
lost = 0.5
""",
    )
    found = problems(path)
    assert found == [
        f"{file}: change 1: [id] no target 'no_such_target' in the economy: give an id of "
        "targets.csv",
        f"{file}: change 2: [years] [2023, 2024] lies outside the horizon 2021-2022",
        f"{file}: change 3: [facility] no facility 'ghost_works' in the economy: give an id of "
        "facilities.csv",
    ]


def test_a_cycle_is_an_error(small: Path) -> None:
    scenario(small, "", name="a.toml", base="b.toml")
    b = scenario(small, "", name="b.toml", base="a.toml")
    found = problems(b)
    assert len(found) == 1 and "[base] scenarios are built on each other in a cycle" in found[0]


def test_a_change_that_breaks_validation_is_named(small: Path) -> None:
    path = scenario(
        small,
        """
[[change]]
kind = "add"
table = "facilities"
rows = [{id = "new_works", region = "nowhere", process = "farming", capacity = 10}]
""",
    )
    found = problems(path)
    assert found and all(p.startswith(f"{path}: change 1: [region]") for p in found)
    assert "the changed economy fails validation: facilities.csv" in found[0]


def test_command_line_exits_2_and_writes_nothing(small: Path, tmp_path: Path) -> None:
    path = scenario(small, '[[change]]\nkind = "targets"\nid = "ghost"\nscale = 2\n')
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{path}: change 1: [id] no target 'ghost'" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, ["scenario", "show", str(path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["problems"][0]["change"] == 1


def test_soft_claims_give_a_partial_plan(small: Path, tmp_path: Path) -> None:
    claim = "construction,steel,north,,absolute,500\n"
    hard = small.parent / "hard"
    shutil.copytree(small, hard)
    demand = hard / "final_demand.csv"
    demand.write_text(demand.read_text() + claim)
    assert make_plan(load_economy(hard)).status == "infeasible"
    path = scenario(
        hard,
        '[[change]]\nkind = "soft_claims"\ncategory = "construction"\npriority = 1\n',
        base="hard",
    )
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "plan.json").read_text())
    assert info["verification"]["valid"]
    assert info["stages"][0]["name"] == "claims1"
    assert info["scenario"]["name"] == "test"
    assert info["scenario"]["hash"] == read_scenario(path).hash
    short = pd.read_parquet(out / "claim_shortfall.parquet")
    # the steel claim of north (and mine_town inside it, by population) falls short, and no
    # more than the claim; verification counted the rest as delivered
    assert set(short["product"]) == {"steel"}
    assert (short["shortfall"] <= short["claimed"] + 1e-9).all()
    assert short.groupby("year")["claimed"].sum().tolist() == pytest.approx([500.0, 500.0])


def test_shipped_scenarios_apply_and_validate() -> None:
    names = sorted(shipped())
    assert names == ["bad_harvest", "cement_10mt", "sanctions", "typhoon"]
    assert sorted(p.name for p in (ROOT / "scenarios").iterdir()) == [f"{n}.toml" for n in names]
    for name in names:
        result = apply_scenario(name)
        assert result.economy != result.base
        assert result.scenario.name == name


def test_show_lists_changes_in_words() -> None:
    result = CliRunner().invoke(main, ["scenario", "show", "sanctions"])
    assert result.exit_code == 0, result.output
    assert "trade of coke, crude_oil (every year of the plan): imports capped at 0 t a year" in (
        result.output
    )


def test_apply_writes_the_changed_economy(tmp_path: Path) -> None:
    out = tmp_path / "cement"
    result = CliRunner().invoke(main, ["scenario", "apply", "cement_10mt", "--out", str(out)])
    assert result.exit_code == 0, result.output
    economy = load_economy(out)
    assert economy.targets.at["cement_2025", "amount"] == 10_000_000.0
    assert economy == apply_scenario("cement_10mt").economy


def test_a_scenario_held_by_faces_against_its_base(small: Path, tmp_path: Path) -> None:
    """`scenario run --hold face --reference BASE`: the plan is held by faces (plan.json says
    so), stays as close to its base as the objectives allow, and a scenario that changes
    nothing reproduces its base plan exactly."""
    base = tmp_path / "base"
    result = CliRunner().invoke(main, ["plan", str(small), "--out", str(base), "--hold", "face"])
    assert result.exit_code == 0, result.output
    path = scenario(small, '[[change]]\nkind = "targets"\nid = "steel_2022"\nscale = 1\n')
    out = tmp_path / "same"
    command = ["scenario", "run", str(path), "--out", str(out), "--hold", "face"]
    result = CliRunner().invoke(main, [*command, "--reference", str(base)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "plan.json").read_text())
    assert info["solver"]["hold"] == "face"
    assert info["reference"]["applied"] and info["reference"]["distance"] == pytest.approx(
        0.0, abs=1e-9
    )
    assert info["objectives"] == pytest.approx(
        json.loads((base / "plan.json").read_text())["objectives"], rel=1e-9, abs=1e-12
    )
