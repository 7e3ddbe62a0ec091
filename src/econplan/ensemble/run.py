"""Running an ensemble on Dask: its members as independent tasks on a LocalCluster (this
machine, by default) or on a cluster whose scheduler is named, each member's small result
saved as it arrives, so an interrupted ensemble resumes without planning a finished member
again, and the results tables written at the end.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from distributed import Client, LocalCluster, as_completed

from econplan.ensemble.draw import check_shocks
from econplan.ensemble.member import STATUSES, MemberResult, base_start, plan_member
from econplan.ensemble.read import Ensemble
from econplan.ensemble.summary import (
    binding_frequency,
    member_table,
    quantiles,
    target_probabilities,
)
from econplan.errors import UsageError
from econplan.plan import InfeasibleError, SolveError
from econplan.plan.output import jsonable
from econplan.reporting.ensemble import ensemble_report
from econplan.reporting.plan_report import html_page
from econplan.scenario import apply_scenario

MEMBERS = "members"
MARK = "ENSEMBLE"
"""The file in ``out/members`` holding the hash of the ensemble the members belong to."""

TABLES = ("targets", "quantiles", "binding", "members")

Say = Callable[[str], None]


@dataclass(frozen=True)
class EnsembleResult:
    """The ensemble's results: ``info`` is ensemble.json, ``tables`` the CSV files."""

    info: dict[str, Any]
    tables: dict[str, pd.DataFrame]


class MemberStore:
    """``out/members``: one JSON file per finished member, written whole or not at all."""

    def __init__(self, out: Path, ensemble: Ensemble) -> None:
        self.folder = out / MEMBERS
        self.ensemble = ensemble
        mark = self.folder / MARK
        if out.exists() and not mark.exists() and any(out.iterdir()):
            raise UsageError(
                f"{out} exists and holds no ensemble's members: choose a new --out folder "
                "(or the folder of an interrupted run of this ensemble, to resume it)"
            )
        if mark.exists() and mark.read_text().strip() != ensemble.hash:
            raise UsageError(
                f"{out} holds the members of another ensemble (another file, base or seed): "
                "choose a new --out folder, or remove it to start again"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_text(mark, ensemble.hash + "\n")

    def path(self, member: int) -> Path:
        return self.folder / f"member-{member:06d}.json"

    def load(self, members: int) -> dict[int, MemberResult]:
        """The members already planned (a file cut short by a crash is planned again)."""
        found = {}
        for member in range(members):
            path = self.path(member)
            if not path.exists():
                continue
            try:
                found[member] = MemberResult.from_dict(json.loads(path.read_text("utf-8")))
            except (ValueError, TypeError):
                continue
        return found

    def save(self, result: MemberResult) -> None:
        _write_text(self.path(result.member), json.dumps(jsonable(result.to_dict())))


def _write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, "utf-8")
    os.replace(temporary, path)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a LocalCluster of ``workers``
    processes (one thread each: HiGHS is the work, and one plan per core is fastest)."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise UsageError(
                f"cannot reach the Dask scheduler at {scheduler} ({error}): start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS` from the project's "
                "environment, or leave --scheduler out to run on this machine"
            ) from None
        with client:
            yield client
        return
    count = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: two ensembles (or a test) may run at once
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_ensemble(
    ensemble: Ensemble,
    out: Path,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Say | None = None,
    warm: bool = True,
) -> EnsembleResult:
    """Plan every member of ``ensemble`` not yet in ``out`` and write the results there.

    Raises ScenarioError when the file does not fit its economy (before any member runs)
    and UsageError when ``out`` belongs to something else or the scheduler cannot be
    reached. Interrupted (Ctrl-C), the members finished so far stay in ``out/members``.
    ``warm``: start each member's first stage from the base plan's basis."""
    say = progress or (lambda _: None)
    began = time.perf_counter()
    applied = apply_scenario(ensemble.scenario)
    base = applied.economy
    check_shocks(ensemble, base)
    store = MemberStore(out, ensemble)
    results = store.load(ensemble.members)
    todo = [m for m in range(ensemble.members) if m not in results]
    if results:
        say(f"{len(results)} of {ensemble.members} members already planned in {out}: resuming")
    where = scheduler or f"a LocalCluster of {workers or os.cpu_count() or 1} worker(s)"
    cluster: dict[str, Any] = {"scheduler": scheduler or "local", "workers": None}
    if todo:
        with dask_client(scheduler, workers) as client:
            cluster["workers"] = len(client.scheduler_info()["workers"])
            say(f"planning {len(todo)} member(s) on {where}")
            shared = client.scatter(base, broadcast=True)
            start = None
            if warm:
                say("solving the base plan, whose first basis every member starts from")
                try:
                    start = client.scatter(base_start(base), broadcast=True)
                except (InfeasibleError, SolveError) as error:
                    say(f"  the base plan has no optimum ({error}): members start cold")
                    warm = False
            futures = [
                client.submit(
                    plan_member,
                    shared,
                    ensemble,
                    member,
                    start,
                    key=f"econplan-member-{ensemble.hash[:12]}-{member}",
                    pure=False,
                )
                for member in todo
            ]
            started, failed = time.perf_counter(), 0
            for finished, future in enumerate(as_completed(futures), start=1):
                result: MemberResult = future.result()
                store.save(result)
                results[result.member] = result
                failed += result.status != "optimal"
                pace = (time.perf_counter() - started) / finished
                left = pace * (len(todo) - finished)
                say(
                    f"  {len(results)}/{ensemble.members} members done, {failed} without a "
                    f"verified plan, about {_duration(left)} left"
                )
    members = [results[m] for m in range(ensemble.members)]
    tables = {
        "targets": target_probabilities(members, base.tables["targets"]),
        "quantiles": quantiles(members),
        "binding": binding_frequency(members),
        "members": member_table(members),
    }
    counts = {s: sum(r.status == s for r in members) for s in STATUSES}
    info = {
        "ensemble": ensemble.name,
        "file": str(ensemble.path),
        "hash": ensemble.hash,
        "scenario": applied.info(),
        "seed": ensemble.seed,
        "members": ensemble.members,
        "statuses": counts,
        "shocks": [{"shock": s.position, "kind": s.kind, **s.fields} for s in ensemble.shocks],
        "cluster": cluster,
        "warm": warm,
        "seconds": time.perf_counter() - began,
        "member_seconds": sum(r.seconds for r in members),
        "peak_memory_mb": _peaks(members),
        "tables": {name: f"{name}.csv" for name in TABLES},
    }
    info["report"] = "ensemble.html"
    for name, table in tables.items():
        _write_text(out / f"{name}.csv", table.to_csv(index=False))
    _write_text(out / "ensemble.html", html_page(ensemble_report(info, tables)))
    _write_text(out / "ensemble.json", json.dumps(jsonable(info), indent=2) + "\n")
    return EnsembleResult(info, tables)


def _peaks(members: list[MemberResult]) -> dict[str, float]:
    """The peak resident memory of each worker process that planned members, in MiB."""
    peaks: dict[str, float] = {}
    for r in members:
        if r.worker:
            peaks[r.worker] = max(peaks.get(r.worker, 0.0), r.worker_peak_mb)
    return peaks


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
