"""What every request works with: the store, and each version's economy, plan and control
figures read back once (a version's plan never changes, so they are cached by version)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar, cast

import pandas as pd
import sqlalchemy as sa
from fastapi import HTTPException

from econplan.execution.breakdown import ControlFigures, control_figures
from econplan.execution.diff import PlanDiff, diff_plans
from econplan.execution.monitor import Monitoring, monitor
from econplan.execution.store import Store, StoreError, Version
from econplan.execution.store import jobs as job_table
from econplan.execution.store import tables as t
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.web.worker import Worker

CACHED_VERSIONS = 4
"""Versions kept read back at once (each holds its economy, plan and control figures)."""
CACHED_RESULTS = 64
"""Report frames, monitoring results and pages' panels kept (those that depend on the
reports until the reports change)."""
T = TypeVar("T")


def reported_through(reports: pd.DataFrame, among: Collection[str] | None = None) -> str | None:
    """The month most facilities have reported through: of each facility's last month
    reported, the latest that at least half of them have reached (of the facilities
    ``among``, else all that reported; None when none did). One enterprise reporting ahead
    does not move everyone's month, and a late few do not hold it back (docs/web.md)."""
    if among is not None:
        reports = reports[reports["facility"].isin(list(among))]
    if reports.empty:
        return None
    last = sorted(str(p) for p in reports.groupby("facility")["period"].max())
    return last[(len(last) - 1) // 2]


@dataclass(frozen=True)
class Loaded:
    version: Version
    economy: Economy
    plan: Plan
    figures: ControlFigures


class NotFound(HTTPException):
    def __init__(self, what: str) -> None:
        super().__init__(404, what)


class Context:
    """The application's store and its caches; safe to share between request threads."""

    def __init__(self, store: Store, worker: Worker) -> None:
        self.store = store
        self.worker = worker
        self._loaded: OrderedDict[int, Loaded] = OrderedDict()
        self._results: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._lock = threading.Lock()

    def version(self, number: int) -> Version:
        try:
            return self.store.version(number)
        except StoreError:
            raise NotFound(f"no version {number}; GET /api/versions lists them") from None

    def job(self, number: int) -> job_table.Job:
        try:
            return job_table.job(self.store, number)
        except StoreError:
            raise NotFound(f"no job {number}; GET /api/jobs lists them") from None

    def in_force(self) -> Version | None:
        """The version reports are checked against: the most recently approved."""
        approved = [v for v in self.store.versions() if v.state == "approved"]
        return max(approved, key=lambda v: v.decided_at or "") if approved else None

    def chosen(self, number: int | None) -> Version:
        """The version named, else the version in force."""
        if number is not None:
            return self.version(number)
        found = self.in_force()
        if found is None:
            raise NotFound("no version is in force (approved) yet: name one with ?version=")
        return found

    def load(self, number: int | None = None) -> Loaded:
        """A version's economy, plan and control figures (the version in force when None)."""
        version = self.chosen(number)
        with self._lock:
            if version.id in self._loaded:
                self._loaded.move_to_end(version.id)
                cached = self._loaded[version.id]
                # the state may have moved on (submitted, approved): the rest cannot
                return Loaded(version, cached.economy, cached.plan, cached.figures)
            economy = self.store.economy(version.economy)
            plan = self.store.plan(version.id)
            loaded = Loaded(version, economy, plan, control_figures(economy, plan))
            self._loaded[version.id] = loaded
            while len(self._loaded) > CACHED_VERSIONS:
                self._loaded.popitem(last=False)
            return loaded

    def diff(self, first: int, second: int) -> PlanDiff:
        """What changed from one version's plan to another's (kept: plans never change)."""
        self.version(first)
        self.version(second)
        return self.remembered(
            ("diff", first, second),
            lambda: diff_plans(self.store.plan(first), self.store.plan(second)),
            reported=False,
        )

    def _mark(self) -> tuple[int, int]:
        """Changes whenever reports are stored (a new report or revision adds a row)."""
        with self.store.engine.connect() as connection:
            count, last = connection.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(t.reports.c.id), 0))
            ).one()
        return int(count), int(last)

    def _remembered(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return cast(T, self._results[key])
        value = make()
        with self._lock:
            self._results[key] = value
            while len(self._results) > CACHED_RESULTS:
                self._results.popitem(last=False)
        return value

    def remembered(self, key: tuple[object, ...], make: Callable[[], T], *, reported: bool) -> T:
        """``make()``, kept under ``key`` (with ``reported``: until the reports change). A
        version's plan never changes, so what is drawn from it alone is kept as long as the
        cache has room; a figure of the plan carried out is drawn again after a report."""
        return self._remembered((*key, self._mark()) if reported else key, make)

    def reports(self, loaded: Loaded, until: str | None = None) -> pd.DataFrame:
        """The current reports on the version's economy (through ``until``)."""
        economy = loaded.version.economy
        return self._remembered(
            ("reports", economy, until, self._mark()),
            lambda: self.store.reports(economy, until=until),
        )

    def monitoring(
        self, loaded: Loaded, as_of: str | None, among: Collection[str] | None = None
    ) -> Monitoring | None:
        """How the version is carried out as of a month (when None: the month most of the
        facilities ``among`` have reported through, else most of all, :func:`reported_through`);
        None before any report. Kept until the next report arrives."""
        reports = self.reports(loaded, as_of)
        if reports.empty:
            return None
        month = as_of or reported_through(reports, among) or str(reported_through(reports))
        return self._remembered(
            ("monitoring", loaded.version.id, month, self._mark()),
            lambda: monitor(loaded.figures.figures, reports, month, loaded.economy, loaded.plan),
        )
