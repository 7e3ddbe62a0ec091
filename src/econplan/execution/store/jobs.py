"""The store's table of long jobs (solving a plan, re-planning): what was asked, by whom, how
far it has got, and how it ended. The web application's worker runs them
(:mod:`econplan.web.worker`); the table is what survives the server and a page's reload.

States: queued -> running -> done | failed. A job found running when a server starts was
running in a server that died: it is marked failed, with that reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from econplan.execution.store import tables as t
from econplan.execution.store.audit import canonical_json
from econplan.execution.store.store import Store, StoreError

KINDS = ("plan", "replan")
STATES = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str
    params: dict[str, Any]
    progress: str
    created_at: str
    created_by: str
    started_at: str | None
    finished_at: str | None
    result_version: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _job(row: Any) -> Job:
    m = dict(row._mapping)
    m["params"] = json.loads(m["params"])
    return Job(**m)


def add_job(store: Store, actor: str, kind: str, params: dict[str, Any]) -> Job:
    """Queue a job (the caller has checked that ``actor`` may do what it does)."""
    if kind not in KINDS:
        raise StoreError(f"unknown job kind {kind!r}: use one of {', '.join(KINDS)}")
    with store._ready() as connection:
        store._user(connection, actor)
        key = connection.execute(
            sa.insert(t.jobs).values(
                kind=kind,
                state="queued",
                params=canonical_json(params),
                progress="",
                created_at=_now(),
                created_by=actor,
            )
        ).inserted_primary_key
        assert key is not None
        return _get(connection, int(key[0]))


def _get(connection: sa.Connection, job: int) -> Job:
    row = connection.execute(sa.select(t.jobs).where(t.jobs.c.id == job)).first()
    if row is None:
        raise StoreError(f"no job {job}")
    return _job(row)


def job(store: Store, job: int) -> Job:
    with store.engine.connect() as connection:
        return _get(connection, job)


def jobs(store: Store, limit: int = 100) -> list[Job]:
    """The newest jobs first."""
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(t.jobs).order_by(t.jobs.c.id.desc()).limit(limit))
        return [_job(r) for r in rows.all()]


def _update(store: Store, job: int, **values: Any) -> None:
    with store._ready() as connection:
        connection.execute(sa.update(t.jobs).where(t.jobs.c.id == job).values(**values))


def start(store: Store, job: int) -> None:
    _update(store, job, state="running", started_at=_now())


def progress(store: Store, job: int, message: str) -> None:
    _update(store, job, progress=message[-2000:])


def finish(store: Store, job: int, version: int | None, message: str) -> None:
    _update(store, job, state="done", finished_at=_now(), result_version=version, progress=message)


def fail(store: Store, job: int, error: str) -> None:
    _update(store, job, state="failed", finished_at=_now(), error=error[-2000:])


def recover(store: Store) -> list[int]:
    """At a server's start: jobs left running by a server that died are failed; the ids of
    the queued ones, to run now, are returned."""
    with store._ready() as connection:
        connection.execute(
            sa.update(t.jobs)
            .where(t.jobs.c.state == "running")
            .values(
                state="failed",
                finished_at=_now(),
                error="the server stopped while this job ran; start it again",
            )
        )
        queued = connection.execute(
            sa.select(t.jobs.c.id).where(t.jobs.c.state == "queued").order_by(t.jobs.c.id)
        )
        return [int(i) for (i,) in queued.all()]
