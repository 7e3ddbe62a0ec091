"""``docs/format.md``, generated from the schema (``econplan docs docs/format.md``)."""

from __future__ import annotations

import textwrap
from importlib import resources

from econplan.schema import SETTINGS_TABLE, SOURCES_TABLE, Schema, Table, figure, load_schema

INTRO = """\
# The economy file format

<!-- Generated from src/econplan/schema/*.csv by `econplan docs docs/format.md`; do not edit by
hand: a test fails when this file and the schema disagree. -->

An economy is a folder holding `economy.toml` and one CSV file per table, or a single `.xlsx`
workbook with one sheet per table (named as the table: `products`, `processes`, ...), a sheet
`economy` with the settings as rows of key and value, and a sheet `sources`. A sheet named
`README` is ignored. A single CSV file, or a workbook without a `products` sheet, is read as
a plain input-output table instead (see the last section). `econplan template OUT` writes a
blank folder (or, for `OUT.xlsx`, a blank workbook) with every header and its description;
`econplan init DIR` writes the built-in economy as a start.

Conventions:

- CSV files are UTF-8 with a header row; cells with commas are quoted. Blank lines are skipped.
- A blank cell means "not given": the column's default applies, and a required cell may not be
  blank. Columns with a default may be left out of the file entirely.
- Ids are case-sensitive text; tables and matrices are sorted by them, so the order of rows in a
  file never changes a result.
- Every amount of a product is in the product's unit (`products.csv`). Columns named `unit` are
  optional checks: when given, they must equal the product's unit.
- Every figure given for a region counts for that region alone, not for its sub-regions; a
  target or statistic for a region covers the region and its sub-regions.
- Years lie between the base year and the last year of the horizon.
- Problems are reported as `file:row: [column] message`; the row is the line of the CSV file
  (the header is line 1), the row of the sheet, or for a Parquet file its row + 1, as if it had
  a header line (the file's first row is row 2). Problems in `economy.toml` name the key.
- For large economies any table may be a Parquet file, `NAME.parquet` instead of `NAME.csv`
  (never both). Its columns keep their types: numbers as integers or floating point, booleans
  as booleans, text as strings (dictionary-encoded strings take the least memory); numbers
  where text belongs are read as the text they would be in a CSV file. Give missing cells as
  nulls. `econplan.write_economy(economy, DIR, table_format="parquet")` writes every table so.

Beyond one file per concept, three tables hold what a single table could not keep in long
format: `population.csv` (population by region and year), `investment_costs.csv` (the bill of
materials of each investment option, a row per product) and `observed.csv` (published
statistics that the base year is checked against).
"""

RANGES = """\
Every number keeps to a range: its column's own minimum and maximum where the column shows one
(`>= 0`, `<= 100`), else its type's limits above. The solver (HiGHS) takes figures of 10^20
and more for infinite and drops coefficients too small to matter, so a figure outside its range
is refused at validation with its file, row and column: give it in another unit instead.
"""


def _types(schema: Schema) -> str:
    """The paragraph on types, with each type's limits, from ``schema/types.csv``."""
    parts = []
    for kind in schema.kinds:
        limits = []
        if kind.minimum is not None and kind.maximum is not None:
            limits.append(f"from {figure(kind.minimum)} to {figure(kind.maximum)}")
        if kind.smallest is not None:
            limits.append(f"0 or at least {figure(kind.smallest)} in size")
        shown = kind.description + ("; " + ", ".join(limits) if limits else "")
        parts.append(f"`{kind.name}` ({shown})")
    text = "Types: " + ", ".join(parts) + "."
    return textwrap.fill(text, width=96, break_on_hyphens=False) + "\n\n" + RANGES


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _columns(table: Table) -> list[str]:
    lines = [
        "| column | type | unit | required | default | description |",
        "|---|---|---|---|---|---|",
    ]
    for c in table.columns:
        kind: str = c.type
        if c.values:
            kind += ": " + ", ".join(f"`{v}`" for v in c.values)
        if c.references:
            kind += f" (id in `{c.references}`)"
        if c.minimum is not None:
            kind += f", >= {figure(c.minimum)}"
        if c.maximum is not None and c.type == "years":
            kind += f", at most {figure(c.maximum)} years from `base_year` to the last"
        elif c.maximum is not None:
            kind += f", <= {figure(c.maximum)}"
        required = "yes" if c.required else ""
        default = f"`{c.default}`" if c.default is not None else ""
        lines.append(
            f"| `{c.name}` | {_escape(kind)} | {_escape(c.unit)} | {required} | {default} | "
            f"{_escape(c.description)} |"
        )
    return lines


def render_format(schema: Schema | None = None) -> str:
    schema = schema or load_schema()
    parts = [INTRO, _types(schema)]
    parts.append("## Files\n")
    parts.append("| table | file | key | required | description |")
    parts.append("|---|---|---|---|---|")
    for t in schema.tables:
        key = ", ".join(f"`{k}`" for k in t.key)
        parts.append(
            f"| [{t.name}](#{t.name}) | `{t.file}` | {key} | "
            f"{'yes' if t.required else ''} | {_escape(t.description)} |"
        )
    parts.append("")
    for t in schema.tables:
        parts.append(f"## {t.name}\n")
        if t.name == SETTINGS_TABLE:
            where = "Keys of `economy.toml` (in a workbook: rows of the `economy` sheet)."
        elif t.name == SOURCES_TABLE:
            where = "Entries `[[sources]]` of `economy.toml` (in a workbook: the `sources` sheet)."
        else:
            where = f"`{t.file}`" + (
                "" if t.required else " (optional: a missing file is an empty table)"
            )
        parts.append(f"{where} {t.description}\n")
        parts.extend(_columns(t))
        parts.append("")
    io_tables = resources.files("econplan").joinpath("io", "iotable_doc.md")
    parts.append(io_tables.read_text(encoding="utf-8"))
    return "\n".join(parts).rstrip() + "\n"
