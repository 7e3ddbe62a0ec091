"""Input-output tables as statistics offices publish them: IBGE's (Brazil) as the iotbr
package gives them, a competitive-import table built from China's 2020 domestic
coefficients, coded totals, negative cells, codes for final-demand categories, and the
workbooks and files that used to be misread. Every multiplier is checked against a dense
inverse computed here."""

from __future__ import annotations

import csv
import json
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from econplan import technology_matrix
from econplan.analysis.leontief import embodied, output_multipliers, total_output
from econplan.cli import main
from econplan.errors import EconomyError
from econplan.io.iotable import read_io_table, read_table
from econplan.model.economy import Economy

SHARED = Path("/work/shared/data")
DATA = Path(__file__).parent / "data"


def _dense_multipliers(Z: np.ndarray, x: np.ndarray) -> np.ndarray:
    A = Z / x
    return np.asarray(np.linalg.inv(np.eye(len(x)) - A).sum(axis=0))


def _ours(economy: Economy, order: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The economy's A and its multipliers, in ``order``."""
    technology = technology_matrix(economy)
    at = technology.products.get_indexer(order)
    assert (at >= 0).all()
    A = technology.A.toarray()[np.ix_(at, at)]
    multipliers = output_multipliers(technology.A, tol=1e-14).x[at]
    return A, multipliers


def _write(
    rows: list[list[object]], path: Path, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# -- IBGE, as iotbr gives it ------------------------------------------------------------------
VA_ROWS = [
    "Remunerações",
    "Excedente operacional bruto e rendimento misto bruto",
    "Outros impostos sobre a produção",
    "Outros subsídios à produção",  # negative: subsidies
]


@pytest.fixture(scope="module")
def ibge(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, np.ndarray]:
    """Brazil's 2019 table at level 12, as iotbr builds it from IBGE's supply and use tables:
    Z and the final-demand columns under IBGE's codes (DE, the change in inventories, has
    negative cells), imports and taxes by sector, value added with negative subsidies, its
    total (PIB) and total output (Valor da produção) as rows, and the labour row. Labels
    keep IBGE's line breaks ("01\\nAgropecuária")."""
    with warnings.catch_warnings():  # iotbr reads its files with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        io_system = pytest.importorskip("iotbr.io_system")
        tru = pytest.importorskip("iotbr.tru")
        system = io_system.system("2019", "12", "t")
        va = tru.read_var("2019", "12", "VA_table", "t")
    sectors = [str(s) for s in system.mZ.index]
    Z = system.mZ.to_numpy(dtype=float)
    Y = system.mY
    x = va["Valor da produção"].to_numpy(dtype=float)
    header = ["", *sectors, *Y.columns, "VBP", "unit"]
    rows: list[list[object]] = [header]
    for i, sector in enumerate(sectors):
        rows.append([sector, *Z[i], *Y.to_numpy()[i], x[i], ""])
    blanks = [""] * (len(Y.columns) + 1)
    rows.append(["M_bens_serv", *system.mM_int.to_numpy().ravel(), *blanks, ""])
    for tax in system.mT_int.columns:
        rows.append([tax, *system.mT_int[tax].to_numpy(), *blanks, ""])
    for label in [*VA_ROWS, "Valor adicionado bruto ( PIB )", "Valor da produção"]:
        rows.append([label, *va[label].to_numpy(dtype=float), *blanks, ""])
    rows.append(
        ["labour", *va["Fator trabalho (ocupações)"].to_numpy(dtype=float), *blanks, "jobs"]
    )
    path = _write(rows, tmp_path_factory.mktemp("ibge") / "ibge_2019_12.csv")
    return path, system.mL, Z / x


def test_ibge_table_as_iotbr_gives_it(ibge: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    path, L_iotbr, A_table = ibge
    table = read_table(path, base_year=2019)
    sectors = [str(s) for s in L_iotbr.index]
    A, multipliers = _ours(table.economy, [s.strip() for s in sectors])
    np.testing.assert_allclose(A, A_table, rtol=1e-12, atol=1e-15)
    dense = np.linalg.inv(np.eye(len(sectors)) - A_table).sum(axis=0)
    assert np.max(np.abs(multipliers - dense) / dense) < 1e-9
    iotbr = L_iotbr.to_numpy().sum(axis=0)  # iotbr's own dense inverse
    assert np.max(np.abs(multipliers - iotbr) / iotbr) < 1e-9
    notes = " ".join(table.notes)
    assert "'VBP' read as total output" in notes
    assert "'Valor adicionado bruto ( PIB )' read as a subtotal" in notes
    assert "'Valor da produção' read as total input" in notes
    demand = table.economy.final_demand.groupby("category")["amount"].sum()
    assert set(demand.index) == {"consumption", "public_services", "construction"}


def test_ibge_identities(ibge: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    """Every money row's content per unit adds up to 1 (prices equal unit costs, subsidies
    counted negative), and the table's final demand calls for its total output."""
    path, _, _ = ibge
    economy = read_io_table(path)
    technology = technology_matrix(economy)
    money = [k for k, p in enumerate(technology.primary) if p != "labour"]
    solves = embodied(technology.A, technology.B[money], tol=1e-14)
    np.testing.assert_allclose(sum(s.x for s in solves), 1.0, rtol=1e-9)
    subsidies = list(technology.primary).index(VA_ROWS[3])
    assert technology.B[subsidies].toarray().min() < 0
    demand = economy.final_demand.groupby("product")["amount"].sum()
    exports = economy.trade.set_index("product")["base_exports"]
    f = demand.add(exports, fill_value=0).reindex(technology.products, fill_value=0.0)
    x = economy.facilities.set_index("process")["base_output"].reindex(technology.products)
    ours = total_output(technology.A, f.to_numpy(), tol=1e-14).x
    np.testing.assert_allclose(ours, x.to_numpy(), rtol=1e-9)


def test_ibge_from_the_command_line(ibge: tuple[Path, pd.DataFrame, np.ndarray]) -> None:
    path, L_iotbr, _ = ibge
    code, output = _cli("analyse", str(path), "--json")
    assert code == 0, output
    rows = {r["product"]: r for r in json.loads(output)["by_product"]}
    for k, sector in enumerate(L_iotbr.index):
        expected = float(L_iotbr.to_numpy()[:, k].sum())
        assert rows[str(sector).strip()]["multiplier"] == pytest.approx(expected, rel=1e-9)


# -- a competitive-import table from China's 2020 domestic coefficients --------------------
def _china() -> tuple[list[str], np.ndarray, pd.DataFrame]:
    if not (SHARED / "china2020_domestic_A_16sector.csv").exists():
        pytest.skip("China 2020 figures not at /work/shared/data")
    A = pd.read_csv(SHARED / "china2020_domestic_A_16sector.csv", index_col=0)
    totals = pd.read_csv(SHARED / "china2020_16sector_totals.csv", index_col=0)
    return list(A.index), A.to_numpy(dtype=float), totals.loc[A.index]


def competitive_china() -> tuple[list[list[object]], np.ndarray]:
    """China 2020 (16 sectors, 10,000 CNY) in the competitive-import layout: flows of
    domestic and imported products together, and imports as a column of negative figures.
    The domestic flows are the published domestic A times output; imports of each product
    are given to its users in one share per product (0 to 30%, as import-proportional
    tables are made), so converting back must give the published domestic A exactly."""
    sectors, A, totals = _china()
    x = totals["gross_output_10kCNY"].to_numpy()
    Zd = A * x
    fd = x - Zd.sum(axis=1)  # domestic final use, exports included: < 0 for coal and ores
    exports = 0.15 * np.maximum(fd, 0)
    consumption = 0.5 * np.maximum(fd, 0)
    investment = 0.35 * np.maximum(fd, 0)
    inventories = np.minimum(fd, 0)  # drawn from stocks
    share = np.linspace(0.0, 0.3, len(sectors))
    ratio = share / (1 - share)
    Z = Zd * (1 + ratio[:, None])
    final = np.column_stack([consumption, investment, inventories]) * (1 + ratio[:, None])
    imports = ratio * (Zd.sum(axis=1) + consumption + investment + inventories)
    value_added = x - Z.sum(axis=0)  # value added and imported inputs, as the table books them
    header = ["code", *sectors, "TIU", "FU101", "FU201", "FU202", "EX", "IM", "GO"]
    rows: list[list[object]] = [header]
    for i, sector in enumerate(sectors):
        rows.append([sector, *Z[i], Z[i].sum(), *final[i], exports[i], imports[i], x[i]])
    rows.append(["TVA", *value_added, *[""] * 7])
    rows.append(["TI", *x, *[""] * 7])
    return rows, A


def test_competitive_imports_converted(tmp_path: Path) -> None:
    rows, A_published = competitive_china()
    path = _write(rows, tmp_path / "china_competitive.csv")
    with pytest.raises(EconomyError, match="--imports proportional"):
        read_io_table(path)
    table = read_table(path, imports="proportional")
    sectors = [str(r[0]) for r in rows[1:17]]
    A, multipliers = _ours(table.economy, sectors)
    np.testing.assert_allclose(A, A_published, rtol=1e-9, atol=1e-13)
    dense = np.linalg.inv(np.eye(16) - A_published).sum(axis=0)
    assert np.max(np.abs(multipliers - dense) / dense) < 1e-9
    notes = " ".join(table.notes)
    assert "'IM' holds imports as positive figures" in notes
    assert "import-proportionality" in notes
    assert "imports" in table.economy.products.index  # imported inputs, a primary row
    assert "less than 0 for 'coal'" in notes  # drawn from stocks
    code, output = _cli("analyse", str(path), "--imports", "proportional", "--json")
    assert code == 0, output
    code, output = _cli("analyse", str(path))
    assert code == 2 and "china_competitive.csv:1: [IM]" in output


def test_noncompetitive_import_rows(tmp_path: Path) -> None:
    path = _write(
        [
            ["", "a", "b", "households", "exports"],
            ["a", 10, 20, 60, 10],
            ["b", 20, 10, 60, 10],
            ["M_a", 5, 10, 8, ""],
            ["M_b", 2, 3, 4, ""],
            ["value added", 63, 57, "", ""],
        ],
        tmp_path / "noncompetitive.csv",
    )
    with pytest.raises(EconomyError, match="imports"):
        read_io_table(path)
    table = read_table(path, categories={"M_a": "imports", "M_b": "imports"})
    A, multipliers = _ours(table.economy, ["a", "b"])
    Z, x = np.array([[10.0, 20], [20, 10]]), np.array([100.0, 100])
    np.testing.assert_allclose(A, Z / x, rtol=1e-12)
    np.testing.assert_allclose(multipliers, _dense_multipliers(Z, x), rtol=1e-12)
    assert "left out" in " ".join(table.notes)


# -- coded totals -------------------------------------------------------------------------------
CODED = """code,S1,S2,S3,TIU,FU101,FU201,FU202,EX,TFU,GO
S1,10,20,5,35,40,20,-5,10,65,100
S2,30,40,10,80,60,50,3,7,120,200
S3,5,15,20,40,30,25,0,5,60,100
TII,45,75,35,155,,,,,,
VA001,30,80,40,150,,,,,,
VA002,-5,20,10,25,,,,,,
VA003,30,25,15,70,,,,,,
TVA,55,125,65,245,,,,,,
TI,100,200,100,400,,,,,,
"""
Z_CODED = np.array([[10.0, 20, 5], [30, 40, 10], [5, 15, 20]])
X_CODED = np.array([100.0, 200, 100])


def test_coded_totals_are_found(tmp_path: Path) -> None:
    path = tmp_path / "coded.csv"
    path.write_text(CODED, encoding="utf-8")
    table = read_table(path)
    A, multipliers = _ours(table.economy, ["S1", "S2", "S3"])
    np.testing.assert_allclose(A, Z_CODED / X_CODED, rtol=1e-12)
    np.testing.assert_allclose(multipliers, _dense_multipliers(Z_CODED, X_CODED), rtol=1e-12)
    assert table.economy.facilities["base_output"].tolist() == [100, 200, 100]
    products = set(table.economy.products.index)
    assert not products & {"TII", "TVA", "TI", "TIU", "TFU", "GO"}
    demand = table.economy.final_demand.set_index(["category", "product"])["amount"]
    assert demand[("construction", "S1")] == 15  # FU201 20 and FU202 (inventories) -5
    assert demand[("consumption", "S2")] == 60


def test_coded_totals_in_doubt_are_refused(tmp_path: Path) -> None:
    rows, _ = competitive_china()
    rows[5][-1] = float(rows[5][-1]) * 1.01  # a typing error in one total output
    path = _write(rows, tmp_path / "china.csv")
    with pytest.raises(EconomyError) as caught:
        read_io_table(path, imports="proportional")
    found = {(p.row, p.column) for p in caught.value.problems if "looks like a total" in p.message}
    assert (1, "GO") in found, caught.value.problems


# -- negative cells ------------------------------------------------------------------------------
NEGATIVES = (
    "sector,a,b,households,government,Gross fixed capital formation,Changes in inventories,"
    "exports,total_output\n"
    """a,150,-0.0001,300,20,20,-30,140,600
b,200,100,900,100,80,0.0001,20,1400
subsidies,-10,-20,,,,,,
value added,260,1320,,,,,,
total_input,600,1400,,,,,,
"""
)


def test_negative_cells_as_published(tmp_path: Path) -> None:
    path = tmp_path / "negatives.csv"
    path.write_text(NEGATIVES, encoding="utf-8")
    table = read_table(path)
    Z = np.array([[150.0, 0.0], [200, 100]])  # the -0.0001 is rounding
    x = np.array([600.0, 1400])
    A, multipliers = _ours(table.economy, ["a", "b"])
    np.testing.assert_allclose(A, Z / x, rtol=1e-12)
    np.testing.assert_allclose(multipliers, _dense_multipliers(Z, x), rtol=1e-12)
    notes = " ".join(table.notes)
    assert "read as 0" in notes and "netted" in notes
    demand = table.economy.final_demand.set_index(["category", "product"])["amount"]
    total = demand.xs("a", level="product").sum()
    assert total == pytest.approx(300 + 20 + 20 - 30)  # kept, with construction at 0
    assert ("construction", "a") not in demand.index
    technology = technology_matrix(table.economy)
    [subsidies] = np.flatnonzero(technology.primary == "subsidies")
    np.testing.assert_allclose(technology.B[subsidies].toarray().ravel(), [-10 / 600, -20 / 1400])


def test_large_negative_flow_and_negative_labour_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "sector,a,b,households,unit\na,10,-20,110,\nb,5,10,85,\nlabour,3,-1,,persons\n"
        "value added,85,110,,\n"
    )
    with pytest.raises(EconomyError) as caught:
        read_io_table(path)
    where = {(p.row, p.column) for p in caught.value.problems}
    assert {(2, "b"), (4, "b")} <= where


# -- categories --------------------------------------------------------------------------------
def test_category_row_and_option(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "sector,a,b,HH,GOV,K,XX\na,10,20,40,10,10,10\nb,20,10,50,10,5,5\n"
        "category,,,consumption,public_services,construction,\nva,70,70,,,,\n"
    )
    table = read_table(path, categories={"XX": "exports"})
    demand = table.economy.final_demand.groupby("category")["amount"].sum()
    assert demand.to_dict() == {"consumption": 90, "construction": 15, "public_services": 20}
    assert table.economy.trade.set_index("product")["base_exports"].to_dict() == {"a": 10, "b": 5}
    bad = read_table(path)  # XX without a category: consumption, and a note says so
    assert "'XX'" in " ".join(bad.notes)
    code, output = _cli("validate", str(path), "--category", "XX=exports", "--json")
    assert code == 0 and json.loads(output)["notes"] == []
    code, output = _cli("validate", str(path), "--category", "XX=export")
    assert code == 2 and "[XX] category 'export' is not one of" in output


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("FBKF", "construction"),
        ("DE", "construction"),
        ("C_g", "public_services"),
        ("C_f", "consumption"),
        ("X_bens_serv", "exports"),
        ("Exportação de bens e serviços", "exports"),
        ("Consumo do governo", "public_services"),
        ("Variação de estoque", "construction"),
        ("IM", "imports"),
    ],
)
def test_statistics_office_codes(label: str, category: str) -> None:
    from econplan.io.sectoral import final_use_category

    assert final_use_category(label) == category


# -- files -------------------------------------------------------------------------------------
def test_semicolons_latin1_and_line_breaks(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["setor", "01\nAgropecuária", "02\nIndústria", "famílias", "total"],
        ["01\nAgropecuária", "150", "500", "350", "1000"],
        ["02\nIndústria", "200", "100", "1700", "2000"],
        ["valor adicionado", "650", "1400", "", ""],
    ]
    path = _write(rows, tmp_path / "mb.csv", delimiter=";", encoding="latin-1")
    table = read_table(path)
    A, _ = _ours(table.economy, ["01\nAgropecuária", "02\nIndústria"])
    np.testing.assert_allclose(A, [[0.15, 0.25], [0.2, 0.05]])
    assert "Windows-1252" in " ".join(table.notes) and "semicolons" in " ".join(table.notes)
    decimal = [[c.replace("150", "150,5") if i == 1 else c for c in r] for i, r in enumerate(rows)]
    decimal[1][4] = "1000,5"
    table = read_table(_write(decimal, tmp_path / "comma.csv", delimiter=";"))
    assert table.economy.facilities["base_output"].iloc[0] == 1000.5
    bad = [list(r) for r in rows]
    bad[3][2] = "lots"
    with pytest.raises(EconomyError) as caught:  # rows as a spreadsheet counts them
        read_io_table(_write(bad, tmp_path / "bad.csv"))
    assert [(p.row, p.column) for p in caught.value.problems] == [(4, "02\nIndústria")]


def test_demand_file_labels_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "mb.csv"
    path.write_text(
        "sector, agriculture ,manufacturing,households\n agriculture ,150,500,350\n"
        "manufacturing,200,100,1700\nvalue_added,650,1400,\n"
    )
    demand = tmp_path / "demand.csv"
    demand.write_text('product,amount\n" agriculture ",1\n')
    code, output = _cli("analyse", str(path), "--demand", str(demand), "--json")
    assert code == 0, output
    rows = {r["product"]: r for r in json.loads(output)["total_requirements"]}
    assert rows["agriculture"]["total_output"] == pytest.approx(1.2541, abs=1e-4)


SPACED = (
    "sector, agriculture ,manufacturing, households , other \n"
    " agriculture ,150,500,250,100\nmanufacturing,200,100,1700,0\n"
    " wages ,400,1000,,\nsurplus,250,400,,\n"
)


def test_labels_with_outer_spaces_are_matched_as_written(tmp_path: Path) -> None:
    """A label with outer spaces is matched as the table writes it by --category,
    --households and --demand (its id is the label without them); Miller and Blair's table."""
    path = tmp_path / "mb.csv"
    path.write_text(SPACED)
    demand = tmp_path / "demand.csv"
    demand.write_text('product,amount\n" agriculture ",1\n')
    code, output = _cli(
        "analyse", str(path), "--category", " other =public_services",
        "--households", " wages ", "--demand", str(demand), "--json",
    )  # fmt: skip
    assert code == 0, output
    report = json.loads(output)
    rows = {r["product"]: r for r in report["by_product"]}
    L = np.linalg.inv(np.eye(2) - np.array([[0.15, 0.25], [0.2, 0.05]]))
    assert rows["agriculture"]["multiplier"] == pytest.approx(L[:, 0].sum(), rel=1e-12)
    assert "wages_type2" in rows["agriculture"]  # --households " wages " found its row
    need = {r["product"]: r for r in report["total_requirements"]}
    assert need["agriculture"]["total_output"] == pytest.approx(L[0, 0], rel=1e-12)
    table = read_table(path, categories={" other ": "public_services"})
    demand_by = table.economy.final_demand.groupby("category")["amount"].sum()
    assert demand_by.to_dict() == {"consumption": 1950, "public_services": 100}


def test_labels_that_differ_only_in_outer_spaces_are_refused(tmp_path: Path) -> None:
    """They would be one id: refused, both as written, with the lines; inner spaces make
    distinct ids and are kept."""
    path = tmp_path / "twice.csv"
    path.write_text(
        "sector,agriculture, agriculture,households\nagriculture,1,1,10\n"
        " agriculture,1,1,10\nvalue_added,10,10,\n"
    )
    code, output = _cli("analyse", str(path))
    assert code == 2
    assert (
        "twice.csv:1: [ agriculture] this column label appears twice, as 'agriculture' but for "
        "outer spaces" in output
    )
    assert (
        "twice.csv:3: [sector] row label ' agriculture' appears twice (first on line 2), as "
        "'agriculture' but for outer spaces" in output
    )
    inner = tmp_path / "inner.csv"
    inner.write_text(
        "sector,food  crops,food crops,households\nfood  crops,1,1,10\n"
        "food crops,1,1,10\nvalue_added,10,10,\n"
    )
    assert list(read_io_table(inner).product_ids[:2]) == ["food  crops", "food crops"]


# -- section 2: what used to crash or mislead ------------------------------------------------
def _workbook(path: Path, text: str, chart_first: bool = False, formula: str | None = None) -> Path:
    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "table"
    for line in text.strip().splitlines():
        sheet.append(
            [float(c) if re.fullmatch(r"-?[\d.]+", c) else (c or None) for c in line.split(",")]
        )
    if formula is not None:
        sheet["E2"] = formula
    if chart_first:
        chart = book.create_chartsheet("Chart1", 0)
        bars = BarChart()
        bars.add_data(Reference(sheet, min_col=2, min_row=1, max_row=3))
        chart.add_chart(bars)
    book.save(path)
    return path


MB = """sector,agriculture,manufacturing,households,total_output
agriculture,150,500,350,1000
manufacturing,200,100,1700,2000
value_added,650,1400,,
"""


def test_chart_sheet_first(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "charted.xlsx", MB, chart_first=True)
    table = read_table(path)
    assert "read the first worksheet, 'table'" in " ".join(table.notes)
    code, output = _cli("analyse", str(path), "--json")
    assert code == 0, output


def test_chart_sheet_without_a_drawing(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.create_chartsheet("Chart1", 0)
    book.save(tmp_path / "empty_chart.xlsx")
    code, output = _cli("validate", str(tmp_path / "empty_chart.xlsx"))
    assert code == 2 and "not a readable xlsx workbook" in output
    assert "Traceback" not in output


def _patch(path: Path, part: str, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    assert old in parts[part]
    parts[part] = parts[part].replace(old, new)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def test_formula_without_a_value(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "formula.xlsx", MB, formula="=B2+C2+D2")
    code, output = _cli("validate", str(path))
    assert code == 2
    assert re.search(
        r"formula.xlsx\[table\]:2: \[E2\] the formula =B2\+C2\+D2 has no stored", output
    )
    # as xlsxwriter writes it: a placeholder 0 and "compute on load"
    _patch(path, "xl/worksheets/sheet1.xml", b"<f>B2+C2+D2</f><v />", b"<f>B2+C2+D2</f><v>0</v>")
    code, output = _cli("validate", str(path))
    assert code == 2 and "placeholder result 0" in output
    # as a spreadsheet program saves it: the result stored, no recomputation asked for
    _patch(path, "xl/worksheets/sheet1.xml", b"<v>0</v>", b"<v>1000</v>")
    _patch(path, "xl/workbook.xml", b' fullCalcOnLoad="1"', b"")
    code, output = _cli("validate", str(path))
    assert code == 0, output


def test_formula_in_an_economy_workbook(tmp_path: Path, tiny_path: Path) -> None:
    import openpyxl

    from econplan import load_economy, write_economy

    path = write_economy(load_economy(tiny_path), tmp_path / "tiny.xlsx")
    book = openpyxl.load_workbook(path)
    book["facilities"]["E2"] = "=1+1"
    book.save(path)
    code, output = _cli("validate", str(path))
    assert code == 2 and "tiny.xlsx[facilities]:2: [E2] the formula =1+1" in output


def test_all_zero_table(tmp_path: Path) -> None:
    path = tmp_path / "zero.csv"
    path.write_text("sector,a,b,households\na,0,0,0\nb,0,0,0\nvalue_added,0,0,\n")
    for command in ("validate", "plan", "balance"):
        code, output = _cli(command, str(path))
        assert code == 2 and "zero.csv:2: the table holds no figures" in output, command


def test_spectral_radius_one_within_rounding(tmp_path: Path) -> None:
    """A table without value added: its A has column sums of 1 that round to just below 1,
    and a spectral radius that rounds to just above."""
    Z = np.array([[1.4, 0.8, 1.4], [0.8, 1.6, 1.0], [1.4, 1.0, 0.6]])
    x = Z.sum(axis=0)
    assert (Z / x).sum(axis=0).max() < 1.0 <= np.max(np.abs(np.linalg.eigvals(Z / x)))
    rows = [["sector", "a", "b", "c", "total_output"]]
    rows += [[s, *Z[i], x[i]] for i, s in enumerate("abc")]
    path = _write(rows, tmp_path / "closed.csv")
    code, output = _cli("validate", str(path))
    assert code == 2 and "cannot yield a net surplus" in output
    code, output = _cli("analyse", str(path))
    assert code == 2


def test_plan_on_the_documented_example(tmp_path: Path) -> None:
    """docs/format.md's example: the plan raises the final demand of consumption as far as
    the sectors' base-year output allows, the other claims held."""
    path = tmp_path / "example.csv"
    path.write_text(
        "sector,agriculture,manufacturing,households,exports,total_output\n"
        "agriculture,150,500,300,50,1000\nmanufacturing,200,100,1500,200,2000\n"
        "value_added,650,1400,,,\ntotal_input,1000,2000,,,\n"
    )
    out = tmp_path / "plan"
    code, output = _cli("plan", str(path), "--out", str(out), "--json")
    assert code == 0, output
    info = json.loads((out / "plan.json").read_text())
    assert info["status"] == "optimal" and info["verification"]["valid"]
    level = info["objectives"]["consumption"]
    # capacity is base-year output: with exports free to fall, manufacturing binds
    A = np.array([[0.15, 0.25], [0.2, 0.05]])
    L = np.linalg.inv(np.eye(2) - A)
    basket = np.array([300.0, 1500.0])
    expected = min(np.array([1000.0, 2000.0]) / (L @ basket))
    assert level == pytest.approx(expected, rel=1e-6)
    code, output = _cli("balance", str(path), "--plan", str(out), "--json")
    assert code == 0, output


# -- what an input-output economist expects ----------------------------------------------------
def test_ibge_multipliers_of_every_kind(
    ibge: tuple[Path, pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    """On the real table: output multipliers (types I and II), Rasmussen's forward linkage
    (row sums of L), income, value-added and employment multipliers, output by category and
    the inverse itself, each against a dense inverse computed here."""
    from econplan.analysis.inputoutput import rasmussen_index

    path, _, A = ibge
    inverse = tmp_path / "L.csv"
    code, output = _cli(
        "analyse", str(path), "--households", VA_ROWS[0], "--inverse", str(inverse), "--json"
    )
    assert code == 0, output
    report = json.loads(output)
    rows = pd.DataFrame(report["by_product"]).set_index("product")
    economy = read_io_table(path)
    technology = technology_matrix(economy)
    order = list(technology.products)
    rows = rows.reindex(order)
    n = len(order)
    A = technology.A.toarray()
    L = np.linalg.inv(np.eye(n) - A)
    np.testing.assert_allclose(rows["multiplier"], L.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(rows["forward_leontief"], rasmussen_index(L.sum(axis=1)), rtol=1e-9)
    B = pd.DataFrame(technology.B.toarray(), index=technology.primary, columns=order)
    for row in [VA_ROWS[0], "labour", "M_bens_serv"]:  # income, employment, imports
        np.testing.assert_allclose(rows[row], B.loc[row].to_numpy() @ L, rtol=1e-9)
    # type II: households earn Remunerações and spend it in the consumption shares
    basket = economy.final_demand.query("category == 'consumption'").groupby("product")["amount"]
    c = basket.sum().reindex(order).fillna(0.0).to_numpy()
    closed = np.zeros((n + 1, n + 1))
    closed[:n, :n], closed[:n, n], closed[n, :n] = A, c / c.sum(), B.loc[VA_ROWS[0]].to_numpy()
    Lc = np.linalg.inv(np.eye(n + 1) - closed)[:n, :n]
    np.testing.assert_allclose(rows["multiplier_type2"], Lc.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(rows["labour_type2"], B.loc["labour"].to_numpy() @ Lc, rtol=1e-9)
    assert (rows["multiplier_type2"] > rows["multiplier"]).all()
    # output by category adds up to total output; the inverse is the inverse
    by_category = pd.DataFrame(report["output_by_category"]).set_index("product").reindex(order)
    x = economy.facilities.set_index("process")["base_output"].reindex(order)
    np.testing.assert_allclose(by_category.sum(axis=1), x, rtol=1e-9)
    written = pd.read_csv(inverse, index_col=0)
    np.testing.assert_allclose(written.loc[order, order].to_numpy(), L, rtol=1e-9)


def test_households_row_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "mb.csv"
    path.write_text(MB)
    code, output = _cli("analyse", str(path), "--households", "wages")
    assert code == 2 and "'wages' is not a primary row" in output
