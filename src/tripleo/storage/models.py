"""Every model module, imported so Alembic and create-all see all tables."""

from tripleo.storage import locks  # noqa: F401

__all__: list[str] = []
