"""A plan on disk: tidy Parquet tables (CSV too on request), ``plan.json`` with its status,
objectives, verification and targets, and ``run.json`` with the run's timings.

The same economy gives the same ``plan.json`` and tables byte for byte; what differs from one
run to the next (seconds, the date) lives in ``run.json`` only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from econplan.model.economy import Economy

if TYPE_CHECKING:
    from econplan.plan.assemble import PlanProblem
    from econplan.plan.diagnose import Diagnosis
    from econplan.plan.solve import Solution
    from econplan.plan.verify import Verification

PLAN_FILE = "plan.json"
RUN_FILE = "run.json"
DIAGNOSIS_FILE = "diagnosis.json"

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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
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
    return [_jsonable(row) for row in clean.to_dict(orient="records")]


@dataclass(frozen=True)
class Plan:
    """A plan: ``info`` is plan.json, ``tables`` the tidy tables by name."""

    info: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    run: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None

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
        return {
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
                "method": method,
                "tolerance": problem.tolerance,
            },
            "problem": {"rows": rows, "columns": cols, "nonzeros": int(problem.matrix.nnz)},
        }

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
                "description": r.stage.description,
                "sense": r.stage.sense,
                "unit": r.stage.unit,
                "objective": _tidy(r.value),
                "held_within": [float(r.held[0]), float(r.held[1])],
                "iterations": r.iterations,
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
        return cls(_jsonable(info), tables, run)

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
        return cls(_jsonable(info), {}, {"times": times}, _jsonable(diagnosis.to_dict()))


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=False)


def write_plan(plan: Plan, directory: Path, csv: bool = False) -> list[Path]:
    """Write the plan into ``directory`` (replacing what an earlier plan left there), all at
    once: the files go to a fresh folder beside it that takes its place at the end."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        written: list[str] = []
        for name, frame in sorted(plan.tables.items()):
            _write_table(frame, staging / f"{name}.parquet")
            written.append(f"{name}.parquet")
            if csv:
                frame.to_csv(staging / f"{name}.csv", index=False, float_format="%.10g")
                written.append(f"{name}.csv")
        (staging / PLAN_FILE).write_text(json.dumps(plan.info, indent=2, ensure_ascii=False) + "\n")
        (staging / RUN_FILE).write_text(json.dumps(_jsonable(plan.run), indent=2) + "\n")
        if plan.diagnosis is not None:
            (staging / DIAGNOSIS_FILE).write_text(
                json.dumps(plan.diagnosis, indent=2, ensure_ascii=False) + "\n"
            )
        os.chmod(staging, 0o755)
        if directory.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{directory.name}-old-", dir=directory.parent))
            os.replace(directory, old / directory.name)
            os.replace(staging, directory)
            shutil.rmtree(old)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [directory / name for name in (*written, PLAN_FILE)]


def load_plan(directory: str | os.PathLike[str]) -> Plan:
    """A plan written by ``econplan plan`` (or ``write_plan``), back in Python.

    Raises FileNotFoundError without a plan.json, ValueError when it or a table cannot be
    read as one."""
    directory = Path(directory)
    info_path = directory / PLAN_FILE
    if not info_path.is_file():
        raise FileNotFoundError(
            f"{info_path}: no plan here (run `econplan plan --out {directory}`)"
        )
    info = json.loads(info_path.read_text())  # a ValueError when it is not JSON
    if not isinstance(info, dict):
        raise ValueError(f"{info_path}: not a plan written by econplan")
    names = info.get("tables", [])  # an infeasible plan has none
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{info_path}: not a plan written by econplan (tables is not a list)")
    tables = {
        name: pd.read_parquet(directory / f"{name}.parquet")
        for name in names
        if (directory / f"{name}.parquet").is_file()
    }
    run_path = directory / RUN_FILE
    run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    diagnosis_path = directory / DIAGNOSIS_FILE
    diagnosis = json.loads(diagnosis_path.read_text()) if diagnosis_path.is_file() else None
    return Plan(info, tables, run, diagnosis)
