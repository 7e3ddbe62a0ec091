"""The worker that runs long jobs (solving a plan, re-planning) outside the request, in a
thread of the server's process: a request queues a job in the store's jobs table and returns
at once; the page and the API read its state and progress from the table, so a reload or
another browser sees the same. One job runs at a time: a solve uses the cores HiGHS is given.

At start, a job left running by a server that died is marked failed and queued ones are run
(:func:`econplan.execution.store.jobs.recover`).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from econplan.execution.store import Store
from econplan.execution.store import jobs as job_table
from econplan.plan import Plan
from econplan.plan.whole import whole_units_said


class JobError(Exception):
    """A job that ended without a version: the message says why."""


class Worker:
    """Runs the store's queued jobs; ``threads=0`` only queues them (a server that takes
    requests while another process solves, or a test of the API alone)."""

    def __init__(self, store: Store, threads: int = 1) -> None:
        self.store = store
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, "econplan-job") if threads else None
        self._futures: dict[int, Future[None]] = {}

    def start(self) -> None:
        for queued in job_table.recover(self.store):
            self._run_later(queued)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, actor: str, kind: str, params: dict[str, Any]) -> job_table.Job:
        job = job_table.add_job(self.store, actor, kind, params)
        self._run_later(job.id)
        return job

    def wait(self, job: int) -> job_table.Job:
        """Block until the job has run (tests; the pages poll instead)."""
        future = self._futures.get(job)
        if future is not None:
            future.result()
        return job_table.job(self.store, job)

    def _run_later(self, job: int) -> None:
        if self._pool is not None:
            self._futures[job] = self._pool.submit(self._run, job)

    def _run(self, number: int) -> None:
        job = job_table.job(self.store, number)
        job_table.start(self.store, number)

        def progress(message: str) -> None:
            job_table.progress(self.store, number, message)

        try:
            version = run_job(self.store, job, progress)
        except JobError as error:
            job_table.fail(self.store, number, str(error))
        except Exception as error:  # a bug: recorded on the job rather than lost in a thread
            job_table.fail(self.store, number, f"{type(error).__name__}: {error}")
        else:
            job_table.finish(self.store, number, version, f"stored as version {version}")


def run_job(store: Store, job: job_table.Job, progress: Any) -> int:
    """Do the job; the id of the new draft version it stored."""
    from econplan.execution.breakdown import monthly_shares
    from econplan.execution.replan import ReplanError, replan
    from econplan.plan import SolveError, make_plan, write_plan

    params = job.params
    source = store.version(int(params["version"]))
    economy = store.economy(source.economy)
    plan: Plan
    try:
        if job.kind == "replan":
            as_of = str(params["as_of"])
            actuals = store.reports(source.economy, until=as_of)
            progress(f"{len(actuals):,} reported figures through {as_of}")
            found = replan(
                economy, store.plan(source.id), actuals, as_of, monthly_shares(economy),
                progress=progress,
            )  # fmt: skip
            plan, note, revises = (
                found.plan,
                f"re-plan of version {source.id} as of {as_of}",
                source.id,
            )
        else:
            plan = make_plan(economy, progress=progress)
            note, revises = f"solved again from version {source.id}'s economy", None
    except (ReplanError, SolveError) as error:
        raise JobError(str(error)) from None
    if not plan.ok:
        whole = whole_units_said(plan.diagnosis)
        raise JobError(
            f"no plan: the solve ended {plan.status}"
            + (f": {whole}" if whole else
               ": the targets met before cannot all be met any more; `econplan replan` "
               "writes the diagnosis" if plan.status == "infeasible" else "")
        )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="econplan-job-") as scratch:
        folder = Path(scratch) / "plan"
        written = write_plan(plan, folder)
        version = store.add_version(
            job.created_by, str(params["line"]), written, folder, economy, note, revises
        )
    return version.id
