"""``tripleo overcloud deploy | status | delete``: the overcloud as one operation.

deploy:
 1. network checks offline (``netenv validate``): a plan that cannot work fails before anything changes;
 2. the networks into the IPAM, then the overcloud stack is created (or updated: an unchanged re-deploy does
    nothing): servers are scheduled on available nodes by profile and come up with their ctlplane address;
 3. every server gets its addresses on the role's networks (IPAM, owned by ``<stack>/<node>``), its NIC
    config and firewall rules, rendered as ``netenv render`` does; the network plan for ``validate network``;
 4. config download writes the Ansible project (:mod:`tripleo.config.download`) and runs it: each node
    applies its NIC config and firewall rules with the node agent and receives its hieradata.

delete removes the stack (nodes are powered off and return to ``available``), frees the addresses and VIPs
the deploy took and removes the config-download project.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripleo.config import Host, HostRecap, run_playbook, write_project
from tripleo.errors import InputError, OperationError
from tripleo.network import allocate_port, allocate_vip, list_ports, release_port, sync_networks
from tripleo.network.environment import NodeSpec, Plan, load_plan
from tripleo.network.model import CTLPLANE, IPAddress, Network
from tripleo.network.netenv import NodeResult, Report, resolved_config, validate, write_plan
from tripleo.resources.provisioned import ssh_key
from tripleo.resources.service import Options, StackService
from tripleo.resources.software import derived_config
from tripleo.storage import Database, tripleo_home
from tripleo.storage.stack_models import ResourceRow
from tripleo.workflows.nic_heat import HeatNicRenderer

__all__ = [
    "DEFAULT_TEMPLATES",
    "DeployRequest",
    "DeployResult",
    "LabWiring",
    "Server",
    "delete",
    "deploy",
    "host_summary",
    "lab_wiring",
    "release_addresses",
    "status",
    "wired_specs",
]

LOG = logging.getLogger(__name__)

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
_SERVER = "OS::Nova::Server"
_DEPLOYMENTS = ("OS::Heat::StructuredDeployment", "OS::Heat::SoftwareDeployment")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DeployRequest:
    stack: str = "overcloud"
    templates: Path = DEFAULT_TEMPLATES
    environments: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    roles_file: Path | None = None
    network_data: Path | None = None
    options: Options = field(default_factory=Options)
    config_download: bool = True  # False: stop after writing the project (``--stack-only`` runs nothing)


@dataclass(frozen=True)
class Server:
    """A deployed server of the stack: where it runs and which role group it belongs to."""

    path: str
    role: str
    index: int
    name: str
    physical_id: str
    node: str
    ctlplane: str


@dataclass
class DeployResult:
    stack: str
    status: str
    hosts: list[Host]
    vips: dict[str, str]
    project: Path
    recap: dict[str, HostRecap]
    seconds: dict[str, float]


def _home_paths(stack: str) -> tuple[Path, Path, Path]:
    home = tripleo_home()
    return home / "config-download" / stack, home / "network", home / "logs" / f"{stack}-deploy.log"


def _environments(req: DeployRequest) -> list[str]:
    registry = req.templates / "overcloud-resource-registry.yaml"
    return [str(registry), *req.environments] if registry.exists() else list(req.environments)


def _plan(req: DeployRequest, nodes: Sequence[NodeSpec] | None = None) -> Plan:
    return load_plan(req.environments, network_data=req.network_data, roles_data=req.roles_file, nodes=nodes)


def _fail_on(report: Report, when: str) -> None:
    if not report.ok:
        first = report.findings[0]
        raise OperationError(
            f"{when}: {len(report.findings)} network check(s) failed, first: {first.message}"
        )


class _StackAllocator:
    """The IPAM for one stack's nodes: ctlplane addresses are the servers' own; the rest are owned by
    ``<stack>/<node>`` (and VIPs named ``<stack>/<network>_virtual_ip``) so delete can find them.
    The networks are already in the IPAM (deploy syncs them before the stack runs)."""

    def __init__(self, db: Database, stack: str, ctlplane: Mapping[str, str]):
        self.db, self.stack, self.ctlplane = db, stack, ctlplane

    def allocate(self, network: Network, owner: str, name: str, fixed: str | None) -> IPAddress:
        if network.name == CTLPLANE and owner in self.ctlplane:
            return ipaddress.ip_address(self.ctlplane[owner])
        if owner == "vip":
            port = allocate_vip(self.db, network.name, name=f"{self.stack}/{name}", fixed_ip=fixed)
        else:
            port = allocate_port(
                self.db, network.name, owner=f"{self.stack}/{owner}", name=name, fixed_ip=fixed
            )
        return ipaddress.ip_address(port.ip)


def _servers(rows: Sequence[ResourceRow], db: Database, roles: set[str]) -> list[Server]:
    from tripleo.baremetal import Conductor

    conductor = Conductor(db)
    out = []
    for row in rows:
        if row.implementation != _SERVER or row.status != "COMPLETE" or row.action == "DELETE":
            continue
        parts = row.path.split("/")
        if len(parts) < 3 or parts[0] not in roles or not parts[1].isdigit():
            raise OperationError(
                f"server {row.path}: expected <Role>/<index>/..., with a role of roles_data "
                f"({', '.join(sorted(roles))})"
            )
        node_uuid = str((row.data or {}).get("node_uuid") or "")
        node = conductor.get(node_uuid) if node_uuid else None
        attrs = row.attributes or {}
        out.append(
            Server(
                path=row.path,
                role=parts[0],
                index=int(parts[1]),
                name=str(attrs.get("name") or row.name),
                physical_id=row.physical_id,
                node=node.label if node else row.physical_id,
                ctlplane=str(attrs.get("first_address") or ""),
            )
        )
    return sorted(out, key=lambda s: (s.role, s.index))


def _hieradata(rows: Sequence[ResourceRow]) -> dict[str, dict[str, Any]]:
    """Server physical id -> datafile name -> data, from the stack's hiera deployments."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.implementation not in _DEPLOYMENTS or row.status != "COMPLETE":
            continue
        derived = derived_config(row.data or {}, row.properties)
        server = str((row.data or {}).get("server") or "")
        config = derived.get("config")
        if derived.get("group") != "hiera" or not server or not isinstance(config, dict):
            continue
        for name, data in (config.get("datafiles") or {}).items():
            out.setdefault(server, {}).setdefault(str(name), {}).update(data or {})
    return out


@dataclass(frozen=True)
class LabWiring:
    """A lab node's NICs in order, the segment (network name_lower) each is cabled to, its namespace."""

    nics: tuple[str, ...]
    segments: Mapping[str, str]
    netns: str


def lab_wiring(nodes: Sequence[str], required: bool = False) -> dict[str, LabWiring]:
    """The wiring of those of ``nodes`` that are lab nodes (none when no lab is up, unless ``required``).

    :raises OperationError: ``required`` and no lab is up.
    """
    from tripleo.lab import Lab

    try:
        config = Lab().config()
    except OperationError:
        if required:
            raise
        return {}
    out = {}
    for node in config.nodes:
        if node.name in nodes:
            nics = tuple(node.nic_name(i) for i in range(len(node.networks)))
            out[node.name] = LabWiring(nics, dict(zip(nics, node.networks, strict=True)), node.netns)
    return out


def wired_specs(
    plan: Plan, nodes: Sequence[tuple[str, str, int]], wiring: Mapping[str, LabWiring]
) -> list[NodeSpec]:
    """NodeSpecs for (name, role, index) with the lab's NICs and cabling, segments named as the plan's
    networks (the lab names them by name_lower)."""
    names = {n.name_lower: n.name for n in plan.networks}
    specs = []
    for name, role, index in nodes:
        wired = wiring.get(name)
        nics, segments = (wired.nics, wired.segments) if wired else ((), {})
        specs.append(NodeSpec(name, role, index, nics, {k: names.get(v, v) for k, v in segments.items()}))
    return specs


def _network_hieradata(
    plan: Plan, server: Server, result: NodeResult, vips: Mapping[str, IPAddress]
) -> dict[str, Any]:
    """The node's addresses, the VIPs, and where each service binds: its address on the service's network
    (``tripleo::service_ips``, from services.yaml), so a service never listens on every address."""
    data: dict[str, Any] = {"tripleo::hostname": server.name, "tripleo::role": server.role}
    for network, address in sorted(result.addresses.items()):
        data[f"tripleo::network::{network}::ip"] = str(address.ip)
    for network, vip in sorted(vips.items()):
        data[f"tripleo::network::{network}::vip"] = str(vip)
    binds = {}
    for service, ports in sorted(plan.services.items()):
        networks = [p.network for p in ports if p.network in result.addresses]
        if networks:
            binds[service] = str(result.addresses[networks[0]].ip)
    data["tripleo::service_ips"] = binds
    return data


# services HAProxy fronts on a VIP: service -> (the VIP's network, port)
PROXIED = {"mysql": ("InternalApi", 3306)}
VIP_ROLE = "Controller"  # as the firewall rules (tripleo.network.netenv) and TripleO's pacemaker VIPs


def _with_vips(config: Any, addresses: Mapping[str, Any], vips: Mapping[str, IPAddress]) -> Any:
    """The NIC config with each VIP (/32 or /128) added to the device that holds the node's address on the
    VIP's network, so the VIPs answer on the first controller (no failover: one VIP holder)."""
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


def _backends(
    servers: Sequence[Server], hieradata: Mapping[str, Mapping[str, Any]], networks: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """HAProxy's listeners: each proxied service on its VIP, with every server whose role runs it."""
    out = []
    for name, (network, port) in PROXIED.items():
        members = []
        for server in servers:
            files = hieradata.get(server.physical_id, {}).values()
            services = {svc for data in files for svc in data.get("tripleo::services") or ()}
            address = networks[server.node]["tripleo::service_ips"].get(name)
            if name in services and address:
                members.append({"name": server.name.split(".")[0], "ip": address})
        if members:
            out.append({"name": name, "network": network, "port": port, "servers": members})
    return out


def _host_entries(plan: Plan, servers: Sequence[Server], results: Mapping[str, NodeResult]) -> list[str]:
    """/etc/hosts lines for every server on every network, as TripleO writes them: the ctlplane address
    answers to the server's own name, another network's to ``<short>.<network>.<domain>`` (``internalapi``:
    no underscore in a host name)."""
    lower = {n.name: n.name_lower for n in plan.networks}
    lines = []
    for server in servers:
        short, _, domain = server.name.partition(".")
        for network, address in sorted(results[server.node].addresses.items()):
            if network == CTLPLANE:
                lines.append(f"{address.ip} {server.name} {short}")
            else:
                name = f"{short}.{lower.get(network, network.lower()).replace('_', '')}"
                lines.append(f"{address.ip} {name}.{domain or 'localdomain'} {name}")
    return lines


def deploy(
    service: StackService, db: Database, req: DeployRequest, progress: Progress = lambda _: None
) -> DeployResult:
    """Deploy (or re-deploy) the overcloud; see the module docstring for the steps.

    :raises InputError: bad templates, environments or network files (nothing has changed).
    :raises OperationError: network checks, the stack, or config download failed.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    template = req.templates / "overcloud.yaml"
    if not template.exists():
        raise InputError(f"no overcloud.yaml in --templates {req.templates}")
    renderer = HeatNicRenderer(req.environments)
    base = _plan(req)
    _fail_on(validate(base, renderer), "before deploying")
    progress("network checks passed")
    envs, params = _environments(req), dict(req.parameters)
    from tripleo import engine

    # bad templates, environments or parameters fail here, before the IPAM or any stack changes
    engine.load_tree(str(template), envs, params, require_values=True)
    sync_networks(db, base.enabled())
    try:
        row = service.get(req.stack)
        # a create that failed or was killed resumes as a create; a created stack is updated
        exists = not (row.action == "CREATE" and row.status != "COMPLETE")
    except InputError:
        exists = False
    progress(f"{'updating' if exists else 'creating'} stack {req.stack}")
    if exists:
        outcome = service.update(req.stack, str(template), envs, params, req.options)
    else:
        outcome = service.create(req.stack, str(template), envs, params, req.options)
    progress(f"stack {req.stack} {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else ""))
    seconds["stack"] = time.perf_counter() - started

    mark = time.perf_counter()
    rows = service.resources(req.stack, nested_depth=64)
    servers = _servers(rows, db, {r.name for r in base.roles})
    wiring = lab_wiring([s.node for s in servers])
    plan = _plan(req, wired_specs(base, [(s.node, s.role, s.index) for s in servers], wiring))
    departed = release_addresses(db, req.stack, keep=[s.node for s in servers], vips=False)
    if departed:
        progress(f"freed {departed} addresses of nodes that left the stack")
    allocator = _StackAllocator(db, req.stack, {s.node: s.ctlplane for s in servers})
    report = validate(plan, renderer, allocator)
    _fail_on(report, "rendering the nodes' networks")
    project_dir, network_dir, log = _home_paths(req.stack)
    write_plan(report, network_dir, lambda node: wiring[node].netns if node in wiring else None)
    hieradata = _hieradata(rows)
    results = {r.spec.name: r for r in report.nodes}
    networks = {s.node: _network_hieradata(plan, s, results[s.node], report.vips) for s in servers}
    vips = {k: str(v) for k, v in report.vips.items()}
    all_nodes = {
        "tripleo::cloud_name": str(service.get(req.stack).outputs.get("CloudName") or req.stack),
        "tripleo::hosts_entries": _host_entries(plan, servers, results),
        "tripleo::vips": vips,
        "tripleo::haproxy::backends": _backends(servers, hieradata, networks),
    }
    holders = [s for s in servers if s.role == VIP_ROLE]
    vip_node = min(holders, key=lambda s: s.index).node if holders else None
    hosts = []
    for server in servers:
        result = results[server.node]
        config = resolved_config(result)
        files = dict(hieradata.get(server.physical_id, {}))
        files["tripleo_network"] = networks[server.node]
        files["all_nodes"] = all_nodes
        hosts.append(
            Host(
                name=server.name,
                role=server.role,
                node=server.node,
                ctlplane=server.ctlplane,
                addresses={k: str(v) for k, v in result.addresses.items()},
                hieradata=files,
                network_config=_with_vips(config, result.addresses, report.vips)
                if server.node == vip_node
                else config,
                firewall=result.firewall or "",
            )
        )
    modules = req.templates / "puppet" / "modules"
    project = write_project(
        project_dir, req.stack, hosts, ssh_key=ssh_key()[0], vips=vips,
        puppet_modules=modules if modules.is_dir() else None,
    )  # fmt: skip
    progress(f"config download: {project.directory}")
    seconds["render"] = time.perf_counter() - mark

    done = DeployResult(req.stack, "DEPLOY_COMPLETE", hosts, vips, project.directory, {}, seconds)
    if req.config_download and hosts:
        mark = time.perf_counter()
        try:
            done.recap = run_playbook(project, log, lambda task: progress(f"ansible: {task}"))
        except OperationError as exc:
            done.status = "DEPLOY_FAILED"
            _save(done, ran=True, reason=exc.message)
            raise
        seconds["config"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    _save(done, ran=req.config_download)
    return done


def _summary_path(stack: str) -> Path:
    return tripleo_home() / "config-download" / f"{stack}.json"


def host_summary(host: Host) -> dict[str, Any]:
    """What status shows of a host (its hieradata, which holds passwords, stays out)."""
    return {
        "name": host.name,
        "role": host.role,
        "node": host.node,
        "ctlplane": host.ctlplane,
        "addresses": dict(host.addresses),
    }


def _save(result: DeployResult, ran: bool, reason: str = "") -> None:
    hosts = [host_summary(h) for h in result.hosts]
    data = {
        "stack": result.stack,
        "status": result.status if ran else "CONFIG_DOWNLOAD_WRITTEN",
        "reason": reason,
        "hosts": hosts,
        "vips": result.vips,
        "project": str(result.project),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = _summary_path(result.stack)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(data, indent=2) + "\n")
    scratch.replace(path)


def status(service: StackService, stack: str) -> dict[str, Any]:
    """The stack's state and, once deployed, each host with its role, node and addresses, and the VIPs.

    :raises InputError: no such stack.
    """
    row = service.get(stack)
    out: dict[str, Any] = {
        "stack": stack,
        "stack_status": f"{row.action}_{row.status}",
        "reason": row.reason,
        "deployment_status": "NOT_DEPLOYED",
        "hosts": [],
        "vips": {},
    }
    path = _summary_path(stack)
    if path.exists():
        saved = json.loads(path.read_text())
        out.update(
            deployment_status=saved.get("status"),
            deployment_reason=saved.get("reason", ""),
            hosts=saved.get("hosts", []),
            vips=saved.get("vips", {}),
            project=saved.get("project"),
            finished_at=saved.get("finished_at"),
        )
    return out


def release_addresses(db: Database, stack: str, keep: Sequence[str] = (), vips: bool = True) -> int:
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


def delete(service: StackService, db: Database, stack: str, options: Options) -> tuple[str, int]:
    """Delete the overcloud: the stack (nodes go back to available), its addresses and VIPs, its files.

    :returns: the stack's final status and how many addresses were freed.
    :raises InputError: no such stack.
    """
    outcome = service.delete(stack, options)
    freed = release_addresses(db, stack)
    project_dir, network_dir, _ = _home_paths(stack)
    shutil.rmtree(project_dir, ignore_errors=True)
    _summary_path(stack).unlink(missing_ok=True)
    plan = network_dir / "network-plan.json"
    if plan.exists():
        shutil.rmtree(network_dir, ignore_errors=True)
    return outcome.status, freed
