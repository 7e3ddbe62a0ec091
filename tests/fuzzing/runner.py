"""Running cases: each in a child forked from a warmed-up parent (imports paid once), killed
when it passes the time limit; the child runs the real ``econplan`` entry point and the
parent checks what came back.

What fails a case:

- ``traceback``: an exception other than SystemExit out of ``econplan.cli.main``;
- ``exit``: an exit code outside those of the command (validate, balance, analyse: 0 or 2;
  plan: 0, 2, 3 or 4);
- ``message``: exit 2 without a readable message on stderr: empty, a traceback, not one line
  per problem, or control characters (``validate --json``: stdout is not the JSON report);
- ``inconsistent``: validate passed but a later command says the input is bad (exit 2);
- ``hang``: the case ran past the time limit (the command running then is named);
- ``crash``: the child died without a result (a signal, the memory limit).
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fuzzing.cases import Case, case_rng, write_case

ALLOWED = {"validate": {0, 2}, "balance": {0, 2}, "analyse": {0, 2}, "plan": {0, 2, 3, 4}}
HEADER = re.compile(r"^(?P<source>.*): (?P<count>\d+) problem\(s\)$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
TAIL = 12


@dataclass
class Settings:
    timeout: float = 120.0
    """Seconds a case may take in all; past it, it is a hang."""
    plan_time_limit: float = 30.0
    """--time-limit given to plan."""
    plan_share: float = 0.05
    """Share of valid built-in cases that are planned (the tiny economy and tables always)."""
    json_share: float = 0.25
    """Share of cases validated with --json."""
    memory_gib: float = 8.0
    """Address-space limit of a case's child."""
    follow_ups: int = 3
    """How many of balance, analyse and plan a valid case goes on to (drawn per case)."""


@dataclass
class Failure:
    kind: str
    command: str
    exit: Any
    detail: str
    where: str = ""
    tail: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        """What failures of one cause share: the exception and where, or the kind."""
        if self.kind == "traceback":
            return f"{self.detail.split(':', 1)[0]} at {self.where}"
        if self.kind == "hang":
            return f"hang in {self.command.split()[0]}"
        return f"{self.kind}: {self.detail}"


@dataclass
class Outcome:
    seed: int
    number: int
    base: str = ""
    kinds: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    harness_error: str = ""

    def report(self) -> str:
        """Seed, mutations, and each failure with its command, exit code and traceback."""
        lines = [
            f"case seed={self.seed} number={self.number} base={self.base} "
            f"({self.seconds:.1f} s); reproduce: python bench/fuzz.py --seed {self.seed} "
            f"--case {self.number} --keep DIR",
            *(f"  mutation {m}" for m in self.mutations),
        ]
        if self.harness_error:
            lines.append(f"  HARNESS ERROR {self.harness_error}")
        for failure in self.failures:
            lines.append(
                f"  {failure.kind.upper()}: econplan {failure.command} -> exit {failure.exit}: "
                f"{failure.detail[:300]}" + (f" at {failure.where}" if failure.where else "")
            )
            lines.extend(f"    | {line}" for line in failure.tail)
        return "\n".join(lines)


# --- in the child ----------------------------------------------------------------------------


def _where(error: BaseException) -> str:
    """The innermost frame in econplan's code (else the innermost frame)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/econplan/" in f.filename and "/fuzzing/" not in f.filename]
    frame = (ours or frames)[-1]
    path = frame.filename.split("/src/", 1)[-1]
    return f"{path}:{frame.lineno} in {frame.name}"


def _invoke(args: list[str], root: Path, index: int) -> dict[str, Any]:
    """Run ``econplan ARGS`` as the console script would, stdout and stderr to files."""
    from econplan.cli import main

    (root / "running").write_text(" ".join(args), encoding="utf-8")
    out, err = root / f"{index}.stdout", root / f"{index}.stderr"
    sys.stdout.flush()
    sys.stderr.flush()
    result: dict[str, Any] = {"args": args, "exit": None, "exception": None}
    start = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
        try:
            main.main(args=args, prog_name="econplan", standalone_mode=True)
            result["exit"] = 0
        except SystemExit as exit:
            result["exit"] = 0 if exit.code is None else exit.code
        except Exception as error:
            result["exception"] = f"{type(error).__name__}: {error}"[:2000]
            result["where"] = _where(error)
            result["traceback"] = traceback.format_exc().splitlines()[-TAIL:]
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    result["seconds"] = round(time.perf_counter() - start, 3)
    keep = 5_000_000 if "--json" in args else 20_000  # JSON is checked whole
    result["stdout"] = out.read_text(encoding="utf-8", errors="replace")[-keep:]
    result["stderr"] = err.read_text(encoding="utf-8", errors="replace")[-20_000:]
    return result


def _follow_ups(case: Case, root: Path, settings: Settings, as_json: bool) -> list[list[str]]:
    rng = case_rng(case.seed, case.number, "plan")
    path = str(case.path)
    commands = [["balance", path], ["analyse", path]]
    if case.base != "builtin" or rng.random() < settings.plan_share:
        out = str(root / "plan")
        limit = f"{settings.plan_time_limit:g}"
        commands.append(["plan", path, "--out", out, "--time-limit", limit])
    if settings.follow_ups < len(commands):
        chosen = sorted(rng.sample(range(len(commands)), settings.follow_ups))
        commands = [commands[i] for i in chosen]
    if as_json:
        commands = [[*c, "--json"] for c in commands]
    return commands


def _child(seed: int, number: int, root: Path, settings: Settings) -> None:
    """Write the case, run it, and leave ``result.json`` in ``root``."""
    limit = int(settings.memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(root)
    # the console script's streams on file descriptors 1 and 2, whatever ran this (pytest
    # puts its own objects in sys.stdout and sys.stderr)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = os.fdopen(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    warnings.resetwarnings()  # as the console script has them, not as pytest does
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
        warnings.simplefilter("ignore", category)
    result: dict[str, Any] = {"commands": [], "warnings": []}
    try:
        case = write_case(seed, number, root / "input")
    except Exception:
        result["harness_error"] = traceback.format_exc()
        (root / "result.json").write_text(json.dumps(result), encoding="utf-8")
        return
    result["case"] = {"base": case.base, "kinds": case.kinds, "mutations": case.mutations}
    with warnings.catch_warnings(record=True) as caught:
        as_json = case_rng(seed, number, "json").random() < settings.json_share
        first = _invoke(["validate", str(case.path)] + (["--json"] if as_json else []), root, 0)
        result["commands"].append(first)
        if first["exit"] == 0 and first["exception"] is None:
            for index, args in enumerate(_follow_ups(case, root, settings, as_json), 1):
                result["commands"].append(_invoke(args, root, index))
                if args[0] == "plan" and result["commands"][-1]["exit"] == 0:
                    plan = ["balance", str(case.path), "--plan", args[3]]
                    result["commands"].append(_invoke(plan, root, index + 1))
        result["warnings"] = sorted(
            {
                f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
                for w in caught
            }
        )
    (root / "result.json").write_text(json.dumps(result, default=str), encoding="utf-8")


# --- in the parent ---------------------------------------------------------------------------


def _shown(args: list[str], root: Path) -> str:
    return " ".join(a.replace(str(root), "CASE") for a in args)


def _message_problem(command: dict[str, Any]) -> str:
    """What is wrong with an exit-2 message, or ""."""
    stderr, stdout = command["stderr"], command["stdout"]
    if "--json" in command["args"] and command["args"][0] == "validate":
        try:
            report = json.loads(stdout)
        except ValueError:
            return "validate --json: stdout is not JSON"
        if report.get("ok") is not False or not report.get("problems"):
            return "validate --json: no problems in the report"
        return ""
    if not stderr.strip():
        return "nothing on stderr"
    if "Traceback (most recent call last)" in stderr:
        return "a traceback on stderr"
    lines = stderr.splitlines()
    header = HEADER.match(lines[0])
    if header and len(lines) != int(header["count"]) + 1:
        return f"{header['count']} problem(s) on {len(lines) - 1} lines"
    if bad := CONTROL.search(stderr):
        return f"control character U+{ord(bad.group()):04X} in the message"
    return ""


def check(commands: list[dict[str, Any]], root: Path) -> list[Failure]:
    failures = []
    validated = bool(commands) and commands[0]["exit"] == 0
    for command in commands:
        name, shown, code = command["args"][0], _shown(command["args"], root), command["exit"]
        if command["exception"] is not None:
            failures.append(
                Failure(
                    "traceback",
                    shown,
                    1,  # what the console script exits with
                    command["exception"].replace(str(root), "CASE"),
                    command["where"],
                    command["traceback"],
                )
            )
            continue
        if code not in ALLOWED[name]:
            tail = command["stderr"].splitlines()[-TAIL:]
            failures.append(Failure("exit", shown, code, f"exit {code} from {name}", "", tail))
        elif code == 2 and (problem := _message_problem(command)):
            tail = command["stderr"].splitlines()[:TAIL]
            failures.append(Failure("message", shown, code, problem, "", tail))
        # validate checks what can be checked without solving; coefficients spanning more
        # orders of magnitude than double precision resolves are found by the solve, which
        # refuses them naming the largest (docs/robustness.md): not an inconsistency
        numeric = "no accurate solution" in command["stderr"]
        if code == 2 and validated and command is not commands[0] and not numeric:
            tail = command["stderr"].splitlines()[:TAIL]
            failures.append(
                Failure("inconsistent", shown, code, f"validate passed, {name} exit 2", "", tail)
            )
    return failures


def warm_up() -> None:
    """Import what the cases use, once, before forking."""
    import openpyxl  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import econplan.analysis.balance
    import econplan.cli
    import econplan.plan  # noqa: F401
    from econplan.validate import validate

    validate(Path(__file__).resolve().parents[1] / "data" / "tiny")


def _collect(outcome: Outcome, root: Path, hung: bool, exitcode: int | None) -> Outcome:
    result_file = root / "result.json"
    if hung:
        running = root / "running"
        command = running.read_text(encoding="utf-8") if running.exists() else "(writing case)"
        outcome.failures.append(Failure("hang", command.replace(str(root), "CASE"), None, ""))
    if result_file.exists():
        result = json.loads(result_file.read_text(encoding="utf-8"))
        outcome.harness_error = result.get("harness_error", "")
        outcome.warnings = result["warnings"]
        outcome.commands = [
            {
                "command": _shown(c["args"], root),
                "exit": c["exit"],
                "seconds": c["seconds"],
                **({"exception": c["exception"]} if c["exception"] else {}),
            }
            for c in result["commands"]
        ]
        outcome.failures += check(result["commands"], root)
    elif not hung:
        outcome.failures.append(Failure("crash", "", exitcode, f"child exit code {exitcode}"))
    return outcome


def run_cases(
    seed: int,
    numbers: Iterable[int],
    settings: Settings | None = None,
    workers: int = 1,
    scratch: Path | None = None,
    done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run the cases, ``workers`` at a time, each in a forked child; ``done`` is called with
    each outcome as it comes. The outcomes are returned in case order."""
    from fuzzing.cases import choose

    settings = settings or Settings()
    warm_up()
    context = multiprocessing.get_context("fork")
    pending = list(numbers)[::-1]
    running: dict[int, tuple[Any, Outcome, Path, float]] = {}
    outcomes: list[Outcome] = []
    top = Path(tempfile_dir(scratch))
    try:
        while pending or running:
            while pending and len(running) < workers:
                number = pending.pop()
                root = top / str(number)
                root.mkdir()
                _, case = choose(seed, number)
                outcome = Outcome(seed, number, case.base, case.kinds)
                process = context.Process(target=_child, args=(seed, number, root, settings))
                process.start()
                running[process.sentinel] = (process, outcome, root, time.monotonic())
            first_deadline = min(start for *_, start in running.values()) + settings.timeout
            multiprocessing.connection.wait(
                list(running), timeout=max(0.0, first_deadline - time.monotonic())
            )
            for sentinel, (process, outcome, root, start) in list(running.items()):
                hung = process.is_alive() and time.monotonic() - start > settings.timeout
                if process.is_alive() and not hung:
                    continue
                if hung:
                    process.kill()
                process.join()
                del running[sentinel]
                outcome.seconds = round(time.monotonic() - start, 3)
                outcome = _collect(outcome, root, hung, process.exitcode)
                if not outcome.mutations:
                    outcome.mutations = _mutations(root, seed, outcome.number)
                shutil.rmtree(root, ignore_errors=True)
                outcomes.append(outcome)
                if done is not None:
                    done(outcome)
    finally:
        for process, *_ in running.values():
            process.kill()
        shutil.rmtree(top, ignore_errors=True)
    return sorted(outcomes, key=lambda o: o.number)


def _mutations(root: Path, seed: int, number: int) -> list[str]:
    """The mutations of a case whose child left no result (a hang, a crash): written again."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="econplan-fuzz-redo-") as folder:
        try:
            return write_case(seed, number, Path(folder) / "input").mutations
        except Exception as error:
            return [f"(could not write the case again: {error})"]


def tempfile_dir(scratch: Path | None) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="econplan-fuzz-", dir=scratch)


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return asdict(outcome)
