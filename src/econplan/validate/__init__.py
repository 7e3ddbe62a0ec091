"""Validation: every problem in an economy's files at once, each with file, row and column.

Stages: read the files (malformed files), type every cell against the schema (types, required
cells, values, minimums, duplicate keys, references), check rules across tables, then, when
all of that is clean, build the Economy and check that its technologies can yield a net
surplus. The last stage needs consistent tables, so it runs only when the others found
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from econplan.errors import EconomyError, Problem, sort_problems
from econplan.io.raw import read_raw
from econplan.model.economy import Economy, Settings
from econplan.model.technology import technology_matrix, unproductive_cycles
from econplan.schema import Schema, load_schema
from econplan.validate.rules import check_rules
from econplan.validate.tables import TypedTables, type_tables


@dataclass
class Report:
    """What validation found: the economy when it is sound, else the problems."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    economy: Economy | None = None
    notes: list[str] = field(default_factory=list)
    """What was done to read an input-output table (totals found, imports converted)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        counts = self.economy.counts() if self.economy is not None else {}
        return {
            "ok": self.ok,
            "source": self.source,
            "counts": counts,
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
        }


def builtin_path() -> Path:
    """The folder of the built-in economy: the DPRK's 2021-2025 five-year plan."""
    return Path(__file__).resolve().parent.parent / "data" / "dprk2021"


def validate(path: Path | str | None = None, io_options: Mapping[str, Any] | None = None) -> Report:
    """Validate the economy at ``path`` (None: the built-in economy). Never raises for bad input.

    ``io_options`` are keywords of ``econplan.io.iotable.read_table`` (``categories``,
    ``imports``) for a plain input-output table; an economy folder or workbook refuses them.
    """
    from econplan.io.mrio import is_pymrio_folder

    path = builtin_path() if path is None else Path(path)
    if is_io_table(path):
        return _validate_io_table(path, io_options or {})
    if io_options:
        given = ", ".join(sorted(io_options))
        what = "a pymrio folder" if is_pymrio_folder(path) else "an economy's folder or workbook"
        message = (
            f"{given}: these options apply to a plain input-output table (a .csv file, or a "
            f"workbook without the economy's sheets), not to {what}"
        )
        return Report(str(path), [Problem(str(path), None, None, message)])
    if is_pymrio_folder(path):
        return _validate_pymrio(path)
    schema = load_schema()
    raw = read_raw(path)
    report = Report(str(path), list(raw.problems))
    if raw.problems and not raw.tables:
        report.problems = sort_problems(report.problems)
        return report
    typed, problems = type_tables(raw, schema)
    del raw  # at 10^7 rows every copy of a table counts: keep only what the next stage needs
    report.problems += problems
    report.problems += check_rules(typed, schema)
    if not report.problems:
        economy = build_economy(typed, schema)
        typed.tables.clear()
        typed.derived.clear()
        report.problems += check_productive(economy, typed)
        if not report.problems:
            report.economy = economy
    report.problems = sort_problems(report.problems)
    return report


def is_io_table(path: Path) -> bool:
    """A single CSV file, or a workbook without the economy's sheets, is a plain
    input-output table (see docs/format.md, "Input-output tables")."""
    if not path.is_file():
        return False
    if path.suffix.lower() == ".csv":
        return True
    if path.suffix.lower() != ".xlsx":
        return False
    import openpyxl

    from econplan.io.workbook import UNREADABLE

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except UNREADABLE:
        return False  # the workbook reader reports it
    try:
        return "products" not in book.sheetnames
    finally:
        book.close()


def _validate_io_table(path: Path, options: Mapping[str, Any]) -> Report:
    from econplan.io.iotable import read_table

    try:
        table = read_table(path, **options)
    except EconomyError as error:
        return Report(str(path), list(error.problems))
    return Report(str(path), [], table.economy, list(table.notes))


def _validate_pymrio(path: Path) -> Report:
    from econplan.io.mrio import read_pymrio

    try:
        system = read_pymrio(path)
    except EconomyError as error:
        return Report(str(path), list(error.problems))
    return Report(str(path), [], system.economy, list(system.notes))


def build_economy(typed: TypedTables, schema: Schema) -> Economy:
    s = typed.settings
    first, last = s["horizon"]
    settings = Settings(
        name=s["name"],
        description=s.get("description") or "",
        base_year=s["base_year"],
        first_year=first,
        last_year=last,
        currency=s["currency"],
        foreign_currency=s["foreign_currency"],
        credit_line=float(s["credit_line"]),
        objective=s["objective"],
        consumption_growth=s.get("consumption_growth"),
        terminal_growth=s.get("terminal_growth"),
        ramp=s.get("ramp"),
    )
    return Economy.from_tables(settings, typed.tables, schema)


def check_productive(economy: Economy, typed: TypedTables) -> list[Problem]:
    """An economy whose base-year technology mix cannot yield a net surplus of every product."""
    technology = technology_matrix(economy, year=economy.settings.base_year)
    problems = []
    for cycle in unproductive_cycles(technology.A, technology.products):
        shown = ", ".join(cycle.products[:12]) + (" ..." if len(cycle.products) > 12 else "")
        problems.append(
            Problem(
                typed.file("process_io"),
                None,
                "amount",
                f"the products {shown} use up more of one another than they make (spectral "
                f"radius {cycle.spectral_radius:.4f} >= 1 of their base-year input "
                "coefficients), so no plan can yield a net surplus of them: lower the input "
                "amounts of the processes that make them",
            )
        )
    return problems


def load_economy(path: Path | str | None = None) -> Economy:
    """The economy at ``path`` (None: the built-in economy); raises EconomyError with every
    problem when its files are wrong."""
    report = validate(path)
    if report.economy is None:
        raise EconomyError(report.problems)
    return report.economy
