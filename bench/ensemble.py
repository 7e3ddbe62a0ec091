"""Benchmark: ensemble throughput on the built-in economy, against the loop a user would write
without ``econplan ensemble``.

The same members (0..N-1 of a shipped ensemble, its seed) in one run, each case planning all
of them:

- naive: what a user does today, one member after another: write the member's economy as a
  folder (the copy edited by script) and run ``econplan plan FOLDER --out DIR`` on it;
- local-1, local-2: ``run_ensemble`` on a LocalCluster of one and of two workers, each member's
  first stage started from the base plan's basis (the default);
- local-2-cold: two workers, every member from scratch (``--cold``);
- scheduler-2: a scheduler and a worker process with two workers started with Dask's own
  commands (``dask scheduler``, ``dask worker``) from this environment, as a cluster would be.

Reported per case: wall seconds, members per minute and the ratio to the naive loop; the mean
seconds and simplex iterations of a member (warm against cold shows what the base plan's basis
saves); the peak resident memory of a worker process (the naive loop: of its largest
``econplan plan`` child). Every case must give the same target probabilities as local-1 when
warm (cold members may sit at another vertex of a tie; their targets are checked too).

Usage: python bench/ensemble.py [--members 8] [--ensemble harvest_typhoon]
Writes bench/results/ensemble.json, bench/results/ensemble.md and the table in
docs/scenarios.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DASK = (str(BIN / "dask"),)
BEGIN, END = "<!-- ensemble-bench:start -->", "<!-- ensemble-bench:end -->"


def naive(ensemble: Any, members: int, work: Path) -> dict[str, Any]:
    from econplan.ensemble.draw import draw_member
    from econplan.io.write import write_economy
    from econplan.scenario import apply_changes, apply_scenario

    base = apply_scenario(ensemble.scenario).economy
    began = time.perf_counter()
    seconds, met = [], {}
    for member in range(members):
        start = time.perf_counter()
        changes, _ = draw_member(ensemble, base, member)
        folder = write_economy(apply_changes(base, changes, ensemble.path), work / f"e{member}")
        out = work / f"plan{member}"
        done = subprocess.run(
            [str(BIN / "econplan"), "plan", str(folder), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds.append(time.perf_counter() - start)
        if done.returncode == 0:
            targets = pd.read_parquet(out / "targets.parquet")
            met[member] = dict(zip(targets["id"], targets["met"], strict=True))
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "wall": wall,
        "member_seconds": sum(seconds) / members,
        "iterations": None,
        "peak_mb": peak,
        "planned": len(met),
        "met": met,
    }


def ensemble_case(
    ensemble: Any, members: int, work: Path, workers: int, warm: bool, scheduler: str | None
) -> dict[str, Any]:
    from econplan.ensemble import run_ensemble

    out = work / "out"
    began = time.perf_counter()
    result = run_ensemble(
        ensemble, out, scheduler=scheduler, workers=None if scheduler else workers, warm=warm
    )
    wall = time.perf_counter() - began
    files = sorted((out / "members").glob("member-*.json"))
    rows = [json.loads(p.read_text()) for p in files]
    met = {r["member"]: {t["id"]: t["met"] for t in r["targets"]} for r in rows if r["targets"]}
    return {
        "wall": wall,
        "member_seconds": sum(r["seconds"] for r in rows) / members,
        "iterations": sum(r["iterations"] for r in rows) / members,
        "peak_mb": max(result.info["peak_memory_mb"].values(), default=0.0),
        "planned": result.info["statuses"]["optimal"],
        "met": met,
    }


def scheduler_case(ensemble: Any, members: int, work: Path) -> dict[str, Any]:
    file = work / "scheduler.json"
    scheduler = subprocess.Popen(
        [*DASK, "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker = None
    try:
        while not (file.exists() and file.read_text().strip()):
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        worker = subprocess.Popen(
            [*DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        from distributed import Client

        with Client(address) as client:  # count the workers' start-up out: a cluster is up
            client.wait_for_workers(2, timeout=120)
        return ensemble_case(ensemble, members, work, 2, True, address)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)


CASES = ("naive", "local-1", "local-2", "local-2-cold", "scheduler-2")


def run_case(case: str, ensemble: Any, members: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"econplan-bench-{case}-") as folder:
        work = Path(folder)
        if case == "naive":
            return naive(ensemble, members, work)
        if case == "scheduler-2":
            return scheduler_case(ensemble, members, work)
        workers = int(case.split("-")[1])
        return ensemble_case(ensemble, members, work, workers, not case.endswith("cold"), None)


def table(results: dict[str, dict[str, Any]], members: int) -> str:
    base = results["naive"]["wall"]
    lines = [
        "| case | wall s | members/min | speed-up vs naive | s per member | iterations per "
        "member | peak MiB per worker | planned | targets as local-1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    reference = results["local-1"]["met"]
    for case, r in results.items():
        same = "yes" if r["met"] == reference else "no"
        iterations = f"{r['iterations']:,.0f}" if r["iterations"] is not None else "n/a"
        lines.append(
            f"| {case} | {r['wall']:.1f} | {members / r['wall'] * 60:.1f} | "
            f"{base / r['wall']:.2f} | {r['member_seconds']:.1f} | {iterations} | "
            f"{r['peak_mb']:.0f} | {r['planned']}/{members} | {same} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--ensemble", default="harvest_typhoon")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from econplan.ensemble import read_ensemble

    ensemble = read_ensemble(args.ensemble, members=args.members)
    results = {}
    for case in args.cases:
        print(f"{case} ...", flush=True)
        results[case] = run_case(case, ensemble, args.members)
        print(f"  {results[case]['wall']:.1f} s", flush=True)
    text = table(results, args.members)
    header = (
        f"{args.members} members of `{args.ensemble}` (seed {ensemble.seed}) on the built-in "
        f"economy, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}:"
    )
    print(header)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    saved = {
        case: {k: v for k, v in r.items() if k != "met"}
        | {"same_targets": r["met"] == results.get("local-1", r)["met"]}
        for case, r in results.items()
    }
    (out / "ensemble.json").write_text(json.dumps(saved, indent=2) + "\n")
    (out / "ensemble.md").write_text(header + "\n\n" + text + "\n")
    docs = ROOT / "docs" / "scenarios.md"
    page = docs.read_text()
    if BEGIN in page and END in page and "naive" in results and "local-1" in results:
        head, rest = page.split(BEGIN, 1)
        docs.write_text(
            head + BEGIN + "\n" + header + "\n\n" + text + "\n" + END + rest.split(END, 1)[1]
        )
    shutil.rmtree(ROOT / "dask-worker-space", ignore_errors=True)


if __name__ == "__main__":
    main()
