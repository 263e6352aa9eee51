"""What a lab is made of: network segments and virtual bare-metal nodes.

A lab config is plain data (YAML or the ``--nodes N`` default). It is validated once, here, with errors
that name the file and the YAML path; everything downstream trusts it.

Every host-side object carries the lab's prefix, ``<name>-`` (``tl-`` for the default lab, ``lab up --name``
for others), and fits the kernel's 15-character interface names: a bridge is ``<prefix><network>`` (cut to
fit), a node's host-side veth is ``<prefix><node index>-<nic index>`` (a digit after the prefix, so it never
collides with a bridge), a node's network namespace is ``<prefix><node>``. Two labs with different names
live side by side: :func:`shifted` moves the default lab's subnets and BMC ports out of another's way.

A config file (every key optional but ``nodes``; ``networks`` defaults to those of the project's
network_data.yaml, as the ``--nodes N`` default lab's, :mod:`tripleo.lab.layout`)::

    networks:
      - {name: ctlplane, cidr: 192.168.24.0/24, host_address: 192.168.24.1}
      - {name: storage, cidr: 172.16.1.0/24}
    nodes:
      - {name: ceph-0, networks: [ctlplane, storage], cpus: 4, memory_mb: 8192, disk_gb: 40,
         arch: x86_64, profile: ceph-storage, macs: ["52:54:00:aa:00:01", "52:54:00:aa:00:02"]}
    bmc_port_base: 6230
    bmc_user: admin
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.errors import InputError
from tripleo.fields import Reader
from tripleo.lab import layout
from tripleo.lab.layout import CTLPLANE
from tripleo.lab.layout import MAX_NICS as _MAX_NICS
from tripleo.lab.layout import NETWORK_NAME as _NET_NAME

__all__ = [
    "CTLPLANE",
    "DEFAULT_NAME",
    "LAB_NAME",
    "MACHINE",
    "PREFIX",
    "LabConfig",
    "NetworkSpec",
    "NodeSpec",
    "default_config",
    "default_networks",
    "load_config",
    "parse_config",
    "shifted",
]

DEFAULT_NAME = "tl"
PREFIX = f"{DEFAULT_NAME}-"  # the default lab's
LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,4}$")
_IFNAMSIZ = 15
NAMESPACE, MACHINE = "namespace", "machine"  # node kinds
MACHINE_MEMORY_MB = 2048
_NODE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_MAX_NODES = 200
_UUID_NAMESPACE = uuid.UUID("0c5d7e4a-3f0b-5a55-9d0e-747269706c65")


@dataclass(frozen=True)
class NetworkSpec:
    """One lab network: an L2 segment (a Linux bridge) with an IPv4 subnet.

    :param host_address: the host's own address on the segment, or None if the host does not join it.
    """

    name: str
    cidr: str
    host_address: str | None = None
    prefix: str = PREFIX  # the lab's

    @property
    def bridge(self) -> str:
        return f"{self.prefix}{self.name}"[:_IFNAMSIZ]

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "cidr": self.cidr, "host_address": self.host_address}


@dataclass(frozen=True)
class NodeSpec:
    """One virtual bare-metal node. ``networks[i]`` is NIC ``i + 1`` (``eth<i>`` inside the node).

    ``kind``: ``namespace`` (processes in namespaces over the host's /usr) or ``machine`` (a QEMU machine
    with its own Debian, :mod:`tripleo.lab.machine`; its QEMU runs in the node's network namespace, its NICs
    are taps on the lab's bridges).
    """

    name: str
    networks: tuple[str, ...]
    macs: tuple[str, ...]
    cpus: int = 2
    memory_mb: int = 8192
    disk_gb: int = 40
    arch: str = "x86_64"
    profile: str | None = None
    prefix: str = PREFIX  # the lab's
    kind: str = NAMESPACE

    @property
    def netns(self) -> str:
        return f"{self.prefix}{self.name}"

    @property
    def system_uuid(self) -> uuid.UUID:
        """The node's system UUID (what its BMC reports): stable across daemon restarts and re-creation."""
        return uuid.uuid5(_UUID_NAMESPACE, f"{self.name}/{self.macs[0]}")

    def nic_name(self, index: int) -> str:
        """The NIC's name inside the node (``eth0`` is nic1, always ctlplane)."""
        return f"eth{index}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "networks": list(self.networks),
            "macs": list(self.macs),
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "disk_gb": self.disk_gb,
            "arch": self.arch,
            "profile": self.profile,
            # written for machines only: the state of a lab up before machines existed stays the same
            **({"kind": self.kind} if self.kind != NAMESPACE else {}),
        }


@dataclass(frozen=True)
class LabConfig:
    """A whole lab: its networks, its nodes and where their BMCs listen (127.0.0.1, one port per node)."""

    networks: tuple[NetworkSpec, ...]
    nodes: tuple[NodeSpec, ...]
    bmc_port_base: int = 6230
    bmc_user: str = "admin"
    name: str = DEFAULT_NAME

    @property
    def prefix(self) -> str:
        return f"{self.name}-"

    def named(self, name: str) -> LabConfig:
        """The same lab under another name (every object's prefix follows).

        :raises InputError: not a lab name, or two bridges whose names would be the same once cut to fit.
        """
        if not LAB_NAME.match(name):
            raise InputError(f"--name {name}: expected 1 to 5 lower-case letters and digits, a letter first")
        prefix = f"{name}-"
        networks = tuple(replace(n, prefix=prefix) for n in self.networks)
        bridges = [n.bridge for n in networks]
        for i, bridge in enumerate(bridges):
            if bridge in bridges[:i]:
                raise InputError(f"--name {name}: lab networks {self.networks[i].name!r} and another "
                                 f"both become bridge {bridge}")  # fmt: skip
        nodes = tuple(replace(n, prefix=prefix) for n in self.nodes)
        return replace(self, networks=networks, nodes=nodes, name=name)

    def network(self, name: str) -> NetworkSpec:
        for net in self.networks:
            if net.name == name:
                return net
        raise InputError(f"no lab network named {name!r}")

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise InputError(f"no lab node named {name!r} (nodes: {known})")

    def node_index(self, name: str) -> int:
        return self.nodes.index(self.node(name))

    def veth(self, node: NodeSpec, nic: int) -> str:
        """Host-side name of a node's NIC: ``<prefix><node index>-<nic index>``."""
        return f"{self.prefix}{self.nodes.index(node)}-{nic}"

    def bmc_port(self, node: NodeSpec) -> int:
        return self.bmc_port_base + self.nodes.index(node)

    def to_dict(self) -> dict[str, Any]:
        return {
            "networks": [n.to_dict() for n in self.networks],
            "nodes": [n.to_dict() for n in self.nodes],
            "bmc_port_base": self.bmc_port_base,
            "bmc_user": self.bmc_user,
            "name": self.name,
        }


def _network_specs(segments: Sequence[layout.Segment]) -> tuple[NetworkSpec, ...]:
    return tuple(NetworkSpec(s.name, s.cidr, s.host_address) for s in segments)


def default_networks() -> tuple[NetworkSpec, ...]:
    """A config file's networks when it lists none: the project's network_data.yaml.

    :raises InputError: the project's network_data.yaml is not one the lab can wire.
    """
    return _network_specs(layout.load_segments())


def default_mac(node_index: int, nic_index: int) -> str:
    """A fixed MAC per NIC, so a re-created node leaves no stale ARP entry on the host."""
    return f"52:54:00:24:{node_index:02x}:{nic_index:02x}"


def default_config(
    nodes: int,
    controllers: int = 1,
    *,
    networks_file: Path | None = None,
    roles_file: Path | None = None,
    machines: int = 0,
) -> LabConfig:
    """The ``--nodes N`` lab as network_data.yaml and roles_data.yaml shape it (the project's unless given):
    a lab network per network_data network; the first ``controllers`` nodes of the role tagged
    ``controller``, the rest of the role tagged ``compute``, each wired and profiled as its role
    (:mod:`tripleo.lab.layout` has the rules); the last ``machines`` of them are QEMU machines (2 GB).

    :raises InputError: a count out of range, or either file unreadable or invalid (with its YAML path).
    """
    if not 1 <= nodes <= _MAX_NODES:
        raise InputError(f"--nodes {nodes}: expected 1 to {_MAX_NODES}")
    if not 1 <= controllers <= nodes:
        raise InputError(f"--controllers {controllers}: expected 1 to --nodes ({nodes})")
    if not 0 <= machines <= nodes - controllers:
        others = nodes - controllers
        raise InputError(f"--machines {machines}: expected 0 to the nodes that are no controller ({others})")
    shape = layout.load_layout(networks_file, roles_file)
    specs = []
    for i in range(nodes):
        role = shape.controller if i < controllers else shape.compute
        specs.append(
            NodeSpec(
                name=f"node-{i}",
                networks=role.networks,
                macs=tuple(default_mac(i, k) for k in range(len(role.networks))),
                profile=role.profile,
            )
        )
    for i in range(nodes - machines, nodes):
        specs[i] = replace(specs[i], kind=MACHINE, memory_mb=MACHINE_MEMORY_MB)
    return LabConfig(networks=_network_specs(shape.segments), nodes=tuple(specs))


_SHIFT = 10  # a shifted lab's subnets move by this many /24s per step, its BMC ports by 100


def shifted(config: LabConfig, step: int) -> LabConfig:
    """The lab with every subnet (and host address) moved ``step`` times ten /24s up and its BMC ports
    ``step`` hundreds up: a second lab next to the default one (``step`` 0 is the lab as it is)."""
    if step == 0:
        return config

    def move(address: str) -> str:
        return str(ipaddress.IPv4Address(address) + step * _SHIFT * 256)

    networks = []
    for net in config.networks:
        cidr = ipaddress.IPv4Network(net.cidr)
        moved = ipaddress.IPv4Network((int(cidr.network_address) + step * _SHIFT * 256, cidr.prefixlen))
        networks.append(replace(net, cidr=str(moved), host_address=move(net.host_address)
                                if net.host_address else None))  # fmt: skip
    return replace(config, networks=tuple(networks), bmc_port_base=config.bmc_port_base + 100 * step)


def load_config(path: Path) -> LabConfig:
    """Read and validate a lab config file.

    :raises InputError: unreadable file, bad YAML or an invalid config (with the YAML path).
    """
    return parse_config(boundedyaml.load_file(path, "lab config"), file=str(path))


def parse_config(data: Any, file: str | None = None) -> LabConfig:
    """Validate a lab config given as parsed YAML.

    :raises InputError: with the file and YAML path of the first problem.
    """
    r = Reader(file)
    top = r.mapping(data if data is not None else {}, "")
    r.keys(top, "", {"networks", "nodes", "bmc_port_base", "bmc_user", "name"})
    networks = _parse_networks(r, top["networks"]) if "networks" in top else default_networks()
    names = [n.name for n in networks]
    raw_nodes = r.seq(top.get("nodes", []), "nodes")
    if not raw_nodes:
        raise r.fail("nodes", "expected at least one node")
    if len(raw_nodes) > _MAX_NODES:
        raise r.fail("nodes", f"at most {_MAX_NODES} nodes")
    nodes = tuple(_parse_node(r, raw, i, names) for i, raw in enumerate(raw_nodes))
    _unique(r, "nodes", [n.name for n in nodes], "node name")
    _unique(r, "nodes", [m for n in nodes for m in n.macs], "MAC address")
    port_base = r.integer(top.get("bmc_port_base", 6230), "bmc_port_base", 1024, 65535 - len(nodes))
    user = r.text(top.get("bmc_user", "admin"), "bmc_user", re.compile(r"^[A-Za-z0-9_.-]{1,16}$"))
    name = r.text(top.get("name", DEFAULT_NAME), "name", LAB_NAME)
    config = LabConfig(networks=networks, nodes=nodes, bmc_port_base=port_base, bmc_user=user)
    try:
        return config.named(name)
    except InputError as exc:
        raise r.fail("name", exc.message) from None


def _unique(r: Reader, path: str, values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise r.fail(path, f"duplicate {what} {value!r}")
        seen.add(value)


def _parse_networks(r: Reader, raw: Any) -> tuple[NetworkSpec, ...]:
    specs: list[NetworkSpec] = []
    for i, item in enumerate(r.seq(raw, "networks")):
        path = f"networks.{i}"
        net = r.mapping(item, path)
        r.keys(net, path, {"name", "cidr", "host_address"})
        name = r.text(net.get("name"), f"{path}.name", _NET_NAME)
        cidr_text = r.text(net.get("cidr"), f"{path}.cidr")
        try:
            cidr = ipaddress.IPv4Network(cidr_text)
        except ValueError as exc:
            raise r.fail(f"{path}.cidr", f"expected an IPv4 network such as 10.0.0.0/24: {exc}") from exc
        if cidr.prefixlen > 29:
            raise r.fail(f"{path}.cidr", "expected a prefix of /29 or shorter")
        host = net.get("host_address")
        if host is not None:
            host = r.text(host, f"{path}.host_address")
            try:
                inside = ipaddress.IPv4Address(host) in cidr
            except ValueError:
                inside = False
            if not inside:
                raise r.fail(f"{path}.host_address", f"expected an address inside {cidr}, got {host!r}")
        for other in specs:
            if other.subnet.overlaps(cidr):
                raise r.fail(f"{path}.cidr", f"{cidr} overlaps network {other.name!r} ({other.cidr})")
        specs.append(NetworkSpec(name, str(cidr), host))
    _unique(r, "networks", [s.name for s in specs], "network name")
    if CTLPLANE not in {s.name for s in specs}:
        raise r.fail("networks", f"expected a network named {CTLPLANE!r}")
    return tuple(specs)


def _parse_node(r: Reader, raw: Any, index: int, networks: list[str]) -> NodeSpec:
    path = f"nodes.{index}"
    node = r.mapping(raw, path)
    allowed = {"name", "networks", "macs", "cpus", "memory_mb", "disk_gb", "arch", "profile", "kind"}
    r.keys(node, path, allowed)
    name = r.text(node.get("name", f"node-{index}"), f"{path}.name", _NODE_NAME)
    raw_nets = r.seq(node.get("networks", [CTLPLANE]), f"{path}.networks")
    nets = [r.text(n, f"{path}.networks.{k}") for k, n in enumerate(raw_nets)]
    if CTLPLANE not in nets:
        nets.insert(0, CTLPLANE)
    if nets[0] != CTLPLANE:
        raise r.fail(f"{path}.networks", f"nic1 is always {CTLPLANE}: list it first")
    for k, net in enumerate(nets):
        if net not in networks:
            raise r.fail(f"{path}.networks", f"unknown network {net!r} (have: {', '.join(networks)})")
        if nets.index(net) != k:
            raise r.fail(f"{path}.networks", f"network {net!r} listed twice")
    if len(nets) > _MAX_NICS:
        raise r.fail(f"{path}.networks", f"at most {_MAX_NICS} NICs")
    macs = _parse_macs(r, node.get("macs"), f"{path}.macs", index, len(nets))
    profile = node.get("profile")
    return NodeSpec(
        name=name,
        networks=tuple(nets),
        macs=macs,
        cpus=r.integer(node.get("cpus", 2), f"{path}.cpus", 1, 1024),
        memory_mb=r.integer(node.get("memory_mb", 8192), f"{path}.memory_mb", 64, 1 << 24),
        disk_gb=r.integer(node.get("disk_gb", 40), f"{path}.disk_gb", 1, 1 << 20),
        arch=r.text(node.get("arch", "x86_64"), f"{path}.arch", re.compile(r"^[a-z0-9_]+$")),
        profile=None if profile is None else r.text(profile, f"{path}.profile", re.compile(r"^[a-z0-9_-]+$")),
        kind=_kind(r, node.get("kind", NAMESPACE), f"{path}.kind"),
    )


def _kind(r: Reader, value: Any, path: str) -> str:
    if value not in (NAMESPACE, MACHINE):
        raise r.fail(path, f"expected {NAMESPACE} or {MACHINE}, got {value!r}")
    return str(value)


def _parse_macs(r: Reader, raw: Any, path: str, node_index: int, count: int) -> tuple[str, ...]:
    if raw is None:
        return tuple(default_mac(node_index, k) for k in range(count))
    macs = [r.text(m, f"{path}.{k}").lower() for k, m in enumerate(r.seq(raw, path))]
    if len(macs) != count:
        raise r.fail(path, f"expected one MAC per network ({count}), got {len(macs)}")
    for k, mac in enumerate(macs):
        if not _MAC.match(mac) or int(mac[:2], 16) & 1:
            raise r.fail(f"{path}.{k}", f"expected a unicast MAC such as 52:54:00:00:00:01, got {mac!r}")
    return tuple(macs)
