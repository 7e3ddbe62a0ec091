"""The whole loop on the command line, on SQLite and on PostgreSQL, as docs/execution.md walks
it with the built-in economy: a plan stored, submitted by one user and approved by another
(never by its submitter), broken down to every enterprise, a year of reports with a typhoon in
South Hamgyong imported, monitored, re-planned into a new draft, and the audit chain checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.execution.store import Store
from econplan.execution.store import tables as t
from econplan.plan import load_plan
from econplan.plan.flows import production
from store_databases import database

LINE = "five-year plan 2021-2025"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, tmp_path)


def test_the_loop(url: str, builtin_plan_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str, user: str = "", code: int = 0) -> str:
        result = runner.invoke(main, list(args), env={"ECONPLAN_DB": url, "ECONPLAN_USER": user})
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    run("store", "init", user="ana")
    run("user", "add", "boris", "--role", "planner", user="ana")
    run("user", "add", "boris", "--role", "approver", user="ana")  # may approve others' work
    run("user", "add", "vera", "--role", "approver", user="ana")
    run(
        "user",
        "add",
        "sunchon",
        "--role",
        "enterprise",
        "--facility",
        "sunchon_cement_mill",
        user="ana",
    )
    stored = json.loads(
        run("store", "add", str(builtin_plan_dir), "--name", LINE, "--json", user="boris")
    )
    version = str(stored["version"])
    run("store", "submit", version, user="boris")
    assert "four eyes" in run("store", "approve", version, user="boris", code=2)
    run("store", "approve", version, user="vera")

    # control figures: every enterprise's output adds up to the plan's production
    figures_csv = tmp_path / "figures.csv"
    run("control-figures", version, "--csv", str(figures_csv))
    figures = pd.read_csv(figures_csv)
    made = figures[figures["kind"] == "output"].groupby(["product", "year"])["amount"].sum()
    economy = load_economy()
    plan = load_plan(builtin_plan_dir)
    planned = production(economy, plan.tables).groupby(["product", "year"])["amount"].sum()
    planned = planned[planned != 0]
    assert made.index.sort_values().equals(planned.index.sort_values())
    assert ((made - planned).abs() <= 1e-9 * planned.abs().clip(lower=1)).all()
    own = json.loads(run("control-figures", version, "--json", user="sunchon"))
    assert {u["facility"] for u in own["units"]} == {"sunchon_cement_mill"}
    mill = next(u for u in own["units"] if u["year"] == 2021)
    activity = plan.tables["activity"].set_index(["process", "region", "year"])["activity"]
    # the only cement mills in South Pyongan carry all of the province's grinding
    assert mill["activity"] == pytest.approx(
        activity[(mill["process"], mill["region"], 2021)], rel=1e-12
    )
    assert mill["activity"] == pytest.approx(mill["capacity"], rel=1e-6)  # at full capacity

    # a year of reports, with the default typhoon in South Hamgyong
    reports = tmp_path / "reports.csv"
    run("report", "simulate", version, "--until", "2021-12", "--seed", "7", "--out", str(reports))
    imported = json.loads(run("report", "import", str(reports), "--json", user="boris"))
    assert imported["corrected"] == [] and len(imported["added"]) > 1000
    again = json.loads(run("report", "import", str(reports), "--json", user="boris"))
    assert again["added"] == [] and len(again["unchanged"]) == len(imported["added"])

    watched = json.loads(run("monitor", version, "--as-of", "2021-12", "--json"))
    firing = [a for a in watched["alerts"] if a["state"] == "firing"]
    assert any(a["region"] == "south_hamgyong" for a in firing)
    assert {a["escalation"] for a in firing} - {"enterprise"}  # some went up a level
    targets = [r for r in watched["at_risk"] if r["kind"] == "target"]
    assert targets and all(0 <= r["share"] <= 1 for r in targets)
    shown_text = run("monitor", version, "--as-of", "2021-12", "--top", "5")
    assert "Alerts firing" in shown_text and "Targets at risk downstream" in shown_text
    assert "south_hamgyong" in shown_text

    # the re-plan: 2021 as reported, 2022-2025 planned again, stored as a new draft
    out = tmp_path / "replan"
    replanned = json.loads(
        run(
            "replan",
            version,
            "--as-of",
            "2021-12",
            "--out",
            str(out),
            "--store",
            "--json",
            user="boris",
        )
    )
    new = replanned["version"]
    shown = json.loads(run("store", "show", str(new), "--json"))
    assert (shown["state"], shown["revises"]) == ("draft", int(version))
    again_plan = load_plan(out)
    assert again_plan.info["verification"]["valid"]
    assert again_plan.info["verification"]["max_violation"] <= 1e-6
    facts = again_plan.tables["fixed_activity"]
    closed = facts[facts["year"] == 2021]
    assert len(closed) and (closed["lower"] == closed["upper"]).all()
    done = again_plan.tables["activity"].set_index(["process", "region", "year"])["activity"]
    held = done.reindex(pd.MultiIndex.from_frame(closed[["process", "region", "year"]]))
    scale = closed["lower"].abs().clip(lower=1).to_numpy()
    assert (abs(held.fillna(0).to_numpy() - closed["lower"].to_numpy()) <= 1e-6 * scale).all()
    diff = json.loads(run("store", "diff", version, str(new), "--json"))
    assert diff["status"] == {"old": "optimal", "new": "optimal"}
    assert "from a plan optimal to a plan optimal" in run("store", "diff", version, str(new))
    assert "Sunchon Cement Complex" in run(
        "control-figures", version, "--facility", "sunchon_cement_mill"
    )

    assert "intact" in run("store", "audit", "--verify")
    with Store(url) as store, store.engine.begin() as connection:
        connection.execute(sa.update(t.audit).where(t.audit.c.id == 3).values(user="mallory"))
    assert "audit entry 3" in run("store", "audit", "--verify", code=2)
