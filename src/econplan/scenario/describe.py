"""What a scenario changes, in words with units (``econplan scenario show``)."""

from __future__ import annotations

from typing import Any

from econplan.model.economy import Economy
from econplan.scenario.changes import Edit, capacity_path
from econplan.scenario.read import Change, Scenario
from econplan.scenario.spec import as_list


def _years(change: Change, key: str = "years", every: str = "every year") -> str:
    given = change.get(key)
    if given is None:
        return every
    if isinstance(given, int):
        return f"in {given}"
    return f"in {given[0]}-{given[1]}"


def _units(economy: Economy, products: list[str]) -> str:
    units = economy.tables["products"].set_index("id")["unit"]
    found = sorted({str(units.get(p, "?")) for p in products})
    return ", ".join(found)


def _list(values: Any) -> str:
    return ", ".join(str(v) for v in as_list(values))


def describe_change(change: Change, economy: Economy) -> str:
    """One line on what ``change`` does to ``economy`` (the economy it applies to)."""
    c = change
    kind = c.kind
    if kind == "targets":
        picked = [
            f"{k} {_list(c.get(k))}" for k in ("id", "product", "region") if c.get(k) is not None
        ]
        hows = []
        if c.get("scale") is not None:
            hows.append(f"amount multiplied by {c.get('scale'):g}")
        if c.get("set") is not None:
            hows.append(f"amount set to {c.get('set'):,g} (in the target's unit)")
        if c.get("target_kind") is not None:
            hows.append(f"kind {c.get('target_kind')}")
        how = ", ".join(hows)
        return f"targets ({'; '.join(picked) or 'all'}, {_years(c)}): {how}"
    if kind == "trade":
        products = as_list(c.get("product"))
        unit = _units(economy, products)
        currency = economy.settings.foreign_currency
        parts = []
        for name, what in (
            ("import_cap", f"imports capped at {{:,g}} {unit} a year"),
            ("export_cap", f"exports capped at {{:,g}} {unit} a year"),
            ("import_price", f"import price {{:,g}} {currency} per {unit}"),
            ("export_price", f"export price {{:,g}} {currency} per {unit}"),
        ):
            if c.get(name) is not None:
                parts.append(what.format(c.get(name)))
        when = _years(c, every="every year of the plan")
        return f"trade of {', '.join(products)} ({when}): {'; '.join(parts)}"
    if kind == "capacity":
        where = (
            f"facilities {_list(c.get('facility'))}"
            if c.get("facility") is not None
            else f"every facility in {c.get('region')} and its sub-regions"
            + (f" running {c.get('process')}" if c.get("process") else "")
        )
        shares = capacity_path(c, Edit(economy.settings, dict(economy.tables)))
        path = ", ".join(f"{y}: {s:.0%}" for y, s in shares.items())
        return f"capacity of {where}: share left {path}"
    if kind == "shock":
        what = (
            f"processes {_list(c.get('process'))}"
            if c.get("process") is not None
            else f"every process of sector {c.get('sector')}"
        )
        side = "inputs" if c.get("on") == "inputs" else "outputs"
        change_pct = (float(c.get("factor")) - 1.0) * 100
        return (
            f"{side} per unit of activity of {what} {_years(c)}: multiplied by "
            f"{c.get('factor'):g} ({change_pct:+.0f}%)"
        )
    if kind == "population":
        return (
            f"population of {_list(c.get('region'))} (with sub-regions) {_years(c)}: "
            f"multiplied by {c.get('factor'):g}"
        )
    if kind == "demand":
        picked = [f"{k} {_list(c.get(k))}" for k in ("category", "product", "region") if c.get(k)]
        return (
            f"final demand ({'; '.join(picked) or 'every row'}) {_years(c)}: multiplied by "
            f"{c.get('factor'):g}"
        )
    if kind == "add":
        rows = c.get("rows")
        ids = [str(r.get("id", r.get("investment", ""))) for r in rows]
        return f"{len(rows)} row(s) added to {c.get('table')}.csv: {', '.join(ids)}"
    if kind == "remove":
        return f"removed from {c.get('table')}.csv: {_list(c.get('id'))}"
    if kind == "self_sufficiency":
        where = f"in {_list(c.get('region'))}" if c.get("region") is not None else "nationally"
        share = float(c.get("share"))
        what = (
            "no longer required"
            if share == 0
            else f"at least {share * 100:g}% of use from own production"
        )
        return f"self-sufficiency in {_list(c.get('product'))} {where} ({_years(c)}): {what}"
    picked = [f"{k} {_list(c.get(k))}" for k in ("category", "product", "region") if c.get(k)]
    return (
        f"claims ({'; '.join(picked) or 'every claim but consumption and reserves'}) may fall "
        f"short, at priority {c.get('priority')} (before the tier-{c.get('priority')} targets)"
    )


def describe(scenario: Scenario, economy: Economy) -> dict[str, Any]:
    """The scenario and each of its changes in words, the first applied first."""
    steps = []
    for step in scenario.chain:
        for change in step.changes:
            line = describe_change(change, economy)
            steps.append(
                {
                    "scenario": step.name,
                    "file": str(step.path),
                    "change": change.position,
                    "kind": change.kind,
                    "what": line,
                    "note": change.get("note", ""),
                }
            )
    base = scenario.economy_path
    return {
        "name": scenario.name,
        "description": scenario.description,
        "file": str(scenario.path),
        "hash": scenario.hash,
        "base": str(base) if base is not None else "built-in",
        "chain": [s.name for s in scenario.chain],
        "changes": steps,
    }
