"""Monitoring: the local-level filter against closed forms and statsmodels, alerts that ignore
one bad month and catch a drift, and the downstream propagation on a chain with known shares
and at 10^5 products."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from econplan.execution.alerts import RULES, Rule, run_rule
from econplan.execution.forecast import LocalLevel, estimate, kalman_filter, year_outcome
from econplan.execution.monitor import MonitorError, monitor
from econplan.execution.risk import FlowGraph

YEAR = 2022


def control_frame(plans: dict[str, float], region: str = "north", product: str = "steel"):
    """Flat monthly plans for facilities making one product."""
    rows = [
        (facility, region, "smelting", product, YEAR, month, "output", amount / 12)
        for facility, amount in plans.items()
        for month in range(1, 13)
    ]
    columns = ["facility", "region", "process", "product", "year", "month", "kind", "amount"]
    return pd.DataFrame(rows, columns=columns)


def reports_frame(actuals: dict[str, list[float]], product: str = "steel") -> pd.DataFrame:
    rows = [
        (f"{facility}-{m + 1:02d}", facility, f"{YEAR}-{m + 1:02d}", "output", product, amount)
        for facility, amounts in actuals.items()
        for m, amount in enumerate(amounts)
    ]
    return pd.DataFrame(rows, columns=["report", "facility", "period", "kind", "product", "amount"])


def noisy_fleet(months: int, seed: int = 3, count: int = 40) -> dict[str, list[float]]:
    """Facilities on plan give or take 3% a month: the background that lets the variances be
    estimated, as a real ministry's reports would."""
    rng = np.random.default_rng(seed)
    return {f"f{i:03d}": list(100 * (1 + 0.03 * rng.standard_normal(months))) for i in range(count)}


def fleet_plans(count: int = 40) -> dict[str, float]:
    return {f"f{i:03d}": 1200.0 for i in range(count)}


# -- the filter ---------------------------------------------------------------------------------


def test_filter_matches_statsmodels_local_level() -> None:
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    rng = np.random.default_rng(7)
    y = 1 + np.cumsum(0.02 * rng.standard_normal(24)) + 0.05 * rng.standard_normal(24)
    y[[5, 11]] = np.nan
    model = LocalLevel(irregular=0.05**2, level=0.02**2, prior_mean=1.0, prior_var=0.01)
    ours = kalman_filter(y[None, :], model)
    reference = UnobservedComponents(y, level="local level")
    reference.initialize_known(np.array([1.0]), np.array([[0.01]]))
    result = reference.filter(np.array([model.irregular, model.level]))
    np.testing.assert_allclose(ours.level[0], result.filtered_state[0], atol=1e-9)
    np.testing.assert_allclose(ours.variance[0], result.filtered_state_cov[0, 0], atol=1e-9)
    # statsmodels leaves the first observation out of llf (its burn-in for a diffuse start);
    # with a known start every observation counts, as llf_obs has them
    assert ours.loglik[0] == pytest.approx(result.llf_obs.sum(), abs=1e-6)


def test_gain_settles_to_the_steady_state_closed_form() -> None:
    model = LocalLevel(irregular=0.04, level=0.01)
    filtered = kalman_filter(np.ones((1, 60)), model)
    predicted = filtered.variance[0, -2] + model.level
    assert predicted / (predicted + model.irregular) == pytest.approx(model.steady_gain, abs=1e-9)
    # q = 1/4: P/s2 = (q + sqrt(q^2 + 4q)) / 2 = (0.25 + sqrt(1.0625)) / 2
    ratio = (0.25 + np.sqrt(1.0625)) / 2
    assert model.steady_gain == pytest.approx(ratio / (ratio + 1), abs=1e-12)


def test_outcome_variance_matches_simulation() -> None:
    """The closed form of the year's variance against the model simulated forward."""
    model = LocalLevel(irregular=0.03**2, level=0.02**2)
    plan = np.linspace(80, 120, 12)[None, :]
    months = 5
    actual = plan[:, :months] * 0.95
    reported = plan[:, :months].copy()
    reported[0, 2] = 0.0  # month 3 not reported: forecast at lag 0
    actual[0, 2] = 0.0
    outcome = year_outcome(plan, reported, actual, model)
    filtered = kalman_filter(
        np.where(reported > 0, actual / np.maximum(reported, 1), np.nan), model
    )
    a, P = filtered.level[0, -1], filtered.variance[0, -1]
    rng = np.random.default_rng(0)
    draws = 200_000
    level = a + np.sqrt(P) * rng.standard_normal(draws)
    total = actual.sum() + plan[0, 2] * (
        level + np.sqrt(model.irregular) * rng.standard_normal(draws)
    )
    for f in range(months, 12):
        level = level + np.sqrt(model.level) * rng.standard_normal(draws)
        total += plan[0, f] * (level + np.sqrt(model.irregular) * rng.standard_normal(draws))
    assert outcome.mean[0, -1] == pytest.approx(total.mean(), rel=1e-3)
    assert outcome.sd[0, -1] == pytest.approx(total.std(), rel=1e-2)


def test_estimate_recovers_variances_from_pooled_series() -> None:
    rng = np.random.default_rng(11)
    series, months = 400, 9
    level = 1 + np.cumsum(0.02 * rng.standard_normal((series, months)), axis=1)
    ratios = level + 0.05 * rng.standard_normal((series, months))
    model = estimate(ratios)
    assert np.sqrt(model.irregular) == pytest.approx(0.05, rel=0.15)
    assert np.sqrt(model.level) == pytest.approx(0.02, rel=0.3)


# -- monitoring ---------------------------------------------------------------------------------


def test_series_exactly_on_plan() -> None:
    plans = fleet_plans(3)
    reports = reports_frame({f: [100.0] * 6 for f in plans})
    result = monitor(control_frame(plans), reports, f"{YEAR}-06")
    status = result.status
    assert set(status["level"]) == {"facility", "product", "region", "nation"}
    np.testing.assert_allclose(status["fulfilment"], 1.0)
    np.testing.assert_allclose(status["forecast"], status["plan_year"], rtol=1e-12)
    facility = status[status["level"] == "facility"]
    np.testing.assert_allclose(facility["plan_to_date"], 600.0)
    assert status.loc[status["level"] == "nation", "forecast"].item() == pytest.approx(1.0)
    assert result.alerts.empty


def test_one_bad_month_does_not_fire() -> None:
    actuals = noisy_fleet(9)
    actuals["f000"] = [100.0] * 9
    actuals["f000"][3] = 60.0  # a bad April, then back on plan
    result = monitor(control_frame(fleet_plans()), reports_frame(actuals), f"{YEAR}-09")
    alerts = result.alerts
    assert not ((alerts["series"] == "f000") & (alerts["state"] != "pending")).any()
    assert not (alerts["state"] == "firing").any()


def test_a_drift_fires_within_the_pending_period() -> None:
    actuals = noisy_fleet(9)
    actuals["f000"] = [100.0] * 3 + [85.0] * 6  # 15% below from April on
    result = monitor(control_frame(fleet_plans()), reports_frame(actuals), f"{YEAR}-09")
    alerts = result.alerts
    mine = alerts[(alerts["series"] == "f000") & (alerts["rule"] == "behind_plan")]
    assert len(mine) == 1
    alert = mine.iloc[0]
    assert alert["state"] == "firing"
    fired = int(alert["fired"][5:])
    since = int(alert["since"][5:])
    behind = next(r for r in RULES if r.name == "behind_plan")
    assert since >= 4 and fired == since + behind.pending
    assert fired <= 4 + 2 + behind.pending  # the condition holds within two months of the drift
    assert alert["shortfall"] > 0
    assert alert["escalation"] in ("region", "ministry", "centre")
    # nobody else is alerted
    assert set(alerts.loc[alerts["level"] == "facility", "series"]) == {"f000"}
    # ids are stable across runs
    again = monitor(control_frame(fleet_plans()), reports_frame(actuals), f"{YEAR}-09").alerts
    assert list(again["id"]) == list(alerts["id"])


def test_state_machine_pending_firing_resolved_and_escalation() -> None:
    rule = Rule("r", 0.05, 0.8, pending=1, resolve=2, resolve_probability=0.5,
                severity="warning", escalation=(2, 4, 6))  # fmt: skip
    # month:        0    1    2    3    4    5    6    7    8    9
    p = np.array([[0.1, 0.9, 0.9, 0.9, 0.7, 0.2, 0.3, 0.9, 0.6, 0.9]])
    episodes = run_rule(rule, p, np.array([0]))
    first, second = episodes.sort_values("since").to_dict(orient="records")
    # pending in month 1, fires in 2; 0.7 is within the hysteresis band (neither fires nor
    # clears), so it resolves after the two clear months 5 and 6
    assert (first["since"], first["fired"], first["resolved"]) == (1, 2, 6)
    assert first["state"] == "resolved"
    assert first["months_firing"] == 4
    assert first["escalation"] == "ministry"  # four months firing: past region (2), ministry (4)
    # pending again in month 7, back to inactive in 8 (pending is not sticky), pending in 9
    assert (second["since"], second["fired"], second["state"]) == (9, -1, "pending")
    assert second["escalation"] == "enterprise"


def test_bad_period() -> None:
    with pytest.raises(MonitorError, match="YYYY-MM"):
        monitor(control_frame(fleet_plans(1)), reports_frame({}), "2022-13")


def test_monitor_is_fast_at_scale() -> None:
    """~300 facilities x 3 products and every aggregate in well under a few seconds."""
    rng = np.random.default_rng(5)
    frames, reports = [], []
    for p, product in enumerate(["coal", "steel", "cement"]):
        plans = {f"f{p}{i:03d}": 1200.0 for i in range(300)}
        frames.append(control_frame(plans, region=f"r{p}", product=product))
        actual = {f: list(100 * (1 + 0.05 * rng.standard_normal(8))) for f in plans}
        reports.append(reports_frame(actual, product=product))
    began = time.perf_counter()
    result = monitor(pd.concat(frames), pd.concat(reports), f"{YEAR}-08")
    elapsed = time.perf_counter() - began
    assert len(result.status) == 900 + 3 + 3 + 1
    assert elapsed < 5.0


# -- downstream risk ----------------------------------------------------------------------------


def chain_graph() -> FlowGraph:
    """A -> B -> C in one region: B is half made from A (the other half imported), C is made
    only from B; all of A goes to B's process, all of B to C's."""
    nodes = pd.MultiIndex.from_product([["a", "b", "c"], ["r"]], names=["product", "region"])
    # processes: 0 makes a, 1 makes b from a, 2 makes c from b
    outputs = sp.csr_matrix(np.array([[10.0, 0, 0], [0, 5.0, 0], [0, 0, 4.0]]))
    uses = sp.csr_matrix(np.array([[0, 1.0, 0], [0, 0, 1.0], [0, 0, 0]]))
    supply = np.array([10.0, 10.0, 4.0])  # b: 5 made + 5 imported
    production = np.array([10.0, 5.0, 4.0])
    return FlowGraph(nodes, supply, production, outputs, uses, sp.csr_matrix((3, 3)))


def test_chain_shares_in_closed_form() -> None:
    graph = chain_graph()
    start = np.array([[0.2], [0.0], [0.0]])  # A 20% short
    lost = graph.propagate(start)
    # B's process loses 20% of activity: 1 of b's 10 lost (10%); C loses 10%
    np.testing.assert_allclose(lost[:, 0], [0.2, 0.1, 0.1], atol=1e-12)
    made_lost = graph.production_lost(lost, np.array([[2.0], [0.0], [0.0]]))
    np.testing.assert_allclose(made_lost[:, 0], [2.0, 1.0, 0.4], atol=1e-12)


def test_propagation_at_a_hundred_thousand_products() -> None:
    """A random sparse economy of 10^5 products, in seconds: no node loses more than the
    shortfall's own fraction, and the losses lie below the linear bound where losses through
    several inputs add up (a GMRES solve of (I - G) f = f0)."""
    n, k = 100_000, 5
    rng = np.random.default_rng(0)
    rows = rng.integers(0, n, n * k)
    cols = np.repeat(np.arange(n), k)
    uses = sp.csr_matrix((np.ones(n * k), (rows, cols)), shape=(n, n))
    uses.sum_duplicates()
    uses.data[:] = 1.0
    production = rng.uniform(1, 2, n)
    outputs = sp.csr_matrix(sp.diags(production))
    supply = production * k * 2.0  # each process makes under half its product's supply / k
    nodes = pd.MultiIndex.from_arrays([np.arange(n).astype(str), np.full(n, "r")])
    graph = FlowGraph(nodes, supply, production, outputs, uses, sp.csr_matrix((n, n)))
    start = np.zeros((n, 1))
    start[17, 0] = 0.3
    began = time.perf_counter()
    lost = graph.propagate(start)
    elapsed = time.perf_counter() - began
    G = sp.diags(1 / supply) @ outputs @ uses.T
    # the oracle: a Krylov solve of the same system (a sparse LU fills in at this size)
    exact, info = spla.gmres(sp.identity(n, format="csr") - G.tocsr(), start[:, 0], rtol=1e-13)
    assert info == 0
    assert lost[17, 0] >= 0.3 and lost[:, 0].max() <= 0.3 + 1e-12
    assert (lost[:, 0] <= exact + 1e-9).all()
    assert (lost[:, 0] > 1e-6).sum() > 100  # it did spread
    assert elapsed < 5.0


@pytest.fixture(scope="module")
def builtin(builtin_plan_dir: Path):
    from econplan import load_economy
    from econplan.plan import load_plan

    return load_economy(), load_plan(builtin_plan_dir)


def spread_over_facilities(economy, plan, year: int) -> pd.DataFrame:
    """Control figures from the plan: each process's activity in a region shared among its
    facilities there by capacity, times the main product's yield, flat over the months."""
    activity = plan.activity
    act = activity[(activity["year"] == year) & (activity["activity"] > 0)]
    facilities = economy.facilities.reset_index()
    share = facilities["capacity"] / facilities.groupby(["process", "region"])[
        "capacity"
    ].transform("sum")
    facilities = facilities.assign(share=share)
    merged = act.merge(facilities[["id", "process", "region", "share"]], on=["process", "region"])
    main = economy.processes["main_product"]
    io = economy.process_io
    yields = io[(io["flow"] == "output")].set_index(["process", "product"])["amount"]
    merged["product"] = main.reindex(pd.Index(merged["process"])).to_numpy()
    keys = pd.MultiIndex.from_frame(merged[["process", "product"]])
    merged["amount"] = merged["activity"] * merged["share"] * yields.reindex(keys).to_numpy()
    months = pd.DataFrame({"month": range(1, 13)})
    control = merged.merge(months, how="cross")
    return pd.DataFrame(
        {
            "facility": control["id"],
            "region": control["region"],
            "process": control["process"],
            "product": control["product"],
            "year": year,
            "month": control["month"],
            "kind": "output",
            "amount": control["amount"] / 12,
        }
    )


def test_builtin_plan_shortfall_puts_targets_at_risk(builtin) -> None:
    economy, plan = builtin
    year = 2021
    control = spread_over_facilities(economy, plan, year)
    planned = control[control["month"] <= 7]
    rng = np.random.default_rng(2)
    actual = planned.assign(
        amount=planned["amount"] * (1 + 0.02 * rng.standard_normal(len(planned)))
    )
    # every anthracite mine 20% short from March
    coal = (actual["product"] == "anthracite") & (actual["month"] >= 3)
    actual.loc[coal, "amount"] *= 0.8
    reports = pd.DataFrame(
        {
            "report": actual["facility"] + "-" + actual["month"].astype(str),
            "facility": actual["facility"],
            "period": [f"{year}-{m:02d}" for m in actual["month"]],
            "kind": "output",
            "product": actual["product"],
            "amount": actual["amount"],
        }
    )
    result = monitor(control, reports, f"{year}-07", economy=economy, plan=plan)
    firing = result.alerts[result.alerts["state"] == "firing"]
    national = firing[(firing["level"] == "product") & (firing["product"] == "anthracite")]
    assert len(national) >= 1
    assert set(national["escalation"]) <= {"ministry", "centre"}
    risk = result.at_risk[result.at_risk["alert"].isin(national["id"])]
    targets = risk[risk["kind"] == "target"]
    assert "coal_2021" in set(targets["id"])  # the coal sector's own target
    assert (targets["share"] > 0).all() and (targets["share"] <= 1).all()
    # ranked by share within each alert
    for _, group in targets.groupby("alert"):
        assert list(group["share"]) == sorted(group["share"], reverse=True)
        assert list(group["rank"]) == list(range(1, len(group) + 1))
    products = risk[risk["kind"] == "product"]
    # losses spread without compounding: nothing loses more than the mines' own cut (20%
    # from March: 11-13% of the year's anthracite, by region)
    assert len(products) and products["share"].max() < 0.2
    assert result.to_dict()["as_of"] == f"{year}-07"
