"""How one plan differs from another it revises: targets lost or at risk, activity moved,
objectives, and the valuations that changed most, with what they say about the cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from econplan.plan import Plan
from econplan.plan.output import jsonable

TARGET_KEY = ["id", "product", "sector", "region", "year", "kind", "sense", "required"]
ACTIVITY_KEY = ["process", "region", "year"]
VALUATION_KEY = ["stage", "constraint", "item", "region", "destination", "year"]
NOISE = 1e-9
"""Changes smaller than this, relative to the size of what changed, are not changes."""


@dataclass(frozen=True)
class PlanDiff:
    """``new`` against the ``old`` plan it revises."""

    status: tuple[str, str]
    """The old plan's status and the new one's."""
    targets: pd.DataFrame
    """Targets whose planned amount or whether they are met changed: id, product, sector,
    region, year, kind (in the new plan), sense, required, old, new (planned), change,
    met_old, met_new, verdict: ``lost`` (met, now not), ``at_risk`` (still met, but now with
    no room left where it had some: any further shortfall loses it), ``regained`` (not met,
    now met) or ``changed``. Lost first, then at risk."""
    activity: pd.DataFrame
    """Activity that moved: process, region, year, old, new, change, capacity (the old
    plan's), relative (change over capacity, or over the larger amount where there is no
    capacity), largest relative move first."""
    objectives: pd.DataFrame
    """stage, old, new, change (NaN where a stage is in one plan only)."""
    valuations: pd.DataFrame
    """Valuations that changed: the valuation table's key, old, new, change, per, and an
    explanation line; by stage (the first matter most), largest change first."""
    limits: pd.DataFrame
    """For an infeasible new plan, its diagnosis's limits (what keeps the targets out of
    reach), each with an explanation line; empty otherwise."""

    @property
    def lost(self) -> list[str]:
        return list(self.targets.loc[self.targets["verdict"] == "lost", "id"])

    @property
    def at_risk(self) -> list[str]:
        return list(self.targets.loc[self.targets["verdict"] == "at_risk", "id"])

    def to_dict(self, top: int = 20) -> dict[str, Any]:
        """For JSON: every target that changed, the ``top`` largest moves of activity and
        valuations, the objectives and the limits."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return [jsonable(row) for row in clean.to_dict(orient="records")]

        return {
            "status": {"old": self.status[0], "new": self.status[1]},
            "lost": self.lost,
            "at_risk": self.at_risk,
            "targets": records(self.targets),
            "activity": records(self.activity.head(top)),
            "objectives": records(self.objectives),
            "valuations": records(self.valuations.head(top)),
            "limits": records(self.limits.head(top)),
        }


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    """What changed from ``old`` to ``new`` (a re-plan of it). An infeasible ``new`` has no
    tables: its targets are those its diagnosis names, and its limits say why."""
    tolerance = float(new.info.get("solver", {}).get("tolerance", 1e-6))
    return PlanDiff(
        (old.status, new.status),
        _targets(old, new, tolerance),
        _activity(old, new),
        _objectives(old, new),
        _valuations(old, new),
        _limits(new),
    )


def _targets(old: Plan, new: Plan, tolerance: float) -> pd.DataFrame:
    before = pd.DataFrame(old.info.get("targets", []))
    after = pd.DataFrame(new.info.get("targets", []))
    columns = [*TARGET_KEY, "old", "new", "change", "met_old", "met_new", "verdict"]
    if before.empty or after.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    both = after.merge(
        before[["id", "planned", "met"]], on="id", suffixes=("_new", "_old"), how="inner"
    ).rename(columns={"planned_new": "new", "planned_old": "old"})
    both["change"] = both["new"] - both["old"]
    required = both["required"].to_numpy(dtype=float)
    sign = np.where(both["sense"] == "at_least", 1.0, -1.0)
    room_old = sign * (both["old"].to_numpy(dtype=float) - required)
    room_new = sign * (both["new"].to_numpy(dtype=float) - required)
    size = tolerance * np.maximum(np.abs(required), 1.0)
    met_old = both["met_old"].astype(bool).to_numpy()
    met_new = both["met_new"].astype(bool).to_numpy()
    verdict = np.select(
        [
            met_old & ~met_new,
            met_old & met_new & (room_old > size) & (room_new <= size),
            ~met_old & met_new,
            np.abs(both["change"].to_numpy(dtype=float)) > size,
        ],
        ["lost", "at_risk", "regained", "changed"],
        default="",
    )
    both["verdict"] = verdict
    both = both[both["verdict"] != ""]
    order = pd.Series(both["verdict"]).map({"lost": 0, "at_risk": 1, "regained": 2, "changed": 3})
    both = both.assign(_order=order).sort_values(["_order", "year", "id"], kind="stable")
    return both[columns].reset_index(drop=True)


def _activity(old: Plan, new: Plan) -> pd.DataFrame:
    columns = [*ACTIVITY_KEY, "old", "new", "change", "capacity", "relative"]
    if "activity" not in old.tables or "activity" not in new.tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    both = old.tables["activity"].merge(
        new.tables["activity"], on=ACTIVITY_KEY, how="outer", suffixes=("_old", "_new")
    )
    both = both.rename(columns={"activity_old": "old", "activity_new": "new"}).fillna(
        {"old": 0.0, "new": 0.0}
    )
    both["change"] = both["new"] - both["old"]
    capacity = old.tables["capacity"].set_index(ACTIVITY_KEY)["total"]
    both["capacity"] = capacity.reindex(pd.MultiIndex.from_frame(both[ACTIVITY_KEY])).to_numpy()
    scale = both["capacity"].where(
        both["capacity"] > 0, np.maximum(both["old"].abs(), both["new"].abs())
    )
    both["relative"] = both["change"] / np.maximum(scale, 1.0)
    moved = both["change"].abs() > NOISE * np.maximum(scale, 1.0)
    both = both[moved].assign(_size=lambda f: -f["relative"].abs())
    both = both.sort_values(["_size", *ACTIVITY_KEY], kind="stable")
    return both[columns].reset_index(drop=True)


def _objectives(old: Plan, new: Plan) -> pd.DataFrame:
    before = old.info.get("objectives", {})
    after = new.info.get("objectives", {})
    stages = list(after) + [s for s in before if s not in after]
    frame = pd.DataFrame(
        {
            "stage": stages,
            "old": [before.get(s, np.nan) for s in stages],
            "new": [after.get(s, np.nan) for s in stages],
        }
    ).astype({"old": float, "new": float})
    return frame.assign(change=frame["new"] - frame["old"])


def _explain(frame: pd.DataFrame) -> pd.Series:
    """One line per valuation: what it is, how it moved, and what one more unit means."""
    place = (
        frame["constraint"].astype(str)
        + " "
        + frame["item"].astype(str)
        + np.where(frame["region"].astype(str) != "", " " + frame["region"].astype(str), "")
        + np.where(frame["year"] > 0, " " + frame["year"].astype(str), "")
    )
    how = np.select(
        [frame["old"] == 0, frame["new"] == 0],
        ["now binds", "no longer binds"],
        default=np.where(frame["new"].abs() > frame["old"].abs(), "valued more", "valued less"),
    )
    return pd.Series(
        [
            f"{p} {h} in stage {s}: {o:.4g} -> {n:.4g} {per}; {m}"
            for p, h, s, o, n, per, m in zip(
                place,
                how,
                frame["stage"],
                frame["old"],
                frame["new"],
                frame["per"],
                frame["meaning"],
                strict=True,
            )
        ],
        index=frame.index,
        dtype=object,
    )


def _valuations(old: Plan, new: Plan) -> pd.DataFrame:
    columns = [*VALUATION_KEY, "old", "new", "change", "per", "explanation"]
    if "valuations" not in old.tables or "valuations" not in new.tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    keep = [*VALUATION_KEY, "valuation", "per", "meaning"]
    both = old.tables["valuations"][keep].merge(
        new.tables["valuations"][keep],
        on=VALUATION_KEY,
        how="outer",
        suffixes=("_old", "_new"),
    )
    both = both.rename(columns={"valuation_old": "old", "valuation_new": "new"})
    both[["old", "new"]] = both[["old", "new"]].fillna(0.0)
    both["per"] = both["per_new"].fillna(both["per_old"])
    both["meaning"] = both["meaning_new"].fillna(both["meaning_old"])
    both["change"] = both["new"] - both["old"]
    size = np.maximum(np.maximum(both["old"].abs(), both["new"].abs()), 1.0)
    both = both[both["change"].abs() > NOISE * size].copy()
    stages = pd.Index(
        list(new.info.get("objectives", {})) + list(old.info.get("objectives", {}))
    ).unique()
    both["_stage"] = stages.get_indexer(pd.Index(both["stage"]))
    both["_size"] = -both["change"].abs()
    both = both.sort_values(["_stage", "_size", *VALUATION_KEY], kind="stable")
    both["explanation"] = _explain(both) if len(both) else pd.Series(dtype=object)
    return both[columns].reset_index(drop=True)


def _limits(new: Plan) -> pd.DataFrame:
    limits = pd.DataFrame((new.diagnosis or {}).get("limits", []))
    if limits.empty:
        return pd.DataFrame({"explanation": pd.Series(dtype=object)})
    limits = limits.fillna({"region": "", "item": "", "year": 0})
    where = (
        limits["constraint"].astype(str)
        + " "
        + limits["item"].astype(str)
        + np.where(limits["region"] != "", " " + limits["region"].astype(str), "")
        + np.where(limits["year"] > 0, " " + limits["year"].astype(str), "")
    )
    limits["explanation"] = [
        f"{w}: one more unit would cut the least shortfall by {v:.4g} ({m})"
        for w, v, m in zip(where, limits["valuation"], limits["meaning"], strict=True)
    ]
    return limits
