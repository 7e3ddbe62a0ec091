"""The long fuzzing run: mutated economies and input-output tables through econplan's commands.

Each case is reproducible from the seed and its number (tests/fuzzing/cases.py); it runs in a
child forked from this process, killed after --timeout seconds (a hang). A case fails on a
traceback, an exit code outside 0/2/3/4 (per command: tests/fuzzing/runner.py), a bad-input
message that is not one line per problem, or a hang.

Usage:
  python bench/fuzz.py [--cases 1000] [--start 0] [--seed 0] [--workers 1] [--timeout 120]
                       [--plan-share 0.03] [--plan-time-limit 30] [--keep DIR] [--no-docs]
  python bench/fuzz.py --seed 0 --case 54 [--keep DIR]     # one case, its report, its input
  python bench/fuzz.py --combine DIR|JSON [...]            # one report of runs in parts

A long run can be made in parts (--start, --cases, each with its own --out) and the parts'
fuzz.json combined into one report, as if one run had made them.

Writes bench/results/fuzz.json (every case), bench/results/fuzz.md and the results in
docs/robustness.md (between its fuzz markers). Exit status 1 when a case failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing.cases import write_case  # noqa: E402
from fuzzing.runner import Outcome, Settings, outcome_dict, run_cases  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "robustness.md"
BEGIN, END = "<!-- fuzz:start -->", "<!-- fuzz:end -->"


def keep(outcome: Outcome, folder: Path) -> Path:
    """Write the case's input and its report to ``folder/seed-S-case-N``."""
    target = folder / f"seed-{outcome.seed}-case-{outcome.number}"
    case = write_case(outcome.seed, outcome.number, target)
    where = case.path.relative_to(target) if case.path else ""
    (target / "report.txt").write_text(
        outcome.report() + f"\n\nRun again: econplan validate {target / str(where)}\n",
        encoding="utf-8",
    )
    return target


def compact(outcome: Outcome) -> dict[str, Any]:
    """A case in a line; failing cases whole."""
    if outcome.failures or outcome.harness_error:
        return outcome_dict(outcome)
    return {
        "number": outcome.number,
        "base": outcome.base,
        "kinds": outcome.kinds,
        "exits": [f"{c['command'].split()[0]} {c['exit']}" for c in outcome.commands],
        "seconds": outcome.seconds,
    }


def summarise(outcomes: list[Outcome], run: dict[str, Any]) -> dict[str, Any]:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    bases: dict[str, Counter[str]] = defaultdict(Counter)
    exits: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, dict[str, Any]] = {}
    warnings: Counter[str] = Counter()
    for outcome in outcomes:
        valid = bool(outcome.commands) and outcome.commands[0]["exit"] == 0
        for counter in [kinds[k] for k in set(outcome.kinds)] + [bases[outcome.base]]:
            counter["cases"] += 1
            counter["valid"] += valid
            counter["failing"] += bool(outcome.failures)
        for command in outcome.commands:
            code = "traceback" if "exception" in command else str(command["exit"])
            exits[command["command"].split()[0]][code] += 1
        warnings.update(outcome.warnings)
        for failure in outcome.failures:
            group = groups.setdefault(
                failure.group,
                {
                    "kind": failure.kind,
                    "cases": [],
                    "mutation_kinds": Counter(),
                    "example": {
                        "seed": outcome.seed,
                        "case": outcome.number,
                        "mutations": outcome.mutations,
                        "command": failure.command,
                        "exit": failure.exit,
                        "detail": failure.detail[:500],
                        "tail": failure.tail,
                    },
                },
            )
            if outcome.number not in group["cases"]:
                group["cases"].append(outcome.number)
                group["mutation_kinds"].update(outcome.kinds)
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]["cases"]), item[0]))
    return {
        "run": run,
        "cases": len(outcomes),
        "failing_cases": sum(bool(o.failures) for o in outcomes),
        "harness_errors": [o.number for o in outcomes if o.harness_error],
        "by_base": {k: dict(v) for k, v in sorted(bases.items())},
        "by_mutation": {k: dict(v) for k, v in sorted(kinds.items())},
        "exit_codes": {k: dict(sorted(v.items())) for k, v in sorted(exits.items())},
        "failures": [
            {"group": name, **group, "mutation_kinds": dict(group["mutation_kinds"])}
            for name, group in ranked
        ],
        "warnings": dict(warnings.most_common(30)),
        "slowest": [
            {"case": o.number, "seconds": o.seconds, "kinds": o.kinds}
            for o in sorted(outcomes, key=lambda o: -o.seconds)[:10]
        ],
    }


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary of consecutive runs' summaries (same seed, cases one after the other)."""
    parts = sorted(parts, key=lambda part: part["run"]["start"])
    for before, after in itertools.pairwise(parts):
        if after["run"]["start"] != before["run"]["start"] + before["cases"]:
            raise SystemExit(
                f"runs do not follow each other: cases from {before['run']['start']} "
                f"({before['cases']}) then from {after['run']['start']}"
            )
    if len({part["run"]["seed"] for part in parts}) != 1:
        raise SystemExit("runs of different seeds cannot be combined")

    def added(key: str) -> dict[str, dict[str, int]]:
        total: dict[str, Counter[str]] = defaultdict(Counter)
        for part in parts:
            for name, counts in part[key].items():
                total[name].update(counts)
        return {name: dict(sorted(counts.items())) for name, counts in sorted(total.items())}

    groups: dict[str, dict[str, Any]] = {}
    for part in parts:
        for failure in part["failures"]:
            group = groups.setdefault(
                failure["group"], {**failure, "cases": [], "mutation_kinds": Counter()}
            )
            group["cases"] += failure["cases"]
            group["mutation_kinds"].update(failure["mutation_kinds"])
    seconds = sum(part["run"]["seconds"] for part in parts)
    cases = sum(part["cases"] for part in parts)
    commits = sorted({part["run"]["commit"] for part in parts})
    run = {
        **parts[0]["run"],
        "commit": ", ".join(commits),
        "seconds": round(seconds, 1),
        "cases_per_second": round(cases / seconds, 3) if seconds else 0.0,
        "parts": len(parts),
    }
    ranked = sorted(groups.values(), key=lambda group: (-len(group["cases"]), group["group"]))
    return {
        "run": run,
        "cases": cases,
        "failing_cases": sum(part["failing_cases"] for part in parts),
        "harness_errors": [n for part in parts for n in part["harness_errors"]],
        "by_base": added("by_base"),
        "by_mutation": added("by_mutation"),
        "exit_codes": added("exit_codes"),
        "failures": [
            {**group, "mutation_kinds": dict(group["mutation_kinds"])} for group in ranked
        ],
        "warnings": dict(
            sum((Counter(part["warnings"]) for part in parts), Counter()).most_common(30)
        ),
        "slowest": sorted(
            (slow for part in parts for slow in part["slowest"]), key=lambda s: -s["seconds"]
        )[:10],
    }


def markdown(summary: dict[str, Any]) -> str:
    run = summary["run"]
    lines = [
        f"Run of {run['date']} on commit `{run['commit']}`: seed {run['seed']}, cases "
        f"{run['start']} to {run['start'] + summary['cases'] - 1} ({summary['cases']} cases), "
        f"{run['workers']} worker(s), time limit {run['timeout']:g} s a case, plan on every valid "
        f"tiny economy and table and on {run['plan_share']:.0%} of valid built-in ones "
        f"(--time-limit {run['plan_time_limit']:g}); {run['seconds']:.0f} s, "
        f"{run['cases_per_second']:.2f} cases/s on {run['machine']}.",
        "",
        f"**{summary['failing_cases']} of {summary['cases']} cases failed**, in "
        f"{len(summary['failures'])} group(s)"
        + (
            f"; harness errors in cases {summary['harness_errors']}"
            if summary["harness_errors"]
            else ""
        )
        + ".",
        "",
        "| failure (exception and where, or kind) | cases | mutation kinds | reproduce |",
        "|---|---:|---|---|",
    ]
    for group in summary["failures"]:
        example = group["example"]
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(group["mutation_kinds"].items()))
        name = group["group"].replace("|", "\\|")
        lines.append(
            f"| {name[:160]} | {len(group['cases'])} | {kinds} | "
            f"`python bench/fuzz.py --seed {example['seed']} --case {example['case']}` |"
        )
    lines += ["", "| mutation kind | cases | valid | failing |", "|---|---:|---:|---:|"]
    for kind, counts in summary["by_mutation"].items():
        lines.append(
            f"| {kind} | {counts['cases']} | {counts.get('valid', 0)} | "
            f"{counts.get('failing', 0)} |"
        )
    lines += ["", "| base | cases | valid | failing |", "|---|---:|---:|---:|"]
    for base, counts in summary["by_base"].items():
        lines.append(
            f"| {base} | {counts['cases']} | {counts.get('valid', 0)} | "
            f"{counts.get('failing', 0)} |"
        )
    lines += ["", "| command | exit codes (count) |", "|---|---|"]
    for command, codes in summary["exit_codes"].items():
        lines.append(f"| {command} | {', '.join(f'{c}: {n}' for c, n in codes.items())} |")
    return "\n".join(lines) + "\n"


def update_doc(text: str) -> None:
    if not DOC.exists():
        return
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        return
    head, rest = doc.split(BEGIN, 1)
    DOC.write_text(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1], encoding="utf-8")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0, help="Number of the first case.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", type=int, help="Run this one case and print its report.")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="Seconds a case may take.")
    parser.add_argument("--plan-share", type=float, default=0.03)
    parser.add_argument("--plan-time-limit", type=float, default=30.0)
    parser.add_argument("--keep", type=Path, help="Write failing cases' input here.")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Folder of fuzz.json and .md.")
    parser.add_argument("--no-docs", action="store_true", help="Leave docs/robustness.md.")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        help="Runs in parts (their --out folders or fuzz.json files): one report of them.",
    )
    args = parser.parse_args()
    if args.combine:
        files = [d if d.is_file() else d / "fuzz.json" for d in args.combine]
        parts = [json.loads(f.read_text(encoding="utf-8")) for f in files]
        summary = combine(parts)
        return report(summary, None, args.out, args.no_docs)
    settings = Settings(
        timeout=args.timeout, plan_time_limit=args.plan_time_limit, plan_share=args.plan_share
    )
    if args.case is not None:
        (outcome,) = run_cases(args.seed, [args.case], settings)
        print(outcome.report())
        for command in outcome.commands:
            print(f"  econplan {command['command']} -> exit {command['exit']}")
        if args.keep:
            print(f"input written to {keep(outcome, args.keep)}")
        return 1 if outcome.failures else 0
    numbers = range(args.start, args.start + args.cases)
    start = time.perf_counter()

    def done(outcome: Outcome) -> None:
        if outcome.failures or outcome.harness_error:
            print(outcome.report(), flush=True)
            if args.keep:
                try:
                    keep(outcome, args.keep)
                except Exception as error:  # a harness error: reported, not fatal
                    print(f"  could not keep the case: {error!r}", flush=True)
        elif outcome.number % 50 == 0:
            elapsed = time.perf_counter() - start
            print(f"case {outcome.number}: {elapsed:.0f} s", file=sys.stderr, flush=True)

    outcomes = run_cases(args.seed, numbers, settings, workers=args.workers, done=done)
    seconds = time.perf_counter() - start
    run = {
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit(),
        "seed": args.seed,
        "start": args.start,
        "workers": args.workers,
        "timeout": args.timeout,
        "plan_share": args.plan_share,
        "plan_time_limit": args.plan_time_limit,
        "seconds": round(seconds, 1),
        "cases_per_second": round(len(outcomes) / seconds, 3),
        "machine": machine(),
    }
    summary = summarise(outcomes, run)
    return report(summary, [compact(o) for o in outcomes], args.out, args.no_docs)


def report(
    summary: dict[str, Any], outcomes: list[dict[str, Any]] | None, out: Path, no_docs: bool
) -> int:
    """Write fuzz.json (with every case, when given), fuzz.md and the doc's results."""
    out.mkdir(parents=True, exist_ok=True)
    cases = {"outcomes": outcomes} if outcomes is not None else {}
    (out / "fuzz.json").write_text(
        json.dumps({**summary, **cases}, indent=1, default=str), encoding="utf-8"
    )
    text = markdown(summary)
    (out / "fuzz.md").write_text(text, encoding="utf-8")
    if not no_docs:
        update_doc(text)
    print(text)
    return 1 if summary["failing_cases"] or summary["harness_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
