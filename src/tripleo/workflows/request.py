"""What ``overcloud deploy`` is asked and what it answers, and the checks made before anything changes.

A request is checked whole in a scratch directory first (:func:`check_request`): the templates rendered,
every service's role_data read, the network checks with every role's NIC layout, the Puppet module
directories and the capacity pre-flight. Bad input fails there, and nothing has changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripleo.config import Host, HostRecap
from tripleo.config.digests import HostPlan
from tripleo.config.runner import DEFAULT_TIMEOUT
from tripleo.errors import InputError, OperationError
from tripleo.network.environment import Plan
from tripleo.network.ipam import PlannedAllocator
from tripleo.network.netenv import Report, validate
from tripleo.network.vips import stack_vips
from tripleo.resources.provisioned import ssh_key
from tripleo.resources.service import Options, StackService
from tripleo.shipped import TEMPLATES
from tripleo.storage import Database
from tripleo.workflows.capacity import preflight
from tripleo.workflows.hostneeds import check_interfaces
from tripleo.workflows.nic_heat import HeatNicRenderer
from tripleo.workflows.services import Prepared, network_plan, prepare, scratch_prepare

__all__ = [
    "DEFAULT_TEMPLATES",
    "DeployRequest",
    "DeployResult",
    "Progress",
    "check_layouts",
    "check_request",
    "fail_on",
    "prepare_request",
    "project_args",
    "stack_parameters",
]

DEFAULT_TEMPLATES = TEMPLATES
_VIP_PARAMETER = "NetVipMap"  # the rendered overcloud's parameter: the VIP of each network (name_lower)
_MODULE_DIRS = "PuppetModuleDirs"  # environments ship their services' Puppet modules (relative to the file)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DeployRequest:
    """What ``overcloud deploy`` is asked: the stack, its templates and inputs, and how far to go."""

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
    step_timeout: float = DEFAULT_TIMEOUT  # seconds one Ansible task (a step on all its hosts) may run
    deployed_servers: Path | None = None  # a node file of deployed servers (tripleo.workflows.deployed)
    deployed_nics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # bound: host -> NICs, nic1..
    deployed_roles: tuple[str, ...] = ()  # bound: the roles whose servers are deployed servers
    # bound: ctlplane address -> what the node applied, as the deployed servers' probe found it (the config
    # plan does not ask those nodes again)
    known_applied: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class DeployResult:
    """What a deploy did: its hosts, VIPs, project, the Ansible recap, the catalog's endpoints, the config
    plan it ran and how long each phase took (kept in the deploy record: :mod:`tripleo.workflows.record`)."""

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
    stack_plan: list[tuple[str, str]] = field(default_factory=list)  # what the stack changed: (path, action)


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


def fail_on(report: Report, when: str) -> None:
    """Stop a deploy whose network checks found something, naming the first finding.

    :raises OperationError: the report has findings (``when``: what the deploy was doing).
    """
    if not report.ok:
        first = report.findings[0]
        raise OperationError(
            f"{when}: {len(report.findings)} network check(s) failed, first: {first.message}"
        )


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
    fail_on(check_layouts(scratch, checked, req.environments), "before deploying")
    _module_dirs(checked)
    preflight(service, db, req.stack, checked, skip=req.deployed_roles)
    return checked


def stack_parameters(db: Database, stack: str, prepared: Prepared, base: Plan,
                     planned: PlannedAllocator | None = None) -> dict[str, Any]:  # fmt: skip
    """The parameters the stack runs with: the plan's, and the VIPs (allocated now, before the stack, so
    its endpoints are known; see :mod:`tripleo.network.vips`; ``planned``: a dry run's, decided only).

    :raises OperationError: no address is left for a VIP, or its fixed address is taken.
    """
    return {**prepared.parameters, _VIP_PARAMETER: stack_vips(db, stack, base, planned)}


def package_proxy() -> str:
    """The undercloud's package cache as the nodes' apt proxy (``http://ADDRESS:PORT``), or "" when it does
    not run (nodes then install with their own apt configuration)."""
    from tripleo.config.packagecache import PackageCache
    from tripleo.storage.paths import tripleo_home

    bind = PackageCache.of(tripleo_home()).address()
    return f"http://{bind}" if bind else ""


def project_args(prepared: Prepared, base: Plan) -> dict[str, Any]:
    """What config download's project takes beside the hosts: the SSH key, the plan's Puppet modules, the
    environments' module directories (``PuppetModuleDirs``) and the package cache.

    :raises InputError: a module directory does not exist.
    """
    modules = prepared.plan.directory / "puppet" / "modules"
    return {"ssh_key": ssh_key()[0], "puppet_modules": modules if modules.is_dir() else None,
            "extra_modules": _module_dirs(base), "package_proxy": package_proxy()}  # fmt: skip
