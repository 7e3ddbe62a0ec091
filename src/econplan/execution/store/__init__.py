"""The plan store (SQLAlchemy 2, Alembic): SQLite by default, PostgreSQL in production."""

from econplan.execution.store.audit import ChainCheck, verify_chain
from econplan.execution.store.store import (
    STATES,
    ReportImport,
    Store,
    StoreError,
    Version,
    database_url,
    report_content_hash,
)

__all__ = [
    "STATES",
    "ChainCheck",
    "ReportImport",
    "Store",
    "StoreError",
    "Version",
    "database_url",
    "report_content_hash",
    "verify_chain",
]
