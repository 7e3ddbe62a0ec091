"""Verification of a plan against its economy, independent of the LP.

Every balance, capacity, investment limit, link, trade cap, foreign-exchange limit, resource
limit, labour limit, hard target and bound the plan was made to keep (its ``fixed_activity``
and ``fixed_investment`` tables, when it has them) is recomputed from the plan's tables (activity,
investment, shipments, trade, stocks, resources, consumption levels) and the economy's own
tables, with pandas group-bys rather than the problem's matrix, so a mistake in assembling the
problem, a solver's tolerance or a table altered after the solve shows up as a violation. Each
constraint family recomputes its own (its ``check``, :mod:`econplan.plan.families`); this
module checks the signs of every table and runs them.

A violation is relative: how far the constraint is broken, divided by the size of what it
holds (the larger of its bound and its gross flows, and at least 1 unit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.checking import label
from econplan.plan.families.claims import BLOCK
from econplan.plan.families.registry import FAMILIES


@dataclass(frozen=True)
class Verification:
    checks: pd.DataFrame
    """One row per check: check, count (constraints checked), max_violation, worst (what
    is most violated)."""

    @property
    def max_violation(self) -> float:
        return float(self.checks["max_violation"].max()) if len(self.checks) else 0.0

    def ok(self, limit: float = 1e-6) -> bool:
        return self.max_violation <= limit

    def to_dict(self) -> dict[str, object]:
        return {
            "max_violation": self.max_violation,
            "checks": {
                str(check): {"count": int(count), "max_violation": float(worst), "worst": what}
                for check, count, worst, what in zip(
                    self.checks["check"],
                    self.checks["count"],
                    self.checks["max_violation"],
                    self.checks["worst"],
                    strict=True,
                )
            },
        }


def _violation(excess: pd.Series, size: pd.Series, labels: pd.Series) -> tuple[float, str]:
    """The largest relative excess and what it is."""
    if len(excess) == 0:
        return 0.0, ""
    relative: np.ndarray = np.nan_to_num(
        (excess.clip(lower=0) / np.maximum(size.abs(), 1.0)).to_numpy(dtype=float), nan=np.inf
    )
    worst = int(np.argmax(relative))
    return float(relative[worst]), str(labels.iloc[worst]) if relative[worst] > 0 else ""


PLAN_TABLES: dict[str, dict[str, str]] = {
    "activity": {"process": "process", "region": "region", "year": "year", "activity": "amount"},
    "investment": {
        "option": "option",
        "start_year": "integer",
        "units": "amount",
        "process": "any",
        "region": "any",
        "facility": "any",
        "ready_year": "integer",
    },
    "shipments": {
        "product": "product",
        "link": "link",
        "origin": "region",
        "destination": "region",
        "year": "year",
        "amount": "amount",
    },
    "trade": {
        "product": "product",
        "region": "region",
        "year": "year",
        "imports": "amount",
        "exports": "amount",
    },
    "stocks": {"product": "product", "region": "region", "year": "year", "stock": "amount"},
    "resources": {"product": "product", "region": "region", "year": "year", "draw": "amount"},
    "consumption": {"product": "product", "region": "region", "year": "year", "amount": "amount"},
    "consumption_level": {"region": "region", "year": "year", "level": "amount"},
    "targets": {"id": "target", "planned": "amount"},
}
"""The plan tables verification reads, their columns and what each column holds. The columns
that name things (all but amounts) are the table's key: each combination appears once."""


def table_problems(economy: Economy, tables: dict[str, pd.DataFrame]) -> list[str]:
    """What makes ``tables`` unfit to be verified as a plan of ``economy``: a missing table or
    column, text where numbers belong, numbers that are not finite, names the economy does not
    know, a key that appears twice. Empty when verification can run."""
    e = economy
    known: dict[str, set[str]] = {
        kind: set(e.tables[table]["id"].astype(str))
        for kind, table in (
            ("process", "processes"),
            ("region", "regions"),
            ("product", "products"),
            ("option", "investments"),
            ("link", "links"),
            ("target", "targets"),
        )
    }
    known["year"] = {str(year) for year in e.years}
    problems: list[str] = []
    for name, columns in PLAN_TABLES.items():
        frame = tables.get(name)
        if frame is None:
            problems.append(f"{name}: the table is missing")
            continue
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            problems.append(f"{name}: no column {', '.join(absent)}")
            continue
        for column, kind in columns.items():
            values = frame[column]
            if kind in ("amount", "integer", "year"):
                if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                    problems.append(f"{name}.{column}: holds {values.dtype}, not numbers")
                    continue
                bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
                if bad.any():
                    problems.append(
                        f"{name}.{column}: {int(bad.sum())} value(s) missing or not finite"
                    )
                    continue
            if kind in known:
                unknown = sorted(set(values.dropna().astype(str)) - known[kind])
                if unknown or values.isna().any():
                    what = ", ".join(unknown[:3]) if unknown else "an empty cell"
                    problems.append(f"{name}.{column}: {what}, not a {kind} of the economy")
        keys = [c for c, kind in columns.items() if kind not in ("amount", "any")]
        if not problems and frame.duplicated(keys).any():
            twice = frame[frame.duplicated(keys)].iloc[0][keys].tolist()
            problems.append(f"{name}: {' '.join(map(str, twice))} appears more than once")
    if not problems:
        problems += _investment_problems(e, tables["investment"])
    return problems


def _investment_problems(e: Economy, investment: pd.DataFrame) -> list[str]:
    """What a plan says an option builds (process, region, facility, year ready) must be what
    the economy says: verification counts capacity from these columns."""
    options = e.tables["investments"].set_index("id").reindex(investment["option"])
    facility_region = e.tables["facilities"].set_index("id")["region"]
    region = options["region"].where(
        options["region"].notna(),
        pd.Series(facility_region.reindex(options["facility"]).to_numpy(), index=options.index),
    )
    expected = {
        "process": options["process"].to_numpy(dtype=object),
        "region": region.to_numpy(dtype=object),
        "facility": options["facility"].to_numpy(dtype=object),
        "ready_year": investment["start_year"].to_numpy(dtype=float)
        + options["lead_time"].fillna(1).to_numpy(dtype=float),
    }
    for column, wanted in expected.items():
        found = investment[column].to_numpy(dtype=object)
        differs = [
            i
            for i, (a, b) in enumerate(zip(found, wanted, strict=True))
            if not (pd.isna(a) and pd.isna(b)) and str(a) != str(b) and a != b
        ]
        if differs:
            i = differs[0]
            return [
                f"investment.{column}: option {investment['option'].iloc[i]} is said to give "
                f"{found[i]!r}, where the economy says {wanted[i]!r}"
            ]
    return []


def verify(economy: Economy, tables: dict[str, pd.DataFrame]) -> Verification:
    """Recompute every constraint of the plan in ``tables`` and measure what is broken."""
    e = economy
    rows: list[tuple[str, int, float, str]] = []

    def record(check: str, excess: pd.Series, size: pd.Series, labels: pd.Series) -> None:
        worst, what = _violation(excess, size, labels)
        rows.append((check, len(excess), worst, what))

    # non-negativity of what cannot be negative
    for table, column in (
        ("activity", "activity"),
        ("investment", "units"),
        ("shipments", "amount"),
        ("trade", "imports"),
        ("trade", "exports"),
        ("stocks", "stock"),
        ("consumption_level", "level"),
        ("discrepancy", "amount"),
        (BLOCK, "shortfall"),
    ):
        if table not in tables:  # discrepancy: a re-plan's, when it closed a year
            continue
        frame = tables[table]
        record(
            f"non-negative {table}.{column}",
            -frame[column],
            frame[column] * 0,
            label(frame, list(frame.columns[:3])),
        )

    # every family's own constraints, recomputed from the tables
    for family in FAMILIES:
        if family.check is not None:
            family.check(e, tables, record)

    found = pd.DataFrame(rows, columns=["check", "count", "max_violation", "worst"])
    # one line per check: the counts add up, the worst of its parts is its worst
    worst = found.sort_values("max_violation", ascending=False, kind="stable")
    worst = worst.drop_duplicates("check").set_index("check")
    checks = pd.DataFrame(found.groupby("check", sort=False, as_index=False)["count"].sum())
    checks["max_violation"] = worst["max_violation"].reindex(checks["check"]).to_numpy()
    checks["worst"] = worst["worst"].reindex(checks["check"]).to_numpy()
    return Verification(checks)
