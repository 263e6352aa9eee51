"""Reading node files (TripleO's instackenv.json, or the same in YAML) and checking them.

Every problem is collected, each with the file and the dotted path of the entry at fault, so an operator
fixes the whole file at once: unknown or missing fields, bad MACs, numbers and capabilities, duplicate
names, MACs or BMCs (in the file and against the nodes already enrolled), and BMCs that do not answer.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tripleo import boundedyaml
from tripleo.baremetal.drivers import DRIVERS, DriverSpec
from tripleo.baremetal.node import MAC_RE, format_capabilities, parse_capabilities
from tripleo.errors import InputError, TripleoError
from tripleo.fields import Collector, Field, Reader

__all__ = ["ImportProblems", "NodeSpec", "PortSpec", "check_existing", "load_nodes", "parse_nodes", "probe"]

# instackenv pm_type spellings -> driver
PM_TYPES = {"ipmi": "ipmi", "pxe_ipmitool": "ipmi", "redfish": "redfish", "lab": "lab", "fake": "fake"}
_NODE_KEYS = {
    "name",
    "uuid",
    "pm_type",
    "mac",
    "ports",
    "cpu",
    "memory",
    "disk",
    "arch",
    "capabilities",
    "root_device",
    "resource_class",
}
_DRIVER_KEYS = {key for spec in DRIVERS.values() for key in spec.fields}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,254}$")
_NONBLANK = re.compile(r"\s*\S")


class ImportProblems(InputError):
    """A node file with one or more problems; ``problems`` holds one error per problem (file + path)."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class PortSpec:
    address: str
    physical_network: str | None = None
    pxe_enabled: bool = False


@dataclass(frozen=True)
class NodeSpec:
    """One node to enroll. ``path`` is where it stands in its file (``nodes.3``)."""

    path: str
    name: str | None
    uuid: str | None
    driver: str
    driver_info: dict[str, Any]
    properties: dict[str, Any]
    ports: tuple[PortSpec, ...] = field(default=())

    @property
    def label(self) -> str:
        return self.name or self.path

    @property
    def bmc(self) -> tuple[str, ...]:
        """What identifies the BMC (address, port, system): two nodes never share it."""
        info = self.driver_info
        return (str(info.get("pm_addr")), str(info.get("pm_port", "")), str(info.get("pm_system_id", "")))


def load_nodes(path: Path) -> list[NodeSpec]:
    """Read and check a node file (JSON or YAML).

    :raises ImportProblems: every problem found in the file.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ImportProblems([InputError(f"cannot read: {exc.strerror}", file=str(path))]) from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else boundedyaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        message = " ".join(str(exc).split())
        raise ImportProblems([InputError(f"invalid {kind}: {message}", file=str(path))]) from exc
    return parse_nodes(data, file=str(path))


def parse_nodes(data: Any, file: str | None = None) -> list[NodeSpec]:
    """Check parsed node data: ``{"nodes": [...]}`` or a bare list.

    :raises ImportProblems: every problem found.
    """
    check = Collector(file)
    entries = data.get("nodes") if isinstance(data, Mapping) else data
    if isinstance(data, Mapping) and (unknown := sorted(check.unknown(data, {"nodes"}))):
        check.note(unknown[0], "unknown key (expected: nodes)")
    if not isinstance(entries, list) or not entries:
        check.note("nodes", "expected a non-empty list of nodes")
        raise ImportProblems(check.problems)
    specs = [spec for i, raw in enumerate(entries) if (spec := _node(check, raw, f"nodes.{i}")) is not None]
    _duplicates(check, specs)
    if check.problems:
        raise ImportProblems(check.problems)
    return specs


def _node(check: Collector, raw: Any, path: str) -> NodeSpec | None:
    node = check.attempt(check.mapping, raw, path)
    if node is None:
        return None
    before = len(check.problems)
    driver = check.attempt(
        check.one_of, node.get("pm_type", "ipmi"), f"{path}.pm_type", PM_TYPES, what="pm_type"
    )
    for key in check.unknown(node, _NODE_KEYS | _DRIVER_KEYS):
        check.note(f"{path}.{key}", "unknown field")
    info = _driver_info(check, node, path, DRIVERS[driver]) if driver else {}
    name = node.get("name")
    if name is not None:
        letters = f"expected letters, digits, '.', '-', '_' or '~', got {name!r}"
        check.attempt(check.text, name, f"{path}.name", _NAME_RE, message=letters)
    node_uuid = node.get("uuid")
    if node_uuid is not None:
        try:
            node_uuid = str(uuidlib.UUID(str(node_uuid)))
        except ValueError:
            check.note(f"{path}.uuid", f"expected a UUID, got {node_uuid!r}")
    properties = {
        key: value
        for key, field in _PROPERTIES.items()
        if (value := check.attempt(field.read, check, node, path)) is not None
    }
    ports = _ports(check, node, path)
    if len(check.problems) > before or driver is None:
        return None
    return NodeSpec(path, name, node_uuid, driver, info, properties, ports)


def _driver_info(check: Collector, raw: Mapping[str, Any], path: str, spec: DriverSpec) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for key in spec.required:
        if raw.get(key) in (None, ""):
            check.note(f"{path}.{key}", f"missing (the {spec.name} driver needs it)")
    for key in _DRIVER_KEYS:
        if key not in raw:
            continue
        where = f"{path}.{key}"
        if key not in spec.fields:
            check.note(where, f"not used by pm_type {spec.name}")
        elif key == "pm_port":
            info[key] = check.attempt(check.integer, raw[key], where, 1, 65535, digits=True)
        elif key == "redfish_verify_ca":
            info[key] = check.attempt(check.boolean, raw[key], where)
        elif raw[key] is not None:
            info[key] = check.attempt(_nonblank, check, raw[key], where)
    return info


def _count(high: int) -> Callable[[Reader, Any, str], int]:
    """A count from 1 to ``high``, quoted or not."""
    return lambda r, value, path: r.integer(value, path, 1, high, digits=True)


def _nonblank(r: Reader, value: Any, path: str) -> str:
    return r.text(value, path, _NONBLANK, message=f"expected a non-empty string, got {value!r}")


def _capabilities(r: Reader, value: Any, path: str) -> str:
    if not isinstance(value, str | Mapping):
        raise r.fail(path, f"expected 'key:value,...', got {value!r}")
    try:
        return format_capabilities(parse_capabilities(value))
    except ValueError as exc:
        raise r.fail(path, str(exc)) from None


def _hints(r: Reader, value: Any, path: str) -> dict[str, Any]:
    return dict(r.mapping(value, path, message="expected a mapping of hints (e.g. {name: /dev/sda})"))


# Ironic property <- the node file's field
_PROPERTIES: dict[str, Field[Any]] = {
    "cpus": Field("cpu", _count(4096), default=None),
    "memory_mb": Field("memory", _count(1 << 30), default=None),
    "local_gb": Field("disk", _count(1 << 24), default=None),
    "cpu_arch": Field("arch", _nonblank, default=None),
    "capabilities": Field("capabilities", _capabilities, default=None),
    "root_device": Field("root_device", _hints, default=None),
    "resource_class": Field("resource_class", _nonblank, default=None),
}


def _mac(check: Collector, value: Any, path: str) -> str | None:
    mac = value.strip().lower().replace("-", ":") if isinstance(value, str) else None
    if mac is None or not MAC_RE.match(mac):
        check.note(path, f"expected a MAC address such as 52:54:00:12:34:56, got {value!r}")
        return None
    if int(mac[:2], 16) & 1:
        check.note(path, f"{mac} is a multicast address: a NIC has a unicast MAC")
        return None
    return mac


def _ports(check: Collector, raw: Mapping[str, Any], path: str) -> tuple[PortSpec, ...]:
    ports: dict[str, PortSpec] = {}
    listed = raw.get("mac", [])
    wrong = f"expected a list of MAC addresses, got {listed!r}"
    for i, value in enumerate(check.attempt(check.seq, listed, f"{path}.mac", message=wrong) or ()):
        mac = _mac(check, value, f"{path}.mac.{i}")
        if mac:
            ports.setdefault(mac, PortSpec(mac, pxe_enabled=i == 0))
    listed = raw.get("ports", [])
    wrong = f"expected a list of {{address: MAC}}, got {listed!r}"
    for i, entry in enumerate(check.attempt(check.seq, listed, f"{path}.ports", message=wrong) or ()):
        where = f"{path}.ports.{i}"
        if not isinstance(entry, Mapping) or "address" not in entry:
            check.note(where, "expected a mapping with an address (and optionally physical_network)")
            continue
        unknown = sorted(check.unknown(entry, {"address", "physical_network", "pxe_enabled"}))
        if unknown:
            check.note(f"{where}.{unknown[0]}", "unknown field")
        mac = _mac(check, entry["address"], f"{where}.address")
        if mac:
            pxe = ports[mac].pxe_enabled if mac in ports else bool(entry.get("pxe_enabled", not ports))
            ports[mac] = PortSpec(mac, entry.get("physical_network"), pxe)
    return tuple(ports.values())


def _duplicates(check: Collector, specs: Iterable[NodeSpec]) -> None:
    names: dict[str, str] = {}
    macs: dict[str, str] = {}
    bmcs: dict[tuple[str, ...], str] = {}
    for spec in specs:
        if spec.name is not None:
            if spec.name in names:
                check.note(f"{spec.path}.name", f"duplicate name {spec.name!r} (also {names[spec.name]})")
            names.setdefault(spec.name, spec.path)
        for port in spec.ports:
            if port.address in macs and macs[port.address] != spec.path:
                check.note(f"{spec.path}.mac", f"duplicate MAC {port.address} (also {macs[port.address]})")
            macs.setdefault(port.address, spec.path)
        if spec.bmc in bmcs:
            check.note(f"{spec.path}.pm_addr", f"duplicate BMC {_bmc_text(spec)} (also {bmcs[spec.bmc]})")
        bmcs.setdefault(spec.bmc, spec.path)


def _bmc_text(spec: NodeSpec) -> str:
    addr, port, system = spec.bmc
    return addr + (f":{port}" if port else "") + (f" {system}" if system else "")


def check_existing(
    specs: Sequence[NodeSpec],
    names: Mapping[str, tuple[str, tuple[str, ...]]],
    macs: Mapping[str, str],
    file: str | None = None,
) -> list[InputError]:
    """Clashes with enrolled nodes: a name taken by a node with another BMC, a MAC of another node.

    :param names: enrolled node name -> (uuid, BMC identity).
    :param macs: enrolled MAC -> the name (or uuid) of its node.
    """
    problems = []
    taken = {node_uuid: name for name, (node_uuid, _) in names.items()}
    for spec in specs:
        if spec.uuid in taken and taken[spec.uuid] != spec.name:
            problems.append(
                InputError(
                    f"uuid {spec.uuid} is taken by node {taken[spec.uuid]}",
                    file=file,
                    path=f"{spec.path}.uuid",
                )
            )
        owner = names.get(spec.name) if spec.name else None
        if owner is not None and owner[1] != spec.bmc:
            problems.append(
                InputError(
                    f"name {spec.name!r} is taken by enrolled node {owner[0]} with another BMC",
                    file=file,
                    path=f"{spec.path}.name",
                )
            )
        for port in spec.ports:
            other = macs.get(port.address)
            if other is not None and other != spec.name:
                problems.append(
                    InputError(
                        f"MAC {port.address} belongs to node {other}", file=file, path=f"{spec.path}.mac"
                    )
                )
    return problems


def probe(
    specs: Sequence[NodeSpec],
    power_state: Callable[[NodeSpec], object],
    file: str | None = None,
    workers: int = 8,
) -> list[InputError]:
    """Ask every BMC for its power state (in parallel); one problem per BMC that does not answer."""

    def one(spec: NodeSpec) -> InputError | None:
        try:
            power_state(spec)
        except TripleoError as exc:
            return InputError(f"BMC unreachable: {exc.message}", file=file, path=f"{spec.path}.pm_addr")
        return None

    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(specs))) as pool:
        return [p for p in pool.map(one, specs) if p is not None]
