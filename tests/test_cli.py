from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.schema import load_schema


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_validate_json_on_a_sound_economy(tiny_path: Path) -> None:
    code, output = run("validate", str(tiny_path), "--json")
    assert code == 0
    report = json.loads(output)
    assert report["ok"] is True and report["problems"] == []
    assert report["counts"]["products"] == 8
    assert report["counts"]["regions"] == 3
    assert report["counts"]["years"] == 2
    assert report["counts"]["targets"] == 5


def test_summary_json(tiny_path: Path) -> None:
    code, output = run("summary", str(tiny_path), "--json")
    assert code == 0
    summary = json.loads(output)
    assert summary["population"]["2020"] == 5500
    coal = next(c for c in summary["calibration"] if c["item"] == "coal")
    assert coal["model"] == 1300 and coal["within"]
    assert 0 < summary["spectral_radius"] < 1


def test_a_missing_path_is_bad_input(tmp_path: Path) -> None:
    code, output = run("validate", str(tmp_path / "nowhere"))
    assert code == 2
    assert "no such folder or workbook" in output


def test_template_folder_has_every_header(tmp_path: Path) -> None:
    code, _ = run("template", str(tmp_path / "blank"))
    assert code == 0
    for table in load_schema().csv_tables:
        with (tmp_path / "blank" / table.file).open(newline="") as handle:
            assert next(csv.reader(handle)) == list(table.column_names)
    # a blank economy is not a valid one: it says what is missing, not a traceback
    code, output = run("validate", str(tmp_path / "blank"))
    assert code == 2 and "economy.toml" in output


def test_template_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    code, output = run("template", str(tmp_path / "taken"))
    assert code == 2 and "already exists" in output


def test_filled_in_template_workbook_validates(tmp_path: Path, tiny_path: Path) -> None:
    book_path = tmp_path / "mine.xlsx"
    assert run("template", str(book_path))[0] == 0
    book = openpyxl.load_workbook(book_path)
    settings = tomllib.loads((tiny_path / "economy.toml").read_text())
    sources = settings.pop("sources")
    settings["horizon"] = "{}-{}".format(*settings["horizon"])
    for row in book["economy"].iter_rows(min_row=2):
        if row[0].value in settings:
            row[1].value = settings[row[0].value]
    for entry in sources:
        book["sources"].append([entry.get(c) for c in load_schema()["sources"].column_names])
    for table in load_schema().csv_tables:
        file = tiny_path / table.file
        if not file.exists():
            continue
        with file.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        header = [cell.value for cell in book[table.name][1]]
        for row in rows:  # typed as a person would: numbers as numbers
            values = [row.get(column, "") for column in header]
            book[table.name].append([_as_typed(v) for v in values])
    book.save(book_path)
    code, output = run("validate", str(book_path), "--json")
    assert code == 0, output
    assert load_economy(book_path) == load_economy(tiny_path)


def _as_typed(text: str) -> object:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def test_workbook_problems_name_the_sheet_and_row(tmp_path: Path, tiny_path: Path) -> None:
    book_path = tmp_path / "copy.xlsx"
    assert run("convert", str(tiny_path), str(book_path))[0] == 0
    book = openpyxl.load_workbook(book_path)
    book["facilities"]["E2"] = "plenty"
    del book["regions"]
    book.save(book_path)
    code, output = run("validate", str(book_path), "--json")
    assert code == 2
    problems = json.loads(output)["problems"]
    assert {"file": "copy.xlsx[facilities]", "row": 2, "column": "capacity"} in [
        {k: p[k] for k in ("file", "row", "column")} for p in problems
    ]
    assert any(
        p["file"] == "copy.xlsx[regions]" and "sheet is missing" in p["message"] for p in problems
    )


def test_convert_round_trip(tmp_path: Path, tiny_path: Path) -> None:
    assert run("convert", str(tiny_path), str(tmp_path / "book.xlsx"))[0] == 0
    assert run("convert", str(tmp_path / "book.xlsx"), str(tmp_path / "folder"))[0] == 0
    assert load_economy(tmp_path / "folder") == load_economy(tiny_path)


def test_init_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    code, output = run("init", str(tmp_path / "full"))
    assert code == 2 and "not empty" in output
    assert (tmp_path / "full" / "x.txt").read_text() == "mine"


def test_docs_check(tmp_path: Path) -> None:
    out = tmp_path / "format.md"
    assert run("docs", str(out))[0] == 0
    assert run("docs", str(out), "--check")[0] == 0
    out.write_text(out.read_text() + "edited by hand\n")
    code, output = run("docs", str(out), "--check")
    assert code == 2 and "stale" in output


def test_unwritable_outputs_are_bad_input(tmp_path: Path, tiny_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    for args in (
        ["balance", str(tiny_path), "--csv", str(blocked / "b.csv")],
        ["docs", str(blocked / "format.md")],
        ["template", str(blocked / "t")],
        ["generate", "--products", "50", "--inputs", "3", "--out", str(blocked / "g")],
    ):
        code, output = run(*args)
        assert code == 2, (args, output)
        assert "Traceback" not in output


def test_user_text_with_brackets_and_bad_options_are_bad_input(
    tmp_path: Path, tiny_path: Path
) -> None:
    """Ids, labels and paths are printed as written (no markup), and odd input exits 2."""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    negative = tmp_path / "negative.csv"
    negative.write_text("product,amount\nsteel,-2\n")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["balance", str(tiny_path), "--region", "[/x]"], "unknown region '[/x]'"),
        (["balance", str(tiny_path), "--product", "a[/]"], "unknown product 'a[/]'"),
        (["analyse", str(tiny_path), "--demand", str(empty)], "cannot be read as CSV"),
        (["analyse", str(tiny_path), "--demand", str(negative)], "negative.csv:2: [amount]"),
        (["analyse", str(tiny_path), "--top", "0"], "--top"),
        (["init", str(a_file)], "is a file"),
        (
            ["generate", "--products", "9", "--spectral-radius", "0", "--out", str(tmp_path / "g")],
            "0",
        ),
    ]
    for args, says in cases:
        code, output = run(*args)
        assert code == 2, (args, output)
        assert says in output, (args, output)
        assert "Traceback" not in output
