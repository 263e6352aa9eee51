"""Bare-metal tables: ``nodes`` (Ironic's node record) and ``ports`` (one per NIC MAC).

JSON columns are replaced, never mutated in place, so SQLAlchemy sees every change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tripleo.storage.base import Base

__all__ = ["NodeRow", "PortRow"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class NodeRow(Base):
    """One bare-metal node: identity, driver (with BMC credentials), states, properties, instance."""

    __tablename__ = "nodes"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), unique=True)
    driver: Mapped[str] = mapped_column(String(32))
    driver_info: Mapped[dict[str, Any]] = mapped_column(JSON)
    provision_state: Mapped[str] = mapped_column(String(32))
    power_state: Mapped[str | None] = mapped_column(String(16))
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    maintenance_reason: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    instance_info: Mapped[dict[str, Any]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    provision_updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    ports: Mapped[list[PortRow]] = relationship(
        back_populates="node", cascade="all, delete-orphan", order_by="PortRow.address"
    )


class PortRow(Base):
    """One NIC of a node, by MAC address (unique across all nodes)."""

    __tablename__ = "ports"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    node_uuid: Mapped[str] = mapped_column(ForeignKey("nodes.uuid", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(17), unique=True)
    physical_network: Mapped[str | None] = mapped_column(String(64))
    pxe_enabled: Mapped[bool] = mapped_column(Boolean, default=False)

    node: Mapped[NodeRow] = relationship(back_populates="ports")
