"""The load-and-kill test, small: a few hundred reports sent concurrently to `econplan serve`
(a child process on loopback) while it is killed with SIGKILL and started again; every report
acknowledged is in the store exactly once and the audit chain verifies. bench/web_load.py runs
the full 2,000 (docs/web.md)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "web_load.py"


def _driver():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("web_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["web_load"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_reports_survive_a_killed_server_once_each(
    builtin_plan_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the child server runs this checkout's econplan
    source = str(Path(__file__).parents[1] / "src")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))
    load = _driver()
    db = tmp_path / "econplan.db"
    bodies = load.prepare(db, builtin_plan_dir, 240)
    assert len(bodies) == 240
    figures = load.run(db, bodies, concurrency=8, kill_share=0.3)
    assert figures.killed_after == 72 and figures.rounds >= 2
    assert figures.acknowledged == 240
    assert figures.missing == 0 and figures.duplicates == 0
    assert figures.audit_ok
