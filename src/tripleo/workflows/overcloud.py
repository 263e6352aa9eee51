"""``tripleo overcloud deploy | status | delete``: the overcloud as one operation.

deploy:
 1. the plan: the templates rendered from roles_data and network_data, passwords generated once, every
    service's role_data read and checked (:mod:`tripleo.workflows.services`), first in a scratch directory,
    so bad input changes nothing; then the network checks offline (``netenv validate``);
 2. the networks and VIPs into the IPAM (the VIPs reach the stack as ``NetVipMap``, so endpoints are known),
    then the overcloud stack is created (or updated: an unchanged re-deploy does nothing): servers are
    scheduled on available nodes by profile and come up with their ctlplane address;
 3. every server gets its addresses on the role's networks (IPAM, owned by ``<stack>/<node>``), its NIC
    config and firewall rules (ports from the services' role_data); the network plan for ``validate network``;
 4. config download writes the Ansible project (:mod:`tripleo.config.download`): hieradata and the Puppet
    of each node's services from the stack's ``RoleData``, and runs it;
 5. the Keystone catalog from the services' ``keystone_resources`` (:mod:`tripleo.config.catalog`), and
    ``$TRIPLEO_HOME/overcloudrc``.

delete removes the stack (nodes are powered off and return to ``available``), frees the addresses and VIPs
the deploy took and removes the config-download project.
"""

from __future__ import annotations

import hashlib
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
from tripleo.config.catalog import Admin, ensure_catalog
from tripleo.config.digests import HostPlan
from tripleo.config.download import late_tags, write_run_plan
from tripleo.config.hieradata import NodeView, all_nodes, host_manifest, node_hieradata, placement
from tripleo.config.roledata import RoleData, parse_role_data
from tripleo.config.scaledown import forget_hosts
from tripleo.errors import InputError, OperationError, TripleoError
from tripleo.network import allocate_port, allocate_vip, list_ports, release_port, sync_networks
from tripleo.network.checks import needs_vip
from tripleo.network.environment import Plan
from tripleo.network.model import CTLPLANE, IPAddress, Network
from tripleo.network.netenv import NodeResult, Report, resolved_config, validate, write_plan
from tripleo.resources.provisioned import ssh_key
from tripleo.resources.service import Options, StackService
from tripleo.storage import Database, tripleo_home, write_private_text
from tripleo.storage.stack_models import ResourceRow
from tripleo.workflows.capacity import Placed, check_capacity, needs
from tripleo.workflows.configplan import config_plan, describe
from tripleo.workflows.hostneeds import check_interfaces
from tripleo.workflows.nic_heat import HeatNicRenderer
from tripleo.workflows.record import COMPLETE, FAILED, WRITTEN, DeployRecord, deploy_lock, forget
from tripleo.workflows.record import read as read_record
from tripleo.workflows.services import Prepared, network_plan, prepare, scratch_prepare
from tripleo.workflows.wiring import lab_wiring, wired_specs

__all__ = [
    "DEFAULT_TEMPLATES",
    "DeployRequest",
    "DeployResult",
    "Server",
    "delete",
    "departed_hosts",
    "deploy",
    "host_summary",
    "prepare_request",
    "release_addresses",
    "status",
]

LOG = logging.getLogger(__name__)

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
_SERVER = "OS::Nova::Server"
_VIP_PARAMETER = "NetVipMap"  # the rendered overcloud's parameter: the VIP of each network (name_lower)

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
    force: bool = False  # run every unit on the hosts of the plan, whatever their digests say
    limit: tuple[str, ...] = ()  # the hosts (names or nodes) config download runs on; the others are left


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
    endpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    overcloudrc: Path | None = None
    notes: list[str] = field(default_factory=list)
    plan: dict[str, HostPlan] = field(default_factory=dict)  # the config plan (per host: units run/skipped)


def _home_paths(stack: str) -> tuple[Path, Path, Path]:
    home = tripleo_home()
    return home / "config-download" / stack, home / "network" / stack, home / "logs" / f"{stack}-deploy.log"


def prepare_request(req: DeployRequest, scratch: bool = False) -> Prepared:
    """The request's rendered, checked plan (``scratch``: in a throw-away directory, changing nothing).

    :raises InputError: bad roles, networks, templates, environments or services.
    """
    if not (req.templates / "overcloud.j2.yaml").exists() and not (req.templates / "overcloud.yaml").exists():
        raise InputError(f"no overcloud.j2.yaml in --templates {req.templates}")
    kwargs: dict[str, Any] = {"roles_file": req.roles_file, "networks_file": req.network_data}
    if scratch:
        return scratch_prepare(req.templates, req.environments, req.parameters, **kwargs)
    return prepare(req.templates, req.stack, req.environments, req.parameters, **kwargs)


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


def vips_of(report: Report) -> dict[str, str]:
    return {k: str(v) for k, v in report.vips.items()}


_MODULE_DIRS = "PuppetModuleDirs"  # environments ship their services' Puppet modules (relative to the file)


def _module_dirs(plan: Plan) -> list[Path]:
    """The ``PuppetModuleDirs`` of the environments: directories of Puppet modules to ship with the rest.

    :raises InputError: not a list, or a directory that does not exist.
    """
    value = plan.env.parameters.get(_MODULE_DIRS)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(
            f"{_MODULE_DIRS} must be a list of directories", path=f"parameter_defaults.{_MODULE_DIRS}"
        )
    base = plan.env.origin.get(_MODULE_DIRS, Path.cwd())
    out = []
    for i, item in enumerate(value):
        path = (base / str(item)).resolve()
        if not path.is_dir():
            raise InputError(f"{path}: no such directory", path=f"parameter_defaults.{_MODULE_DIRS}.{i}")
        out.append(path)
    return out


def _vips_first(db: Database, stack: str, plan: Plan) -> dict[str, str]:
    """The VIPs, allocated before the stack (idempotent): name_lower -> address."""
    allocator = _StackAllocator(db, stack, {})
    out = {}
    for net in plan.enabled():
        if needs_vip(plan, net):
            fixed = (plan.vips.get(net.name) or (None,))[0]
            out[net.name_lower] = str(allocator.allocate(net, "vip", f"{net.name_lower}_virtual_ip", fixed))
    return out


def _preflight(service: StackService, db: Database, stack: str, plan: Plan) -> None:
    """The capacity pre-flight (:mod:`tripleo.workflows.capacity`), from the stack's servers and the nodes."""
    from tripleo.baremetal import Conductor

    try:
        rows = service.resources(stack, nested_depth=64)
    except InputError:
        rows = []  # no stack yet
    placed = []
    for row in rows:
        parts = row.path.split("/")
        node_uuid = str((row.data or {}).get("node_uuid") or "")
        if row.implementation == _SERVER and row.action != "DELETE" and node_uuid and len(parts) > 1 \
                and parts[1].isdigit():  # fmt: skip
            placed.append(Placed(parts[0], int(parts[1]), node_uuid))
    check_capacity(needs(plan), placed, Conductor(db).nodes())


def _run_stack(service: StackService, req: DeployRequest, prepared: Prepared, params: dict[str, Any],
               progress: Progress) -> None:  # fmt: skip
    try:
        row = service.get(req.stack)
        # a create that failed or was killed resumes as a create; a created stack is updated
        exists = not (row.action == "CREATE" and row.status != "COMPLETE")
    except InputError:
        exists = False
    progress(f"{'updating' if exists else 'creating'} stack {req.stack}")
    template, envs = str(prepared.plan.template), list(prepared.environments)
    if exists:
        outcome = service.update(req.stack, template, envs, params, req.options)
    else:
        outcome = service.create(req.stack, template, envs, params, req.options)
    progress(f"stack {req.stack} {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else ""))


def _node_views(plan: Plan, servers: Sequence[Server], results: Mapping[str, NodeResult]) -> list[NodeView]:
    lower = {n.name: n.name_lower for n in plan.networks}
    return [
        NodeView(s.name, s.role, s.index,
                 {lower.get(k, k): str(v.ip) for k, v in results[s.node].addresses.items()},
                 tuple(results[s.node].spec.nics))
        for s in servers
    ]  # fmt: skip


def _hosts(plan: Plan, report: Report, servers: Sequence[Server], roles: Mapping[str, RoleData],
           views: Sequence[NodeView], vips: Mapping[str, str], cloud_name: str,
           templates: Path) -> list[Host]:  # fmt: skip
    """Each server as config download sees it: addresses, NIC config (the VIPs on the primary role's first
    node), firewall, hieradata, the Puppet of the services that run on it and the containers of those
    that run in containers (images in the undercloud registry, checked before any node changes)."""
    from tripleo.workflows.containers import host_container_steps, image_resolver

    results = {r.spec.name: r for r in report.nodes}
    primary = plan.primary_role()
    holders = [s for s in servers if primary is not None and s.role == primary.name]
    vip_node = min(holders, key=lambda s: s.index).node if holders else None
    placed = placement(roles, views)
    containerized = any(s.container is not None for services in placed.values() for s in services)
    resolve, registry = image_resolver(templates) if containerized else (None, "")
    shared = all_nodes(roles, views, placed, vips, {
        "tripleo::cloud_name": cloud_name,
        "tripleo::hosts_entries": _host_entries(plan, servers, results),
    })  # fmt: skip
    hosts = []
    for server, view in zip(servers, views, strict=True):
        result, services = results[server.node], placed[view.name]
        config = resolved_config(result)
        files: dict[str, Any] = node_hieradata(view, roles, services, vips)
        files["all_nodes"] = shared
        hosts.append(
            Host(
                name=server.name, role=server.role, node=server.node, ctlplane=server.ctlplane,
                addresses={k: str(v) for k, v in result.addresses.items()}, hieradata=files,
                network_config=_with_vips(config, result.addresses, report.vips)
                if server.node == vip_node else config,
                firewall=result.firewall or "",
                manifest=host_manifest(services),
                services=tuple(s.name for s in services),
                containers=host_container_steps(services, server.name, resolve, registry) if resolve else {},
            )
        )  # fmt: skip
    return hosts


def _render(service: StackService, db: Database, req: DeployRequest, prepared: Prepared, base: Plan,
            progress: Progress, outputs: Mapping[str, Any] | None = None,
            network_dir: Path | None = None) -> tuple[list[Host], Report, dict[str, RoleData]]:  # fmt: skip
    """Phase 3 and the project: the nodes' networks, hieradata and Puppet from the completed stack (from
    ``outputs`` when given: a dry run's, with the network plan written into ``network_dir``)."""
    rows = service.resources(req.stack, nested_depth=64)
    servers = _servers(rows, db, {r.name for r in base.roles})
    wiring = lab_wiring([s.node for s in servers])
    plan = network_plan(prepared, wired_specs(base, [(s.node, s.role, s.index) for s in servers], wiring))
    departed = release_addresses(db, req.stack, keep=[s.node for s in servers], vips=False)
    if departed:
        progress(f"freed {departed} addresses of nodes that left the stack")
    allocator = _StackAllocator(db, req.stack, {s.node: s.ctlplane for s in servers})
    report = validate(plan, HeatNicRenderer(req.environments), allocator)
    _fail_on(report, "rendering the nodes' networks")
    network_dir = network_dir or _home_paths(req.stack)[1]
    write_plan(report, network_dir, lambda node: wiring[node].netns if node in wiring else None)
    if outputs is None:
        outputs = service.get(req.stack).outputs or {}
    roles = parse_role_data(outputs.get("RoleData"))
    views = _node_views(plan, servers, {r.spec.name: r for r in report.nodes})
    vips = {n.name_lower: str(report.vips[n.name]) for n in plan.networks if n.name in report.vips}
    cloud_name = str(outputs.get("CloudName") or req.stack)
    return _hosts(plan, report, servers, roles, views, vips, cloud_name, req.templates), report, roles


def _admin(roles: Mapping[str, RoleData]) -> Admin | None:
    for role in roles.values():
        for svc in role.services:
            if svc.admin.get("auth_url") and svc.admin.get("password"):
                return Admin(str(svc.admin["auth_url"]), str(svc.admin["password"]),
                             str(svc.admin.get("region") or "regionOne"))  # fmt: skip
    return None


def _catalog(roles: Mapping[str, RoleData], hosts: Sequence[Host], progress: Progress) -> dict[str, Any]:
    """The catalog of every deployed service, from the deploying host; endpoints as the catalog has them."""
    deployed = {name for h in hosts for name in h.services}
    resources: dict[str, Any] = {}
    for role in roles.values():
        for svc in role.services:
            if svc.name in deployed:
                resources.update(svc.keystone_resources)
    admin = _admin(roles)
    if admin is None or not resources:
        return {}
    report = ensure_catalog(admin, resources, progress=progress)
    progress(
        f"catalog: {len(report.created)} created, {len(report.updated)} updated in {report.seconds:.1f} s"
    )
    return {name: dict(spec.get("endpoints") or {}) for name, spec in sorted(resources.items())}


def _rc_path(stack: str) -> Path:
    return tripleo_home() / ("overcloudrc" if stack == "overcloud" else f"{stack}rc")


def write_overcloudrc(admin: Admin, stack: str) -> Path:
    """``$TRIPLEO_HOME/overcloudrc`` (0600), as tripleoclient writes ``overcloudrc``."""
    path = _rc_path(stack)
    lines = [
        f"# {stack}: the overcloud admin's credentials (written by tripleo overcloud deploy)",
        f"export OS_AUTH_URL={admin.auth_url}",
        "export OS_IDENTITY_API_VERSION=3",
        "export OS_AUTH_TYPE=password",
        f"export OS_USERNAME={admin.username}",
        f"export OS_PROJECT_NAME={admin.project}",
        "export OS_USER_DOMAIN_NAME=Default",
        "export OS_PROJECT_DOMAIN_NAME=Default",
        f"export OS_PASSWORD='{admin.password}'",
        f"export OS_REGION_NAME={admin.region}",
        "export OS_INTERFACE=public",
        f"export OS_CLOUDNAME={stack}",
    ]
    write_private_text(path, "\n".join(lines) + "\n")
    return path


def _status_notes(roles: Mapping[str, RoleData], hosts: Sequence[Host]) -> list[str]:
    """What status should say about the shape of the deployment (single primaries)."""
    notes = []
    for role in roles.values():
        count = sum(1 for h in hosts if h.role == role.role)
        for svc in role.services:
            if svc.bootstrap_only and count > 1:
                first = next(h.name for h in hosts if h.role == role.role and svc.name in h.services)
                notes.append(f"{svc.name}: a single primary on {first} (not clustered across {count} nodes)")
    return notes


def check_layouts(prepared: Prepared, plan: Plan, environments: Sequence[str]) -> Report:
    """The network checks of ``plan`` with every role's NIC layout rendered; the interfaces that services
    take (role_data host_needs) are checked against them.

    :raises InputError: a service takes an interface its role's NIC layout lacks.
    """
    report = validate(plan, HeatNicRenderer(environments))
    check_interfaces(prepared.services, {r.spec.role: r.config for r in report.nodes if r.config is not None})
    return report


def check_request(service: StackService, db: Database, req: DeployRequest) -> Plan:
    """Every check that needs no change, in a scratch directory: bad input and a short capacity fail here.

    :raises InputError: bad templates, environments, roles, networks, services, or too few nodes.
    """
    scratch = prepare_request(req, scratch=True)
    checked = network_plan(scratch)
    _fail_on(check_layouts(scratch, checked, req.environments), "before deploying")
    _module_dirs(checked)
    _preflight(service, db, req.stack, checked)
    return checked


def deploy(
    service: StackService, db: Database, req: DeployRequest, progress: Progress = lambda _: None
) -> DeployResult:
    """Deploy (or re-deploy) the overcloud; see the module docstring for the steps. A second deploy of the
    stack while one runs is refused; the record says where a failed or killed deploy stopped
    (:mod:`tripleo.workflows.record`).

    :raises InputError: bad templates, environments, roles, networks or services (nothing has changed).
    :raises OperationError: another deploy runs, network checks, the stack, config download or the catalog
        failed.
    """
    with deploy_lock(db, req.stack, f"overcloud deploy of {req.stack}"):
        started = time.perf_counter()
        check_request(service, db, req)
        record = DeployRecord(req.stack)
        record.begin()
        try:
            return _deploy(service, db, req, progress, record, started)
        except BaseException as exc:
            failures = [f.to_dict() for f in getattr(exc, "failures", [])]
            reason = str(exc) if isinstance(exc, TripleoError) else f"{type(exc).__name__}: {exc}"
            record.finish(FAILED, {}, reason=f"at {record.phase or 'the start'}: {reason}"[:800],
                          failures=failures)  # fmt: skip
            raise


def _deploy(service: StackService, db: Database, req: DeployRequest, progress: Progress,
            record: DeployRecord, started: float) -> DeployResult:  # fmt: skip
    seconds: dict[str, float] = {}
    record.enter("plan")
    prepared = prepare_request(req)
    base = network_plan(prepared)
    progress(f"plan rendered, {len(prepared.services)} services checked, network checks passed")
    seconds["plan"] = time.perf_counter() - started
    mark = time.perf_counter()
    record.enter("stack")
    sync_networks(db, base.enabled())
    params = {**prepared.parameters, _VIP_PARAMETER: _vips_first(db, req.stack, base)}
    _run_stack(service, req, prepared, params, progress)
    seconds["stack"] = time.perf_counter() - mark

    mark = time.perf_counter()
    record.enter("network")
    hosts, report, roles = _render(service, db, req, prepared, base, progress)
    project_dir, _, log = _home_paths(req.stack)
    project = write_project(
        project_dir, req.stack, hosts, vips=vips_of(report), **_project_args(prepared, base)
    )
    progress(f"config download: {project.directory}")
    seconds["render"] = time.perf_counter() - mark
    done = DeployResult(req.stack, COMPLETE, hosts, vips_of(report), project.directory, {}, seconds)
    done.notes = _status_notes(roles, hosts)
    if req.config_download and hosts:
        _configure(done, project, log, roles, req, progress, record)
    seconds["total"] = time.perf_counter() - started
    record.finish(COMPLETE if req.config_download else WRITTEN, _fields(done))
    return done


def _project_args(prepared: Prepared, base: Plan) -> dict[str, Any]:
    modules = prepared.plan.directory / "puppet" / "modules"
    return {"ssh_key": ssh_key()[0], "puppet_modules": modules if modules.is_dir() else None,
            "extra_modules": _module_dirs(base)}  # fmt: skip


def _phase_of(task: str) -> str | None:
    """The record's phase for an Ansible task: ``hieradata``, ``step N``; None keeps the current one."""
    if task.startswith("Hieradata"):
        return "hieradata"
    head = task.split(":")[0]
    if head.startswith("Step ") and head[5:].isdigit():
        return f"step {head[5:]}"
    return None


def _catalog_digest(roles: Mapping[str, RoleData], hosts: Sequence[Host]) -> str:
    deployed = sorted({name for h in hosts for name in h.services})
    wanted = [(s.name, s.keystone_resources, s.admin) for r in roles.values() for s in r.services
              if s.name in deployed]  # fmt: skip
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()


def _configure(done: DeployResult, project: Any, log: Path, roles: Mapping[str, RoleData], req: DeployRequest,
               progress: Progress, record: DeployRecord) -> None:  # fmt: skip
    """Phases 4 and 5: the config plan; config download on the hosts with work up to the catalog's step;
    the catalog (when something ran or it changed); the later steps; overcloudrc."""
    mark = time.perf_counter()
    done.plan = config_plan(project, done.hosts, roles, ssh_key()[0], force=req.force, limit=req.limit)
    write_run_plan(project, done.plan)
    for line in describe(done.plan):
        progress(f"config plan: {line}")
    busy = [host for host, hp in done.plan.items() if hp.run]
    late = late_tags()
    late_busy = [host for host, hp in done.plan.items() if set(hp.run) & set(late)]

    def on_task(task: str) -> None:
        phase = _phase_of(task)
        if phase is not None:
            record.enter(phase)
        progress(f"ansible: {task}")

    if busy:
        done.recap = run_playbook(project, log, on_task, limit=busy, skip_tags=late)
    record.enter("catalog")
    digest = _catalog_digest(roles, done.hosts)
    if busy or req.force or record.data.get("catalog_digest") != digest:
        done.endpoints = _catalog(roles, done.hosts, progress)
        record.data["catalog_digest"] = digest
    else:
        done.endpoints = dict(record.data.get("endpoints") or {})
        progress("catalog: unchanged, nothing ran")
    if late_busy:
        later = run_playbook(project, log, on_task, limit=late_busy, tags=late, append=True)
        done.recap = _merged(done.recap, later)
    admin = _admin(roles)
    if admin is not None:
        # once the renamed hosts' services run under their new names (they would report the old ones again)
        forget_hosts(admin, departed_hosts(record.data.get("hosts") or [], done.hosts, roles), progress)
        done.overcloudrc = write_overcloudrc(admin, done.stack)
    done.seconds["config"] = time.perf_counter() - mark


def departed_hosts(previous: Sequence[Mapping[str, Any]], hosts: Sequence[Host],
                   roles: Mapping[str, RoleData]) -> dict[str, list[Mapping[str, Any]]]:  # fmt: skip
    """The names of the last complete deploy's hosts (``previous``: status rows) that are gone now (their
    node left, or carries another name), each with its services' scale_down entries: what they left in the
    overcloud's APIs (the services of a renamed host register again under its new name). Nova refuses to
    delete the service of a compute that still hosts servers: the operator deletes or migrates them first,
    as with TripleO."""
    now = {h.node: h.name for h in hosts}
    entries = {(r.role, s.name): s.scale_down for r in roles.values() for s in r.services}
    out: dict[str, list[Mapping[str, Any]]] = {}
    for h in previous:
        if now.get(str(h.get("node"))) != h.get("name"):
            role = str(h.get("role"))
            out[str(h["name"])] = [e for svc in h.get("services") or [] for e in entries.get((role, svc), ())]
    return out


def _merged(first: Mapping[str, HostRecap], second: Mapping[str, HostRecap]) -> dict[str, HostRecap]:
    """Two runs' recaps as one: the counts of each host added."""
    out = dict(first)
    for host, b in second.items():
        a = out.get(host)
        if a is not None:
            b = HostRecap(host, a.ok + b.ok, a.changed + b.changed, a.unreachable + b.unreachable,
                          a.failed + b.failed)  # fmt: skip
        out[host] = b
    return out


def host_summary(host: Host) -> dict[str, Any]:
    """What status shows of a host (its hieradata, which holds passwords, stays out)."""
    return {
        "name": host.name,
        "role": host.role,
        "node": host.node,
        "ctlplane": host.ctlplane,
        "addresses": dict(host.addresses),
        "services": list(host.services),
    }


def _fields(result: DeployResult) -> dict[str, Any]:
    """What the record keeps of a finished deploy."""
    return {
        "stack": result.stack,
        "hosts": [host_summary(h) for h in result.hosts],
        "vips": result.vips,
        "endpoints": result.endpoints,
        "notes": result.notes,
        "overcloudrc": str(result.overcloudrc) if result.overcloudrc else None,
        "project": str(result.project),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "config_plan": {h: {"run": hp.run, "skipped": hp.skipped} for h, hp in result.plan.items()},
    }


def status(service: StackService, stack: str) -> dict[str, Any]:
    """The stack's state and, once deployed, each host with its role, node and addresses, and the VIPs;
    a deploy that was killed shows as ``DEPLOY_FAILED`` "interrupted at <phase>".

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
    saved = read_record(service.db, stack)
    if saved:
        out.update(
            deployment_status=saved.get("status"),
            deployment_reason=saved.get("reason", ""),
            phase=saved.get("phase", ""),
            hosts=saved.get("hosts", []),
            vips=saved.get("vips", {}),
            endpoints=saved.get("endpoints", {}),
            notes=saved.get("notes", []),
            overcloudrc=saved.get("overcloudrc"),
            project=saved.get("project"),
            finished_at=saved.get("finished_at"),
            config_plan=saved.get("config_plan", {}),
        )
    return out


def failures(service: StackService, stack: str) -> dict[str, Any]:
    """The last deploy's status and every failed host with its task and the tail of its output.

    :raises InputError: no such stack.
    """
    service.get(stack)
    saved = read_record(service.db, stack)
    return {"stack": stack, "deployment_status": saved.get("status", "NOT_DEPLOYED"),
            "reason": saved.get("reason", ""), "failures": list(saved.get("failures") or [])}  # fmt: skip


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
    """Delete the overcloud: the stack (nodes go back to available), its addresses and VIPs, its files (the
    config-download project, the network plan, the rendered plan with its passwords, its rc file), as
    tripleoclient deletes the plan with the stack.

    :returns: the stack's final status and how many addresses were freed.
    :raises InputError: no such stack.
    """
    with deploy_lock(db, stack, f"overcloud delete of {stack}"):
        outcome = service.delete(stack, options)
        freed = release_addresses(db, stack)
        project_dir, network_dir, _ = _home_paths(stack)
        shutil.rmtree(project_dir, ignore_errors=True)
        forget(stack)
    plan = network_dir / "network-plan.json"
    if plan.exists():
        shutil.rmtree(network_dir, ignore_errors=True)
    shutil.rmtree(tripleo_home() / "plans" / stack, ignore_errors=True)
    _rc_path(stack).unlink(missing_ok=True)
    return outcome.status, freed
