"""IPAM tables: networks, their subnets and allocation pools, ports and the addresses they hold.

An address is unique per subnet (``uq_net_ips_subnet_address``): that constraint, not a lock, is what keeps
two concurrent allocations from handing out one address twice (the loser retries).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tripleo.storage.base import Base

__all__ = ["NetIPAllocation", "NetNetworkRow", "NetPoolRow", "NetPortRow", "NetSubnetRow"]


class NetNetworkRow(Base):
    __tablename__ = "net_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    vlan: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)


class NetSubnetRow(Base):
    __tablename__ = "net_subnets"
    __table_args__ = (UniqueConstraint("network_id", "cidr", name="uq_net_subnets_network_cidr"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("net_networks.id", ondelete="CASCADE"))
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer)
    gateway: Mapped[str | None] = mapped_column(String(64), nullable=True)


class NetPoolRow(Base):
    __tablename__ = "net_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[int] = mapped_column(ForeignKey("net_subnets.id", ondelete="CASCADE"))
    start: Mapped[str] = mapped_column(String(64))
    end: Mapped[str] = mapped_column(String(64))


class NetPortRow(Base):
    """A port: a node's NIC on a network (``owner`` the node) or a VIP (``kind`` "vip", no server)."""

    __tablename__ = "net_ports"
    __table_args__ = (UniqueConstraint("network_id", "owner", "name", name="uq_net_ports_owner_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("net_networks.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="port")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class NetIPAllocation(Base):
    __tablename__ = "net_ips"
    __table_args__ = (UniqueConstraint("subnet_id", "address", name="uq_net_ips_subnet_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("net_ports.id", ondelete="CASCADE"))
    subnet_id: Mapped[int] = mapped_column(ForeignKey("net_subnets.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
