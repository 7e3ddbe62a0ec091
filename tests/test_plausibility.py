"""The plausibility report on small economies whose answers are known: unused output exactly
what is built in, targets met by it, cross-hauling found when built in and not otherwise, a
jump in output flagged with and without new capacity; the report written with the plan and
read back intact; `econplan plausibility`, `balance --product` and the plan's summary at 80
columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.cli.text import number, table, years_of
from econplan.plan import load_plan, write_plan
from econplan.plan.plausibility import (
    CHANGE,
    DRIVER_SHARE,
    DRIVERS,
    Drivers,
    cross_hauling,
    flag_frame,
    output_changes,
    plausibility,
)
from test_plan import LEAD_TARGETS, build, lead_time_economy, leontief_economy, plan_of


def joint_economy(folder: Path) -> Path:
    """A mill makes 1 t of steel and 0.5 t of slag a unit; 100 t of steel are consumed, the
    target asks for 150 t: 50 t of steel and 75 t of slag have no use."""
    return build(
        folder,
        products="id,unit,sector,kind\nsteel,t,s,good\nslag,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\nmill,s,steel\n",
        process_io="process,product,flow,amount\nmill,steel,output,1\nmill,slag,output,0.5\n"
        "mill,labour,input,0.1\n",
        facilities="id,region,process,capacity,base_output\nworks,r,mill,1000,100\n",
        final_demand="category,product,region,basis,amount\nconstruction,steel,r,absolute,100\n",
        targets="id,product,year,amount,kind\nsteel_2021,steel,2021,150,tier1\n",
    )


def test_unused_output_is_what_is_built_in(tmp_path: Path) -> None:
    folder = joint_economy(tmp_path / "joint")
    plan = plan_of(folder)
    unused = plan.tables["unused"].set_index("product")
    assert sorted(unused.index) == ["slag", "steel"]
    assert unused.loc["steel", "amount"] == pytest.approx(50.0, abs=1e-6)
    assert unused.loc["slag", "amount"] == pytest.approx(75.0, abs=1e-6)
    assert unused.loc["steel", "share"] == pytest.approx(50 / 150, abs=1e-9)
    assert (unused["kind"] == "surplus").all() and (unused["unit"] == "t").all()
    flags = flag_frame(plan.plausibility or {})
    target = flags[flags["kind"] == "target_unused"].iloc[0]
    assert target["what"] == "steel_2021" and target["where"] == "nation"
    assert target["amount"] == pytest.approx(50.0, abs=1e-6)
    assert target["against"] == pytest.approx(150.0)
    assert target["share"] == pytest.approx(1 / 3, abs=1e-9)
    assert "consumption stage" in target["reason"]
    reasons = flags[flags["kind"] == "unused_output"].set_index("what")["reason"]
    assert reasons["steel"] == "target steel_2021 asks for it"
    assert reasons["slag"] == "joint product of mill"
    # output +50% from the base year's 100 t, explained by the target that falls that year
    jump = flags[(flags["kind"] == "output_change") & (flags["what"] == "steel")].iloc[0]
    assert jump["share"] == pytest.approx(0.5, abs=1e-9)
    assert jump["reason"] == ("target steel_2021 that year; moved by: output without a use +50 t")
    # capacity used 15% against 10% in the base year
    use = flags[flags["kind"] == "utilisation"].iloc[0]
    assert use["amount"] == pytest.approx(0.15) and use["against"] == pytest.approx(0.1)
    assert use["reason"] == (
        "target steel_2021 that year; national output of steel +50% against the base year "
        "(moved by: output without a use +50 t)"
    )
    summary = plan.info["unused"]["by_product"]
    assert {r["product"]: r["unused"] for r in summary} == pytest.approx(
        {"slag": 75.0, "steel": 50.0}, abs=1e-6
    )
    assert plan.info["plausibility"]["flags"] == len(flags)


def test_a_main_product_left_by_a_process_run_for_its_joint_product(tmp_path: Path) -> None:
    """Slag is wanted and only the mill makes it, as a joint product: the mill runs 100
    units for 50 t of slag and its 100 t of steel have no use. The reason says so (on the
    built-in plan with whole units: a carbonization plant run for its tar left 67 kt of
    semi-coke, flagged without a reason)."""
    folder = build(
        tmp_path / "slag",
        products="id,unit,sector,kind\nsteel,t,s,good\nslag,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\nmill,s,steel\n",
        process_io="process,product,flow,amount\nmill,steel,output,1\nmill,slag,output,0.5\n"
        "mill,labour,input,0.1\n",
        facilities="id,region,process,capacity,base_output\nworks,r,mill,1000,100\n",
        final_demand="category,product,region,basis,amount\nconstruction,slag,r,absolute,50\n",
    )
    plan = plan_of(folder)
    unused = plan.tables["unused"].set_index("product")
    assert list(unused.index) == ["steel"]
    assert unused.loc["steel", "amount"] == pytest.approx(100.0, abs=1e-6)
    flags = flag_frame(plan.plausibility or {})
    steel = flags[(flags["kind"] == "unused_output") & (flags["what"] == "steel")].iloc[0]
    assert steel["reason"] == "made by mill run for its joint product slag"


def test_a_plan_that_uses_everything_has_no_unused_output(tmp_path: Path) -> None:
    plan = plan_of(leontief_economy(tmp_path / "l"))  # every good made is used or consumed
    assert plan.tables["unused"].empty
    assert plan.info["unused"]["by_product"] == []


def test_end_stocks_are_their_own_line(tmp_path: Path) -> None:
    """Stocks left after the last year: an end_stock row, not surplus."""
    economy = load_economy(joint_economy(tmp_path / "joint"))
    plan = plan_of(tmp_path / "joint")
    tables = dict(plan.tables)
    stocks = pd.DataFrame({"product": ["steel"], "region": ["r"], "year": [2021], "stock": [20.0]})
    # the 20 t stocked come out of the 50 t that had no use
    report = plausibility(economy, {**tables, "stocks": stocks})
    rows = report.unused.set_index(["product", "kind"])["amount"]
    assert rows[("steel", "end_stock")] == pytest.approx(20.0)
    assert rows[("steel", "surplus")] == pytest.approx(30.0, abs=1e-6)


def two_regions(folder: Path, demand_a: float) -> Path:
    """Steel made in a and in b, each region consumes 100 t, a two-way link between them."""
    return build(
        folder,
        regions=("a", "b"),
        products="id,unit,sector,kind\nsteel,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\nmill,s,steel\n",
        process_io="process,product,flow,amount\nmill,steel,output,1\nmill,labour,input,0.1\n",
        facilities="id,region,process,capacity\nwa,a,mill,1000\nwb,b,mill,1000\n",
        links="id,origin,destination,mode,capacity,two_way\nab,a,b,rail,300,true\n",
        final_demand="category,product,region,basis,amount\n"
        f"construction,steel,a,absolute,{demand_a}\nconstruction,steel,b,absolute,100\n",
    )


def test_cross_hauling_found_when_built_in(tmp_path: Path) -> None:
    economy = load_economy(two_regions(tmp_path / "two", 100))
    plan = plan_of(tmp_path / "two")
    assert cross_hauling(economy, plan.tables).empty  # the optimum ships nothing both ways
    both = pd.DataFrame(
        {
            "product": ["steel", "steel"],
            "link": ["ab", "ab"],
            "origin": ["a", "b"],
            "destination": ["b", "a"],
            "year": [2021, 2021],
            "amount": [30.0, 20.0],
        }
    )
    found = cross_hauling(economy, {**plan.tables, "shipments": both})
    assert len(found) == 1
    row = found.iloc[0]
    assert (row["what"], row["where"], row["year"]) == ("steel", "a <-> b", 2021)
    assert (row["amount"], row["against"]) == (30.0, 20.0)
    assert row["unit"] == "t" and row["share"] == pytest.approx(2 / 3)
    one_way = both.iloc[:1]
    assert cross_hauling(economy, {**plan.tables, "shipments": one_way}).empty


def test_a_jump_is_flagged_with_and_without_new_capacity(tmp_path: Path) -> None:
    """X: 10 a year from the old plant, 60 once the new one is ready in 2023."""
    folder = lead_time_economy(tmp_path / "lead", LEAD_TARGETS)
    economy = load_economy(folder)
    plan = plan_of(folder)
    changes = output_changes(economy, plan.tables).set_index(["what", "year"])
    jump = changes.loc[("X", 2023)]
    assert jump["amount"] == pytest.approx(60.0, abs=1e-6)
    assert jump["against"] == pytest.approx(10.0, abs=1e-6)
    assert jump["share"] == pytest.approx(5.0, abs=1e-6) and jump["threshold"] == CHANGE
    assert "new capacity in use: new_px" in jump["reason"]
    # the same jump without the investment (capacity there from the start): no reason known
    bare = lead_time_economy(
        tmp_path / "bare",
        "id,product,year,amount,kind\nlate,X,2023,60,weight\n",
    )
    (bare / "facilities.csv").write_text("id,region,process,capacity\nplant,r,px,10\nbig,r,px,50\n")
    (bare / "targets.csv").write_text("id,product,year,amount,kind\n")
    (bare / "final_demand.csv").write_text(
        "category,product,region,year,basis,amount\nconstruction,X,r,2023,absolute,60\n"
        "construction,X,r,2021,absolute,10\nconstruction,X,r,2022,absolute,10\n"
        "construction,X,r,2024,absolute,10\n"
    )
    economy = load_economy(bare)
    plain = plan_of(bare)
    changes = output_changes(economy, plain.tables).set_index(["what", "year"])
    assert changes.loc[("X", 2023), "share"] == pytest.approx(5.0, abs=1e-6)
    # no new capacity, no target: what moved it is the construction claim, 60 t against 10 t
    assert changes.loc[("X", 2023), "reason"] == "moved by: final demand (construction) +50 t"
    assert changes.loc[("X", 2024), "share"] == pytest.approx(-5 / 6, abs=1e-6)


def test_a_shift_between_makers_is_named(tmp_path: Path) -> None:
    """X made by a (0.01 person-year a tonne) and b (0.1), 20 and 80 t in the base year, each
    able to make 100: the plan makes the same 100 t, all by a, the cheaper in labour. Neither
    the output nor the capacity moved; the shift between the makers is the reason."""
    folder = build(
        tmp_path / "shift",
        objective="labour",
        products="id,unit,sector,kind\nX,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\na,s,X\nb,s,X\n",
        process_io="process,product,flow,amount\na,X,output,1\na,labour,input,0.01\n"
        "b,X,output,1\nb,labour,input,0.1\n",
        facilities="id,region,process,capacity,base_output\nfa,r,a,100,20\nfb,r,b,100,80\n",
        final_demand="category,product,region,basis,amount\nconstruction,X,r,absolute,100\n",
    )
    plan = plan_of(folder)
    flags = flag_frame(plan.plausibility or {})
    use = flags[flags["kind"] == "utilisation"].set_index("what")
    assert use.loc["a", "amount"] == pytest.approx(1.0) and use.loc["a", "against"] == 0.2
    assert (
        use.loc["a", "reason"]
        == "runs at capacity; its share of X output 20% -> 100% (b 80% -> 0%)"
    )
    assert use.loc["b", "amount"] == pytest.approx(0.0, abs=1e-9)
    assert use.loc["b", "reason"] == "its share of X output 80% -> 0% (a 20% -> 100%)"
    assert flags[flags["kind"] == "output_change"].empty  # 100 t in both years


def test_the_report_is_written_with_the_plan_and_read_back(tmp_path: Path) -> None:
    plan = plan_of(joint_economy(tmp_path / "joint"))
    out = tmp_path / "out"
    write_plan(plan, out)
    info = json.loads((out / "plan.json").read_text())
    assert "unused" in info["tables"]
    assert {"unused.parquet", "plausibility.json", "plausibility.csv"} <= set(info["files"])
    back = load_plan(out)
    assert back.plausibility == plan.plausibility
    pd.testing.assert_frame_equal(back.tables["unused"], plan.tables["unused"], check_dtype=False)
    csv = pd.read_csv(out / "plausibility.csv")
    assert len(csv) == len(flag_frame(plan.plausibility or {}))
    # the report is vouched for like every table: a changed report is refused
    report = out / "plausibility.json"
    report.write_text(report.read_text().replace('"steel_2021"', '"steel_2022"'))
    with pytest.raises(ValueError, match=r"plausibility\.json: changed after econplan wrote it"):
        load_plan(out)


def test_plausibility_command_and_balance_explain_unused_output(tmp_path: Path) -> None:
    folder = joint_economy(tmp_path / "joint")
    out = tmp_path / "out"
    runner = CliRunner()
    env = {"COLUMNS": "80"}
    planned = runner.invoke(main, ["plan", str(folder), "--out", str(out)], env=env)
    assert planned.exit_code == 0, planned.output
    result = runner.invoke(
        main, ["plausibility", str(out), "--economy", str(folder), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["flags"] == json.loads((out / "plausibility.json").read_text())["flags"]
    text = runner.invoke(main, ["plausibility", str(out), "--economy", str(folder)], env=env)
    assert text.exit_code == 0, text.output
    assert "Targets met by output with no use: 1" in text.stdout
    assert "steel_2021 nation 2021: 50 t of 150 (33%)" in text.stdout
    ours = [line for line in text.stdout.splitlines() if str(out) not in line]
    assert max(len(line) for line in ours) <= 80
    wrong = runner.invoke(main, ["plausibility", str(tmp_path / "none"), "--economy", str(folder)])
    assert wrong.exit_code == 2 and "no plan here" in wrong.stderr

    balance = runner.invoke(
        main, ["balance", str(folder), "--plan", str(out), "--product", "steel"], env=env
    )
    assert balance.exit_code == 0, balance.output
    assert "Unused steel: 50 t" in balance.stdout
    assert "steel_2021" in balance.stdout
    as_json = runner.invoke(
        main, ["balance", str(folder), "--plan", str(out), "--product", "steel", "--json"]
    )
    unused = json.loads(as_json.stdout)["unused"]
    assert [(u["product"], u["region"], u["kind"]) for u in unused] == [("steel", "r", "surplus")]
    assert unused[0]["amount"] == pytest.approx(50.0, abs=1e-6)


# -- the summary at 80 columns ----------------------------------------------------------------


def test_numbers_are_rounded_by_rule() -> None:
    assert number(16_500_000_000) == "16.5 bn"
    assert number(8_000_000) == "8 m"
    assert number(999_700) == "1 m"
    assert number(251_000) == "251 k"
    assert number(1.0519) == "1.05"
    assert number(-1.4988e-14) == "0"
    assert number(-0.0) == "0"
    assert number(2e-8, scale=1.05) == "0"
    assert number(0.000123) == "0.000123"
    assert years_of(["cement_2021", "cement_2022", "cement_2024", "zinc_2025", "x"]) == [
        "cement 2021-2022, 2024",
        "x",
        "zinc 2025",
    ]


def test_a_table_too_wide_is_printed_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    long = "nitrogen_fertilizer_2025_stretch"
    lines = table(["target", "where", "amount"], [[long, "south_hamgyong", "16.5 bn"]])
    assert lines[0] == "  " + long
    assert all(len(line) <= 40 for line in lines)
    assert any(line.strip().endswith("16.5 bn") for line in lines)  # never split


def test_the_builtin_summary_fits_80_columns(builtin_plan_dir: Path, tmp_path: Path) -> None:
    """The summary `econplan plan` prints, from the session's built-in plan: no line over 80
    characters, no id cut, no "-0", the full tables behind --full."""
    from econplan.cli.summary import plan_summary

    plan = load_plan(builtin_plan_dir)
    monkey = pytest.MonkeyPatch()
    monkey.setenv("COLUMNS", "80")
    try:
        lines = plan_summary(plan, builtin_plan_dir, 3)
    finally:
        monkey.undo()
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text and "..." not in text
    assert not re.search(r"(?<![\w.])-0(?![.\d])", text)
    assert "e-14" not in text and "e-15" not in text
    assert len(lines) < 80
    assert "Consumption per head" in text and "Unused output" in text
    assert "Bottlenecks" in text and "Plausibility:" in text
    ids = {str(t["id"]) for t in plan.info["targets"]}
    words = set(re.findall(r"[a-z][a-z0-9_]+", text))
    stems = {re.sub(r"_\d{4}$", "", i) for i in ids}
    cut = [w for w in words if any(s.startswith(w) and s != w for s in stems) and w not in stems]
    assert not [w for w in cut if "_" in w], cut


def test_the_cost_of_a_target_met_by_unused_output_is_a_re_solve(tmp_path: Path) -> None:
    """The mill's 50 t of steel beyond the 100 t used cost 50 x 0.1 = 5 person-years of labour,
    and nothing else (no consumption basket, no imports): lowered to what is used, the plan
    gains exactly that in its labour stage."""
    folder = joint_economy(tmp_path / "joint")
    out = tmp_path / "out"
    runner = CliRunner()
    env = {"COLUMNS": "80"}
    planned = runner.invoke(
        main, ["plan", str(folder), "--out", str(out), "--target-costs"], env=env
    )
    assert planned.exit_code == 0, planned.output
    assert "target costs (1 of 1): steel_2021 lowered to what is used" in planned.stderr
    costs = load_plan(out).tables["target_costs"].set_index("stage")
    assert costs.loc["labour", "objective"] == pytest.approx(15.0, abs=1e-6)
    assert costs.loc["labour", "lowered"] == pytest.approx(10.0, abs=1e-6)
    assert costs.loc["labour", "gain"] == pytest.approx(5.0, abs=1e-6)
    assert costs.loc["labour", "first"] and costs["first"].sum() == 1
    assert (costs.drop(index="labour")["gain"] == 0).all()
    flags = flag_frame(json.loads((out / "plausibility.json").read_text()))
    reason = flags[flags["kind"] == "target_unused"]["reason"].iloc[0]
    assert reason.endswith(
        "re-solved with steel_2021 lowered to what is used, the plan gains labour +5 person-year"
    )
    # `econplan plausibility` reads the costs back from the plan with its report
    again = runner.invoke(
        main, ["plausibility", str(out), "--economy", str(folder), "--json"], env=env
    )
    assert again.exit_code == 0, again.output
    reasons = [f["reason"] for f in json.loads(again.stdout)["flags"]]
    assert reasons == flags["reason"].tolist()


def test_the_built_in_plan_reads_as_a_plan(builtin_plan_dir: Path) -> None:
    """Issue 11's reading of the built-in plan: every flag states its reason, no good is
    shipped both ways, and consumption per head rises year on year in every region."""
    plan = load_plan(builtin_plan_dir)
    flags = flag_frame(plan.plausibility or {})
    assert len(flags) and (flags["reason"] != "").all()
    assert flags[flags["kind"] == "cross_hauling"].empty
    levels = plan.tables["consumption_level"]
    levels = levels[levels["persons"] > 0].sort_values(["region", "year"])
    growth = levels.groupby("region")["level"].diff().dropna()
    assert (growth > 0).all()


def test_the_drivers_of_many_changes_are_read_at_once() -> None:
    """``Drivers.of_changes`` explains every change in one pass over the components; each
    answer is what reading that change alone gives (worked here by dictionaries, as the report
    first did): the components that moved the output the way it went, each above
    DRIVER_SHARE of the change, the largest first, at most DRIVERS, ties in the components'
    order. Changes of a product or year with no components have no drivers."""
    rows = [
        # product, year, component, sign, flow
        ("X", 2021, "use in a", 1.0, 10.0),
        ("X", 2022, "use in a", 1.0, 30.0),
        ("X", 2021, "use in b", 1.0, 5.0),
        ("X", 2022, "use in b", 1.0, 25.0),  # ties with a: +20 each
        ("X", 2022, "exports", 1.0, 5.0),  # 5 of 46: above a tenth
        ("X", 2021, "imports", -1.0, 1.0),
        ("X", 2022, "imports", -1.0, 0.0),  # +1 of 46: below a tenth
        ("X", 2023, "use in c", 1.0, 2.0),
        ("Y", 2021, "final demand (households)", 1.0, 100.0),
        ("Y", 2022, "final demand (households)", 1.0, 60.0),
        ("Y", 2022, "use in a", 1.0, 10.0),  # the other way: not a driver of the fall
        ("Y", 2022, "stocks drawn", -1.0, 5.0),
        ("Z", 2021, "use in a", 1.0, 1.0),
        ("Z", 2021, "use in b", 1.0, -1.0),  # Z's output does not move
        ("W", 2021, "use in a", 1.0, 1.0),
        ("W", 2022, "use in a", 1.0, 6.0),
        ("W", 2022, "use in b", 1.0, 4.0),
        ("W", 2022, "use in c", 1.0, 4.0),
        ("W", 2022, "use in d", 1.0, 3.0),
    ]
    components = pd.DataFrame(rows, columns=["product", "year", "component", "sign", "flow"])
    drivers = Drivers(components, pd.DataFrame(columns=["product", "year", "process", "amount"]))

    def alone(product: str, before: int, year: int) -> list[tuple[str, float]]:
        flows: dict[tuple[str, int], dict[tuple[str, float], float]] = {}
        for p, y, c, s, f in rows:
            key = (c, s)
            flows.setdefault((p, y), {})[key] = flows.get((p, y), {}).get(key, 0.0) + f
        old, new = flows.get((product, before), {}), flows.get((product, year), {})
        keys = sorted(set(old) | set(new))
        change = {k: new.get(k, 0.0) - old.get(k, 0.0) for k in keys}
        total = sum(change[k] * k[1] for k in keys)
        if total == 0:
            return []
        way = {k: change[k] * k[1] * (1 if total > 0 else -1) for k in keys}
        picked = [k for k in keys if way[k] > DRIVER_SHARE * abs(total)]
        picked.sort(key=lambda k: -way[k])  # stable: ties keep the components' order
        return [(k[0], change[k]) for k in picked[:DRIVERS]]

    asked = [
        ("X", 2021, 2022),
        ("X", 2022, 2023),
        ("Y", 2021, 2022),
        ("Z", 2021, 2022),
        ("W", 2021, 2022),
        ("V", 2021, 2022),  # no such product
        ("X", 2020, 2021),  # no such year
    ]
    found = drivers.of_changes(asked)
    assert found == [alone(*change) for change in asked]
    assert found[0] == [("use in a", 20.0), ("use in b", 20.0), ("exports", 5.0)]
    assert found[2] == [("final demand (households)", -40.0), ("stocks drawn", 5.0)]
    assert found[3] == [] and found[5] == []
    assert len(found[4]) == DRIVERS
    assert [drivers.of_change(*change) for change in asked] == found
    assert drivers.of_changes([]) == []


def test_an_economy_without_components_has_no_drivers() -> None:
    """No flows at all (nothing made, nothing used): every change asked has no drivers."""
    empty = pd.DataFrame(
        {
            "product": pd.Series([], dtype=object),
            "year": pd.Series([], dtype=int),
            "component": pd.Series([], dtype=object),
            "sign": pd.Series([], dtype=float),
            "flow": pd.Series([], dtype=float),
        }
    )
    drivers = Drivers(empty, pd.DataFrame(columns=["product", "year", "process", "amount"]))
    assert drivers.of_changes([("X", 2021, 2022), ("Y", 2022, 2023)]) == [[], []]
    assert drivers.of_changes([]) == []
