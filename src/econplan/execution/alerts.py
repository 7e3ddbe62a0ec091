"""Alert rules as data, and the state machine that runs them month by month.

The conventions are Prometheus's: a rule's condition must hold for ``pending`` months before
the alert fires (``for``), a firing alert resolves only after its condition has been clear for
``resolve`` months (``keep_firing_for``), with a lower probability to clear than to fire (a
hysteresis band, so that a forecast hovering at the threshold does not flap), and each rule has
a severity. An alert left firing climbs the ladder enterprise -> region -> ministry -> centre.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

LADDER = ("enterprise", "region", "ministry", "centre")
"""Who an alert is addressed to, in the order it escalates."""

STATES = ("inactive", "pending", "firing", "resolved")


@dataclass(frozen=True)
class Rule:
    """One alert rule.

    The condition: P(the year's outcome < plan x (1 - threshold)) > probability.
    """

    name: str
    threshold: float
    """Shortfall of the year's plan that counts (0.05: more than 5% below plan)."""
    probability: float
    """Probability of that shortfall above which the condition holds."""
    pending: int
    """Months the condition holds before the alert fires (Prometheus's ``for``)."""
    resolve: int
    """Months the condition stays clear before a firing alert resolves."""
    resolve_probability: float
    """Probability below which the condition counts as clear (below ``probability``)."""
    severity: str
    escalation: tuple[int, int, int]
    """Months firing before the alert goes up to the region, the ministry, the centre."""

    def __post_init__(self) -> None:
        problem = None
        if not 0 < self.threshold < 1:
            problem = f"threshold must lie between 0 and 1, not {self.threshold}"
        elif not 0 < self.resolve_probability <= self.probability < 1:
            problem = "need 0 < resolve_probability <= probability < 1"
        elif self.pending < 0 or self.resolve < 1:
            problem = "pending must be at least 0 and resolve at least 1 month"
        elif list(self.escalation) != sorted(self.escalation) or min(self.escalation) < 0:
            problem = f"escalation months must rise: {self.escalation}"
        if problem:
            message = f"alert rule {self.name!r}: {problem}"
            raise ValueError(message)


RULES = (
    Rule(
        name="behind_plan",
        threshold=0.05,
        probability=0.8,
        pending=2,
        resolve=2,
        resolve_probability=0.5,
        severity="warning",
        escalation=(2, 4, 6),
    ),
    Rule(
        name="far_behind_plan",
        threshold=0.15,
        probability=0.8,
        pending=1,
        resolve=2,
        resolve_probability=0.5,
        severity="critical",
        escalation=(1, 2, 3),
    ),
)
"""The default rules: a likely miss of more than 5% warns after two months pending; a likely
miss of more than 15% is critical after one, and climbs the ladder a month at a time."""

ALERT_COLUMNS = [
    "id",
    "rule",
    "severity",
    "state",
    "since",
    "fired",
    "resolved",
    "months_firing",
    "escalation",
]


def alert_id(*key: object) -> str:
    """A short id from the alert's key: the same alert has the same id in every run."""
    text = "|".join("" if k is None else str(k) for k in key)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_rule(rule: Rule, probability: np.ndarray, start: np.ndarray) -> pd.DataFrame:
    """The alerts of one rule over series x months of P(shortfall), as episodes.

    ``start[s]`` is the rung of the ladder series s starts on (0 enterprise ... 3 centre).
    Returns one row per episode that fired or is pending at the last month: ``series``
    (row of ``probability``), ``since``, ``fired``, ``resolved`` (0-based months, -1 when
    not), ``state`` at the last month, ``months_firing`` and ``escalation``.
    """
    series, months = probability.shape
    state = np.zeros(series, dtype=int)  # 0 inactive, 1 pending, 2 firing
    held = np.zeros(series, dtype=int)  # months the condition has held (pending)
    clear = np.zeros(series, dtype=int)  # months clear while firing
    since = np.full(series, -1)
    fired = np.full(series, -1)
    done: list[pd.DataFrame] = []
    for t in range(months):
        p = probability[:, t]
        on = p > rule.probability
        off = p < rule.resolve_probability
        # inactive or pending: count the months the condition holds, fire after `pending`
        waiting = state <= 1
        starting = waiting & on & (state == 0)
        since = np.where(starting, t, since)
        held = np.where(waiting & on, held + 1, 0)
        fires = waiting & on & (held > rule.pending)
        fired = np.where(fires, t, fired)
        state = np.where(waiting, np.where(fires, 2, np.where(on, 1, 0)), state)
        # firing: resolve after `resolve` clear months
        firing = (state == 2) & ~fires
        clear = np.where(firing & off, clear + 1, np.where(firing, 0, clear))
        resolves = firing & (clear >= rule.resolve)
        if resolves.any():
            done.append(_episodes(rule, np.flatnonzero(resolves), since, fired, t, start, t))
        state = np.where(resolves, 0, state)
        clear = np.where(resolves, 0, clear)
        since = np.where(state == 0, -1, since)
        fired = np.where(state == 0, -1, fired)
    live = np.flatnonzero(state > 0)
    done.append(_episodes(rule, live, since, fired, -1, start, months - 1))
    return pd.concat(done, ignore_index=True)


def _episodes(
    rule: Rule,
    rows: np.ndarray,
    since: np.ndarray,
    fired: np.ndarray,
    resolved: int,
    start: np.ndarray,
    now: int,
) -> pd.DataFrame:
    """Episodes of ``rows``: resolved at month ``resolved`` (-1: still open at ``now``)."""
    was_fired = fired[rows] >= 0
    months_firing = np.where(was_fired, now - fired[rows] + (1 if resolved < 0 else 0), 0)
    rung = start[rows] + np.searchsorted(np.asarray(rule.escalation), months_firing, "right")
    rung = np.where(was_fired, np.minimum(rung, len(LADDER) - 1), start[rows])
    state = np.where(resolved >= 0, "resolved", np.where(was_fired, "firing", "pending"))
    return pd.DataFrame(
        {
            "series": rows,
            "since": since[rows],
            "fired": fired[rows],
            "resolved": np.full(len(rows), resolved),
            "state": state,
            "months_firing": months_firing,
            "escalation": np.asarray(LADDER, dtype=object)[rung],
        }
    )


def evaluate(
    rules: Sequence[Rule], probability_of: dict[float, np.ndarray], start: np.ndarray
) -> pd.DataFrame:
    """Every rule over its own threshold's probabilities (``probability_of[threshold]``)."""
    frames = []
    for rule in rules:
        episodes = run_rule(rule, probability_of[rule.threshold], start)
        frames.append(episodes.assign(rule=rule.name, severity=rule.severity))
    return pd.concat(frames, ignore_index=True)
