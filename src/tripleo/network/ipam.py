"""IPAM: fixed IPs for ports and VIPs from a network's allocation pools, kept in the database.

No address is ever handed out twice: every allocation inserts a row under a unique (subnet, address)
constraint, so of two concurrent allocations of one address (other processes, other hosts on PostgreSQL)
exactly one commits and the other retries with another candidate. SQLite serialises writers anyway.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import random
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tripleo.errors import InputError, OperationError
from tripleo.network.model import CTLPLANE, IPAddress, Network, Pool
from tripleo.storage import Database
from tripleo.storage.network_models import (
    NetIPAllocation,
    NetNetworkRow,
    NetPoolRow,
    NetPortRow,
    NetSubnetRow,
)

__all__ = [
    "PlannedAllocator",
    "PoolExhaustedError",
    "PortRecord",
    "StackAllocator",
    "allocate_port",
    "allocate_vip",
    "ensure_network",
    "list_ports",
    "release_port",
    "release_stack_addresses",
    "sync_networks",
]

LOG = logging.getLogger(__name__)
_ATTEMPTS = 200
_CANDIDATES = 64
VIP_OWNER = "vip"
# After this process lost an allocation race, it picks among the first few free addresses (not the first)
# for a while, so racing allocators stop colliding on one address.
_CONTENDED_UNTIL = [0.0]


class PoolExhaustedError(OperationError):
    """No free address is left in a network's allocation pools."""


@dataclass(frozen=True)
class PortRecord:
    """A port with its fixed IP: what OS::Neutron::Port's ``fixed_ips`` and ``subnets`` attributes show."""

    id: str
    network: str
    owner: str
    name: str
    kind: str
    ip: str
    cidr: str
    gateway: str | None
    vlan: int | None
    mtu: int

    @property
    def prefix(self) -> int:
        return ipaddress.ip_network(self.cidr).prefixlen

    @property
    def ip_netmask(self) -> str:
        """``address/prefix`` as NIC configs want it."""
        return f"{self.ip}/{self.prefix}"


def _pools(raw: Iterable[tuple[str, str]] | Sequence[Pool]) -> list[tuple[str, str]]:
    out = []
    for item in raw:
        if isinstance(item, Pool):
            out.append((str(item.start), str(item.end)))
        else:
            start, end = item
            out.append((str(ipaddress.ip_address(start)), str(ipaddress.ip_address(end))))
    return out


def ensure_network(
    db: Database,
    name: str,
    cidr: str,
    pools: Iterable[tuple[str, str]] | Sequence[Pool],
    *,
    gateway: str | None = None,
    vlan: int | None = None,
    mtu: int = 1500,
    vip: bool = False,
) -> None:
    """Create a network with one subnet and its pools, or bring an existing one up to date.

    :raises InputError: a CIDR that does not parse, or pools outside it.
    :raises OperationError: the network exists with another CIDR and still has ports.
    """
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise InputError(f"network {name}: {cidr!r} is not a CIDR ({exc})") from None
    wanted = _pools(pools)
    for start, end in wanted:
        if ipaddress.ip_address(start) not in net or ipaddress.ip_address(end) not in net:
            raise InputError(f"network {name}: allocation pool {start}-{end} is outside {net}")
    with db.transaction() as session:
        row = session.scalars(select(NetNetworkRow).where(NetNetworkRow.name == name)).one_or_none()
        if row is None:
            row = NetNetworkRow(name=name)
            session.add(row)
        row.vlan, row.mtu, row.vip = vlan, mtu, vip
        session.flush()
        subnet = session.scalars(select(NetSubnetRow).where(NetSubnetRow.network_id == row.id)).first()
        if subnet is not None and subnet.cidr != str(net):
            used = session.scalars(
                select(NetIPAllocation.id).where(NetIPAllocation.subnet_id == subnet.id)
            ).first()
            if used is not None:
                raise OperationError(
                    f"network {name}: cannot change {subnet.cidr} to {net} while ports use it"
                )
            session.delete(subnet)
            session.flush()
            subnet = None
        if subnet is None:
            subnet = NetSubnetRow(network_id=row.id, cidr=str(net), ip_version=net.version)
            session.add(subnet)
            session.flush()
        subnet.gateway = str(ipaddress.ip_address(gateway)) if gateway else None
        session.execute(delete(NetPoolRow).where(NetPoolRow.subnet_id == subnet.id))
        session.add_all(NetPoolRow(subnet_id=subnet.id, start=s, end=e) for s, e in wanted)


def sync_networks(db: Database, networks: Sequence[Network]) -> None:
    """``ensure_network`` for every enabled network of a model."""
    for net in networks:
        if net.enabled:
            sub = net.subnet
            gateway = str(sub.gateway) if sub.gateway else None
            ensure_network(
                db,
                net.name,
                str(sub.cidr),
                sub.pools,
                gateway=gateway,
                vlan=net.vlan,
                mtu=net.mtu,
                vip=net.vip,
            )


def _record(network: NetNetworkRow, subnet: NetSubnetRow, port: NetPortRow, address: str) -> PortRecord:
    return PortRecord(
        id=port.id,
        network=network.name,
        owner=port.owner,
        name=port.name,
        kind=port.kind,
        ip=address,
        cidr=subnet.cidr,
        gateway=subnet.gateway,
        vlan=network.vlan,
        mtu=network.mtu,
    )


def _free(cidr: str, pools: Sequence[NetPoolRow | Pool], used: set[int],
          gateway: str | None) -> Iterator[IPAddress]:  # fmt: skip
    """Free pool addresses in order (never the network, broadcast or gateway address)."""
    net = ipaddress.ip_network(cidr)
    reserved = {int(net.network_address)}
    if net.version == 4:
        reserved.add(int(net.broadcast_address))
    if gateway:
        reserved.add(int(ipaddress.ip_address(gateway)))
    for pool in sorted(pools, key=lambda p: int(ipaddress.ip_address(p.start))):
        first, last = int(ipaddress.ip_address(pool.start)), int(ipaddress.ip_address(pool.end))
        value = first
        while value <= last:
            if value not in used and value not in reserved:
                yield ipaddress.ip_address(value)
            value += 1


def _pick(
    cidr: str, pools: Sequence[NetPoolRow], used: set[int], gateway: str | None, attempt: int
) -> IPAddress | None:
    """The first free address; after a lost race, a random one of the first few, so racers spread out."""
    free = _free(cidr, pools, used, gateway)
    if attempt == 0:
        return next(free, None)
    candidates = []
    for address in free:
        candidates.append(address)
        if len(candidates) >= _CANDIDATES:
            break
    return random.choice(candidates) if candidates else None


def _network(session: Session, name: str) -> tuple[NetNetworkRow, NetSubnetRow]:
    net = session.scalars(select(NetNetworkRow).where(NetNetworkRow.name == name)).one_or_none()
    subnet = None
    if net is not None:
        subnet = session.scalars(
            select(NetSubnetRow).where(NetSubnetRow.network_id == net.id).order_by(NetSubnetRow.id)
        ).first()
    if net is None or subnet is None:
        known = ", ".join(session.scalars(select(NetNetworkRow.name).order_by(NetNetworkRow.name))) or "none"
        raise InputError(f"no network named {name!r} in IPAM (networks: {known})")
    return net, subnet


def _held_by(network: str, address: str, owner: str, name: str) -> OperationError:
    """A fixed address another port holds (the IPAM's and a dry run's error alike)."""
    return OperationError(f"network {network}: {address} is already held by {owner} port {name}")


def _has_another(network: str, owner: str, name: str, held: str, fixed: str) -> OperationError:
    """A port that exists asked for another fixed address than the one it holds."""
    return OperationError(f"network {network}: {owner} port {name} already has {held}, not {fixed}")


def _fixed(session: Session, net: NetNetworkRow, subnet: NetSubnetRow, fixed_ip: str) -> str:
    try:
        address = ipaddress.ip_address(fixed_ip)
    except ValueError:
        raise InputError(f"network {net.name}: fixed IP {fixed_ip!r} is not an IP address") from None
    if address not in ipaddress.ip_network(subnet.cidr):
        raise InputError(f"network {net.name}: fixed IP {address} is outside its subnet {subnet.cidr}")
    holder = session.execute(
        select(NetPortRow.owner, NetPortRow.name)
        .join(NetIPAllocation, NetIPAllocation.port_id == NetPortRow.id)
        .where(NetIPAllocation.subnet_id == subnet.id, NetIPAllocation.address == str(address))
    ).first()
    if holder is not None:
        raise _held_by(net.name, str(address), holder[0], holder[1])
    return str(address)


def _try_allocate(
    db: Database, network: str, owner: str, name: str, kind: str, fixed_ip: str | None, attempt: int
) -> PortRecord:
    with db.transaction() as session:
        net, subnet = _network(session, network)
        existing = session.scalars(
            select(NetPortRow).where(
                NetPortRow.network_id == net.id, NetPortRow.owner == owner, NetPortRow.name == name
            )
        ).one_or_none()
        if existing is not None:
            held = session.scalars(
                select(NetIPAllocation.address).where(NetIPAllocation.port_id == existing.id)
            ).one()
            if fixed_ip and ipaddress.ip_address(fixed_ip) != ipaddress.ip_address(held):
                raise _has_another(network, owner, name, held, fixed_ip)
            return _record(net, subnet, existing, held)
        if fixed_ip:
            address = _fixed(session, net, subnet, fixed_ip)
        else:
            pools = list(session.scalars(select(NetPoolRow).where(NetPoolRow.subnet_id == subnet.id)))
            rows = session.scalars(
                select(NetIPAllocation.address).where(NetIPAllocation.subnet_id == subnet.id)
            )
            used = {int(ipaddress.ip_address(a)) for a in rows}
            picked = _pick(subnet.cidr, pools, used, subnet.gateway, attempt)
            if picked is None:
                ranges = ", ".join(f"{p.start}-{p.end}" for p in pools) or "no pools"
                raise PoolExhaustedError(
                    f"network {network}: no free address left in its allocation pools ({ranges}; "
                    f"{len(used)} addresses in use) for {owner} port {name}"
                )
            address = str(picked)
        port = NetPortRow(
            id=str(uuid.uuid4()),
            network_id=net.id,
            owner=owner,
            name=name,
            kind=kind,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(port)
        session.flush()
        session.add(NetIPAllocation(port_id=port.id, subnet_id=subnet.id, address=address))
        session.flush()
        return _record(net, subnet, port, address)


def _allocate(
    db: Database, network: str, owner: str, name: str, kind: str, fixed_ip: str | None
) -> PortRecord:
    for attempt in range(_ATTEMPTS):
        try:
            return _try_allocate(db, network, owner, name, kind, fixed_ip, attempt)
        except IntegrityError:
            # Another process took this address (or created this port) first: look again.
            LOG.debug("allocation race on %s for %s/%s (attempt %s)", network, owner, name, attempt)
            time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
    raise OperationError(f"network {network}: could not allocate an address after {_ATTEMPTS} attempts")


def allocate_port(
    db: Database, network: str, *, owner: str, name: str, fixed_ip: str | None = None
) -> PortRecord:
    """A port for ``owner`` (a node) on ``network``: a free pool address, or ``fixed_ip``.

    Idempotent: asking again for the same (network, owner, name) returns the port already made.

    :raises InputError: unknown network, or a fixed IP that is not an address of the subnet.
    :raises PoolExhaustedError: the pools are full (the message names the network).
    :raises OperationError: the fixed IP is held by another port.
    """
    return _allocate(db, network, owner, name, "port", fixed_ip)


def allocate_vip(
    db: Database, network: str, *, name: str | None = None, fixed_ip: str | None = None
) -> PortRecord:
    """A virtual IP on ``network``: a port without a server (TripleO's ``<Network>VirtualIP``)."""
    return _allocate(db, network, VIP_OWNER, name or f"{network}_virtual_ip", "vip", fixed_ip)


def release_port(db: Database, port_id: str) -> bool:
    """Delete a port and free its address; False when there was no such port (deleting twice is fine)."""
    with db.transaction() as session:
        session.execute(delete(NetIPAllocation).where(NetIPAllocation.port_id == port_id))
        result = session.execute(delete(NetPortRow).where(NetPortRow.id == port_id))
        return bool(getattr(result, "rowcount", 0))


def list_ports(db: Database, network: str | None = None, owner: str | None = None) -> list[PortRecord]:
    """Ports with their addresses, optionally of one network or one owner."""
    query = (
        select(NetNetworkRow, NetSubnetRow, NetPortRow, NetIPAllocation.address)
        .join(NetPortRow, NetPortRow.network_id == NetNetworkRow.id)
        .join(NetIPAllocation, NetIPAllocation.port_id == NetPortRow.id)
        .join(NetSubnetRow, NetSubnetRow.id == NetIPAllocation.subnet_id)
        .order_by(NetNetworkRow.name, NetPortRow.owner, NetPortRow.name)
    )
    if network is not None:
        query = query.where(NetNetworkRow.name == network)
    if owner is not None:
        query = query.where(NetPortRow.owner == owner)
    with db.transaction() as session:
        return [_record(n, s, p, a) for n, s, p, a in session.execute(query)]


class StackAllocator:
    """The IPAM for one stack's nodes: ctlplane addresses are the servers' own; the rest are owned by
    ``<stack>/<node>`` (and VIPs named ``<stack>/<network>_virtual_ip``) so delete can find them.
    The networks are already in the IPAM (deploy syncs them before the stack runs).

    :param ctlplane: each node's ctlplane address (the server's), by node name.
    """

    def __init__(self, db: Database, stack: str, ctlplane: Mapping[str, str]):
        self.db, self.stack, self.ctlplane = db, stack, ctlplane

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress:
        """The address of ``owner`` (a node, or ``vip``) on ``network`` (idempotent, as the IPAM is).

        :raises PoolExhaustedError: the network's pools are full.
        :raises OperationError: ``fixed`` is held by another port.
        """
        if network.name == CTLPLANE and owner in self.ctlplane:
            return ipaddress.ip_address(self.ctlplane[owner])
        if owner == VIP_OWNER:
            port = allocate_vip(self.db, network.name, name=f"{self.stack}/{name}", fixed_ip=fixed)
        else:
            port = allocate_port(
                self.db, network.name, owner=f"{self.stack}/{owner}", name=name, fixed_ip=fixed
            )
        return ipaddress.ip_address(port.ip)


class PlannedAllocator:
    """What :class:`StackAllocator` would hand out, decided from the IPAM as it is and kept in memory: a dry
    run's IPAM. The same decisions: a port that exists keeps its address, a fixed address must be free, else
    the first free pool address; the networks are the plan's (as ``sync_networks`` would make them).

    :raises OperationError: a network's subnet would change while ports use it (as ``ensure_network``).
    """

    def __init__(self, db: Database, stack: str, networks: Sequence[Network]) -> None:
        self.stack = stack
        self.ctlplane: dict[str, str] = {}  # each server's own, by node (set once the servers are known)
        self.networks = {n.name: n for n in networks if n.enabled}
        query = (
            select(
                NetNetworkRow.name,
                NetSubnetRow.cidr,
                NetPortRow.owner,
                NetPortRow.name,
                NetIPAllocation.address,
            )
            .join(NetPortRow, NetPortRow.network_id == NetNetworkRow.id)
            .join(NetIPAllocation, NetIPAllocation.port_id == NetPortRow.id)
            .join(NetSubnetRow, NetSubnetRow.id == NetIPAllocation.subnet_id)
        )
        self.held: dict[tuple[str, str, str], str] = {}  # (network, owner, port name) -> address
        with db.transaction() as session:
            for network, cidr, owner, name, address in session.execute(query):
                wanted = self.networks.get(network)
                if wanted is not None and str(wanted.subnet.cidr) != cidr:
                    raise OperationError(
                        f"network {network}: cannot change {cidr} to {wanted.subnet.cidr} while ports use it"
                    )
                self.held[(network, owner, name)] = address

    def depart(self, keep: Sequence[str]) -> int:
        """Forget the stack's node addresses but those of ``keep`` (what a deploy frees for the nodes that
        left the stack); returns how many."""
        prefix, kept = f"{self.stack}/", {f"{self.stack}/{node}" for node in keep}
        gone = [k for k in self.held if k[1].startswith(prefix) and k[1] not in kept]
        for key in gone:
            del self.held[key]
        return len(gone)

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress:
        """The address :meth:`StackAllocator.allocate` would return (remembered for the next asks)."""
        if network.name == CTLPLANE and owner in self.ctlplane:
            return ipaddress.ip_address(self.ctlplane[owner])
        key = (network.name, VIP_OWNER, f"{self.stack}/{name}") if owner == VIP_OWNER else \
            (network.name, f"{self.stack}/{owner}", name)  # fmt: skip
        held = self.held.get(key)
        if held is not None:
            if fixed and ipaddress.ip_address(fixed) != ipaddress.ip_address(held):
                raise _has_another(network.name, key[1], key[2], held, fixed)
            return ipaddress.ip_address(held)
        if fixed:
            address = ipaddress.ip_address(fixed)
            holder = next(
                (k for k, a in self.held.items() if k[0] == network.name and a == str(address)), None
            )
            if holder is not None:
                raise _held_by(network.name, str(address), holder[1], holder[2])
        else:
            taken = {int(ipaddress.ip_address(a)) for k, a in self.held.items() if k[0] == network.name}
            sub = network.subnet
            gateway = str(sub.gateway) if sub.gateway else None
            found = next(_free(str(sub.cidr), sub.pools, taken, gateway), None)
            if found is None:
                raise PoolExhaustedError(
                    f"network {network.name}: no free address left in its allocation pools for {key[1]} "
                    f"port {key[2]}"
                )
            address = found
        self.held[key] = str(address)
        return address


def release_stack_addresses(db: Database, stack: str, keep: Sequence[str] = (), vips: bool = True) -> int:
    """Free the addresses ``stack`` took for its nodes (all but those of ``keep``) and, with ``vips``, its
    VIPs; returns how many were freed. A deploy that scaled a role down frees the departed nodes' addresses.
    """
    prefix, kept = f"{stack}/", {f"{stack}/{node}" for node in keep}
    freed = 0
    for port in list_ports(db):
        departed = port.owner.startswith(prefix) and port.owner not in kept
        if departed or (vips and port.kind == "vip" and port.name.startswith(prefix)):
            freed += release_port(db, port.id)
    return freed
