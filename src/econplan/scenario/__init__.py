"""Scenarios: what-if economies written as a small change file on top of a base economy.

``read_scenario(FILE)`` reads and checks a file (``schema/scenario.csv`` declares its keys),
``apply_scenario(FILE)`` gives the changed economy, validated; ``econplan scenario`` is the
command-line front. docs/scenarios.md describes the file and the shipped scenarios.
"""

from econplan.scenario.apply import Applied, apply_changes, apply_scenario
from econplan.scenario.read import Change, Scenario, read_scenario, shipped
from econplan.scenario.spec import ScenarioError, ScenarioProblem

__all__ = [
    "Applied",
    "Change",
    "Scenario",
    "ScenarioError",
    "ScenarioProblem",
    "apply_changes",
    "apply_scenario",
    "read_scenario",
    "shipped",
]
