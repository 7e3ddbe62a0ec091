"""Material balances and input-output analysis, against hand calculations, dense oracles and
identities that must hold."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from econplan import load_economy
from econplan.analysis.balance import Flows, base_year_flows, material_balance
from econplan.analysis.inputoutput import analyse, ghosh_forward
from econplan.analysis.leontief import (
    SolveError,
    embodied,
    output_multipliers,
    solve,
    total_output,
)
from econplan.cli import main
from econplan.model.economy import Economy

TINY = Path(__file__).parent / "data" / "tiny"


@cache
def tiny() -> Economy:
    return load_economy(TINY)


def test_base_year_balance_by_hand(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    balance = material_balance(economy, [base_year_flows(economy)])
    national = balance.national().set_index("product")
    assert national.loc["coal", "sources"] == 1300.0
    assert national.loc["coal", "uses"] == pytest.approx(600 + 0.8 * 80)  # power + steel
    # 0.2 t of grain per head for 5,500 people against 1,000 t harvested
    assert national.loc["grain_crop", "uses"] == pytest.approx(1100.0)
    assert national.loc["grain_crop", "difference"] == pytest.approx(-100.0)
    # defence reserve: 5% of the steel made
    flows = balance.by_flow().loc[("steel", 2020)]
    assert flows["final"] == pytest.approx(0.05 * 80)
    # labour supply is an endowment
    assert national.loc["labour", "sources"] == 2750.0
    shortfalls = balance.shortfalls()
    assert list(shortfalls["product"]) == ["grain_crop"]
    regional = balance.shortfalls(regional=True)
    assert ("south", "coal") in set(zip(regional["region"], regional["product"], strict=True))


def test_base_year_trade_enters_the_balance(tmp_path: Path, tiny_path: Path) -> None:
    folder = tmp_path / "trading"
    shutil.copytree(tiny_path, folder)
    trade = pd.read_csv(folder / "trade.csv", dtype=str, keep_default_na=False)
    trade["base_imports"] = ["40", "30", "", ""]
    trade["base_exports"] = ["", "", "", "10"]
    trade.to_csv(folder / "trade.csv", index=False)
    economy = load_economy(folder)
    balance = material_balance(economy, [base_year_flows(economy)])
    flows = balance.by_flow(("product", "region", "year"))
    # imports go where the product is used: coal is used in the south (power) and north (steel)
    coal = flows.loc[pd.IndexSlice["coal", :, 2020], "imports"].droplevel([0, 2])
    assert coal.sum() == pytest.approx(40.0)
    assert coal["south"] == pytest.approx(40.0 * 600 / 664)
    assert flows.loc[pd.IndexSlice["steel", :, 2020], "exports"].sum() == pytest.approx(10.0)


@settings(max_examples=40, deadline=None)
@given(
    activity=st.lists(st.floats(0, 1e4), min_size=7, max_size=7),
    imports=st.floats(0, 1e3),
    shipped=st.floats(0, 1e3),
)
# found by hypothesis: steel only shipped, nothing made, had no national balance at all
@example(activity=[0.0] * 7, imports=0.0, shipped=1.0)
def test_balance_identities(activity: list[float], imports: float, shipped: float) -> None:
    """Sources minus uses is the reported difference, and regions add up to the nation."""
    economy = tiny()
    facilities = economy.tables["facilities"]
    flows = Flows(
        2021,
        pd.DataFrame(
            {"process": facilities["process"], "region": facilities["region"], "amount": activity}
        ),
        imports=pd.DataFrame({"product": ["coal"], "region": ["south"], "amount": [imports]}),
        shipments=pd.DataFrame(
            {
                "product": ["steel"],
                "origin": ["north"],
                "destination": ["south"],
                "amount": [shipped],
            }
        ),
        stock_change=pd.DataFrame(
            {"product": ["grain_crop"], "region": ["south"], "amount": [-shipped]}
        ),
    )
    balance = material_balance(economy, [flows])
    regional, national = balance.regional(), balance.national()
    assert np.allclose(regional["sources"] - regional["uses"], regional["difference"])
    summed = regional.groupby(["product", "year"])[["sources", "uses", "difference"]].sum()
    national_ = national.set_index(["product", "year"])
    assert np.allclose(summed["difference"], national_["difference"])
    # nationally, shipments between regions are neither sources nor uses
    shipped_by = balance.by_flow().reindex(columns=["shipments_in"], fill_value=0.0)
    inland = shipped_by["shipments_in"].reindex(summed.index, fill_value=0.0)
    assert np.allclose(summed["sources"] - inland, national_["sources"])
    assert np.allclose(summed["uses"] - inland, national_["uses"])
    entries = balance.entries
    signed = entries["amount"].where(entries["side"] == "source", -entries["amount"])
    assert signed.sum() == pytest.approx(national["difference"].sum(), abs=1e-6)
    # shipments leave one region and arrive in another: nationally they cancel
    by_flow = balance.by_flow()
    if shipped > 0:
        assert by_flow["shipments_in"].sum() == pytest.approx(by_flow["shipments_out"].sum())


def productive_matrix(n: int, density: float, radius: float, seed: int) -> sp.csr_matrix:
    A = sp.random(n, n, density=density, random_state=seed, format="csr")
    if A.nnz == 0:
        return A
    rho = np.max(np.abs(np.linalg.eigvals(A.toarray())))
    return sp.csr_matrix(A * (radius / rho)) if rho > 0 else A


WELL_CONDITIONED = 1e6
"""The condition number of I - A up to which a solve to 1e-10 can be asked for: random
sparse matrices scaled to a spectral radius of 0.95 can be so far from normal that I - A's
condition number reaches 2e9 (n = 22, density 0.05, seed 251797259: LU's own residual
1.8e-9), found by this test's hypothesis in a CI run."""


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    density=st.floats(0.05, 0.5),
    radius=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**31 - 1),
)
@example(n=22, density=0.05, radius=0.95, seed=251797259)
def test_sparse_solves_equal_the_dense_inverse(
    n: int, density: float, radius: float, seed: int
) -> None:
    A = productive_matrix(n, density, radius, seed)
    rng = np.random.default_rng(seed)
    d = rng.random(n)
    B = sp.csr_matrix(rng.random((2, n)))
    if np.linalg.cond(np.eye(n) - A.toarray()) > WELL_CONDITIONED:
        # no solve reaches 1e-10 there for sure: refused, or reached and said so, never
        # a silently inaccurate answer
        try:
            reached = total_output(A, d)
        except SolveError as error:
            assert "no accurate solution" in str(error) or "singular" in str(error)
        else:
            assert reached.residual <= 1e-10
        return
    L = np.linalg.inv(np.eye(n) - A.toarray())
    assert np.allclose(total_output(A, d).x, L @ d, rtol=1e-8, atol=1e-12)
    assert np.allclose(output_multipliers(A).x, L.sum(axis=0), rtol=1e-8)
    for k, result in enumerate(embodied(A, B)):
        assert np.allclose(result.x, B[k].toarray().ravel() @ L, rtol=1e-8, atol=1e-12)
        assert result.residual <= 1e-10


def test_ghosh_forward_linkages_equal_the_dense_formula() -> None:
    A = productive_matrix(6, 0.5, 0.7, 3)
    x = np.array([10.0, 5.0, 0.0, 20.0, 1.0, 7.0])
    forward, _ = ghosh_forward(A, x)
    made = x > 0
    X = np.diag(x[made])
    B = np.linalg.inv(X) @ A.toarray()[np.ix_(made, made)] @ X
    G = np.linalg.inv(np.eye(made.sum()) - B)
    assert np.allclose(forward[made], G.sum(axis=1))
    assert np.isnan(forward[2])


def test_singular_system_falls_back_and_then_says_so() -> None:
    A = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))  # rho = 1: I - A is singular
    with pytest.raises(ArithmeticError, match="not productive"):
        solve(A, np.array([1.0, 1.0]))


def test_analysis_of_the_tiny_economy(tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    result = analyse(economy)
    # coal needs a tonne of seam and 0.01 MWh; a MWh needs 0.5 t of coal
    assert result.embodied.loc["coal", "coal_seam"] == pytest.approx(1 / (1 - 0.005))
    assert result.embodied.loc["electricity", "coal_seam"] == pytest.approx(0.5 / (1 - 0.005))
    technology = result.technology
    L = np.linalg.inv(np.eye(len(technology.products)) - technology.A.toarray())
    assert np.allclose(result.products["multiplier"], L.sum(axis=0))
    assert result.products["backward"].mean() == pytest.approx(1.0)
    assert all(s.residual <= 1e-10 for s in result.solves.values())


def test_embodied_imports_by_dense_oracle(tmp_path: Path, tiny_path: Path) -> None:
    folder = tmp_path / "trading"
    shutil.copytree(tiny_path, folder)
    trade = pd.read_csv(folder / "trade.csv", dtype=str, keep_default_na=False)
    trade["base_imports"] = ["200", "", "", ""]  # coal, at 50 a tonne
    trade.to_csv(folder / "trade.csv", index=False)
    economy = load_economy(folder)
    result = analyse(economy)
    technology = result.technology
    A = technology.A.toarray()
    products = list(technology.products)
    share = np.zeros(len(products))
    share[products.index("coal")] = 200 / (1300 + 200)
    price = np.zeros(len(products))
    price[products.index("coal")] = 50.0
    Ld = np.linalg.inv(np.eye(len(products)) - np.diag(1 - share) @ A)
    expected = (price * share) @ A @ Ld
    assert np.allclose(result.embodied["imports"].to_numpy(), expected)
    assert result.products.loc["electricity", "import_dependency"] == pytest.approx(200 / 1500)


def test_balance_and_analyse_commands(tmp_path: Path, tiny_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["balance", str(tiny_path), "--json", "--csv", str(tmp_path / "b.csv")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["shortfalls"][0]["product"] == "grain_crop"
    entries = pd.read_csv(tmp_path / "b.csv")
    assert set(entries.columns) >= {"product", "region", "year", "side", "flow", "detail", "amount"}
    result = runner.invoke(
        main, ["balance", str(tiny_path), "--region", "north", "--product", "coal"]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["balance", str(tiny_path), "--region", "atlantis"]).exit_code == 2
    assert runner.invoke(main, ["balance", str(tiny_path), "--year", "2022"]).exit_code == 2

    demand = tmp_path / "demand.csv"
    demand.write_text("product,amount\nflat,2\n")
    result = runner.invoke(main, ["analyse", str(tiny_path), "--json", "--demand", str(demand)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    steel = next(r for r in report["total_requirements"] if r["product"] == "steel")
    assert steel["total_output"] == pytest.approx(10.0)  # 5 t per flat
    assert report["solves"]["multipliers"]["residual"] <= 1e-10
    demand.write_text("product,amount\nlabour,2\n")
    result = runner.invoke(main, ["analyse", str(tiny_path), "--demand", str(demand)])
    assert result.exit_code == 2 and "demand.csv:2" in result.output


MILLER_BLAIR = """sector,agriculture,manufacturing,households,total_output
agriculture,150,500,350,1000
manufacturing,200,100,1700,2000
value_added,650,1400,,
"""


def test_commands_on_a_plain_input_output_table(tmp_path: Path) -> None:
    table = tmp_path / "miller_blair.csv"
    table.write_text(MILLER_BLAIR)
    runner = CliRunner()
    result = runner.invoke(main, ["analyse", str(table), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["product"]: r for r in json.loads(result.output)["by_product"]}
    assert rows["agriculture"]["multiplier"] == pytest.approx(1.5182, abs=1e-4)
    assert rows["manufacturing"]["multiplier"] == pytest.approx(1.4521, abs=1e-4)
    assert rows["agriculture"]["value_added"] == pytest.approx(1.0)  # prices equal unit costs
    result = runner.invoke(main, ["balance", str(table), "--json"])
    assert result.exit_code == 0, result.output
    national = json.loads(result.output)["national"]
    # a published table balances by construction: every row's sources equal its uses
    assert all(abs(r["difference"]) < 1e-9 * max(1.0, r["sources"]) for r in national)
    sources = {r["product"]: r["sources"] for r in national}
    assert sources["agriculture"] == pytest.approx(1000.0)


def test_a_coefficient_beyond_double_precision_is_refused_naming_it(builtin_copy: Path) -> None:
    """Fuzzing seed 0 case 4771: one input coefficient of 1e10 among ones of 1e-3 validates
    (it is productive) but leaves I - A numerically singular; analyse says so and where."""
    io = builtin_copy / "process_io.csv"
    frame = pd.read_csv(io, dtype=str, keep_default_na=False)
    row = frame.index[
        (frame["process"] == "fruit_growing") & (frame["product"] == "nitrogen_fertilizer")
    ]
    frame.loc[row, "amount"] = "1e+10"
    frame.to_csv(io, index=False)
    assert CliRunner().invoke(main, ["validate", str(builtin_copy)]).exit_code == 0
    result = CliRunner().invoke(main, ["analyse", str(builtin_copy)])
    assert result.exit_code == 2
    assert "no accurate solution" in result.output
    assert (
        "largest input coefficient is 1e+10 nitrogen_fertilizer per unit of fruit" in result.output
    )
