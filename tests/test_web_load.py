"""The load-and-kill test, small: reports sent concurrently to `econplan serve` (a child
process on loopback) while it is killed with SIGKILL and started again; every report
acknowledged is in the store exactly once and the audit chain verifies. bench/web_load.py
runs the full 2,000 (docs/web.md).

The store is a copy of the session's demo store (reports through October 2021); the reports
sent are of the months after. Each request checks and stores a facility's month in its own
transaction (about a tenth of a second here), so the size of the run is its time: 64 reports,
8 in flight, killed after 19 acknowledged, with up to 8 in flight dying with the server."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench" / "web_load.py"
REPORTS = 64


def _driver():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("web_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["web_load"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_reports_survive_a_killed_server_once_each(
    demo_store_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the child server runs this checkout's econplan
    source = str(Path(__file__).parents[1] / "src")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]))
    load = _driver()
    db = Path(demo_store_copy)
    bodies = load.later_reports(db, REPORTS)
    assert len(bodies) == REPORTS
    assert min(b["rows"][0]["period"] for b in bodies) == "2021-11"
    figures = load.run(db, bodies, concurrency=8, kill_share=0.3)
    assert figures.killed_after == 19 and figures.rounds >= 2
    assert figures.acknowledged == REPORTS
    assert figures.missing == 0 and figures.duplicates == 0
    assert figures.audit_ok
