"""The fast slice of the fuzzing harness (tests/fuzzing; the long run is bench/fuzz.py): one case
of each mutation kind, seed 0, through validate and, when valid, balance, analyse and plan.

Each case fails on a traceback, an exit code outside its command's, a bad-input message that
is not one line per problem, or a hang (120 s a case, generous: the slice takes some seconds
a case). A failing case prints its report: the mutations, the command, its exit code and the
end of the traceback; ``python bench/fuzz.py --seed 0 --case N --keep DIR`` writes its input.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fuzzing import runner
from fuzzing.cases import choose, one_per_kind, write_case
from fuzzing.runner import Failure, Outcome, Settings, check, run_cases

SEED = 0
SLICE = one_per_kind(SEED)
SETTINGS = Settings(timeout=120.0, plan_share=0.0, follow_ups=1)
"""A valid case goes on to one of balance, analyse and plan (plan only for the tiny economy
and the tables, about a second; the built-in one takes ~20 s), to keep the slice quick."""
KNOWN: dict[int, str] = {}
"""Cases of the slice failing on today's code, with the bug (docs/robustness.md); a fix
merged makes them pass, and then they leave this list."""


@pytest.fixture(scope="module")
def outcomes() -> dict[int, Outcome]:
    return {o.number: o for o in run_cases(SEED, sorted(set(SLICE.values())), SETTINGS)}


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n])) if n in KNOWN else n
        for n in SLICE.values()
    ],
    ids=[f"{kind}-{number}" for kind, number in SLICE.items()],
)
def test_mutated_input_is_handled(outcomes: dict[int, Outcome], number: int) -> None:
    outcome = outcomes[number]
    assert not outcome.harness_error, outcome.harness_error
    assert not outcome.failures, outcome.report()
    assert outcome.commands and outcome.commands[0]["command"].startswith("validate")


def test_the_slice_tries_every_kind() -> None:
    from fuzzing.economy import ECONOMY_MUTATIONS
    from fuzzing.iotable import IO_MUTATIONS

    assert set(SLICE) == {*ECONOMY_MUTATIONS, *IO_MUTATIONS, "as_workbook"}
    for kind, number in SLICE.items():
        assert kind in choose(SEED, number)[1].kinds


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<not a file>"
        for p in sorted(folder.rglob("*"))
        if not p.is_symlink() and not p.is_dir()
    }


@pytest.mark.parametrize("number", [SLICE["cell"], SLICE["io_xlsx"], SLICE["id_rename"]])
def test_a_case_is_written_the_same_every_time(tmp_path: Path, number: int) -> None:
    first = write_case(SEED, number, tmp_path / "a")
    second = write_case(SEED, number, tmp_path / "b")
    assert first.mutations == second.mutations and first.kinds == second.kinds
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    if first.path is not None and first.path.suffix == ".xlsx":  # zip entries carry the time
        a = {k: v for k, v in a.items() if not k.endswith(".xlsx")}
        b = {k: v for k, v in b.items() if not k.endswith(".xlsx")}
    assert a == b


def _command(args: list[str], exit: object, stderr: str = "", **more: object) -> dict[str, object]:
    return {"args": args, "exit": exit, "exception": None, "stdout": "", "stderr": stderr, **more}


def test_check_names_what_is_wrong() -> None:
    root = Path("/tmp/case")
    ok = _command(["validate", "/tmp/case/x"], 2, "x: 2 problem(s)\na.csv:2: one\nb.csv:3: two\n")
    assert check([ok], root) == []
    split = _command(["validate", "x"], 2, "x: 1 problem(s)\na.csv:2: one\u2028more\n")
    empty = _command(["validate", "x"], 2, "")
    one = _command(["validate", "x"], 1, "Error: no such option")
    crash = _command(["plan", "x"], None, exception="ValueError: boom", where="a.py:1 in f")
    crash["traceback"] = ["ValueError: boom"]
    kinds = [[f.kind for f in check([c], root)] for c in (split, empty, one, crash)]
    assert kinds == [["message"], ["message"], ["exit"], ["traceback"]]
    after = check([_command(["validate", "x"], 0), _command(["balance", "x"], 2, "error: x")], root)
    assert [f.kind for f in after] == ["inconsistent"]
    assert Failure("traceback", "plan", 1, "ValueError: boom", "a.py:1 in f").group == (
        "ValueError at a.py:1 in f"
    )


def _sleep(*_: object) -> None:
    time.sleep(600)


def test_a_case_past_the_time_limit_is_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "_child", _sleep)
    (outcome,) = run_cases(SEED, [SLICE["cell"]], Settings(timeout=1.0))
    assert [f.kind for f in outcome.failures] == ["hang"]
    assert outcome.mutations  # written again in the parent, for the report
    assert "mutation cell:" in outcome.report()
