"""Bad input at scale: hierarchies thousands of levels deep, and files with many bad cells,
validated in bounded work (checked by the result, never by the clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.errors import SHOWN, EconomyError, MoreProblems, sort_problems
from econplan.validate import validate
from econplan.validate.structure import _cycles

LEVELS = 3000


def deep_regions(folder: Path, levels: int, loop: bool) -> None:
    """A chain of ``levels`` counties below the province south, each the parent of the next;
    with ``loop`` the top of the chain hangs below its bottom instead."""
    with (folder / "regions.csv").open("a", encoding="utf-8") as regions:
        for i in range(levels):
            parent = f"r{levels - 1}" if loop and i == 0 else ("south" if i == 0 else f"r{i - 1}")
            regions.write(f"r{i},Level {i},{parent},county\n")
    with (folder / "population.csv").open("a", encoding="utf-8") as population:
        for i in range(levels):
            for year in (2020, 2021, 2022):
                population.write(f"r{i},{year},10\n")


def test_regions_thousands_of_levels_deep_validate(tiny_copy: Path) -> None:
    deep_regions(tiny_copy, LEVELS, loop=False)
    report = validate(tiny_copy)
    assert report.ok, report.problems[:5]
    assert report.economy is not None
    assert len(report.economy.region_ids) == 3 + LEVELS


def test_a_cycle_thousands_of_levels_long_is_one_problem(tiny_copy: Path) -> None:
    deep_regions(tiny_copy, LEVELS, loop=True)
    report = validate(tiny_copy)
    cycles = [p for p in report.problems if "cycle" in p.message]
    assert len(cycles) == 1, report.problems[:5]
    (problem,) = cycles
    # the row of the smallest id of the cycle, r0 (the header is line 1, tiny has 3 regions)
    assert (problem.file, problem.row, problem.column) == ("regions.csv", 5, "parent")
    assert "(r0 -> r2999 -> r2998 -> " in problem.message
    assert "-> r1 -> r0)" in problem.message


class CountingDict(dict[str, str]):
    """A parent mapping that counts how often it is asked for a parent."""

    asked = 0

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked += 1
        return super().__getitem__(key)


def test_walking_a_deep_hierarchy_asks_each_parent_once() -> None:
    """Linear work: N levels cost N parent lookups (the old walk cost about N^3 / 6)."""
    parents = CountingDict({f"r{i:05d}": f"r{i - 1:05d}" for i in range(1, LEVELS)})
    parents["r00000"] = f"r{LEVELS - 1:05d}"  # close the chain into one cycle
    cycles = list(_cycles(parents))
    assert len(cycles) == 1 and len(cycles[0]) == LEVELS
    assert parents.asked <= LEVELS


BAD = 10_000


def test_many_bad_cells_list_the_first_of_each_column_and_count_the_rest(tiny_copy: Path) -> None:
    """10^4 unreadable capacities and 10^4 unknown regions: a hundred lines for each column
    and one line counting the rest, in the CLI's text and JSON alike."""
    with (tiny_copy / "facilities.csv").open("a", encoding="utf-8") as facilities:
        for i in range(BAD):
            facilities.write(f"f{i},F,atlantis,coal_mining,lots,,,,central,,assumption\n")
    result = CliRunner().invoke(main, ["validate", str(tiny_copy), "--json"])
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["problems"]
    for column, says in (("capacity", "'lots' is not a number"), ("region", "unknown region")):
        listed = [p for p in problems if p["column"] == column and p["row"] is not None]
        assert len(listed) == SHOWN
        assert all(says in p["message"] for p in listed)
        # the first rows of the file: tiny's facilities take lines 2 to 8
        assert [p["row"] for p in listed] == list(range(9, 9 + SHOWN))
        (more,) = [p for p in problems if p["column"] == column and p["row"] is None]
        assert more["count"] == BAD - SHOWN
        assert f"{BAD - SHOWN:,} more problems in this column are not listed" in more["message"]
    assert len(problems) == 2 * (SHOWN + 1)
    text = CliRunner().invoke(main, ["validate", str(tiny_copy)])
    assert f"{2 * BAD:,} problem(s), {2 * SHOWN} of them listed" in text.output
    assert len(text.output.splitlines()) == 1 + 2 * (SHOWN + 1)


def test_many_rows_breaking_a_rule_and_many_malformed_lines_are_counted(tiny_copy: Path) -> None:
    with (tiny_copy / "facilities.csv").open("a", encoding="utf-8") as facilities:
        for i in range(BAD):
            facilities.write(f"f{i},F,north,coal_mining,1,2,,,central,,assumption\n")
    with (tiny_copy / "population.csv").open("a", encoding="utf-8") as population:
        population.write("north,2021,1,extra\n" * BAD)
    report = validate(tiny_copy)
    over = [p for p in report.problems if p.column == "base_output"]
    assert len(over) == SHOWN + 1
    assert [p.count for p in over if isinstance(p, MoreProblems)] == [BAD - SHOWN]
    malformed = [p for p in report.problems if p.file == "population.csv"]
    assert len(malformed) == SHOWN + 1
    assert [p.count for p in malformed if isinstance(p, MoreProblems)] == [BAD - SHOWN]
    # sorting again (as EconomyError does) keeps the same lines and counts
    assert sort_problems(report.problems) == report.problems
    with pytest.raises(EconomyError) as error:
        load_economy(tiny_copy)
    assert error.value.problems == report.problems
