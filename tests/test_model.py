from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econplan import load_economy, technology_matrix
from econplan.model.technology import spectral_radius, unproductive_cycles


def test_coefficients_by_year(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    coal = economy.product_ids.get_loc("coal")
    steel = economy.process_ids.get_loc("steel_making")
    assert economy.inputs()[coal, steel] == 0.8
    assert economy.inputs(2021)[coal, steel] == 0.8
    assert economy.inputs(2022)[coal, steel] == 0.7  # the dated row replaces the blank one
    electricity = economy.product_ids.get_loc("electricity")
    assert economy.inputs(2022)[electricity, steel] == 0.5  # undated rows still hold
    net = economy.net_output(2022)
    assert net[economy.product_ids.get_loc("steel"), steel] == 1.0
    assert net[coal, steel] == -0.7


def test_indices_are_sorted(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    for ids in (economy.product_ids, economy.process_ids, economy.region_ids, economy.facility_ids):
        assert list(ids) == sorted(ids)


def test_economy_cannot_be_changed_through_its_views(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    products = economy.products
    products.loc["coal", "unit"] = "kg"
    assert economy.products.loc["coal", "unit"] == "t"
    matrix = economy.inputs()
    with pytest.raises(ValueError):
        matrix.data[0] = 99.0
    with pytest.raises(AttributeError):
        economy.settings.base_year = 1999  # type: ignore[misc]


def test_base_activity_and_production(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    # blank base_output means the facility ran at capacity: 800 + 500 t of coal
    assert economy.base_activity["coal_mining"] == 1300.0
    production = economy.production(economy.base_activity, 2020)
    assert production["coal"] == 1300.0
    assert production["electricity"] == 1200.0


def test_operating_years(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    assert economy.operating(2022)["south_power"]
    assert not economy.operating(2023)["south_power"]


def test_region_and_sector_hierarchies(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    assert economy.region_members["north"] == ("mine_town", "north")
    assert economy.sector_products["agriculture"] == ("grain_crop",)
    assert economy.population.loc["north", 2021] == 2010


def test_technology_matrix_by_hand(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    technology = technology_matrix(economy, year=2020)
    A = pd.DataFrame(technology.A.toarray(), index=technology.products, columns=technology.products)
    assert A.loc["coal", "electricity"] == 0.5
    assert A.loc["electricity", "coal"] == 0.01
    assert A.loc["steel", "flat"] == 5.0
    assert "labour" not in technology.products and "coal_seam" not in technology.products
    B = pd.DataFrame(technology.B.toarray(), index=technology.primary, columns=technology.products)
    assert B.loc["coal_seam", "coal"] == 1.0
    assert B.loc["labour", "grain_crop"] == 0.1
    # coal <-> electricity is the only cycle: rho = sqrt(0.5 * 0.01)
    assert spectral_radius(technology.A) == pytest.approx(np.sqrt(0.005))


def test_mix_weights_processes_by_base_year_activity(tmp_path: Path, tiny_path: Path) -> None:
    folder = tmp_path / "two"
    shutil.copytree(tiny_path, folder)
    with (folder / "processes.csv").open("a") as f:
        f.write("hydro_power,Hydro power,energy,electricity\n")
    with (folder / "process_io.csv").open("a") as f:
        f.write("hydro_power,electricity,output,1,,\nhydro_power,labour,input,0.0003,,\n")
    with (folder / "facilities.csv").open("a") as f:
        f.write("dam,Dam,north,hydro_power,3000,600,,,central,,\n")
    economy = load_economy(folder)
    technology = technology_matrix(economy, year=2020)
    coal = technology.products.get_loc("coal")
    electricity = technology.products.get_loc("electricity")
    # thermal made 1200 MWh, hydro 600: two thirds of a MWh is thermal, at 0.5 t of coal
    assert technology.A[coal, electricity] == pytest.approx(0.5 * 1200 / 1800)
    labour = technology.primary.get_loc("labour")
    assert technology.B[labour, electricity] == pytest.approx((0.0001 * 1200 + 0.0003 * 600) / 1800)


def test_unproductive_cycles_name_their_products() -> None:
    import scipy.sparse as sp

    # a and b feed each other beyond reproduction; c is fine and d only feeds itself a little
    A = sp.csr_matrix(
        np.array(
            [[0.0, 2.0, 0.0, 0.0], [0.6, 0.0, 0.1, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.5]]
        )
    )
    cycles = unproductive_cycles(A, pd.Index(["a", "b", "c", "d"]))
    assert [c.products for c in cycles] == [("a", "b")]
    assert cycles[0].spectral_radius == pytest.approx(np.sqrt(1.2))


def test_investment_bill(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    bill = economy.investment_bill
    steel = economy.product_ids.get_loc("steel")
    assert bill.shape == (len(economy.product_ids), 2)
    assert bill[steel, 0] == 10.0  # new_mine (options are sorted by id)
    assert bill[steel, 1] == 5.0  # steel_renovation


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    density=st.floats(0.05, 0.6),
    scale=st.floats(0.05, 1.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_cycles_explain_the_spectral_radius(
    n: int, density: float, scale: float, seed: int
) -> None:
    """rho(A) >= 1 exactly when some strongly connected group has radius >= 1, and the
    largest group radius is rho(A) itself."""
    import scipy.sparse as sp

    A = sp.random(n, n, density=density, random_state=seed, format="csr") * scale
    rho = float(np.max(np.abs(np.linalg.eigvals(A.toarray())))) if n else 0.0
    cycles = unproductive_cycles(sp.csr_matrix(A), pd.Index([f"p{i}" for i in range(n)]))
    if rho >= 1.0 + 1e-9:
        assert cycles and cycles[0].spectral_radius == pytest.approx(rho, rel=1e-9)
    elif rho < 1.0 - 1e-9:
        assert cycles == []


def test_own_use_is_an_input_of_the_main_product(tmp_path: Path, tiny_path: Path) -> None:
    folder = tmp_path / "own"
    shutil.copytree(tiny_path, folder)
    with (folder / "process_io.csv").open("a") as f:
        f.write("coal_mining,coal,input,0.05,,\ncoal_mining,coal,input,0.04,2022,\n")
    economy = load_economy(folder)
    coal = economy.product_ids.get_loc("coal")
    mining = economy.process_ids.get_loc("coal_mining")
    assert economy.inputs(2021)[coal, mining] == 0.05
    assert economy.inputs(2022)[coal, mining] == 0.04  # the dated input replaces the undated one
    assert economy.outputs(2022)[coal, mining] == 1.0  # and leaves the output alone
    technology = technology_matrix(economy, year=2021)
    assert (
        technology.A[technology.products.get_loc("coal"), technology.products.get_loc("coal")]
        == 0.05
    )
