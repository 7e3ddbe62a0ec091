"""An economy read, written and read again is equal to itself; loading is deterministic."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from econplan import builtin_path, load_economy, write_economy
from econplan.errors import UsageError

ECONOMIES = {"tiny": Path(__file__).parent / "data" / "tiny", "builtin": builtin_path()}


@pytest.mark.parametrize("name", sorted(ECONOMIES))
@pytest.mark.parametrize("suffix", ["", ".xlsx"])
def test_round_trip(tmp_path: Path, name: str, suffix: str) -> None:
    economy = load_economy(ECONOMIES[name])
    written = write_economy(economy, tmp_path / f"copy{suffix}")
    again = load_economy(written)
    assert again == economy
    # and once more: writing what was read gives the same files, byte for byte
    if not suffix:
        rewritten = write_economy(again, tmp_path / "copy2")
        for file in sorted(written.iterdir()):
            assert file.read_bytes() == (rewritten / file.name).read_bytes(), file.name


def test_write_refuses_to_overwrite(tmp_path: Path, tiny_path: Path) -> None:
    economy = load_economy(tiny_path)
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        write_economy(economy, tmp_path / "taken")


@pytest.mark.parametrize("name", sorted(ECONOMIES))
def test_loading_is_deterministic_whatever_the_row_order(tmp_path: Path, name: str) -> None:
    source = ECONOMIES[name]
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    rng = random.Random(7)
    for file in source.iterdir():
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        if file.suffix == ".csv":
            body = lines[1:]
            rng.shuffle(body)
            lines = lines[:1] + body
        (shuffled / file.name).write_text("".join(lines), encoding="utf-8")
    first, second, third = load_economy(source), load_economy(source), load_economy(shuffled)
    assert first == second == third
    for year in (None, *first.years):
        for a, b in (
            (first.inputs(year), third.inputs(year)),
            (first.outputs(year), third.outputs(year)),
        ):
            assert (a != b).nnz == 0
            assert (a.indices == b.indices).all() and (a.indptr == b.indptr).all()
