"""A stack's VIPs: taken from the IPAM before the stack runs, and answered by one node.

The VIPs reach the stack as a parameter (so endpoints are known when the stack renders them); once the
nodes have their addresses, the first node of the primary role holds every VIP on the device that holds
its own address on the VIP's network (no failover: one VIP holder).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tripleo.network.environment import Plan
from tripleo.network.ipam import StackAllocator
from tripleo.network.model import IPAddress
from tripleo.network.netenv import Allocator, allocate_vips
from tripleo.storage import Database

__all__ = ["stack_vips", "with_vips"]


def stack_vips(db: Database, stack: str, plan: Plan, allocator: Allocator | None = None) -> dict[str, str]:
    """The VIPs of ``stack``, allocated before the stack (idempotent): name_lower -> address (``allocator``:
    another than the stack's IPAM, e.g. a dry run's :class:`~tripleo.network.ipam.PlannedAllocator`).

    :raises PoolExhaustedError: a network's pools are full.
    :raises OperationError: a fixed VIP is held by another port.
    """
    lower = {n.name: n.name_lower for n in plan.enabled()}
    vips = allocate_vips(plan, allocator or StackAllocator(db, stack, {}))
    return {lower[name]: str(address) for name, address in vips.items()}


def with_vips(config: Any, addresses: Mapping[str, Any], vips: Mapping[str, IPAddress]) -> Any:
    """The NIC config (os-net-config's format) with each VIP (/32 or /128) added to the device that holds
    the node's address on the VIP's network; the input is left as it is.

    :param addresses: the node's addresses (interfaces), by network name.
    :param vips: the VIPs, by network name.
    """
    wanted = {str(a): vips[n] for n, a in addresses.items() if n in vips}

    def walk(item: Any) -> Any:
        if isinstance(item, list):
            return [walk(i) for i in item]
        if not isinstance(item, dict):
            return item
        out = {k: walk(v) for k, v in item.items()}
        own = [a.get("ip_netmask") for a in out.get("addresses") or [] if isinstance(a, dict)]
        for address in own:
            if address in wanted:
                vip = wanted[address]
                out["addresses"] = [*out["addresses"], {"ip_netmask": f"{vip}/{vip.max_prefixlen}"}]
        return out

    return walk(config)
