"""One defect of each kind in a copy of an economy: exit code 2, no traceback, and a problem
that names the file, the row (or TOML key) and the column."""

from __future__ import annotations

import csv
import errno
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.model.economy import Economy


def read_rows(file: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows and the line number of each data row."""
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows, lines = [], []
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    return header, rows, lines


def write_rows(file: Path, header: list[str], rows: list[list[str]]) -> None:
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def set_cell(
    folder: Path, file: str, where: Callable[[dict[str, str]], bool], column: str, value: str
) -> int:
    """Set ``column`` in the first row matching ``where``; return that row's line number."""
    header, rows, lines = read_rows(folder / file)
    for row, line in zip(rows, lines, strict=True):
        if where(dict(zip(header, row, strict=True))):
            row[header.index(column)] = value
            write_rows(folder / file, header, rows)
            return line
    raise AssertionError(f"no row of {file} matched")


def first(_: dict[str, str]) -> bool:
    return True


def append_row(folder: Path, file: str, values: dict[str, str]) -> int:
    """Append a row; return its line number."""
    header, rows, _ = read_rows(folder / file)
    rows.append([values.get(c, "") for c in header])
    write_rows(folder / file, header, rows)
    return read_rows(folder / file)[2][-1]


@dataclass
class Expected:
    file: str
    row: int | None
    column: str | None
    says: str
    also: tuple[str, ...] = ()


Defect = Callable[[Path, Economy], Expected]


def missing_file(folder: Path, economy: Economy) -> Expected:
    (folder / "products.csv").unlink()
    return Expected("products.csv", None, None, "file is missing")


def not_utf8(folder: Path, economy: Economy) -> Expected:
    text = (folder / "regions.csv").read_bytes()
    (folder / "regions.csv").write_bytes(text + "pyongyang2,P\xf6ngyang\n".encode("latin-1"))
    line = text.count(b"\n") + 1
    return Expected("regions.csv", line, None, "not UTF-8")


def malformed_toml(folder: Path, economy: Economy) -> Expected:
    text = (folder / "economy.toml").read_text(encoding="utf-8")
    (folder / "economy.toml").write_text("base_year = \n" + text, encoding="utf-8")
    return Expected("economy.toml", 1, None, "malformed TOML")


def missing_toml_key(folder: Path, economy: Economy) -> Expected:
    lines = (folder / "economy.toml").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("base_year")]
    (folder / "economy.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return Expected("economy.toml", None, "base_year", "missing")


def malformed_csv(folder: Path, economy: Economy) -> Expected:
    text = (folder / "facilities.csv").read_text(encoding="utf-8")
    (folder / "facilities.csv").write_text(
        text + "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n", encoding="utf-8"
    )
    return Expected("facilities.csv", text.count("\n") + 1, None, "malformed CSV")


def wrong_type(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "capacity", "lots")
    return Expected("facilities.csv", line, "capacity", "is not a number")


def wrong_year_type(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "population.csv", first, "year", "2021.5")
    return Expected("population.csv", line, "year", "is not a year")


def empty_required(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "products.csv", first, "unit", "")
    return Expected("products.csv", line, "unit", "required cell is empty")


def bad_enum(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "products.csv", first, "kind", "gizmo")
    return Expected("products.csv", line, "kind", "is not one of")


def unknown_column(folder: Path, economy: Economy) -> Expected:
    header, rows, _ = read_rows(folder / "facilities.csv")
    header[header.index("capacity")] = "capcity"
    write_rows(folder / "facilities.csv", header, rows)
    return Expected("facilities.csv", 1, "capcity", "unknown column")


def unknown_product(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "process_io.csv", first, "product", "unobtainium")
    return Expected("process_io.csv", line, "product", "unknown product 'unobtainium'")


def unknown_region(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "region", "atlantis")
    return Expected("facilities.csv", line, "region", "unknown region 'atlantis'")


def unknown_process(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "process", "alchemy")
    return Expected("facilities.csv", line, "process", "unknown process 'alchemy'")


def unknown_facility(folder: Path, economy: Economy) -> Expected:
    line = set_cell(
        folder, "investments.csv", lambda r: r["kind"] == "renovate", "facility", "ghost"
    )
    return Expected("investments.csv", line, "facility", "unknown facility 'ghost'")


def unknown_sector(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "products.csv", first, "sector", "nosuch")
    return Expected("products.csv", line, "sector", "unknown sector 'nosuch'")


def duplicate_id(folder: Path, economy: Economy) -> Expected:
    header, rows, lines = read_rows(folder / "products.csv")
    line = append_row(folder, "products.csv", dict(zip(header, rows[0], strict=True)))
    return Expected("products.csv", line, "id", f"duplicate of row {lines[0]}")


def negative_capacity(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "capacity", "-5")
    return Expected("facilities.csv", line, "capacity", "cannot be negative")


def negative_amount(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "process_io.csv", first, "amount", "-1")
    return Expected("process_io.csv", line, "amount", "cannot be negative")


def negative_population(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "population.csv", first, "persons", "-10")
    return Expected("population.csv", line, "persons", "cannot be negative")


def output_over_capacity(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "base_output", "1e15")
    return Expected("facilities.csv", line, "base_output", "exceeds capacity")


def wrong_unit(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "process_io.csv", first, "unit", "furlong")
    return Expected("process_io.csv", line, "unit", "'furlong' is not the unit of the product")


def own_use_above_output(folder: Path, economy: Economy) -> Expected:
    processes = economy.processes
    process = processes.index[0]
    line = append_row(
        folder,
        "process_io.csv",
        {
            "process": process,
            "product": processes.loc[process, "main_product"],
            "flow": "input",
            "amount": "1e9",
        },
    )
    return Expected("process_io.csv", line, "amount", "must give out more than it takes in")


def base_imports_without_price(folder: Path, economy: Economy) -> Expected:
    header, rows, _ = read_rows(folder / "trade.csv")
    if "base_imports" not in header:
        header.append("base_imports")
        rows = [[*row, ""] for row in rows]
        write_rows(folder / "trade.csv", header, rows)
    values = {"product": economy.product_ids[0], "year": str(economy.years[-1])}
    line = append_row(folder, "trade.csv", {**values, "export_price": "1", "base_imports": "5"})
    return Expected("trade.csv", line, "import_price", "has no import_price")


def year_outside_horizon(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "targets.csv", first, "year", "2031")
    return Expected("targets.csv", line, "year", "outside the base year and horizon")


def used_but_not_supplied(folder: Path, economy: Economy) -> Expected:
    sector = economy.sector_ids[0]
    append_row(
        folder, "products.csv", {"id": "phlogiston", "unit": "t", "sector": sector, "kind": "good"}
    )
    process = economy.process_ids[0]
    line = append_row(
        folder,
        "process_io.csv",
        {"process": process, "product": "phlogiston", "flow": "input", "amount": "1"},
    )
    return Expected(
        "process_io.csv", line, "product", "'phlogiston' is used here but nothing produces"
    )


def target_nothing_can_make(folder: Path, economy: Economy) -> Expected:
    sector = economy.sector_ids[0]
    append_row(
        folder, "products.csv", {"id": "moon_rock", "unit": "t", "sector": sector, "kind": "good"}
    )
    line = append_row(
        folder,
        "targets.csv",
        {
            "id": "moon_2021",
            "product": "moon_rock",
            "year": str(economy.years[0]),
            "amount": "1",
            "kind": "tier1",
        },
    )
    return Expected("targets.csv", line, "product", "target 'moon_2021' cannot be met")


def region_cycle(folder: Path, economy: Economy) -> Expected:
    regions = economy.regions
    child = regions[regions["parent"].notna()].index[0]
    parent = regions.loc[child, "parent"]
    set_cell(folder, "regions.csv", lambda r: r["id"] == parent, "parent", child)
    header, rows, lines = read_rows(folder / "regions.csv")
    line = lines[[r[header.index("id")] for r in rows].index(min(child, parent))]
    return Expected("regions.csv", line, "parent", f"cycle ({min(child, parent)} -> ")


def no_net_surplus(folder: Path, economy: Economy) -> Expected:
    """Two produced products that each need three units of the other."""
    processes = economy.processes
    products = economy.products
    made = processes[processes["main_product"].map(products["kind"]).isin(["good", "service"])]
    made = made.drop_duplicates("main_product")
    (p, q), (a, b) = made.index[:2], made["main_product"].iloc[:2]
    header, rows, _ = read_rows(folder / "process_io.csv")
    index = {c: header.index(c) for c in header}
    rows = [r for r in rows if (r[index["process"]], r[index["product"]]) not in ((p, b), (q, a))]
    write_rows(folder / "process_io.csv", header, rows)
    append_row(
        folder, "process_io.csv", {"process": p, "product": b, "flow": "input", "amount": "3"}
    )
    append_row(
        folder, "process_io.csv", {"process": q, "product": a, "flow": "input", "amount": "3"}
    )
    return Expected("process_io.csv", None, "amount", "use up more of one another", (a, b))


def toml_is_a_directory(folder: Path, economy: Economy) -> Expected:
    (folder / "economy.toml").unlink()
    (folder / "economy.toml").mkdir()
    return Expected("economy.toml", None, None, "cannot be read (Is a directory)")


def toml_list_for_text(folder: Path, economy: Economy) -> Expected:
    text = (folder / "economy.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name = .*$", "name = [1, 2]", text)
    (folder / "economy.toml").write_text(text, encoding="utf-8")
    return Expected("economy.toml", None, "name", "[1, 2] is not text: write it in quotes")


def toml_list_for_currency(folder: Path, economy: Economy) -> Expected:
    text = (folder / "economy.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^currency = .*$", 'currency = ["a"]', text)
    (folder / "economy.toml").write_text(text, encoding="utf-8")
    return Expected("economy.toml", None, "currency", "['a'] is not text")


def optional_table_dangling_link(folder: Path, economy: Economy) -> Expected:
    (folder / "targets.csv").unlink()
    (folder / "targets.csv").symlink_to("nowhere.csv")
    return Expected("targets.csv", None, None, "symbolic link to nowhere.csv, which does not exist")


def optional_table_link_loop(folder: Path, economy: Economy) -> Expected:
    (folder / "links.csv").unlink()
    (folder / "links.csv").symlink_to("links.parquet")
    (folder / "links.parquet").symlink_to("links.csv")
    return Expected("links.csv", None, None, "symbolic link that loops back on itself")


def set_toml(folder: Path, key: str, value: str) -> None:
    """Give ``key`` of economy.toml the TOML ``value``."""
    text = (folder / "economy.toml").read_text(encoding="utf-8")
    text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    if count == 0:
        text = f"{key} = {value}\n" + text
    (folder / "economy.toml").write_text(text, encoding="utf-8")


def csv_year_too_large(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "population.csv", first, "year", "1e20")
    return Expected("population.csv", line, "year", "'1e20' is above the maximum 9999")


def base_year_too_large(folder: Path, economy: Economy) -> Expected:
    set_toml(folder, "base_year", "100000000000000000000")
    return Expected("economy.toml", None, "base_year", "is above the maximum 9999")


def horizon_far_off(folder: Path, economy: Economy) -> Expected:
    set_toml(folder, "horizon", f"[{economy.years[0]}, 1000000000]")
    return Expected("economy.toml", None, "horizon", "1000000000 is not a year between 1 and 9999")


def horizon_too_long(folder: Path, economy: Economy) -> Expected:
    set_toml(folder, "horizon", f"[{economy.years[0]}, {economy.settings.base_year + 150}]")
    return Expected("economy.toml", None, "horizon", "151 years from the base year")


def negative_credit_line(folder: Path, economy: Economy) -> Expected:
    set_toml(folder, "credit_line", "-1000")
    return Expected("economy.toml", None, "credit_line", "-1000 is below the minimum 0")


def credit_line_too_large(folder: Path, economy: Economy) -> Expected:
    set_toml(folder, "credit_line", "1e308")
    return Expected("economy.toml", None, "credit_line", "is above the maximum 1e15")


def subnormal_coefficient(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "process_io.csv", first, "amount", "1e-320")
    return Expected("process_io.csv", line, "amount", "'1e-320' is not 0 but smaller than 1e-15")


def capacity_too_large(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "facilities.csv", first, "capacity", "1e308")
    return Expected("facilities.csv", line, "capacity", "'1e308' is above the maximum 1e15")


def lead_time_too_long(folder: Path, economy: Economy) -> Expected:
    line = set_cell(folder, "investments.csv", first, "lead_time", "1000")
    return Expected("investments.csv", line, "lead_time", "'1000' is above the maximum 100")


DEFECTS: list[Defect] = [
    missing_file,
    not_utf8,
    malformed_toml,
    missing_toml_key,
    malformed_csv,
    wrong_type,
    wrong_year_type,
    empty_required,
    bad_enum,
    unknown_column,
    unknown_product,
    unknown_region,
    unknown_process,
    unknown_facility,
    unknown_sector,
    duplicate_id,
    negative_capacity,
    negative_amount,
    negative_population,
    output_over_capacity,
    wrong_unit,
    own_use_above_output,
    base_imports_without_price,
    year_outside_horizon,
    used_but_not_supplied,
    target_nothing_can_make,
    region_cycle,
    no_net_surplus,
    toml_is_a_directory,
    toml_list_for_text,
    toml_list_for_currency,
    optional_table_dangling_link,
    optional_table_link_loop,
    csv_year_too_large,
    base_year_too_large,
    horizon_far_off,
    horizon_too_long,
    negative_credit_line,
    credit_line_too_large,
    subnormal_coefficient,
    capacity_too_large,
    lead_time_too_long,
]


@pytest.fixture(params=["tiny", "builtin"])
def economy_copy(request: pytest.FixtureRequest) -> Path:
    name = "tiny_copy" if request.param == "tiny" else "builtin_copy"
    folder: Path = request.getfixturevalue(name)
    return folder


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.__name__ for d in DEFECTS])
def test_defect_is_reported_with_file_row_and_column(economy_copy: Path, defect: Defect) -> None:
    expected = defect(economy_copy, load_economy(economy_copy.parent / "pristine"))
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(economy_copy), "--json"])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    report = json.loads(result.stdout)
    assert report["ok"] is False
    matches = [
        p
        for p in report["problems"]
        if p["file"] == expected.file
        and p["row"] == expected.row
        and p["column"] == expected.column
        and expected.says in p["message"]
        and all(word in p["message"] for word in expected.also)
    ]
    assert matches, json.dumps(report["problems"], indent=1)
    readable = runner.invoke(main, ["validate", str(economy_copy)])
    assert readable.exit_code == 2
    assert "Traceback" not in readable.output
    where = expected.file if expected.row is None else f"{expected.file}:{expected.row}"
    assert where in readable.output


@pytest.fixture(autouse=True)
def pristine(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Keep an untouched copy beside the one a defect changes, for the test to read ids from."""
    import shutil

    if "economy_copy" in request.fixturenames:
        folder: Path = request.getfixturevalue("economy_copy")
        shutil.copytree(folder, folder.parent / "pristine")


def test_unreadable_toml_is_one_line(tiny_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error while reading economy.toml is a problem naming it, not a traceback."""
    read_text = Path.read_text

    def failing(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "economy.toml":
            raise OSError(errno.EIO, "Input/output error", str(self))
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", failing)
    result = CliRunner().invoke(main, ["validate", str(tiny_copy)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "economy.toml: cannot be read (Input/output error)" in result.output


def test_line_separators_inside_a_cell_are_text(tiny_copy: Path) -> None:
    """U+2028, U+2029, NEL and form feeds are not CSV line breaks: the row stays whole."""
    file = tiny_copy / "regions.csv"
    name = "North\u2028Pyongan\u2029\x85\x0bside"
    file.write_text(
        file.read_text(encoding="utf-8").replace(",North,", f",{name},"), encoding="utf-8"
    )
    economy = load_economy(tiny_copy)
    assert economy.regions.loc["north", "name"] == name


def test_toml_nested_deeper_than_the_parser_recurses_is_one_line(tiny_copy: Path) -> None:
    """tomllib recurses once per level: 5,000 nested arrays were a RecursionError."""
    toml = tiny_copy / "economy.toml"
    toml.write_text(toml.read_text() + "deep = " + "[" * 5000 + "]" * 5000 + "\n")
    result = CliRunner().invoke(main, ["validate", str(tiny_copy)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "nested hundreds of levels deep" in result.stderr


def test_a_problem_is_one_line_whatever_the_file_holds(tiny_copy: Path) -> None:
    """A column named with a line break, a control character or a right-to-left override is
    shown escaped: one problem, one line, nothing that rewrites the terminal."""
    file = tiny_copy / "regions.csv"
    lines = file.read_text(encoding="utf-8").splitlines()
    lines[0] += ',"new\nline\x01\u202e"'
    lines[1:] = [line + ",x" for line in lines[1:]]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(tiny_copy)])
    assert result.exit_code == 2, result.output
    said = result.stderr.strip().splitlines()
    assert len(said) == 1 + int(said[0].split(": ")[-1].split()[0]), said
    assert "new\\u000aline\\u0001\\u202e" in result.stderr
    assert not any(c in result.stderr for c in "\x01\u202e")


def test_a_stray_cell_far_from_the_table_is_one_line(tiny_copy: Path, tmp_path: Path) -> None:
    """openpyxl gives every row as long as the longest: one cell at XFD100000 made a small
    table 1.6e9 cells (MemoryError, or minutes). Such a sheet is refused, naming it."""
    import openpyxl

    book_path = tmp_path / "economy.xlsx"
    assert CliRunner().invoke(main, ["convert", str(tiny_copy), str(book_path)]).exit_code == 0
    book = openpyxl.load_workbook(book_path)
    book["products"]["XFD100000"] = "x"
    book.save(book_path)
    table = tmp_path / "table.xlsx"
    sheet = openpyxl.Workbook()
    for row in (
        ["sector", "a", "final", "total_output"],
        ["a", 1, 9, 10],
        ["wages", 9, None, None],
    ):
        sheet.active.append(row)
    sheet.active["XFD100000"] = 1
    sheet.save(table)
    for path, where in ((book_path, "economy.xlsx[products]"), (table, "table.xlsx")):
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 2, result.output
        assert where in result.stderr and "16,384 columns" in result.stderr
        assert "Traceback" not in result.output
