"""Stacks, stack resources, events and the files of each stack tree.

Revision ID: s0001_stacks
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001_stacks"
down_revision = "0001_base"
branch_labels = ("stacks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stack_files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("files", sa.JSON, nullable=False),
    )
    op.create_table(
        "stacks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("environments", sa.JSON, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("files_id", sa.Integer, sa.ForeignKey("stack_files.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "stack_resources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("stack_path", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("implementation", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("physical_id", sa.String(255), nullable=False),
        sa.Column("properties", sa.JSON, nullable=True),
        sa.Column("props_hash", sa.String(64), nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("requires", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stack_id", "path", name="uq_stack_resources_stack_path"),
    )
    op.create_index("ix_stack_resources_stack_id", "stack_resources", ["stack_id"])
    op.create_table(
        "stack_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stack_id", sa.String(36), sa.ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("physical_id", sa.String(255), nullable=False),
    )
    op.create_index("ix_stack_events_stack_id", "stack_events", ["stack_id"])


def downgrade() -> None:
    op.drop_table("stack_events")
    op.drop_table("stack_resources")
    op.drop_table("stacks")
    op.drop_table("stack_files")
