"""The ensemble's results from its members' small tables: the probability that each target is
met, quantiles (fan charts) of key outputs and of consumption, the limits that bind most
often, and the members without a plan, with why.

Pure functions of the member results: the same members give the same tables whichever
workers planned them and in whatever order (members are sorted first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.ensemble.member import MemberResult

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

SETTLED = ("optimal", "infeasible")
"""Statuses that say something of the economy: a verified plan, or none possible."""
Z95 = 1.959963984540054
"""The standard normal's 97.5% point: Wilson's 95% interval of a probability."""


def wilson(successes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's 95% score interval of a binomial probability (sound near 0 and 1, where the
    normal approximation gives intervals outside [0, 1])."""
    n = np.asarray(n, dtype=float)
    p = np.divide(successes, n, out=np.zeros_like(n), where=n > 0)
    z2 = Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n**2)) / (1 + z2 / n)
    # at 0 and n the interval ends at 0 and 1 exactly, not at a rounding error from them
    low = np.where(successes <= 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(successes >= n, 1.0, np.clip(centre + half, 0, 1))
    return low, high


def _frame(results: list[MemberResult], part: str) -> pd.DataFrame:
    rows = [
        {"member": r.member, **row}
        for r in sorted(results, key=lambda r: r.member)
        for row in getattr(r, part)
    ]
    return pd.DataFrame(rows)


def target_probabilities(results: list[MemberResult], targets: pd.DataFrame) -> pd.DataFrame:
    """Per target: in how many members it is met and the probability, with Wilson's 95%
    interval, over the members whose economy was settled: those with a verified plan, and
    those where the hard targets cannot all hold (infeasible: no plan exists, so no target
    is met). A member the solver could not settle (failed, unverified) says nothing about
    the economy and is left out, not counted as a miss; ``members`` says how many count."""
    counted = [r for r in results if r.status in SETTLED]
    n = len(counted)
    met = _frame(counted, "targets")
    table = targets[["id", "product", "sector", "region", "year", "kind", "amount", "unit"]].copy()
    if met.empty:
        counts = pd.Series(0, index=table["id"])
        fulfilment = pd.DataFrame(index=table["id"], columns=["mean", "p05"], dtype=float)
    else:
        counts = met.groupby("id")["met"].sum().reindex(table["id"]).fillna(0)
        grouped = met.groupby("id")["fulfilment"]
        fulfilment = pd.DataFrame({"mean": grouped.mean(), "p05": grouped.quantile(0.05)})
        fulfilment = fulfilment.reindex(table["id"])
    table["members"] = n
    table["met"] = counts.to_numpy(dtype=int)
    table["probability"] = table["met"] / n if n else np.nan
    low, high = wilson(table["met"].to_numpy(dtype=float), np.full(len(table), n))
    table["low95"], table["high95"] = low, high
    table["fulfilment_mean"] = fulfilment["mean"].to_numpy(dtype=float)
    table["fulfilment_p05"] = fulfilment["p05"].to_numpy(dtype=float)
    return table.sort_values(["probability", "year", "id"], kind="stable").reset_index(drop=True)


def quantiles(results: list[MemberResult]) -> pd.DataFrame:
    """Quantiles of national output of the targets' products and of the consumption level,
    by year (and region), over the members with a plan."""
    parts = []
    outputs = _frame(results, "outputs")
    if not outputs.empty:
        out = outputs.rename(columns={"product": "item", "amount": "value"})
        parts.append(out.assign(what="output", region=""))
    levels = _frame(results, "consumption")
    if not levels.empty:
        parts.append(levels.rename(columns={"level": "value"}).assign(what="consumption", item=""))
    columns = ["what", "item", "region", "year", "members", "mean"] + [
        f"q{round(q * 100):02d}" for q in QUANTILES
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    values = pd.concat(parts, ignore_index=True)
    grouped = values.groupby(["what", "item", "region", "year"], sort=True)["value"]
    table = grouped.agg(members="count", mean="mean")
    for q in QUANTILES:
        table[f"q{round(q * 100):02d}"] = grouped.quantile(q)
    return table.reset_index()[columns]


def binding_frequency(results: list[MemberResult]) -> pd.DataFrame:
    """The limits that bind, by how many members (with a plan) they bind in; among those
    binding as often, the earlier stage first (a plan's bottlenecks come stage by stage, the
    first stages mattering most), so the imports stage's standing limits do not hide what
    holds back the targets and consumption."""
    binding = _frame(results, "binding")
    columns = ["stage", "constraint", "item", "region", "year", "members", "share"]
    if binding.empty:
        return pd.DataFrame(columns=columns)
    planned = sum(1 for r in results if r.binding or r.targets)
    keys = ["stage", "constraint", "item", "region", "year"]
    table = binding.fillna({"region": "", "item": ""}).groupby(keys, dropna=False)["member"]
    counted = table.nunique().rename("members").reset_index()
    counted["share"] = counted["members"] / max(planned, 1)
    order = {stage: k for k, stage in enumerate(pd.unique(binding["stage"]))}
    counted["_order"] = counted["stage"].map(order)
    counted = counted.sort_values(["_order", "members"], ascending=[True, False], kind="stable")
    return counted.reset_index(drop=True)[columns]


def member_table(results: list[MemberResult]) -> pd.DataFrame:
    """Every member: status, seconds, what struck it and, without a plan, why."""
    rows = []
    for r in sorted(results, key=lambda r: r.member):
        rows.append(
            {
                "member": r.member,
                "status": r.status,
                "seconds": r.seconds,
                "shocks": "; ".join(d["what"] for d in r.drawn),
                "consumption": r.objectives.get("consumption", np.nan),
                "max_violation": r.max_violation,
                "reason": r.reason.splitlines()[0] if r.reason else "",
            }
        )
    return pd.DataFrame(rows)
