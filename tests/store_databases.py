"""The databases the store tests run on: a SQLite file, and a fresh PostgreSQL database on the
server at ECONPLAN_TEST_POSTGRES (default: this machine's, 127.0.0.1:5432, trust auth,
database ``test``), skipped with the reason when none can be reached."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES = os.environ.get(
    "ECONPLAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect: the reason goes into the skip
        return f"no PostgreSQL at {POSTGRES} ({type(error).__name__}: {error})"
    return None


_POSTGRES_PROBLEM = _postgres_problem()


def fresh_postgres() -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    if _POSTGRES_PROBLEM:
        pytest.skip(_POSTGRES_PROBLEM)
    name = f"econplan_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield str(tmp_path / "econplan.db")
    else:
        yield from fresh_postgres()
