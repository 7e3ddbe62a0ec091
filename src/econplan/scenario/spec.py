"""What a scenario file may hold, declared as data in ``schema/scenario.csv`` (kind, field,
type, required, allowed values, range, meaning), and the check of a parsed file against it.

Every problem is found at once, each naming the file, the change (``change 3``) and the key,
and saying what to do. Rules that tie fields together (give scale or set) are in
:mod:`econplan.scenario.changes`, beside the change they belong to.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from econplan.errors import printable

SCENARIO = "scenario"
"""The kind whose fields are the file's top-level keys."""

CHANGE = "change"
"""The kind whose fields every change has (its kind, a note)."""


@dataclass(frozen=True)
class Field:
    kind: str
    name: str
    type: str
    required: bool
    values: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    meaning: str


@dataclass(frozen=True, order=True)
class ScenarioProblem:
    """One thing wrong with a scenario: its file, the change (0: the file's own keys), the key
    and what to do."""

    file: str
    change: int
    key: str
    message: str
    entry: str = "change"
    """What the file's list holds: change (a scenario) or shock (an ensemble)."""

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry} {self.change}" if self.change else self.file
        key = f" [{self.key}]" if self.key else ""
        return printable(f"{where}:{key} {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            self.entry: self.change,
            "key": self.key,
            "message": self.message,
        }


class ScenarioError(Exception):
    """A scenario that cannot be applied; ``problems`` lists all that is wrong."""

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = sorted(set(problems))
        first = str(self.problems[0]) if self.problems else "no problems recorded"
        more = len(self.problems) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more problems)")


def _number(text: str) -> float | None:
    return float(text) if text else None


SCHEMAS = {"scenario": (SCENARIO, CHANGE), "ensemble": ("ensemble", "shock")}
"""Each schema file (``schema/NAME.csv``) with its top-level kind (the file's own keys) and
the kind whose fields every entry of the list has (its kind and note)."""


@cache
def fields(schema: str = "scenario") -> dict[str, dict[str, Field]]:
    """Every kind's fields by name, in the order of ``schema/<schema>.csv``."""
    text = resources.files("econplan.schema").joinpath(f"{schema}.csv").read_text("utf-8")
    found: dict[str, dict[str, Field]] = {}
    for row in csv.DictReader(text.splitlines()):
        found.setdefault(row["kind"], {})[row["field"]] = Field(
            row["kind"],
            row["field"],
            row["type"],
            row["required"] == "true",
            tuple(v for v in row["values"].split("|") if v),
            _number(row["minimum"]),
            _number(row["maximum"]),
            row["meaning"],
        )
    return found


def change_kinds(schema: str = "scenario") -> tuple[str, ...]:
    """The kinds an entry of the schema's list may have."""
    return fields(schema)[SCHEMAS[schema][1]]["kind"].values


def _is_number(value: object) -> bool:
    """A finite number (TOML also reads nan and inf, which no field means)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _type_problem(field: Field, value: object) -> str | None:
    """What is wrong with ``value`` for ``field``, or None."""
    kind = field.type
    if kind in ("string", "enum"):
        if not isinstance(value, str):
            return f"give text, not {value!r}"
        if kind == "enum" and value not in field.values:
            return f"{value!r} is not one of {', '.join(field.values)}"
        return None
    if kind == "strings":
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v for v in items):
            return f"give an id or a list of ids, not {value!r}"
        if field.values:
            wrong = [v for v in items if v not in field.values]
            if wrong:
                return f"{wrong[0]!r} is not one of {', '.join(field.values)}"
        return None
    if kind in ("number", "integer", "year"):
        whole = kind != "number"
        if not _is_number(value) or (whole and not isinstance(value, int)):
            what = "a whole number" if whole else "a number"
            if isinstance(value, float) and not math.isfinite(value):
                what = "a finite number"
            return f"give {what}, not {value!r}"
        return _range_problem(field, float(value))  # type: ignore[arg-type]
    if kind == "years":
        items = value if isinstance(value, list) else [value, value]
        if len(items) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in items
        ):
            return f"give a year or [first, last], not {value!r}"
        if items[0] > items[1]:  # type: ignore[operator]
            return f"the first year {items[0]} comes after the last {items[1]}: give [first, last]"
        return None
    if kind == "numbers":
        if not isinstance(value, list) or not value or not all(_is_number(v) for v in value):
            return f"give a list of numbers, not {value!r}"
        for item in value:
            problem = _range_problem(field, float(item))
            if problem:
                return problem
        return None
    if kind in ("rows", "changes", "shocks"):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            entries = {"rows": "[[change.rows]]", "changes": "[[change]]", "shocks": "[[shock]]"}
            return f"give a list of tables ({entries[kind]} entries)"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"give true or false, not {value!r}"
    if kind == "draw":
        return _draw_problem(field, value)
    raise ValueError(f"scenario.csv: unknown type {kind!r}")


DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
}
"""The distributions a drawn number may follow, with their parameters (a normal draw may
give low and high as well: it is then cut to them)."""


def _draw_problem(field: Field, value: object) -> str | None:
    """A number drawn at random: a fixed number, [low, high] (uniform) or a table naming the
    distribution and its parameters."""
    if _is_number(value):
        return _range_problem(field, float(value))  # type: ignore[arg-type]
    if isinstance(value, list):
        value = (
            {"distribution": "uniform", "low": value[0], "high": value[-1]}
            if (len(value) == 2)
            else None
        )
    if not isinstance(value, dict):
        return (
            "give a number, [low, high] (drawn uniformly) or a table such as "
            '{ distribution = "triangular", low = 0.8, mode = 1.0, high = 1.05 }'
        )
    name = value.get("distribution")
    if name not in DISTRIBUTIONS:
        return f"distribution {name!r} is not one of {', '.join(DISTRIBUTIONS)}"
    allowed = {"distribution", *DISTRIBUTIONS[name], *(("low", "high") if name == "normal" else ())}
    for key in value:
        if key not in allowed:
            return f"a {name} draw has no parameter {key!r}: give {', '.join(sorted(allowed))}"
    for key in DISTRIBUTIONS[name]:
        if key not in value:
            return f"a {name} draw needs {', '.join(DISTRIBUTIONS[name])}: {key} is missing"
    for key in allowed - {"distribution"}:
        if key in value and not _is_number(value[key]):
            return f"{key} must be a number, not {value[key]!r}"
    for key in ("low", "mode", "high", "mean"):
        if key in value:
            problem = _range_problem(field, float(value[key]))
            if problem:
                return f"{key}: {problem}"
    order = [float(value[k]) for k in ("low", "mode", "high") if k in value]
    if order != sorted(order):
        return "give low <= mode <= high"
    if name == "normal" and float(value["sd"]) < 0:
        return "sd must be 0 or more"
    return None


def _range_problem(field: Field, value: float) -> str | None:
    if field.minimum is not None and value < field.minimum:
        return f"{value:g} is below the least allowed, {field.minimum:g}"
    if field.maximum is not None and value > field.maximum:
        return f"{value:g} is above the most allowed, {field.maximum:g}"
    return None


def check_entry(
    file: str, position: int, kind: str, entry: dict[str, Any], schema: str = "scenario"
) -> list[ScenarioProblem]:
    """Problems of one entry (the file's keys, position 0, or change ``position``) against
    the fields of ``kind`` (and, for a change, those every change has)."""
    top, common = SCHEMAS[schema]
    declared = dict(fields(schema)[kind])
    if kind != top:
        declared = {**fields(schema)[common], **declared}
    problems = []
    for key in entry:
        if key not in declared:
            known = ", ".join(declared)
            what = "the file" if kind == top else f"a {common} of kind {kind}"
            problems.append(
                ScenarioProblem(file, position, key, f"{what} has no key {key!r}: use {known}")
            )
    for name, field in declared.items():
        if name not in entry:
            if field.required:
                problems.append(ScenarioProblem(file, position, name, f"missing: {field.meaning}"))
            continue
        wrong = _type_problem(field, entry[name])
        if wrong:
            problems.append(ScenarioProblem(file, position, name, wrong))
    return problems


def as_list(value: object) -> list[Any]:
    """A field of type strings as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
