"""The default lab's shape, read from the deployment's own network_data.yaml and roles_data.yaml.

The lab is the wiring a site would have for the overcloud those files describe, so it is not written down a
second time:

- one lab network per network_data entry, named by its ``name_lower``, on its IPv4 ``ip_subnet``, in the
  file's order. A disabled network (``enabled: false``) is wired too: TripleO leaves it unconfigured, the
  cable is still there;
- the host joins a network at its ``gateway_ip`` when the network is enabled (it is the gateway of the
  overcloud's routed networks: ctlplane, external); otherwise it stays off the segment;
- a node of a role has NIC 1 on ctlplane, then one NIC per network of the role's ``networks`` in
  roles_data order, the enabled ones first: NIC ``k + 1`` is the ``k``-th network the NIC templates
  configure (``nic-per-network/role.j2.yaml``), the disabled ones follow, unused;
- the ``--controllers`` nodes take the first role tagged ``controller``, the others the first role tagged
  ``compute`` (the tags ``profiles match --control-scale / --compute-scale`` count); a node's profile is its
  role's ``profile``.

Errors name the file and the YAML path (``3.ip_subnet``, ``0.networks.2``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.errors import InputError
from tripleo.shipped import CTLPLANE, TEMPLATES

__all__ = [
    "COMPUTE_TAG",
    "CONTROLLER_TAG",
    "CTLPLANE",
    "MAX_NICS",
    "NETWORK_NAME",
    "PROFILE_NAME",
    "TEMPLATES",
    "Layout",
    "RoleWiring",
    "Segment",
    "load_layout",
    "load_segments",
    "parse_roles",
    "parse_segments",
]

CONTROLLER_TAG = "controller"
COMPUTE_TAG = "compute"
# A lab network's name: a bridge is "<lab>-<name>", within the kernel's 15 characters.
NETWORK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,11}$")
PROFILE_NAME = re.compile(r"^[a-z0-9_-]+$")
MAX_NICS = 16
_MAX_PREFIXLEN = 29


@dataclass(frozen=True)
class Segment:
    """One network of network_data as the lab wires it.

    :param name: the lab network's name, network_data's ``name_lower``.
    :param network: network_data's ``name``, as roles_data lists it.
    :param host_address: the host's address on it (an enabled network's ``gateway_ip``), or None.
    """

    name: str
    network: str
    cidr: str
    host_address: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class RoleWiring:
    """What a node of one role is cabled to: ``networks[i]`` is NIC ``i + 1``, ctlplane first."""

    role: str
    networks: tuple[str, ...]
    profile: str | None = None


@dataclass(frozen=True)
class Layout:
    """The default lab's networks and the two roles its nodes take."""

    segments: tuple[Segment, ...]
    controller: RoleWiring
    compute: RoleWiring


def load_segments(networks_file: Path | None = None) -> tuple[Segment, ...]:
    """The lab networks of a network_data.yaml (the project's when ``networks_file`` is None).

    :raises InputError: unreadable file, bad YAML or an entry the lab cannot wire (file and YAML path).
    """
    path = networks_file or TEMPLATES / "network_data.yaml"
    return parse_segments(boundedyaml.load_file(path, "network data"), str(path))


def load_layout(networks_file: Path | None = None, roles_file: Path | None = None) -> Layout:
    """The default lab's shape from network_data.yaml and roles_data.yaml (the project's unless given).

    :raises InputError: either file unreadable or invalid (file and YAML path).
    """
    segments = load_segments(networks_file)
    path = roles_file or TEMPLATES / "roles_data.yaml"
    controller, compute = parse_roles(boundedyaml.load_file(path, "roles data"), segments, str(path))
    return Layout(segments, controller, compute)


def parse_segments(data: Any, file: str | None = None) -> tuple[Segment, ...]:
    """Lab networks from network_data.yaml content.

    :raises InputError: not a list of networks, a ``name_lower`` no bridge can carry, no IPv4 ``ip_subnet``,
        a gateway outside its subnet, overlapping subnets, a name twice, or no ctlplane network.
    """
    if not isinstance(data, list):
        raise InputError(f"expected a list of networks, got {type(data).__name__}", file=file)
    segments: list[Segment] = []
    for i, entry in enumerate(data):
        segment = _segment(entry, file, str(i))
        for other in segments:
            if segment.name == other.name or segment.network == other.network:
                raise InputError(f"network {segment.network} ({segment.name}) is defined twice", file=file,
                                 path=str(i))  # fmt: skip
            if ipaddress.IPv4Network(segment.cidr).overlaps(ipaddress.IPv4Network(other.cidr)):
                raise InputError(f"{segment.cidr} overlaps network {other.network} ({other.cidr})", file=file,
                                 path=f"{i}.ip_subnet")  # fmt: skip
        segments.append(segment)
    if CTLPLANE not in {s.name for s in segments}:
        raise InputError(f"no network named {CTLPLANE} (the lab's provisioning network, NIC 1 of every node)",
                         file=file)  # fmt: skip
    return tuple(segments)


def _segment(entry: Any, file: str | None, path: str) -> Segment:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise InputError("expected a mapping with a name", file=file, path=path)
    name = entry["name"]
    lower = entry.get("name_lower") or name.lower()
    if not isinstance(lower, str) or not NETWORK_NAME.match(lower):
        want = f"expected {NETWORK_NAME.pattern}: a lab bridge is named after it"
        raise InputError(f"network {name}: {lower!r} is no lab network name ({want})", file=file,
                         path=f"{path}.name_lower")  # fmt: skip
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InputError(f"network {name}: expected true or false, got {enabled!r}", file=file,
                         path=f"{path}.enabled")  # fmt: skip
    subnet = entry.get("ip_subnet")
    try:
        cidr = ipaddress.IPv4Network(subnet) if isinstance(subnet, str) else None
    except ValueError:
        cidr = None
    if cidr is None:
        raise InputError(f"network {name}: the lab needs an IPv4 subnet such as 10.0.0.0/24, got {subnet!r}",
                         file=file, path=f"{path}.ip_subnet")  # fmt: skip
    if cidr.prefixlen > _MAX_PREFIXLEN:
        raise InputError(f"network {name}: expected a prefix of /{_MAX_PREFIXLEN} or shorter, got {cidr}",
                         file=file, path=f"{path}.ip_subnet")  # fmt: skip
    gateway = entry.get("gateway_ip")
    if gateway is not None:
        try:
            inside = ipaddress.IPv4Address(gateway) in cidr
        except ValueError:
            inside = False
        if not inside:
            raise InputError(f"network {name}: expected an address inside {cidr}, got {gateway!r}", file=file,
                             path=f"{path}.gateway_ip")  # fmt: skip
    host = str(gateway) if gateway is not None and enabled else None
    return Segment(lower, name, str(cidr), host, enabled)


def parse_roles(
    data: Any, segments: Sequence[Segment], file: str | None = None
) -> tuple[RoleWiring, RoleWiring]:
    """The wiring of the roles tagged ``controller`` and ``compute`` from roles_data.yaml content.

    :raises InputError: not a list of roles, a role's networks, tags or profile malformed or naming a
        network ``segments`` lacks, or no role with one of the two tags.
    """
    if not isinstance(data, list):
        raise InputError(f"expected a list of roles, got {type(data).__name__}", file=file)
    tagged: dict[str, RoleWiring] = {}
    for i, entry in enumerate(data):
        path = str(i)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InputError("expected a mapping with a name", file=file, path=path)
        tags = entry.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InputError(f"role {entry['name']}: expected a list of tags", file=file, path=f"{path}.tags")
        for tag in (CONTROLLER_TAG, COMPUTE_TAG):
            if tag in tags and tag not in tagged:
                tagged[tag] = _wiring(entry, segments, file, path)
    for tag in (CONTROLLER_TAG, COMPUTE_TAG):
        if tag not in tagged:
            raise InputError(f"no role is tagged {tag} (the default lab's nodes take the roles tagged "
                             f"{CONTROLLER_TAG} and {COMPUTE_TAG})", file=file)  # fmt: skip
    return tagged[CONTROLLER_TAG], tagged[COMPUTE_TAG]


def _wiring(entry: Mapping[str, Any], segments: Sequence[Segment], file: str | None, path: str) -> RoleWiring:
    role = entry["name"]
    raw = entry.get("networks") or []
    names = list(raw) if isinstance(raw, Mapping) else raw  # THT's mapping form: {InternalApi: {subnet: ...}}
    if not isinstance(names, list):
        raise InputError(f"role {role}: expected a list of network names", file=file, path=f"{path}.networks")
    by_network = {s.network: s for s in segments}
    wired: list[Segment] = []
    for k, name in enumerate(names):
        where = f"{path}.networks.{name if isinstance(raw, Mapping) else k}"
        segment = by_network.get(name) if isinstance(name, str) else None
        if segment is None:
            known = ", ".join(by_network)
            raise InputError(f"role {role}: unknown network {name!r} (network data has: {known})", file=file,
                             path=where)  # fmt: skip
        if segment.name == CTLPLANE:
            continue  # every node joins ctlplane on NIC 1 anyway
        if segment in wired:
            raise InputError(f"role {role}: network {name} listed twice", file=file, path=where)
        wired.append(segment)
    if len(wired) >= MAX_NICS:
        raise InputError(f"role {role}: at most {MAX_NICS - 1} networks besides {CTLPLANE} (a lab node has "
                         f"at most {MAX_NICS} NICs)", file=file, path=f"{path}.networks")  # fmt: skip
    ordered = [s for s in wired if s.enabled] + [s for s in wired if not s.enabled]
    profile = entry.get("profile")
    if profile is not None and not (isinstance(profile, str) and PROFILE_NAME.match(profile)):
        raise InputError(f"role {role}: expected a profile matching {PROFILE_NAME.pattern}, got {profile!r}",
                         file=file, path=f"{path}.profile")  # fmt: skip
    return RoleWiring(role, (CTLPLANE, *(s.name for s in ordered)), profile or None)
