"""The cross-hauling stage: among equally good plans, the one that ships least of the products it
ships both ways. Oracles: a plan with steel carried both ways at no cost nets out to none, the
weights count exactly the products shipped both ways, and the built-in plan held by its faces
(which shipped electricity both ways on 36 pairs of regions and years) explains every flag."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from econplan import load_economy
from econplan.plan import Solver, assemble, make_plan
from econplan.plan.cross_hauling import cross_hauling_weights, least_cross_hauling
from econplan.plan.face import Face
from econplan.plan.waste import output_size
from test_plan import build


def two_mills(folder: Path) -> Path:
    """Steel made in a and in b at the same labour, 50 t wanted in each, a two-way line of 30 t
    between them that costs nothing to use: shipping either way is as good as not."""
    return build(
        folder,
        regions=("a", "b"),
        products="id,unit,sector,kind\nsteel,t,s,good\nwire,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\nmill,s,steel\ndrawing,s,wire\n",
        process_io="process,product,flow,amount\nmill,steel,output,1\nmill,labour,input,0.1\n"
        "drawing,wire,output,1\ndrawing,labour,input,0.1\n",
        facilities="id,region,process,capacity\nma,a,mill,100\nmb,b,mill,100\nwa,a,drawing,100\n",
        links="id,origin,destination,mode,capacity,two_way\nab,a,b,rail,30,true\n",
        final_demand="category,product,region,basis,amount\nconsumption,steel,a,absolute,50\n"
        "consumption,steel,b,absolute,50\nconsumption,wire,b,absolute,10\n",
    )


def shipped(problem, x: np.ndarray) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    block = problem.lp.columns["shipment"]
    return block.labels.assign(amount=x[block.start : block.stop])


def test_steel_carried_both_ways_is_netted_out(tmp_path: Path) -> None:
    """The solved plan, with 20 t more steel each way (as good a plan: shipping is free), goes
    back to carrying no steel at all; the wire b needs, shipped one way only, is not counted
    and still goes. A plan that ships nothing both ways is then left as it is."""
    problem = assemble(load_economy(two_mills(tmp_path / "mills")), 1e-6)
    solver = Solver(problem)
    solution = solver.solve()
    face = Face.of(solver)
    assert face is not None
    block = problem.lp.columns["shipment"]
    steel = (block.labels["product"] == "steel").to_numpy()
    x = solution.x.copy()
    x[block.start + np.flatnonzero(steel)] += 20.0
    hauled = replace(solution, x=x, row_activity=problem.matrix @ x)

    weights = cross_hauling_weights(problem, x)
    size = output_size(problem)[problem.economy.product_ids.get_loc("steel")]
    assert weights[block.start : block.stop] == pytest.approx(np.where(steel, 1 / size, 0.0))
    assert not np.any(np.delete(weights, np.arange(block.start, block.stop)))

    found, _, record = least_cross_hauling(problem, face, hauled)
    before = shipped(problem, x)
    assert record["moved"]
    assert record["before"] == pytest.approx(before.loc[steel, "amount"].sum() / size)
    assert record["after"] == pytest.approx(0.0, abs=1e-9)
    after = shipped(problem, found.x)
    assert after.loc[steel, "amount"].to_numpy() == pytest.approx(0.0, abs=1e-9)
    assert after.loc[~steel, "amount"].to_numpy() == pytest.approx(
        before.loc[~steel, "amount"].to_numpy(), abs=1e-6
    )

    again, _, record = least_cross_hauling(problem, face, found)
    assert again is found and not record["moved"] and record["before"] == 0.0


def test_the_built_in_plan_held_by_faces_ships_nothing_both_ways() -> None:
    plan = make_plan(load_economy(), hold="face")
    assert plan.info["verification"]["valid"]
    assert plan.info["cross_hauling"]["moved"]
    report = plan.plausibility
    assert report is not None
    assert report["counts"].get("cross_hauling", 0) == 0
    assert report["unexplained"] == 0
