"""A case from its seed and number: the base, the mutations, and the input written to disk.

The first draws of a case's generator choose the base and the mutation kinds (``choose``), so
that which kinds a case holds is known without writing anything; the rest choose the cells.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from fuzzing.economy import ECONOMY_MUTATIONS, SKIPPED
from fuzzing.iotable import IO_MUTATIONS, generate, write_io
from fuzzing.workbook import as_workbook

ROOT = Path(__file__).resolve().parents[2]
BASES = {
    "builtin": ROOT / "src" / "econplan" / "data" / "dprk2021",
    "tiny": ROOT / "tests" / "data" / "tiny",
}
BASE_WEIGHTS = {"builtin": 4.0, "tiny": 3.0, "iotable": 3.0}
LAST = ("file_missing", "file_bytes", "file_encoding", "file_dialect", "file_kind", "file_extra")
"""Mutations of whole files come after those of cells, rows and columns (which need to read
them), and the workbook after them all."""
WORKBOOK_SHARE = 0.1


@dataclass
class Case:
    seed: int
    number: int
    base: str
    kinds: list[str]
    mutations: list[str] = field(default_factory=list)
    path: Path | None = None
    """What econplan is given: the folder, a workbook or a table, inside the case's folder."""


def case_rng(seed: int, number: int, stream: str = "input") -> Random:
    """The generator of one stream of a case (str seeds hash the same in every process)."""
    return Random(f"econplan-fuzz/{stream}/{seed}/{number}")


def _weighted(rng: Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def choose(seed: int, number: int) -> tuple[Random, Case]:
    """The case's generator and its base and mutation kinds, before anything is written."""
    rng = case_rng(seed, number)
    base = _weighted(rng, BASE_WEIGHTS)
    count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
    table = IO_MUTATIONS if base == "iotable" else ECONOMY_MUTATIONS
    weights = {name: weight for name, (_, weight) in table.items()}
    kinds = [_weighted(rng, weights) for _ in range(count)]
    kinds.sort(key=lambda k: k in LAST)  # stable: cell, row, column, toml kinds first
    if base != "iotable" and rng.random() < WORKBOOK_SHARE:
        kinds.append("as_workbook")
    return rng, Case(seed, number, base, kinds)


def write_case(seed: int, number: int, folder: Path) -> Case:
    """Write the case's input into ``folder`` (created); the case says what to run."""
    rng, case = choose(seed, number)
    folder.mkdir(parents=True, exist_ok=True)
    if case.base == "iotable":
        table = generate(rng)
        for kind in case.kinds:
            case.mutations.append(f"{kind}: {IO_MUTATIONS[kind][0](rng, table)}")
        case.path = write_io(table, folder, rng)
        return case
    economy = folder / "economy"
    shutil.copytree(BASES[case.base], economy)
    case.path = economy
    for kind in case.kinds:
        if kind == "as_workbook":
            said = as_workbook(rng, economy)
            case.path = economy / "economy.xlsx"
        else:
            said = ECONOMY_MUTATIONS[kind][0](rng, economy)
        case.mutations.append(f"{kind}: {said}")
    return case


def one_per_kind(seed: int, search: int = 5_000) -> dict[str, int]:
    """For each mutation kind, the first case of ``seed`` that applies it alone (the workbook
    with one other kind): a slice that tries every kind once."""
    kinds = [*ECONOMY_MUTATIONS, *IO_MUTATIONS, "as_workbook"]
    found: dict[str, int] = {}
    for number in range(search):
        _, case = choose(seed, number)
        alone = len(case.kinds) == 1 or (len(case.kinds) == 2 and "as_workbook" in case.kinds)
        kind = case.kinds[0] if len(case.kinds) == 1 else "as_workbook"
        if alone and kind not in found:
            found[kind] = number
        if len(found) == len(kinds):
            break
    return {kind: found[kind] for kind in kinds if kind in found}


__all__ = ["SKIPPED", "Case", "case_rng", "choose", "one_per_kind", "write_case"]
