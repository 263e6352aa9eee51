"""Network branch: IPAM (networks, subnets, pools, ports, IP allocations).

Revision ID: n0001_ipam
Revises: 0001_base
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "n0001_ipam"
down_revision = "0001_base"
branch_labels = ("network",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "net_networks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("vlan", sa.Integer, nullable=True),
        sa.Column("mtu", sa.Integer, nullable=False),
        sa.Column("vip", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_net_networks"),
        sa.UniqueConstraint("name", name="uq_net_networks_name"),
    )
    op.create_table(
        "net_subnets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("network_id", sa.Integer, nullable=False),
        sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("ip_version", sa.Integer, nullable=False),
        sa.Column("gateway", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_net_subnets"),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["net_networks.id"],
            name="fk_net_subnets_network_id_net_networks",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("network_id", "cidr", name="uq_net_subnets_network_cidr"),
    )
    op.create_table(
        "net_pools",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subnet_id", sa.Integer, nullable=False),
        sa.Column("start", sa.String(64), nullable=False),
        sa.Column("end", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_net_pools"),
        sa.ForeignKeyConstraint(
            ["subnet_id"], ["net_subnets.id"], name="fk_net_pools_subnet_id_net_subnets", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "net_ports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("network_id", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_net_ports"),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["net_networks.id"],
            name="fk_net_ports_network_id_net_networks",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("network_id", "owner", "name", name="uq_net_ports_owner_name"),
    )
    op.create_table(
        "net_ips",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("port_id", sa.String(36), nullable=False),
        sa.Column("subnet_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_net_ips"),
        sa.ForeignKeyConstraint(
            ["port_id"], ["net_ports.id"], name="fk_net_ips_port_id_net_ports", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"], ["net_subnets.id"], name="fk_net_ips_subnet_id_net_subnets", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("subnet_id", "address", name="uq_net_ips_subnet_address"),
    )


def downgrade() -> None:
    for table in ("net_ips", "net_ports", "net_pools", "net_subnets", "net_networks"):
        op.drop_table(table)
