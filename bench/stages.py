"""Benchmark: the whole stage sequence with HiGHS's stage costs of unit size, against the stage
cost as stated (the baseline: the code before ``Solver._objective`` divided the cost by the
stage column's scale), side by side in one run.

Each case is ``make_plan`` as ``econplan plan`` runs it (assemble, every stage, the waste
stage, the tables and verification) on a generated economy (3 regions, 5 years, 5 inputs per
product), in a child process of its own, so that its peak memory (VmHWM) is its own, under a
time limit per case (HiGHS's too). Reported per stage: seconds and simplex iterations; per
case: total seconds, verification's largest violation, peak memory; the ratio of the
baseline's seconds to the new path's.

Usage: python bench/stages.py [--sizes 300 1000] [--limit 300]
Writes bench/results/stages.json and bench/results/stages.md (cited by docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = ("stated", "unit")
"""stated: a cost of +-1 in the problem's units (HiGHS sees the column's scale); unit: the
cost divided by the column's scale where it is above 1 (what econplan does)."""


def as_stated() -> None:
    """Put the baseline's stage objective in place of econplan's."""
    import numpy as np

    from econplan.plan.problem import Stage
    from econplan.plan.solve import Solver

    def objective(self: Solver, stage: Stage | None) -> None:
        n = self.problem.matrix.shape[1]
        cost = np.zeros(n)
        self.objective_scale = 1.0
        if stage is not None:
            cost[stage.column] = 1.0 if stage.sense == "min" else -1.0
        self.backend.set_costs(cost * self.col_scale)

    Solver._objective = objective  # type: ignore[method-assign]


def child(case: str, n: int, limit: float, result: Path) -> None:
    from plan import peak_resident_bytes

    from econplan.generate import generate_economy
    from econplan.plan import make_plan

    if case == "stated":
        as_stated()
    economy = generate_economy(products=n, inputs=5, regions=3, years=5, seed=n)
    said: list[str] = []
    start = time.perf_counter()
    plan = make_plan(economy, time_limit=limit, progress=said.append)
    seconds = time.perf_counter() - start
    stage_seconds = plan.run["times"]["stages"]
    info = {
        "seconds": seconds,
        "status": plan.status,
        "max_violation": plan.info["verification"]["max_violation"],
        "verified": plan.ok,
        "stages": [
            {
                "name": s["name"],
                "value": s["objective"],
                "seconds": stage_seconds[s["name"]],
                "iterations": s["iterations"],
            }
            for s in plan.info["stages"]
        ],
        "peak_bytes": peak_resident_bytes(),
    }
    result.write_text(json.dumps(info))


def measure(case: str, n: int, limit: float, workdir: Path) -> dict[str, Any]:
    result = workdir / f"{case}-{n}.json"
    command = [sys.executable, __file__, "--child", case, str(n), str(limit), str(result)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit + 120)
    except subprocess.TimeoutExpired:
        return {"finished": False, "why": f"> {limit:.0f} s (killed)"}
    if done.returncode != 0 or not result.exists():
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return {"finished": False, "why": last[:200]}
    return {"finished": True, **json.loads(result.read_text())}


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; HiGHS {m['highs']}. Generated economies, "
        "3 regions, 5 years, 5 inputs per product; `make_plan` whole (every stage, waste "
        f"stage, tables, verification), limit {result['limit']:.0f} s per case.",
        "",
        "| n | case | seconds | verified (largest violation) | peak GiB | stages: seconds "
        "(iterations) |",
        "|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for case in CASES:
            f = run[case]
            if not f["finished"]:
                lines.append(f"| {run['n']:,} | {case} | {f['why']} | - | - | - |")
                continue
            stages = ", ".join(
                f"{s['name']} {s['seconds']:.1f} ({s['iterations']})" for s in f["stages"]
            )
            lines.append(
                f"| {run['n']:,} | {case} | {f['seconds']:.1f} | {f['verified']} "
                f"({f['max_violation']:.1e}) | {f['peak_bytes'] / 2**30:.2f} | {stages} |"
            )
        ratio = run.get("ratio")
        lines.append(
            f"| {run['n']:,} | stated / unit | "
            f"{f'{ratio:.1f}x' if ratio else 'stated did not finish'} | | | |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        case, n, limit, result = sys.argv[2:6]
        child(case, int(n), float(limit), Path(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--limit", type=float, default=300.0)
    args = parser.parse_args()
    from plan import machine

    runs = []
    with tempfile.TemporaryDirectory() as work:
        for n in args.sizes:
            run: dict[str, Any] = {"n": n}
            for case in CASES:
                run[case] = measure(case, n, args.limit, Path(work))
                print(n, case, run[case].get("seconds", run[case].get("why")), flush=True)
            if run["stated"]["finished"] and run["unit"]["finished"]:
                run["ratio"] = run["stated"]["seconds"] / run["unit"]["seconds"]
            runs.append(run)
    result = {"machine": machine(), "limit": args.limit, "runs": runs}
    out = ROOT / "bench" / "results"
    (out / "stages.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "stages.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
