"""Drawing a member's shocks: for each [[shock]] entry and each year it may strike, whether it
strikes and how hard, turned into the scenario changes that say the same.

Each (member, shock, year) draws from a generator of its own, seeded by the ensemble's seed
and those three numbers, so a member is the same whichever worker plans it and in whatever
order, and editing one shock leaves the draws of the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from econplan.ensemble.read import SHOCK, Ensemble, Shock
from econplan.model.economy import Economy
from econplan.scenario import Change, ScenarioError, ScenarioProblem, apply_changes
from econplan.scenario.spec import as_list


@dataclass(frozen=True)
class Drawn:
    """One shock that struck a member: the [[shock]] entry, the year and the number drawn."""

    shock: int
    kind: str
    year: int
    value: float
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "shock": self.shock,
            "kind": self.kind,
            "year": self.year,
            "value": self.value,
            "what": self.what,
        }


def sample(rng: np.random.Generator, spec: Any) -> float:
    """One number from a draw field: a number, [low, high] or a distribution's table."""
    if isinstance(spec, int | float):
        return float(spec)
    if isinstance(spec, list):
        spec = {"distribution": "uniform", "low": spec[0], "high": spec[-1]}
    name = spec["distribution"]
    if name == "uniform":
        return float(rng.uniform(spec["low"], spec["high"]))
    if name == "triangular":
        low, mode, high = float(spec["low"]), float(spec["mode"]), float(spec["high"])
        return low if low == high else float(rng.triangular(low, mode, high))
    value = float(rng.normal(spec["mean"], spec["sd"]))
    return float(np.clip(value, spec.get("low", -np.inf), spec.get("high", np.inf)))


def _years(shock: Shock, economy: Economy) -> range:
    settings = economy.settings
    years = shock.get("years")
    if years is None:
        return range(settings.first_year, settings.last_year + 1)
    first, last = (years, years) if isinstance(years, int) else years
    return range(max(first, settings.first_year), min(last, settings.last_year) + 1)


def import_cap(economy: Economy, product: str, year: int) -> float:
    """The base economy's import cap of ``product`` in ``year`` (NaN: none)."""
    trade = economy.tables["trade"]
    mine = trade[trade["product"] == product]
    dated = mine[(mine["year"] == year).fillna(False)]
    row = dated if len(dated) else mine[mine["year"].isna()]
    return float(row["import_cap"].iloc[0]) if len(row) else float("nan")


def draw_member(
    ensemble: Ensemble, economy: Economy, member: int, always: bool = False
) -> tuple[tuple[Change, ...], tuple[Drawn, ...]]:
    """The changes that make member ``member`` of ``ensemble`` from ``economy`` (the
    ensemble's scenario applied), and what was drawn; ``always``: every shock strikes in
    every year it may (to check the shocks against the economy once)."""
    file = str(ensemble.path)
    changes: list[Change] = []
    drawn: list[Drawn] = []
    for shock in ensemble.shocks:
        struck: list[Drawn] = []
        for year in _years(shock, economy):
            rng = np.random.default_rng([ensemble.seed, member, shock.position, year])
            strikes = rng.random() < float(shock.get("probability", 1.0)) or always
            spec = shock.get({"harvest": "factor", "typhoon": "lost"}.get(shock.kind, "cut"))
            value = sample(rng, spec)
            if strikes:
                struck.append(Drawn(shock.position, shock.kind, year, value, ""))
        if not struck:
            continue
        made, whats = MAKE[shock.kind](shock, economy, struck)
        # each as the scenario change that says the same (its kind among the fields)
        changes += [Change(file, shock.position, f.pop("kind"), f) for f in made]
        drawn += [replace(d, what=what) for d, what in zip(struck, whats, strict=True)]
    return tuple(changes), tuple(drawn)


Made = tuple[list[dict[str, Any]], list[str]]
"""The scenario changes (each with its kind) that make the strikes of one shock, and each
strike in words."""


def _harvest(shock: Shock, economy: Economy, struck: list[Drawn]) -> Made:
    where = {k: shock.get(k) for k in ("process", "sector") if shock.get(k) is not None}
    on = shock.get("on", "output")
    made = [
        {"kind": "shock", **where, "years": d.year, "on": on, "factor": d.value} for d in struck
    ]
    hit = "/".join(as_list(next(iter(where.values()))))
    return made, [f"{hit} {on} x{d.value:.3f} in {d.year}" for d in struck]


def _typhoon(shock: Shock, economy: Economy, struck: list[Drawn]) -> Made:
    """Every strike of one typhoon shock as one capacity change with a path of shares: a
    second typhoon takes its share of what the first left (the losses multiply), and a
    facility is split into pieces of fixed capacity once."""
    first, last = struck[0].year, economy.settings.last_year
    recovery = shock.get("recovery_years")
    left = np.ones(last - first + 1)
    for d in struck:
        since = np.arange(first, last + 1) - d.year
        lost = d.value * (1 - np.minimum(since / recovery, 1.0)) if recovery else d.value
        left *= np.where(since >= 0, 1 - lost, 1.0)
    fields: dict[str, Any] = {"kind": "capacity", "region": shock.get("region"), "from": first}
    if shock.get("process") is not None:
        fields["process"] = shock.get("process")
    fields["path"] = [float(s) for s in left]
    region = shock.get("region")
    return [fields], [
        f"typhoon in {region} in {d.year}: {d.value:.0%} of capacity lost" for d in struck
    ]


def _import_cut(shock: Shock, economy: Economy, struck: list[Drawn]) -> Made:
    made = []
    products = as_list(shock.get("product"))
    for d in struck:
        for product in products:
            cap = import_cap(economy, product, d.year) * (1 - d.value)
            made.append({"kind": "trade", "product": product, "years": d.year, "import_cap": cap})
    named = "/".join(products)
    return made, [f"imports of {named} cut by {d.value:.0%} in {d.year}" for d in struck]


MAKE = {"harvest": _harvest, "typhoon": _typhoon, "import_cut": _import_cut}


def check_shocks(ensemble: Ensemble, economy: Economy) -> None:
    """Raise ScenarioError when a shock does not fit ``economy``: an unknown region, process
    or sector, or an import cut on a product without an import cap. Every shock is struck
    once, in every year it may, and applied, so a member can fail only in planning."""
    file = str(ensemble.path)
    problems = []
    for shock in ensemble.shocks:
        if shock.kind != "import_cut":
            continue
        for product in as_list(shock.get("product")):
            if product not in set(economy.tables["products"]["id"]):
                message = f"{product!r} is not a product of the economy"
            elif any(np.isnan(import_cap(economy, product, y)) for y in _years(shock, economy)):
                message = (
                    f"{product!r} has no import cap in trade.csv in some year, so a share of it "
                    "cannot be cut: give the product an import_cap in the base economy (or a "
                    "[[change]] of kind trade), or leave it out"
                )
            else:
                continue
            problems.append(ScenarioProblem(file, shock.position, "product", message, SHOCK))
    if problems:
        raise ScenarioError(problems)
    changes, _ = draw_member(ensemble, economy, 0, always=True)
    # one change per kind and entry is enough to find what does not fit
    firsts: dict[tuple[int, str], Change] = {}
    for change in changes:
        firsts.setdefault((change.position, str(change.get("product", ""))), change)
    try:
        apply_changes(economy, tuple(firsts.values()), ensemble.path)
    except ScenarioError as error:
        raise ScenarioError(
            [
                ScenarioProblem(p.file, p.change, p.key, p.message, SHOCK if p.change else "change")
                for p in error.problems
            ]
        ) from None
