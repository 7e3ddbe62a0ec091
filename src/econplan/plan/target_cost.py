"""What a production target met by output nobody uses costs the plan: the plan solved again with
the target lowered to what is used, stage by stage against the plan.

A target held by its tier is worth nothing at the margin in the later stages wherever the
tier's hold, not the target's own row, is what binds (its valuation there is 0), and where its
valuation is not 0 it holds only over its range, which is often a few thousand tonnes of the
millions left over. The honest cost of the unused output is a difference of two plans: the
plan as solved, and the plan of the same economy with the target asking only for what the plan
uses. Targets of the same products are lowered together (cement 2021-2025 is one question: what
the path to 8 Mt costs where its cement has no use), one solve for each group.

The lexicographic order decides how to read the differences: the first stage that gains is
what the unused output takes from the economy (the tiers are met either way, so it is the
consumption level, or imports, or labour); the stages after it move as a consequence, and are
reported as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.output import Plan
from econplan.plan.plausibility import flag_frame
from econplan.plan.solve import SolveError

COLUMNS = [
    "products",
    "targets",
    "stage",
    "unit",
    "objective",
    "lowered",
    "gain",
    "first",
]
"""One row per group of targets and stage: the stage's objective in the plan and in the plan
with the group's targets lowered to what is used, and the gain (positive: the lowered plan is
better in that stage); ``first`` marks the first stage that gains beyond its tolerance."""

TOLERANCE = 1e-5
"""A gain counts when it exceeds ten times the stages' hold tolerance (relative above 1,
absolute below): each earlier stage is held within 1e-6, so two solves of the same sequence may
differ by that much on either side, and a smaller gain cannot be told from it."""


def target_groups(plan: Plan) -> dict[str, list[str]]:
    """The targets flagged as met by output with no use, grouped by what they count (a
    product, or a sector's products): {product or sector: [target ids]}."""
    flags = flag_frame(plan.plausibility or {})
    flagged = flags[flags["kind"] == "target_unused"]["what"].astype(str)
    if flagged.empty:
        return {}
    targets = plan.tables["targets"].set_index("id")
    groups: dict[str, list[str]] = {}
    for target in flagged:
        row = targets.loc[target]
        what = row["product"] if isinstance(row["product"], str) else row["sector"]
        groups.setdefault(str(what), []).append(target)
    return groups


def lowered(economy: Economy, plan: Plan, targets: list[str]) -> Economy:
    """``economy`` with each of ``targets`` asking only for what the plan uses: its amount
    times one less the unused share of it (the flag's share), whatever its basis."""
    flags = flag_frame(plan.plausibility or {})
    unused = flags[flags["kind"] == "target_unused"].set_index("what")["share"]
    table = economy.tables["targets"].copy()
    at = table["id"].isin(targets).to_numpy()
    # the unused share of a target is at most all of it: lowered to nothing, never below
    share = np.clip(table.loc[at, "id"].map(unused).to_numpy(dtype=float), 0.0, 1.0)
    table.loc[at, "amount"] = table.loc[at, "amount"].to_numpy(dtype=float) * (1.0 - share)
    tables = {**economy.tables, "targets": table}
    return Economy(economy.settings, MappingProxyType(tables))


def target_costs(
    economy: Economy,
    plan: Plan,
    replan: Callable[[Economy], Plan],
    say: Callable[[str], None] = lambda _: None,
) -> pd.DataFrame:
    """The cost of every group of targets met by unused output (:func:`target_groups`): the
    plan of ``economy`` with the group lowered (:func:`lowered`), made by ``replan``, against
    ``plan``, stage by stage (COLUMNS). A lowered plan that is not optimal and verified gives
    one row for its group, with no stage and the plan's status as its unit."""
    stages = {s["name"]: s for s in plan.info.get("stages", [])}
    rows: list[dict[str, Any]] = []
    groups = target_groups(plan)
    for number, (products, targets) in enumerate(groups.items(), start=1):
        say(
            f"target costs ({number} of {len(groups)}): "
            f"{', '.join(targets)} lowered to what is used"
        )
        try:
            other = replan(lowered(economy, plan, targets))
        except SolveError as error:
            other = Plan({"status": f"not solved: {error}"})
        if not other.ok:
            # say so rather than leave the group out: the reader asked for its cost
            rows.append(
                {
                    "products": products,
                    "targets": ", ".join(targets),
                    "stage": "",
                    "unit": f"no verified plan ({other.status})",
                    "objective": np.nan,
                    "lowered": np.nan,
                    "gain": np.nan,
                    "first": False,
                }
            )
            continue
        found = {s["name"]: s for s in other.info.get("stages", [])}
        first = True
        for name, stage in stages.items():
            if name not in found:
                continue
            before, after = float(stage["objective"]), float(found[name]["objective"])
            sign = 1.0 if stage["sense"] == "max" else -1.0
            gain = sign * (after - before)
            significant = abs(gain) > TOLERANCE * max(1.0, abs(before))
            counts = significant and gain > 0
            rows.append(
                {
                    "products": products,
                    "targets": ", ".join(targets),
                    "stage": name,
                    "unit": str(stage.get("unit", "")),
                    "objective": before,
                    "lowered": after,
                    "gain": gain if significant else 0.0,
                    "first": bool(counts and first),
                }
            )
            first = first and not counts
    return pd.DataFrame(rows, columns=COLUMNS)


def cost_text(costs: pd.DataFrame, target: str) -> str:
    """What lowering ``target``'s group to what is used gains, in words: the first stage that
    gains, then what follows from it."""
    group = costs[costs["targets"].str.split(", ").map(lambda ids: target in ids)]
    if group.empty:
        return ""
    if (group["stage"] == "").any():
        return (
            f"re-solved with {group['targets'].iloc[0]} lowered to what is used: "
            f"{group['unit'].iloc[0]}, so its cost is not known"
        )
    moved = group[group["gain"] != 0]
    if moved.empty:
        return (
            f"re-solved with {group['targets'].iloc[0]} lowered to what is used: no stage gains "
            "beyond its tolerance (meeting it in full costs nothing)"
        )
    first, then = moved[moved["first"]], moved[~moved["first"]]
    text = f"re-solved with {group['targets'].iloc[0]} lowered to what is used, the plan gains "
    text += _gains(first) if len(first) else "nothing in any stage beyond its tolerance"
    if len(then):
        text += f" (and then {_gains(then)})"
    return text


def _gains(frame: pd.DataFrame) -> str:
    return ", ".join(
        f"{row['stage']} {_gain(float(row['gain']), str(row['unit']))}"
        for row in frame.to_dict(orient="records")
    )


def _gain(value: float, unit: str) -> str:
    size = abs(value)
    digits = f"{size:,.0f}" if size >= 100 else f"{size:.3g}"
    return f"{'+' if value >= 0 else '-'}{digits} {unit}"


def with_target_costs(plan: Plan, costs: pd.DataFrame) -> Plan:
    """``plan`` with ``costs`` as its table ``target_costs`` and in the reasons of its
    target_unused flags."""
    tables = {**plan.tables, "target_costs": costs}
    info = {**plan.info, "tables": sorted(tables), "target_costs": _summary(costs)}
    return replace(plan, info=info, tables=tables, plausibility=costed(plan.plausibility, costs))


def costed(report: dict[str, Any] | None, costs: pd.DataFrame) -> dict[str, Any]:
    """A plausibility report (plausibility.json) whose target_unused flags say, after their
    reason, what ``costs`` found."""
    report = dict(report or {})
    flags = []
    for flag in report.get("flags", []):
        if flag.get("kind") == "target_unused":
            text = cost_text(costs, str(flag["what"]))
            if text:
                reason = str(flag.get("reason") or "")
                flag = {**flag, "reason": f"{reason}; {text}" if reason else text}
        flags.append(flag)
    report["flags"] = flags
    return report


def _summary(costs: pd.DataFrame) -> list[dict[str, Any]]:
    first = costs[costs["first"]]
    return [
        {
            "products": str(r["products"]),
            "targets": str(r["targets"]).split(", "),
            "stage": str(r["stage"]),
            "gain": float(r["gain"]) if np.isfinite(r["gain"]) else None,
            "unit": str(r["unit"]),
        }
        for r in first.to_dict(orient="records")
    ]
