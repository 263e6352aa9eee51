"""Stacks, their resources and events; the template and environment files once per stack tree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tripleo.storage.base import Base

__all__ = ["EventRow", "ResourceRow", "StackFilesRow", "StackRow"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StackFilesRow(Base):
    """Every template and environment file a stack tree was built from, stored once per tree."""

    __tablename__ = "stack_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)


class StackRow(Base):
    __tablename__ = "stacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(Text)
    environments: Mapped[list[str]] = mapped_column(JSON)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # hidden parameters without a default or a value get one at the first create, reused by every update
    generated: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")
    backend: Mapped[str] = mapped_column(String(32), default="real")
    files_id: Mapped[int | None] = mapped_column(ForeignKey("stack_files.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ResourceRow(Base):
    __tablename__ = "stack_resources"
    __table_args__ = (UniqueConstraint("stack_id", "path", name="uq_stack_resources_stack_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    stack_path: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(255))
    implementation: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    physical_id: Mapped[str] = mapped_column(String(255), default="")
    properties: Mapped[Any] = mapped_column(JSON, nullable=True)
    props_hash: Mapped[str] = mapped_column(String(64), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class EventRow(Base):
    __tablename__ = "stack_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stack_id: Mapped[str] = mapped_column(ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    path: Mapped[str] = mapped_column(String(1024))
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    physical_id: Mapped[str] = mapped_column(String(255), default="")
