"""A plan as the program holds it: ``info`` (what plan.json says: status, objectives,
verification, targets) and its tidy tables, built from a solution or a diagnosis.

How a plan is written to a folder and read back is in :mod:`econplan.plan.disk`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.pick import label, versions

if TYPE_CHECKING:
    from econplan.plan.assemble import PlanProblem
    from econplan.plan.diagnose import Diagnosis
    from econplan.plan.solve import Solution, StageResult
    from econplan.plan.verify import Verification

TARGET_FIELDS = [
    "id",
    "product",
    "sector",
    "region",
    "year",
    "kind",
    "sense",
    "required",
    "planned",
    "met",
]
"""What plan.json says of each target."""


def economy_hash(economy: Economy) -> str:
    """SHA-256 of the economy's settings and canonical tables: equal economies, equal hash,
    whatever format they were read from."""
    digest = hashlib.sha256()
    digest.update(json.dumps(economy.settings.to_toml(), sort_keys=True).encode())
    for name in sorted(economy.tables):
        digest.update(name.encode())
        digest.update(economy.tables[name].to_csv(index=False).encode())
    return digest.hexdigest()


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _tidy(value: float) -> float:
    """Solver noise around zero as 0.0 (not -0.0 or -3e-15)."""
    return 0.0 if abs(value) < 1e-12 else float(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [jsonable(row) for row in clean.to_dict(orient="records")]


@dataclass(frozen=True)
class Plan:
    """A plan: ``info`` is plan.json, ``tables`` the tidy tables by name."""

    info: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    run: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    plausibility: dict[str, Any] | None = None
    """plausibility.json: what an economist would question in the plan (see
    :mod:`econplan.plan.plausibility`)."""

    @property
    def status(self) -> str:
        return str(self.info["status"])

    @property
    def ok(self) -> bool:
        return self.status == "optimal" and self.info["verification"]["valid"]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            frame: pd.DataFrame = tables[name]
            return frame
        raise AttributeError(name)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def _head(
        cls, economy: Economy, problem: PlanProblem, method: str, status: str
    ) -> dict[str, Any]:
        rows, cols = problem.shape
        head: dict[str, Any] = {
            "status": status,
            "economy": {
                "name": economy.settings.name,
                "hash": economy_hash(economy),
                "horizon": [economy.settings.first_year, economy.settings.last_year],
                "objective": economy.settings.objective,
            },
            "solver": {
                "name": "HiGHS",
                "version": metadata.version("highspy"),
                "label": label(method),
                "versions": versions(method),
                "method": method,
                "tolerance": problem.tolerance,
            },
            "problem": {"rows": rows, "columns": cols, "nonzeros": int(problem.matrix.nnz)},
        }
        if problem.fixed is not None:
            head["fixed"] = problem.fixed.summary()
        return head

    @classmethod
    def optimal(
        cls,
        economy: Economy,
        problem: PlanProblem,
        solution: Solution,
        tables: dict[str, pd.DataFrame],
        verification: Verification,
        times: dict[str, float],
    ) -> Plan:
        from econplan.plan import VALID

        info = cls._head(economy, problem, solution.method, "optimal")
        info["stages"] = [
            {
                "name": r.stage.name,
                "kind": r.stage.kind,
                "tier": r.stage.tier,
                "description": r.stage.description,
                "sense": r.stage.sense,
                "unit": r.stage.unit,
                "objective": _tidy(r.value),
                "held_within": [float(r.held[0]), float(r.held[1])],
                "iterations": r.iterations,
                **_face_record(r),
            }
            for r in solution.stages
        ]
        info["objectives"] = {r.stage.name: _tidy(r.value) for r in solution.stages}
        checks = verification.to_dict()
        info["verification"] = {"valid": verification.ok(VALID), "limit": VALID, **checks}
        targets = tables["targets"]
        info["targets"] = _records(targets[TARGET_FIELDS])
        info["tables"] = sorted(tables)
        stage_times = {r.stage.name: r.seconds for r in solution.stages}
        run = {"times": {**times, "stages": stage_times}, "solver_seconds": solution.seconds}
        return cls(jsonable(info), tables, run)

    @classmethod
    def infeasible(
        cls,
        economy: Economy,
        problem: PlanProblem,
        method: str,
        diagnosis: Diagnosis,
        times: dict[str, float],
    ) -> Plan:
        info = cls._head(economy, problem, method, "infeasible")
        info["verification"] = {"valid": False, "max_violation": None}
        failing = diagnosis.targets
        info["targets"] = _records(failing.assign(kind="hard", met=False)[TARGET_FIELDS])
        return cls(jsonable(info), {}, {"times": times}, jsonable(diagnosis.to_dict()))


def _face_record(result: StageResult) -> dict[str, Any]:
    """How a stage held by its optimal face was held (``hold="face"``): the refine of its
    optimum and what the face fixed; nothing for a stage held by the slack alone."""
    if result.face is None:
        return {}
    refined = result.refined
    return {
        "held_by": "face",
        "face": {"columns": result.face[0], "rows": result.face[1]},
        "refined": {
            "applied": refined.applied,
            "finished": refined.finished,
            "iterations": refined.iterations,
            **({"why": refined.why} if refined.why else {}),
        },
    }
