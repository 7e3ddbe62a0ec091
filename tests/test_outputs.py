"""Nothing lost, nothing misread: what econplan writes never replaces what it did not write, a
kill at any moment leaves the old plan or the new one, Ctrl-C stops a solve at once, a full
disk keeps the older plan, and a written plan that was changed afterwards is refused."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.io.replace import LEFTOVER_NEW, LEFTOVER_OLD, leftover_prefix, write_folder
from econplan.plan import Plan, PlanError, load_plan
from econplan.plan.disk import _canonical, _sha256
from test_plan import LEAD_TARGETS, kantorovich, lead_time_economy

RUNNER = CliRunner()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".econplan-" in p.name)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Kantorovich's economy and its plan, written once: (economy, plan folder)."""
    base = tmp_path_factory.mktemp("planned")
    economy = kantorovich(base / "k")
    out = base / "plan"
    result = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return economy, out


# -- 1. --out never replaces what is not a plan ---------------------------------------------


def layouts() -> dict[str, Callable[[Path, Path], tuple[Path, Path]]]:
    """Ways found to point --out at something that is not a plan: (the folder to watch,
    the --out to give), from a project folder holding the economy."""

    def parent(project: Path, economy: Path) -> tuple[Path, Path]:
        (project / "README").write_text("my notes\n")
        return project, project

    def itself(project: Path, economy: Path) -> tuple[Path, Path]:
        return project, economy

    def plan_and_notes(project: Path, economy: Path) -> tuple[Path, Path]:
        out = project / "out"
        assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0
        (out / "notes.txt").write_text("keep me\n")
        return project, out

    def plan_with_a_folder(project: Path, economy: Path) -> tuple[Path, Path]:
        out = project / "out"
        assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0
        (out / "sub").mkdir()
        return project, out

    def link_to_economy(project: Path, economy: Path) -> tuple[Path, Path]:
        (project / "link").symlink_to(economy, target_is_directory=True)
        return project, project / "link"

    def a_file(project: Path, economy: Path) -> tuple[Path, Path]:
        (project / "afile").write_text("data\n")
        return project, project / "afile"

    def under_a_file(project: Path, economy: Path) -> tuple[Path, Path]:
        (project / "afile").write_text("data\n")
        return project, project / "afile" / "sub"

    def current_folder(project: Path, economy: Path) -> tuple[Path, Path]:
        os.chdir(project)
        return project, Path(".")

    def above_current(project: Path, economy: Path) -> tuple[Path, Path]:
        os.chdir(economy)
        return project, Path("..")

    return {
        f.__name__: f
        for f in (
            parent,
            itself,
            plan_and_notes,
            plan_with_a_folder,
            link_to_economy,
            a_file,
            under_a_file,
            current_folder,
            above_current,
        )
    }


@pytest.mark.parametrize("layout", list(layouts()))
def test_plan_never_replaces_what_it_did_not_write(
    layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "proj"
    economy = kantorovich(project / "econ")
    watched, out = layouts()[layout](project, economy)
    before = snapshot(watched)
    result = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert snapshot(watched) == before
    assert not leftovers(project) and not leftovers(tmp_path)


def test_plan_writes_a_new_or_empty_folder_and_replaces_an_earlier_plan(
    planned: tuple[Path, Path], tmp_path: Path
) -> None:
    economy, _ = planned
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (empty, tmp_path / "new" / "deeper"):
        assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0
        assert load_plan(out).ok
    again = RUNNER.invoke(main, ["plan", str(economy), "--out", str(empty), "--csv"])
    assert again.exit_code == 0, again.output
    assert (empty / "activity.csv").is_file() and load_plan(empty).ok
    assert not leftovers(tmp_path)


def test_init_refuses_a_folder_with_anything_in_it(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep\n")
    result = RUNNER.invoke(main, ["init", str(target)])
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert snapshot(target) == {"notes.txt": b"keep\n"}


def test_mps_never_overwrites_another_file(planned: tuple[Path, Path], tmp_path: Path) -> None:
    economy, _ = planned
    toml = economy / "economy.toml"
    before = toml.read_bytes()
    out = tmp_path / "out"
    for target in (toml, tmp_path / "problem.txt"):
        result = RUNNER.invoke(
            main, ["plan", str(economy), "--out", str(out), "--mps", str(target)]
        )
        assert result.exit_code == 2, result.output
    assert toml.read_bytes() == before and not out.exists()


# -- 2. A kill at any point leaves the old plan or the new one ------------------------------

KILLED = 9

WRITER = textwrap.dedent(
    """
    import os, shutil, sys
    import pandas as pd
    import econplan.io.replace as replace
    import econplan.plan.disk as disk
    from econplan.plan import Plan, write_plan

    out, generation, point, step = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    calls = {"n": 0}

    def killed_at(name, original):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if name == point and calls["n"] == step:
                os._exit(9)
            result = original(*args, **kwargs)
            if name + "-after" == point and calls["n"] == step:
                os._exit(9)
            return result
        return wrapped

    if point.startswith("table"):
        disk._write_table = killed_at("table", disk._write_table)
    if point.startswith("rename"):
        replace.exchange = lambda a, b: False  # the two-rename fallback
        replace.os.rename = killed_at("rename", os.rename)
    if point.startswith("exchange"):
        replace.exchange = killed_at("exchange", replace.exchange)
    if point.startswith("rmtree"):
        replace.shutil.rmtree = killed_at("rmtree", shutil.rmtree)
    tables = {
        name: pd.DataFrame({"year": [2021, 2022], "amount": [generation, generation + 0.5]})
        for name in ("activity", "stocks", "trade")
    }
    info = {
        "status": "optimal",
        "economy": {"name": "test"},
        "solver": {"name": "HiGHS"},
        "generation": generation,
        "tables": sorted(tables),
    }
    write_plan(Plan(info, tables), out)
    """
)


def write_in_child(out: Path, generation: int, point: str = "", step: int = 0) -> int:
    return subprocess.run(
        [sys.executable, "-c", WRITER, str(out), str(generation), point, str(step)],
        check=False,
    ).returncode


KILL_POINTS = [
    ("table", 1),
    ("table", 3),
    ("table-after", 3),
    ("exchange", 1),
    ("exchange-after", 1),
    ("rmtree", 1),
    ("rmtree-after", 1),
    ("rename", 1),
    ("rename-after", 1),
    ("rename", 2),
    ("rename-after", 2),
]


@pytest.mark.parametrize(("point", "step"), KILL_POINTS)
def test_a_kill_at_any_point_leaves_the_old_plan_or_the_new(
    point: str, step: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert write_in_child(out, 1) == 0
    assert write_in_child(out, 2, point, step) == KILLED
    # the moment of the kill: the old plan or the new one, whole, is at out/
    # (after a kill in the two-rename fallback the next write puts it back: below)
    if not point.startswith("rename"):
        assert load_plan(out).info["generation"] in (1, 2)
    assert write_in_child(out, 3) == 0
    assert load_plan(out).info["generation"] == 3
    assert not leftovers(tmp_path), leftovers(tmp_path)


def test_a_real_kill_while_writing_leaves_a_plan(tmp_path: Path) -> None:
    """SIGKILL at moments spread over a write: each time a whole plan is at out/."""
    out = tmp_path / "out"
    assert write_in_child(out, 0) == 0
    for generation, delay in enumerate(np.linspace(0.2, 1.2, 6), start=1):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(out), str(generation), "", "0"])
        time.sleep(float(delay))  # when to kill, not a limit: any moment must be safe
        child.kill()
        child.wait()
        assert 0 <= load_plan(out).info["generation"] <= generation
    assert write_in_child(out, 99) == 0
    assert load_plan(out).info["generation"] == 99 and not leftovers(tmp_path)


# -- 3. Ctrl-C stops a solve, a full disk keeps the older plan ------------------------------


def test_ctrl_c_during_a_solve_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    """A generated economy of 600 products takes many seconds to plan (about 12 s, its first
    stage about 2 s from the Leontief basis): Ctrl-C during the stages ends the command with
    exit 130, the earlier plan untouched, nothing beside it."""
    big = tmp_path / "big"
    generate = RUNNER.invoke(main, ["generate", "--products", "600", "--out", str(big)])
    assert generate.exit_code == 0, generate.output
    out = tmp_path / "out"
    assert write_in_child(out, 7) == 0
    before = snapshot(out)
    command = [sys.executable, "-m", "econplan", "plan", str(big), "--out", str(out)]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    lines = []
    for line in child.stderr:  # wait until HiGHS is at work
        lines.append(line)
        if "stage 1/" in line:
            break
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    # a generous guard against a hang, not a speed requirement (about 1 s was measured)
    rest = child.communicate(timeout=120)[1]
    assert child.returncode == 130, "".join(lines) + rest
    assert "interrupted" in rest and "Traceback" not in rest
    assert snapshot(out) == before and not leftovers(tmp_path)


SOLVER_STILL_RUNNING = """
import sys
import econplan.plan.highs as highs

class Solver:  # a HiGHS run interrupted inside a factorisation: not finished
    def __init__(self, finished):
        self.finished = finished
    def wait(self, seconds):
        return (self.finished, None)

highs._LEFT_RUNNING.extend([Solver(True), Solver(sys.argv[1] == "finished")])
from econplan.cli.common import exit_if_a_solve_runs_on
print("interrupted", end="")  # unflushed: the exit must flush it
exit_if_a_solve_runs_on()
print(" and went on", len(highs._LEFT_RUNNING))
"""


@pytest.mark.parametrize("state", ["running", "finished"])
def test_a_solve_that_runs_on_after_ctrl_c_ends_the_process_with_130(state: str) -> None:
    """After Ctrl-C, a HiGHS run that would not stop (inside a factorisation) must not be
    destroyed by Python's teardown, which aborts the process (exit -6 was seen under load):
    the command ends at once with 130, its output flushed. A run that has finished is let
    go and the command ends as usual."""
    child = subprocess.run(
        [sys.executable, "-c", SOLVER_STILL_RUNNING, state], capture_output=True, text=True
    )
    if state == "running":
        assert (child.returncode, child.stdout) == (130, "interrupted"), child.stderr
    else:
        assert (child.returncode, child.stdout) == (0, "interrupted and went on 0\n")


def test_a_full_disk_keeps_the_older_plan(
    planned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    economy, _ = planned
    out = tmp_path / "out"
    assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0
    before = snapshot(out)
    import econplan.plan.disk as disk

    original = disk._write_table
    calls = {"n": 0}

    def full(frame: pd.DataFrame, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        original(frame, path)

    monkeypatch.setattr(disk, "_write_table", full)
    result = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)])
    assert result.exit_code == 2, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(said) == 1 and "no space left on the device" in said[0] and "is kept" in said[0]
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_an_unwritable_place_is_refused_before_the_solve(
    planned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    economy, _ = planned
    import econplan.cli.plan as cli_plan
    import econplan.io.replace as replace

    def read_only(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    def never(*args: object, **kwargs: object) -> Plan:
        raise AssertionError("the solve began before the output folder was checked")

    monkeypatch.setattr(replace.tempfile, "mkdtemp", read_only)
    monkeypatch.setattr(cli_plan, "make_plan", never)
    result = RUNNER.invoke(main, ["plan", str(economy), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "read-only" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_time_limit_counts_each_stage_from_what_is_left(planned: tuple[Path, Path]) -> None:
    """HiGHS's time_limit is measured against its run time since the Highs object was made,
    over all stages: each stage's limit is that run time plus the seconds left, so the
    stages share the limit once (it used to be spent about twice)."""
    from econplan import load_economy
    from econplan.plan import Solver, assemble

    economy, _ = planned
    limit = 3600.0
    solver = Solver(assemble(load_economy(economy), 1e-9), time_limit=limit)
    seen: list[tuple[float, float]] = []
    start_solve = solver.highs.startSolve

    def spy() -> object:
        seen.append((solver.highs.getRunTime(), solver.highs.getOptionValue("time_limit")[1]))
        return start_solve()

    solver.highs.startSolve = spy
    began = time.perf_counter()
    solver.solve()
    elapsed = time.perf_counter() - began
    # a run per stage, and one more where the last point drifted: the polish
    stages = len(solver.problem.stages)
    assert stages <= len(seen) <= stages + 1 and stages > 1
    for run_time, option in seen:
        assert limit - elapsed <= option - run_time <= limit


# -- 4. A written plan that was changed is refused ------------------------------------------


def reseal(out: Path) -> None:
    """Recompute plan.json's checksums after a deliberate change (a forger's move), so that
    the checks behind them can be tested too."""
    info = json.loads((out / "plan.json").read_text())
    info["files"] = {name: _sha256(out / name) for name in info["files"]}
    info["integrity"] = hashlib.sha256(_canonical(info)).hexdigest()
    (out / "plan.json").write_text(json.dumps(info))


def edit_table(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def edit(out: Path) -> None:
        path = out / f"{name}.parquet"
        change(pd.read_parquet(path)).to_parquet(path, index=False)

    return edit


def edit_info(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def edit(out: Path) -> None:
        info = json.loads((out / "plan.json").read_text())
        change(info)
        (out / "plan.json").write_text(json.dumps(info, indent=2))

    return edit


def scaled(factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.assign(activity=f["activity"] * factor)


TAMPERINGS: dict[str, Callable[[Path], None]] = {
    "activity x10": edit_table("activity", scaled(10)),
    "activity x1.001": edit_table("activity", scaled(1.001)),
    "a row dropped": edit_table("activity", lambda f: f.iloc[1:]),
    "a row doubled": edit_table("activity", lambda f: pd.concat([f, f.iloc[:1]])),
    "inf": edit_table("activity", lambda f: f.assign(activity=np.inf)),
    "unknown region": edit_table("activity", lambda f: f.assign(region="atlantis")),
    "unknown process": edit_table("activity", lambda f: f.assign(process="perpetuum")),
    "numbers as text": edit_table(
        "activity", lambda f: f.assign(activity=f["activity"].astype(str))
    ),
    "valid set false": edit_info(lambda i: i["verification"].update(valid=False)),  # type: ignore[attr-defined]
    "objective changed": edit_info(lambda i: i["objectives"].update(tier1=1.0)),  # type: ignore[attr-defined]
    "a table missing": lambda out: (out / "stocks.parquet").unlink(),
    "a table from elsewhere": edit_info(lambda i: i["tables"].append("../../etc")),  # type: ignore[attr-defined]
    "a table replaced by a link": lambda out: (
        (out / "trade.parquet").unlink(),
        (out / "trade.parquet").symlink_to(out / "stocks.parquet"),
    ),
    "plan.json truncated": lambda out: (out / "plan.json").write_text(
        (out / "plan.json").read_text()[:100]
    ),
    "no checksums": edit_info(lambda i: i.pop("integrity")),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_changed_plan_is_refused(
    tampering: str, planned: tuple[Path, Path], tmp_path: Path
) -> None:
    economy, plan = planned
    out = tmp_path / "out"
    shutil.copytree(plan, out)
    TAMPERINGS[tampering](out)
    with pytest.raises((PlanError, FileNotFoundError)):
        load_plan(out)
    for command in (["balance", str(economy), "--plan", str(out)], ["verify", str(out)]):
        if command[0] == "verify":
            command += ["--economy", str(economy)]
        result = RUNNER.invoke(main, command)
        assert result.exit_code == 2, (command, result.output)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_verify_a_plan(planned: tuple[Path, Path]) -> None:
    economy, plan = planned
    result = RUNNER.invoke(main, ["verify", str(plan), "--economy", str(economy), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["valid"] and found["max_violation"] <= 1e-9
    assert found["checks"]["balance"]["count"] > 0
    other = RUNNER.invoke(main, ["verify", str(plan)])  # the built-in economy
    assert other.exit_code == 2 and "another economy" in other.stderr


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        (edit_table("activity", scaled(10)), 4, "breaks its economy's constraints"),
        (edit_table("activity", lambda f: f.assign(process="perpetuum")), 2, "perpetuum"),
        (edit_table("activity", lambda f: pd.concat([f, f])), 2, "more than once"),
        (
            edit_table("trade", lambda f: f.assign(imports=f["imports"].astype(str))),
            2,
            "not numbers",
        ),
        (edit_info(lambda i: i["verification"].update(valid=False)), 4, "failed verification"),  # type: ignore[attr-defined]
        (edit_info(lambda i: i.update(verification=None)), 4, "failed verification"),
        (edit_info(lambda i: i.update(name="\ud800")), 0, ""),
    ],
)
def test_verify_rechecks_a_plan_whose_checksums_were_forged(
    change: Callable[[Path], None], code: int, says: str, planned: tuple[Path, Path], tmp_path: Path
) -> None:
    """Checksums catch edits, not forgery: verify also re-runs every check of the economy."""
    economy, plan = planned
    out = tmp_path / "out"
    shutil.copytree(plan, out)
    change(out)
    reseal(out)
    result = RUNNER.invoke(main, ["verify", str(out), "--economy", str(economy)])
    assert result.exit_code == code, result.output
    assert says in result.stderr and "Traceback" not in result.output


# -- 5. Workbooks keep text as text ---------------------------------------------------------


def test_convert_keeps_formulas_as_text(tiny_copy: Path, tmp_path: Path) -> None:
    toml = tiny_copy / "economy.toml"
    text = toml.read_text().replace('"Tiny"', '"=SUM(A1:A3)"')
    toml.write_text(
        text.replace('"A two-province economy small enough to check by hand."', '"=1+1"')
    )
    products = tiny_copy / "products.csv"
    frame = pd.read_csv(products, dtype=str, keep_default_na=False)
    frame.loc[0, "name"] = '=HYPERLINK("http://x")'
    frame.to_csv(products, index=False)
    book = tmp_path / "e.xlsx"
    assert RUNNER.invoke(main, ["convert", str(tiny_copy), str(book)]).exit_code == 0
    sheet = openpyxl.load_workbook(book)["products"]
    assert sheet.cell(2, 2).data_type == "s"
    back = tmp_path / "back"
    result = RUNNER.invoke(main, ["convert", str(book), str(back)])
    assert result.exit_code == 0, result.output
    again = pd.read_csv(back / "products.csv", dtype=str, keep_default_na=False)
    assert again.loc[0, "name"] == '=HYPERLINK("http://x")'
    settings = (back / "economy.toml").read_text()
    assert 'name = "=SUM(A1:A3)"' in settings and 'description = "=1+1"' in settings


def test_convert_names_a_control_character_a_workbook_cannot_hold(
    tiny_copy: Path, tmp_path: Path
) -> None:
    products = tiny_copy / "products.csv"
    frame = pd.read_csv(products, dtype=str, keep_default_na=False)
    frame.loc[1, "name"] = "bad\x01name"
    frame.to_csv(products, index=False)
    book = tmp_path / "e.xlsx"
    result = RUNNER.invoke(main, ["convert", str(tiny_copy), str(book)])
    assert result.exit_code == 2, result.output
    assert "products, row 3 [name]" in result.stderr and "U+0001" in result.stderr
    assert not book.exists() and not leftovers(tmp_path)


def test_only_econplans_own_leftovers_are_removed(tmp_path: Path) -> None:
    """A killed write's .econplan-new/old-HASH-* beside the output go; a user's look-alikes,
    and the leftovers of another output (whatever its name), stay."""
    out = tmp_path / "out"
    mine = [tmp_path / ".out-mine", tmp_path / ".out.backup", tmp_path / ".econplan-new-x"]
    mine.append(tmp_path / (leftover_prefix(tmp_path / "other", LEFTOVER_NEW) + "abc"))
    for folder in mine:
        folder.mkdir()
    (tmp_path / (leftover_prefix(out, LEFTOVER_NEW) + "abc")).mkdir()
    (tmp_path / (leftover_prefix(out, LEFTOVER_OLD) + "abc")).mkdir()
    assert write_in_child(out, 1) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out", *(folder.name for folder in mine)]
    )


@pytest.mark.parametrize("name", ["a[1]", "*", "?x", "x" * 240, "plan with spaces"])
def test_any_folder_name_is_written_and_cleaned(name: str, tmp_path: Path) -> None:
    """Names with wildcards match no other folder's leftovers; a name of 240 characters (as
    long as a file system takes, less the staging's) is written like any other."""
    other = tmp_path / "zz"
    assert write_in_child(other, 1) == 0
    stale = tmp_path / (leftover_prefix(other, LEFTOVER_OLD) + "keep")
    (stale / "zz").mkdir(parents=True)
    out = tmp_path / name
    assert write_in_child(out, 1) == 0 and write_in_child(out, 2) == 0
    assert load_plan(out).info["generation"] == 2
    assert stale.is_dir()


def test_two_writes_beside_each_other_take_turns(tmp_path: Path) -> None:
    """A second write does not clear the first's staging folder as a leftover: it waits."""
    import threading

    out = tmp_path / "out"
    started, finish = threading.Event(), threading.Event()

    def slow(folder: Path) -> None:
        for i in range(50):
            (folder / f"a{i}").write_text("a")
        started.set()
        finish.wait(10)
        for i in range(50, 100):
            (folder / f"a{i}").write_text("a")

    def quick(folder: Path) -> None:
        (folder / "b").write_text("b")

    first = threading.Thread(target=write_folder, args=(out, slow))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=write_folder, args=(out, quick))
    second.start()
    second.join(0.5)  # it waits for the first one's lock
    finish.set()
    first.join(30)
    second.join(30)
    assert sorted(p.name for p in out.iterdir()) == ["b"]  # the second, whole
    assert not leftovers(tmp_path)


def test_a_users_file_with_a_plans_name_is_not_taken_for_the_plans(
    planned: tuple[Path, Path], tmp_path: Path
) -> None:
    """A plan written without --csv never wrote activity.csv: one there is the user's."""
    economy, plan = planned
    out = tmp_path / "out"
    shutil.copytree(plan, out)
    (out / "activity.csv").write_text("mine\n")
    result = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)])
    assert result.exit_code == 2 and "activity.csv" in result.stderr
    assert (out / "activity.csv").read_text() == "mine\n"


def test_an_mps_file_that_comes_out_short_keeps_the_earlier_one(
    planned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HiGHS does not report a failed write (a full disk): the file is checked whole."""
    from econplan.plan import Solver

    economy, _ = planned
    mps = tmp_path / "problem.mps"
    out = tmp_path / "out"
    first = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out), "--mps", str(mps)])
    assert first.exit_code == 0, first.output
    before = mps.read_bytes()
    assert before.rstrip().endswith(b"ENDATA")

    def short(self: Solver, path: Path) -> None:
        path.write_bytes(before[: len(before) // 2])

    monkeypatch.setattr(Solver, "write_mps", short)
    again = RUNNER.invoke(main, ["plan", str(economy), "--out", str(out), "--mps", str(mps)])
    assert again.exit_code == 2 and "earlier file there is kept" in again.stderr
    assert mps.read_bytes() == before and not leftovers(tmp_path)


def test_balance_csv_replaces_only_its_own_table(
    planned: tuple[Path, Path], tmp_path: Path
) -> None:
    economy, plan = planned
    products = economy / "products.csv"
    before = products.read_bytes()
    result = RUNNER.invoke(main, ["balance", str(economy), "--csv", str(products)])
    assert result.exit_code == 2
    assert "not a table of these columns that econplan wrote" in result.stderr
    assert products.read_bytes() == before
    table = tmp_path / "balance.csv"
    for _ in range(2):  # a second run replaces the first's table
        again = RUNNER.invoke(
            main, ["balance", str(economy), "--plan", str(plan), "--csv", str(table)]
        )
        assert again.exit_code == 0, again.output
    assert pd.read_csv(table).shape[0] > 0


def test_a_plan_that_makes_nothing_is_written_and_balanced(tmp_path: Path) -> None:
    """A table whose only final demand is exports: the plan (nothing to consume) makes
    nothing, and its years have no flows at all; plan and balance --plan used to crash on
    the empty year (found by the fuzzing run, seed 0 case 377)."""
    table = tmp_path / "table.csv"
    table.write_text(
        "sector,a,b,exports,total_output\na,10,20,70,100\nb,30,10,60,100\nvalue_added,60,70,,\n"
    )
    out = tmp_path / "plan"
    result = RUNNER.invoke(main, ["plan", str(table), "--out", str(out)])
    assert result.exit_code == 0, result.output
    balance = RUNNER.invoke(main, ["balance", str(table), "--plan", str(out), "--json"])
    assert balance.exit_code == 0, balance.output
    assert json.loads(balance.stdout)["shortfalls"] == []


def test_verify_refuses_investment_that_says_it_builds_elsewhere(tmp_path: Path) -> None:
    """Verification counts capacity from the investment table's process, region, facility
    and year ready: each must be what the economy says of the option."""
    economy = lead_time_economy(tmp_path / "lead", LEAD_TARGETS)
    out = tmp_path / "out"
    assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0
    assert RUNNER.invoke(main, ["verify", str(out), "--economy", str(economy)]).exit_code == 0
    for column, value in (("ready_year", 2021), ("region", "elsewhere"), ("process", "px2")):
        edit_table("investment", lambda f, c=column, v=value: f.assign(**{c: v}))(out)
        reseal(out)
        result = RUNNER.invoke(main, ["verify", str(out), "--economy", str(economy)])
        assert result.exit_code == 2, result.output
        assert f"investment.{column}" in result.stderr and "Traceback" not in result.output
        assert RUNNER.invoke(main, ["plan", str(economy), "--out", str(out)]).exit_code == 0


def test_a_table_replaces_its_own_earlier_csv_whatever_its_labels(tmp_path: Path) -> None:
    from econplan.cli.common import write_csv

    frame = pd.DataFrame({"product": ["a"], "A,x": [1.0], 'say "hi"': [2.0]})
    out = tmp_path / "inverse.csv"
    for _ in range(2):
        write_csv(frame, out, "--inverse")
    assert pd.read_csv(out).columns.tolist() == frame.columns.tolist()
