"""Benchmark: what the reference stage keeps in place, and what it costs.

In one run: the built-in economy's plan (the reference), then each scenario planned twice,
without and with the reference stage (``make_plan(..., reference=...)``), each compared with
the reference by ``compare_plans`` as ``econplan compare`` does. The measure is the number of
outputs (product, region, year) that differ by more than 1% outside the region the scenario
hits (``--outside``); beside it every output difference, the plans' verification, the stage's
distance before and after, and the seconds.

Usage: python bench/reference_stage.py [--scenario typhoon] [--outside south_hamgyong]
Writes bench/results/reference_stage.json and bench/results/reference_stage.md (cited by
docs/planning.md, "The reference stage").
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from econplan.compare import compare_plans
from econplan.plan import Plan, Reference, make_plan
from econplan.scenario import apply_scenario
from econplan.validate import load_economy

ROOT = Path(__file__).resolve().parent.parent
RELATIVE = 0.01


def differences(base: Plan, other: Plan, economy: Any, outside: str | None) -> dict[str, int]:
    """Output differences of ``other`` against ``base``: beyond the plans' tolerance, and
    beyond 1% outside the region ``outside``."""
    frame = compare_plans(base, other, economy).section("output")
    far = frame[frame["relative"].abs() > RELATIVE]
    if outside is not None:
        far = far[far["region"] != outside]
    return {"outputs_over_1pct": len(far), "outputs_differing": len(frame)}


def measured(plan: Plan, seconds: float) -> dict[str, Any]:
    found: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "max_violation": plan.info["verification"]["max_violation"],
        "valid": plan.info["verification"]["valid"],
    }
    if "reference" in plan.info:
        found["reference"] = plan.info["reference"]
        found["reference_seconds"] = round(plan.run["times"]["reference"], 3)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="typhoon")
    parser.add_argument("--outside", default="south_hamgyong", help="'' for every region")
    args = parser.parse_args()
    outside = args.outside or None
    began = time.perf_counter()
    base = make_plan(load_economy(None))
    base_seconds = time.perf_counter() - began
    economy = apply_scenario(args.scenario).economy
    reference = Reference.of(base, economy, "built-in plan")
    results: dict[str, Any] = {
        "scenario": args.scenario,
        "outside": outside,
        "base": measured(base, base_seconds),
    }
    for name, given in (("without", None), ("with", reference)):
        began = time.perf_counter()
        plan = make_plan(economy, reference=given)
        seconds = time.perf_counter() - began
        results[name] = {**measured(plan, seconds), **differences(base, plan, economy, outside)}
    out = ROOT / "bench" / "results"
    (out / "reference_stage.json").write_text(json.dumps(results, indent=2) + "\n")
    where = f"outside {outside}" if outside else "anywhere"
    lines = [
        f"# Reference stage: {args.scenario} against the built-in plan",
        "",
        f"| plan | outputs > 1% off the base {where} | outputs differing | seconds "
        "| largest violation |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("without", "with"):
        row = results[name]
        lines.append(
            f"| {name} the reference stage | {row['outputs_over_1pct']} | "
            f"{row['outputs_differing']} | {row['seconds']} | {row['max_violation']:.2g} |"
        )
    stage = results["with"].get("reference", {})
    if stage:
        lines += [
            "",
            f"Stage: {stage.get('matched')} activity columns matched, "
            f"{stage.get('fixed_columns')} columns fixed on the optimal face, distance "
            f"{stage.get('distance_before', 0):.6g} -> {stage.get('distance', 0):.6g}, "
            f"{results['with'].get('reference_seconds')} s.",
        ]
    (out / "reference_stage.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
