"""Ensembles: many what-if plans at once, each member drawing its shocks (a harvest factor, a
typhoon with a probability per year, an import cut) from distributions declared in a file,
planned as Dask tasks; the results say how likely each target is to be met.

``read_ensemble(FILE)`` reads and checks a file (``schema/ensemble.csv`` declares its keys),
``run_ensemble(ensemble, out)`` plans the members and writes the results;
``econplan ensemble`` is the command-line front. docs/scenarios.md describes the file.
"""

from econplan.ensemble.member import MemberResult, plan_member
from econplan.ensemble.read import Ensemble, Shock, read_ensemble, shipped_ensembles
from econplan.ensemble.run import EnsembleResult, run_ensemble

__all__ = [
    "Ensemble",
    "EnsembleResult",
    "MemberResult",
    "Shock",
    "plan_member",
    "read_ensemble",
    "run_ensemble",
    "shipped_ensembles",
]
