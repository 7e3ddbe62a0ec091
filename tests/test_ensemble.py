"""Ensembles: the file and its errors, the draws (deterministic, per member), the statistics
(against closed forms and the members' own results), Dask runs on a LocalCluster and on a
scheduler with workers started by Dask's own commands, and resuming."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.ensemble import MemberResult, read_ensemble
from econplan.ensemble.draw import draw_member, sample
from econplan.ensemble.summary import quantiles, target_probabilities, wilson
from econplan.scenario import ScenarioError, apply_scenario

TINY = Path(__file__).parent / "data" / "tiny"
DASK = Path(sys.executable).parent / "dask"

SHOCKS = """
[[shock]]
kind = "harvest"
process = "farming"
factor = { distribution = "triangular", low = 0.7, mode = 1.0, high = 1.1 }

[[shock]]
kind = "typhoon"
region = "north"
probability = 0.5
lost = [0.1, 0.6]
recovery_years = 1

[[shock]]
kind = "import_cut"
product = "coal"
probability = 0.5
cut = [0.5, 1.0]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny economy without its two hard targets that no plan meets, and a soft steel
    claim so that a heavy typhoon gives a partial plan."""
    folder = tmp_path_factory.mktemp("ensemble") / "economy"
    shutil.copytree(TINY, folder)
    targets = folder / "targets.csv"
    kept = [
        line
        for line in targets.read_text().splitlines()
        if not line.startswith(("flats_2021", "food_2021"))
    ]
    targets.write_text("\n".join(kept) + "\n")
    return folder


def ensemble_file(folder: Path, body: str = SHOCKS, head: str = "", name: str = "e.toml") -> Path:
    path = folder.parent / name
    path.write_text(f'name = "test"\nbase = "economy"\nmembers = 6\nseed = 7\n{head}{body}')
    return path


def results(out: Path) -> dict[str, pd.DataFrame]:
    """The results tables, without the columns that time the run."""
    found = {}
    for name in ("targets", "quantiles", "binding", "members"):
        table = pd.read_csv(out / f"{name}.csv")
        found[name] = table.drop(columns=[c for c in table.columns if c == "seconds"])
    return found


def members(out: Path) -> list[MemberResult]:
    return [
        MemberResult.from_dict(json.loads(p.read_text()))
        for p in sorted((out / "members").glob("member-*.json"))
    ]


# -- the file ---------------------------------------------------------------------------------
def test_bad_files_name_file_shock_and_key(small: Path, tmp_path: Path) -> None:
    body = """
bogus = 1

[[shock]]
kind = "flood"

[[shock]]
kind = "harvest"
process = "farming"
sector = "agriculture"
factor = { distribution = "beta", a = 1 }

[[shock]]
kind = "typhoon"
region = "north"
probability = 1.5
lost = [0.9, 0.1]
"""
    path = ensemble_file(small, body)
    with pytest.raises(ScenarioError) as caught:
        read_ensemble(path)
    shown = [str(p) for p in caught.value.problems]
    assert any("e.toml: [bogus]" in s and "members" in s for s in shown), shown
    assert any("shock 1: [kind]" in s and "'flood' is not one of" in s for s in shown), shown
    assert any("shock 2: [process] give process or sector" in s for s in shown), shown
    assert any("shock 2: [factor] distribution 'beta'" in s for s in shown), shown
    assert any("shock 3: [probability] 1.5 is above" in s for s in shown), shown
    assert any("shock 3: [lost] give low <= mode <= high" in s for s in shown), shown
    # the command line: exit 2, every problem listed, nothing written
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ensemble", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "shock 2: [factor]" in result.output
    assert not out.exists()


def test_shocks_that_do_not_fit_the_economy_are_refused_before_any_member(
    small: Path, tmp_path: Path
) -> None:
    # steel has no import cap: a share of it cannot be cut; no region "east"
    body = SHOCKS.replace('product = "coal"', 'product = "steel"').replace(
        'region = "north"', 'region = "east"'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["ensemble", str(ensemble_file(small, body)), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "shock 3: [product] 'steel' has no import cap" in result.output
    assert not out.exists()
    body = SHOCKS.replace('region = "north"', 'region = "east"')
    result = CliRunner().invoke(
        main, ["ensemble", str(ensemble_file(small, body)), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "shock 2: [region]" in result.output and "east" in result.output


# -- the draws ---------------------------------------------------------------------------------
def test_draws_are_the_members_own(small: Path) -> None:
    ensemble = read_ensemble(ensemble_file(small))
    economy = apply_scenario(ensemble.scenario).economy
    first = [draw_member(ensemble, economy, m)[1] for m in range(6)]
    again = [draw_member(ensemble, economy, m)[1] for m in reversed(range(6))][::-1]
    assert first == again  # the same whatever the order
    assert len({tuple(d) for d in first}) == 6  # and each member its own
    other = read_ensemble(ensemble_file(small), seed=8)
    assert [draw_member(other, economy, m)[1] for m in range(6)] != first
    # a harvest factor every year; typhoons and cuts in some years only
    kinds = [d.kind for drawn in first for d in drawn]
    assert kinds.count("harvest") == 12
    assert 0 < kinds.count("typhoon") < 12 and 0 < kinds.count("import_cut") < 12


def test_a_second_typhoon_takes_its_share_of_what_the_first_left(small: Path) -> None:
    body = SHOCKS.replace(
        "probability = 0.5\nlost = [0.1, 0.6]\nrecovery_years = 1", "probability = 1.0\nlost = 0.5"
    )
    body = body.replace("probability = 0.5\ncut", "probability = 1.0\ncut")
    ensemble = read_ensemble(ensemble_file(small, body))
    economy = apply_scenario(ensemble.scenario).economy
    changes, _ = draw_member(ensemble, economy, 0)
    (typhoon,) = [c for c in changes if c.kind == "capacity"]
    # half lost in 2021, half of the rest in 2022 (no recovery): 0.5, then 0.25 left
    assert typhoon.fields == {"region": "north", "from": 2021, "path": [0.5, 0.25]}
    cuts = [c for c in changes if c.kind == "trade"]
    assert [c.get("years") for c in cuts] == [2021, 2022]
    # half to all of the cap of 100 removed
    assert all(0 <= c.get("import_cap") <= 50 for c in cuts)


def test_sample_follows_its_distribution() -> None:
    rng = np.random.default_rng(0)
    triangular = np.array(
        [
            sample(rng, {"distribution": "triangular", "low": 0.7, "mode": 1.0, "high": 1.1})
            for _ in range(20000)
        ]
    )
    assert triangular.min() >= 0.7 and triangular.max() <= 1.1
    # the triangular distribution's mean is (low + mode + high) / 3
    assert triangular.mean() == pytest.approx(2.8 / 3, abs=0.005)
    uniform = np.array([sample(rng, [2.0, 4.0]) for _ in range(20000)])
    assert uniform.mean() == pytest.approx(3.0, abs=0.03)
    normal = np.array(
        [
            sample(rng, {"distribution": "normal", "mean": 1.0, "sd": 1.0, "low": 0.0})
            for _ in range(20000)
        ]
    )
    assert normal.min() == 0.0  # cut at low
    assert (normal == 0.0).mean() == pytest.approx(0.1587, abs=0.01)  # P(Z < -1)
    assert sample(rng, 0.5) == 0.5


# -- the statistics ------------------------------------------------------------------------------
def test_wilson_interval_against_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table I: 0/10 -> (0, 0.2775);
    # 1/29 -> (0.0061, 0.1718); 81/263 -> (0.2553, 0.3662)
    low, high = wilson(np.array([0.0, 1.0, 81.0]), np.array([10.0, 29.0, 263.0]))
    assert low == pytest.approx([0.0, 0.0061, 0.2553], abs=1e-4)
    assert high == pytest.approx([0.2775, 0.1718, 0.3662], abs=1e-4)


def test_probabilities_count_infeasible_members_and_leave_out_solver_failures() -> None:
    targets = pd.DataFrame(
        [
            {
                "id": "a",
                "product": "x",
                "sector": None,
                "region": None,
                "year": 2021,
                "kind": "tier1",
                "amount": 1.0,
                "unit": "t",
            }
        ]
    )
    made = [
        MemberResult(0, "optimal", 1.0, targets=[{"id": "a", "met": True, "fulfilment": 1.0}]),
        MemberResult(1, "optimal", 1.0, targets=[{"id": "a", "met": True, "fulfilment": 1.0}]),
        MemberResult(2, "optimal", 1.0, targets=[{"id": "a", "met": False, "fulfilment": 0.5}]),
        MemberResult(3, "infeasible", 1.0),  # no plan exists: a miss
        MemberResult(4, "failed", 1.0),  # the solver gave up: unknown, left out
        MemberResult(5, "unverified", 1.0),
    ]
    row = target_probabilities(made, targets).iloc[0]
    assert (row["members"], row["met"], row["probability"]) == (4, 2, 0.5)
    low, high = wilson(np.array([2.0]), np.array([4.0]))
    assert (row["low95"], row["high95"]) == (low[0], high[0])


def test_quantiles_of_the_members() -> None:
    made = [
        MemberResult(
            m, "optimal", 1.0, outputs=[{"product": "steel", "year": 2021, "amount": float(m)}]
        )
        for m in range(11)
    ]
    table = quantiles(made)
    assert table[["q05", "q25", "q50", "q75", "q95"]].iloc[0].tolist() == pytest.approx(
        [0.5, 2.5, 5.0, 7.5, 9.5]
    )


# -- running on Dask -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_run(small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "local"
    path = ensemble_file(small)
    result = CliRunner().invoke(main, ["ensemble", str(path), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return out


def test_results_are_the_members_results(local_run: Path) -> None:
    info = json.loads((local_run / "ensemble.json").read_text())
    assert info["members"] == 6 and info["seed"] == 7
    found = members(local_run)
    assert [m.member for m in found] == list(range(6))
    assert sum(info["statuses"].values()) == 6
    tables = results(local_run)
    # the probability of each target is the share of members whose plan meets it
    targets = tables["targets"].set_index("id")
    for target, row in targets.iterrows():
        met = sum(any(t["id"] == target and t["met"] for t in m.targets) for m in found)
        assert row["met"] == met and row["probability"] == pytest.approx(met / 6)
    # the quantiles of the consumption level are those of the members' own
    south = [
        c["level"]
        for m in found
        for c in m.consumption
        if c["region"] == "south" and c["year"] == 2022
    ]
    quantile = tables["quantiles"]
    row = quantile[(quantile["region"] == "south") & (quantile["year"] == 2022)]
    assert len(south) == 6 and len(set(south)) == 6  # the harvest moves it
    for q in (5, 25, 50, 75, 95):
        assert row[f"q{q:02d}"].item() == pytest.approx(float(np.quantile(south, q / 100)))
    # a product the plan does not make counts as 0 (steel: the tiny economy makes none)
    steel = quantile[(quantile["item"] == "steel") & (quantile["year"] == 2022)]
    assert steel["members"].item() == 6 and steel["q95"].item() == 0.0
    # every member with a plan was verified
    assert all(
        m.max_violation is not None and m.max_violation <= 1e-6
        for m in found
        if m.status == "optimal"
    )
    # what struck each member is listed in words
    listed = tables["members"]
    assert listed["shocks"].str.contains("farming output x").all()


def test_the_report_page_shows_probabilities_and_fans(local_run: Path) -> None:
    page = (local_run / "ensemble.html").read_text()
    assert "Probability that each target is met" in page
    assert "figure-probabilities" in page
    # the consumption fan of the region worst off at the median, and its numbers as a table
    quantile = pd.read_csv(local_run / "quantiles.csv")
    levels = quantile[quantile["what"] == "consumption"]
    worst = levels.groupby("region")["q50"].min().idxmin()
    assert f"Consumption level of {worst}" in page
    # the steel targets are never met in the tiny economy: its output is fanned
    assert "National output of steel" in page


def test_an_interrupted_ensemble_resumes_without_planning_finished_members(
    small: Path, local_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "resumed"
    shutil.copytree(local_run, out)
    for name in ("member-000002.json", "member-000005.json"):
        (out / "members" / name).unlink()
    (out / "members" / "member-000003.json").write_text('{"member": 3, "stat')  # cut short
    for name in ("targets.csv", "ensemble.json"):
        (out / name).unlink()
    kept = (out / "members" / "member-000000.json").stat().st_mtime_ns
    result = CliRunner().invoke(
        main, ["ensemble", str(ensemble_file(small)), "--out", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "3 of 6 members already planned" in result.output
    assert (out / "members" / "member-000000.json").stat().st_mtime_ns == kept
    for name, table in results(local_run).items():
        pd.testing.assert_frame_equal(results(out)[name], table, check_exact=True)


def test_another_ensemble_cannot_mix_with_finished_members(
    small: Path, local_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "other"
    shutil.copytree(local_run, out)
    result = CliRunner().invoke(
        main, ["ensemble", str(ensemble_file(small)), "--out", str(out), "--seed", "8"]
    )
    assert result.exit_code == 2
    assert "holds the members of another ensemble" in result.output


def test_a_scheduler_and_two_workers_give_the_same_ensemble(
    small: Path, local_run: Path, tmp_path: Path
) -> None:
    """`dask scheduler` and `dask worker` from the project's environment, as a user would
    start a cluster; the same seed gives the same results as the LocalCluster's one worker."""
    if not DASK.exists():
        pytest.skip(f"{DASK} is not installed")
    file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = None
    try:
        for _ in range(600):
            if file.exists() and file.read_text().strip():
                break
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        worker = subprocess.Popen(
            [str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        out = tmp_path / "cluster"
        result = CliRunner().invoke(
            main, ["ensemble", str(ensemble_file(small)), "--out", str(out), "--scheduler", address]
        )
        assert result.exit_code == 0, result.output
        info = json.loads((out / "ensemble.json").read_text())
        assert info["cluster"]["scheduler"] == address
        for name, table in results(local_run).items():
            pd.testing.assert_frame_equal(results(out)[name], table, check_exact=True)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)


def test_an_unreachable_scheduler_is_a_clear_error(small: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "ensemble",
            str(ensemble_file(small)),
            "--out",
            str(tmp_path / "o"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_members_without_a_plan_say_why(tmp_path: Path) -> None:
    """The tiny economy's own hard targets cannot hold: every member is infeasible, and
    says which target fails."""
    folder = tmp_path / "economy"
    shutil.copytree(TINY, folder)
    path = ensemble_file(folder, SHOCKS.split('[[shock]]\nkind = "typhoon"')[0], name="bad.toml")
    path.write_text(path.read_text().replace("members = 6", "members = 2"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["ensemble", str(path), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(out / "members.csv")
    assert (listed["status"] == "infeasible").all()
    assert listed["reason"].str.contains("flats_2021").all()
    assert (pd.read_csv(out / "targets.csv")["probability"] == 0).all()
