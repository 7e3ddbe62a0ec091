"""The built-in economy: the DPRK's 2021-2025 five-year plan."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from econplan import load_economy, technology_matrix
from econplan.analysis.calibration import calibration
from econplan.cli import main
from econplan.model.economy import Economy
from econplan.model.technology import spectral_radius


@pytest.fixture(scope="module")
def economy() -> Economy:
    return load_economy()


def test_validates_with_the_promised_size() -> None:
    result = CliRunner().invoke(main, ["validate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["problems"] == []
    counts = report["counts"]
    assert counts["regions"] >= 10
    assert counts["products"] >= 60
    assert counts["processes"] >= 80
    assert counts["facilities"] >= 40
    assert counts["targets"] >= 15
    assert counts["years"] == 5


def test_summary_runs() -> None:
    result = CliRunner().invoke(main, ["summary"])
    assert result.exit_code == 0, result.output
    assert "Calibration" in result.output


def test_years_and_regions(economy: Economy) -> None:
    assert economy.settings.base_year == 2020
    assert economy.years == (2021, 2022, 2023, 2024, 2025)
    regions = economy.regions
    provinces = {
        "pyongyang", "south_pyongan", "north_pyongan", "chagang", "south_hwanghae",
        "north_hwanghae", "kangwon", "south_hamgyong", "north_hamgyong", "ryanggang",
    }  # fmt: skip
    assert provinces <= set(regions.index)
    assert regions.loc["komdok", "parent"] == "south_hamgyong"


def test_population_is_the_2020_estimate(economy: Economy) -> None:
    population = economy.population
    assert population[2020].sum() == pytest.approx(25.37e6, rel=0.005)
    assert population[2021].sum() == pytest.approx(25.48e6, rel=0.005)
    assert (population > 0).all().all()


@pytest.mark.parametrize(
    "item", ["coal", "iron_ore", "crude_steel", "cement", "grain", "fish", "timber", "electricity"]
)
def test_base_year_is_calibrated_within_ten_percent(economy: Economy, item: str) -> None:
    checks = calibration(economy)
    rows = checks[checks["item"].str.contains(item)]
    assert len(rows) >= 1, f"no observed statistic for {item}"
    for row in rows.to_dict(orient="records"):
        assert row["tolerance"] <= 0.1
        assert abs(row["deviation"]) <= 0.1, row


def test_seed_targets(economy: Economy) -> None:
    targets = economy.targets
    cement = targets[(targets["product"] == "cement") & targets["region"].isna()]
    assert cement.loc[cement["year"] == 2025, "amount"].max() == pytest.approx(8e6)
    assert len(cement) >= 3, "a path to 8 Mt, not only the end point"
    flats = targets[
        (targets["region"] == "pyongyang") & targets["product"].str.contains("flat", na=False)
    ]
    assert sorted(flats["year"]) == [2021, 2022, 2023, 2024, 2025]
    assert (flats["amount"] == 10_000).all()
    komdok = targets[targets["region"] == "komdok"]
    assert komdok["amount"].sum() == pytest.approx(25_000)
    food = targets[(targets["kind"] == "hard") & (targets["basis"] == "per_head")]
    assert sorted(food["year"]) == [2021, 2022, 2023, 2024, 2025]
    assert (targets["measure"] == "imports").any() or economy.trade["import_cap"].notna().any()
    assert (economy.final_demand["category"] == "defence").any()


def test_several_technologies_where_the_seeds_name_them(economy: Economy) -> None:
    makers = economy.processes.groupby("main_product").size()
    assert makers["pig_iron"] >= 2  # imported coke and domestic coal
    assert makers["electricity"] >= 5  # hydro, coal; wind, solar, tidal, nuclear as options
    io = economy.process_io
    joint = io[io["flow"] == "output"].groupby("process").size()
    assert (joint > 1).any(), "at least one process with joint products"


def test_technologies_yield_a_net_surplus(economy: Economy) -> None:
    technology = technology_matrix(economy, year=economy.settings.base_year)
    assert spectral_radius(technology.A) < 1.0


def test_balance_and_analyse_run_on_the_built_in_economy() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["balance", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["year"] == 2020
    # regions without their own coal must be shipped it: the base year shows that plainly
    regional = [r for r in report["regional"] if r["difference"] < 0]
    assert regional
    result = runner.invoke(main, ["analyse", "--json"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.output)
    assert analysis["products"] >= 60
    assert all(s["residual"] <= 1e-10 for s in analysis["solves"].values())
    assert {"labour", "energy", "imports"} <= set(analysis["units"])
