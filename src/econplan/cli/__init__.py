"""The ``econplan`` command: a thin front over the library.

Exit codes: 0 success; 2 bad input (the problems are printed, one per line); 3 no plan meets
the hard targets (plan, with a diagnosis); 4 no plan for other reasons (time limit, a plan
failing verification); 1 only for bugs.
Every command that reports something takes ``--json``.
"""

from econplan.cli import (  # noqa: F401  (registers the commands)
    analysis,
    compare,
    economy,
    ensemble,
    execution,
    plan,
    report,
    scenario,
    store,
    supplyuse,
    web,
)
from econplan.cli.common import main

__all__ = ["main"]
