"""Values generated for a stack (the passwords of hidden parameters without a value), kept with it.

Revision ID: s0002_generated
Revises: s0001_stacks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0002_generated"
down_revision = "s0001_stacks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("generated", sa.JSON, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("generated")
