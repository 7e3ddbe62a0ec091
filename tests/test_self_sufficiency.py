"""Self-sufficiency shares (self_sufficiency.csv), a constraint family added as one module:
the plan meets each share, its valuation is the closed form's, and verification recomputes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from econplan.errors import EconomyError
from econplan.plan import make_plan, verify
from econplan.scenario import ScenarioError, apply_scenario
from econplan.scenario.describe import describe_change
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


def test_a_regional_share_counts_shipments_in_and_out(tmp_path: Path) -> None:
    """Grain made in a for 0.1 person-year a tonne and in b for 1; 100 t wanted in each. The
    labour stage makes it all in a and ships 100 t to b. At least 60% of b's grain made in b:
    b makes 60 and receives 40 (its use, 100 = 60 + 40, counted with the shipments in), a makes
    140; labour 14 + 60 = 74, and each more tonne made in b costs 1 - 0.1 = 0.9."""
    tables = {
        "products": "id,unit,sector,kind\ngrain,t,s,good\nlabour,person-year,s,labour\n",
        # a farm of each kind, one in each region: labour per tonne differs by region
        "processes": "id,sector,main_product\nfarm_a,s,grain\nfarm_b,s,grain\n",
        "process_io": "process,product,flow,amount\n"
        "farm_a,grain,output,1\nfarm_a,labour,input,0.1\n"
        "farm_b,grain,output,1\nfarm_b,labour,input,1\n",
        "facilities": "id,region,process,capacity\nfa,a,farm_a,1000\nfb,b,farm_b,1000\n",
        "links": "id,origin,destination,mode,capacity,two_way\nab,a,b,rail,1000,true\n",
        "final_demand": "category,product,region,basis,amount\n"
        "public_services,grain,a,absolute,100\npublic_services,grain,b,absolute,100\n",
        "targets": "id,product,region,year,measure,amount,kind\n"
        "grain_b,grain,b,2021,production,0,tier1\n",
    }
    free = plan_of(build(tmp_path / "free", objective="labour", regions=("a", "b"), **tables))
    assert target(free, "grain_b")["planned"] == pytest.approx(0.0, abs=1e-6)
    tables["self_sufficiency"] = "product,region,share\ngrain,b,0.6\n"
    folder = build(tmp_path / "share", objective="labour", regions=("a", "b"), **tables)
    plan = plan_of(folder)
    assert target(plan, "grain_b")["planned"] == pytest.approx(60.0, abs=1e-6)
    ship = plan.tables["shipments"]
    into_b = ship[(ship["destination"] == "b") & (ship["product"] == "grain")]["amount"].sum()
    assert into_b == pytest.approx(40.0, abs=1e-6)
    assert plan.info["objectives"]["labour"] == pytest.approx(74.0, abs=1e-6)
    val = plan.tables["valuations"]
    row = val[(val["stage"] == "labour") & (val["constraint"] == "self_sufficiency")]
    assert abs(float(row["valuation"].iloc[0])) == pytest.approx(0.9, rel=1e-6)
    # shipping 10 t more to b (and 10 t less made there) breaks it: 0.6 * 100 > 50
    tampered = dict(plan.tables)
    activity = tampered["activity"].copy()
    activity.loc[activity["region"] == "b", "activity"] -= 10.0
    activity.loc[activity["region"] == "a", "activity"] += 10.0
    shipments = ship.copy()
    shipments.loc[(shipments["destination"] == "b"), "amount"] += 10.0
    tampered.update(activity=activity, shipments=shipments)
    checks = verify(load_economy(folder), tampered).to_dict()["checks"]
    assert checks["self-sufficiency"]["max_violation"] == pytest.approx(10 / 100, rel=1e-9)
    assert checks["self-sufficiency"]["worst"] == "grain b 2021"


def test_a_share_of_what_nothing_makes_is_refused_by_row(tmp_path: Path) -> None:
    folder = economy(tmp_path / "labour", "product,share\na,0.5\nlabour,0.5\n")
    with pytest.raises(EconomyError) as raised:
        load_economy(folder)
    (problem,) = raised.value.problems
    assert (problem.file, problem.row, problem.column) == ("self_sufficiency.csv", 3, "product")
    assert "'labour' is labour, not a good or a service" in problem.message


# -- set by a scenario (the self_sufficiency change) ----------------------------------------
def scenario_of(folder: Path, body: str) -> Path:
    path = folder.parent / f"{folder.name}.toml"
    path.write_text(f'name = "shares"\nbase = "{folder.name}"\n{body}')
    return path


def test_a_scenario_sets_a_share_and_the_plan_meets_it(tmp_path: Path) -> None:
    """The two goods without a share, and a scenario asking 80% of a from home: the plan is
    the closed form's, as with the share written in self_sufficiency.csv."""
    base = economy(tmp_path / "base", None)
    path = scenario_of(base, '[[change]]\nkind = "self_sufficiency"\nproduct = "a"\nshare = 0.8\n')
    changed = apply_scenario(path).economy
    plan = make_plan(changed, tolerance=1e-9)
    assert plan.status == "optimal" and plan.info["verification"]["valid"]
    assert target(plan, "made_a")["planned"] == pytest.approx(80.0, abs=1e-6)
    assert plan.info["objectives"]["imports"] == pytest.approx(80.0, abs=1e-6)
    assert plan.info["verification"]["checks"]["self-sufficiency"]["count"] == 1
    line = describe_change(apply_scenario(path).scenario.changes[0], changed)
    assert (
        line
        == "self-sufficiency in a nationally (every year): at least 80% of use from own production"
    )


def rows_after(tmp_path: Path, body: str) -> list[tuple[object, ...]]:
    base = build(
        tmp_path / "two_years",
        horizon=(2021, 2022),
        regions=("r", "q"),
        objective="labour",
        **(
            TWO_GOODS
            | {
                "self_sufficiency": "product,region,year,share\n"
                "a,,,0.8\na,,2021,0.6\na,q,,0.5\nb,,,0.3\n"
            }
        ),
    )
    table = apply_scenario(scenario_of(base, body)).economy.tables["self_sufficiency"]
    table = table.astype(object).where(table.notna(), None)
    return sorted(
        ((r.product, r.region, r.year, r.share) for r in table.itertuples()),
        key=lambda r: tuple(str(v) for v in r),
    )


def test_a_share_for_every_year_replaces_the_dated_rows(tmp_path: Path) -> None:
    got = rows_after(
        tmp_path, '[[change]]\nkind = "self_sufficiency"\nproduct = "a"\nshare = 0.9\n'
    )
    # the nation's rows of a (undated and 2021) become one; q's row and b's are untouched
    assert got == [("a", None, None, 0.9), ("a", "q", None, 0.5), ("b", None, None, 0.3)]


def test_a_share_in_some_years_adds_dated_rows(tmp_path: Path) -> None:
    body = (
        '[[change]]\nkind = "self_sufficiency"\nproduct = ["a", "b"]\nregion = "r"\n'
        "years = 2022\nshare = 0.7\n"
    )
    got = rows_after(tmp_path, body)
    assert ("a", "r", 2022, 0.7) in got and ("b", "r", 2022, 0.7) in got
    assert ("a", None, 2021, 0.6) in got and ("a", None, None, 0.8) in got
    assert len(got) == 6


def test_a_share_of_zero_lifts_the_requirement(tmp_path: Path) -> None:
    got = rows_after(tmp_path, '[[change]]\nkind = "self_sufficiency"\nproduct = "a"\nshare = 0\n')
    assert got == [("a", "q", None, 0.5), ("b", None, None, 0.3)]


def test_a_bad_self_sufficiency_change_names_its_key(tmp_path: Path) -> None:
    base = economy(tmp_path / "bad", None)
    body = (
        '[[change]]\nkind = "self_sufficiency"\nproduct = "salt"\nregion = "mars"\n'
        "years = 2030\nshare = 0.5\n"
        '[[change]]\nkind = "self_sufficiency"\nproduct = "a"\nshare = 1.5\n'
    )
    path = scenario_of(base, body)
    with pytest.raises(ScenarioError) as caught:
        apply_scenario(path)
    found = [str(p) for p in caught.value.problems]
    assert f"{path}: change 2: [share] 1.5 is above the most allowed, 1" in found
    path.write_text(path.read_text().replace("share = 1.5", "share = 1"))
    with pytest.raises(ScenarioError) as caught:
        apply_scenario(path)
    assert sorted(str(p) for p in caught.value.problems) == [
        f"{path}: change 1: [product] no product 'salt' in the economy: give an id of products.csv",
        f"{path}: change 1: [region] no region 'mars' in the economy: give an id of regions.csv",
        f"{path}: change 1: [years] 2030 lies outside the horizon 2021-2021",
    ]


def test_a_share_of_zero_in_some_years_lifts_only_a_share_in_force(tmp_path: Path) -> None:
    """Years with a share of 0: the nation's undated 0.8 for a is lifted by dated rows of 0;
    b in region q has no share in force, so nothing is written for it; an id given twice
    counts once."""
    body = (
        '[[change]]\nkind = "self_sufficiency"\nproduct = ["a", "a"]\nyears = 2022\nshare = 0\n'
        '[[change]]\nkind = "self_sufficiency"\nproduct = "b"\nregion = ["q", "q"]\n'
        "years = 2022\nshare = 0\n"
    )
    got = rows_after(tmp_path, body)
    assert ("a", None, 2022, 0.0) in got
    assert not any(row[:2] == ("b", "q") for row in got)
    assert len(got) == 5


def test_a_share_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    """TOML reads nan and inf: a share of nan passed the range checks and, read as no share,
    removed the product's rows without a word."""
    base = economy(tmp_path / "nan", "product,share\na,0.8\n")
    path = scenario_of(base, '[[change]]\nkind = "self_sufficiency"\nproduct = "a"\nshare = nan\n')
    with pytest.raises(ScenarioError) as caught:
        apply_scenario(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}: change 1: [share] give a finite number, not nan"
    ]
