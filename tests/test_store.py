"""The plan store, on SQLite and on PostgreSQL: versions and their approval (four eyes),
roles, the audit chain, plans and economies read back intact, reports and their revisions, one
transaction per command, and migrations that build exactly the declared tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.execution.access import AccessError
from econplan.execution.store import Store, StoreError, verify_chain
from econplan.execution.store import tables as t
from econplan.model.economy import Economy
from econplan.plan import Plan, make_plan, write_plan
from store_databases import database
from test_plan import kantorovich

LINE = "five-year plan"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Economy, Plan, Path]:
    """Kantorovich's economy and its plan, written once: (economy, plan, plan folder)."""
    base = tmp_path_factory.mktemp("small")
    economy = load_economy(kantorovich(base / "k"))
    out = base / "plan"
    plan = write_plan(make_plan(economy), out)
    assert plan.ok
    return economy, plan, out


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    """A new store with an admin (ana), two planners, two approvers and an auditor."""
    with Store(url) as store:
        yield fill(store)


def fill(store: Store) -> Store:
    assert store.init("ana") is True
    for name, role in [
        ("boris", "planner"),
        ("bella", "planner"),
        ("vera", "approver"),
        ("viktor", "approver"),
        ("olga", "auditor"),
    ]:
        store.add_user("ana", name, role)
    store.add_user("ana", "boris", "approver")  # a planner who also approves
    return store


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_version_is_submitted_by_one_user_and_approved_by_another(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    economy, plan, out = small
    version = store.add_version("bella", LINE, plan, out, economy, note="first draft")
    assert (version.number, version.state, version.created_by) == (1, "draft", "bella")
    with pytest.raises(StoreError, match="only a submitted version can be approved"):
        store.approve("vera", version.id)
    submitted = store.submit("boris", version.id)
    assert (submitted.state, submitted.submitted_by) == ("submitted", "boris")
    entries = count(store, t.audit)
    # boris holds the approver role too, but submitted it: four eyes refuse
    with pytest.raises(AccessError, match="four eyes"):
        store.approve("boris", version.id)
    with pytest.raises(AccessError, match="needs the role approver"):
        store.approve("bella", version.id)
    assert store.version(version.id).state == "submitted"
    assert count(store, t.audit) == entries  # a refusal changes nothing, logs nothing
    approved = store.approve("vera", version.id, note="in force from January")
    assert (approved.state, approved.decided_by) == ("approved", "vera")
    assert approved.note == "first draft\nin force from January"
    assert store.in_force(LINE) == approved


def test_an_approved_version_is_immutable_and_superseded_by_the_next(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    economy, plan, out = small
    first = store.add_version("bella", LINE, plan, out, economy)
    store.submit("bella", first.id)
    store.approve("vera", first.id)
    for action, user in [
        (store.submit, "bella"),
        (store.reject, "viktor"),
        (store.approve, "viktor"),
    ]:
        with pytest.raises(StoreError, match="is approved"):
            action(user, first.id)
    second = store.add_version("bella", LINE, plan, out, economy, revises=first.id)
    assert (second.number, second.revises) == (2, first.id)
    store.submit("bella", second.id)
    store.approve("viktor", second.id)
    assert store.version(first.id).state == "superseded"
    assert store.in_force(LINE) == store.version(second.id)
    third = store.add_version("bella", LINE, plan, out, economy)
    store.submit("bella", third.id)
    rejected = store.reject("vera", third.id, note="targets too low")
    assert rejected.state == "rejected"
    assert store.version(second.id).state == "approved"
    # one plan, stored once, under three versions
    assert count(store, t.plans) == 1
    actions = [e["action"] for e in store.audit()]
    assert actions.count("version.supersede") == 1 and actions.count("plan.add") == 1


def test_roles_decide_who_may_change_what(store: Store, small: tuple[Economy, Plan, Path]) -> None:
    economy, plan, out = small
    with pytest.raises(AccessError, match=r"olga \(auditor\) may not store plan versions"):
        store.add_version("olga", LINE, plan, out, economy)
    with pytest.raises(AccessError, match="not a user of this store"):
        store.add_version("mallory", LINE, plan, out, economy)
    with pytest.raises(AccessError, match="may not add users"):
        store.add_user("boris", "eve", "admin")
    with pytest.raises(StoreError, match="give --facility"):
        store.add_user("ana", "kim", "enterprise")
    with pytest.raises(StoreError, match="unknown role"):
        store.add_user("ana", "kim", "boss")
    with pytest.raises(AccessError, match="may not give themselves a role"):
        store.add_user("ana", "ana", "approver")
    store.add_user("ana", "bella", "approver")
    version = store.add_version("bella", LINE, plan, out, economy)
    store.submit("boris", version.id)
    with pytest.raises(AccessError, match="bella stored version 1 and may not approve"):
        store.approve("bella", version.id)  # the author is not the second pair of eyes
    store.approve("vera", version.id)
    kim = store.add_user("ana", "kim", "enterprise", "m1")
    assert kim.facilities == {"m1"} and not kim.unscoped
    assert count(store, t.versions) == 1


def test_the_audit_chain_finds_an_edited_or_deleted_entry(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    economy, plan, out = small
    version = store.add_version("bella", LINE, plan, out, economy)
    store.submit("bella", version.id)
    store.approve("vera", version.id)
    check = store.verify_audit()
    assert check.ok and check.entries == count(store, t.audit) >= 10
    head = check.head
    with store.engine.begin() as connection:  # someone edits the database by hand
        connection.execute(sa.update(t.audit).where(t.audit.c.id == 3).values(user="mallory"))
    problems = store.verify_audit().problems
    assert problems == [
        "audit entry 3 (user.add user:bella by mallory) was changed after it was written: "
        "its hash differs"
    ]
    with store.engine.begin() as connection:
        connection.execute(sa.update(t.audit).where(t.audit.c.id == 3).values(user="ana"))
        connection.execute(sa.delete(t.audit).where(t.audit.c.id == 5))
    assert store.verify_audit().problems[0] == "audit entry 5 deleted (entry 6 follows 4)"
    with store.engine.begin() as connection:  # cut off the tail instead
        connection.execute(sa.delete(t.audit).where(t.audit.c.id >= 6))
    assert verify_chain(store.audit()).ok  # a shorter chain is still a chain ...
    held = store.verify_audit().problems  # ... but the store holds what it no longer logs
    assert any("is not as its last audit entry" in p for p in held)
    assert "entries after it were deleted" in store.verify_audit(head=head).problems[0]


def test_audit_verify_holds_the_store_to_its_log(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    """Edits that leave the chain alone but change what it vouches for: a version approved in
    the database, a role granted there, a report's figure or a plan's row changed."""
    economy, plan, out = small
    version = store.add_version("bella", LINE, plan, out, economy)
    facility = str(economy.tables["facilities"]["id"].iloc[0])
    report = pd.DataFrame(
        {
            "report": ["r1"],
            "facility": [facility],
            "period": ["2021-01"],
            "kind": ["output"],
            "product": ["x"],
            "amount": [10.0],
        }
    )
    store.import_reports("bella", report, economy, "jan.csv")
    assert store.verify_audit().ok
    edits = {
        "version 1 is not as its last audit entry": sa.update(t.versions)
        .where(t.versions.c.id == version.id)
        .values(state="approved", decided_by="vera"),
        "user olga's roles are not as the audit log": sa.insert(t.user_roles).values(
            user="olga", role="admin", scope=""
        ),
        "report r1: its rows are not those": sa.update(t.report_rows).values(amount=999.0),
        "its activity rows differ from its stored plan": sa.update(t.plan_activity).values(
            activity=t.plan_activity.c.activity * 2
        ),
    }
    for _, edit in edits.items():
        with store.engine.begin() as connection:
            connection.execute(edit)
    problems = " | ".join(store.verify_audit().problems)
    for expected in edits:
        assert expected in problems


def test_a_stored_plan_and_economy_come_back_intact(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    economy, plan, out = small
    version = store.add_version("bella", LINE, plan, out, economy)
    again = store.plan(version.id)
    assert again.info == plan.info
    for name, frame in plan.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame)
    from econplan.plan.output import economy_hash

    assert economy_hash(store.economy(version.economy)) == economy_hash(economy)
    # the activity, production and targets are rows to query
    with store.engine.connect() as connection:
        total = connection.execute(
            sa.select(sa.func.sum(t.plan_activity.c.activity))
            .join(t.plans, t.plans.c.id == t.plan_activity.c.plan)
            .where(t.plans.c.hash == version.plan)
        ).scalar_one()
    assert total == pytest.approx(plan.tables["activity"]["activity"].sum(), rel=1e-12)
    assert count(store, t.plan_targets) == len(plan.tables["targets"])
    with store.engine.begin() as connection:  # a table changed in the database
        connection.execute(
            sa.update(t.plan_files)
            .where(t.plan_files.c.name == "activity.parquet")
            .values(content=b"PAR1 not a table")
        )
    with pytest.raises(StoreError, match=r"version 1: .*activity.parquet: changed after"):
        store.plan(version.id)


def test_a_failing_command_leaves_the_store_as_it_was(
    store: Store, small: tuple[Economy, Plan, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    economy, plan, out = small
    before = {table.name: count(store, table) for table in t.metadata.sorted_tables}

    def broken(*_: object) -> None:
        raise RuntimeError("the database went away half-way")

    monkeypatch.setattr(Store, "_plan_rows", broken)
    with pytest.raises(RuntimeError, match="half-way"):
        store.add_version("bella", LINE, plan, out, economy)
    assert {table.name: count(store, table) for table in t.metadata.sorted_tables} == before


def test_reports_resubmitted_are_no_ops_and_changed_ones_new_revisions(
    store: Store, small: tuple[Economy, Plan, Path]
) -> None:
    economy = small[0]
    facility = str(economy.tables["facilities"]["id"].iloc[0])
    product = "x"
    rows = pd.DataFrame(
        {
            "report": ["r1", "r1", "r2"],
            "facility": [facility] * 3,
            "period": ["2021-01", "2021-01", "2021-02"],
            "kind": ["output", "input", "output"],
            "product": [product, "y", product],
            "amount": [10.0, 3.0, 12.0],
        }
    )
    first = store.import_reports("bella", rows, economy, "feb.csv")
    assert (first.added, first.corrected, first.unchanged) == (["r1", "r2"], [], [])
    again = store.import_reports("bella", rows.iloc[::-1], economy, "feb.csv")
    assert again.unchanged == ["r1", "r2"] and not again.added and not again.corrected
    changed = rows.assign(amount=[10.0, 2.5, 12.0])
    fixed = store.import_reports("bella", changed, economy, "feb-fixed.csv")
    assert fixed.corrected == ["r1"] and fixed.unchanged == ["r2"]
    current = store.reports(store_economy(store, economy)).sort_values(["period", "kind"])
    assert current["amount"].tolist() == [2.5, 10.0, 12.0]
    assert count(store, t.reports) == 3  # the first revision of r1 is kept
    assert (
        store.reports(store_economy(store, economy), until="2021-01")["period"].max() == "2021-01"
    )
    entries = count(store, t.audit)
    # an id stands for one facility and month for good; a month has one report
    moved = changed[changed["report"] == "r2"].assign(period="2021-03")
    with pytest.raises(StoreError, match="a correction cannot make it"):
        store.import_reports("bella", moved, economy, "moved.csv")
    second = changed[changed["report"] == "r2"].assign(report="r2-again", amount=1.0)
    with pytest.raises(StoreError, match="was reported already as r2"):
        store.import_reports("bella", second, economy, "twice.csv")
    assert count(store, t.audit) == entries and count(store, t.reports) == 3
    store.add_user("ana", "kim", "enterprise", "nobody's")
    store.add_user("ana", "kim", "auditor")  # reads everything, reports for its own only
    with pytest.raises(AccessError, match="not theirs"):
        store.import_reports("kim", rows, economy, "feb.csv")


def store_economy(_: Store, economy: Economy) -> str:
    from econplan.plan.output import economy_hash

    return economy_hash(economy)


def test_migrations_build_exactly_the_declared_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), t.metadata)
    assert differences == []
    assert store.revision() == store.head()


def test_a_store_never_set_up_says_how_to_make_one(url: str) -> None:
    with Store(url) as store, pytest.raises(StoreError, match="econplan store init"):
        store.versions()


# -- the command line (the whole loop is tests/test_loop.py) ------------------------------------


def test_a_plan_of_another_economy_is_refused(
    tmp_path: Path, small: tuple[Economy, Plan, Path]
) -> None:
    result = CliRunner().invoke(
        main,
        ["store", "init", "--db", str(tmp_path / "s.db"), "--user", "ana"],
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main,
        ["store", "add", str(small[2]), "--name", LINE, "--db", str(tmp_path / "s.db")],
        env={"ECONPLAN_USER": "ana"},
    )
    assert result.exit_code == 2
    assert "made from another economy" in result.output


def test_looking_at_a_store_that_is_not_there_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: `store list` in a folder without a store left an empty econplan.db behind, and a
    file that is not a database gave a traceback."""
    (tmp_path / "notes.db").write_text("hi\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["store", "list"], env={"ECONPLAN_DB": ""})
    assert result.exit_code == 2 and "econplan store init" in result.output
    assert not (tmp_path / "econplan.db").exists()
    result = CliRunner().invoke(main, ["store", "list", "--db", str(tmp_path / "notes.db")])
    assert result.exit_code == 2 and "file is not a database" in result.output
    assert "Traceback" not in result.output
