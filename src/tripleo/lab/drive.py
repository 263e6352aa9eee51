"""Config drives: what a node applies at boot (hostname, root's SSH keys, ctlplane address, routes).

Written in OpenStack's config-drive layout (``openstack/latest/meta_data.json`` and ``network_data.json``) on
the node's disk, as Ironic writes one to a real node's disk, and read back by the node's init as cloud-init
would.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.errors import InputError

__all__ = ["ConfigDrive", "Route", "read_config_drive", "write_config_drive_files"]

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_LATEST = Path("openstack") / "latest"


@dataclass(frozen=True)
class Route:
    """A static route: ``destination`` (a CIDR) via ``gateway``."""

    destination: str
    gateway: str


@dataclass(frozen=True)
class ConfigDrive:
    """What provisioning tells a node.

    :param hostname: the node's hostname (lower case, RFC 1123).
    :param authorized_keys: public keys allowed to log in as root.
    :param ctlplane_address: the node's ctlplane address with prefix, e.g. ``192.168.24.10/24``; the node's
        init puts it on nic1 and starts sshd there.
    :param routes: extra routes; a node only takes those that stay inside the lab's subnets.
    """

    hostname: str
    authorized_keys: tuple[str, ...] = ()
    ctlplane_address: str | None = None
    routes: tuple[Route, ...] = ()

    def validate(self) -> None:
        """:raises InputError: a malformed hostname, key, address or route."""
        if not _HOSTNAME.match(self.hostname):
            raise InputError(f"hostname {self.hostname!r}: expected lower-case letters, digits, '-' and '.'")
        for key in self.authorized_keys:
            if "\n" in key or len(key.split()) < 2:
                raise InputError("authorized key: expected one line 'TYPE BASE64 [COMMENT]'")
        if self.ctlplane_address is not None:
            if "/" not in self.ctlplane_address:
                raise InputError(
                    f"ctlplane address {self.ctlplane_address!r}: expected a prefix length (/24)"
                )
            try:
                ipaddress.IPv4Interface(self.ctlplane_address)
            except ValueError as exc:
                raise InputError(f"ctlplane address: expected such as 192.168.24.10/24: {exc}") from exc
        for route in self.routes:
            try:
                ipaddress.IPv4Network(route.destination)
                ipaddress.IPv4Address(route.gateway)
            except ValueError as exc:
                raise InputError(f"route {route.destination} via {route.gateway}: {exc}") from exc


def write_config_drive_files(root: Path, drive: ConfigDrive, ctlplane_mac: str) -> None:
    """Write ``drive`` under ``root`` in the OpenStack layout, replacing any previous drive."""
    drive.validate()
    latest = root / _LATEST
    latest.mkdir(parents=True, exist_ok=True)
    meta = {
        "hostname": drive.hostname,
        "name": drive.hostname,
        "public_keys": {f"key-{i}": key for i, key in enumerate(drive.authorized_keys)},
    }
    networks: list[dict[str, Any]] = []
    if drive.ctlplane_address is not None:
        iface = ipaddress.IPv4Interface(drive.ctlplane_address)
        networks.append(
            {
                "id": "ctlplane",
                "type": "ipv4",
                "link": "nic1",
                "ip_address": str(iface.ip),
                "netmask": str(iface.netmask),
                "routes": [_route_json(r) for r in drive.routes],
            }
        )
    network = {
        "links": [{"id": "nic1", "type": "phy", "ethernet_mac_address": ctlplane_mac}],
        "networks": networks,
    }
    for name, data in (("meta_data.json", meta), ("network_data.json", network)):
        (latest / name).write_text(json.dumps(data, indent=2) + "\n")


def _route_json(route: Route) -> dict[str, str]:
    net = ipaddress.IPv4Network(route.destination)
    return {"network": str(net.network_address), "netmask": str(net.netmask), "gateway": route.gateway}


def read_config_drive(root: Path) -> ConfigDrive | None:
    """The drive under ``root``, or None if the disk has none.

    :raises InputError: the drive is there but unreadable.
    """
    latest = root / _LATEST
    if not (latest / "meta_data.json").exists():
        return None
    try:
        meta = json.loads((latest / "meta_data.json").read_text())
        network = json.loads((latest / "network_data.json").read_text())
        address = None
        routes: list[Route] = []
        for net in network.get("networks", []):
            if net.get("id") == "ctlplane":
                address = str(ipaddress.IPv4Interface(f"{net['ip_address']}/{net['netmask']}"))
                for r in net.get("routes", []):
                    dest = ipaddress.IPv4Network(f"{r['network']}/{r['netmask']}")
                    routes.append(Route(str(dest), r["gateway"]))
        return ConfigDrive(
            hostname=meta["hostname"],
            authorized_keys=tuple(meta.get("public_keys", {}).values()),
            ctlplane_address=address,
            routes=tuple(routes),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable config drive: {exc}", file=str(latest)) from exc
