"""Supply and use tables made symmetric (Miller and Blair 2009, chapter 5; Eurostat's manual,
chapter 11): a two-product, two-industry example worked out by hand in exact fractions, the
identities every symmetric table meets, pymrio's own construction (Eurostat's models A, B
and D) on a larger pair of tables, and the command line."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from econplan.analysis.supplyuse import SupplyUse, symmetric_table
from econplan.cli import main

# Two products made by two industries, in Miller and Blair's notation: V' (products x
# industries) and U, with final demand e and value added W. q = (90, 110), x = (100, 100).
SUPPLY = "product,ind1,ind2\np1,80,10\np2,20,90\n"
USE = "product,ind1,ind2,households\np1,20,30,40\np2,20,10,80\nvalue_added,60,60,\n"

# Worked by hand: (V')^-1 = [[90, -10], [-20, 80]] / 7000, D = V q^-1, C^-1 = 100 (V')^-1.
BY_HAND: dict[tuple[str, str], list[list[Fraction]]] = {
    # A = B C^-1 = U V'^-1 = [[12, 22], [16, 6]] / 70; Z = A q
    ("product", "product"): [
        [Fraction(12 * 90, 70), Fraction(22 * 110, 70)],
        [Fraction(16 * 90, 70), Fraction(6 * 110, 70)],
    ],
    # A = B D = [[19/90, 31/110], [17/90, 13/110]]; Z = A q
    ("industry", "product"): [[Fraction(19), Fraction(31)], [Fraction(17), Fraction(13)]],
    # Z = D U, D = [[8/9, 2/11], [1/9, 9/11]]
    ("industry", "industry"): [
        [Fraction(8, 9) * 20 + Fraction(2, 11) * 20, Fraction(8, 9) * 30 + Fraction(2, 11) * 10],
        [Fraction(1, 9) * 20 + Fraction(9, 11) * 20, Fraction(1, 9) * 30 + Fraction(9, 11) * 10],
    ],
    # Z = C^-1 U = [[1600, 2600], [1200, 200]] / 70
    ("product", "industry"): [
        [Fraction(160, 7), Fraction(260, 7)],
        [Fraction(120, 7), Fraction(20, 7)],
    ],
}
OUTPUT = {"product": [90, 110], "industry": [100, 100]}


def _tables() -> SupplyUse:
    supply = pd.DataFrame([[80.0, 10.0], [20.0, 90.0]], index=["p1", "p2"], columns=["i1", "i2"])
    use = pd.DataFrame([[20.0, 30.0], [20.0, 10.0]], index=["p1", "p2"], columns=["i1", "i2"])
    final = pd.DataFrame({"households": [40.0, 80.0]}, index=["p1", "p2"])
    value_added = pd.DataFrame([[60.0, 60.0]], index=["value_added"], columns=["i1", "i2"])
    return SupplyUse(supply, use, final, value_added)


@pytest.mark.parametrize(("technology", "by"), list(BY_HAND))
def test_worked_example(technology: str, by: str) -> None:
    table = symmetric_table(_tables(), technology, by)
    expected = np.array([[float(v) for v in row] for row in BY_HAND[technology, by]])
    np.testing.assert_allclose(table.flows.to_numpy(), expected, rtol=1e-12)
    assert list(table.flows.index) == (["p1", "p2"] if by == "product" else ["i1", "i2"])
    np.testing.assert_allclose(table.output.to_numpy(), OUTPUT[by], rtol=1e-12)
    assert table.negative.empty


def test_default_orientation_is_eurostat_a_and_d() -> None:
    assert symmetric_table(_tables(), "product").by == "product"
    assert symmetric_table(_tables(), "industry").by == "industry"


def _random_tables(n: int = 4, seed: int = 7) -> SupplyUse:
    """A balanced pair of tables with secondary production everywhere and imports."""
    rng = np.random.default_rng(seed)
    products = [f"p{k}" for k in range(n)]
    industries = [f"i{k}" for k in range(n)]
    supply = rng.uniform(1, 10, (n, n)) + np.diag(rng.uniform(80, 120, n))
    q = supply.sum(axis=1)
    x = supply.sum(axis=0)
    use = rng.uniform(0.05, 0.15, (n, n)) * x  # a third of x or so in all
    final = (q - use.sum(axis=1))[:, None] * [0.6, 0.4]
    value_added = np.vstack([0.7, 0.3]) * (x - use.sum(axis=0))
    return SupplyUse(
        pd.DataFrame(supply, index=products, columns=industries),
        pd.DataFrame(use, index=products, columns=industries),
        pd.DataFrame(final, index=products, columns=["households", "P51G"]),
        pd.DataFrame(value_added, index=["wages", "surplus"], columns=industries),
    )


@pytest.mark.parametrize(("technology", "by"), list(BY_HAND))
def test_identities(technology: str, by: str) -> None:
    """The rows (flows and final demand) and the columns (flows and value added) add up to
    each sector's output, which is the product output q or the industry output x."""
    tables = _random_tables()
    table = symmetric_table(tables, technology, by)
    x = table.output.to_numpy()
    expected = tables.product_output if by == "product" else tables.industry_output
    np.testing.assert_allclose(x, expected.to_numpy(), rtol=1e-12)
    rows = table.flows.sum(axis=1) + table.final_demand.sum(axis=1)
    columns = table.flows.sum(axis=0) + table.primary.sum(axis=0)
    np.testing.assert_allclose(rows.to_numpy(), x, rtol=1e-12)
    np.testing.assert_allclose(columns.to_numpy(), x, rtol=1e-12)
    # the final demand and value added in all add up to the same (GDP) in every model
    assert table.final_demand.to_numpy().sum() == pytest.approx(
        tables.final_demand.to_numpy().sum(), rel=1e-12
    )


def _pymrio_construct() -> Any:
    ioparser = pytest.importorskip("pymrio.tools.ioparser")
    construct = getattr(ioparser, "__construct_IO", None)
    if construct is None:
        pytest.skip("this pymrio has no SUT construction")
    return construct


@pytest.mark.parametrize(
    ("model", "technology", "by"),
    [
        ("A", "product", "product"),
        ("B", "industry", "product"),
        ("C", "product", "industry"),
        ("D", "industry", "industry"),
    ],
)
def test_against_pymrio(model: str, technology: str, by: str) -> None:
    """pymrio's construction from Eurostat's manual (its GLORIA parser): flows T U or U T."""
    tables = _random_tables()
    V = tables.supply.T  # pymrio takes the make matrix, industries x products
    zeros = pd.DataFrame(np.zeros((1, len(V))), index=["none"], columns=V.index)
    theirs = _pymrio_construct()(
        {
            "V": V,
            "U": tables.use,
            "Y": tables.final_demand,
            "VA": tables.value_added,
            "Q": zeros,
            "QY": zeros,
        },
        construct=model,
    )
    ours = symmetric_table(tables, technology, by)
    q = tables.use.sum(axis=1) + tables.final_demand.sum(axis=1)
    flows = theirs["A"].to_numpy() * q.to_numpy()  # pymrio divides by product output q
    np.testing.assert_allclose(ours.flows.to_numpy(), flows, rtol=1e-12)
    if by == "product":
        np.testing.assert_allclose(ours.primary.to_numpy(), theirs["VA"].to_numpy(), rtol=1e-12)
    else:
        np.testing.assert_allclose(ours.final_demand.to_numpy(), theirs["Y"].to_numpy(), rtol=1e-12)


# an industry that makes a little of p1 without using any: the product technology must take
# p1's inputs out of its column, a negative flow of -0.02 x 50 = -1
SKEWED_SUPPLY = "product,ind1,ind2\np1,100,10\np2,0,50\n"
SKEWED_USE = "product,ind1,ind2,households\np1,10,0,100\np2,10,20,20\nvalue_added,80,40,\n"


def test_negative_flows_are_reported() -> None:
    supply = pd.DataFrame([[100.0, 10.0], [0.0, 50.0]], index=["p1", "p2"], columns=["i1", "i2"])
    use = pd.DataFrame([[10.0, 0.0], [10.0, 20.0]], index=["p1", "p2"], columns=["i1", "i2"])
    final = pd.DataFrame({"households": [100.0, 20.0]}, index=["p1", "p2"])
    value_added = pd.DataFrame([[80.0, 40.0]], index=["value_added"], columns=["i1", "i2"])
    tables = SupplyUse(supply, use, final, value_added)
    table = symmetric_table(tables, "product")
    # A = U V'^-1 = [[0.1, -0.02], [0.1, 0.38]]; Z = A q, q = (110, 50)
    np.testing.assert_allclose(table.flows.to_numpy(), [[11, -1], [11, 19]], rtol=1e-12)
    assert table.negative.to_dict("records") == [
        {"row": "p1", "column": "p2", "flow": pytest.approx(-1.0, rel=1e-12)}
    ]
    assert symmetric_table(tables, "industry").negative.empty


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _files(tmp_path: Path, supply: str, use: str) -> tuple[str, str]:
    (tmp_path / "supply.csv").write_text(supply, encoding="utf-8")
    (tmp_path / "use.csv").write_text(use, encoding="utf-8")
    return str(tmp_path / "supply.csv"), str(tmp_path / "use.csv")


@pytest.mark.parametrize(("technology", "by"), list(BY_HAND))
def test_command_line_table_is_read_back(tmp_path: Path, technology: str, by: str) -> None:
    """econplan sut writes a table that analyse reads: its multipliers are the column sums of
    (I - A)^-1 for the A worked out by hand."""
    supply, use = _files(tmp_path, SUPPLY, USE)
    out = tmp_path / "symmetric.csv"
    code, output = _cli(
        "sut", supply, use, "--technology", technology, "--by", by, "--out", str(out)
    )
    assert code == 0, output
    assert f"{by}-by-{by}" in output and "0 negative flows" in output
    code, output = _cli("analyse", str(out), "--json")
    assert code == 0, output
    rows = {r["product"]: r for r in json.loads(output)["by_product"]}
    Z = np.array([[float(v) for v in row] for row in BY_HAND[technology, by]])
    A = Z / np.array(OUTPUT[by], dtype=float)
    expected = np.linalg.inv(np.eye(2) - A).sum(axis=0)
    labels = ["p1", "p2"] if by == "product" else ["ind1", "ind2"]
    ours = np.array([rows[label]["multiplier"] for label in labels])
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_command_line_imports_and_negatives(tmp_path: Path) -> None:
    supply, use = _files(tmp_path, SKEWED_SUPPLY, SKEWED_USE)
    out = tmp_path / "symmetric.csv"
    code, output = _cli("sut", supply, use, "--technology", "product", "--out", str(out))
    assert code == 0, output
    assert "negative:" in output and "'p1' delivers -1 to 'p2'" in output
    code, output = _cli("analyse", str(out))  # the reader refuses it, naming the cell
    assert code == 2 and "symmetric.csv:2: [p2] inter-industry flow -1 is negative" in output

    # imports in the supply table become a column of negative final demand: x = Z + F - M
    with_imports = "product,ind1,ind2,imports\np1,80,10,10\np2,20,90,0\n"
    use_more = USE.replace("p1,20,30,40", "p1,20,30,50")
    supply, use = _files(tmp_path, with_imports, use_more)
    out = tmp_path / "with_imports.csv"
    code, output = _cli("sut", supply, use, "--technology", "industry", "--out", str(out))
    assert code == 0, output
    written = pd.read_csv(out, index_col=0)
    assert written.loc["ind1", "imports"] < 0
    code, output = _cli("analyse", str(out), "--imports", "proportional", "--json")
    assert code == 0, output


def test_command_line_problems(tmp_path: Path) -> None:
    out = str(tmp_path / "symmetric.csv")
    three = "product,ind1,ind2\np1,80,10\np2,20,90\np3,1,1\n"
    three_use = USE.replace("value_added,60,60", "p3,0,0,2\nvalue_added,61,61")
    supply, use = _files(tmp_path, three, three_use)
    code, output = _cli("sut", supply, use, "--technology", "product", "--out", out)
    assert code == 2 and "as many products as industries, not 3 products and 2" in output
    assert "Traceback" not in output

    unbalanced = USE.replace("p1,20,30,40", "p1,20,30,41").replace("ind2,households", "ind3,h")
    supply, use = _files(tmp_path, SUPPLY.replace("80", "8x"), unbalanced)
    code, output = _cli("sut", supply, use, "--technology", "industry", "--out", out)
    assert code == 2
    assert "supply.csv:2: [ind1] '8x' is not a number" in output

    supply, use = _files(tmp_path, SUPPLY, unbalanced)
    code, output = _cli("sut", supply, use, "--technology", "industry", "--out", out)
    assert (
        code == 2 and "use.csv:1: [ind2] this industry of the supply table has no column" in output
    )

    supply, use = _files(tmp_path, SUPPLY, USE.replace("p1,20,30,40", "p1,20,30,41"))
    code, output = _cli("sut", supply, use, "--technology", "industry", "--out", out)
    assert code == 2
    assert "use.csv:2: 'p1' is used 91" in output and "the supply table makes 90" in output
    assert "use.csv:1: [ind1] the inputs and value added of 'ind1' add up to 101" not in output
    unbalanced = USE.replace("value_added,60,60", "value_added,61,60")
    supply, use = _files(tmp_path, SUPPLY, unbalanced)
    code, output = _cli("sut", supply, use, "--technology", "industry", "--out", out)
    assert code == 2
    assert "use.csv:1: [ind1] the inputs and value added of 'ind1' add up to 101" in output
    assert not Path(out).exists()
