"""A pymrio IOSystem read as an economy: one product and one process per region and sector.

Products are named ``region.sector`` (``reg1.food``) and belong to the sector, their
facilities to the region. Each extension row becomes a primary product named
``extension.row`` (``emissions.emission_type1.air``) whose coefficients are the extension's
S (F / x). Final demand Y is summed by consuming region and category
(:func:`econplan.io.sectoral.final_use_category`); exports go to trade.csv. What pymrio
books on final demand directly (F_Y, such as households' emissions) has no process to be
an input of and is left out.

:func:`read_pymrio` reads a folder that pymrio's ``IOSystem.save_all`` wrote (text or
Parquet files, found by its ``file_parameters.json``); it imports pymrio, which econplan does
not depend on: only that reader needs it installed.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.errors import EconomyError, Problem
from econplan.io.sectoral import (
    DEFAULT_BASE_YEAR,
    Options,
    SectoralTable,
    build_economy,
    final_demand_rows,
)

if TYPE_CHECKING:
    from econplan.model.economy import Economy


def _id(key: Any) -> str:
    return ".".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _level(index: pd.Index, name: str, position: int) -> pd.Index:
    names = list(index.names)
    return index.get_level_values(names.index(name) if name in names else position)


def _unit_of(units: pd.DataFrame | None, keys: pd.Index, default: str) -> list[str]:
    if units is None or "unit" not in units:
        return [default] * len(keys)
    found = units["unit"].reindex(keys)
    return [u if isinstance(u, str) and u.strip() else default for u in found]


def _per_unit(values: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    per_unit = values.to_numpy(dtype=float) / np.where(x != 0, x, 1.0)
    return np.asarray(per_unit * (x != 0), dtype=float)


def economy_from_pymrio(
    mrio: Any,
    *,
    name: str | None = None,
    base_year: int = DEFAULT_BASE_YEAR,
    currency: str | None = None,
    horizon: tuple[int, int] | None = None,
    population: float = 0.0,
    services: Collection[str] = (),
) -> Economy:
    """The economy of the pymrio IOSystem ``mrio`` (Z or A, and Y, loaded; x and S are
    computed as pymrio does when missing). Sectors named in ``services`` make services;
    other keywords as for :func:`econplan.io.iotable.read_io_table`."""
    label = name or str(getattr(mrio, "name", None) or "pymrio")
    Z, A, Y = mrio.Z, mrio.A, mrio.Y
    if Y is None or (Z is None and A is None):
        raise EconomyError(
            [Problem(label, None, None, "the IOSystem needs Y and Z (or A): load them first")]
        )
    if mrio.x is not None:
        x = mrio.x.iloc[:, 0].to_numpy(dtype=float)
    elif Z is not None:  # pymrio's calc_x
        x = (Z.sum(axis=1) + Y.sum(axis=1)).to_numpy(dtype=float)
    else:
        raise EconomyError([Problem(label, None, None, "the IOSystem has A but no x")])
    keys = (Z if Z is not None else A).index
    coefficients = A.to_numpy(dtype=float) if A is not None else _per_unit(Z, x)
    ids = pd.Index([_id(k) for k in keys])
    sectors = _level(keys, "sector", -1).astype(str)
    regions = _level(keys, "region", 0).astype(str)
    units = _unit_of(getattr(mrio, "unit", None), keys, "money")
    products = pd.DataFrame(
        {
            "name": [f"{s} ({r})" for r, s in zip(regions, sectors, strict=True)],
            "sector": sectors,
            "region": regions,
            "unit": units,
            "kind": ["service" if s in services else "good" for s in sectors],
        },
        index=ids,
    )
    primary, B = _extensions(mrio, keys, x)
    final, exports = _final_demand(Y, keys, ids)
    problems = _problems(label, ids, coefficients, primary.index, B, final, x)
    if problems:
        raise EconomyError(problems)
    table = SectoralTable(
        products=products,
        output=x,
        A=sp.csr_matrix(coefficients),
        primary=primary,
        B=sp.csr_matrix(B),
        final_demand=final,
        exports=exports,
        regions=tuple(sorted(set(regions) | set(final["region"]))),
    )
    common = sorted(set(units))
    options = Options(
        name=label,
        base_year=base_year,
        currency=currency or (common[0] if len(common) == 1 else "money"),
        horizon=horizon,
        population=population,
        description=f"Converted from the pymrio system {label}.",
        source_title=f"pymrio IOSystem {label}",
        source_note="One process per region and sector; population, horizon and labour "
        "available are placeholders (see econplan.io.mrio).",
    )
    return build_economy(table, options)


def _extensions(mrio: Any, keys: pd.Index, x: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Primary products (name, unit, kind) and their coefficients, from every extension."""
    frames, blocks = [], []
    for attribute in mrio.get_extensions():
        extension = getattr(mrio, attribute)
        if extension.S is not None:
            S = extension.S.reindex(columns=keys).fillna(0.0).to_numpy(dtype=float)
        elif extension.F is not None:
            S = _per_unit(extension.F.reindex(columns=keys).fillna(0.0), x)
        else:
            continue
        rows = (extension.S if extension.S is not None else extension.F).index
        frames.append(
            pd.DataFrame(
                {
                    "name": [f"{extension.name}: {_id(r)}" for r in rows],
                    "unit": _unit_of(extension.unit, rows, "unit"),
                    "kind": "primary",
                },
                index=[f"{attribute}.{_id(r)}" for r in rows],
            )
        )
        blocks.append(S)
    if not frames:
        return pd.DataFrame(columns=["name", "unit", "kind"]), np.zeros((0, len(keys)))
    return pd.concat(frames), np.vstack(blocks)


def _final_demand(Y: pd.DataFrame, keys: pd.Index, ids: pd.Index) -> tuple[pd.DataFrame, pd.Series]:
    """Final demand by consuming region and category, and exports summed over regions."""
    Y = Y.reindex(index=keys).fillna(0.0)
    Y.index = ids
    consumers = _level(Y.columns, "region", 0).astype(str)
    categories = _level(Y.columns, "category", -1).astype(str)
    frames, exports = [], pd.Series(0.0, index=ids)
    for region in sorted(set(consumers)):
        block = Y.loc[:, consumers == region]
        block.columns = categories[consumers == region]
        rows, sold = final_demand_rows(block, region=region)
        frames.append(rows)
        exports = exports + sold
    return pd.concat(frames, ignore_index=True), exports


def _problems(
    file: str,
    ids: pd.Index,
    A: np.ndarray,
    primary: pd.Index,
    B: np.ndarray,
    final: pd.DataFrame,
    x: np.ndarray,
) -> list[Problem]:
    problems = [
        Problem(f"{file} [x]", None, str(ids[int(j)]), f"total output {x[j]:g} is negative")
        for j in np.flatnonzero(x < 0)
    ]
    for what, rows, values in (("A", ids, A), ("S", primary, B)):
        for i, j in zip(*np.nonzero(values < 0), strict=True):
            problems.append(
                Problem(
                    f"{file} [{what}]",
                    None,
                    f"{rows[i]} / {ids[j]}",
                    f"coefficient {values[i, j]:g} is negative: econplan's inputs cannot be; "
                    "net negative items into another row first",
                )
            )
    for row in final[final["amount"] < 0].itertuples(index=False):
        problems.append(
            Problem(
                f"{file} [Y]",
                None,
                f"{row.product} / {row.region}",
                f"final demand of category {row.category} adds up to {row.amount:g}: claims of "
                "final use cannot be negative; net negative entries (changes in inventories) "
                "against another category first",
            )
        )
    return problems


# -- a folder pymrio saved ---------------------------------------------------------------------
PARAMETERS = "file_parameters.json"


def is_pymrio_folder(path: Path) -> bool:
    """A folder that ``IOSystem.save_all`` wrote: its ``file_parameters.json`` says so."""
    if not (path / PARAMETERS).is_file():
        return False
    try:
        parameters = json.loads((path / PARAMETERS).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return True  # it claims to be one: the reader says what is wrong with it
    return not isinstance(parameters, dict) or parameters.get("systemtype") == "IOSystem"


@dataclass(frozen=True)
class PymrioSystem:
    """The economy of a saved pymrio system, and what was left out to read it."""

    economy: Economy
    notes: tuple[str, ...]


def read_pymrio(path: Path | str, **keywords: Any) -> PymrioSystem:
    """The economy of the pymrio system saved in the folder ``path`` (``IOSystem.save_all``,
    text or Parquet), with notes; keywords as for :func:`economy_from_pymrio`. Raises
    EconomyError when pymrio is missing or cannot read the folder."""
    path = Path(path)
    file = str(path)
    try:
        import pymrio
    except ImportError:
        message = "a pymrio folder is read with pymrio, which is not installed: pip install pymrio"
        raise EconomyError([Problem(file, None, None, message)]) from None
    try:
        mrio = pymrio.load_all(path)
    except (OSError, ValueError, KeyError, TypeError, pymrio.ReadError) as error:
        message = (
            f"pymrio cannot read this folder ({type(error).__name__}: {error}): save the system "
            "again with IOSystem.save_all"
        )
        raise EconomyError([Problem(file, None, None, message)]) from None
    keywords.setdefault("name", str(getattr(mrio, "name", None) or path.name))
    economy = economy_from_pymrio(mrio, **keywords)
    notes = []
    for attribute in mrio.get_extensions():
        booked = getattr(getattr(mrio, attribute), "F_Y", None)
        if booked is not None and booked.to_numpy().any():
            notes.append(
                f"{file}: what the extension {attribute!r} books on final demand directly "
                "(F_Y, such as households' own emissions) has no process to enter and is left out"
            )
    return PymrioSystem(economy, tuple(notes))
