"""``--solver auto``: which solver a plan problem is given, by its size and by what is
installed, and why (plan.json's ``solver``: ``asked``, ``method`` and ``why``; the summary's
stage line).

The rule is the measurement in ``bench/methods.py`` (results in bench/results/methods.md and
docs/performance.md, "Which solver"): the whole stage sequence, verified, with each method on
generated economies side by side. The first-order backend (:mod:`econplan.plan.firstorder`)
is there to be asked for; auto does not pick it, since it finished no plan faster than
simplex where measured (``bench/plan.py``'s ``first-order`` case: 24 to 27 times simplex's
time at 1,000 products, and past 600 s in the first stage at 3,000, where simplex took 5 s
on IBGE's table). Nor does auto pick the GPU's (``cupdlpx``, :mod:`econplan.plan.gpu`) where
a GPU is present: it takes its point to a vertex by the same crossover and simplex on the
host, and that bridge, not PDLP, is what stopped the first-order path at 3,000 products
(PDLP converged in 0.85 s; simplex from crossover's basis had not finished 480 s later;
docs/performance.md, "Why the generated economies factor slowly, and the first-order path at
scale"). A faster PDLP does not shorten that. It has never run on a GPU either: no device
was lent to measure it. Once one has, it may be picked here by size and by whether its
package and a GPU are present.
"""

from __future__ import annotations

from importlib import metadata

from econplan.plan import firstorder, gpu
from econplan.plan.backend import Backend
from econplan.plan.highs import METHODS, HighsBackend
from econplan.plan.problem import StageProblem

AUTO = "auto"
CHOICES = (AUTO, *METHODS, firstorder.METHOD, gpu.METHOD)
"""What ``--solver`` accepts: HiGHS's simplex and interior point, and the first-order methods
whose point simplex takes to a vertex (:mod:`econplan.plan.firstorder`): HiGHS's PDLP
(``pdlp``), OR-Tools' (``ortools-pdlp``, where OR-Tools is installed) and cuPDLPx's on a GPU
(``cupdlpx``, where cuPDLPx is installed and a GPU is present)."""


def label(method: str) -> str:
    """The solver as a planner reads it (the summary, the progress lines)."""
    if method in firstorder.ENGINES:
        return f"{firstorder.ENGINES[method][0]}, then HiGHS crossover and simplex from its point"
    return f"HiGHS {method}"


def versions(method: str) -> dict[str, str]:
    """The versions of the packages that solve by ``method``, for plan.json."""
    found = {"highspy": metadata.version("highspy")}
    if method == firstorder.METHOD:
        found["ortools"] = metadata.version("ortools")
    if method == gpu.METHOD:
        found["cupdlpx"] = metadata.version("cupdlpx")
    return found


def make_backend(method: str, threads: int | None = None, settle: bool = True) -> Backend:
    """The backend that solves by ``method`` (one of ``CHOICES`` but auto)."""
    if method in firstorder.ENGINES:
        return firstorder.FirstOrderBackend(threads, settle, method=method)
    return HighsBackend(method, threads, settle)


MEASURED_UP_TO = 50_325
"""Columns of the largest problem ``bench/methods.py`` measured every method on (1,000
generated products, 3 regions, 5 years)."""

SIMPLEX_UP_TO = 500_332
"""Columns of the largest problem on which simplex (from the Leontief basis) finished the whole
plan, verified (``bench/plan.py``: IBGE's table split into 10,000 products, 114 s)."""

FIRST_ORDER_UNFINISHED = 150_327
"""Columns of the smallest problem on which the first-order path (``ortools-pdlp``) did not
finish the whole plan in 600 s (``bench/plan.py``'s ``first-order`` case: IBGE's table split
into 3,000 products; at 1,000 products it finished, in 27 times simplex's time)."""


def pick_method(problem: StageProblem, asked: str) -> tuple[str, str]:
    """The method to solve ``problem`` with, and why: the one asked for, or by the rule.

    The rule, measured (bench/results/methods.md, the whole stage sequence verified): simplex
    was the fastest method that finished at every size, 300 products (15,340 columns:
    simplex 35 s, interior point 47 s, HiGHS's PDLP alone failed) and 1,000 (50,325
    columns: simplex 257 s; interior point and PDLP did not finish in 400 s). OR-Tools' PDLP
    alone, started each stage from the last one's point, did not finish the imports stage of
    a 100-product economy in 90 s; taken to a vertex by simplex each stage (``--solver
    pdlp``, ``ortools-pdlp``) both finish, slower than simplex alone (docs/performance.md,
    "Which solver"). Past 1,000
    products (bench/plan.py) simplex from the Leontief basis finished the whole plan up to
    10,000 products (``SIMPLEX_UP_TO``), and the first-order path did not finish at 3,000. So
    auto gives simplex and says why, and past the measured sizes it says that too."""
    if asked != AUTO:
        if asked not in CHOICES:
            raise ValueError(f"unknown solver {asked!r}; use one of {', '.join(CHOICES)}")
        return asked, "asked for"
    columns = problem.shape[1]
    if columns <= MEASURED_UP_TO:
        return "simplex", (
            f"auto: {columns:,} columns; simplex was the fastest method at every size "
            f"measured, up to {MEASURED_UP_TO:,} columns"
        )
    if columns <= SIMPLEX_UP_TO:
        return "simplex", (
            f"auto: {columns:,} columns; past {MEASURED_UP_TO:,} simplex finished the whole "
            f"plan up to {SIMPLEX_UP_TO:,} columns, and the first-order path did not finish at "
            f"{FIRST_ORDER_UNFINISHED:,}"
        )
    return "simplex", (
        f"auto: {columns:,} columns, past the largest size measured ({SIMPLEX_UP_TO:,}), "
        "where simplex was the only method that finished"
    )


LEONTIEF_FROM = 30_000
"""Columns from which simplex starts the first stage from the Leontief basis
(:mod:`econplan.plan.start`) rather than from HiGHS's own start after its presolve. Measured
(docs/performance.md, "The Leontief start"), ``make_plan`` whole: the built-in economy (24,568
columns) 9.9 s from HiGHS's start and 20 s from the Leontief basis (its presolve removes much of
that problem, and the changed path sent the labour stage to the interior-point fallback); at
1,000 products (about 50,000 columns) 89.5 s and 9.5 s on a generated economy, 40.5 s and
5.9 s on IBGE's table split into products; at 3,000 products on that table more than 300 s and
18 s (bench/results/plan.md). Between 24,568 and 50,325 columns nothing was measured."""


def pick_start(problem: StageProblem, method: str) -> tuple[bool, str]:
    """Whether simplex starts the first stage of ``problem`` from the Leontief basis, and why
    (the rule in ``LEONTIEF_FROM``)."""
    columns = problem.shape[1]
    if method in firstorder.ENGINES:
        return False, (
            "each stage starts from the first-order method's point (crossover), or from the "
            "last stage's vertex where that method did not converge"
        )
    if method != "simplex":
        return False, f"{method} takes no starting basis"
    if columns >= LEONTIEF_FROM:
        return True, (
            f"first stage from the Leontief basis: {columns:,} columns, from "
            f"{LEONTIEF_FROM:,} it was measured 7 to 17 times faster than HiGHS's own start"
        )
    return False, (
        f"first stage from HiGHS's own start: {columns:,} columns, below {LEONTIEF_FROM:,} "
        "its presolve was measured faster than the Leontief basis"
    )
