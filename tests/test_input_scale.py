"""Bad input at scale: hierarchies thousands of levels deep, and files with many bad cells,
validated in bounded work (checked by the result, never by the clock)."""

from __future__ import annotations

from pathlib import Path

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
