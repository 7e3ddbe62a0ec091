"""What a family's verification check is given: ``record``, which takes one check's excesses
over its limits, the size of what each limit holds and a label for each, and ``label``, which
names the rows of a plan table for the report (see :mod:`econplan.plan.verify`)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from econplan.model.economy import Economy

Record = Callable[[str, pd.Series, pd.Series, pd.Series], None]
"""``record(check, excess, size, labels)``: a violation is ``excess / max(|size|, 1)``."""

Check = Callable[[Economy, dict[str, pd.DataFrame], Record], None]
"""A family's verification: recompute its constraints from the plan's tables and the
economy's (never from the problem's matrix), and record what each exceeds."""


def label(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The rows of ``frame`` named by ``columns``, joined by spaces."""
    text = frame[columns[0]].astype(str)
    for column in columns[1:]:
        text = text + " " + frame[column].astype(str)
    return text
