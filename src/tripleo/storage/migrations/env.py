"""Alembic environment: migrations run on the connection tripleo hands in (Database.upgrade)."""

from __future__ import annotations

from alembic import context

from tripleo.storage import models  # noqa: F401 - every table registers on Base.metadata
from tripleo.storage.base import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
