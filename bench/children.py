"""What the plan benchmarks (bench/plan.py, bench/methods.py) share: the code they measure (the
working tree or ``src`` of a commit), a case run in a child process of its own under a time
limit, and what its progress lines say about a case that did not finish.

A child writes econplan's progress lines to a log as it goes, so that a case killed at its
limit still says how big its problem was and how far it got.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = re.compile(r"([\d,]+) rows, ([\d,]+) columns, ([\d,]+) nonzeros")
STAGE = re.compile(r"^stage \d+/\d+: (\S+)")
SOLVED = re.compile(r"\(([\d.]+) s, (\d+) iterations")


def source(commit: str, into: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The environment the children run in and what code they measure: the working tree, or
    ``src`` of ``commit`` unpacked into ``into`` and put first on PYTHONPATH, so that edits
    made while a benchmark runs do not change what it measures."""
    env = dict(os.environ)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    if not commit:
        try:
            dirty = bool(git("status", "--porcelain", "--", "src"))
            head = git("rev-parse", "HEAD")
        except (OSError, subprocess.CalledProcessError):
            # a copy of the tree without git (a lent GPU machine): the commit it was copied
            # at, where the copy says (bench/gpu_wheels.sh writes it), and src as modified
            head, dirty = os.environ.get("ECONPLAN_COMMIT", "unknown (no git)"), True
        return env, {"commit": head, "src": "working tree", "dirty": dirty}
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(into / "src"), env.get("PYTHONPATH", "")) if p
    )
    return env, {"commit": git("rev-parse", commit), "src": f"git archive {commit}"}


def measured(code: dict[str, Any]) -> str:
    """What ``source`` said the children ran, in words for a results table."""
    if code["src"] != "working tree":
        return f"src of commit {code['commit'][:10]} (git archive)"
    return f"the working tree at {code['commit'][:10]}" + (" (src modified)" * code["dirty"])


@dataclass(frozen=True)
class Watched:
    """How a child ended: killed at its limit, its exit status, its resource usage (peak
    memory of a child that died), wall seconds, its stderr lines, and its progress lines."""

    killed: bool
    status: int
    usage: Any
    seconds: float
    stderr: list[str]
    progress: list[str]

    def failed(self, limit: float, margin: float, result: Path) -> str | None:
        """Why the case did not finish (killed past ``limit`` and ``margin``, its last
        error line or its exit status), or None where it wrote ``result``."""
        if not (self.killed or self.status != 0 or not result.exists()):
            return None
        if self.killed:
            return f"> {limit + margin:.0f} s (killed)"
        # wait4 gives the raw wait status (exit code 3 reads 768)
        code = os.waitstatus_to_exitcode(self.status)
        return self.stderr[-1][:200] if self.stderr else f"exit status {code}"

    @property
    def problem(self) -> dict[str, int] | None:
        """Rows, columns and nonzeros, as the child said them."""
        size = next((m for m in map(SIZE.search, self.progress) if m), None)
        if size is None:
            return None
        counts = [int(g.replace(",", "")) for g in size.groups()]
        return dict(zip(("rows", "columns", "nonzeros"), counts, strict=True))

    @property
    def reached(self) -> str:
        """The last stage the child began."""
        return next((m[1] for m in map(STAGE.match, reversed(self.progress)) if m), "")

    def stages(self) -> list[dict[str, Any]]:
        """The stages the child finished, from its progress lines."""
        done: list[dict[str, Any]] = []
        name = ""
        for line in self.progress:
            if started := STAGE.match(line):
                name = started.group(1)
            elif (solved := SOLVED.search(line)) and name:
                done.append(
                    {"name": name, "seconds": float(solved[1]), "iterations": int(solved[2])}
                )
                name = ""
        return done


def watch(
    command: list[str], env: dict[str, str], limit: float, margin: float, name: Path
) -> Watched:
    """Run ``command`` and kill it ``margin`` seconds past ``limit``; its stderr goes to
    ``name``.err and its progress lines are read from ``name``.log."""
    with name.with_suffix(".err").open("w+") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        started = time.monotonic()
        killed = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > limit + margin:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                killed = True
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        err.seek(0)
        stderr = err.read().strip().splitlines()
    log = name.with_suffix(".log")
    progress = log.read_text().splitlines() if log.exists() else []
    return Watched(killed, status, usage, seconds, stderr, progress)
