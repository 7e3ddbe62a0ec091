"""Reading a scenario file: TOML checked against ``schema/scenario.csv``, its base resolved
(an economy, the built-in one, or another scenario, read in turn), cycles refused.

A scenario's hash is the SHA-256 of its file and of its base scenario's hash, so a change
anywhere along the chain gives another hash.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econplan.scenario.spec import (
    CHANGE,
    SCENARIO,
    ScenarioError,
    ScenarioProblem,
    change_kinds,
    check_entry,
)

SUFFIX = ".toml"


@dataclass(frozen=True)
class Change:
    """One [[change]] entry: its kind, its place in the file (1 for the first) and fields."""

    file: str
    position: int
    kind: str
    fields: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class Scenario:
    """A scenario as read: ``base`` is another Scenario, an economy's path, or None for the
    built-in economy."""

    name: str
    description: str
    path: Path
    base: Scenario | Path | None
    changes: tuple[Change, ...]
    hash: str

    @property
    def chain(self) -> tuple[Scenario, ...]:
        """This scenario and those it is built on, the first applied first."""
        below = self.base.chain if isinstance(self.base, Scenario) else ()
        return (*below, self)

    @property
    def economy_path(self) -> Path | None:
        """The economy at the bottom of the chain (None: the built-in economy)."""
        base = self.chain[0].base
        return base if isinstance(base, Path) else None


def shipped_folder() -> Path:
    """The worked scenarios shipped with econplan (package data)."""
    return Path(__file__).resolve().parent.parent / "data" / "scenarios"


def shipped() -> dict[str, Path]:
    """The shipped scenarios by name (the file's stem)."""
    return {p.stem: p for p in sorted(shipped_folder().glob(f"*{SUFFIX}"))}


def locate(name: str | Path) -> Path:
    """A scenario's file: the path as given, or a shipped scenario's name (``sanctions``)."""
    path = Path(name)
    if path.exists() or path.suffix == SUFFIX:
        return path
    return shipped().get(str(name), path)


def read_scenario(path: str | Path) -> Scenario:
    """The scenario at ``path`` (or a shipped scenario's name) with every scenario it is built
    on; raises ScenarioError with every problem found."""
    return _read(locate(path), ())


def _read(path: Path, seen: tuple[Path, ...]) -> Scenario:
    resolved = path.resolve()
    if resolved in seen:
        loop = " -> ".join(str(p) for p in (*seen, resolved))
        raise ScenarioError(
            [
                ScenarioProblem(
                    str(path), 0, "base", f"scenarios are built on each other in a cycle: {loop}"
                )
            ]
        )
    data, document = load_toml(path)
    return scenario_of(path, data, document, seen)


def load_toml(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The bytes of a scenario (or ensemble) file and its TOML document."""
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        hint = ", ".join(shipped()) or "none"
        message = f"cannot be read ({error.strerror}): give a scenario file or one of {hint}"
        raise ScenarioError([ScenarioProblem(file, 0, "", message)]) from None
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        message = f"not a TOML file ({error}): see docs/scenarios.md for the format"
        raise ScenarioError([ScenarioProblem(file, 0, "", message)]) from None
    return data, document


def scenario_of(
    path: Path, data: bytes, document: dict[str, Any], seen: tuple[Path, ...] = ()
) -> Scenario:
    """The scenario a parsed file states (``data``: its bytes, for the hash)."""
    file = str(path)
    resolved = path.resolve()
    problems = check_entry(file, 0, SCENARIO, document)
    changes = []
    entries = document.get(CHANGE, [])
    if isinstance(entries, list):
        for position, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                continue
            kind = entry.get("kind")
            if kind not in change_kinds():
                problems += check_entry(file, position, CHANGE, {"kind": kind} if kind else {})
                continue
            found = check_entry(file, position, kind, entry)
            problems += found
            if not found:
                changes.append(Change(file, position, kind, dict(entry)))
    base: Scenario | Path | None = None
    below = ""
    given = document.get("base", "")
    if isinstance(given, str) and given:
        target = path.parent / given
        if target.suffix == SUFFIX:
            try:
                base = _read(target, (*seen, resolved))
                below = base.hash
            except ScenarioError as error:
                problems += error.problems
        elif not target.exists():
            message = f"{given!r}: no such economy folder or workbook (relative to this file)"
            problems.append(ScenarioProblem(file, 0, "base", message))
        else:
            base = target
    if problems:
        raise ScenarioError(problems)
    digest = hashlib.sha256(data + below.encode()).hexdigest()
    return Scenario(
        str(document["name"]),
        str(document.get("description", "")),
        path,
        base,
        tuple(changes),
        digest,
    )
