"""Benchmark: the whole plan at 10^3 to 10^4 products, side by side in one run: HiGHS simplex
from its own start (the baseline), from the Leontief basis (each stage held within its tolerance,
by its optimal face, or exactly), the first-order path (OR-Tools' PDLP, then a vertex by
crossover and simplex), and the same LP in linopy.

The issue's target: the whole sequence (every tier, consumption, weighted, imports, labour),
every stage held within its tolerance, the plan verified (<= 1e-6), 3,000 products x 5 years x
3 regions in under a minute and 10^4 in under 10 minutes. Cases, one at a time, each in a child
process of its own (peak memory: the child's VmHWM), under a time limit per case:

- ``baseline``: ``make_plan(economy, method="simplex", hold="slack")`` with
  ``econplan.plan.pick``'s ``LEONTIEF_FROM`` set past any size, so the first stage starts from
  HiGHS's own start (what a user got before the Leontief start and the faces);
- ``leontief``: the same with ``LEONTIEF_FROM = 0``: the first stage from the Leontief basis;
- ``face``: ``leontief`` with ``make_plan(..., hold="face")``: each stage's optimum held by
  its optimal face (docs/planning.md 4.2), the consumption stages within the tolerance;
- ``exact``: ``leontief`` with ``make_plan(..., hold="exact")``: every stage held exactly by
  its optimal face, the consumption stages included (``face`` leaves them their tolerance);
- ``first-order``: ``make_plan(economy, method="ortools-pdlp", hold="face")``, what
  ``econplan plan --solver ortools-pdlp`` runs: each stage's point found by OR-Tools' PDLP,
  started from the last stage's optimum, then taken to a vertex by HiGHS's crossover and
  simplex (the first-order path, compared with ``face``: the same holds);
- ``linopy``: the LP ``assemble`` gives, written with linopy's modelling API (one variable per
  column block of ``problem.lp``, with its bounds; one constraint per row block and sense, its
  left-hand side a ``LinearExpression`` built from the rows of the same sparse matrix) and
  solved as a lexicographic sequence with HiGHS simplex (``Model.solve``, linopy's default
  LP-file interface): each stage of ``problem.stages`` minimised or maximised, then held for
  the next by a bound on its column (within ``problem.tolerance`` relative to max(1, |value|)).
  Not verified (linopy gives a solution, not a plan); its stage objectives are compared with
  econplan's (leontief's, else baseline's);
- ``pdlp-first``: econplan's ``Solver`` with HiGHS's PDLP alone on the first stage only (what
  the first-order method itself costs, without a vertex).

``make_plan`` gets the limit as its ``time_limit`` (assembling and every solve), linopy's
solves what is left of it; a case is killed ``MARGIN`` seconds past it. A case that fails or
passes the limit at one size is not run at the larger sizes of the same kind of economy.
Economies (3 regions, 5 years, seed n; generating them is not timed): ``generated``,
``generate_economy`` with 5 inputs per product (a random cyclic structure), and ``ibge68``,
IBGE's 2019 input-output table of Brazil at 68 sectors (package ``iotbr``) split by
``expand_table`` into n products layered like supply chains, 8 inputs per product.

``--at COMMIT`` measures ``src`` as of a commit (``git archive``) rather than the working
tree, so that edits made while the benchmark runs do not change what it measures.
``--budget``: a case that could not finish (its limit and the kill margin) within the run's
budget is skipped and reported as such.

Usage: python bench/plan.py [--at HEAD] [--sizes 1000 3000 10000] [--kinds generated ibge68]
    [--limit 300] [--budget 4000] [--markdown]
Writes bench/results/plan.json (after every case), bench/results/plan.md and the table in
docs/performance.md (``--markdown``: the md and the docs table again from plan.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from children import measured, source, watch

ROOT = Path(__file__).resolve().parent.parent
REGIONS = 3
YEARS = 5
KINDS = ("generated", "ibge68")
CASES = ("leontief", "face", "exact", "first-order", "pdlp-first", "baseline", "linopy")
"""The order they run in at each size: the new path first (then held by faces, then exactly,
then by the first-order path), the cheap PDLP figure next."""
SHOWN = ("baseline", "leontief", "face", "exact", "first-order", "linopy")
"""The whole-sequence cases, in the table's order."""
NEVER = 10**15
"""``LEONTIEF_FROM`` for the baseline: no problem has that many columns."""
MARGIN = 90.0
"""Seconds past the limit before a case is killed (generating the economy, the tables and
verification, and linopy's writing of LP files are not all under HiGHS's limit)."""
VALID = 1e-6
"""The issue's bound on the verified plan's largest violation."""
VERIFIED = ("baseline", "leontief", "face", "exact", "first-order")
"""The cases whose plan is verified (``make_plan`` whole)."""
RATIOS = {
    "baseline": ("baseline", "leontief"),
    "baseline_face": ("baseline", "face"),
    "baseline_exact": ("baseline", "exact"),
    "first_order": ("first-order", "face"),
    "linopy": ("linopy", "leontief"),
}
"""Each ratio's key in a run (``KEY_ratio``) and the two cases whose seconds it divides, in the
table's order."""
TARGETS = {3_000: 60.0, 10_000: 600.0}
BEGIN, END = "<!-- plan-bench:start -->", "<!-- plan-bench:end -->"


def ibge_table() -> Any:
    """IBGE's 2019 input-output table of Brazil at 68 sectors, as shipped by ``iotbr``."""
    import warnings

    from econplan.generate import SectorTable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import iotbr.io_system as io
        import iotbr.tru as tru

        system = io.system("2019", "68", "t")
        value_added = tru.read_var("2019", "68", "VA_table", "t")
    flows = system.mZ.to_numpy(float)
    output = value_added["Valor da produção"].to_numpy(float)
    return SectorTable(
        tuple(str(v).split("\n")[-1].strip() for v in system.mZ.index),
        flows / output,
        output,
        system.mY.to_numpy(float).sum(axis=1),
        name="IBGE 2019 (68 sectors)",
    )


def economy(kind: str, n: int) -> Any:
    """The economy of ``kind`` with n products, 3 regions and 5 years (seed n)."""
    from econplan.generate import expand_table, generate_economy

    if kind == "generated":
        return generate_economy(products=n, inputs=5, regions=REGIONS, years=YEARS, seed=n)
    if kind == "ibge68":
        return expand_table(
            ibge_table(), products=n, inputs=8, regions=REGIONS, years=YEARS, seed=n
        )
    raise ValueError(f"unknown kind of economy {kind!r}")


def peak_resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def failure(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__name__}: {error}"


def run_make_plan(case: str, built: Any, limit: float, say: Any) -> dict[str, Any]:
    """``make_plan`` whole with simplex, the first stage from HiGHS's own start (baseline) or
    from the Leontief basis; each stage held by its optimal face (face: the consumption stages
    within the tolerance; exact: those too) or within the tolerance (the others); or by the
    first-order path (first-order), held as face holds."""
    import econplan
    import econplan.plan.pick as pick
    from econplan.plan import make_plan

    pick.LEONTIEF_FROM = NEVER if case == "baseline" else 0
    # the others hold by the slack (the default until 2026-11-30, when it became face), and
    # run on code from before hold was a parameter too
    method = "ortools-pdlp" if case == "first-order" else "simplex"
    hold = "face" if case == "first-order" else case
    held: dict[str, Any] = {"hold": hold} if hold in ("face", "exact") else {}
    if not held and "hold" in inspect.signature(make_plan).parameters:
        held = {"hold": "slack"}
    start = time.perf_counter()
    try:
        plan = make_plan(built, method=method, time_limit=limit, progress=say, **held)
    except Exception as error:
        return {"seconds": time.perf_counter() - start, "why": failure(error)}
    seconds = time.perf_counter() - start
    times = plan.run["times"]
    verification = plan.info.get("verification") or {}
    info: dict[str, Any] = {
        "seconds": seconds,
        "status": plan.status,
        "problem": plan.info["problem"],
        "leontief_start": plan.info["solver"].get("leontief_start"),
        "hold": plan.info["solver"].get("hold", "slack"),
        "verified": bool(verification.get("valid")) and plan.status == "optimal",
        "max_violation": verification.get("max_violation"),
        "parts": {k: v for k, v in times.items() if k != "stages"},
        "stages": [
            {
                "name": s["name"],
                "value": s["objective"],
                "seconds": times.get("stages", {}).get(s["name"]),
                "iterations": s["iterations"],
                **({"held_by": s["held_by"], "refined": s["refined"]} if "held_by" in s else {}),
            }
            for s in plan.info.get("stages", [])
        ],
        "code": str(Path(econplan.__file__).parent),
    }
    if plan.status != "optimal":
        info["why"] = f"plan {plan.status}"
    return info


def run_pdlp_first(built: Any, limit: float) -> dict[str, Any]:
    """HiGHS's PDLP alone (econplan's ``Solver`` with HiGHS's backend) on the first stage
    only."""
    from econplan.plan import Solver, assemble
    from econplan.plan.highs import HighsBackend

    start = time.perf_counter()
    try:
        problem = assemble(built)
        first = dataclasses.replace(problem, stages=problem.stages[:1])
        # HiGHS's PDLP alone (--solver pdlp also takes its point to a vertex by simplex)
        raw = HighsBackend("pdlp")
        solution = Solver(first, backend=raw, time_limit=limit).solve()
    except Exception as error:
        return {"seconds": time.perf_counter() - start, "why": failure(error)}
    stage = solution.stages[0]
    return {
        "seconds": time.perf_counter() - start,
        "problem": size_of(problem),
        "stages": [
            {
                "name": problem.stages[0].name,
                "value": stage.value,
                "seconds": stage.seconds,
                "iterations": stage.iterations,
            }
        ],
    }


def size_of(problem: Any) -> dict[str, int]:
    rows, columns = problem.matrix.shape
    return {"rows": int(rows), "columns": int(columns), "nonzeros": int(problem.matrix.nnz)}


def linopy_model(problem: Any) -> tuple[Any, np.ndarray, list[tuple[str, int]]]:
    """The plan LP written with linopy, each column's label in it, and each column's variable
    and position in that variable."""
    import linopy
    import xarray as xr

    lp = problem.lp
    col_lower, col_upper, row_lower, row_upper = lp.bounds()
    model = linopy.Model()
    label_of = np.empty(lp.n_columns, dtype=np.int64)
    where: list[tuple[str, int]] = [("", 0)] * lp.n_columns
    for block in lp.columns.values():
        if block.size == 0:
            continue
        dim = f"{block.name}_i"
        coords = {dim: np.arange(block.size)}
        variable = model.add_variables(
            lower=xr.DataArray(col_lower[block.start : block.stop], coords=coords, dims=dim),
            upper=xr.DataArray(col_upper[block.start : block.stop], coords=coords, dims=dim),
            name=block.name,
        )
        label_of[block.start : block.stop] = variable.labels.values
        where[block.start : block.stop] = [(block.name, i) for i in range(block.size)]
    rows = problem.matrix.tocsr()
    for block in lp.rows.values():
        if block.size == 0:
            continue
        part = rows[block.start : block.stop]
        counts = np.diff(part.indptr)
        width = max(int(counts.max(initial=0)), 1)
        coeffs = np.zeros((block.size, width))
        labels = np.full((block.size, width), -1, dtype=np.int64)
        within = np.arange(part.nnz) - np.repeat(part.indptr[:-1], counts)
        owner = np.repeat(np.arange(block.size), counts)
        coeffs[owner, within] = part.data
        labels[owner, within] = label_of[part.indices]
        dim = f"{block.name}_r"
        coords = {dim: np.arange(block.size)}
        lhs = linopy.LinearExpression(
            xr.Dataset(
                {"coeffs": ((dim, "_term"), coeffs), "vars": ((dim, "_term"), labels)},
                coords=coords,
            ),
            model,
        )
        lower = row_lower[block.start : block.stop]
        upper = row_upper[block.start : block.stop]
        equal = lower == upper
        for sign, rhs, mask in (
            ("=", lower, equal),
            (">=", lower, ~equal & np.isfinite(lower)),
            ("<=", upper, ~equal & np.isfinite(upper)),
        ):
            if mask.any():
                model.add_constraints(
                    lhs,
                    sign,
                    xr.DataArray(np.where(mask, rhs, 0.0), coords=coords, dims=dim),
                    name=f"{block.name}{sign}",
                    mask=xr.DataArray(mask, coords=coords, dims=dim),
                )
    return model, label_of, where


def run_linopy(built: Any, limit: float, say: Any) -> dict[str, Any]:
    """The lexicographic sequence in linopy + HiGHS simplex: each stage's column minimised or
    maximised, then held by a bound for the stages after it."""
    import linopy
    import xarray as xr

    from econplan.plan import assemble

    start = time.perf_counter()
    info: dict[str, Any] = {"stages": [], "io_api": "lp (linopy's default)"}
    try:
        say("assembling the problem")
        problem = assemble(built)
        info["problem"] = size_of(problem)
        p = info["problem"]
        say(f"  {p['rows']:,} rows, {p['columns']:,} columns, {p['nonzeros']:,} nonzeros")
        info["assemble_seconds"] = time.perf_counter() - start
        began = time.perf_counter()
        model, labels, where = linopy_model(problem)
        info["build_seconds"] = time.perf_counter() - began
        tol = problem.tolerance
        for number, stage in enumerate(problem.stages, 1):
            say(f"stage {number}/{len(problem.stages)}: {stage.name}")
            sign = 1.0 if stage.sense == "min" else -1.0
            model.add_objective(
                linopy.LinearExpression(
                    xr.Dataset(
                        {"coeffs": ("_term", [sign]), "vars": ("_term", [labels[stage.column]])}
                    ),
                    model,
                ),
                overwrite=True,
            )
            left = limit - (time.perf_counter() - start)
            if left <= 0:
                raise TimeoutError(f"time limit of {limit:g} s reached before stage {stage.name}")
            began = time.perf_counter()
            status, condition = model.solve(
                solver_name="highs", solver="simplex", time_limit=float(left), output_flag=False
            )
            seconds = time.perf_counter() - began
            # linopy counts a time limit reached as status "ok": only an optimum goes on
            if condition == "time_limit":
                raise TimeoutError(f"time limit of {limit:g} s reached in stage {stage.name}")
            if status != "ok" or condition != "optimal":
                raise RuntimeError(f"stage {stage.name}: linopy/HiGHS {status}, {condition}")
            name, i = where[stage.column]
            variable = model.variables[name]
            value = float(variable.solution.values[i])
            try:
                iterations = int(model.solver_model.getInfo().simplex_iteration_count)
            except Exception:
                iterations = -1
            say(f"  {stage.name}: {value:.6g} ({seconds:.2f} s, {iterations} iterations)")
            info["stages"].append(
                {"name": stage.name, "value": value, "seconds": seconds, "iterations": iterations}
            )
            slack = tol * max(1.0, abs(value))
            if stage.sense == "min":
                bound, side = (0.0 if abs(value) <= 1e-9 else value + slack), "upper"
            else:
                bound, side = value - slack, "lower"
            bounds = getattr(variable, side)
            held = bounds.values.copy()
            held[i] = bound
            variable.update(**{side: bounds.copy(data=held)})
    except Exception as error:
        info["why"] = failure(error)
    info["seconds"] = time.perf_counter() - start
    return info


def child(case: str, kind: str, n: int, limit: float, result: Path) -> None:
    built = economy(kind, n)
    log = result.with_suffix(".log").open("w")

    def said(line: str) -> None:
        log.write(line + "\n")
        log.flush()

    if case == "linopy":
        info = run_linopy(built, limit, said)
    elif case == "pdlp-first":
        info = run_pdlp_first(built, limit)
    else:
        info = run_make_plan(case, built, limit, said)
    info["peak_bytes"] = peak_resident_bytes()
    result.write_text(json.dumps(info))


def measure(
    case: str, kind: str, n: int, limit: float, workdir: Path, env: dict[str, str]
) -> dict[str, Any]:
    """One case in a child process, killed (and reported as not finished) ``MARGIN`` seconds
    past its limit; peak memory from the child's own VmHWM, or its rusage when it died."""
    result = workdir / f"{case}-{kind}-{n}.json"
    command = [sys.executable, __file__, "--child", case, kind, str(n), str(limit), str(result)]
    ran = watch(command, env, limit, MARGIN, result)
    problem, reached = ran.problem, ran.reached
    if ran.killed or ran.status != 0 or not result.exists():
        why = f"killed {limit + MARGIN:.0f} s in" if ran.killed else f"exit status {ran.status}"
        if not ran.killed and ran.stderr:
            why = ran.stderr[-1][:200]
        return {
            "finished": False,
            "timed_out": ran.killed,
            "why": why,
            "seconds": ran.seconds,
            "reached": reached,
            "problem": problem,
            "peak_bytes": ran.usage.ru_maxrss * 1024,
            "stages": ran.stages(),
        }
    info: dict[str, Any] = json.loads(result.read_text())
    info.setdefault("problem", problem)
    why = info.get("why", "")
    info["timed_out"] = "time limit" in why.lower() or info["seconds"] > limit
    if not why and info["seconds"] > limit:
        info["why"] = f"{info['seconds']:.0f} s in all, past the limit"
    if "why" in info:
        info["reached"] = reached
        if not info.get("stages"):
            info["stages"] = ran.stages()
    elif case in VERIFIED and not (info["verified"] and (info["max_violation"] or 0.0) <= VALID):
        info["why"] = f"not verified (largest violation {info['max_violation']:.1e})"
    info["finished"] = "why" not in info
    return info


def machine() -> dict[str, Any]:
    """The Leontief benchmark's machine description with the solvers' versions, without
    importing econplan here (the children import the code measured)."""
    from importlib import metadata

    from leontief import machine as cpu_and_python

    return cpu_and_python() | {
        "highs": metadata.version("highspy"),
        "linopy": metadata.version("linopy"),
    }


def compare(run: dict[str, Any]) -> None:
    """Ratios (``RATIOS``: baseline and linopy to the leontief case, baseline to the face and
    exact cases, first-order to face) and the linopy, PDLP, baseline, face and exact stage
    objectives' largest relative difference from econplan's (leontief's, else baseline's), the
    first-order path's from face's."""
    cases = run["cases"]
    reference = next(
        (cases[c] for c in ("leontief", "baseline") if cases.get(c, {}).get("finished")), None
    )
    for key, (name, over) in RATIOS.items():
        case, new = cases.get(name, {}), cases.get(over, {})
        if not new.get("finished") or not case or case.get("skipped"):
            continue
        if case.get("finished"):
            run[f"{key}_ratio"] = case["seconds"] / new["seconds"]
        elif case.get("timed_out"):
            run[f"{key}_ratio_above"] = case["seconds"] / new["seconds"]
    for name in ("linopy", "pdlp-first", "baseline", "face", "exact", "first-order"):
        case = cases.get(name, {})
        # the first-order path holds as face does: its stages are face's, by another path
        against = cases.get("face", {}) if name == "first-order" else reference
        if not against or not against.get("finished"):
            continue
        if case is against or not case.get("stages") or "value" not in case["stages"][0]:
            continue
        values = {s["name"]: s["value"] for s in against["stages"]}
        gaps = [
            (abs(s["value"] - values[s["name"]]) / max(1.0, abs(values[s["name"]])), s["name"])
            for s in case["stages"]
            if s["name"] in values
        ]
        if not gaps:
            continue
        case["objective_difference"], case["objective_difference_stage"] = max(gaps)
        first = next(((d, stage) for d, stage in gaps if d > VALID), None)
        case["first_difference"] = list(first) if first else None


def growth(runs: list[dict[str, Any]], kind: str, case: str) -> float | None:
    """Exponent b of seconds ~ n^b, least squares over the three largest finished sizes."""
    points = [
        (run["n"], run["cases"][case]["seconds"])
        for run in runs
        if run["kind"] == kind and run["cases"].get(case, {}).get("finished")
    ][-3:]
    if len(points) < 2:
        return None
    x = np.log([p[0] for p in points])
    y = np.log([max(p[1], 1e-6) for p in points])
    return float(np.polyfit(x, y, 1)[0])


def short(why: str) -> str:
    """The gist of a failure, for a table cell."""
    why = why.replace("|", "/")
    why = re.sub(r"^[\w.]+\.(\w+): ", r"\1: ", why)
    return why if len(why) <= 60 else why[:57] + "..."


def seconds_cell(f: dict[str, Any], limit: float) -> str:
    if not f:
        return "-"
    if f.get("finished"):
        return f"{f['seconds']:.1f}"
    if f.get("skipped"):
        return "not run"
    if f.get("timed_out"):
        return f"> {limit:.0f}"
    return f"failed: {short(f['why'])}"


def verified_cell(f: dict[str, Any]) -> str:
    if f.get("max_violation") is None:
        return "-"
    return f"{'yes' if f.get('verified') else 'no'} ({f['max_violation']:.0e})"


def peak_cell(f: dict[str, Any]) -> str:
    return f"{f['peak_bytes'] / 2**30:.2f}" if f.get("peak_bytes") else "-"


def ratio_cell(run: dict[str, Any], name: str) -> str:
    if f"{name}_ratio" in run:
        return f"{run[f'{name}_ratio']:.1f}x"
    if f"{name}_ratio_above" in run:
        return f"> {run[f'{name}_ratio_above']:.1f}x"
    return "-"


def difference_text(f: dict[str, Any]) -> str:
    text = f"{f['objective_difference']:.1e} ({f['objective_difference_stage']}"
    first = f.get("first_difference")
    if first and first[1] != f["objective_difference_stage"]:
        text += f"; the first stage past {VALID:.0e}: {first[1]}, {first[0]:.1e}"
    return text + ")"


def growth_text(result: dict[str, Any], kind: str, case: str) -> str:
    b = result["growth"][kind].get(case)
    text = f"{case} n^{b:.2f}" if b is not None else f"{case} - (fewer than two sizes)"
    runs = [r for r in result["runs"] if r["kind"] == kind and case in r["cases"]]
    done = [r for r in runs if r["cases"][case].get("finished")]
    out = next(
        (
            r
            for r in runs
            if r["cases"][case].get("timed_out") and not r["cases"][case].get("finished")
        ),
        None,
    )
    if done and out and out["n"] > done[-1]["n"]:
        last = done[-1]
        past = np.log(out["cases"][case]["seconds"] / last["cases"][case]["seconds"])
        b = past / np.log(out["n"] / last["n"])
        text += f" then > n^{b:.1f} ({last['n']:,} -> {out['n']:,})"
    return text


def reason(f: dict[str, Any], limit: float) -> str:
    return f"> {limit:.0f} s" if f.get("timed_out") else short(f["why"])


def where_stopped(result: dict[str, Any], kind: str, case: str) -> str:
    runs = [r for r in result["runs"] if r["kind"] == kind and case in r["cases"]]
    done = [r["n"] for r in runs if r["cases"][case].get("finished")]
    failed = next(
        (
            (r["n"], r["cases"][case])
            for r in runs
            if not r["cases"][case].get("finished") and not r["cases"][case].get("skipped")
        ),
        None,
    )
    text = f"finished up to {max(done):,}" if done else "finished at no size"
    if failed:
        n, f = failed
        at = f"; in stage {f['reached']}" if f.get("reached") else ""
        text += f", stopped at {n:,} ({reason(f, result['limit'])}{at})"
    elif any(r["cases"][case].get("skipped") for r in runs):
        text += ", not run beyond (budget)"
    return text


def target_line(result: dict[str, Any], kind: str, n: int, target: float) -> str | None:
    run = next((r for r in result["runs"] if r["kind"] == kind and r["n"] == n), None)
    if run is None:
        return None
    parts = []
    limit = result["limit"]
    for case in ("leontief", "face", "exact", "first-order", "baseline"):
        f = run["cases"].get(case, {})
        if f.get("finished"):
            how = "within" if f["seconds"] <= target else "over"
            parts.append(
                f"{case} {f['seconds']:.0f} s, {f['seconds'] / target:.2f}x the target ({how})"
            )
        elif f.get("skipped") or not f:
            parts.append(f"{case} not run")
        elif f.get("timed_out"):
            if limit >= target:
                parts.append(f"{case} > {limit:.0f} s, more than {limit / target:.1f}x the target")
            else:
                parts.append(f"{case} > {limit:.0f} s (the limit is below the target: not settled)")
        else:
            parts.append(f"{case} failed ({short(f['why'])})")
    return f"{kind} {n:,} (target < {target:.0f} s): " + "; ".join(parts)


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    limit = result["limit"]
    code = measured(result["code"])
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB, shared "
        "with another engineer running tests while this ran (timings indicative, not clean); "
        f"Python {m['python']}, HiGHS {m['highs']}, linopy {m['linopy']}; code: {code}. "
        "Economies with 3 regions, 5 years, seed n: generated (`generate_economy`, 5 inputs per "
        "product) and ibge68 (IBGE's 2019 table of Brazil at 68 sectors split by `expand_table`, "
        "8 inputs per product); generating them is not timed. The whole sequence, one case at a "
        f"time, each in its own process, limit {limit:.0f} s per case (`make_plan`'s "
        f"`time_limit`; killed {MARGIN:.0f} s past it); a case that fails at one size is not "
        "run at the larger ones of that economy. Seconds in all (assemble, every stage, waste "
        "stage, tables, verification; linopy: assemble, build, every solve); peak: the case's "
        "VmHWM in GiB.",
        "",
        "| economy | n | rows | columns | nonzeros | "
        + " | ".join(f"{case} s" for case in SHOWN)
        + " | verified (largest violation): "
        + " / ".join(VERIFIED)
        + " | "
        + " | ".join(" / ".join(RATIOS[key]) for key in RATIOS)
        + " | "
        + " | ".join(f"peak {case}" for case in SHOWN)
        + " |",
        "|---" * (5 + 2 * len(SHOWN) + 1 + len(RATIOS)) + "|",
    ]
    for run in result["runs"]:
        c = run["cases"]
        size = next((f["problem"] for f in c.values() if f.get("problem")), None) or {}
        numbers = " | ".join(
            f"{size[k]:,}" if k in size else "-" for k in ("rows", "columns", "nonzeros")
        )
        lines.append(
            f"| {run['kind']} | {run['n']:,} | {numbers} | "
            + " | ".join(seconds_cell(c.get(case, {}), limit) for case in SHOWN)
            + " | "
            + " / ".join(verified_cell(c.get(case, {})) for case in VERIFIED)
            + " | "
            + " | ".join(ratio_cell(run, key) for key in RATIOS)
            + " | "
            + " | ".join(peak_cell(c.get(case, {})) for case in SHOWN)
            + " |"
        )
    kinds = list(dict.fromkeys(r["kind"] for r in result["runs"]))
    lines += [
        "",
        "> N: did not finish within the limit of N s; not run: skipped (failed at a smaller "
        "size of the same economy, or the run's budget). Ratios over a case that ran out of "
        "time are lower bounds (its seconds when it stopped). linopy is not verified (it gives "
        "the LP's solution, not a plan).",
        "",
        "Growth of time in n (exponent b of seconds ~ n^b over the sizes finished, up to the "
        "three largest; then, where a case ran out of time, the least exponent that takes it "
        "from its largest size finished past the limit at the next): "
        + "; ".join(
            f"{kind}: " + ", ".join(growth_text(result, kind, case) for case in SHOWN)
            for kind in kinds
        )
        + ".",
        "",
        "Where each case stops finishing: "
        + "; ".join(
            f"{kind} {case}: {where_stopped(result, kind, case)}"
            for kind in kinds
            for case in SHOWN
            if any(r["kind"] == kind and case in r["cases"] for r in result["runs"])
        )
        + ".",
    ]
    targets = [
        line
        for kind in kinds
        for n, target in TARGETS.items()
        if (line := target_line(result, kind, n, target))
    ]
    if targets:
        lines += ["", "The issue's targets (the whole sequence, verified <= 1e-6): "]
        lines[-1] += "; ".join(targets) + "."
    differences = [
        (run["kind"], run["n"], case, difference_text(run["cases"][case]))
        for run in result["runs"]
        for case in ("linopy", "baseline", "face", "exact", "first-order")
        if run["cases"].get(case, {}).get("objective_difference") is not None
    ]
    if differences:
        lines += [
            "",
            "Stage objectives against econplan's (leontief's; first-order's against face's, "
            "which holds the same way), largest difference relative to max(1, |econplan's|), "
            "over the stages each solved: "
            + ", ".join(f"{k} {n:,} {case} {d}" for k, n, case, d in differences)
            + ". (A difference in one stage moves the stages after it: each holds another "
            "optimum.)",
        ]
    pdlp = [
        (run["kind"], run["n"], run["cases"]["pdlp-first"])
        for run in result["runs"]
        if run["cases"].get("pdlp-first")
    ]
    if pdlp:
        lines += [
            "",
            "pdlp-first (econplan's `Solver` with HiGHS's PDLP alone, the first stage only, no "
            "vertex: what the first-order method itself costs, where first-order is the whole "
            "sequence; compared with the leontief case's first stage where that finished): "
            + ", ".join(
                f"{k} {n:,} "
                + (
                    f"{f['seconds']:.1f} s ({f['peak_bytes'] / 2**30:.2f} GiB, first stage "
                    + (
                        f"{f['objective_difference']:.1e} from simplex's)"
                        if f.get("objective_difference") is not None
                        else "not compared)"
                    )
                    if f.get("finished")
                    else seconds_cell(f, limit)
                )
                for k, n, f in pdlp
            )
            + ".",
        ]
    lines += [
        "",
        "| economy | n | case | seconds | verified | peak GiB | stages: seconds (iterations) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for case in (*SHOWN, "pdlp-first"):
            f = run["cases"].get(case)
            if not f or f.get("skipped"):
                continue
            stages = ", ".join(
                f"{s['name']} {s['seconds']:.1f} ({s['iterations']})"
                for s in f.get("stages", [])
                if s.get("seconds") is not None
            )
            if not f.get("finished"):
                at = f"; in stage {f['reached']}" if f.get("reached") else ""
                stages = f"{stages or '-'} (before it stopped: {reason(f, limit)}{at})"
            lines.append(
                f"| {run['kind']} | {run['n']:,} | {case} | {f['seconds']:.1f} | "
                f"{verified_cell(f)} | {peak_cell(f)} | {stages or '-'} |"
            )
    notes = result.get("notes") or []
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def update_docs(text_table: str, docs: Path) -> None:
    text = docs.read_text(encoding="utf-8") if docs.exists() else ""
    table = f"{BEGIN}\n{text_table}{END}"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + table + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    docs.write_text(text, encoding="utf-8")


def summarise(result: dict[str, Any]) -> None:
    kinds = list(dict.fromkeys(r["kind"] for r in result["runs"]))
    result["growth"] = {kind: {c: growth(result["runs"], kind, c) for c in CASES} for kind in kinds}


def benchmark(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    began = time.monotonic()
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    result: dict[str, Any] = {
        "machine": machine(),
        "regions": REGIONS,
        "years": YEARS,
        "limit": args.limit,
        "margin": MARGIN,
        "budget": args.budget,
        "runs": runs,
        "notes": notes,
    }
    out.mkdir(parents=True, exist_ok=True)

    def write() -> None:
        """Written after every case: a run that stops keeps the cases done."""
        result["seconds"] = time.monotonic() - began
        summarise(result)
        (out / "plan.json").write_text(json.dumps(result, indent=2) + "\n")

    stopped: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory(prefix="econplan-plan-bench-") as work:
        env, result["code"] = source(args.at, Path(work))
        for n in args.sizes:
            for kind in args.kinds:
                run: dict[str, Any] = {"kind": kind, "n": n, "cases": {}}
                runs.append(run)
                for case in (c for c in CASES if c in args.cases):
                    spent = time.monotonic() - began
                    why = ""
                    if (kind, case) in stopped:
                        why = f"not run: did not finish at {stopped[kind, case]:,}"
                    elif spent + args.limit + MARGIN > args.budget:
                        why = (
                            f"not run: {spent:.0f} s spent, and the case could take "
                            f"{args.limit + MARGIN:.0f} s more than the budget of "
                            f"{args.budget:.0f} s"
                        )
                        notes.append(f"{kind} {n:,} {case}: {why}.")
                    if why:
                        run["cases"][case] = {"finished": False, "skipped": True, "why": why}
                        print(f"{kind:9} {n:>6} {case:10} {why}", flush=True)
                        continue
                    figures = measure(case, kind, n, args.limit, Path(work), env)
                    run["cases"][case] = figures
                    if not figures["finished"]:
                        stopped[kind, case] = n
                    compare(run)
                    print(
                        f"{kind:9} {n:>6} {case:10} {figures['seconds']:8.1f} s "
                        f"{figures.get('peak_bytes', 0) / 2**30:5.2f} GiB "
                        + (
                            f"violation {figures['max_violation']:.1e}"
                            if figures.get("max_violation") is not None
                            else ""
                        )
                        + (f" {figures['why']}" if "why" in figures else ""),
                        flush=True,
                    )
                    write()
    write()
    return result


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        case, kind, n, limit, path = sys.argv[2:7]
        child(case, kind, int(n), float(limit), Path(path))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10_000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per case")
    parser.add_argument("--budget", type=float, default=4000.0, help="seconds for the run")
    parser.add_argument("--at", default="", help="measure src as of this commit")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument(
        "--markdown", action="store_true", help="only write the md and docs table from plan.json"
    )
    args = parser.parse_args()
    if args.markdown:
        result = json.loads((args.out / "plan.json").read_text())
        for run in result["runs"]:
            compare(run)
        summarise(result)
    else:
        result = benchmark(args, args.out)
    table = markdown(result)
    (args.out / "plan.md").write_text(table, encoding="utf-8")
    update_docs(table, args.docs)
    print(table)


if __name__ == "__main__":
    main()
