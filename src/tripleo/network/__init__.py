"""Network isolation: the network model, IPAM, NIC configs, firewall rules and the isolation proof.

The stack layer (OS::Neutron::Net/Subnet/Port) calls the IPAM part::

    ensure_network(db, "InternalApi", "172.16.2.0/24", [("172.16.2.10", "172.16.2.200")], vlan=20)
    port = allocate_port(db, "InternalApi", owner="controller-0", name="internal_api")
    port.ip, port.ip_netmask, port.gateway                  # "172.16.2.10", "172.16.2.10/24", None
    vip = allocate_vip(db, "InternalApi")
    release_port(db, port.id)
    ensure_address_free(port.ip)   # before a node takes it: nothing answers ARP for it (AddressInUse)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tripleo.network.arpprobe import AddressInUse, ensure_address_free
    from tripleo.network.ipam import (
        PoolExhaustedError,
        PortRecord,
        allocate_port,
        allocate_vip,
        ensure_network,
        list_ports,
        release_port,
        sync_networks,
    )

__all__ = [
    "AddressInUse",
    "PoolExhaustedError",
    "PortRecord",
    "allocate_port",
    "allocate_vip",
    "ensure_address_free",
    "ensure_network",
    "list_ports",
    "release_port",
    "sync_networks",
]


_PROBE = ("AddressInUse", "ensure_address_free")  # the rest is the IPAM's


def __getattr__(name: str) -> Any:
    # lazy: the node-side applier (tripleo.network.apply) runs on nodes without the database layer
    if name in _PROBE:
        return getattr(importlib.import_module("tripleo.network.arpprobe"), name)
    if name in __all__:
        return getattr(importlib.import_module("tripleo.network.ipam"), name)
    raise AttributeError(f"module 'tripleo.network' has no attribute {name!r}")
