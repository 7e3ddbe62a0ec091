"""Hostile cell values, and changes to numbers that keep them numbers (to reach the solver)."""

from __future__ import annotations

import math
from random import Random

HOSTILE: tuple[str, ...] = (
    "",
    " ",
    "-1",
    "-0",
    "0",
    "0.0",
    "1e308",
    "-1e308",
    "1e309",
    "1e-320",
    "5e-324",
    "2.2250738585072014e-308",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "99999999999999999999999999",
    "9" * 400,
    "2021.5",
    "10000",
    "-2020",
    "0x10",
    "1_000",
    "1,000",
    "1.000,5",
    "+5",
    " 12 ",
    "1e3",
    "true",
    "FALSE",
    "yes",
    "None",
    "null",
    "NA",
    "#N/A",
    "#DIV/0!",
    "lots",
    "=SUM(A1)",
    "=1+1",
    "@cmd",
    "'quoted",
    '"',
    "a,b",
    "a;b",
    "line\nbreak",
    "cr\rhere",
    "sep\u2028arator",
    "para\u2029graph",
    "\x01",
    "nul\x00byte",
    "tab\there",
    "\u202eevil",
    "\u200b",
    "\ufeffbom",
    "😀",
    "ö",
    "Pyŏngyang",
    "平壤",
    "../../etc/passwd",
    "[bold]markup[/bold]",
    "%s%n{0}",
    "x" * 10_000,
)


def hostile(rng: Random) -> str:
    return rng.choice(HOSTILE)


def is_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value)


def perturb(rng: Random, text: str) -> str:
    """A number changed into another number: scaled, negated, zeroed, made tiny or huge."""
    value = float(text)
    factor = rng.choice((0.0, -1.0, 0.5, 1.5, 2.0, 10.0, 1e3, 1e6, 1e-6, 1e12, 1e-12, 1e300))
    new = value * factor if value else rng.choice((1.0, 1e-9, 1e9, -1.0))
    if rng.random() < 0.2:
        new = float(int(new)) if abs(new) < 1e18 else new
    return repr(new) if rng.random() < 0.5 else f"{new:g}"
