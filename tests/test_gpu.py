"""The GPU backend (:mod:`econplan.plan.gpu`, ``--solver cupdlpx``): what can be checked
on any machine. Where a GPU and cuPDLPx are present, the oracle tests of tests/test_plan.py and
the first-order tests of tests/test_firstorder.py run on it as well (their ``METHODS`` and
``FIRST_ORDER``); bench/gpu_check.sh runs them on a lent device."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from econplan.cli import main
from econplan.generate import generate_economy
from econplan.plan import assemble, gpu, pick
from econplan.plan.highs import HighsBackend
from econplan.plan.pick import AUTO, pick_method


def test_cupdlpx_s_valuations_are_read_in_highs_sign() -> None:
    """The driver takes row valuations as HiGHS signs them (reduced costs ``c - A'y``); a
    start of the opposite sign would cost crossover its way silently. On an LP whose optimum
    is known in closed form (min x0 + x1, 5 <= x0 + 2 x1, 6 <= 3 x0 + 2 x1: both rows valued
    0.25), HiGHS's valuations are read as they are, and the same negated (another solver's
    convention, with the same reduced costs) are turned back."""
    a = sp.csr_matrix(np.array([[1.0, 2.0], [3.0, 2.0]]))
    backend = HighsBackend("simplex")
    backend.load(
        sp.csc_matrix(a),
        (np.array([0.0, 1.0]), np.array([4.0, 7.0])),
        (np.array([5.0, 6.0]), np.array([15.0, np.inf])),
        np.array([], dtype=np.int64),
        1e-9,
    )
    cost = np.array([1.0, 1.0])
    backend.set_costs(cost)
    assert backend.solve(None, False, lambda _: None).value == "optimal"
    y, reduced = backend.duals()
    np.testing.assert_allclose(y, [0.25, 0.25], atol=1e-12)
    assert gpu._dual_sign(a, cost, y, reduced) == 1
    assert gpu._dual_sign(a, cost, -y, reduced) == -1
    assert gpu._dual_sign(a, cost, y, np.zeros(0)) == 1  # nothing to compare: as given


def _on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None) -> None:
    """PATH holding only an ``nvidia-smi`` that runs ``script`` (or none at all)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    if script is not None:
        tool = folder / "nvidia-smi"
        tool.write_text(f"#!/bin/sh\n{script}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(folder))


def test_devices_are_what_the_driver_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPUs are read from ``nvidia-smi -L`` in a process of its own (no CUDA context here,
    which a forked child could not use): its GPU lines, none without the tool or where it
    fails (a driver that does not answer)."""
    _on_path(tmp_path, monkeypatch, None)
    assert gpu.devices() == []
    listed = "GPU 0: NVIDIA H200 (UUID: GPU-1234)"
    (tmp_path / "bin").rmdir()
    _on_path(tmp_path, monkeypatch, f'[ "$1" = "-L" ] && echo "{listed}" && echo "  MIG 1g"')
    assert gpu.devices() == [listed]
    (tmp_path / "bin" / "nvidia-smi").write_text("#!/bin/sh\nexit 9\n")
    assert gpu.devices() == []


@pytest.mark.skipif(gpu.available(), reason="a GPU and cuPDLPx are present here")
def test_without_a_gpu_it_is_refused_as_bad_input(tmp_path: Path) -> None:
    """Asked for where it cannot run, the GPU backend is bad input: exit 2 and what is missing
    (the package, or a GPU), before anything is read or written; not a traceback."""
    out = tmp_path / "out"
    for command in (["plan", "--out", str(out)], ["scenario", "run", "typhoon", "--out", str(out)]):
        result = CliRunner().invoke(main, [*command, "--solver", gpu.METHOD])
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert f"{gpu.METHOD} cannot run here: {gpu.missing()}" in said
        assert not out.exists()
    with pytest.raises(ImportError, match="cannot run here"):
        gpu.CuPdlpxPoint(None, 1e-6, 100)


def test_auto_gives_the_gpu_only_what_simplex_was_not_measured_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Auto picks cuPDLPx only where a GPU is present and the problem is past the largest
    size simplex was measured to finish; below, or without a GPU, simplex, and why."""
    problem = assemble(generate_economy(products=20, inputs=3, regions=2, years=2, seed=3))
    columns = problem.shape[1]
    monkeypatch.setattr(gpu, "available", lambda: True)
    assert pick_method(problem, AUTO)[0] == "simplex"
    monkeypatch.setattr(pick, "MEASURED_UP_TO", columns - 1)
    monkeypatch.setattr(pick, "SIMPLEX_UP_TO", columns - 1)
    method, why = pick_method(problem, AUTO)
    assert method == gpu.METHOD
    assert f"{columns:,} columns" in why and "a GPU is present" in why
    monkeypatch.setattr(gpu, "available", lambda: False)
    method, why = pick_method(problem, AUTO)
    assert method == "simplex" and "past the largest size measured" in why


@pytest.mark.skipif(not gpu.available(), reason=gpu.missing() or "a GPU is present")
def test_on_a_gpu_the_plan_is_simplex_s(tmp_path: Path) -> None:
    """On a device: the CLI plans a generated economy through cuPDLPx's points, verified, with
    the same stage objectives as simplex's within the tolerance, and says what ran."""
    folder = tmp_path / "economy"
    sizes = ["--products", "30", "--inputs", "4", "--regions", "2", "--years", "3"]
    result = CliRunner().invoke(main, ["generate", *sizes, "--seed", "5", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    objectives = {}
    for method in ("simplex", gpu.METHOD):
        out = tmp_path / method
        args = ["plan", str(folder), "--out", str(out), "--solver", method, "--hold", "exact"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        info = json.loads((out / "plan.json").read_text())
        assert info["verification"]["valid"]
        objectives[method] = [s["objective"] for s in info["stages"]]
    assert objectives[gpu.METHOD] == pytest.approx(objectives["simplex"], rel=1e-6, abs=1e-6)
