"""The plan store (SQLAlchemy 2, Alembic): SQLite by default, PostgreSQL in production."""

from econplan.execution.store.audit import ChainCheck, verify_chain
from econplan.execution.store.store import (
    STATES,
    ReportImport,
    Store,
    StoreError,
    Version,
    database_url,
)

__all__ = [
    "STATES",
    "ChainCheck",
    "ReportImport",
    "Store",
    "StoreError",
    "Version",
    "database_url",
    "verify_chain",
]
