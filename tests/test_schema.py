from pathlib import Path

from econplan.formatdoc import render_format
from econplan.schema import load_schema

DOCS = Path(__file__).parent.parent / "docs" / "format.md"


def test_format_doc_is_generated_from_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_format(), (
        "docs/format.md is stale: run `make docs`"
    )


def test_key_columns_are_declared_and_of_a_comparable_type() -> None:
    schema = load_schema()
    for table in schema.tables:
        for key in table.key:
            column = table.column(key)
            assert column.type in ("string", "year", "integer", "enum")
            assert key in table.column_names


def test_every_reference_names_an_id_table() -> None:
    schema = load_schema()
    for table in schema.tables:
        for column in table.columns:
            if column.references:
                assert schema[column.references].key == ("id",)


def test_the_issue_tables_are_all_there() -> None:
    files = {t.file for t in load_schema().tables}
    for name in [
        "economy.toml",
        "products.csv",
        "sectors.csv",
        "regions.csv",
        "processes.csv",
        "process_io.csv",
        "facilities.csv",
        "investments.csv",
        "resources.csv",
        "labour.csv",
        "trade.csv",
        "final_demand.csv",
        "targets.csv",
        "links.csv",
    ]:
        assert name in files
