"""Bare metal: nodes and ports.

Revision ID: b0001_nodes
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001_nodes"
down_revision = "0001_base"
branch_labels = ("baremetal",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("driver", sa.String(32), nullable=False),
        sa.Column("driver_info", sa.JSON, nullable=False),
        sa.Column("provision_state", sa.String(32), nullable=False),
        sa.Column("power_state", sa.String(16), nullable=True),
        sa.Column("maintenance", sa.Boolean, nullable=False),
        sa.Column("maintenance_reason", sa.Text, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=True),
        sa.Column("instance_info", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provision_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name="pk_nodes"),
        sa.UniqueConstraint("name", name="uq_nodes_name"),
        sa.UniqueConstraint("instance_uuid", name="uq_nodes_instance_uuid"),
    )
    op.create_table(
        "ports",
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("node_uuid", sa.String(36), nullable=False),
        sa.Column("address", sa.String(17), nullable=False),
        sa.Column("physical_network", sa.String(64), nullable=True),
        sa.Column("pxe_enabled", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("uuid", name="pk_ports"),
        sa.ForeignKeyConstraint(
            ["node_uuid"], ["nodes.uuid"], name="fk_ports_node_uuid_nodes", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("address", name="uq_ports_address"),
    )
    op.create_index("ix_ports_node_uuid", "ports", ["node_uuid"])


def downgrade() -> None:
    op.drop_index("ix_ports_node_uuid", table_name="ports")
    op.drop_table("ports")
    op.drop_table("nodes")
