"""Applying a scenario: its base economy plus its changes, as a new economy, validated.

The base is never modified: the changes edit copies of its tables. The result is written to a
temporary folder in the economy's own format and read back through the validator, so it is
checked by exactly the rules every economy meets; a problem found there names the changes
that edited the table it lies in.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from econplan.errors import EconomyError
from econplan.io.write import write_economy
from econplan.model.economy import Economy
from econplan.plan.output import economy_hash
from econplan.scenario.changes import APPLY, Edit, touched
from econplan.scenario.read import Change, Scenario, read_scenario
from econplan.scenario.spec import ScenarioError, ScenarioProblem
from econplan.validate import load_economy, validate


@dataclass(frozen=True)
class Applied:
    """A scenario applied: the new economy and what it was made from."""

    scenario: Scenario
    economy: Economy
    base: Economy

    def info(self) -> dict[str, object]:
        """What plan.json records of the scenario."""
        path = self.scenario.economy_path
        return {
            "name": self.scenario.name,
            "file": str(self.scenario.path),
            "hash": self.scenario.hash,
            "chain": [s.name for s in self.scenario.chain],
            "base": {
                "economy": str(path) if path is not None else "built-in",
                "name": self.base.settings.name,
                "hash": economy_hash(self.base),
            },
        }


def apply_scenario(scenario: Scenario | str | Path) -> Applied:
    """The economy of ``scenario`` (a Scenario, a file, or a shipped scenario's name); raises
    ScenarioError naming every problem: a change that does not fit the economy, or a changed
    economy that fails validation."""
    if not isinstance(scenario, Scenario):
        scenario = read_scenario(scenario)
    path = scenario.economy_path
    try:
        base = load_economy(path)
    except EconomyError as error:
        first = scenario.chain[0]
        problems = [
            ScenarioProblem(str(first.path), 0, "base", f"the base economy is not sound: {p}")
            for p in error.problems
        ]
        raise ScenarioError(problems) from None
    economy = base
    for step in scenario.chain:
        economy = apply_changes(economy, step.changes, step.path)
    return Applied(scenario, economy, base)


def apply_changes(economy: Economy, changes: tuple[Change, ...], file: Path) -> Economy:
    """``economy`` with ``changes`` made, validated; the economy given is left as it was."""
    edit = Edit(economy.settings, {name: frame.copy() for name, frame in economy.tables.items()})
    problems: list[ScenarioProblem] = []
    for change in changes:
        problems += APPLY[change.kind](change, edit)
    if problems:
        raise ScenarioError(problems)
    changed = Economy(economy.settings, MappingProxyType(edit.tables))
    return _validated(changed, changes, file)


def _validated(changed: Economy, changes: tuple[Change, ...], file: Path) -> Economy:
    staging = Path(tempfile.mkdtemp(prefix="econplan-scenario-"))
    try:
        folder = write_economy(changed, staging / "economy")
        report = validate(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report.economy is not None:
        return report.economy
    problems = []
    for problem in report.problems:
        table = Path(problem.file).name.split(".")[0]
        by: list[Change | None] = [c for c in changes if table in touched(c)]
        shown = str(problem).replace(str(staging / "economy") + "/", "")
        message = f"the changed economy fails validation: {shown}"
        for change in by or [None]:  # no change: the base itself
            problems.append(
                ScenarioProblem(
                    str(file),
                    change.position if change else 0,
                    problem.column or "",
                    message + ("" if change else " (no change edits that table: check the base)"),
                )
            )
    raise ScenarioError(problems)
