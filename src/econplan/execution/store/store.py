"""The plan store: economies and plans by hash, plan lines and their versions with the approval
workflow, users and roles, fulfilment reports with their revisions, and the audit chain.

Every public method is one transaction: it changes everything it says or nothing. Every
change names its user, is checked against :mod:`econplan.execution.access`, and appends one
audit entry per object it changes.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from econplan.errors import EconomyError
from econplan.execution.access import READ, ROLES, SCOPED, AccessError, User
from econplan.execution.reports import report_hashes
from econplan.execution.store import tables as t
from econplan.execution.store.audit import (
    GENESIS,
    ChainCheck,
    canonical_json,
    entry_hash,
    object_hash,
    verify_chain,
)
from econplan.model.economy import Economy
from econplan.plan.output import Plan, economy_hash

DEFAULT_FILE = "econplan.db"
MIGRATIONS = Path(__file__).parent / "migrations"

STATES = ("draft", "submitted", "approved", "superseded", "rejected")
TRANSITIONS: dict[str, dict[str, str]] = {
    "submit": {"draft": "submitted"},
    "approve": {"submitted": "approved"},
    "reject": {"submitted": "rejected"},
}
"""Action -> {state it may start from: state it leads to}. An approved version changes only
to superseded, when another version of its line is approved."""


PAST = {"submit": "submitted", "approve": "approved", "reject": "rejected"}


class StoreError(ValueError):
    """The store cannot do what was asked (no such version, a state that does not allow it, a
    store that was never initialised): the message says what to do."""


def database_url(given: str | None = None) -> str:
    """The store's SQLAlchemy URL: ``given`` (a URL, or a path to a SQLite file), else
    ECONPLAN_DB, else econplan.db in the current folder. ``postgresql://`` means psycopg 3."""
    url = given or os.environ.get("ECONPLAN_DB") or DEFAULT_FILE
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@cache
def _head() -> str:
    """The newest migration, read from the migrations folder once."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _engine(url: str) -> Engine:
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise StoreError(f"{url}: not a database URL econplan can open ({error})") from None
    if engine.dialect.name == "sqlite":
        # Writers take the lock when they begin (BEGIN IMMEDIATE), so that reading the audit
        # head and appending to it cannot interleave with another writer.
        @sa.event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi: Any, _: Any) -> None:
            dbapi.isolation_level = None
            dbapi.execute("PRAGMA foreign_keys = ON")
            dbapi.execute("PRAGMA busy_timeout = 30000")

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@dataclass(frozen=True)
class Version:
    """One version of a plan line, as ``store list`` and ``store show`` give it."""

    id: int
    line: str
    number: int
    plan: str
    economy: str
    state: str
    revises: int | None
    note: str
    created_at: str
    created_by: str
    submitted_at: str | None
    submitted_by: str | None
    decided_at: str | None
    decided_by: str | None

    @property
    def label(self) -> str:
        return f"{self.line} v{self.number}"

    def record(self) -> dict[str, Any]:
        """What the audit hashes as the version's state."""
        return {k: v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ReportImport:
    """What importing a set of reports did, report id by report id."""

    added: list[str]
    corrected: list[str]
    unchanged: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "corrected": self.corrected, "unchanged": self.unchanged}


class Store:
    """A plan store at a database URL (see :func:`database_url`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = _engine(self.url)

    def close(self) -> None:
        """Close the store's connections (a Store is also a context manager)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        """The store's location for messages, without a password."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    # -- schema --------------------------------------------------------------------------------
    def _alembic(self, connection: Connection) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def revision(self) -> str | None:
        """The migration the database is at; None for a database econplan never set up."""
        from alembic.runtime.migration import MigrationContext

        database = sa.engine.make_url(self.url).database
        if self.engine.dialect.name == "sqlite" and database and not Path(database).exists():
            return None  # not created by merely looking (SQLite makes a file on connecting)
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except sa.exc.DatabaseError as error:
            raise StoreError(f"{self.where}: cannot be opened ({error.orig})") from None

    def head(self) -> str:
        """The migration this econplan's store schema is at."""
        return _head()

    def init(self, user: str) -> bool:
        """Create the store's tables (or bring them up to date) and, in a new store, make
        ``user`` its first admin. True when the store was new."""
        from alembic import command

        _check_name(user, "user")
        with self._transaction() as connection:
            command.upgrade(self._alembic(connection), "head")
            if connection.execute(sa.select(sa.func.count()).select_from(t.users)).scalar():
                return False
            now = _now()
            connection.execute(sa.insert(t.users).values(name=user, created_at=now))
            connection.execute(sa.insert(t.user_roles).values(user=user, role="admin", scope=""))
            record = self._user_record(connection, user)
            self._audit(connection, user, "store.init", f"user:{user}", None, record)
            return True

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # one writer at a time appends to the audit chain
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(780112)"))
                yield connection
        except sa.exc.DatabaseError as error:
            raise StoreError(f"{self.where}: cannot be opened ({error.orig})") from None

    @contextmanager
    def _ready(self) -> Iterator[Connection]:
        """A transaction on a store that is initialised and up to date."""
        current = self.revision()
        if current is None:
            raise StoreError(
                f"{self.where}: no econplan store here; create it with `econplan store init`"
            )
        if current != self.head():
            raise StoreError(
                f"{self.where}: the store is at migration {current}, this econplan needs "
                f"{self.head()}; upgrade it with `econplan store init`"
            )
        with self._transaction() as connection:
            yield connection

    # -- users ---------------------------------------------------------------------------------
    def _user(self, connection: Connection, name: str) -> User:
        rows = connection.execute(
            sa.select(t.user_roles.c.role, t.user_roles.c.scope).where(t.user_roles.c.user == name)
        ).all()
        if not rows:
            raise AccessError(
                f"{name!r} is not a user of this store; an admin adds users with "
                "`econplan user add NAME --role ROLE`"
            )
        roles = frozenset(r.role for r in rows)
        regions = frozenset(r.scope for r in rows if r.role == "regional_planner")
        facilities = frozenset(r.scope for r in rows if r.role == "enterprise")
        return User(name, roles, regions, facilities)

    def user(self, name: str) -> User:
        with self._ready() as connection:
            return self._user(connection, name)

    def users(self) -> list[User]:
        with self._ready() as connection:
            names = connection.execute(sa.select(t.users.c.name).order_by(t.users.c.name))
            return [self._user(connection, n) for (n,) in names.all()]

    def add_user(self, actor: str, name: str, role: str, scope: str = "") -> User:
        """Give ``name`` the ``role`` (a new user, or one more role for an existing one).
        A regional planner's scope is a region, an enterprise's a facility."""
        _check_name(name, "user")
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if role in SCOPED and not scope:
            what = SCOPED[role]
            raise StoreError(f"a {role} works on named {what}s: give --{what}")
        if role not in SCOPED and scope:
            raise StoreError(f"the role {role} has no scope: leave out --region and --facility")
        if name == actor:
            raise AccessError(
                f"{actor} may not give themselves a role: another admin must (four eyes)"
            )
        with self._ready() as connection:
            self._user(connection, actor).require("user.add")
            exists = connection.execute(
                sa.select(t.users.c.name).where(t.users.c.name == name)
            ).first()
            if not exists:
                connection.execute(
                    sa.insert(t.users).values(name=name, created_at=_now(), created_by=actor)
                )
            held = connection.execute(
                sa.select(t.user_roles.c.id).where(
                    (t.user_roles.c.user == name)
                    & (t.user_roles.c.role == role)
                    & (t.user_roles.c.scope == scope)
                )
            ).first()
            if held:
                raise StoreError(
                    f"{name} already has the role {role}{' for ' + scope if scope else ''}"
                )
            before = object_hash(self._user_record(connection, name)) if exists else None
            connection.execute(sa.insert(t.user_roles).values(user=name, role=role, scope=scope))
            self._audit(
                connection,
                actor,
                "user.add",
                f"user:{name}",
                before,
                self._user_record(connection, name),
            )
            return self._user(connection, name)

    def _user_record(self, connection: Connection, name: str) -> dict[str, Any]:
        rows = connection.execute(
            sa.select(t.user_roles.c.role, t.user_roles.c.scope)
            .where(t.user_roles.c.user == name)
            .order_by(t.user_roles.c.role, t.user_roles.c.scope)
        ).all()
        return {"name": name, "roles": [[r.role, r.scope] for r in rows]}

    # -- the audit chain -----------------------------------------------------------------------
    def _audit(
        self,
        connection: Connection,
        user: str,
        action: str,
        obj: str,
        before: str | None,
        after: Mapping[str, Any] | None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        last = connection.execute(
            sa.select(t.audit.c.id, t.audit.c.hash).order_by(t.audit.c.id.desc()).limit(1)
        ).first()
        entry: dict[str, Any] = {
            "id": 1 if last is None else last.id + 1,
            "at": _now(),
            "user": user,
            "action": action,
            "object": obj,
            "before": before,
            "after": None if after is None else object_hash(after),
            "detail": canonical_json(dict(detail or {})),
            "previous": GENESIS if last is None else last.hash,
        }
        entry["hash"] = entry_hash(entry)
        connection.execute(sa.insert(t.audit).values(**entry))

    def audit(self, actor: str | None = None) -> list[dict[str, Any]]:
        """Every audit entry, oldest first (``actor``, when given, must be a user)."""
        with self._ready() as connection:
            if actor is not None:
                self._user(connection, actor).require(READ)
            rows = connection.execute(sa.select(t.audit).order_by(t.audit.c.id)).mappings()
            return [dict(r) for r in rows]

    def verify_audit(self, actor: str | None = None, head: str | None = None) -> ChainCheck:
        """Walk the audit chain, then hold the store's state to it: every version and user as
        its last audit entry left it, every report's rows as the hash it was stored with, and
        every plan's queryable rows as its stored files say. An edit made in the database
        behind econplan's back shows up in one of these."""
        entries = self.audit(actor)
        check = verify_chain(entries, head)
        last: dict[str, str | None] = {}
        for entry in entries:
            last[entry["object"]] = entry["after"]
        problems = list(check.problems)
        with self._ready() as connection:
            for (number,) in connection.execute(sa.select(t.versions.c.id)).all():
                found = object_hash(self._version(connection, number).record())
                if last.get(f"version:{number}") != found:
                    problems.append(
                        f"version {number} is not as its last audit entry left it: changed in "
                        "the database"
                    )
            for (name,) in connection.execute(sa.select(t.users.c.name)).all():
                if last.get(f"user:{name}") != object_hash(self._user_record(connection, name)):
                    problems.append(
                        f"user {name}'s roles are not as the audit log left them: changed in "
                        "the database"
                    )
            problems += self._report_problems(connection)
            problems += self._plan_row_problems(connection)
        return ChainCheck(check.entries, check.head, problems)

    def _report_problems(self, connection: Connection) -> list[str]:
        r, rows = t.reports, t.report_rows
        found = connection.execute(
            sa.select(
                r.c.report,
                r.c.hash,
                rows.c.facility,
                rows.c.period,
                rows.c.kind,
                rows.c.product,
                rows.c.amount,
                rows.c.note,
            ).join(r, r.c.id == rows.c.report)
        ).all()
        if not found:
            return []
        frame = pd.DataFrame(
            [tuple(f) for f in found],
            columns=["report", "hash", "facility", "period", "kind", "product", "amount", "note"],
        )
        frame["facility"] = frame["facility"].replace("", None)
        frame["report"] = frame["report"] + "#" + frame["hash"]  # each revision on its own
        again = report_hashes(frame)
        stated = frame.groupby("report")["hash"].first()
        broken = sorted(i.split("#")[0] for i in again.index[again != stated.reindex(again.index)])
        return [
            f"report {report}: its rows are not those it was stored with (hash differs)"
            for report in broken[:10]
        ]

    def _plan_row_problems(self, connection: Connection) -> list[str]:
        problems = []
        plans = connection.execute(sa.select(t.plans.c.id, t.plans.c.hash)).all()
        for number, digest in plans:
            content = connection.execute(
                sa.select(t.plan_files.c.content).where(
                    (t.plan_files.c.plan == digest) & (t.plan_files.c.name == "activity.parquet")
                )
            ).scalar()
            if content is None:
                continue
            stored = pd.read_parquet(io.BytesIO(content))
            a = t.plan_activity
            rows = pd.DataFrame(
                [
                    tuple(x)
                    for x in connection.execute(
                        sa.select(a.c.process, a.c.region, a.c.year, a.c.activity).where(
                            a.c.plan == number
                        )
                    ).all()
                ],
                columns=["process", "region", "year", "activity"],
            )
            key = ["process", "region", "year"]
            left = stored[[*key, "activity"]].sort_values(key, ignore_index=True)
            right = rows.sort_values(key, ignore_index=True)
            same = len(left) == len(right) and (
                (left[key].to_numpy() == right[key].to_numpy()).all()
                and (left["activity"].to_numpy() == right["activity"].to_numpy()).all()
            )
            if not same:
                problems.append(
                    f"plan {digest[:12]}: its activity rows differ from its stored plan: changed "
                    "in the database"
                )
        return problems

    # -- economies and plans -------------------------------------------------------------------
    def _add_economy(self, connection: Connection, actor: str, economy: Economy) -> str:
        from econplan.io.write import write_economy

        digest = economy_hash(economy)
        if connection.execute(
            sa.select(t.economies.c.hash).where(t.economies.c.hash == digest)
        ).first():
            return digest
        with tempfile.TemporaryDirectory(prefix="econplan-store-") as scratch:
            folder = write_economy(economy, Path(scratch) / "economy")
            files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
        settings = economy.settings
        record = {
            "hash": digest,
            "name": settings.name,
            "first_year": settings.first_year,
            "last_year": settings.last_year,
        }
        connection.execute(
            sa.insert(t.economies).values(**record, created_at=_now(), created_by=actor)
        )
        connection.execute(
            sa.insert(t.economy_files),
            [{"economy": digest, "name": n, "content": c} for n, c in files.items()],
        )
        self._audit(connection, actor, "economy.add", f"economy:{digest}", None, record)
        return digest

    def economy(self, digest: str) -> Economy:
        """An economy the store holds, read back and validated."""
        from econplan.validate import load_economy

        with self._ready() as connection:
            files = connection.execute(
                sa.select(t.economy_files.c.name, t.economy_files.c.content).where(
                    t.economy_files.c.economy == digest
                )
            ).all()
        if not files:
            raise StoreError(f"{self.where}: holds no economy {digest[:12]}")
        with tempfile.TemporaryDirectory(prefix="econplan-store-") as scratch:
            for name, content in files:
                (Path(scratch) / name).write_bytes(content)
            try:
                economy = load_economy(scratch)
            except EconomyError as error:
                raise StoreError(
                    f"{self.where}: the stored economy {digest[:12]} no longer reads "
                    f"({error}); the store was changed outside econplan"
                ) from None
        if economy_hash(economy) != digest:
            raise StoreError(
                f"{self.where}: the stored economy {digest[:12]} was changed outside econplan "
                "(its hash differs)"
            )
        return economy

    def _add_plan(self, connection: Connection, actor: str, plan: Plan, folder: Path) -> str:
        digest = str(plan.info["integrity"])
        if connection.execute(sa.select(t.plans.c.hash).where(t.plans.c.hash == digest)).first():
            return digest
        names = ["plan.json", *plan.info.get("files", {})]
        files = {name: (folder / name).read_bytes() for name in names}
        solver = plan.info["solver"]
        options = {"method": solver["method"], "tolerance": solver["tolerance"]}
        record = {
            "hash": digest,
            "economy": plan.info["economy"]["hash"],
            "status": plan.status,
            "valid": bool(plan.info["verification"]["valid"]),
            "options": canonical_json(options),
        }
        number = _new_id(
            connection, sa.insert(t.plans).values(**record, created_at=_now(), created_by=actor)
        )
        connection.execute(
            sa.insert(t.plan_files),
            [{"plan": digest, "name": n, "content": c} for n, c in files.items()],
        )
        self._plan_rows(connection, number, plan)
        self._audit(connection, actor, "plan.add", f"plan:{digest}", None, record)
        return digest

    def _plan_rows(self, connection: Connection, number: int, plan: Plan) -> None:
        """The plan's activity, production and targets as rows to query (bulk-loaded)."""
        activity = plan.tables["activity"][["process", "region", "year", "activity"]]
        production = plan.tables["production"][["product", "region", "year", "amount"]]
        targets = plan.tables["targets"].rename(columns={"id": "target"})[
            ["target", "product", "sector", "region", "year", "kind", "required", "planned", "met"]
        ]
        for table, frame in (
            (t.plan_activity, activity),
            (t.plan_production, production),
            (t.plan_targets, targets),
        ):
            bulk_insert(connection, table, frame.assign(plan=number))

    def plan(self, version: int) -> Plan:
        """The plan of a version, read back with every check of :func:`load_plan` (the
        store's copy is as econplan wrote it)."""
        from econplan.plan import PlanError, load_plan

        digest = self.version(version).plan
        with self._ready() as connection:
            files = connection.execute(
                sa.select(t.plan_files.c.name, t.plan_files.c.content).where(
                    t.plan_files.c.plan == digest
                )
            ).all()
        with tempfile.TemporaryDirectory(prefix="econplan-store-") as scratch:
            for name, content in files:
                (Path(scratch) / name).write_bytes(content)
            try:
                plan = load_plan(scratch)
            except (PlanError, FileNotFoundError) as error:
                reason = str(error).replace(scratch, "the stored plan")
                raise StoreError(f"{self.where}: version {version}: {reason}") from None
        if plan.info.get("integrity") != digest:
            raise StoreError(
                f"{self.where}: version {version}: the stored plan is not the one recorded "
                "(its hash differs); the store was changed outside econplan"
            )
        return plan

    # -- versions ------------------------------------------------------------------------------
    def add_version(
        self,
        actor: str,
        line: str,
        plan: Plan,
        folder: Path,
        economy: Economy,
        note: str = "",
        revises: int | None = None,
    ) -> Version:
        """Store ``plan`` (written in ``folder``) as the next draft version of ``line``
        (created when new)."""
        _check_name(line, "plan line")
        if plan.info.get("economy", {}).get("hash") != economy_hash(economy):
            raise StoreError(
                f"{folder}: this plan was made from another economy than the one given "
                f"({plan.info.get('economy', {}).get('name')!r}); name its economy with --economy"
            )
        if not plan.ok:
            raise StoreError(
                f"{folder}: only an optimal, verified plan becomes a version (this one is "
                f"{plan.status}{'' if plan.status != 'optimal' else ', failing verification'})"
            )
        with self._ready() as connection:
            self._user(connection, actor).require("store.add")
            self._add_economy(connection, actor, economy)
            digest = self._add_plan(connection, actor, plan, folder)
            line_id = connection.execute(
                sa.select(t.plan_lines.c.id).where(t.plan_lines.c.name == line)
            ).scalar()
            if line_id is None:
                line_id = _new_id(
                    connection,
                    sa.insert(t.plan_lines).values(name=line, created_at=_now(), created_by=actor),
                )
                self._audit(connection, actor, "line.add", f"line:{line}", None, {"name": line})
            if revises is not None:
                self._version(connection, revises)
            number = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(t.versions.c.number), 0)).where(
                    t.versions.c.line == line_id
                )
            ).scalar_one()
            new_id = _new_id(
                connection,
                sa.insert(t.versions).values(
                    line=line_id,
                    number=number + 1,
                    plan=digest,
                    state="draft",
                    revises=revises,
                    note=note,
                    created_at=_now(),
                    created_by=actor,
                ),
            )
            version = self._version(connection, new_id)
            self._audit(
                connection, actor, "version.add", f"version:{new_id}", None, version.record()
            )
            return version

    def _version(self, connection: Connection, version: int) -> Version:
        v, line, plan = t.versions, t.plan_lines, t.plans
        row = connection.execute(
            sa.select(v, line.c.name.label("line_name"), plan.c.economy)
            .join(line, line.c.id == v.c.line)
            .join(plan, plan.c.hash == v.c.plan)
            .where(v.c.id == version)
        ).first()
        if row is None:
            raise StoreError(
                f"{self.where}: no version {version}; `econplan store list` shows them"
            )
        m = row._mapping
        return Version(
            id=m["id"],
            line=m["line_name"],
            number=m["number"],
            plan=m["plan"],
            economy=m["economy"],
            state=m["state"],
            revises=m["revises"],
            note=m["note"],
            created_at=m["created_at"],
            created_by=m["created_by"],
            submitted_at=m["submitted_at"],
            submitted_by=m["submitted_by"],
            decided_at=m["decided_at"],
            decided_by=m["decided_by"],
        )

    def version(self, version: int) -> Version:
        with self._ready() as connection:
            return self._version(connection, version)

    def versions(self, line: str | None = None) -> list[Version]:
        with self._ready() as connection:
            query = sa.select(t.versions.c.id).order_by(t.versions.c.id)
            if line is not None:
                query = query.join(t.plan_lines, t.plan_lines.c.id == t.versions.c.line).where(
                    t.plan_lines.c.name == line
                )
            return [self._version(connection, i) for (i,) in connection.execute(query).all()]

    def in_force(self, line: str) -> Version | None:
        """The approved version of ``line``, if any."""
        approved = [v for v in self.versions(line) if v.state == "approved"]
        return approved[-1] if approved else None

    def _move(self, actor: str, version: int, action: str, note: str = "") -> Version:
        with self._ready() as connection:
            user = self._user(connection, actor)
            user.require(f"store.{action}")
            before = self._version(connection, version)
            moves = TRANSITIONS[action]
            if before.state not in moves:
                starts = " or ".join(moves)
                raise StoreError(
                    f"version {version} ({before.label}) is {before.state}: only a {starts} "
                    f"version can be {PAST[action]}"
                )
            if action in ("approve", "reject") and actor in (
                before.submitted_by,
                before.created_by,
            ):
                did = "submitted" if before.submitted_by == actor else "stored"
                raise AccessError(
                    f"{actor} {did} version {version} and may not {action} it too: "
                    "another approver must (four eyes)"
                )
            now = _now()
            changes: dict[str, Any] = {"state": moves[before.state]}
            if action == "submit":
                changes |= {"submitted_at": now, "submitted_by": actor}
            else:
                changes |= {"decided_at": now, "decided_by": actor}
            if note:
                changes["note"] = (before.note + "\n" if before.note else "") + note
            if action == "approve":
                self._supersede(connection, actor, before)
            connection.execute(
                sa.update(t.versions).where(t.versions.c.id == version).values(**changes)
            )
            after = self._version(connection, version)
            self._audit(
                connection,
                actor,
                f"version.{action}",
                f"version:{version}",
                object_hash(before.record()),
                after.record(),
                {"note": note} if note else None,
            )
            return after

    def _supersede(self, connection: Connection, actor: str, approving: Version) -> None:
        line_id = connection.execute(
            sa.select(t.versions.c.line).where(t.versions.c.id == approving.id)
        ).scalar_one()
        earlier = connection.execute(
            sa.select(t.versions.c.id).where(
                (t.versions.c.line == line_id) & (t.versions.c.state == "approved")
            )
        ).all()
        for (number,) in earlier:
            before = self._version(connection, number)
            connection.execute(
                sa.update(t.versions).where(t.versions.c.id == number).values(state="superseded")
            )
            self._audit(
                connection,
                actor,
                "version.supersede",
                f"version:{number}",
                object_hash(before.record()),
                self._version(connection, number).record(),
                {"by": approving.id},
            )

    def submit(self, actor: str, version: int, note: str = "") -> Version:
        return self._move(actor, version, "submit", note)

    def approve(self, actor: str, version: int, note: str = "") -> Version:
        return self._move(actor, version, "approve", note)

    def reject(self, actor: str, version: int, note: str = "") -> Version:
        return self._move(actor, version, "reject", note)

    # -- reports -------------------------------------------------------------------------------
    def import_reports(
        self, actor: str, frame: pd.DataFrame, economy: Economy, source: str
    ) -> ReportImport:
        """Store checked reports (the reports frame, with ``note`` if any): a report id seen
        before with the same content is left alone, with other content it becomes a new
        revision (the old one kept, no longer current). One audit entry covers the import:
        before and after are the hashes of the imported ids' current contents."""
        digest = economy_hash(economy)
        hashes = report_hashes(frame).astype(str)
        ids = [str(i) for i in hashes.index]
        with self._ready() as connection:
            user = self._user(connection, actor)
            user.require("report.import")
            user.require_facilities(
                frame["facility"].fillna("").astype(str), _regions_of(economy), "report.import"
            )
            self._add_economy(connection, actor, economy)
            current = self._current_reports(connection, ids)
            self._check_report_ids(connection, frame, current)
            seen = current.reindex(hashes.index)
            unchanged = seen["hash"].eq(hashes)
            changed = hashes[~unchanged]
            corrected = changed.index.intersection(current.index)
            now = _now()
            if len(corrected):
                for chunk in _chunks(current.loc[corrected, "id"].astype(int).tolist()):
                    connection.execute(
                        sa.update(t.reports).where(t.reports.c.id.in_(chunk)).values(current=False)
                    )
            revision = (seen.loc[changed.index, "revision"].fillna(0) + 1).astype(int)
            heads = pd.DataFrame(
                {
                    "report": changed.index.astype(str),
                    "revision": revision.to_numpy(),
                    "economy": digest,
                    "hash": changed.to_numpy(),
                    "current": True,
                    "source": source,
                    "created_at": now,
                    "created_by": actor,
                }
            )
            bulk_insert(connection, t.reports, heads)
            stored_ids = self._current_reports(connection, list(changed.index.astype(str)))["id"]
            body = frame[frame["report"].isin(changed.index)]
            note = body["note"] if "note" in body else pd.Series("", index=body.index)
            bulk_insert(
                connection,
                t.report_rows,
                pd.DataFrame(
                    {
                        "report": body["report"].map(stored_ids).astype(int),
                        # construction of new capacity belongs to no facility yet
                        "facility": body["facility"].fillna("").astype(str),
                        "period": body["period"],
                        "kind": body["kind"],
                        "product": body["product"],
                        "amount": body["amount"].astype(float),
                        "note": note.fillna("").astype(str),
                    }
                ),
            )
            result = ReportImport(
                sorted(str(i) for i in changed.index.difference(current.index)),
                sorted(str(i) for i in corrected),
                sorted(str(i) for i in hashes.index[unchanged.to_numpy()]),
            )
            if len(changed):
                before = seen["hash"].dropna()
                self._audit(
                    connection,
                    actor,
                    "reports.import",
                    f"reports:{source}",
                    object_hash({str(k): v for k, v in before.items()}) if len(before) else None,
                    {str(k): v for k, v in hashes.items()},
                    {
                        "added": len(result.added),
                        "corrected": result.corrected,
                        "rows": len(body),
                        "source": source,
                    },
                )
        return result

    def _check_report_ids(
        self, connection: Connection, frame: pd.DataFrame, current: pd.DataFrame
    ) -> None:
        """A report id stands for one facility (or one build's construction) in one month,
        for good: a correction may change its figures, not whose or when they are; and a
        facility's month has one report, so a second id for it is refused rather than added
        to the first."""
        keys = (
            frame.assign(facility=frame["facility"].fillna("").astype(str))
            .groupby("report")[["facility", "period"]]
            .first()
        )
        problems: list[str] = []
        if len(current):
            r, rows = t.reports, t.report_rows
            earlier = (
                pd.DataFrame(
                    [
                        tuple(x)
                        for chunk in _chunks(list(current["id"].astype(int)))
                        for x in connection.execute(
                            sa.select(r.c.report, rows.c.facility, rows.c.period)
                            .join(r, r.c.id == rows.c.report)
                            .where(r.c.id.in_(chunk))
                            .distinct()
                        ).all()
                    ],
                    columns=["report", "facility", "period"],
                )
                .drop_duplicates("report")
                .set_index("report")
            )
            both = keys.join(earlier.add_suffix("_before"), how="inner")
            moved = both[
                (both["facility"] != both["facility_before"])
                | (both["period"] != both["period_before"])
            ]
            for report, row in moved.head(5).iterrows():
                problems.append(
                    f"report {report} is {row['facility_before'] or 'construction'} "
                    f"{row['period_before']}; a correction cannot make it "
                    f"{row['facility'] or 'construction'} {row['period']} (use a new id)"
                )
        named = keys[keys["facility"] != ""]
        twice = named[named.duplicated(["facility", "period"], keep=False)]
        for (facility, period), group in twice.groupby(["facility", "period"]):
            problems.append(
                f"{facility} {period} is reported under several ids ({', '.join(group.index)}): "
                "one report per facility and month"
            )
        r, rows = t.reports, t.report_rows
        stored = pd.DataFrame(
            [
                tuple(x)
                for chunk in _chunks(sorted(named["period"].unique()))
                for x in connection.execute(
                    sa.select(r.c.report, rows.c.facility, rows.c.period)
                    .join(r, r.c.id == rows.c.report)
                    .where(r.c.current & rows.c.period.in_(chunk) & (rows.c.facility != ""))
                    .distinct()
                ).all()
            ],
            columns=["stored", "facility", "period"],
        )
        clash = named.reset_index().merge(stored, on=["facility", "period"])
        clash = clash[clash["report"] != clash["stored"]]
        for clashing in clash.head(5).to_dict(orient="records"):
            problems.append(
                f"{clashing['facility']} {clashing['period']} was reported already as "
                f"{clashing['stored']}: resubmit with that id to correct it, not as "
                f"{clashing['report']}"
            )
        if problems:
            raise StoreError("refused, nothing stored: " + "; ".join(problems))

    def _current_reports(self, connection: Connection, ids: list[str]) -> pd.DataFrame:
        """id, revision and hash of the current revision of each report id, by report id."""
        found: list[Any] = []
        for chunk in _chunks(ids):
            found += connection.execute(
                sa.select(
                    t.reports.c.report, t.reports.c.id, t.reports.c.revision, t.reports.c.hash
                ).where(t.reports.c.current & t.reports.c.report.in_(chunk))
            ).all()
        frame = pd.DataFrame(
            [tuple(f) for f in found], columns=["report", "id", "revision", "hash"]
        )
        return frame.set_index("report")

    def reports(self, economy: str, until: str | None = None) -> pd.DataFrame:
        """The current revision of every report on ``economy``'s facilities (the reports
        frame), up to and including the period ``until``."""
        r, rows = t.reports, t.report_rows
        query = (
            sa.select(
                r.c.report,
                rows.c.facility,
                rows.c.period,
                rows.c.kind,
                rows.c.product,
                rows.c.amount,
            )
            .join(r, r.c.id == rows.c.report)
            .where(r.c.current & (r.c.economy == economy))
        )
        if until is not None:
            query = query.where(rows.c.period <= until)
        with self._ready() as connection:
            found = connection.execute(query).all()
        columns = ["report", "facility", "period", "kind", "product", "amount"]
        frame = pd.DataFrame([tuple(f) for f in found], columns=columns)
        frame["facility"] = frame["facility"].replace("", None)  # construction of new capacity
        return frame


def _regions_of(economy: Economy) -> dict[str, frozenset[str]]:
    """Each facility's region and every region containing it."""
    regions = economy.tables["regions"]
    parent = dict(zip(regions["id"].astype(str), regions["parent"], strict=True))
    result: dict[str, frozenset[str]] = {}
    for facility, region in zip(
        economy.tables["facilities"]["id"].astype(str),
        economy.tables["facilities"]["region"].astype(str),
        strict=True,
    ):
        chain: list[str] = []
        at: str | None = region
        while isinstance(at, str) and at not in chain:
            chain.append(at)
            at = parent.get(at)
        result[facility] = frozenset(chain)
    return result


COPY_CHUNK = 100_000
"""Rows turned into CSV text at a time for COPY, which bounds the memory it takes."""


def bulk_insert(connection: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert ``frame``'s rows into ``table`` fast: PostgreSQL's COPY fed with CSV that pandas
    writes; elsewhere the driver's own executemany on plain tuples (SQLAlchemy's per-row
    dictionaries cost three times as long)."""
    if frame.empty:
        return
    columns = [c.name for c in table.columns if c.name in frame.columns]
    clean = frame[columns].astype(object).where(frame[columns].notna(), None)
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        # every text is quoted, so an empty text stays empty; a missing value is written as
        # "" too, and FORCE_NULL turns it into NULL in the columns that allow one
        nullable = ", ".join(f'"{c}"' for c in columns if table.c[c].nullable)
        options = "FORMAT csv" + (f", FORCE_NULL ({nullable})" if nullable else "")
        raw = connection.connection.driver_connection
        assert raw is not None
        statement = f'COPY "{table.name}" ({names}) FROM STDIN ({options})'
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for start in range(0, len(clean), COPY_CHUNK):
                chunk = clean.iloc[start : start + COPY_CHUNK]
                copy.write(chunk.to_csv(header=False, index=False, quoting=csv.QUOTE_NONNUMERIC))
        return
    marks = ", ".join("?" for _ in columns)
    rows = list(clean.itertuples(index=False, name=None))
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def _chunks(values: list[Any], size: int = 5_000) -> Iterator[list[Any]]:
    """``values`` in pieces small enough for one IN (...) list on every database."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _new_id(connection: Connection, insert: sa.Insert) -> int:
    """The primary key the database gave the row ``insert`` added."""
    key = connection.execute(insert).inserted_primary_key
    assert key is not None
    return int(key[0])


def _check_name(name: str, what: str) -> None:
    if not name or not name.strip() or len(name) > 200 or not name.isprintable():
        raise StoreError(f"{what} name {name!r}: give 1-200 printable characters")


__all__ = [
    "STATES",
    "ReportImport",
    "Store",
    "StoreError",
    "Version",
    "database_url",
]
