"""Self-sufficiency shares (self_sufficiency.csv), a constraint family added as one module:
the plan meets each share, its valuation is the closed form's, and verification recomputes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from econplan.plan import verify
from econplan.validate import load_economy
from test_plan import METHODS, build, plan_of, target

TWO_GOODS = {
    "products": "id,unit,sector,kind\na,t,s,good\nb,t,s,good\nlabour,person-year,s,labour\n",
    "processes": "id,sector,main_product\npa,s,a\npb,s,b\n",
    "process_io": "process,product,flow,amount\n"
    "pa,a,output,1\npa,labour,input,1\npb,b,output,1\npb,labour,input,1\n",
    "final_demand": "category,product,region,basis,amount\n"
    "public_services,a,r,absolute,100\npublic_services,b,r,absolute,100\n",
    "facilities": "id,region,process,capacity\nfa,r,pa,1000\nfb,r,pb,1000\n",
    "trade": "product,import_price\na,1\nb,2\n",
    "targets": "id,product,year,measure,amount,kind\nmade_a,a,2021,production,0,tier1\n",
}
"""100 t of each of two goods wanted, 150 person-years of labour, one a unit: 50 t must come
from abroad, at 1 a tonne for a and 2 for b. The imports stage buys a: spending 50, a 50%
self-sufficient. At least 80% of a made at home: a made 80, bought 20; b made 70, bought 30;
spending 20 + 60 = 80, and each more tonne of a made at home costs 2 - 1 = 1 more abroad."""


def economy(folder: Path, shares: str | None) -> Path:
    tables = dict(TWO_GOODS)
    if shares is not None:
        tables["self_sufficiency"] = shares
    return build(folder, objective="labour", labour=150.0, credit_line=1e6, **tables)


def test_without_a_share_the_cheaper_import_is_bought(tmp_path: Path) -> None:
    plan = plan_of(economy(tmp_path / "free", None))
    trade = plan.tables["trade"].set_index("product")["imports"]
    assert trade.get("a", 0.0) == pytest.approx(50.0, abs=1e-6)
    assert plan.info["objectives"]["imports"] == pytest.approx(50.0, abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_a_share_is_met_at_its_closed_form(tmp_path: Path, method: str) -> None:
    plan = plan_of(economy(tmp_path / "share", "product,share\na,0.8\n"), method)
    assert target(plan, "made_a")["planned"] == pytest.approx(80.0, abs=1e-6)
    trade = plan.tables["trade"].set_index("product")["imports"]
    assert (trade["a"], trade["b"]) == pytest.approx((20.0, 30.0), abs=1e-6)
    assert plan.info["objectives"]["imports"] == pytest.approx(80.0, abs=1e-6)
    checks = plan.info["verification"]["checks"]
    assert checks["self-sufficiency"]["count"] == 1
    val = plan.tables["valuations"]
    row = val[(val["stage"] == "imports") & (val["constraint"] == "self_sufficiency")]
    assert len(row) == 1
    # one unit more of the row (a's production less 80% of its use) is one more tonne of a
    # made at home: 1 more spent abroad
    assert abs(float(row["valuation"].iloc[0])) == pytest.approx(1.0, rel=1e-6)
    assert row["unit"].iloc[0] == "product unit"


def test_a_dated_share_replaces_the_undated_one_in_its_year(tmp_path: Path) -> None:
    shares = "product,year,share\na,,0.8\na,2021,0.6\n"
    plan = plan_of(economy(tmp_path / "dated", shares))
    assert target(plan, "made_a")["planned"] == pytest.approx(60.0, abs=1e-6)


def test_verification_finds_a_share_not_met(tmp_path: Path) -> None:
    folder = economy(tmp_path / "tamper", "product,share\na,0.8\n")
    plan = plan_of(folder)
    tables = dict(plan.tables)
    trade = tables["trade"].copy()
    at = trade["product"] == "a"
    trade.loc[at, "imports"] = trade.loc[at, "imports"] + 10.0  # 10 t more bought
    tables["trade"] = trade
    checks = verify(load_economy(folder), tables).to_dict()["checks"]
    # 80% of 110 t used is 88 t, of which 80 t were made: 8 t short of 110
    assert checks["self-sufficiency"]["max_violation"] == pytest.approx(8 / 110, rel=1e-9)
    assert checks["self-sufficiency"]["worst"] == "a nation 2021"
