"""The store's tables, as SQLAlchemy Core metadata.

The Alembic migrations in ``migrations/versions`` create exactly these (a test compares them);
a change here needs a new migration.

Identifiers of economy objects (process, product, region, facility) are kept as the text the
economy gives them; hashes are SHA-256 hex digests; times are ISO 8601 UTC text, so that an
audit entry hashes the same on every database.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

HASH = String(64)
NAME = String(200)
TIME = String(32)

users = Table(
    "users",
    metadata,
    Column("name", NAME, primary_key=True),
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, nullable=True),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user", NAME, ForeignKey("users.name"), nullable=False),
    Column("role", String(40), nullable=False),
    # a regional planner's region or an enterprise's facility; empty for the other roles
    Column("scope", NAME, nullable=False, default=""),
    UniqueConstraint("user", "role", "scope"),
)

economies = Table(
    "economies",
    metadata,
    Column("hash", HASH, primary_key=True),
    Column("name", NAME, nullable=False),
    Column("first_year", Integer, nullable=False),
    Column("last_year", Integer, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
)

economy_files = Table(
    "economy_files",
    metadata,
    Column("economy", HASH, ForeignKey("economies.hash"), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    # a small key for the plan's rows (millions of them: a 64-character hash in each row and
    # its index would be most of the table)
    Column("id", Integer, primary_key=True, autoincrement=True),
    # plan.json's integrity hash: equal plans (same tables, same solve) are stored once
    Column("hash", HASH, nullable=False, unique=True),
    Column("economy", HASH, ForeignKey("economies.hash"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("options", Text, nullable=False),  # JSON: the solver and tolerance it was solved with
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
)

plan_files = Table(
    "plan_files",
    metadata,
    Column("plan", HASH, ForeignKey("plans.hash"), primary_key=True),
    Column("name", NAME, primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

plan_activity = Table(
    "plan_activity",
    metadata,
    Column("plan", Integer, ForeignKey("plans.id"), nullable=False),
    Column("process", NAME, nullable=False),
    Column("region", NAME, nullable=False),
    Column("year", Integer, nullable=False),
    Column("activity", Float, nullable=False),
    Index(None, "plan", "process", "region", "year", unique=True),
)

plan_production = Table(
    "plan_production",
    metadata,
    Column("plan", Integer, ForeignKey("plans.id"), nullable=False),
    Column("product", NAME, nullable=False),
    Column("region", NAME, nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount", Float, nullable=False),
    Index(None, "plan", "product", "region", "year", unique=True),
)

plan_targets = Table(
    "plan_targets",
    metadata,
    Column("plan", Integer, ForeignKey("plans.id"), nullable=False),
    Column("target", NAME, nullable=False),
    Column("product", NAME, nullable=True),
    Column("sector", NAME, nullable=True),
    Column("region", NAME, nullable=True),
    Column("year", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("required", Float, nullable=False),
    Column("planned", Float, nullable=True),
    Column("met", Boolean, nullable=False),
    Index(None, "plan", "target", unique=True),
)

plan_lines = Table(
    "plan_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("line", Integer, ForeignKey("plan_lines.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("plan", HASH, ForeignKey("plans.hash"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("revises", Integer, ForeignKey("versions.id"), nullable=True),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
    Column("submitted_at", TIME, nullable=True),
    Column("submitted_by", NAME, ForeignKey("users.name"), nullable=True),
    Column("decided_at", TIME, nullable=True),
    Column("decided_by", NAME, ForeignKey("users.name"), nullable=True),
    UniqueConstraint("line", "number"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report", NAME, nullable=False),  # the id the enterprise gave it
    Column("revision", Integer, nullable=False),
    Column("economy", HASH, ForeignKey("economies.hash"), nullable=False),
    Column("hash", HASH, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("source", Text, nullable=False),  # the file it came from, or the API caller
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
    UniqueConstraint("report", "revision"),
)

report_rows = Table(
    "report_rows",
    metadata,
    Column("report", Integer, ForeignKey("reports.id"), nullable=False, index=True),
    Column("facility", NAME, nullable=False),
    Column("period", String(7), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("product", NAME, nullable=False),
    Column("amount", Float, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index(None, "facility", "period"),
)

audit = Table(
    "audit",
    metadata,
    # ids are given by the store (last + 1), never by the database, so a gap means a deletion
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", TIME, nullable=False),
    Column("user", NAME, nullable=False),
    Column("action", String(60), nullable=False),
    Column("object", NAME, nullable=False),
    Column("before", HASH, nullable=True),
    Column("after", HASH, nullable=True),
    Column("detail", Text, nullable=False),  # canonical JSON
    # the hash of the entry before: unique, so two writers can never fork the chain
    Column("previous", HASH, nullable=False, unique=True),
    Column("hash", HASH, nullable=False, unique=True),
)

# -- the web application's accounts and jobs (migration 0002) ---------------------------------
passwords = Table(
    "passwords",
    metadata,
    Column("user", NAME, ForeignKey("users.name"), primary_key=True),
    Column("hash", String(200), nullable=False),  # argon2id, with its own salt and parameters
    Column("set_at", TIME, nullable=False),
    Column("set_by", NAME, ForeignKey("users.name"), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the secret the client holds: a copy of this table opens no session
    Column("hash", HASH, primary_key=True),
    Column("user", NAME, ForeignKey("users.name"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # "cookie" (pages) or "bearer" (the API)
    Column("csrf", String(64), nullable=False),  # the synchronizer token of a cookie session
    Column("created_at", TIME, nullable=False),
    Column("expires_at", TIME, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # "plan" or "replan"
    Column("state", String(20), nullable=False),  # queued, running, done, failed
    Column("params", Text, nullable=False),  # canonical JSON
    Column("progress", Text, nullable=False, default=""),
    Column("created_at", TIME, nullable=False),
    Column("created_by", NAME, ForeignKey("users.name"), nullable=False),
    Column("started_at", TIME, nullable=True),
    Column("finished_at", TIME, nullable=True),
    Column("result_version", Integer, ForeignKey("versions.id"), nullable=True),
    Column("error", Text, nullable=True),
)
