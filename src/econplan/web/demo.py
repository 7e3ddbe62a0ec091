"""A demo on an empty store: the built-in economy planned, the plan stored, submitted and
approved (in force), months of simulated reports with the built-in typhoon over South Hamgyong
imported (so that alerts fire), and one user per role with a known password. `econplan serve`
runs it on an empty store; `econplan serve --demo-only` runs it alone."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from econplan.execution.store import Store
from econplan.execution.store import tables as t
from econplan.execution.store.credentials import set_password

LINE = "five-year plan 2021-2025"
REPORTED_UNTIL = "2021-10"
"""Reports through October 2021: the typhoon of August has alerts firing and escalating."""


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    scope: str = ""

    @property
    def password(self) -> str:
        """Demo passwords are the name and "-demo": for a demo on one's own machine only."""
        return f"{self.name}-demo"


USERS = (
    DemoUser("admin", "admin"),
    DemoUser("planner", "planner"),
    DemoUser("approver", "approver"),
    DemoUser("hamgyong", "regional_planner", "south_hamgyong"),
    DemoUser("sunchon", "enterprise", "sunchon_cement_mill"),
    DemoUser("chonnaeri", "enterprise", "chonnaeri_cement_mill"),
    DemoUser("auditor", "auditor"),
)


def is_empty(store: Store) -> bool:
    """No store there yet, or one without users."""
    if store.revision() is None:
        return True
    with store.engine.connect() as connection:
        return not connection.execute(sa.select(sa.func.count()).select_from(t.users)).scalar()


def seed(
    store: Store,
    plan_dir: Path | None = None,
    until: str = REPORTED_UNTIL,
    say: Callable[[str], None] = lambda _: None,
) -> int:
    """Fill an empty store with the demo; the id of the version in force. ``plan_dir``: the
    built-in economy's plan, already written (else it is solved, about a minute)."""
    from econplan import load_economy
    from econplan.execution.breakdown import control_figures
    from econplan.execution.simulate import simulate
    from econplan.plan import load_plan, make_plan, write_plan

    economy = load_economy()
    store.init("admin")
    for user in USERS[1:]:
        store.add_user("admin", user.name, user.role, user.scope)
    for user in USERS:
        set_password(store, "admin", user.name, user.password)
    with tempfile.TemporaryDirectory(prefix="econplan-demo-") as scratch:
        if plan_dir is None:
            say("solving the built-in economy's plan (about a minute)")
            plan_dir = Path(scratch) / "plan"
            plan = write_plan(make_plan(economy), plan_dir)
        else:
            plan = load_plan(plan_dir)
        version = store.add_version("planner", LINE, plan, plan_dir, economy, "the demo's plan")
    store.submit("planner", version.id)
    store.approve("approver", version.id, "in force for the demo")
    say(f"simulating reports through {until}, with a typhoon over South Hamgyong")
    figures = control_figures(economy, plan)
    reports = simulate(
        economy,
        figures.figures,
        until,
        seed=0,
        investment=plan.tables["investment"],
        units=figures.activity,
    )
    store.import_reports("planner", reports.assign(note=""), economy, "demo: simulated")
    return version.id
