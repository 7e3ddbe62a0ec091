"""Synthetic economies: valid, of the spectral radius asked for, with cycles, deterministic."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
from click.testing import CliRunner

from econplan import load_economy, technology_matrix, validate, write_economy
from econplan.cli import main
from econplan.generate import (
    CORE,
    SectorTable,
    expand_table,
    generate_economy,
    perron_root,
    significant,
)
from econplan.io.write import TableFormat
from econplan.model.economy import Economy
from econplan.model.technology import spectral_radius
from econplan.plan import make_plan
from econplan.schema import load_schema


@pytest.fixture(scope="module")
def generated() -> Economy:
    return generate_economy(products=600, inputs=6, regions=3, years=4, seed=11)


def test_generated_economy_passes_validation(tmp_path: Path) -> None:
    economy = generate_economy(products=300, inputs=5, regions=4, seed=3)
    report = validate(write_economy(economy, tmp_path / "generated"))
    assert report.ok, [str(p) for p in report.problems[:5]]
    assert report.economy == economy


def test_shape_of_the_generated_economy(generated: Economy) -> None:
    economy = generated
    counts = economy.counts()
    assert counts["processes"] == 600 and counts["products"] == 602  # and labour, ore
    assert counts["regions"] == 3 and counts["years"] == 4
    products = economy.products
    assert products.loc["labour", "kind"] == "labour"
    assert products.loc["ore", "kind"] == "resource"
    made = [p for p in products.index if p.startswith("p")]
    assert made == sorted(made, key=lambda p: int(p[1:]))  # zero-padded: text order = numbers
    inputs = economy.inputs()
    outputs = economy.outputs()
    # one output per process (its main product, 1 unit); 6 made inputs and labour each
    assert (outputs.getnnz(axis=0) == 1).all() and (outputs.data == 1.0).all()
    labour = economy.product_ids.get_loc("labour")
    ore = economy.product_ids.get_loc("ore")
    made_inputs = inputs.getnnz(axis=0) - (inputs[labour] != 0).toarray().ravel()
    made_inputs -= (inputs[ore] != 0).toarray().ravel()
    assert (made_inputs == 6).all()
    assert inputs[labour].nnz == 600
    # a few labour coefficients fall in the last year (technical progress)
    last = economy.settings.last_year
    assert (economy.inputs(last)[labour] != inputs[labour]).nnz > 0


@pytest.mark.parametrize("radius", [0.3, 0.6, 0.95])
def test_spectral_radius_is_the_one_asked_for(radius: float) -> None:
    economy = generate_economy(products=400, inputs=4, seed=5, spectral_radius=radius)
    technology = technology_matrix(economy, year=economy.settings.base_year)
    assert spectral_radius(technology.A) == pytest.approx(radius, abs=1e-6)


def test_the_technology_has_cycles(generated: Economy) -> None:
    A = technology_matrix(generated).A
    dense = A.toarray()
    assert np.triu(dense, 1).any() and np.tril(dense, -1).any()  # not triangular
    _, labels = csgraph.connected_components(A, directed=True, connection="strong")
    assert np.bincount(labels).max() == A.shape[0]  # one group: every product feeds every other


def test_same_seed_same_economy_other_seed_another() -> None:
    first = generate_economy(products=200, inputs=3, regions=2, seed=7)
    assert first == generate_economy(products=200, inputs=3, regions=2, seed=7)
    other = generate_economy(products=200, inputs=3, regions=2, seed=8)
    assert first != other
    assert (first.inputs() != other.inputs()).nnz > 0


@pytest.mark.parametrize("table_format", ["csv", "parquet"])
def test_round_trip(tmp_path: Path, generated: Economy, table_format: TableFormat) -> None:
    written = write_economy(generated, tmp_path / "copy", table_format=table_format)
    again = load_economy(written)
    assert again == generated
    tables = sorted(p.name for p in written.iterdir() if p.name != "economy.toml")
    assert tables == sorted(f"{t.name}.{table_format}" for t in load_schema().csv_tables)


def test_an_unproductive_economy_is_reported_beyond_the_dense_limit(tmp_path: Path) -> None:
    """2000 products: the check takes the sparse path (bounds, then an iterative eigen-solve)."""
    economy = generate_economy(products=2000, inputs=3, seed=2, spectral_radius=1.2)
    report = validate(write_economy(economy, tmp_path / "unproductive", table_format="parquet"))
    problems = [p for p in report.problems if "use up more of one another" in p.message]
    assert len(problems) == 1
    assert problems[0].file == "process_io.parquet"
    assert "spectral radius 1.2000" in problems[0].message


def test_a_productive_economy_beyond_the_dense_limit_passes(tmp_path: Path) -> None:
    economy = generate_economy(products=2000, inputs=3, seed=2, spectral_radius=0.97)
    A = technology_matrix(economy).A
    assert abs(A).sum(axis=0).max() > 1  # the column-sum bound alone does not settle it
    report = validate(write_economy(economy, tmp_path / "productive", table_format="parquet"))
    assert report.ok, [str(p) for p in report.problems[:5]]


def test_perron_root_of_a_two_cycle() -> None:
    # periodic: power iteration with A alone would oscillate
    A = sp.csr_matrix(np.array([[0.0, 0.5], [2.0, 0.0]]))
    assert perron_root(A) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"products": 1, "inputs": 1}, "products"),
        ({"products": 10, "inputs": 10}, "inputs"),
        ({"products": 10, "inputs": 0}, "inputs"),
        ({"products": 10, "inputs": 2, "regions": 0}, "regions"),
        ({"products": 10, "inputs": 2, "spectral_radius": 0.0}, "spectral_radius"),
    ],
)
def test_impossible_arguments(arguments: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        generate_economy(**arguments)


# -- a published table expanded to products ---------------------------------------------------
@pytest.fixture(scope="module")
def ibge_table() -> SectorTable:
    """IBGE's (Brazil) 2019 table at 20 sectors, as iotbr builds it: A = Z / x with x the
    table's total output, final demand the row sums of its final-demand columns."""
    with warnings.catch_warnings():  # iotbr reads its files with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        io_system = pytest.importorskip("iotbr.io_system")
        tru = pytest.importorskip("iotbr.tru")
        system = io_system.system("2019", "20", "t")
        va = tru.read_var("2019", "20", "VA_table", "t")
    x = va["Valor da produção"].to_numpy(dtype=float)
    return SectorTable(
        tuple(str(s).split("\n")[-1].strip() for s in system.mZ.index),
        system.mZ.to_numpy(dtype=float) / x,
        x,
        system.mY.to_numpy(dtype=float).sum(axis=1),
        name="IBGE 2019",
    )


def made_technology(economy: Economy) -> tuple[np.ndarray, sp.csr_matrix]:
    """The made products' positions and their technology matrix (labour and ore left out)."""
    technology = technology_matrix(economy, year=economy.settings.base_year)
    made = economy.product_ids.get_indexer(technology.products)
    return made, technology.A.tocsr()


def test_an_expanded_table_aggregates_back_to_the_table(ibge_table: SectorTable) -> None:
    """Summed by sector, every product's inputs are its sector's column of the table (its
    significant coefficients: 1% of the column or more); so the spectral radius is the
    table's, and the gross output by sector is the table's Leontief solution for the final
    demand summed by sector."""
    economy = expand_table(ibge_table, products=700, inputs=10, regions=2, years=2, seed=4)
    kept = significant(ibge_table)
    dropped = 1 - kept.sum() / ibge_table.coefficients.sum()
    assert 0 < dropped < 0.05  # the table's small coefficients, a few percent of the whole
    made, A = made_technology(economy)
    S = len(ibge_table.sectors)
    names = economy.products["sector"].to_numpy()[made]
    sector = pd.Index(ibge_table.sectors).get_indexer(names)
    assert (sector >= 0).all() and np.bincount(sector).min() >= CORE
    G = sp.csr_matrix((np.ones(len(made)), (sector, np.arange(len(made)))), shape=(S, len(made)))
    np.testing.assert_allclose((G @ A).toarray(), kept @ G.toarray(), rtol=1e-12, atol=1e-15)
    table_radius = np.max(np.abs(np.linalg.eigvals(kept)))
    assert spectral_radius(A) == pytest.approx(table_radius, rel=1e-9)
    facilities = economy.tables["facilities"]
    output = facilities.set_index("process")["base_output"]
    # one process per product, in the products' order: process i makes product made[i]
    x = output.to_numpy(dtype=float)
    final = x - A @ x
    by_sector = np.linalg.solve(np.eye(S) - kept, G @ final)
    np.testing.assert_allclose(G @ x, by_sector, rtol=1e-9)
    # and the final demand has the table's sector shares
    shares = np.clip(ibge_table.final, 0.0, None)
    np.testing.assert_allclose(G @ final / (G @ final).sum(), shares / shares.sum(), rtol=1e-9)


def test_an_expanded_table_is_layered_like_supply_chains(ibge_table: SectorTable) -> None:
    """Cycles run only through each sector's basic products: every other product is a group
    of its own in the input graph (unlike generate_economy's, where all are one group)."""
    economy = expand_table(ibge_table, products=500, inputs=8, regions=1, years=2, seed=9)
    _, A = made_technology(economy)
    groups, labels = csgraph.connected_components(A, directed=True, connection="strong")
    sizes = np.bincount(labels)
    assert sizes.max() <= CORE * len(ibge_table.sectors)
    assert groups >= A.shape[0] - CORE * len(ibge_table.sectors)
    inputs = np.diff(sp.csc_matrix(A).indptr)
    assert inputs.mean() >= 8  # about as many as asked, one at least from each main supplier


def test_an_expanded_table_validates_and_plans(tmp_path: Path, ibge_table: SectorTable) -> None:
    economy = expand_table(ibge_table, products=120, inputs=6, regions=2, years=2, seed=2)
    report = validate(write_economy(economy, tmp_path / "expanded"))
    assert report.ok, [str(p) for p in report.problems[:5]]
    plan = make_plan(economy)
    assert plan.ok
    assert expand_table(ibge_table, 120, 6, 2, 2, seed=2) == economy  # same seed, same economy


def test_a_table_that_cannot_be_expanded_says_why() -> None:
    table = SectorTable(("a", "b"), np.array([[0.5, 0.6], [0.6, 0.5]]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"spectral radius 1\.1"):
        expand_table(table, products=10, inputs=2)
    with pytest.raises(ValueError, match="at least 4"):
        expand_table(table, products=3, inputs=2)
    idle = SectorTable(("a", "b"), np.array([[0.1, 0.2], [0.2, 0.1]]), np.ones(2), -np.ones(2))
    with pytest.raises(ValueError, match="no sector has a positive final demand"):
        expand_table(idle, products=10, inputs=2)
    with pytest.raises(ValueError, match="S x S"):
        SectorTable(("a",), np.zeros((2, 2)), np.ones(1), np.ones(1))


def test_generate_splits_a_table_file_into_products(tmp_path: Path) -> None:
    """`econplan generate --table`: Miller and Blair's two-sector table split into 40
    products; summed by sector the products' technology is the table's (every coefficient is
    significant there), and the economy validates and plans."""
    table = tmp_path / "miller_blair.csv"
    table.write_text(
        "sector,agriculture,manufacturing,households,total_output\n"
        "agriculture,150,500,350,1000\n"
        "manufacturing,200,100,1700,2000\n"
        "value_added,650,1400,,\n"
    )
    out = tmp_path / "expanded"
    arguments = ["--products", "40", "--inputs", "3", "--regions", "2", "--years", "2"]
    result = CliRunner().invoke(
        main, ["generate", *arguments, "--table", str(table), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = validate(out)
    assert report.ok, [str(p) for p in report.problems[:5]]
    economy = report.economy
    made, A = made_technology(economy)
    sector = pd.Index(["agriculture", "manufacturing"]).get_indexer(
        economy.products["sector"].to_numpy()[made]
    )
    G = sp.csr_matrix((np.ones(len(made)), (sector, np.arange(len(made)))), shape=(2, len(made)))
    textbook = np.array([[0.15, 0.25], [0.2, 0.05]])
    np.testing.assert_allclose((G @ A).toarray(), textbook @ G.toarray(), rtol=1e-12)
    assert make_plan(economy).ok
    result = CliRunner().invoke(
        main, ["generate", "--products", "3", "--table", str(table), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "at least 4" in result.output
    assert not (tmp_path / "x").exists()
