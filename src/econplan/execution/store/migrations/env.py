"""Alembic's environment for the store: always run from econplan, on the connection it opens
(``econplan store init`` upgrades; nothing here reads alembic.ini)."""

from __future__ import annotations

from alembic import context

from econplan.execution.store.tables import metadata

connection = context.config.attributes["connection"]
# batch mode: SQLite cannot alter a table in place, so changes rebuild it there
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
