"""The store: users and roles, economies, plans and their rows, plan lines and versions,
reports and the audit chain (generated from tables.py by Alembic, then frozen).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 07:21:40.561453
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=False),
        sa.Column("before", sa.String(length=64), nullable=True),
        sa.Column("after", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_hash")),
        sa.UniqueConstraint("previous", name=op.f("uq_audit_previous")),
    )
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
    )
    op.create_table(
        "economies",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.name"], name=op.f("fk_economies_created_by_users")
        ),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_economies")),
    )
    op.create_table(
        "plan_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.name"], name=op.f("fk_plan_lines_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_lines")),
        sa.UniqueConstraint("name", name=op.f("uq_plan_lines_name")),
    )
    op.create_table(
        "user_roles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["user"], ["users.name"], name=op.f("fk_user_roles_user_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_roles")),
        sa.UniqueConstraint("user", "role", "scope", name=op.f("uq_user_roles_user_role_scope")),
    )
    op.create_table(
        "economy_files",
        sa.Column("economy", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["economy"], ["economies.hash"], name=op.f("fk_economy_files_economy_economies")
        ),
        sa.PrimaryKeyConstraint("economy", "name", name=op.f("pk_economy_files")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("economy", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.name"], name=op.f("fk_plans_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["economy"], ["economies.hash"], name=op.f("fk_plans_economy_economies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("hash", name=op.f("uq_plans_hash")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("economy", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.name"], name=op.f("fk_reports_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["economy"], ["economies.hash"], name=op.f("fk_reports_economy_economies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("report", "revision", name=op.f("uq_reports_report_revision")),
    )
    op.create_table(
        "plan_activity",
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.id"], name=op.f("fk_plan_activity_plan_plans")),
    )
    with op.batch_alter_table("plan_activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_activity_plan_process_region_year"),
            ["plan", "process", "region", "year"],
            unique=True,
        )

    op.create_table(
        "plan_files",
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.hash"], name=op.f("fk_plan_files_plan_plans")),
        sa.PrimaryKeyConstraint("plan", "name", name=op.f("pk_plan_files")),
    )
    op.create_table(
        "plan_production",
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.id"], name=op.f("fk_plan_production_plan_plans")),
    )
    with op.batch_alter_table("plan_production", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_production_plan_product_region_year"),
            ["plan", "product", "region", "year"],
            unique=True,
        )

    op.create_table(
        "plan_targets",
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("sector", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Float(), nullable=False),
        sa.Column("planned", sa.Float(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["plan"], ["plans.id"], name=op.f("fk_plan_targets_plan_plans")),
    )
    with op.batch_alter_table("plan_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_targets_plan_target"), ["plan", "target"], unique=True
        )

    op.create_table(
        "report_rows",
        sa.Column("report", sa.Integer(), nullable=False),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report"], ["reports.id"], name=op.f("fk_report_rows_report_reports")
        ),
    )
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_rows_facility_period"), ["facility", "period"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_rows_report"), ["report"], unique=False)

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("revises", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.String(length=32), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.String(length=32), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.name"], name=op.f("fk_versions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.name"], name=op.f("fk_versions_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["line"], ["plan_lines.id"], name=op.f("fk_versions_line_plan_lines")
        ),
        sa.ForeignKeyConstraint(["plan"], ["plans.hash"], name=op.f("fk_versions_plan_plans")),
        sa.ForeignKeyConstraint(
            ["revises"], ["versions.id"], name=op.f("fk_versions_revises_versions")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"], ["users.name"], name=op.f("fk_versions_submitted_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("line", "number", name=op.f("uq_versions_line_number")),
    )


def downgrade() -> None:
    op.drop_table("versions")
    with op.batch_alter_table("report_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_rows_report"))
        batch_op.drop_index(batch_op.f("ix_report_rows_facility_period"))

    op.drop_table("report_rows")
    with op.batch_alter_table("plan_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_targets_plan_target"))

    op.drop_table("plan_targets")
    with op.batch_alter_table("plan_production", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_production_plan_product_region_year"))

    op.drop_table("plan_production")
    op.drop_table("plan_files")
    with op.batch_alter_table("plan_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_activity_plan_process_region_year"))

    op.drop_table("plan_activity")
    op.drop_table("reports")
    op.drop_table("plans")
    op.drop_table("economy_files")
    op.drop_table("user_roles")
    op.drop_table("plan_lines")
    op.drop_table("economies")
    op.drop_table("users")
    op.drop_table("audit")
