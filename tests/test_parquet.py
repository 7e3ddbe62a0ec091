"""Tables as Parquet files: typed columns read without text cells, and every bad cell still
reported with its file, row (the file's row + 1, as under a header line) and column."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from econplan import Economy, load_economy, validate, write_economy
from econplan.errors import UsageError
from econplan.generate import generate_economy
from econplan.schema import load_schema


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, tiny_economy: Economy) -> Path:
    return write_economy(
        tiny_economy, tmp_path_factory.mktemp("pq") / "tiny", table_format="parquet"
    )


@pytest.fixture(scope="module")
def tiny_economy() -> Economy:
    return load_economy(Path(__file__).parent / "data" / "tiny")


@pytest.fixture
def folder(tmp_path: Path, pristine: Path) -> Path:
    """A writable copy of the tiny economy with every table as Parquet."""
    target = tmp_path / "tiny"
    shutil.copytree(pristine, target)
    return target


def test_round_trip_tiny(folder: Path, tiny_economy: Economy, tmp_path: Path) -> None:
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(
        ["economy.toml"] + [f"{t.name}.parquet" for t in load_schema().csv_tables]
    )
    again = load_economy(folder)
    assert again == tiny_economy
    # and back to CSV: the same economy again
    assert load_economy(write_economy(again, tmp_path / "csv")) == tiny_economy


def test_text_is_dictionary_encoded_with_sorted_dictionaries(folder: Path) -> None:
    table = pq.read_table(folder / "process_io.parquet")
    assert pa.types.is_dictionary(table.schema.field("product").type)
    assert table.schema.field("amount").type == pa.float64()
    assert table.schema.field("year").type == pa.int64()
    dictionary = table.column("product").chunk(0).dictionary.to_pylist()
    assert dictionary == sorted(dictionary)


def rewrite(folder: Path, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Change a Parquet table as another tool would write it: plain strings, no dictionary."""
    file = folder / f"{name}.parquet"
    frame = pq.read_table(file).to_pandas()
    frame = change(frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"}))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), file)


def problems_of(folder: Path) -> list[tuple[str, int | None, str | None, str]]:
    report = validate(folder)
    assert not report.ok
    return [(p.file, p.row, p.column, p.message) for p in report.problems]


def has(
    problems: list[tuple[str, int | None, str | None, str]],
    file: str,
    row: int | None,
    column: str | None,
    says: str,
) -> bool:
    return any((f, r, c) == (file, row, column) and says in m for f, r, c, m in problems)


def set_cell(row: int, column: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        # text in a column of numbers: the whole column becomes text, as Parquet needs
        kind = str if isinstance(value, str) and frame[column].dtype != object else object
        frame = frame.astype({column: kind}).astype({column: object})
        frame.loc[row, column] = value
        return frame

    return change


def test_negative_amount(folder: Path) -> None:
    rewrite(folder, "process_io", set_cell(3, "amount", -1.0))
    # the file's fourth row (index 3) is row 5: the first row counts as row 2
    problems = problems_of(folder)
    assert has(problems, "process_io.parquet", 5, "amount", "cannot be negative"), problems


def test_unknown_product(folder: Path) -> None:
    rewrite(folder, "process_io", set_cell(0, "product", "unobtainium"))
    problems = problems_of(folder)
    assert has(problems, "process_io.parquet", 2, "product", "unknown product 'unobtainium'")


def test_null_in_a_required_column(folder: Path) -> None:
    rewrite(folder, "products", set_cell(1, "unit", None))
    problems = problems_of(folder)
    assert has(problems, "products.parquet", 3, "unit", "required cell is empty")


def test_text_where_a_number_belongs(folder: Path) -> None:
    rewrite(folder, "facilities", set_cell(0, "capacity", "lots"))
    problems = problems_of(folder)
    assert has(problems, "facilities.parquet", 2, "capacity", "'lots' is not a number")


def test_numbers_given_as_text_are_read(folder: Path, tiny_economy: Economy) -> None:
    rewrite(folder, "facilities", lambda f: f.astype({"capacity": str}))
    assert load_economy(folder) == tiny_economy


def test_fractional_year_and_bad_enum(folder: Path) -> None:
    rewrite(folder, "population", lambda f: f.astype({"year": float}))
    rewrite(folder, "population", set_cell(0, "year", 2020.5))
    rewrite(folder, "products", set_cell(0, "kind", "gizmo"))
    problems = problems_of(folder)
    assert has(problems, "population.parquet", 2, "year", "2020.5 is not a year")
    assert has(problems, "products.parquet", 2, "kind", "'gizmo' is not one of")


def test_duplicate_key(folder: Path) -> None:
    rewrite(folder, "products", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    rows = len(pq.read_table(folder / "products.parquet"))
    problems = problems_of(folder)
    assert has(problems, "products.parquet", rows + 1, "id", "duplicate of row 2")


def test_a_missing_required_column(folder: Path) -> None:
    rewrite(folder, "products", lambda f: f.drop(columns=["unit"]))
    problems = problems_of(folder)
    assert has(problems, "products.parquet", 1, "unit", "required column is missing")


def test_an_unsupported_column_type(folder: Path) -> None:
    file = folder / "regions.parquet"
    table = pq.read_table(file)
    table = table.set_column(
        table.schema.get_field_index("name"),
        "name",
        pa.array([[1]] * len(table), type=pa.list_(pa.int64())),
    )
    pq.write_table(table, file)
    problems = problems_of(folder)
    assert has(problems, "regions.parquet", 1, "name", "is not supported")


def test_not_a_parquet_file(folder: Path) -> None:
    (folder / "links.parquet").write_bytes(b"not parquet at all")
    problems = problems_of(folder)
    assert has(problems, "links.parquet", None, None, "not a readable Parquet file")


def test_a_table_in_both_formats_is_a_problem(folder: Path, tmp_path: Path) -> None:
    csv = write_economy(load_economy(folder), tmp_path / "csv")
    shutil.copy(csv / "links.csv", folder / "links.csv")
    problems = problems_of(folder)
    assert has(problems, "links.csv", None, None, "both links.csv and links.parquet"), problems


def test_mixed_formats_in_one_folder(folder: Path, tmp_path: Path, tiny_economy: Economy) -> None:
    csv = write_economy(tiny_economy, tmp_path / "csv")
    for name in ("products", "regions", "targets"):
        (folder / f"{name}.parquet").unlink()
        shutil.copy(csv / f"{name}.csv", folder / f"{name}.csv")
    assert load_economy(folder) == tiny_economy


def test_categorical_generated_economy_round_trip(tmp_path: Path) -> None:
    economy = generate_economy(products=1500, inputs=8, regions=2, seed=4)
    written = write_economy(economy, tmp_path / "g", table_format="parquet")
    assert load_economy(written) == economy
    io = pq.read_table(written / "process_io.parquet")
    assert len(io) == len(economy.tables["process_io"])


def test_workbooks_cannot_hold_parquet(tmp_path: Path, tiny_economy: Economy) -> None:
    with pytest.raises(UsageError, match="workbook"):
        write_economy(tiny_economy, tmp_path / "x.xlsx", table_format="parquet")
    with pytest.raises(UsageError, match="table format"):
        write_economy(tiny_economy, tmp_path / "y", table_format="feather")  # type: ignore[arg-type]


def test_ids_given_as_numbers_are_text(folder: Path) -> None:
    """A tool that wrote numeric-looking ids as integers: they are read as the text 1, 2, ..."""

    def numbered(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["source"] = [1] * len(frame)
        return frame

    rewrite(folder, "population", numbered)
    problems = problems_of(folder)
    assert has(problems, "population.parquet", 2, "source", "unknown source '1'")


def test_padded_text_is_stripped(folder: Path, tiny_economy: Economy) -> None:
    rewrite(folder, "products", lambda f: f.assign(unit=" " + f["unit"].astype(str) + " "))
    assert load_economy(folder) == tiny_economy


def test_a_column_twice(folder: Path) -> None:
    file = folder / "regions.parquet"
    table = pq.read_table(file)
    pq.write_table(table.append_column("name", table.column("name")), file)
    problems = problems_of(folder)
    assert has(problems, "regions.parquet", 1, "name", "column appears twice")
