"""The node record callers see (a frozen snapshot of a row), capabilities and secret redaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tripleo.storage.baremetal_models import NodeRow

__all__ = [
    "SECRET",
    "Node",
    "Port",
    "format_capabilities",
    "parse_capabilities",
    "redact",
]

SECRET = "******"
_SECRET_KEY = re.compile(r"password|secret|token|kg_key", re.IGNORECASE)
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def redact(info: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``driver_info`` with every secret (passwords, keys, tokens) shown as ``******``."""
    return {k: (SECRET if _SECRET_KEY.search(k) and v not in (None, "") else v) for k, v in info.items()}


def parse_capabilities(value: str | Mapping[str, Any] | None) -> dict[str, str]:
    """Ironic's capabilities string ``"profile:control,boot_option:local"`` (or a mapping) as a dict.

    :raises ValueError: an item without ``:``.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    result: dict[str, str] = {}
    for item in value.split(","):
        key, sep, val = item.strip().partition(":")
        if not sep or not key.strip():
            raise ValueError(f"capability {item.strip()!r}: expected KEY:VALUE")
        result[key.strip()] = val.strip()
    return result


def format_capabilities(caps: Mapping[str, str]) -> str:
    """The capabilities string Ironic stores, keys in a stable order."""
    return ",".join(f"{k}:{v}" for k, v in sorted(caps.items()))


@dataclass(frozen=True)
class Port:
    """One NIC: MAC address and the physical network it is cabled to (if known)."""

    uuid: str
    address: str
    physical_network: str | None = None
    pxe_enabled: bool = False


@dataclass(frozen=True)
class Node:
    """A snapshot of one node. ``driver_info`` is already redacted: a Node never carries a password."""

    uuid: str
    name: str | None
    driver: str
    driver_info: dict[str, Any]
    provision_state: str
    power_state: str | None
    maintenance: bool
    maintenance_reason: str | None
    last_error: str | None
    properties: dict[str, Any]
    instance_uuid: str | None
    instance_info: dict[str, Any]
    extra: dict[str, Any]
    ports: tuple[Port, ...] = field(default=())

    @property
    def label(self) -> str:
        """How messages name the node: its name, or its UUID when it has none."""
        return self.name or self.uuid

    @property
    def capabilities(self) -> dict[str, str]:
        try:
            return parse_capabilities(self.properties.get("capabilities"))
        except ValueError:
            return {}

    @property
    def profile(self) -> str | None:
        return self.capabilities.get("profile")

    @property
    def possible_profiles(self) -> list[str]:
        """Profiles the node may take (TripleO's ``<profile>_profile:1`` capabilities)."""
        return sorted(
            k[: -len("_profile")] for k, v in self.capabilities.items() if k.endswith("_profile") and v
        )

    @classmethod
    def from_row(cls, row: NodeRow) -> Node:
        return cls(
            uuid=row.uuid,
            name=row.name,
            driver=row.driver,
            driver_info=redact(row.driver_info or {}),
            provision_state=row.provision_state,
            power_state=row.power_state,
            maintenance=bool(row.maintenance),
            maintenance_reason=row.maintenance_reason,
            last_error=row.last_error,
            properties=dict(row.properties or {}),
            instance_uuid=row.instance_uuid,
            instance_info=dict(row.instance_info or {}),
            extra=dict(row.extra or {}),
            ports=tuple(Port(p.uuid, p.address, p.physical_network, bool(p.pxe_enabled)) for p in row.ports),
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field, as ``baremetal node show`` prints it (secrets as ``******``)."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "driver": self.driver,
            "driver_info": self.driver_info,
            "provision_state": self.provision_state,
            "power_state": self.power_state,
            "maintenance": self.maintenance,
            "maintenance_reason": self.maintenance_reason,
            "last_error": self.last_error,
            "properties": self.properties,
            "profile": self.profile,
            "ports": [p.address for p in self.ports],
            "instance_uuid": self.instance_uuid,
            "instance_info": self.instance_info,
            "extra": self.extra,
        }
