"""Input-output tables read as economies, checked against Miller and Blair's two-sector
example and against pymrio's results on its test system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from econplan import Economy, load_economy, technology_matrix, write_economy
from econplan.analysis.leontief import embodied, output_multipliers, total_output
from econplan.errors import EconomyError
from econplan.io.iotable import (
    economy_from_flows,
    economy_from_pymrio,
    final_use_category,
    read_io_table,
)

# Miller and Blair, Input-Output Analysis (2009), section 2.3: the two-sector example.
MILLER_BLAIR = """sector,agriculture,manufacturing,households,total_output
agriculture,150,500,350,1000
manufacturing,200,100,1700,2000
value_added,650,1400,,
total_input,1000,2000,,
"""
A_TEXTBOOK = np.array([[0.15, 0.25], [0.2, 0.05]])
L_TEXTBOOK = np.array([[1.2541, 0.3300], [0.2640, 1.1221]])  # Miller and Blair, 4 decimals
MULTIPLIERS_TEXTBOOK = np.array([1.5182, 1.4521])


def _write_xlsx(text: str, path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for line in text.strip().splitlines():
        cells: list[str | float] = []
        for cell in line.split(","):
            try:
                cells.append(float(cell))
            except ValueError:
                cells.append(cell)
        sheet.append([None if c == "" else c for c in cells])
    book.save(path)
    return path


@pytest.fixture(params=[".csv", ".xlsx"])
def miller_blair(request: pytest.FixtureRequest, tmp_path: Path) -> Economy:
    path = tmp_path / f"miller_blair{request.param}"
    if request.param == ".csv":
        path.write_text(MILLER_BLAIR, encoding="utf-8")
    else:
        _write_xlsx(MILLER_BLAIR, path)
    return read_io_table(path, base_year=2005)


def _made(economy: Economy, products: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    rows = economy.product_ids.get_indexer(products)
    columns = economy.process_ids.get_indexer(products)  # one process per sector, same id
    return (
        economy.inputs().toarray()[np.ix_(rows, columns)],
        economy.outputs().toarray()[np.ix_(rows, columns)],
    )


def test_miller_blair_coefficients(miller_blair: Economy) -> None:
    technology = technology_matrix(miller_blair)
    assert list(technology.products) == ["agriculture", "manufacturing"]
    assert list(technology.primary) == ["value_added"]
    inputs, outputs = _made(miller_blair, technology.products)
    # one unit of activity gives one unit of gross output and takes in A[i, j], own use too
    np.testing.assert_allclose(outputs, np.eye(2), rtol=1e-12)
    np.testing.assert_allclose(inputs, A_TEXTBOOK, rtol=1e-12)
    np.testing.assert_allclose(technology.A.toarray(), A_TEXTBOOK, rtol=1e-12)
    facilities = miller_blair.facilities
    assert facilities["capacity"].tolist() == [1000, 2000]
    assert facilities["base_output"].tolist() == [1000, 2000]


def test_miller_blair_leontief(miller_blair: Economy) -> None:
    technology = technology_matrix(miller_blair)
    L = np.linalg.inv(np.eye(2) - A_TEXTBOOK)  # the oracle, dense, in the test only
    np.testing.assert_allclose(L, L_TEXTBOOK, atol=5e-5)
    for j in range(2):  # our solves give the columns of L without forming it
        column = total_output(technology.A, np.eye(2)[j]).x
        np.testing.assert_allclose(column, L_TEXTBOOK[:, j], atol=5e-5)

    demand = miller_blair.final_demand.set_index("product")["amount"]
    f = demand.reindex(technology.products).to_numpy()
    np.testing.assert_allclose(f, [350, 1700])
    x = total_output(technology.A, f).x
    np.testing.assert_allclose(x, [1000, 2000], rtol=1e-9)

    multipliers = output_multipliers(technology.A).x
    np.testing.assert_allclose(multipliers, L.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(multipliers, MULTIPLIERS_TEXTBOOK, atol=5e-5)

    [value_added] = embodied(technology.A, technology.B)
    np.testing.assert_allclose(value_added.x, [1.0, 1.0], rtol=1e-9)  # prices = unit costs


def test_miller_blair_round_trip(miller_blair: Economy, tmp_path: Path) -> None:
    assert load_economy(write_economy(miller_blair, tmp_path / "again")) == miller_blair
    assert miller_blair.settings.base_year == 2005
    assert miller_blair.final_demand["category"].tolist() == ["consumption", "consumption"]


def test_csv_and_xlsx_give_the_same_tables(tmp_path: Path) -> None:
    csv = tmp_path / "mb.csv"
    csv.write_text(MILLER_BLAIR, encoding="utf-8")
    xlsx = _write_xlsx(MILLER_BLAIR, tmp_path / "mb.xlsx")
    a, b = read_io_table(csv), read_io_table(xlsx)
    for name in a.tables:
        if name != "sources":
            assert a.tables[name].equals(b.tables[name]), name


def test_flows_give_the_table(tmp_path: Path) -> None:
    csv = tmp_path / "mb.csv"
    csv.write_text(MILLER_BLAIR, encoding="utf-8")
    economy = economy_from_flows(
        A_TEXTBOOK * [1000, 2000],
        {"households": [350, 1700]},
        [1000, 2000],
        ["agriculture", "manufacturing"],
        primary={"value_added": [650, 1400]},
        name="mb",
    )
    from_file = read_io_table(csv)
    for name in economy.tables:
        if name != "sources":
            assert economy.tables[name].equals(from_file.tables[name]), name


def test_labour_exports_and_categories(tmp_path: Path) -> None:
    path = tmp_path / "three.csv"
    path.write_text(
        "label,farm,mill,Government consumption,Gross fixed capital formation,Exports,unit\n"
        "farm,10,40,5,0,45,\n"
        "mill,20,10,30,40,0,\n"
        "labour,7,3,,,,person-year\n"
        "value added,70,45,,,,\n",
        encoding="utf-8",
    )
    economy = read_io_table(path, base_year=2010, horizon=(2011, 2013), services=["mill"])
    products = economy.products
    assert products.loc["labour", "kind"] == "labour"
    assert products.loc["labour", "unit"] == "person-year"
    assert products.loc["value added", "kind"] == "primary"
    assert products.loc["mill", "kind"] == "service"
    labour = economy.labour
    assert labour["year"].tolist() == [2010, 2011, 2012, 2013]
    np.testing.assert_allclose(labour["amount"], 10.0)  # what the base year used
    demand = economy.final_demand.set_index(["category", "product"])["amount"]
    assert demand.to_dict() == {
        ("construction", "mill"): 40.0,
        ("public_services", "farm"): 5.0,
        ("public_services", "mill"): 30.0,
    }
    trade = economy.trade.set_index("product")
    assert trade.loc["farm", "base_exports"] == 45.0
    assert trade.loc["farm", "export_cap"] == 45.0
    assert (economy.population.to_numpy() == 0).all()  # the placeholder
    assert load_economy(write_economy(economy, tmp_path / "again")) == economy


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("Final consumption expenditure by households", "consumption"),
        ("Final consumption expenditure by government", "public_services"),
        ("Final consumption expenditure by non-profit organisations (NPISH)", "consumption"),
        ("Gross fixed capital formation", "construction"),
        ("Changes in inventories", "construction"),
        ("Export", "exports"),
        ("defence", "defence"),
        ("other", "consumption"),
    ],
)
def test_final_use_category(label: str, category: str) -> None:
    assert final_use_category(label) == category


# -- bad tables --------------------------------------------------------------------------------
HEADER = "sector,a,b,final_demand,total_output\n"
GOOD_ROWS = ["a,10,20,70,100\n", "b,30,40,130,200\n", "value_added,60,140,,\n"]

BAD_TABLES = {
    "non-numeric cell": (
        HEADER + "a,10,twenty,70,100\n" + "".join(GOOD_ROWS[1:]),
        (2, "b"),
        "'twenty' is not a number",
    ),
    "negative total output": (
        "sector,a,b,final_demand,total_output\na,10,20,-130,-100\nb,30,40,130,200\n",
        (2, "total_output"),
        "total output -100 is negative",
    ),
    "row sums off the total output": (
        HEADER + "a,10,20,70,101\n" + "".join(GOOD_ROWS[1:]),
        (2, "total_output"),
        "is not what the row adds up to",
    ),
    "missing sector column": (
        "sector,a,final_demand\na,10,70\nb,30,130\n",
        (3, "final_demand"),
        "add its column",
    ),
    "duplicate row label": (
        HEADER + "".join(GOOD_ROWS) + "a,1,2,3,6\n",
        (5, "sector"),
        "row label 'a' appears twice (first on line 2)",
    ),
    "duplicate column label": (
        "sector,a,b,b,total_output\na,10,20,70,100\nb,30,40,130,200\n",
        (1, "b"),
        "appears twice",
    ),
    "blank row label": (HEADER + "".join(GOOD_ROWS) + ",1,2,,\n", (5, "sector"), "no label"),
    "negative flow": (
        HEADER + "a,-10,20,90,100\n" + "".join(GOOD_ROWS[1:]),
        (2, "a"),
        "is negative",
    ),
    "column total off": (
        HEADER + "".join(GOOD_ROWS) + "total_input,100,201,,\n",
        (5, "b"),
        "the inputs of 'b' add up to 200",
    ),
    "subtotal column": (
        "sector,a,b,households,total_final_demand\na,10,20,70,70\nb,30,40,130,130\n",
        (1, "total_final_demand"),
        "counted twice",
    ),
    "output 0 with inputs": (
        "sector,a,b,final_demand\na,10,5,20\nb,0,0,0\n",
        (2, "b"),
        "total output of 0",
    ),
    "unproductive (column sums of A reach 1)": (
        "sector,a,b,final_demand\na,60,40,0\nb,50,50,0\n",
        (2, "a"),
        "use up more of one another than they make",
    ),
}


@pytest.mark.parametrize("defect", sorted(BAD_TABLES))
def test_bad_table(tmp_path: Path, defect: str) -> None:
    text, (row, column), message = BAD_TABLES[defect]
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EconomyError) as caught:
        read_io_table(path)
    found = [(p.file, p.row, p.column) for p in caught.value.problems if message in p.message]
    assert ("bad.csv", row, column) in found, caught.value.problems


def test_bad_cell_in_a_workbook(tmp_path: Path) -> None:
    path = _write_xlsx(MILLER_BLAIR.replace("1400", "lots"), tmp_path / "bad.xlsx")
    with pytest.raises(EconomyError) as caught:
        read_io_table(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("bad.xlsx[Sheet]", 4, "manufacturing")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EconomyError, match="no such file"):
        read_io_table(tmp_path / "nowhere.csv")


def test_flows_with_nan(tmp_path: Path) -> None:
    with pytest.raises(EconomyError) as caught:
        economy_from_flows([[1.0, np.nan], [0, 1]], [5, 5], [6, 6], ["a", "b"], name="t")
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("t", 2, "b")


# -- pymrio as the oracle ------------------------------------------------------------------------
def _relative_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.maximum(np.abs(theirs), np.finfo(float).tiny)
    return float(np.max(np.abs(ours - theirs) / scale))


@pytest.fixture(scope="module")
def mrio() -> Any:
    import pymrio

    system = pymrio.load_test()
    system.calc_all()
    return system


def test_pymrio_economy(mrio: Any, tmp_path: Path) -> None:
    economy = economy_from_pymrio(mrio)
    assert list(economy.region_ids) == ["reg1", "reg2", "reg3", "reg4", "reg5", "reg6"]
    assert economy.products.loc["reg1.food", "sector"] == "food"
    assert economy.facilities.loc["reg3.mining", "region"] == "reg3"
    assert load_economy(write_economy(economy, tmp_path / "again")) == economy


def test_pymrio_results(mrio: Any) -> None:
    system = mrio
    economy = economy_from_pymrio(system)
    technology = technology_matrix(economy)
    x = system.x.iloc[:, 0]
    order = technology.products.get_indexer([f"{r}.{s}" for r, s in x.index])
    assert (order >= 0).all() and len(order) == len(technology.products)

    # total output for the total final demand, as converted
    demand = economy.final_demand.groupby("product")["amount"].sum()
    exports = economy.trade.set_index("product")["base_exports"]
    f = demand.add(exports, fill_value=0).reindex(technology.products, fill_value=0.0)
    Y = system.Y
    assert _relative_error(f.to_numpy()[order], Y.sum(axis=1).to_numpy()) < 1e-12
    ours = total_output(technology.A, f.to_numpy(), tol=1e-14).x
    assert _relative_error(ours[order], x.to_numpy()) < 1e-9

    # output multipliers: column sums of L
    multipliers = output_multipliers(technology.A, tol=1e-14).x
    L = system.L
    assert _relative_error(multipliers[order], L.sum(axis=0).to_numpy()) < 1e-9

    # multipliers M = S L and footprints D_cba for every extension row
    solves = embodied(technology.A, technology.B, tol=1e-14)
    M = {p: s.x[order] for p, s in zip(technology.primary, solves, strict=True)}
    by_region = economy.final_demand.pivot_table(
        index="product", columns="region", values="amount", aggfunc="sum", fill_value=0.0
    ).reindex(index=technology.products, fill_value=0.0)
    sectors = x.index.get_level_values("sector")
    checked = 0
    for name in system.get_extensions():
        extension = getattr(system, name)
        for row in extension.M.index:
            key = f"{name}.{'.'.join(row) if isinstance(row, tuple) else row}"
            assert _relative_error(M[key], extension.M.loc[row].to_numpy()) < 1e-9
            for region in by_region.columns:
                f_region = by_region[region].to_numpy()[order]
                footprint = pd.Series(M[key] * f_region).groupby(np.asarray(sectors)).sum()
                theirs = extension.D_cba.loc[row, region]
                ours_d = footprint.reindex(theirs.index).to_numpy()
                assert _relative_error(ours_d, theirs.to_numpy()) < 1e-9, (key, region)
            checked += 1
    assert checked == 3


def test_pymrio_without_calc_all(mrio: Any) -> None:
    import pymrio

    bare = technology_matrix(economy_from_pymrio(pymrio.load_test()))  # x, A and S computed here
    full = technology_matrix(economy_from_pymrio(mrio))
    assert list(bare.products) == list(full.products)
    np.testing.assert_allclose(bare.A.toarray(), full.A.toarray(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bare.B.toarray(), full.B.toarray(), rtol=1e-12)


def test_econplan_does_not_import_pymrio() -> None:
    import subprocess
    import sys

    code = "import sys, econplan.io.iotable; assert 'pymrio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("table_format", ["txt", "parquet"])
def test_pymrio_folder_from_the_command_line(mrio: Any, tmp_path: Path, table_format: str) -> None:
    """A folder IOSystem.save_all wrote is read by every command; analyse's multipliers are
    pymrio's own (calc_all): column sums of L, and M = S L of every extension row."""
    import json

    import pymrio
    from click.testing import CliRunner

    from econplan.cli import main

    folder = tmp_path / "mrio"
    pymrio.load_test().save_all(folder, table_format=table_format)  # Z, Y and F only
    result = CliRunner().invoke(main, ["analyse", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    rows = pd.DataFrame(json.loads(result.output)["by_product"]).set_index("product")
    keys = [f"{r}.{s}" for r, s in mrio.L.columns]
    assert sorted(rows.index) == sorted(keys)
    rows = rows.loc[keys]
    assert _relative_error(rows["multiplier"].to_numpy(), mrio.L.sum(axis=0).to_numpy()) < 1e-9
    checked = 0
    for name in mrio.get_extensions():
        extension = getattr(mrio, name)
        for row in extension.M.index:
            key = f"{name}.{'.'.join(row) if isinstance(row, tuple) else row}"
            theirs = extension.M.loc[row].to_numpy()
            assert _relative_error(rows[key].to_numpy(), theirs) < 1e-9, key
            checked += 1
    assert checked == 3
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "F_Y" in result.output  # households' emissions are left out, and it says so


def test_pymrio_folder_problems(tmp_path: Path) -> None:
    import pymrio
    from click.testing import CliRunner

    from econplan.cli import main

    folder = tmp_path / "mrio"
    pymrio.load_test().save_all(folder)
    result = CliRunner().invoke(main, ["analyse", str(folder), "--category", "x=exports"])
    assert result.exit_code == 2 and "not to a pymrio folder" in result.output
    (folder / "Z.txt").write_text("garbage\n")
    result = CliRunner().invoke(main, ["analyse", str(folder)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith(str(folder))]
    assert len(lines) == 2  # the heading and one problem, no traceback
    assert "pymrio cannot read this folder" in lines[1] and "Traceback" not in result.output
