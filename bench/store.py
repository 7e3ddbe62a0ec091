"""Benchmark: loading a plan's activity rows into the store, at 10^5 and 10^6 rows.

Side by side in one run, on the same rows (process, region, year, activity) and the same
table (the store's ``plan_activity``, with its unique index):

- econplan's ``bulk_insert``: PostgreSQL's COPY through psycopg; SQLAlchemy's executemany on
  SQLite;
- pandas ``DataFrame.to_sql`` with its defaults, the baseline a user would reach for;
- pandas ``to_sql(method="multi", chunksize=1000)``, the usual advice for speeding it up.

Each load runs in a child process of its own, on a new database, so that its peak memory
(ru_maxrss) is its own; the time covers the load and its commit, not making the rows.

Usage: python bench/store.py [--rows 100000 1000000] [--postgres URL] [--out bench/results]
Writes bench/results/store.json and store.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
METHODS = ("econplan", "to_sql", "to_sql_multi")


def rows(n: int) -> Any:
    """n activity rows shaped like a plan's: processes x regions x years."""
    import numpy as np
    import pandas as pd

    years = 5
    regions = 12
    processes = -(-n // (years * regions))
    index = pd.MultiIndex.from_product(
        [
            [f"process_{i:06d}" for i in range(processes)],
            [f"region_{r:02d}" for r in range(regions)],
            range(2021, 2021 + years),
        ],
        names=["process", "region", "year"],
    )[:n]
    frame = index.to_frame(index=False)
    frame["activity"] = np.random.default_rng(0).lognormal(8, 2, n)
    return frame


def load(method: str, url: str, n: int) -> dict[str, Any]:
    """In the child: a fresh store schema, then the rows loaded by ``method``, timed."""
    import sqlalchemy as sa

    from econplan.execution.store import Store
    from econplan.execution.store import tables as t
    from econplan.execution.store.store import bulk_insert

    digest = "f" * 64
    with Store(url) as store:  # a real store: its migrations, its indexes and keys
        store.init("bench")
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # the plan the rows belong to
        now = "2026-01-01T00:00:00+00:00"
        connection.execute(
            sa.insert(t.economies).values(
                hash=digest,
                name="bench",
                first_year=2021,
                last_year=2025,
                created_at=now,
                created_by="bench",
            )
        )
        plan = connection.execute(
            sa.insert(t.plans).values(
                hash=digest,
                economy=digest,
                status="optimal",
                valid=True,
                options="{}",
                created_at=now,
                created_by="bench",
            )
        ).inserted_primary_key[0]
    frame = rows(n).assign(plan=plan)
    begin = time.perf_counter()
    with engine.begin() as connection:
        if method == "econplan":
            bulk_insert(connection, t.plan_activity, frame)
        else:
            extra = {"method": "multi", "chunksize": 1000} if method == "to_sql_multi" else {}
            frame.to_sql("plan_activity", connection, if_exists="append", index=False, **extra)
    seconds = time.perf_counter() - begin
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(sa.func.count(), sa.func.sum(t.plan_activity.c.activity))
        ).one()
    engine.dispose()
    assert stored[0] == n, f"{method} stored {stored[0]} rows of {n}"
    assert abs(stored[1] - frame["activity"].sum()) <= 1e-9 * frame["activity"].sum()
    return {"seconds": seconds, "rows_per_second": n / seconds}


def child(method: str, database: str, n: int, postgres: str) -> dict[str, Any]:
    """Run one load in a child process on a new database; its peak memory from wait4."""
    with tempfile.TemporaryDirectory() as scratch:
        if database == "sqlite":
            url = f"sqlite:///{scratch}/bench.db"
            drop = None
        else:
            import sqlalchemy as sa

            name = f"econplan_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = sa.engine.make_url(postgres).set(database=name).render_as_string(False)
            drop = (admin, name)
        out = Path(scratch) / "result.json"
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); from store import load; "
            "json.dump(load(sys.argv[2], sys.argv[3], int(sys.argv[4])), open(sys.argv[5], 'w'))"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", code, str(ROOT / "bench"), method, url, str(n), str(out)],
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        _, status, usage = os.wait4(process.pid, 0)
        try:
            if status != 0:
                return {"error": f"exit status {status}"}
            result: dict[str, Any] = json.loads(out.read_text())
            result["peak_mib"] = usage.ru_maxrss / 1024
            return result
        finally:
            if drop is not None:
                import sqlalchemy as sa

                admin, name = drop
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Loading plan rows into the store",
        "",
        f"{results['machine']}; {results['date']}; commit {results['commit']}. Time of the",
        "load and its commit; peak memory of the process that loaded (rows included).",
        "",
        "| database | rows | method | seconds | rows/s | x econplan | peak MiB |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for entry in results["runs"]:
        base = next(
            r
            for r in results["runs"]
            if r["database"] == entry["database"]
            and r["rows"] == entry["rows"]
            and r["method"] == "econplan"
        )
        if "error" in entry:
            lines.append(
                f"| {entry['database']} | {entry['rows']:,} | {entry['method']} | "
                f"{entry['error']} | | | |"
            )
            continue
        ratio = entry["seconds"] / base["seconds"] if "seconds" in base else float("nan")
        lines.append(
            f"| {entry['database']} | {entry['rows']:,} | {entry['method']} | "
            f"{entry['seconds']:.2f} | {entry['rows_per_second']:,.0f} | {ratio:.2f} | "
            f"{entry['peak_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", default=os.environ.get("ECONPLAN_TEST_POSTGRES", POSTGRES))
    parser.add_argument("--databases", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    runs = []
    for database in args.databases:
        for n in args.rows:
            for method in METHODS:
                result = child(method, database, n, args.postgres)
                runs.append({"database": database, "rows": n, "method": method, **result})
                print(json.dumps(runs[-1]), flush=True)
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit,
        "machine": machine(),
        "load": os.getloadavg()[0],
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "store.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "store.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
