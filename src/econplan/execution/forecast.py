"""The year's outcome of a monthly plan, forecast from the months reported so far.

Each series (a facility's output of a product, a product in a region, ...) is the monthly
fulfilment ratio ``r_t = actual_t / plan_t``, modelled as a local level (a random walk seen
through noise)::

    r_t     = mu_t + eps_t,      eps_t ~ N(0, s2_irregular)
    mu_t+1  = mu_t + eta_t,      eta_t ~ N(0, s2_level)
    mu_1    ~ N(1, prior_var)    (the plan is the prior: an enterprise starts on plan)

One bad month moves the level by the Kalman gain times the miss (a fraction of it) while a
lasting shift moves it month after month, which is what lets alerts tell the two apart.

The filter runs over all series at once (arrays of series x months; the only loop is over
the twelve months). Series of one level (facilities, regions, ...) share their two variances:
a handful of months per series cannot identify them, a few hundred series together can. They
are the posterior mode with a weakly informative log-normal prior on each variance, so the
estimate stays sensible in January, when there is one month to learn from.

The outcome of the year as of month m, with ``A`` what was reported and ``u_f`` the plan not
yet reported for month f (all of it after m), is ``A + sum_f u_f r_f``; its mean and variance
(lags ``L_f = max(f - m, 0)``, so ``Cov(mu_f, mu_g) = P + min(L_f, L_g) s2_level``)::

    mean = A + a * U,    U = sum_f u_f
    var  = P U^2 + s2_level * sum_{j>=1} (sum_{f: L_f >= j} u_f)^2 + s2_irregular * sum_f u_f^2

where ``a, P`` are the filtered level and its variance at m.

A month far off its forecast enters the update clipped at ``CLIP`` standard deviations
(Huber's robust filter): what it actually delivered still counts in ``A``, but it cannot drag
the level of the months ahead with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

LOG_2PI = float(np.log(2 * np.pi))
CLIP = 2.5
"""Huber's clip for monitoring, in standard deviations of the innovation: 2.5 leaves 99% of
Gaussian months untouched."""


@dataclass(frozen=True)
class LocalLevel:
    """A local-level model of the monthly fulfilment ratio, with known variances."""

    irregular: float
    """Variance of one month's ratio about its level (s2_irregular)."""
    level: float
    """Variance of the level's step from one month to the next (s2_level)."""
    prior_mean: float = 1.0
    prior_var: float = 0.01
    """The level before any report: on plan, give or take 10%."""
    clip: float = np.inf
    """Innovations beyond this many standard deviations move the level as if they were this
    far (Huber's clipping): one month far off plan (a breakdown, a late delivery booked next
    month) moves the level by at most ``gain * clip * sd``, while a lasting shift keeps
    moving it month after month. ``inf`` is the plain Gaussian filter."""

    @property
    def steady_gain(self) -> float:
        """The gain the filter settles to on a long fully observed series: the root of
        ``K = (P + q) / (P + q + 1)`` in units of s2_irregular, ``q = s2_level / s2_irregular``,
        which is ``(-q + sqrt(q^2 + 4q)) / 2`` for the predicted variance ratio."""
        q = self.level / self.irregular
        predicted = (q + np.sqrt(q * q + 4 * q)) / 2
        return float(predicted / (predicted + 1))


@dataclass(frozen=True)
class Filtered:
    """The filter's output for S series over T months: ``level[s, t]`` and ``variance[s, t]``
    are the level's mean and variance given months up to t (a month without an observation
    only adds s2_level); ``loglik[s]`` is each series' log-likelihood."""

    level: np.ndarray
    variance: np.ndarray
    loglik: np.ndarray


def kalman_filter(ratios: np.ndarray, model: LocalLevel) -> Filtered:
    """Filter ``ratios`` (series x months, NaN where a month has no observation)."""
    ratios = np.atleast_2d(np.asarray(ratios, dtype=float))
    series, months = ratios.shape
    mean = np.full(series, model.prior_mean)
    var = np.full(series, model.prior_var)
    level = np.empty((series, months))
    variance = np.empty((series, months))
    loglik = np.zeros(series)
    for t in range(months):
        if t:
            var = var + model.level
        y = ratios[:, t]
        seen = ~np.isnan(y)
        total = var + model.irregular
        gain = np.where(seen, var / total, 0.0)
        miss = np.where(seen, y - mean, 0.0)
        z = np.abs(miss) / np.sqrt(total)
        # Huber's loss: the Gaussian's z^2 / 2 up to the clip, linear beyond
        within = np.minimum(z, model.clip)
        loss = 0.5 * within * within + within * (z - within)
        loglik -= np.where(seen, 0.5 * (LOG_2PI + np.log(total)) + loss, 0.0)
        limit = model.clip * np.sqrt(total)
        mean = mean + gain * np.clip(miss, -limit, limit)
        var = var * (1 - gain)
        level[:, t], variance[:, t] = mean, var
    return Filtered(level, variance, loglik)


@dataclass(frozen=True)
class Prior:
    """Weakly informative log-normal priors on the two variances: their medians are a month's
    noise of 5% and a drift of 2% a month, each give or take a factor e (one sd of the log of
    the standard deviation)."""

    irregular_sd: float = 0.05
    level_sd: float = 0.02
    spread: float = 1.0

    def penalty(self, log_variances: np.ndarray) -> float:
        centre = 2 * np.log([self.irregular_sd, self.level_sd])
        z = (log_variances - centre) / (2 * self.spread)
        return float(0.5 * np.sum(z * z))


def estimate(
    ratios: np.ndarray, prior: Prior | None = None, prior_var: float = 0.01, clip: float = CLIP
) -> LocalLevel:
    """The two variances shared by the series in ``ratios``: the mode of the pooled
    likelihood times ``prior`` (a two-parameter search over log-variances). With a finite
    ``clip`` the likelihood is Huber's, so that a few wild months do not inflate the
    variances of every series of the level."""
    prior = prior or Prior()
    ratios = np.atleast_2d(np.asarray(ratios, dtype=float))
    start = 2 * np.log([prior.irregular_sd, prior.level_sd])

    def objective(log_variances: np.ndarray) -> float:
        irregular, level = np.exp(log_variances)
        model = LocalLevel(float(irregular), float(level), prior_var=prior_var, clip=clip)
        return -float(kalman_filter(ratios, model).loglik.sum()) + prior.penalty(log_variances)

    if not np.isfinite(ratios).any():
        found = start
    else:
        found = optimize.minimize(objective, start, method="L-BFGS-B", bounds=[(-25.0, 5.0)] * 2).x
    irregular, level = np.exp(found)
    return LocalLevel(float(irregular), float(level), prior_var=prior_var, clip=clip)


@dataclass(frozen=True)
class Outcome:
    """The year's outcome as of each month: arrays of series x months (column m is the
    forecast made with months 1..m+1 reported)."""

    mean: np.ndarray
    sd: np.ndarray

    def probability_below(self, amount: np.ndarray) -> np.ndarray:
        """P(outcome < amount); ``amount`` broadcasts against series x months."""
        sd = np.where(self.sd > 0, self.sd, 1.0)
        below = stats.norm.cdf((amount - self.mean) / sd)
        return np.where(self.sd > 0, below, (self.mean < amount).astype(float))


def year_outcome(
    plan: np.ndarray,
    reported_plan: np.ndarray,
    actual: np.ndarray,
    model: LocalLevel,
    filtered: Filtered | None = None,
) -> Outcome:
    """The outcome of the year as forecast at the end of each of the first ``M`` months.

    ``plan`` is series x 12 (the whole year); ``reported_plan`` and ``actual`` are series x M
    (the plan of what was reported in each month, and what it reports). The ratio of a month
    is ``actual / reported_plan`` where anything of it was reported.
    """
    plan = np.asarray(plan, dtype=float)
    reported_plan = np.asarray(reported_plan, dtype=float)
    actual = np.asarray(actual, dtype=float)
    series, year = plan.shape
    months = actual.shape[1]
    if filtered is None:
        filtered = kalman_filter(ratios_of(reported_plan, actual), model)
    mean = np.empty((series, months))
    var = np.empty((series, months))
    unreported_past = np.cumsum(plan[:, :months] - reported_plan, axis=1)
    done = np.cumsum(actual, axis=1)
    # tail[:, j] = plan from month j on (0-based), so that sum_{f: L_f >= j} u_f at as-of m
    # is tail[:, m + j - 1]
    tail = np.cumsum(plan[:, ::-1], axis=1)[:, ::-1]
    tail_squares = np.cumsum((tail * tail)[:, ::-1], axis=1)[:, ::-1]
    plan_squares = np.cumsum((plan * plan)[:, ::-1], axis=1)[:, ::-1]
    partial = plan[:, :months] - reported_plan
    past_squares = np.cumsum(partial * partial, axis=1)
    for m in range(months):
        ahead = m + 1
        future = tail[:, ahead] if ahead < year else np.zeros(series)
        total = unreported_past[:, m] + future
        a, P = filtered.level[:, m], filtered.variance[:, m]
        drift = tail_squares[:, ahead] if ahead < year else np.zeros(series)
        squares = past_squares[:, m] + (plan_squares[:, ahead] if ahead < year else 0.0)
        mean[:, m] = done[:, m] + a * total
        var[:, m] = P * total * total + model.level * drift + model.irregular * squares
    return Outcome(mean, np.sqrt(np.maximum(var, 0.0)))


def ratios_of(reported_plan: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Monthly fulfilment ratios; NaN where nothing planned was reported on."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reported_plan > 0, actual / reported_plan, np.nan)
