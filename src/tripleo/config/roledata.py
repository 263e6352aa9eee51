"""role_data: what each composable service says about itself, checked and turned into node configuration.

A service template's ``role_data`` output (tripleo-heat-templates' contract) has::

    service_name        the service's name (hieradata and status use it)
    config_settings     hieradata; bind addresses as "%{lookup('<network>')}" (the node's address there)
    step_config         the Puppet it includes (every step; a profile acts in its own steps)
    firewall_rules      [{network, tcp: [ports], udp: [ports], protocols: [names]}]: what it listens on, on
                        the node's address (``vip_networks: true`` instead of a network: on every network
                        that has a VIP; ``protocols``: whole IP protocols, e.g. ``vrrp``)
    firewall_bridged    [device pattern]: bridges whose frames the node forwards between their own ports
                        (br_netfilter passes bridged frames through the forward hook, which drops the rest)
    haproxy             [{name, port, networks, backend_network, backend_port, mode, backup, check_port,
                        check_path}]:
                        frontends on the VIPs of ``networks``, with every node running the service as a
                        backend (``backup``: all but the first are backups, one server at a time, and a
                        client stays on the server it reached; ``check_port``: the health check is HTTP
                        there, e.g. Galera's clustercheck; ``check_path``: it is a GET of that path, so a
                        server that accepts connections but answers nothing is taken out)
    keystone_resources  {name: {service, region, endpoints, users, projects}}: the catalog
    bootstrap_only      true: runs on the role's first node only (e.g. a single database primary)
    load_balancer       true: this service binds every other service's haproxy frontends
    boot_services       [name | {name, status}]: the init scripts a node starts by itself at power-on, in
                        order (``status``: the command that says it runs; ``/etc/init.d/<name> status``
                        by default); a deploy runs a service's steps again when one of them is dead
    status_probes       [{name, command}]: what ``overcloud status`` asks each node running the service (a
                        shell command printing ``key=value`` lines: members, their state, alarms)
    cluster_recovery    {facts, stop, bootstrap, join}: the shell commands with which ``overcloud database
                        recover`` brings a clustered store back after a full outage
                        (:mod:`tripleo.workflows.recovery`)
    vip_manager         true: this service moves the VIPs between the nodes of its role (keepalived): the
                        VIPs leave the NIC config, whose applier then neither adds nor removes them
    admin               {auth_url, password, region}: the cloud's admin credentials (overcloudrc)
    scale_down          [{compute_service: binary} | {network_agents: true}]: what a host that leaves the
                        stack left in the overcloud's APIs (:mod:`tripleo.config.scaledown` removes it)
    rings               {builder, hieradata, network, part_power, replicas, min_part_hours, devices, rings}:
                        rings the undercloud builds from the nodes running the service, to every node in
                        all_nodes hieradata (:mod:`tripleo.config.rings`)
    host_needs          [{parameter, network_types: [..]} | {parameter, interfaces: [..]}]: what the
                        value of ``parameter`` asks of the role's hosts: network types their links must
                        carry (the environment's NetworkTypesCarried, when set: the lab's), or interfaces
                        the role's NIC layout must have (checked by :mod:`tripleo.workflows.hostneeds`)
    packages            [Debian package name]: what the service needs installed on its nodes; a deploy's
                        ``packages`` unit installs the missing ones before the network and the steps
                        (:mod:`tripleo.config.download`)
    puppet_config, kolla_config, docker_config
                        a containerized service (:mod:`tripleo.config.containerdata`): its step_config
                        runs in its config container, not in the node's Puppet

Networks are named as network_data's ``name_lower`` (or ``name``). Everything is checked once, with the
service template and the YAML path of a wrong value, before anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tripleo.config.containerdata import ContainerService, parse_container
from tripleo.config.rings import RingSpec, parse_rings
from tripleo.debian import PACKAGE_NAME
from tripleo.errors import InputError
from tripleo.fields import Reader
from tripleo.shipped import IP_PROTOCOL

__all__ = [
    "Frontend",
    "HostNeed",
    "RoleData",
    "Service",
    "check_services",
    "parse_role_data",
    "parse_service",
]

_AT = "outputs.role_data.value"


VIP_NETWORKS = "<vip networks>"  # a firewall rule's network: every network that has a VIP


@dataclass(frozen=True)
class Frontend:
    """One HAProxy frontend of a service: ``port`` on the VIP of each of ``networks``."""

    name: str
    port: int
    networks: tuple[str, ...]
    backend_network: str
    backend_port: int
    mode: str = "tcp"
    backup: bool = False  # every server after the first is a backup: one server at a time
    check_port: int | None = None  # HAProxy's health check is HTTP on this port of each server
    check_path: str | None = None  # HAProxy's health check is an HTTP GET of this path (2xx/3xx: up)


@dataclass(frozen=True)
class HostNeed:
    """What one parameter's value asks of a role's hosts; ``file`` and ``path`` say where it was set."""

    parameter: str
    network_types: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    file: str = ""
    path: str = ""


@dataclass(frozen=True)
class Service:
    """One service of one role, as its role_data says, with where that came from."""

    name: str
    role: str
    file: str = ""
    config_settings: Mapping[str, Any] = field(default_factory=dict)
    step_config: str = ""
    firewall: tuple[tuple[str, str, str, int], ...] = ()  # (network, protocol, port, rule index)
    frontends: tuple[Frontend, ...] = ()
    keystone_resources: Mapping[str, Any] = field(default_factory=dict)
    bootstrap_only: bool = False
    load_balancer: bool = False
    vip_manager: bool = False
    boot: tuple[tuple[str, str], ...] = ()  # (init script, status command or ""): started at power-on
    probes: tuple[tuple[str, str], ...] = ()  # (name, command printing key=value lines): status's view
    recovery: Mapping[str, str] = field(default_factory=dict)  # facts, stop, bootstrap, join: full outage
    admin: Mapping[str, Any] = field(default_factory=dict)
    bridged: tuple[str, ...] = ()
    needs: tuple[HostNeed, ...] = ()
    scale_down: tuple[Mapping[str, Any], ...] = ()
    rings: RingSpec | None = None  # rings the undercloud builds (tripleo.config.rings)
    packages: tuple[str, ...] = ()  # Debian packages its nodes need installed
    container: ContainerService | None = None  # None: the service runs on the node itself


@dataclass(frozen=True)
class RoleData:
    """A role's aggregated role_data."""

    role: str
    services: tuple[Service, ...]
    config_settings: Mapping[str, Any]
    step_config: str

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)


def _ports(r: Reader, value: Any, path: str) -> list[str]:
    out = []
    for i, port in enumerate(r.seq(value, path) if value is not None else ()):
        text = str(port)
        low, _, high = text.partition("-")
        if not (low.isdigit() and (not high or high.isdigit())) or not 0 < int(low) < 65536:
            raise r.fail(f"{path}.{i}", f"{port!r} is not a port or a port range")
        out.append(text)
    return out


def _firewall(r: Reader, value: Any) -> tuple[tuple[str, str, str, int], ...]:
    at = "firewall_rules"
    if value in (None, []):
        return ()
    out = []
    for i, raw in enumerate(r.seq(value, at)):
        needs = f"a firewall rule needs a network (or vip_networks: true), got {raw!r}"
        rule = r.mapping(raw, f"{at}.{i}", message=needs)
        if rule.get("vip_networks") is True:
            network = VIP_NETWORKS
        else:
            network = r.text(rule.get("network"), f"{at}.{i}", empty=False, message=needs)
        for proto in ("tcp", "udp"):
            for port in _ports(r, rule.get(proto), f"{at}.{i}.{proto}"):
                out.append((network, proto, port, i))
        for name in r.texts(rule.get("protocols") or [], f"{at}.{i}.protocols"):
            if not name.isalnum():
                raise r.fail(f"{at}.{i}.protocols", f"{name!r} is not an IP protocol name (e.g. vrrp)")
            out.append((network, IP_PROTOCOL, name, i))
    return tuple(out)


def _boot(r: Reader, value: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for i, raw in enumerate(r.seq(value, "boot_services") if value is not None else ()):
        at = f"boot_services.{i}"
        item = {"name": raw} if isinstance(raw, str) else r.mapping(raw, at, message="an init script name")
        name = r.text(item.get("name"), at, empty=False, message="a boot service needs a name")
        if not all(c.isalnum() or c in "-_." for c in name):
            raise r.fail(at, f"{name!r} is not an init script name")
        out.append((name, r.text(item.get("status") or "", f"{at}.status")))
    return tuple(out)


def _probes(r: Reader, value: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for i, raw in enumerate(r.seq(value, "status_probes") if value is not None else ()):
        needs = "a status probe needs a name and a command"
        item = r.mapping(raw, f"status_probes.{i}", message=needs)
        name = r.text(item.get("name"), f"status_probes.{i}.name", empty=False, message=needs)
        out.append(
            (name, r.text(item.get("command"), f"status_probes.{i}.command", empty=False, message=needs))
        )
    return tuple(out)


RECOVERY_COMMANDS = ("facts", "stop", "bootstrap", "join")


def _recovery(r: Reader, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    item = r.mapping(value, "cluster_recovery", message="cluster_recovery needs facts, stop, bootstrap, join")
    return {
        k: r.text(item.get(k), f"cluster_recovery.{k}", empty=False, message=f"cluster_recovery needs {k}")
        for k in RECOVERY_COMMANDS
    }


def _port(r: Reader, value: Any, path: str) -> int:
    number = int(value) if isinstance(value, str) and value.isdecimal() else value
    return r.integer(number, path, 1, 65535, message=f"{value!r} is not a port")


def _frontend(r: Reader, raw: Any, where: str) -> Frontend:
    item = r.mapping(raw, where, message="a frontend needs a name")
    name = r.text(item.get("name"), where, message="a frontend needs a name")
    unlisted = f"frontend {name}: networks must list networks"
    nets = r.texts(item.get("networks"), where, empty=False, message=unlisted)
    if not nets:
        raise r.fail(where, unlisted)
    missing = f"frontend {name}: backend_network is missing"
    backend = r.text(item.get("backend_network"), where, empty=False, message=missing)
    port = _port(r, item.get("port"), f"{where}.port")
    return Frontend(
        name=name,
        port=port,
        networks=nets,
        backend_network=backend,
        backend_port=_port(r, item.get("backend_port", port), f"{where}.backend_port"),
        mode=str(item.get("mode") or "tcp"),
        backup=item.get("backup") is True,
        check_port=_port(r, item["check_port"], f"{where}.check_port") if "check_port" in item else None,
        check_path=_check_path(r, item.get("check_path"), f"{where}.check_path"),
    )


def _check_path(r: Reader, value: Any, path: str) -> str | None:
    if value is None:
        return None
    text = r.text(value, path, empty=False)
    if not text.startswith("/") or any(c.isspace() for c in text):
        raise r.fail(path, f"{text!r} is not a URL path (e.g. /healthcheck)")
    return text


def _frontends(r: Reader, value: Any) -> tuple[Frontend, ...]:
    if value in (None, []):
        return ()
    return tuple(_frontend(r, item, f"haproxy.{i}") for i, item in enumerate(r.seq(value, "haproxy")))


def _needs(r: Reader, value: Any) -> tuple[HostNeed, ...]:
    if value is None:
        return ()
    out = []
    for i, raw in enumerate(r.seq(value, "host_needs")):
        where = f"host_needs.{i}"
        item = r.mapping(raw, where, message="a host need names its parameter")
        parameter = r.text(item.get("parameter"), where, message="a host need names its parameter")
        lists = {}
        for key in ("network_types", "interfaces"):
            got = item.get(key) or []
            if isinstance(got, str):
                got = [v for v in got.split(",") if v]
            lists[key] = r.texts(got, f"{where}.{key}")
        out.append(HostNeed(parameter, lists["network_types"], lists["interfaces"]))
    return tuple(out)


def _packages(r: Reader, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    wrong = f"packages must be a list of Debian package names, got {value!r}"
    names = r.texts(value, "packages", message=wrong)
    for i, name in enumerate(names):
        if not PACKAGE_NAME.fullmatch(name):
            raise r.fail(f"packages.{i}", f"{name!r} is not a Debian package name")
    return names


def _entries(r: Reader, value: Any, key: str) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ()
    wrong = f"{key} must be a list of mappings, got {value!r}"
    return tuple(r.mapping(entry, key, message=wrong) for entry in r.seq(value, key, message=wrong))


def _mapping(r: Reader, value: Any, key: str) -> Mapping[str, Any]:
    return {} if value is None else r.mapping(value, key)


def parse_service(data: Any, role: str, file: str = "") -> Service:
    """One service's role_data.

    :raises InputError: a missing service_name or a value of the wrong shape (file and YAML path).
    """
    r = Reader(file, at=_AT)
    data = r.mapping(data, "")
    name = r.text(
        data.get("service_name"), "service_name", empty=False, message="role_data has no service_name"
    )
    step = r.text(data.get("step_config") or "", "step_config", message="step_config must be a string")
    bridged = data.get("firewall_bridged")
    return Service(
        name=name,
        role=role,
        file=file,
        config_settings=_mapping(r, data.get("config_settings"), "config_settings"),
        step_config=step,
        firewall=_firewall(r, data.get("firewall_rules")),
        frontends=_frontends(r, data.get("haproxy")),
        keystone_resources=_mapping(r, data.get("keystone_resources"), "keystone_resources"),
        bootstrap_only=data.get("bootstrap_only") is True,
        load_balancer=data.get("load_balancer") is True,
        vip_manager=data.get("vip_manager") is True,
        boot=_boot(r, data.get("boot_services")),
        probes=_probes(r, data.get("status_probes")),
        recovery=_recovery(r, data.get("cluster_recovery")),
        admin=_mapping(r, data.get("admin"), "admin"),
        bridged=() if bridged is None else r.texts(bridged, "firewall_bridged", empty=False),
        needs=_needs(r, data.get("host_needs")),
        scale_down=_entries(r, data.get("scale_down"), "scale_down"),
        rings=parse_rings(r, data.get("rings")),
        packages=_packages(r, data.get("packages")),
        container=parse_container(data, name, file),
    )


def parse_role_data(output: Any) -> dict[str, RoleData]:
    """The stack's ``RoleData`` output (role -> aggregated role_data) as RoleData.

    :raises InputError: the output is not of the aggregated shape.
    """
    r = Reader(at="outputs.RoleData")
    output = r.mapping(output, "", message="the stack has no RoleData output (role -> role_data)")
    out = {}
    for role, data in output.items():
        if data is None:
            continue
        data = r.mapping(data, str(role), message=f"role {role}: role_data must be a mapping")
        services = tuple(parse_service(s, str(role)) for s in data.get("services") or [])
        settings: dict[str, Any] = {}
        for service in services:
            settings.update(service.config_settings)
        steps = "\n".join(s.step_config for s in services if s.step_config)
        out[str(role)] = RoleData(str(role), services, settings, steps)
    return out


def _network_of(name: str, networks: Mapping[str, str]) -> str | None:
    """network_data's name of ``name`` (given as name or name_lower)."""
    return networks.get(name) or next((v for v in networks.values() if v == name), None)


def check_services(services: Sequence[Service], networks: Mapping[str, str]) -> None:
    """Every network a service names exists; no two services of a role claim one port on one network, and
    no two frontends one port on one VIP.

    :param networks: name_lower -> name of every enabled network (name -> name works too).
    :raises InputError: naming the service template and the YAML path of the value at fault.
    """
    claims: dict[tuple[str, str, str, str], Service] = {}
    frontends: dict[tuple[str, int], tuple[Service, str]] = {}
    known = ", ".join(sorted(set(networks.values())))
    for service in services:
        for net, proto, port, i in service.firewall:
            if net == VIP_NETWORKS:
                continue  # whichever networks have a VIP: they exist
            full = _network_of(net, networks)
            if full is None:
                raise InputError(
                    f"service {service.name} (role {service.role}) listens on network {net!r}, which "
                    f"network_data does not have (networks: {known})",
                    file=service.file, path=f"{_AT}.firewall_rules.{i}.network",
                )  # fmt: skip
            key = (service.role, full, proto, port)
            other = claims.get(key)
            if other is not None and other.name != service.name:
                raise InputError(
                    f"services {other.name} and {service.name} of role {service.role} both claim "
                    f"{proto} port {port} on {full}",
                    file=service.file, path=f"{_AT}.firewall_rules.{i}.{proto}",
                )  # fmt: skip
            claims[key] = service
        for i, front in enumerate(service.frontends):
            for net in (*front.networks, front.backend_network):
                if _network_of(net, networks) is None:
                    raise InputError(
                        f"service {service.name} (role {service.role}): frontend {front.name} names "
                        f"network {net!r}, which network_data does not have (networks: {known})",
                        file=service.file, path=f"{_AT}.haproxy.{i}",
                    )  # fmt: skip
            for net in front.networks:
                key2 = (str(_network_of(net, networks)), front.port)
                seen = frontends.get(key2)
                if seen is not None and (seen[0].name, seen[1]) != (service.name, front.name):
                    raise InputError(
                        f"frontends {seen[1]} ({seen[0].name}) and {front.name} ({service.name}) both "
                        f"claim port {front.port} on the {key2[0]} VIP",
                        file=service.file, path=f"{_AT}.haproxy.{i}.port",
                    )  # fmt: skip
                frontends[key2] = (service, front.name)
