"""Reading an ensemble file: a scenario (name, description, base, [[change]]) whose members
each draw shocks from the [[shock]] entries, checked against ``schema/ensemble.csv``.

The file's scenario part is read by the scenario reader, so it means what a scenario file
means; the ensemble's hash covers the whole file, its base chain and the seed, so that a
resumed ensemble never mixes members of another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econplan.scenario.read import Scenario, load_toml, scenario_of
from econplan.scenario.spec import (
    SCHEMAS,
    ScenarioError,
    ScenarioProblem,
    change_kinds,
    check_entry,
    fields,
)

SCHEMA = "ensemble"
TOP, SHOCK = SCHEMAS[SCHEMA]

MEMBERS = 100
"""Members when neither the file nor the command line says."""

SEED = 0


@dataclass(frozen=True)
class Shock:
    """One [[shock]] entry: its kind, its place in the file (1 for the first) and fields."""

    position: int
    kind: str
    fields: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class Ensemble:
    """An ensemble as read: the scenario every member starts from, the shocks each member
    draws, how many members and the seed."""

    scenario: Scenario
    shocks: tuple[Shock, ...]
    members: int
    seed: int

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def path(self) -> Path:
        return self.scenario.path

    @property
    def hash(self) -> str:
        """What a member's result depends on besides its number: the file (and the scenarios
        below it) and the seed; not the number of members, so an ensemble can be extended."""
        return hashlib.sha256(f"{self.scenario.hash}:{self.seed}".encode()).hexdigest()


def ensembles_folder() -> Path:
    """The ensembles shipped with econplan (package data)."""
    return Path(__file__).resolve().parent.parent / "data" / "ensembles"


def shipped_ensembles() -> dict[str, Path]:
    return {p.stem: p for p in sorted(ensembles_folder().glob("*.toml"))}


def read_ensemble(
    path: str | Path, members: int | None = None, seed: int | None = None
) -> Ensemble:
    """The ensemble at ``path`` (or a shipped ensemble's name), ``members`` and ``seed``
    overriding the file's; raises ScenarioError naming every problem."""
    given = Path(path)
    if not given.exists() and given.suffix != ".toml":
        given = shipped_ensembles().get(str(path), given)
    data, document = load_toml(given)
    file = str(given)
    own = set(fields(SCHEMA)[TOP])
    problems = check_entry(file, 0, TOP, {k: v for k, v in document.items() if k in own}, SCHEMA)
    scenario_part = {k: v for k, v in document.items() if k not in own}
    shocks: list[Shock] = []
    entries = document.get(SHOCK, [])
    if isinstance(entries, list):
        for position, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                continue
            kind = entry.get("kind")
            if kind not in change_kinds(SCHEMA):
                problems += [
                    _as_shock(p)
                    for p in check_entry(
                        file, position, SHOCK, {"kind": kind} if kind else {}, SCHEMA
                    )
                ]
                continue
            found = check_entry(file, position, kind, entry, SCHEMA)
            problems += [_as_shock(p) for p in found]
            problems += _rules(file, position, kind, entry)
            if not found:
                shocks.append(Shock(position, kind, dict(entry)))
    try:
        scenario = scenario_of(given, data, scenario_part)
    except ScenarioError as error:
        problems += [_with_ensemble_keys(p, own) for p in error.problems]
        raise ScenarioError(problems) from None
    if problems:
        raise ScenarioError(problems)
    return Ensemble(
        scenario,
        tuple(shocks),
        int(members if members is not None else document.get("members", MEMBERS)),
        int(seed if seed is not None else document.get("seed", SEED)),
    )


def _as_shock(problem: ScenarioProblem) -> ScenarioProblem:
    """A problem of a [[shock]] entry: "shock 2", not "change 2"."""
    return ScenarioProblem(problem.file, problem.change, problem.key, problem.message, SHOCK)


def _with_ensemble_keys(problem: ScenarioProblem, own: set[str]) -> ScenarioProblem:
    """The scenario reader lists the keys it knows; an ensemble file has its own too."""
    if problem.change == 0 and problem.message.startswith("the file has no key"):
        message = f"{problem.message}, or the ensemble's {', '.join(sorted(own))}"
        return ScenarioProblem(problem.file, 0, problem.key, message)
    return problem


def _rules(file: str, position: int, kind: str, entry: dict[str, Any]) -> list[ScenarioProblem]:
    """Rules that tie a shock's fields together."""
    if kind == "harvest" and ("process" in entry) == ("sector" in entry):
        message = "give process or sector, one of the two"
        return [ScenarioProblem(file, position, "process", message, SHOCK)]
    return []
