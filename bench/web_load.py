"""The load-and-kill run: reports sent concurrently to `econplan serve` on loopback while the
server is killed (SIGKILL) part-way and started again; every report acknowledged must be in
the store exactly once afterwards and the audit chain must verify.

One report per request (POST /api/reports), at most ``--concurrency`` in flight (httpx,
asyncio). After ``--kill-after`` acknowledgements the server is killed; what was not
acknowledged is sent again to the restarted server, round after round, until every report is
acknowledged. A report stored by the killed server but not acknowledged comes back
"unchanged" when resent: report ids make resending safe.

Usage: python bench/web_load.py [--reports 2000] [--concurrency 16] [--kill-after 0.4]
           [--db FILE] [--plan PLAN_DIR]
Prints the figures as JSON (docs/web.md cites them). tests/test_web_load.py runs a small one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import sqlalchemy as sa

from econplan.execution.store import Store
from econplan.execution.store import tables as t

USER, PASSWORD = "planner", "planner-demo"


@dataclass
class Figures:
    reports: int
    sent: int = 0
    acknowledged: int = 0
    retried: int = 0
    rounds: int = 0
    killed_after: int = 0
    duplicates: int = 0
    missing: int = 0
    audit_ok: bool = False
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(db: Path, plan_dir: Path | None, count: int) -> list[dict[str, Any]]:
    """A demo store (reports through January 2021) and ``count`` reports of later months, one
    facility and month each, as the JSON bodies to send."""
    from econplan.plan import make_plan, write_plan
    from econplan.web import demo

    with tempfile.TemporaryDirectory() as scratch:
        if plan_dir is None:
            from econplan import load_economy

            plan_dir = Path(scratch) / "plan"
            write_plan(make_plan(load_economy()), plan_dir)
        with Store(str(db)) as store:
            demo.seed(store, plan_dir, until="2021-01")
    return later_reports(db, count)


def later_reports(db: Path, count: int) -> list[dict[str, Any]]:
    """``count`` reports of the months after the last one a demo store holds, one facility
    and month each (simulated from its plan in force), as the JSON bodies to send."""
    from econplan.execution.breakdown import control_figures
    from econplan.execution.simulate import simulate

    with Store(str(db)) as store:
        version = [v for v in store.versions() if v.state == "approved"][-1]
        economy = store.economy(version.economy)
        plan = store.plan(version.id)
        last = str(store.reports(version.economy)["period"].max())
    figures = control_figures(economy, plan)
    year, month = (int(x) for x in last.split("-"))
    after = year * 12 + month  # months counted from year 0
    # a month more than the facilities need: a facility built in the plan reports later
    months = -(-count // max(1, figures.activity["facility"].nunique())) + 1
    end = after + months - 1  # the last month to simulate, 0-based month of year 0
    until = f"{end // 12:04d}-{end % 12 + 1:02d}"
    frame = simulate(economy, figures.figures, until, seed=1, shocks=())
    frame = frame[(frame["period"] > last) & frame["facility"].notna()]
    ids = sorted(frame["report"].unique())[:count]
    bodies = []
    for _, rows in frame[frame["report"].isin(ids)].groupby("report", sort=True):
        bodies.append({"rows": json.loads(rows.to_json(orient="records"))})
    return bodies


class Server:
    """`econplan serve` as a child process on a free loopback port."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "econplan", "serve", "--db", str(self.db)]
        command += ["--port", str(self.port), "--jobs", "0"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:  # the server says when it is about to listen
            if "econplan at http://" in line:
                break
        else:
            raise RuntimeError(f"the server did not start (exit {self.process.wait()})")
        with httpx.Client(base_url=self.url) as client:
            for _ in range(600):  # until uvicorn has bound the port
                try:
                    if client.get("/api/health").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.05)
        raise RuntimeError("the server did not answer /api/health")

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, how: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(how)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


async def send_round(
    server: Server,
    token: str,
    bodies: dict[str, dict[str, Any]],
    figures: Figures,
    concurrency: int,
    kill_after: int | None,
) -> set[str]:
    """Send every body once; the ids acknowledged. Kills the server after ``kill_after``
    acknowledgements (when given)."""
    done: set[str] = set()
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as client:

        async def send(report: str, body: dict[str, Any]) -> None:
            async with limit:
                figures.sent += 1
                try:
                    answer = await client.post("/api/reports", json=body)
                except httpx.TransportError:
                    return
                if answer.status_code == 200:
                    done.add(report)
                    if kill_after is not None and len(done) == kill_after:
                        figures.killed_after = len(done)
                        server.kill()
                else:
                    raise RuntimeError(f"{report}: {answer.status_code} {answer.text[:300]}")

        await asyncio.gather(*(send(r, b) for r, b in bodies.items()))
    return done


def run(db: Path, bodies: list[dict[str, Any]], concurrency: int, kill_share: float) -> Figures:
    figures = Figures(reports=len(bodies))
    pending = {str(b["rows"][0]["report"]): b for b in bodies}
    server = Server(db)
    server.start()
    with httpx.Client(base_url=server.url) as client:
        token = client.post("/api/token", json={"name": USER, "password": PASSWORD}).json()
    began = time.perf_counter()
    kill_after: int | None = max(1, int(len(bodies) * kill_share))
    try:
        while pending:
            figures.rounds += 1
            if figures.rounds > 1:
                figures.retried += len(pending)
                if server.process is None or server.process.poll() is not None:
                    server.start()  # the same store, the same token: sessions live there
            done = asyncio.run(
                send_round(server, token["token"], pending, figures, concurrency, kill_after)
            )
            figures.acknowledged += len(done)
            pending = {r: b for r, b in pending.items() if r not in done}
            kill_after = None
            if figures.rounds > 10:
                raise RuntimeError(f"{len(pending)} reports still unacknowledged")
        figures.seconds = time.perf_counter() - began
    finally:
        server.stop()
    wanted = [str(b["rows"][0]["report"]) for b in bodies]
    with Store(str(db)) as store:
        with store.engine.connect() as connection:
            stored = pd.DataFrame(
                connection.execute(
                    sa.select(t.reports.c.report, t.reports.c.revision).where(
                        t.reports.c.report.in_(wanted)
                    )
                ).all(),
                columns=["report", "revision"],
            )
        figures.duplicates = int(stored["report"].duplicated().sum())
        figures.missing = len(set(wanted) - set(stored["report"]))
        figures.audit_ok = store.verify_audit().ok
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-after", type=float, default=0.4, help="share acknowledged")
    parser.add_argument("--db", type=Path, default=None, help="a new SQLite file")
    parser.add_argument("--plan", type=Path, default=None, help="the built-in plan, written")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or Path(scratch) / "econplan.db"
        bodies = prepare(db, args.plan, args.reports)
        figures = run(db, bodies, args.concurrency, args.kill_after)
    print(json.dumps(asdict(figures) | {"reports_per_second": round(figures.per_second, 1)}))


if __name__ == "__main__":
    main()
