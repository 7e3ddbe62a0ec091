"""Benchmark: the whole plan with each method (HiGHS's simplex, IPM with crossover and PDLP;
the first-order backend, OR-Tools' PDLP then simplex) at each size, side by side in one run, as
evidence for choosing the method by size.

Each case is ``make_plan(economy, method=...)`` as ``econplan plan --solver METHOD`` runs it
(assemble, every stage, the waste stage, the tables and verification) on a generated economy
(3 regions, 5 years, 5 inputs per product, seed n), in a child process of its own, so that its
peak memory (VmHWM) is its own, under a time limit per case (``make_plan``'s too). The cases
run one at a time. Reported per case: total seconds and the seconds of each part of
``make_plan``, per stage seconds and iterations (simplex, IPM, crossover and PDLP iterations
summed, as plan.json counts them), whether the plan verified and verification's largest
violation, peak memory, and why a case failed; per size: the problem's rows, columns and
nonzeros, each method's seconds over simplex's (the method a user gets today) and how far its
stage objectives are from simplex's.

``--at COMMIT`` measures ``src`` as of a commit (``git archive``) instead of the working tree,
so that edits made while the benchmark runs do not change the code it measures. ``--budget``:
a case that could not finish (its limit and the kill margin) within the run's budget is
skipped and reported as such.

Usage: python bench/methods.py [--sizes 300 1000] [--limit 400] [--budget 2100] [--at HEAD]
    [--methods simplex ipm pdlp] [--name methods]
Writes bench/results/NAME.json and bench/results/NAME.md (``--markdown``: the md again from
the json).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from children import measured, source, watch

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("simplex", "ipm", "pdlp", "ortools-pdlp", "cupdlpx")
"""simplex first: the baseline the others are compared with."""
MARGIN = 120.0
"""Seconds past the limit before a case is killed (generating the economy is not limited), by
default (``--margin``: bench/gpu_check.sh, which has minutes, asks for less)."""


def machine() -> dict[str, Any]:
    """The Leontief benchmark's machine description with HiGHS's version, without importing
    econplan here (the children import the code measured)."""
    from importlib import metadata

    from leontief import machine as cpu_and_python

    return cpu_and_python() | {"highs": metadata.version("highspy")}


def child(method: str, n: int, limit: float, result: Path) -> None:
    from plan import peak_resident_bytes

    from econplan.generate import generate_economy
    from econplan.plan import make_plan

    economy = generate_economy(products=n, inputs=5, regions=3, years=5, seed=n)
    log = result.with_suffix(".log").open("w")

    def said(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    start = time.perf_counter()
    try:
        plan = make_plan(economy, method=method, time_limit=limit, progress=said)
    except Exception as error:
        failed = {
            "seconds": time.perf_counter() - start,
            "why": f"{type(error).__module__}.{type(error).__name__}: {error}",
            "peak_bytes": peak_resident_bytes(),
        }
        result.write_text(json.dumps(failed))
        return
    seconds = time.perf_counter() - start
    times = plan.run["times"]
    info = {
        "seconds": seconds,
        "status": plan.status,
        "problem": plan.info["problem"],
        "max_violation": plan.info["verification"]["max_violation"],
        "verified": plan.ok,
        "parts": {k: v for k, v in times.items() if k != "stages"},
        "waste": plan.info.get("waste", {}),
        "stages": [
            {
                "name": s["name"],
                "value": s["objective"],
                "seconds": times["stages"][s["name"]],
                "iterations": s["iterations"],
            }
            for s in plan.info["stages"]
        ],
        "peak_bytes": peak_resident_bytes(),
    }
    result.write_text(json.dumps(info))


def measure(
    method: str, n: int, limit: float, workdir: Path, env: dict[str, str], margin: float
) -> dict[str, Any]:
    """One case in a child process, killed (and reported as not finished) ``margin`` seconds
    past its limit; peak memory from the child's own VmHWM, or its rusage when it died."""
    result = workdir / f"{method}-{n}.json"
    command = [sys.executable, __file__, "--child", method, str(n), str(limit), str(result)]
    ran = watch(command, env, limit, margin, result)
    progress = ran.progress
    why = ran.failed(limit, margin, result)
    if why is not None:
        return {
            "finished": False,
            "why": why,
            "seconds": ran.seconds,
            "reached": ran.reached,
            "problem": ran.problem,
            "peak_bytes": ran.usage.ru_maxrss * 1024,
            "stages_done": ran.stages(),
            "progress": progress,
        }
    info: dict[str, Any] = json.loads(result.read_text())
    info["finished"] = "why" not in info
    info["progress"] = progress
    if not info["finished"]:
        info |= {"reached": ran.reached, "problem": ran.problem, "stages_done": ran.stages()}
    return info


def compare(run: dict[str, Any]) -> None:
    """Each finished method's seconds over simplex's and its stage objectives' largest
    relative difference from simplex's."""
    base = run["cases"].get("simplex", {})
    for case in run["cases"].values():
        if case.get("finished"):
            # make_plan's times leave out the Solver's set-up, the face and the waste stage's
            # LP when it moves nothing (its record then has no seconds): the rest of the total
            case["unrecorded"] = case["seconds"] - sum(case["parts"].values())
        if not case.get("finished") or not base.get("finished"):
            continue
        case["ratio"] = case["seconds"] / base["seconds"]
        values = {s["name"]: s["value"] for s in base["stages"]}
        case["objective_difference"] = max(
            (
                abs(s["value"] - values[s["name"]]) / max(1.0, abs(values[s["name"]]))
                for s in case["stages"]
                if s["name"] in values
            ),
            default=0.0,
        )


def ratio_text(case: dict[str, Any], base: dict[str, Any]) -> str:
    if case.get("ratio") is not None:
        return f"{case['ratio']:.2f}x"
    if not case or not base.get("finished"):
        return "-"
    if case.get("skipped"):
        return "skipped"
    return f"> {case['seconds'] / base['seconds']:.1f}x (failed)"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    code = measured(result["code"])
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, shared with another engineer running tests "
        "while this ran (timings are indicative, not clean); HiGHS "
        f"{m['highs']}; code: {code}. Generated economies, 3 "
        "regions, 5 years, 5 inputs per product (seed n); `make_plan(method=...)` whole "
        "(assemble, every stage, waste stage, tables, verification), one case at a time, each "
        f"in its own process, limit {result['limit']:.0f} s per case (`time_limit`; killed "
        f"{result.get('margin', MARGIN):.0f} s past it). Peak: the case's VmHWM.",
        "",
        "| n | rows | columns | nonzeros | "
        + " | ".join(f"{method} s" for method in METHODS)
        + " | "
        + " | ".join(f"{method} / simplex" for method in METHODS[1:])
        + " |",
        "|---" * (4 + 2 * len(METHODS) - 1) + "|",
    ]
    for run in result["runs"]:
        cases = run["cases"]
        base = cases.get("simplex", {})
        size = run.get("problem") or {}
        seconds = [
            "-"
            if not c
            else f"{c['seconds']:.1f}"
            if c.get("finished")
            else ("skipped" if c.get("skipped") else "x")
            for c in (cases.get(method, {}) for method in METHODS)
        ]
        ratios = [ratio_text(cases.get(method, {}), base) for method in METHODS[1:]]
        lines.append(
            f"| {run['n']:,} | {size.get('rows', 0):,} | {size.get('columns', 0):,} | "
            f"{size.get('nonzeros', 0):,} | " + " | ".join(seconds + ratios) + " |"
        )
    lines += [
        "",
        "x: did not finish (see below).",
        "",
        "| n | method | seconds | verified (largest violation) | peak GiB | objectives vs "
        "simplex | parts: seconds | stages: seconds (iterations) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for method in METHODS:
            f = run["cases"].get(method)
            if f is None:
                continue
            if not f.get("finished"):
                peak = f"{f['peak_bytes'] / 2**30:.2f}" if f.get("peak_bytes") else "-"
                reached = f.get("reached", "")
                where = f"; in stage {reached}" if reached and reached not in f["why"] else ""
                done = ", ".join(
                    f"{s['name']} {s['seconds']:.1f} ({s['iterations']})"
                    for s in f.get("stages_done", [])
                )
                lines.append(
                    f"| {run['n']:,} | {method} | {f['why']}{where} | - | {peak} | - | - | "
                    f"{done or '-'} (before it stopped) |"
                )
                continue
            parts = ", ".join(
                f"{k} {v:.1f}" for k, v in f["parts"].items() if k != "solve" and v >= 0.05
            )
            stages = ", ".join(
                f"{s['name']} {s['seconds']:.1f} ({s['iterations']})" for s in f["stages"]
            )
            difference = f.get("objective_difference")
            waste = f.get("waste", {})
            if waste and not waste.get("applied"):
                stages += f"; waste stage not applied: {waste.get('why', '?')}"
            lines.append(
                f"| {run['n']:,} | {method} | {f['seconds']:.1f} | {f['verified']} "
                f"({f['max_violation']:.1e}) | {f['peak_bytes'] / 2**30:.2f} | "
                f"{'-' if difference is None else f'{difference:.1e}'} | "
                f"solve {f['parts'].get('solve', 0.0):.1f}{', ' if parts else ''}{parts}, "
                f"unrecorded {f['unrecorded']:.1f} | "
                f"{stages} |"
            )
    lines += [
        "",
        "parts: `make_plan`'s own times (plan.run's times): solve is every stage; waste, tables, "
        "verify, plausibility come after it; unrecorded: the total less those: the Solver's "
        "set-up (scaling, passing the LP to HiGHS) and, in runs of code before db59ffc, the "
        "waste stage's LP, whose seconds `least_waste` left out when the plan did not move "
        "(waste then read 0; profiled at n = 300 with simplex: its HiGHS run took 9.1 s). "
        "Iterations: simplex, IPM, "
        "crossover and PDLP iterations summed (as plan.json counts them). Objectives vs "
        "simplex: the largest difference of a stage's objective from simplex's, relative to "
        "max(1, |simplex's|).",
    ]
    notes = result.get("notes") or []
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        method, n, limit, path = sys.argv[2:6]
        child(method, int(n), float(limit), Path(path))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--limit", type=float, default=400.0)
    parser.add_argument(
        "--margin", type=float, default=MARGIN, help="seconds past the limit before a kill"
    )
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--budget", type=float, default=2100.0, help="seconds for the run")
    parser.add_argument("--at", default="", help="measure src as of this commit")
    parser.add_argument(
        "--markdown", action="store_true", help="only rewrite methods.md from methods.json"
    )
    parser.add_argument(
        "--name", default="methods", help="results under bench/results/NAME.json and NAME.md"
    )
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    if args.markdown:
        kept = json.loads((out / f"{args.name}.json").read_text())
        for done in kept["runs"]:
            compare(done)
        (out / f"{args.name}.json").write_text(json.dumps(kept, indent=2) + "\n")
        (out / f"{args.name}.md").write_text(markdown(kept))
        return
    began = time.monotonic()
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    result: dict[str, Any] = {
        "machine": machine(),
        "limit": args.limit,
        "margin": args.margin,
        "budget": args.budget,
        "runs": runs,
        "notes": notes,
    }

    def write() -> None:
        """Written after every case: a run that stops keeps the cases done."""
        result["seconds"] = time.monotonic() - began
        (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / f"{args.name}.md").write_text(markdown(result))

    with tempfile.TemporaryDirectory() as work:
        env, result["code"] = source(args.at, Path(work))
        for n in args.sizes:
            run: dict[str, Any] = {"n": n, "cases": {}}
            runs.append(run)
            for method in (m for m in METHODS if m in args.methods):
                spent = time.monotonic() - began
                if spent + args.limit + args.margin > args.budget:
                    why = (
                        f"skipped: {spent:.0f} s spent, and the case could take "
                        f"{args.limit + args.margin:.0f} s more than the budget of "
                        f"{args.budget:.0f} s"
                    )
                    run["cases"][method] = {"finished": False, "skipped": True, "why": why}
                    notes.append(f"{method} at n = {n:,} was not run: {why}.")
                    print(n, method, why, flush=True)
                    continue
                case = measure(method, n, args.limit, Path(work), env, args.margin)
                run["cases"][method] = case
                if not run.get("problem"):
                    run["problem"] = case.get("problem")
                print(n, method, case.get("seconds"), case.get("why", ""), flush=True)
                compare(run)
                write()
    write()
    print(markdown(result))


if __name__ == "__main__":
    main()
