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
from click.testing import CliRunner

from econplan.cli import main
from econplan.generate import generate_economy
from econplan.plan import Solver, assemble, firstorder, gpu


def test_a_failed_point_leaves_the_stage_to_simplex() -> None:
    """Where the engine gives no point (cuPDLPx's CUDA checks ended its child, or it refused
    the problem), the stage goes on as simplex alone would: the first from its own start, the
    others from the last stage's vertex, and the plan is simplex's. The engine here is HiGHS's
    PDLP made to fail as cuPDLPx would."""
    problem = assemble(generate_economy(products=20, inputs=3, regions=2, years=2, seed=3))
    backend = firstorder.FirstOrderBackend(method="pdlp")

    def failed(*_: object) -> tuple[np.ndarray, np.ndarray, int, str]:
        return np.zeros(0), np.zeros(0), 0, "failed (cuPDLPx ended without a result (exit 1))"

    backend.engine.point = failed  # type: ignore[method-assign]
    said: list[str] = []
    solution = Solver(problem, backend=backend, hold="exact").solve(said.append)
    bridges = [str(entry["bridge"]) for entry in backend.log]
    assert bridges[0] == "no point" and set(bridges[1:]) == {"last vertex"}
    assert any("(failed (cuPDLPx ended" in line and "from its own start" in line for line in said)
    alone = Solver(problem, method="simplex", hold="exact").solve()
    for mine, theirs in zip(solution.stages, alone.stages, strict=True):
        assert mine.value == pytest.approx(theirs.value, rel=1e-9, abs=1e-9)


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
    gpu.devices.cache_clear()
    assert gpu.devices() == ()
    listed = "GPU 0: NVIDIA H200 (UUID: GPU-1234)"
    (tmp_path / "bin").rmdir()
    _on_path(tmp_path, monkeypatch, f'[ "$1" = "-L" ] && echo "{listed}" && echo "  MIG 1g"')
    gpu.devices.cache_clear()
    assert gpu.devices() == (listed,)
    (tmp_path / "bin" / "nvidia-smi").write_text("#!/bin/sh\nexit 9\n")
    gpu.devices.cache_clear()
    assert gpu.devices() == ()


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
