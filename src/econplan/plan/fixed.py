"""Parts of a plan held fixed: bounds on activity and investment starts, and targets held as
hard, for planning again once part of the horizon has happened.

Nothing here knows where the bounds come from (reports, a planner's decision, a scenario):
:mod:`econplan.execution.replan` turns fulfilment reports into a ``Fixed``. The bounds go
into the problem as column bounds, into verification as checks of their own (the plan's
``fixed_activity`` and ``fixed_investment`` tables) and into plan.json as ``fixed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ACTIVITY_KEY = ["process", "region", "year"]
INVESTMENT_KEY = ["option", "start_year"]


def _bounds_frame(key: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in key})
    return frame.assign(lower=pd.Series(dtype=float), upper=pd.Series(dtype=float))


@dataclass(frozen=True)
class Fixed:
    """Bounds a plan must keep, beyond the economy's own constraints.

    ``activity``: process, region, year, lower, upper (lower == upper for a fact);
    ``investment``: option, start_year, lower, upper (units of the option started);
    ``hard_targets``: ids of targets held as hard whatever their kind in the economy (what a
    plan under way has promised: it must keep them or say, with a diagnosis, why it cannot);
    ``released_targets``: ids of targets no longer enforced (those of a year wholly past:
    whether they were met is a fact, not something left to plan); the plan still measures and
    reports them, as weighted targets of weight zero;
    ``closed_years``: years wholly past, where every activity is a reported fact and facts
    never balance exactly: the plan may let their balances fall short (a use the reported
    output could not have supplied, a claim left unmet), as little as it can (its first
    stage), and reports the gaps in its ``discrepancy`` table;
    ``as_of``: what the bounds stand for, recorded in plan.json (for a re-plan, the last month
    reported, "YYYY-MM").

    A row whose column the problem does not have (a process that cannot run in the region, an
    option that cannot start that year) is accepted when its lower bound is zero, as that
    column is zero anyway, and refused otherwise.
    """

    activity: pd.DataFrame = field(default_factory=lambda: _bounds_frame(ACTIVITY_KEY))
    investment: pd.DataFrame = field(default_factory=lambda: _bounds_frame(INVESTMENT_KEY))
    hard_targets: tuple[str, ...] = ()
    released_targets: tuple[str, ...] = ()
    closed_years: tuple[int, ...] = ()
    as_of: str | None = None

    def __post_init__(self) -> None:
        for name, key in (("activity", ACTIVITY_KEY), ("investment", INVESTMENT_KEY)):
            frame: pd.DataFrame = getattr(self, name)
            missing = [c for c in [*key, "lower", "upper"] if c not in frame.columns]
            if missing:
                message = f"Fixed.{name}: no column {', '.join(missing)}"
                raise ValueError(message)
            lower = frame["lower"].to_numpy(dtype=float)
            upper = frame["upper"].to_numpy(dtype=float)
            if np.isnan(lower).any() or np.isnan(upper).any() or (lower > upper).any():
                message = f"Fixed.{name}: a bound is missing or its lower bound exceeds its upper"
                raise ValueError(message)
            if frame.duplicated(key).any():
                message = f"Fixed.{name}: a {', '.join(key)} appears more than once"
                raise ValueError(message)
            tidy = frame[[*key, "lower", "upper"]].astype(
                {key[0]: object, key[-1]: "int64", "lower": float, "upper": float}
            )
            if name == "activity":
                tidy = tidy.astype({"region": object})
            tidy = tidy.sort_values(key, kind="stable")
            object.__setattr__(self, name, tidy.reset_index(drop=True))
        object.__setattr__(self, "hard_targets", tuple(sorted(set(self.hard_targets))))
        object.__setattr__(self, "released_targets", tuple(sorted(set(self.released_targets))))
        object.__setattr__(self, "closed_years", tuple(sorted({int(y) for y in self.closed_years})))
        both = set(self.hard_targets) & set(self.released_targets)
        if both:
            message = f"Fixed: targets both held as hard and released: {', '.join(sorted(both))}"
            raise ValueError(message)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The bounds as plan tables, so that a written plan carries them and
        ``econplan verify`` checks them again."""
        targets = pd.DataFrame(
            {
                "target": [*self.hard_targets, *self.released_targets],
                "held": ["hard"] * len(self.hard_targets)
                + ["released"] * len(self.released_targets),
            },
            dtype=object,
        )
        return {
            "fixed_activity": self.activity,
            "fixed_investment": self.investment,
            "fixed_targets": targets,
        }

    def summary(self) -> dict[str, Any]:
        """What plan.json says of what was fixed."""
        activity = self.activity
        facts = int((activity["lower"] == activity["upper"]).sum())
        return {
            "as_of": self.as_of,
            "activity": {"rows": len(activity), "facts": facts},
            "investment": {"rows": len(self.investment)},
            "hard_targets": list(self.hard_targets),
            "released_targets": list(self.released_targets),
            "closed_years": list(self.closed_years),
        }
