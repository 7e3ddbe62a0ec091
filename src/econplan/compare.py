"""Two plans side by side: what changed from a base plan to another plan of the same or a
related economy (a scenario against its base), and by how much.

Every difference is in the unit of what it measures (the product's unit, the level of the
norms, units of an investment option, foreign currency), and ranked by its size relative to
the base: a change of 30% of what the base plan had comes before one of 5%. Differences
within the plans' tolerance (``solver.tolerance`` in plan.json, relative) are not
differences. Where the second plan's valuations say why, a line explains it: the limit that
binds (capacity of the process, an import cap, foreign exchange) with its valuation.

Plans are often not unique: when a change in one corner moves ties elsewhere (output moved
between two regions with idle capacity), those moves show too. They are kept, since a plan
is what it is, but they come after the rest: first what changed a limit itself (``direct``:
output where the facilities' capacity differs, a target whose amount differs), then what a
binding limit of the second plan explains (``forced``), then the other differences, where
moved ties are; valuations, which are not amounts, come last (docs/scenarios.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from econplan.execution.diff import _valuations as valuation_changes
from econplan.model.economy import Economy
from econplan.plan import Plan
from econplan.plan.output import jsonable

COLUMNS = [
    "section",
    "what",
    "product",
    "region",
    "year",
    "unit",
    "base",
    "other",
    "change",
    "relative",
    "direct",
    "forced",
    "explanation",
]


@dataclass(frozen=True)
class Comparison:
    """``other`` against ``base``: the differences, largest relative change first."""

    names: tuple[str, str]
    differences: pd.DataFrame
    """One row per difference (``COLUMNS``): section (targets, consumption, output, sector
    output, investment, imports, exports, foreign exchange, limits), what (a label), product,
    region, year, unit, base, other, change (other - base), relative (change over the base
    amount; over the other amount where the base has none), direct (a limit itself changed:
    capacity, a target's amount), forced (a limit of the other plan binds there) and
    explanation."""
    objectives: pd.DataFrame
    """stage, base, other, change."""
    tolerance: float

    def section(self, name: str) -> pd.DataFrame:
        return self.differences[self.differences["section"] == name].reset_index(drop=True)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        frame = self.differences if top is None else self.differences.head(top)
        clean = frame.astype(object).where(frame.notna(), None)
        objectives = self.objectives.astype(object).where(self.objectives.notna(), None)
        found: dict[str, Any] = jsonable(
            {
                "base": self.names[0],
                "other": self.names[1],
                "tolerance": self.tolerance,
                "count": len(self.differences),
                "objectives": objectives.to_dict(orient="records"),
                "differences": clean.to_dict(orient="records"),
            }
        )
        return found


def compare_plans(
    base: Plan, other: Plan, economy: Economy, names: tuple[str, str] = ("base", "other")
) -> Comparison:
    """What changed from ``base`` to ``other``; ``economy`` gives products' units and sectors
    (the base plan's economy)."""
    tolerance = max(
        float(base.info.get("solver", {}).get("tolerance", 1e-6)),
        float(other.info.get("solver", {}).get("tolerance", 1e-6)),
    )
    units = economy.tables["products"].set_index("id")["unit"]
    binding = _binding(other)
    parts = [
        _targets(base, other, units, binding),
        _consumption(base, other),
        _output(base, other, economy, binding),
        _sector_output(base, other, economy),
        _investment(base, other),
        _trade(base, other, units, binding),
        _foreign_exchange(base, other, economy),
        _limits(base, other),
    ]
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    size = np.maximum(np.maximum(frame["base"].abs(), frame["other"].abs()), 1.0)
    real = frame["change"].abs() > tolerance * size
    frame = frame[real].copy()
    frame["_size"] = -frame["relative"].abs()
    # losses before gains of the same size: what the change costs is read first
    frame["_sign"] = np.sign(frame["change"])
    # what the change did to a limit itself first, then what a binding limit explains, then
    # the rest (where moved ties are); valuations, which are not amounts, last
    frame["_group"] = np.select(
        [frame["section"] == "limits", frame["direct"].astype(bool), frame["forced"].astype(bool)],
        [3, 0, 1],
        default=2,
    )
    # within what the change did directly, its losses before its gains
    frame["_gain"] = (frame["_group"] == 0) & (frame["change"] > 0)
    frame = frame.sort_values(
        ["_group", "_gain", "_size", "_sign", "section", "what", "year"],
        kind="stable",
        na_position="last",
    )
    frame["explanation"] = (
        frame["explanation"].astype(object).where(frame["explanation"].notna(), None)
    )
    frame = frame[COLUMNS].reset_index(drop=True)
    return Comparison(names, frame, _objectives(base, other), tolerance)


def _frame(rows: pd.DataFrame, section: str, unit: pd.Series | str) -> pd.DataFrame:
    """Rows with base and other amounts, made into differences of ``section``."""
    out = rows.copy()
    out["section"] = section
    out["unit"] = unit if isinstance(unit, str) else unit.to_numpy()
    out["change"] = out["other"] - out["base"]
    scale = out["base"].abs().where(out["base"].abs() > 0, out["other"].abs())
    out["relative"] = out["change"] / scale.where(scale > 0, 1.0)
    for column in COLUMNS:
        if column not in out.columns:
            out[column] = False if column in ("forced", "direct") else None
    return out[COLUMNS]


def _joined(base: pd.DataFrame, other: pd.DataFrame, key: list[str], value: str) -> pd.DataFrame:
    both = base[[*key, value]].merge(
        other[[*key, value]], on=key, how="outer", suffixes=("_base", "_other")
    )
    return both.rename(columns={f"{value}_base": "base", f"{value}_other": "other"}).fillna(
        {"base": 0.0, "other": 0.0}
    )


# -- what binds in the other plan --------------------------------------------------------------
def _binding(plan: Plan) -> pd.DataFrame:
    """The other plan's limits that bind (bottlenecks), earliest stage first."""
    table = plan.tables.get("bottlenecks")
    if table is None:
        return pd.DataFrame(columns=["stage", "constraint", "item", "region", "year", "valuation"])
    return table


def _limit_words(row: pd.Series) -> str:
    where = " ".join(
        str(p) for p in (row["item"], row["region"], row["year"]) if p not in (None, "", 0)
    )
    words = {
        "capacity": "capacity of",
        "imports_cap": "the import cap on",
        "exports_cap": "the export cap on",
        "foreign_exchange": "foreign exchange",
        "link": "the link",
        "resource_yearly": "the yearly limit of",
        "deposit": "the deposit of",
        "investment_limit": "the investment limit of",
    }
    return f"{words.get(str(row['constraint']), str(row['constraint']))} {where}".strip()


def _because(binding: pd.DataFrame, pick: pd.Series) -> str | None:
    found = binding[pick]
    if found.empty:
        return None
    row = found.iloc[0]
    return f"{_limit_words(row)} binds (valuation {row['valuation']:.4g} in stage {row['stage']})"


# -- sections ----------------------------------------------------------------------------------
def _targets(base: Plan, other: Plan, units: pd.Series, binding: pd.DataFrame) -> pd.DataFrame:
    before = pd.DataFrame(base.info.get("targets", []))
    after = pd.DataFrame(other.info.get("targets", []))
    if before.empty or after.empty:
        return pd.DataFrame()
    both = before.merge(
        after[["id", "required", "planned", "met"]], on="id", suffixes=("_base", "_other")
    )
    sign = np.where(both["sense"] == "at_least", 1.0, -1.0)
    short_base = np.maximum(sign * (both["required_base"] - both["planned_base"]), 0.0)
    short_other = np.maximum(sign * (both["required_other"] - both["planned_other"]), 0.0)
    rows = pd.DataFrame(
        {
            "what": "shortfall of target " + both["id"].astype(str),
            "product": both["product"].fillna(both["sector"]),
            "region": both["region"],
            "year": both["year"],
            "base": short_base,
            "other": short_other,
        }
    )
    unit = both["product"].map(units).fillna("").astype(str)
    frame = _frame(rows, "targets", unit)
    # a shortfall's size is relative to the target itself
    required = both["required_base"].abs().where(both["required_base"].abs() > 0, 1.0)
    frame["relative"] = frame["change"].to_numpy() / required.to_numpy()
    explanations = []
    forced = []
    for _, row in both.iterrows():
        kind = str(row["kind"])
        stage = kind if kind.startswith("tier") else None
        line = _because(binding, binding["stage"] == stage) if stage else None
        missed = "now missed" if row["met_base"] and not row["met_other"] else ""
        text = ", ".join(x for x in (missed, f"because {line}" if line else "") if x)
        explanations.append(text or None)
        forced.append(line is not None)
    frame["explanation"] = explanations
    frame["forced"] = forced
    frame["direct"] = (both["required_base"] != both["required_other"]).to_numpy()
    return frame


def _consumption(base: Plan, other: Plan) -> pd.DataFrame:
    if "consumption_level" not in base.tables or "consumption_level" not in other.tables:
        return pd.DataFrame()
    both = _joined(
        base.tables["consumption_level"],
        other.tables["consumption_level"],
        ["region", "year"],
        "level",
    )
    both["what"] = "consumption per head"
    return _frame(both, "consumption", "level of the norms (1 = the norms)")


def _output(base: Plan, other: Plan, economy: Economy, binding: pd.DataFrame) -> pd.DataFrame:
    units = economy.tables["products"].set_index("id")["unit"]
    key = ["product", "region", "year"]
    both = _joined(base.tables["production"], other.tables["production"], key, "amount")
    both["what"] = "output of " + both["product"].astype(str)
    frame = _frame(both, "output", both["product"].map(units).fillna("").astype(str))
    capacity = binding[binding["constraint"] == "capacity"]
    made_by = other.tables.get("activity")
    explanations: list[str | None] = [None] * len(frame)
    forced = np.zeros(len(frame), dtype=bool)
    if made_by is not None and len(capacity):
        # a process of the region whose capacity binds in the year, for the product's loss
        limits = capacity.drop_duplicates(["item", "region", "year"]).reset_index(drop=True)
        limits["_at"] = limits.index
        main = economy.tables["processes"].set_index("id")["main_product"]
        limits = limits.assign(product=limits["item"].map(main))
        index = {
            (p, r, int(y)): row
            for p, r, y, row in zip(
                limits["product"],
                limits["region"],
                limits["year"],
                limits.to_dict("records"),
                strict=True,
            )
        }
        for i, (p, r, y) in enumerate(
            zip(frame["product"], frame["region"], frame["year"], strict=True)
        ):
            row = index.get((p, r, int(y)))
            if row is not None:
                explanations[i] = "because " + str(_because(limits, limits.index == row["_at"]))
                forced[i] = True
    frame["explanation"] = explanations
    frame["forced"] = forced
    frame["direct"] = _capacity_changed(base, other, economy, frame)
    return frame


def _capacity_changed(base: Plan, other: Plan, economy: Economy, frame: pd.DataFrame) -> np.ndarray:
    """Output rows whose product's processes have another capacity in the region and year
    in the two plans (facilities changed by a scenario, not capacity built by the plan)."""
    key = ["process", "region", "year"]
    both = _joined(base.tables["capacity"], other.tables["capacity"], key, "existing")
    size = np.maximum(np.maximum(both["base"].abs(), both["other"].abs()), 1.0)
    changed = both[(both["other"] - both["base"]).abs() > 1e-9 * size]
    main = economy.tables["processes"].set_index("id")["main_product"]
    hit = set(
        zip(
            changed["process"].map(main),
            changed["region"],
            changed["year"].astype(int),
            strict=True,
        )
    )
    return np.array(
        [
            (p, r, int(y)) in hit
            for p, r, y in zip(frame["product"], frame["region"], frame["year"], strict=True)
        ],
        dtype=bool,
    )


def _sector_output(base: Plan, other: Plan, economy: Economy) -> pd.DataFrame:
    products = economy.tables["products"].set_index("id")
    rows = []
    for name, plan in (("base", base), ("other", other)):
        made = plan.tables["production"]
        sector = made["product"].map(products["sector"])
        unit = made["product"].map(products["unit"])
        frame = made.assign(sector=sector, unit=unit)
        # a sector's output adds up only where its products share a unit
        per = frame.groupby(["sector", "year"]).agg(
            amount=("amount", "sum"), units=("unit", "nunique"), unit=("unit", "first")
        )
        per = per[per["units"] == 1].reset_index().assign(plan=name)
        rows.append(per)
    base_rows, other_rows = rows
    both = _joined(base_rows, other_rows, ["sector", "year"], "amount")
    unit = (
        pd.concat([base_rows, other_rows])
        .drop_duplicates(["sector", "year"])
        .set_index(["sector", "year"])["unit"]
    )
    both["what"] = "output of sector " + both["sector"].astype(str)
    both["product"] = both["sector"]
    units = unit.reindex(pd.MultiIndex.from_frame(both[["sector", "year"]])).fillna("").astype(str)
    return _frame(both.drop(columns="sector"), "sector output", units.reset_index(drop=True))


def _investment(base: Plan, other: Plan) -> pd.DataFrame:
    key = ["option", "start_year"]
    both = _joined(base.tables["investment"], other.tables["investment"], key, "units")
    both["what"] = "investment " + both["option"].astype(str)
    both = both.rename(columns={"start_year": "year"})
    return _frame(both.drop(columns="option"), "investment", "units of the option")


def _trade(base: Plan, other: Plan, units: pd.Series, binding: pd.DataFrame) -> pd.DataFrame:
    parts = []
    caps = binding[binding["constraint"].isin(["imports_cap", "exports_cap"])]
    for flow in ("imports", "exports"):
        per = [
            pd.DataFrame(p.tables["trade"].groupby(["product", "year"], as_index=False)[flow].sum())
            for p in (base, other)
        ]
        both = _joined(per[0], per[1], ["product", "year"], flow)
        both["what"] = f"{flow} of " + both["product"].astype(str)
        frame = _frame(both, flow, both["product"].map(units).fillna("").astype(str))
        cap = caps[caps["constraint"] == f"{flow}_cap"]
        lines = []
        for p, y in zip(frame["product"], frame["year"], strict=True):
            lines.append(_because(cap, (cap["item"] == p) & (cap["year"] == y)))
        frame["explanation"] = [f"because {x}" if x else None for x in lines]
        frame["forced"] = [x is not None for x in lines]
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def _foreign_exchange(base: Plan, other: Plan, economy: Economy) -> pd.DataFrame:
    currency = economy.settings.foreign_currency
    before = base.info.get("objectives", {}).get("imports")
    after = other.info.get("objectives", {}).get("imports")
    if before is None or after is None:
        return pd.DataFrame()
    rows = pd.DataFrame(
        {"what": ["import spending over the horizon"], "base": [before], "other": [after]}
    )
    return _frame(rows, "foreign exchange", currency)


def _limits(base: Plan, other: Plan) -> pd.DataFrame:
    changed = valuation_changes(base, other)
    limits = changed[~changed["constraint"].isin(["balance", "target"])]
    if limits.empty:
        return pd.DataFrame()
    rows = pd.DataFrame(
        {
            "what": limits["constraint"].astype(str) + " " + limits["item"].astype(str),
            "product": limits["item"],
            "region": limits["region"],
            "year": limits["year"],
            "base": limits["old"].astype(float),
            "other": limits["new"].astype(float),
        }
    )
    frame = _frame(rows, "limits", limits["per"].astype(str).reset_index(drop=True))
    frame["explanation"] = limits["explanation"].to_numpy()
    frame["forced"] = True
    return frame


def _objectives(base: Plan, other: Plan) -> pd.DataFrame:
    before = base.info.get("objectives", {})
    after = other.info.get("objectives", {})
    stages = list(before) + [s for s in after if s not in before]
    frame = pd.DataFrame(
        {
            "stage": stages,
            "base": [before.get(s, np.nan) for s in stages],
            "other": [after.get(s, np.nan) for s in stages],
        }
    ).astype({"base": float, "other": float})
    return frame.assign(change=frame["other"] - frame["base"])
