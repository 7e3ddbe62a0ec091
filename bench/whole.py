"""Benchmark: whole investment units by each strategy (branch and cut, the dive, rounding), side
by side in one run, on the built-in economy: as its files declare it (its plants, mines,
stations, factories and renovations whole) or with every option declared whole.

Each case is ``make_plan(economy, integer=STRATEGY)`` as ``econplan plan --integer STRATEGY``
runs it (the relaxation, the whole units, the stages again with them fixed, tables and
verification), in a child process of its own under a time limit (killed ``MARGIN`` seconds
past it: a dive's budgets are counts that do not bound its time), so that its peak memory
(VmHWM) is its own. ``exact`` is the baseline (what ``auto`` picks at this size). Reported per
case: seconds and their ratio to the baseline's, peak memory, whether the plan verified, and
per stage its value and its loss against the relaxation (the divisible plan), which is what
the whole units cost; for the dive, each stage's LP optimum beside its whole value; for a case
that did not finish, the last stage it began.

Usage: python bench/whole.py [--options declared|every] [--limit 400]
       [--strategies exact round dive] [--at COMMIT]
Writes bench/results/whole.{json,md} (declared) or bench/results/whole-every.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from children import measured, source, watch

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN = ROOT / "src" / "econplan" / "data" / "dprk2021"
STRATEGIES = ("exact", "round", "dive")
"""exact first: the baseline."""
MARGIN = 60.0
"""Seconds past the limit before a case is killed."""
OPTIONS = {
    "declared": "its options whole as its files declare them",
    "every": "every option whole",
}


def whole_economy(into: Path, every: bool = True) -> Path:
    """The built-in economy with every investment option declared whole (else as declared)."""
    folder = into / "whole"
    shutil.copytree(BUILT_IN, folder)
    if not every:
        return folder
    path = folder / "investments.csv"
    with path.open(newline="") as source_file:
        rows = list(csv.DictReader(source_file))
    for row in rows:
        row["integer"] = "true"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def child(strategy: str, folder: Path, limit: float, result: Path) -> None:
    from plan import peak_resident_bytes

    from econplan.plan import make_plan
    from econplan.validate import load_economy

    log = result.with_suffix(".log").open("w")

    def said(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    start = time.perf_counter()
    plan = make_plan(load_economy(folder), integer=strategy, time_limit=limit, progress=said)
    whole = plan.info["integer"]
    info = {
        "seconds": time.perf_counter() - start,
        "verified": plan.ok,
        "max_violation": plan.info["verification"]["max_violation"],
        "strategy": whole["strategy"],
        "rounding": whole["rounding"],
        "units": whole["units"],
        "objectives": plan.info["objectives"],
        "loss": whole["loss"],
        "cut_short": whole["cut_short"],
        "dived": whole.get("dived", []),
        "peak_bytes": peak_resident_bytes(),
    }
    result.write_text(json.dumps(info))


def measure(strategy: str, folder: Path, limit: float, work: Path, env: dict[str, str]) -> Any:
    result = work / f"{strategy}.json"
    command = [sys.executable, __file__, "--child", strategy, str(folder), str(limit), str(result)]
    ran = watch(command, env, limit, MARGIN, result)
    why = ran.failed(limit, MARGIN, result)
    if why is not None:
        return {
            "finished": False,
            "why": why,
            "seconds": ran.seconds,
            "reached": ran.reached,
            "peak_bytes": ran.usage.ru_maxrss * 1024,
            "progress": ran.progress,
        }
    return json.loads(result.read_text()) | {"finished": True}


def markdown(result: dict[str, Any]) -> str:
    cases = result["cases"]
    base = cases.get("exact", {})
    lines = [
        "# Whole units by strategy (`bench/whole.py`)",
        "",
        f"The built-in economy with {OPTIONS[result['options']]}; {measured(result['code'])}; "
        f"limit {result['limit']:g} s a case; HiGHS {result['machine']['highs']}.",
        "",
        "| strategy | seconds | vs exact | peak GiB | verified | kept | tier 1 loss | tier 2 "
        "loss | consumption loss | imports loss (USD) | labour loss (person-years) |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, case in cases.items():
        gib = f"{case['peak_bytes'] / 2**30:.2f}"
        if not case["finished"]:
            lines.append(
                f"| {name} | {case['why']} | - | {gib} | - | reached {case['reached']} "
                "| - | - | - | - | - |"
            )
            continue
        ratio = f"{case['seconds'] / base['seconds']:.2f}x" if base.get("finished") else "-"
        loss = case["loss"]
        kept = case["rounding"] or case["strategy"]
        lines.append(
            f"| {name} | {case['seconds']:.1f} | {ratio} | {gib} | "
            f"{'yes' if case['verified'] else 'no'} ({case['max_violation']:.0e}) | {kept} | "
            f"{loss.get('tier1', 0):.4g} | {loss.get('tier2', 0):.4g} | "
            f"{loss.get('consumption', 0):.3g} | {loss.get('imports', 0):,.0f} | "
            f"{loss.get('labour', 0):,.0f} |"
        )
    dived = cases.get("dive", {}).get("dived") or []
    if dived:
        lines += ["", "The dive, stage by stage (LP optimum, whole value, LPs, settled):", ""]
        lines += [
            f"- {d['stage']}: {d['bound']:.6g} -> {d['value']:.6g}, {d['lps']} LPs"
            + (" (settled at the stage before's units" if d["settled"] else "")
            + (", its dive stopped by the guard in seconds" if d.get("by") == "seconds" else "")
            + (")" if d["settled"] else "")
            for d in dived
        ]
    for name, case in cases.items():
        if not case["finished"]:
            said = [
                line
                for line in case["progress"]
                if "dive" in line or "whole units" in line or "found no plan" in line
            ]
            lines += ["", f"{name} did not finish; what it said of whole units, then its last"]
            lines += ["progress lines:", "", "```", *said, "...", *case["progress"][-8:], "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        strategy, folder, limit, path = sys.argv[2:6]
        child(strategy, Path(folder), float(limit), Path(path))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=400.0)
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--at", default="", help="measure src as of this commit")
    parser.add_argument("--options", choices=list(OPTIONS), default="declared")
    args = parser.parse_args()
    from methods import machine

    out = ROOT / "bench" / "results"
    result: dict[str, Any] = {
        "machine": machine(),
        "limit": args.limit,
        "options": args.options,
        "cases": {},
    }
    name = "whole" if args.options == "declared" else "whole-every"
    with tempfile.TemporaryDirectory() as work:
        env, result["code"] = source(args.at, Path(work))
        folder = whole_economy(Path(work), every=args.options == "every")
        for strategy in (s for s in STRATEGIES if s in args.strategies):
            case = measure(strategy, folder, args.limit, Path(work), env)
            result["cases"][strategy] = case
            print(strategy, case.get("seconds"), case.get("why", ""), flush=True)
            (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
            (out / f"{name}.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
