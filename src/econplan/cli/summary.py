"""What a planner reads first after ``econplan plan``: targets missed or at risk, the
consumption path, unused output, the plausibility flags and the top bottlenecks, in lines that
fit the terminal (rules in :mod:`econplan.cli.text`). The full tables are behind ``--full`` and
in the plan's files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econplan.cli.text import number, share, table, wrap, years_of
from econplan.plan import VALID, Plan
from econplan.plan.plausibility import records

AT_RISK = 0.01
"""A met target with less than 1% to spare is at risk: carrying the plan out 1% short of it
(well within the monitoring alerts' first threshold) misses it."""

TOP_UNUSED = 5
"""Rows of unused output the summary shows; all are in unused.parquet."""


def spare(row: dict[str, Any]) -> float:
    """How far a met target is from its bound, as a share of its amount."""
    required = float(row["required"])
    planned = float(row["planned"])
    if required <= 0:
        return float("inf")
    gap = planned - required if row["sense"] == "at_least" else required - planned
    return gap / required


def target_lines(plan: Plan) -> list[str]:
    targets = plan.info["targets"]
    missed = [t for t in targets if not t["met"]]
    at_risk = [t for t in targets if t["met"] and spare(t) < AT_RISK]
    lines = wrap(
        f"Targets: {len(targets)}; {len(targets) - len(missed)} met, {len(missed)} missed, "
        f"{len(at_risk)} of the met at risk (under {share(AT_RISK)} to spare)."
    )
    if missed:
        lines.append("Missed:")
        lines += table(
            ["target", "kind", "where", "year", "required", "planned", "fulfilled"],
            [
                [
                    str(t["id"]),
                    str(t["kind"]),
                    str(t["region"] or "nation"),
                    str(t["year"]),
                    ("<= " if t["sense"] == "at_most" else "") + number(t["required"]),
                    number(t["planned"], t["required"]),
                    share(t["planned"] / t["required"]) if t["required"] else "-",
                ]
                for t in missed
            ],
        )
    if at_risk:
        lines += wrap("At risk: " + ", ".join(years_of(str(t["id"]) for t in at_risk)) + ".")
    return lines


def consumption_lines(plan: Plan) -> list[str]:
    levels = plan.tables["consumption_level"]
    wide = levels.pivot_table(index="region", columns="year", values="level", aggfunc="sum")
    lines = ["Consumption per head (level of the norms: 1 = the norms):"]
    rows = [[str(region), *(f"{v:.3f}" for v in row.to_numpy())] for region, row in wide.iterrows()]
    distinct = {tuple(r[1:]) for r in rows}
    if len(distinct) == 1 and rows:  # the same path everywhere: say it once
        rows = [[f"all {len(rows)} regions", *rows[0][1:]]]
    lines += table(["region", *(str(y) for y in wide.columns)], rows)
    return lines


def unused_lines(plan: Plan, out: Path) -> list[str]:
    unused = plan.tables.get("unused")
    if unused is None or not len(unused):
        return ["Unused output: none (every unit produced has a use)."]
    top = unused.assign(_order=unused["share"].clip(upper=1e9)).sort_values(
        ["_order", "amount"], ascending=False, kind="stable"
    )
    top = top.head(TOP_UNUSED)
    lines = wrap(
        f"Unused output: {len(unused)} rows ({out}/unused.parquet); the largest shares of "
        "what a region had:"
    )
    lines += table(
        ["product", "where", "year", "unused", "unit", "share", "as"],
        [
            [
                str(r["product"]),
                str(r["region"]),
                str(r["year"]),
                number(r["amount"]),
                str(r["unit"]),
                share(r["share"]),
                "end stock" if r["kind"] == "end_stock" else "surplus",
            ]
            for r in records(top)
        ],
    )
    return lines


def plausibility_count_lines(plan: Plan, out: Path) -> list[str]:
    found = plan.info.get("plausibility")
    if not isinstance(found, dict):
        return []
    counts = ", ".join(f"{k} {v}" for k, v in sorted(found.get("counts", {}).items()))
    return wrap(
        f"Plausibility: {found['flags']} flags, {found['unexplained']} without a stated "
        f"reason ({counts}); `econplan plausibility {out}` lists them."
    )


def bottleneck_lines(plan: Plan, top: int) -> list[str]:
    # binding means worth something at the stage's own scale (tables.bottlenecks), ranked by
    # what relaxing the limit over its range of validity gains
    limits = plan.tables["bottlenecks"]
    order = {s["name"]: i for i, s in enumerate(plan.info["stages"])}
    limits = limits.assign(_stage=limits["stage"].map(order)).sort_values(["_stage", "rank"])
    limits = limits[limits["rank"] <= top]
    tolerance = float(plan.info["solver"]["tolerance"])
    objectives = plan.info["objectives"]
    lines = wrap(
        f"Bottlenecks (top {top} of each stage, ranked by what relaxing each gains over the "
        "range where its valuation holds):"
    )
    if not len(limits):
        return [*lines[:-1], "Bottlenecks: no limit holds any stage back beyond its tolerance."]
    for stage, group in limits.groupby("stage", sort=False):
        lines.append(f"  {stage}:")
        for row in records(group):
            where = " ".join(
                str(p)
                for p in (
                    row["item"],
                    row["region"],
                    f"-> {row['destination']}" if row["destination"] else "",
                    row["year"] or "",
                )
                if p
            )
            per = str(row["per"]).removesuffix(" per unit")
            text = (
                f"{row['constraint']} {where}: {number(row['valuation'])} {per} per {row['unit']}"
            )
            gain = row.get("gain")
            if gain is not None and np.isfinite(gain) and row["valuation"]:
                room = gain / abs(row["valuation"])
                noise = tolerance * max(abs(objectives.get(stage, 0.0)), 1.0)
                gains = (
                    f"gains {number(gain)} {per}"
                    if gain > noise
                    else "gains less than the stages' tolerance"
                )
                more = f"{number(room)} {row['unit']}"
                text += f", for {more} more at most (relaxing it that far {gains})"
            lines += wrap(text, "    ")
    return lines


def stage_lines(plan: Plan) -> list[str]:
    tolerance = float(plan.info["solver"]["tolerance"])
    parts = [
        f"{s['name']} {number(float(s['objective']), tolerance=tolerance)} {s['unit']}"
        for s in plan.info["stages"]
    ]
    solver = plan.info["solver"]
    # plans written before --solver auto say only the method
    how = solver.get("label", f"HiGHS {solver['method']}")
    how += f", {solver['why']}" if "why" in solver else ""
    if "start_why" in solver:  # plans written before the Leontief start do not say
        how += f"; {solver['start_why']}"
    if solver.get("hold") in ("face", "exact"):
        refined = [(s["name"], s.get("refined", {})) for s in plan.info["stages"]]
        # a refine not tried (``why``) is not one that ran out of its budget
        short = [name for name, r in refined if r.get("finished") is False and not r.get("why")]
        untried = [name for name, r in refined if r.get("why")]
        given = [s["name"] for s in plan.info["stages"][:-1] if "held_by" not in s]
        if len(given) == len(plan.info["stages"][:-1]):
            how += "; held by the slack: no optimal face to read (no basis, or whole units)"
        else:
            how += "; each stage held exactly by its optimal face"
        if given and len(given) < len(plan.info["stages"][:-1]):
            how += f" except {' and '.join(given)} (within the tolerance)"
        if short:
            how += f" (not refined within its budget: {', '.join(short)})"
        if untried:
            how += (
                f"; {' and '.join(untried)} held by the face of the optimum as found, "
                "the basis too ill-conditioned to refine"
            )
    return wrap(f"Stages ({how}): " + "; ".join(parts) + ".")


BUDGETS = {"nodes": "nodes (--mip-nodes)", "seconds": "seconds (--mip-seconds)"}
"""The budgets that stop a MIP stage, by plan.json's ``cut_short.by`` (plans written before it
was recorded were stopped by seconds)."""


def _gap(gap: object) -> str:
    """HiGHS's relative MIP gap where a stage stopped, in words (None: it had no bound)."""
    if isinstance(gap, (int, float)) and math.isfinite(gap):
        percent = gap * 100
        return f"{percent:.0f}% from optimal" if percent >= 10 else f"{percent:.2g}% from optimal"
    return "with no bound on how far from optimal"


def whole_lines(plan: Plan) -> list[str]:
    """What building options in whole units did (plan.json's ``integer``)."""
    whole = plan.info.get("integer")
    if not whole:
        return []
    units = {s["name"]: s["unit"] for s in plan.info["stages"]}
    tolerance = float(plan.info["solver"]["tolerance"])
    objectives = plan.info["objectives"]
    costs = [
        f"{number(loss)} {units[stage]} in {stage}"
        for stage, loss in whole["loss"].items()
        if loss > tolerance * max(abs(objectives.get(stage, 0.0)), 1.0)
    ]
    if whole.get("rounding") == "as before":
        how = "the whole units of the plan it revises kept"
    elif whole.get("rounding") == "as the reference":
        how = (
            "the whole units of the reference plan kept (no other whole units tried did "
            "better, stage by stage)"
        )
    elif whole["strategy"] == "exact":
        how = "every stage solved with them whole (exact)"
        short = whole.get("cut_short") or []
        if short:
            how += ", the MIP of " + ", ".join(
                f"{c['stage']} stopped {_gap(c.get('gap'))} at its budget of "
                + BUDGETS.get(str(c.get("by")), BUDGETS["seconds"])
                for c in short
            )
    elif whole["strategy"] == "dive" and whole.get("rounding") is None:
        how = "every stage's LP optimum dived to whole units (dive)"
        dived = whole.get("dived") or []
        settled = [d["stage"] for d in dived if d.get("settled")]
        if settled:
            how += ", " + ", ".join(settled) + " settled at the units of the stage before"
        kept = [d["stage"] for d in dived if d.get("kept")]
        if kept:
            how += (
                f" ({kept[0]}'s LP with them did not settle: the units of the stage before "
                "kept for it and the stages after)"
            )
    else:
        how = f"the relaxation's units rounded {whole['rounding']} and fixed"
    guarded = whole.get("guarded") or []
    if guarded:
        how += (
            f" (the dive of {', '.join(guarded)} ran into its guard of --mip-seconds: on a "
            "slower machine the plan may differ)"
        )
    cost = f"; against the {whole['reference']} this costs " + ", ".join(costs) if costs else ""
    return wrap(
        f"Whole investments: {number(whole['units'])} units over {whole['columns']} option "
        f"start years, {how}{cost}."
    )


def reference_lines(plan: Plan) -> list[str]:
    """What the reference stage did (plan.json's ``reference``)."""
    near = plan.info.get("reference")
    if not near:
        return []
    if not near.get("applied"):
        return wrap(f"Reference {near['plan']}: not applied ({near.get('why', '')}).")
    return wrap(
        f"Reference {near['plan']}: of the plans that keep every objective, the closest to it; "
        f"the distance of {near['matched']:,} activities (relative) "
        f"{number(float(near['distance_before']))} -> {number(float(near['distance']))}."
    )


def plan_summary(plan: Plan, out: Path, top: int) -> list[str]:
    """The summary ``econplan plan`` prints."""
    verification = plan.info["verification"]
    horizon = plan.info["economy"]["horizon"]
    checked = sum(c["count"] for c in verification["checks"].values())
    head = (
        f"{plan.info['economy']['name']}: optimal plan for {horizon[0]}-{horizon[1]}, verified: "
        f"{checked:,} constraints recomputed from its tables hold to {VALID:g} of their size."
    )
    sections = [
        wrap(head),
        target_lines(plan),
        consumption_lines(plan),
        whole_lines(plan),
        reference_lines(plan),
        unused_lines(plan, out),
        plausibility_count_lines(plan, out),
        bottleneck_lines(plan, top),
        stage_lines(plan),
        wrap(
            f"Wrote the plan to {out}/ (plan.json, {len(plan.tables)} tables, "
            "plausibility.json); --full prints the full tables."
        ),
    ]
    lines: list[str] = []
    for section in sections:
        if section:
            lines += [*section, ""]
    return lines[:-1]


FLAG_TITLES = {
    "target_unused": "Targets met by output with no use",
    "unused_output": "Unused output",
    "end_stock": "Stocks carried past the last year",
    "cross_hauling": "Cross-hauling (shipped both ways)",
    "output_change": "Output changes from the year before",
    "utilisation": "Capacity use against the base year",
}


def _flag_text(row: dict[str, Any]) -> str:
    kind = row["kind"]
    unit = row["unit"]
    if kind == "cross_hauling":
        text = (
            f"{row['what']} {row['where']} {row['year']}: {number(row['amount'])} {unit} one "
            f"way, {number(row['against'])} the other"
        )
    elif kind in ("output_change", "utilisation"):
        amount = share(row["amount"]) if kind == "utilisation" else number(row["amount"])
        against = share(row["against"]) if kind == "utilisation" else number(row["against"])
        measure = "" if kind == "utilisation" else f" {unit}"
        change = "+" + share(row["share"]) if row["share"] > 0 else share(row["share"])
        text = (
            f"{row['what']} {row['year']}: {amount}{measure} against {against} ({change}; "
            f"{'base year' if kind == 'utilisation' else 'the year before'})"
        )
    else:
        text = (
            f"{row['what']} {row['where']} {row['year']}: {number(row['amount'])} {unit} "
            f"of {number(row['against'])} ({share(row['share'])})"
        )
    reason = row.get("reason") or "no reason known"
    return f"{text}; {reason}"


def report_lines(report: dict[str, Any], top: int | None) -> list[str]:
    """The plausibility report as text: per kind of flag, the largest first (``top`` of
    each, or all)."""
    flags = pd.DataFrame(report.get("flags", []))
    total = report.get("flags_total", len(flags))
    lines = wrap(
        f"{total} flags, {report.get('unexplained', 0)} without a stated reason (thresholds "
        + ", ".join(f"{k} {v:g}" for k, v in report.get("thresholds", {}).items())
        + ")."
    )
    if not len(flags):
        return lines
    for kind, title in FLAG_TITLES.items():
        found = flags[flags["kind"] == kind]
        if not len(found):
            continue
        found = found.assign(_size=found["share"].abs().fillna(float("inf")))
        found = found.sort_values(["_size", "what", "year"], ascending=[False, True, True])
        shown = found if top is None else found.head(top)
        unexplained = int((found["reason"].fillna("") == "").sum())
        more = f", {len(shown)} shown" if len(shown) < len(found) else ""
        lines += ["", f"{title}: {len(found)}, {unexplained} without a reason{more}"]
        for row in records(shown):
            lines += wrap(_flag_text(row), "  ")
    return lines
