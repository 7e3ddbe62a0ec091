"""The reference stage: among the plans that keep every stage's optimum, the one closest to a
reference plan. A small economy with a tie (two identical processes) whose split only the
reference decides, and a dearer third process the reference cannot buy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from econplan import load_economy
from econplan.cli import main
from econplan.model.economy import Economy
from econplan.plan import (
    Plan,
    Reference,
    ReferenceError,
    assemble,
    load_plan,
    make_plan,
    write_plan,
)
from test_plan import TIGHT, activity, build

DEMAND = 100.0


def twins(folder: Path) -> Path:
    """Good a from p_left or p_right (the same in every way) or p_dear (twice the labour);
    labour is the only objective, so any split between the twins is optimal."""
    return build(
        folder,
        horizon=(2021, 2022),
        objective="labour",
        products="id,unit,sector,kind\na,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\np_left,s,a\np_right,s,a\np_dear,s,a\n",
        process_io="process,product,flow,amount\n"
        "p_left,a,output,1\np_left,labour,input,1\n"
        "p_right,a,output,1\np_right,labour,input,1\n"
        "p_dear,a,output,1\np_dear,labour,input,2\n",
        final_demand=f"category,product,region,basis,amount\nconsumption,a,r,absolute,{DEMAND}\n",
    )


def with_activity(plan: Plan, amounts: dict[tuple[str, int], float]) -> Plan:
    """``plan`` with its activity changed to ``amounts`` (process, year), as a reference."""
    table = plan.tables["activity"].copy()
    for (process, year), amount in amounts.items():
        pick = (table["process"] == process) & (table["year"] == year)
        table.loc[pick, "activity"] = amount
    return dataclasses.replace(plan, tables={**plan.tables, "activity": table})


def planned(economy: Economy, reference: Plan) -> Plan:
    plan = make_plan(
        economy, tolerance=TIGHT, reference=Reference.of(reference, economy, "reference")
    )
    assert plan.ok, plan.info["verification"]
    return plan


def test_the_tie_goes_the_references_way(tmp_path: Path) -> None:
    economy = load_economy(twins(tmp_path / "twins"))
    plain = make_plan(economy, tolerance=TIGHT)
    # a split the solver did not pick: whatever it picked, the reference differs from it
    left = {y: activity(plain, "p_left", y) for y in (2021, 2022)}
    wanted = {
        2021: (30.0, 70.0) if abs(left[2021] - 30.0) > 1 else (80.0, 20.0),
        2022: (100.0, 0.0) if left[2022] < 50 else (0.0, 100.0),
    }
    reference = with_activity(
        plain,
        {
            (p, y): split[i]
            for y, split in wanted.items()
            for i, p in enumerate(("p_left", "p_right"))
        },
    )
    plan = planned(economy, reference)
    for year, (on_left, on_right) in wanted.items():
        assert activity(plan, "p_left", year) == pytest.approx(on_left, abs=1e-6)
        assert activity(plan, "p_right", year) == pytest.approx(on_right, abs=1e-6)
    assert plan.info["objectives"] == pytest.approx(plain.info["objectives"], rel=1e-9)
    record = plan.info["reference"]
    assert record["applied"] is True
    assert record["distance"] == pytest.approx(0.0, abs=1e-9)
    assert record["distance_before"] > 0.5  # the plain plan was elsewhere
    assert "applied" in plan.info["waste"]  # the waste stage's record is kept as well


def test_the_objectives_are_held_against_the_reference(tmp_path: Path) -> None:
    """A reference that runs the dear process is followed only where labour does not rise:
    the dear process stays idle, and of the twins the split nearest the reference's is kept
    (the reference had one twin idle, so a unit there weighs as much as a whole idle unit)."""
    economy = load_economy(twins(tmp_path / "twins"))
    plain = make_plan(economy, tolerance=TIGHT)
    # the reference favours the twin the solver left idle in 2021
    favoured, other = ("p_left", "p_right")
    if activity(plain, "p_left", 2021) > DEMAND / 2:
        favoured, other = other, favoured
    reference = with_activity(
        plain,
        {
            **{("p_dear", y): 40.0 for y in (2021, 2022)},
            **{(favoured, y): 60.0 for y in (2021, 2022)},
            **{(other, y): 0.0 for y in (2021, 2022)},
        },
    )
    plan = planned(economy, reference)
    assert plan.info["objectives"]["labour"] == pytest.approx(2 * DEMAND, rel=1e-9)
    for year in (2021, 2022):
        assert activity(plan, "p_dear", year) == pytest.approx(0.0, abs=1e-9)
        assert activity(plan, favoured, year) == pytest.approx(DEMAND, abs=1e-6)
        assert activity(plan, other, year) == pytest.approx(0.0, abs=1e-6)
    # |100 - 60| / 60 + |0 - 40| / 40 in each year
    assert plan.info["reference"]["distance"] == pytest.approx(2 * (40 / 60 + 1.0), rel=1e-9)


def test_a_reference_of_other_products_is_refused(tmp_path: Path) -> None:
    economy = load_economy(twins(tmp_path / "twins"))
    plain = make_plan(economy, tolerance=TIGHT)
    production = plain.tables["production"].assign(product="b")
    other = dataclasses.replace(plain, tables={**plain.tables, "production": production})
    with pytest.raises(ReferenceError, match="products this economy does not have"):
        Reference.of(other, economy, "elsewhere")


def test_plan_with_reference_on_the_command_line(tmp_path: Path) -> None:
    folder = twins(tmp_path / "twins")
    economy = load_economy(folder)
    plain = make_plan(economy, tolerance=TIGHT)
    reference = with_activity(
        plain,
        {("p_left", y): 25.0 for y in (2021, 2022)} | {("p_right", y): 75.0 for y in (2021, 2022)},
    )
    # written by hand: the tables were changed, so plan.json's checksums are made anew
    write_plan(reference, tmp_path / "reference")
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "plan",
            str(folder),
            "--out",
            str(tmp_path / "out"),
            "--reference",
            str(tmp_path / "reference"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "of the plans that keep every objective, the closest" in " ".join(result.output.split())
    info = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert info["reference"]["plan"] == str(tmp_path / "reference")
    assert info["reference"]["distance"] == pytest.approx(0.0, abs=1e-9)
    act = pd.read_parquet(tmp_path / "out" / "activity.parquet").set_index(["process", "year"])
    assert act.loc[("p_right", 2021), "activity"] == pytest.approx(75.0, abs=1e-6)
    missing = runner.invoke(
        main,
        [
            "plan",
            str(folder),
            "--out",
            str(tmp_path / "out2"),
            "--reference",
            str(tmp_path / "none"),
        ],
    )
    assert missing.exit_code == 2
    assert "--reference" in missing.output
    assert not (tmp_path / "out2").exists()


def test_the_built_in_economy_against_a_reference_off_its_plan(builtin_plan_dir: Path) -> None:
    """On the built-in economy (the optimal face fixes rows and columns by the thousand): a
    reference 5% above its own plan everywhere is approached, never at the objectives' cost,
    and the plan still verifies."""
    economy = load_economy(None)
    plan = load_plan(builtin_plan_dir)
    table = plan.tables["activity"]
    off = dataclasses.replace(
        plan, tables={**plan.tables, "activity": table.assign(activity=table["activity"] * 1.05)}
    )
    near = make_plan(economy, reference=Reference.of(off, economy, "5% above"))
    assert near.ok, near.info["verification"]
    record = near.info["reference"]
    assert record["applied"] is True, record
    # every activity, and every import and export column (those the base plan does not use
    # matched at zero: its trade table leaves them out)
    problem = assemble(economy)
    flows = sum(
        problem.lp.columns[f].size for f in ("imports", "exports") if f in problem.lp.columns
    )
    assert record["matched"] == len(table) + flows
    assert (
        record["compared"] == "activity (process, region, year) and trade (product, region, year)"
    )
    assert 0 < record["distance"] <= record["distance_before"]
    assert near.info["objectives"] == pytest.approx(plan.info["objectives"], rel=1e-9, abs=1e-12)


def test_going_on_from_the_face_basis_finds_the_same_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference stage starts primal simplex from the face's basis, its deviations taking
    up the gaps; from scratch (dual simplex after presolve) it comes to the same distance."""
    from econplan.generate import generate_economy
    from econplan.plan import reference as module
    from econplan.plan.face import optimal

    economy = generate_economy(products=40, inputs=4, regions=2, years=3, seed=7)
    starts: list[bool] = []
    first_runs: list[bool] = []
    real_start, real_run = module._start, module.run

    def start(*args: object) -> object:
        found = real_start(*args)  # type: ignore[arg-type]
        starts.append(found is not None)
        return found

    def run(highs: object) -> bool:
        highs.run()  # type: ignore[attr-defined]
        first_runs.append(optimal(highs))  # type: ignore[arg-type]
        return real_run(highs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_start", start)
    monkeypatch.setattr(module, "run", run)
    base = make_plan(economy)
    table = base.tables["activity"]
    off = dataclasses.replace(
        base, tables={**base.tables, "activity": table.assign(activity=table["activity"] * 1.05)}
    )
    started = make_plan(economy, reference=Reference.of(off, economy, "5% above"))
    assert starts == [True] and first_runs == [True]  # went on from the basis, and finished
    monkeypatch.setattr(module, "_start", lambda *_: None)
    scratch = make_plan(economy, reference=Reference.of(off, economy, "5% above"))
    for plan in (started, scratch):
        assert plan.ok and plan.info["reference"]["applied"] is True, plan.info["reference"]
    # two simplex paths agree to their tolerances, not to the last digit: held by faces (the
    # default since 2026-11-30) the two distances came out 1.1e-9 apart, relatively
    assert started.info["reference"]["distance"] == pytest.approx(
        scratch.info["reference"]["distance"], rel=1e-8
    )
    assert started.info["reference"]["distance"] < started.info["reference"]["distance_before"]


def stored_imports(folder: Path) -> Path:
    """10 t of grain eaten a year, none made, imported at the same price in both years and
    storable: imports of 20 and 0, 10 and 10, or anything between cost the same."""
    return build(
        folder,
        horizon=(2021, 2022),
        objective="labour",
        credit_line=1e6,
        products="id,unit,sector,kind,storable\ngrain,t,s,good,true\n"
        "labour,person-year,s,labour,false\n",
        processes="id,sector,main_product\nfarm,s,grain\n",
        process_io="process,product,flow,amount\nfarm,grain,output,1\nfarm,labour,input,1\n",
        facilities="id,region,process,capacity\nfields,r,farm,0\n",  # fallow
        trade="product,import_price,export_price\ngrain,50,\n",
        final_demand="category,product,region,basis,amount\nconsumption,grain,r,absolute,10\n",
    )


@pytest.mark.parametrize("first", [20.0, 10.0, 15.0])
def test_the_timing_of_imports_goes_the_references_way(tmp_path: Path, first: float) -> None:
    """Which year grain is imported in is a tie the stages leave; the reference's imports
    (``first`` t in 2021, the rest of 20 in 2022) decide it, its activity alone would not."""
    economy = load_economy(stored_imports(tmp_path / "grain"))
    plain = make_plan(economy, tolerance=TIGHT)
    assert plain.ok
    trade = pd.DataFrame(
        {
            "product": "grain",
            "region": "r",
            "year": [2021, 2022],
            "imports": [first, 20.0 - first],
            "exports": 0.0,
        }
    )
    reference = dataclasses.replace(plain, tables={**plain.tables, "trade": trade})
    plan = planned(economy, reference)
    imports = plan.tables["trade"].set_index("year")["imports"].reindex([2021, 2022])
    assert imports.fillna(0.0).to_list() == pytest.approx([first, 20.0 - first], abs=1e-6)
    assert plan.info["objectives"] == pytest.approx(plain.info["objectives"], abs=1e-9)
    assert plan.info["reference"]["distance"] == pytest.approx(0.0, abs=1e-9)
