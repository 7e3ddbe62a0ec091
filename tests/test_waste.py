"""The waste stage: among equally good plans the one that leaves least output unused, on
economies whose answer is known by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from econplan import load_economy
from econplan.plan import make_plan
from test_plan import TIGHT, build
from test_plausibility import joint_economy


def tie_economy(folder: Path) -> Path:
    """X by a (with a tonne of slag nobody uses) or by b (without), at the same labour, 100 t
    asked for: the labour stage cannot choose between them."""
    return build(
        folder,
        objective="labour",
        products="id,unit,sector,kind\nX,t,s,good\nslag,t,s,good\nlabour,person-year,s,labour\n",
        processes="id,sector,main_product\na,s,X\nb,s,X\n",
        process_io="process,product,flow,amount\na,X,output,1\na,slag,output,1\n"
        "a,labour,input,0.1\nb,X,output,1\nb,labour,input,0.1\n",
        facilities="id,region,process,capacity,base_output\nfa,r,a,100,50\nfb,r,b,100,50\n",
        final_demand="category,product,region,basis,amount\nconstruction,X,r,absolute,100\n",
    )


def test_a_tie_goes_to_the_plan_without_waste(tmp_path: Path) -> None:
    """X by a (with a tonne of slag nobody uses) or by b (without), at the same labour: the
    labour stage cannot choose; the waste stage makes all 100 t by b."""
    folder = tie_economy(tmp_path / "tie")
    plan = make_plan(load_economy(folder), tolerance=TIGHT)
    assert plan.ok
    waste = plan.info["waste"]
    assert waste["applied"] and waste["after"] == pytest.approx(0.0, abs=1e-9)
    assert waste["after"] <= waste["before"] + 1e-12
    activity = plan.tables["activity"].set_index("process")["activity"]
    assert activity["b"] == pytest.approx(100.0, abs=1e-6)
    assert activity.get("a", 0.0) == pytest.approx(0.0, abs=1e-6)
    assert plan.info["objectives"]["labour"] == pytest.approx(10.0, rel=1e-9)
    assert plan.tables["unused"].empty


def test_waste_the_objectives_force_is_counted_not_removed(tmp_path: Path) -> None:
    """The steel target asks for 150 t, 100 t are used: 50 t of steel (its base-year output
    is 100 t: half a year's output) and the 75 t of slag made with it (base year 50 t: one and
    a half) are left whatever the plan does, 2.0 years' output in all."""
    plan = make_plan(load_economy(joint_economy(tmp_path / "joint")), tolerance=TIGHT)
    assert plan.ok
    waste = plan.info["waste"]
    assert waste["applied"]
    assert waste["before"] == pytest.approx(2.0, abs=1e-9)
    assert waste["after"] == pytest.approx(2.0, abs=1e-9)
    assert "waste" in plan.run["times"]


def test_the_first_choice_on_the_face_goes_on_in_the_stages_highs(tmp_path: Path) -> None:
    """The waste stage solves in the HiGHS object the stages ended in, whose basis is factored
    already (a HiGHS object of the face's own factors it afresh first: most of the stage's
    time where the factors fill in densely), once: the next choice gets one of its own. Both
    find the same least waste, on the same face. The economy is the tie above: 100 t of X by
    a (with slag) or by b."""
    from econplan.plan import Solver, assemble
    from econplan.plan.face import Face, run
    from econplan.plan.highs import HighsBackend
    from econplan.plan.waste import waste_weights

    folder = tie_economy(tmp_path / "tie")
    problem = assemble(load_economy(folder))
    solver = Solver(problem)
    solver.solve()
    face = Face.of(solver)
    assert face is not None and isinstance(solver.backend, HighsBackend)
    coefs, constant = waste_weights(problem)
    scaled = coefs * face.col_scale
    lent = face.highs(scaled)
    assert lent is solver.backend.highs
    own = face.highs(scaled)
    assert own is not lent
    assert run(lent) and run(own)
    waste = [scaled @ np.asarray(h.getSolution().col_value) - constant for h in (lent, own)]
    assert waste == pytest.approx([0.0, 0.0], abs=1e-9)  # all 100 t by b, no slag
    assert scaled @ face.point - constant > 0.1  # as the stages left it: some by a
    for highs in (lent, own):
        x = np.asarray(highs.getSolution().col_value)
        assert np.all(x >= face.col_lower - 1e-9) and np.all(x <= face.col_upper + 1e-9)
        rows = face.matrix @ x
        assert np.all(rows >= face.row_lower - 1e-8) and np.all(rows <= face.row_upper + 1e-8)


def test_a_solver_whose_highs_was_lent_solves_again_as_a_fresh_one() -> None:
    """A choice on the face changes the costs and bounds of the solver's own HiGHS object
    (``Solver.lend``): the solver sets every bound back before it solves again. Measured
    without that: the plan solved again off by 250 times on this economy."""
    from econplan.generate import generate_economy
    from econplan.plan import Solver, assemble
    from econplan.plan.face import Face, run
    from econplan.plan.waste import waste_weights

    problem = assemble(generate_economy(products=40, inputs=5, regions=3, years=3, seed=2))
    solver = Solver(problem, leontief=True)
    first = solver.solve()
    face = Face.of(solver)
    assert face is not None
    coefs, _ = waste_weights(problem)
    highs = face.highs(coefs * face.col_scale)
    assert highs is solver.highs and run(highs)
    again = solver.solve()
    assert [s.value for s in again.stages] == pytest.approx([s.value for s in first.stages])
    assert np.allclose(again.x, first.x, rtol=1e-9, atol=1e-9)
