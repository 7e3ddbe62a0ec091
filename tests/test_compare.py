"""Comparing plans: exactly the known differences on small plans, and the typhoon scenario's
losses in South Hamgyong first against the built-in plan."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.compare import compare_plans
from econplan.plan import Plan, load_plan, make_plan, write_plan
from econplan.validate import load_economy

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan]:
    folder = tmp_path_factory.mktemp("small") / "economy"
    shutil.copytree(TINY, folder)
    targets = folder / "targets.csv"
    kept = [
        line
        for line in targets.read_text().splitlines()
        if not line.startswith(("flats_2021", "food_2021"))
    ]
    targets.write_text("\n".join(kept) + "\n")
    plan = make_plan(load_economy(folder))
    assert plan.ok
    out = folder.parent / "plan"
    write_plan(plan, out)
    return folder, load_plan(out)


def test_a_plan_against_itself_has_no_differences(small_plan: tuple[Path, Plan]) -> None:
    folder, plan = small_plan
    found = compare_plans(plan, plan, load_economy(folder))
    assert found.differences.empty
    assert (found.objectives["change"] == 0).all()


def test_known_differences_exactly(small_plan: tuple[Path, Plan]) -> None:
    folder, plan = small_plan
    production = plan.tables["production"].copy()
    pick = (production["product"] == "electricity") & (production["year"] == 2021)
    before = float(production.loc[pick, "amount"].iloc[0])
    production.loc[pick, "amount"] = before * 0.75
    # a change within the tolerance is no difference
    production.loc[production["product"] == "grain_crop", "amount"] *= 1 + 1e-9
    other = dataclasses.replace(plan, tables={**plan.tables, "production": production})
    found = compare_plans(plan, other, load_economy(folder), ("base", "less power"))
    frame = found.differences
    # electricity is the only product of energy made: its sector loses as much
    assert frame[["section", "what", "region", "year", "unit"]].values.tolist() == [
        ["output", "output of electricity", "south", 2021, "MWh"],
        ["sector output", "output of sector energy", None, 2021, "MWh"],
    ]
    assert frame["base"].tolist() == pytest.approx([before, before])
    assert frame["change"].tolist() == pytest.approx([-0.25 * before] * 2)
    assert frame["relative"].tolist() == pytest.approx([-0.25, -0.25])


def test_compare_command(small_plan: tuple[Path, Plan], tmp_path: Path) -> None:
    folder, _ = small_plan
    plan_dir = folder.parent / "plan"
    html = tmp_path / "c.html"
    result = CliRunner().invoke(
        main,
        ["compare", str(plan_dir), str(plan_dir), "--economy", str(folder), "--html", str(html)],
    )
    assert result.exit_code == 0, result.output
    assert "0 differences" in result.output
    assert html.read_text().startswith("<!DOCTYPE html>")
    result = CliRunner().invoke(main, ["compare", str(plan_dir), str(tmp_path / "nothing")])
    assert result.exit_code == 2


def test_typhoon_losses_in_south_hamgyong_come_first(
    builtin_plan_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "typhoon"
    result = CliRunner().invoke(main, ["scenario", "run", "typhoon", "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "plan.json").read_text())
    assert info["scenario"]["name"] == "typhoon"
    assert (
        info["scenario"]["base"]["hash"]
        == json.loads((builtin_plan_dir / "plan.json").read_text())["economy"]["hash"]
    )
    result = CliRunner().invoke(main, ["compare", str(builtin_plan_dir), str(out), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)["differences"]
    output = [d for d in found if d["section"] == "output"]
    first = output[:20]
    assert all(d["region"] in ("south_hamgyong", "komdok") and d["change"] < 0 for d in first)
    assert all(d["direct"] for d in first)
    assert any("capacity of" in (d["explanation"] or "") for d in first)
    assert found[0]["section"] == "targets" or found[0]["region"] in ("south_hamgyong", "komdok")
