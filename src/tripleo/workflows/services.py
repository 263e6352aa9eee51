"""The composable services of a deployment: the rendered plan's service chains, read and checked offline.

``prepare`` renders the plan (:mod:`tripleo.workflows.plan`), checks that every service a role lists has a
template, expands the stack tree without creating anything and reads each chain member's ``role_data``
(:mod:`tripleo.config.roledata`): the networks they name exist, no two claim one port. The network plan then
takes its roles' services and their ports from there (``network_plan``), so the firewall rules come from
the service templates.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tripleo.config.roledata import VIP_NETWORKS, Service, check_services, parse_service
from tripleo.errors import InputError
from tripleo.network.checks import needs_vip
from tripleo.network.environment import Environment as NetworkEnvironment
from tripleo.network.environment import NodeSpec, Plan, load_plan
from tripleo.network.model import ServicePort
from tripleo.workflows.hostneeds import check_network_types, locate, where_set
from tripleo.workflows.plan import RenderedPlan, load_roles, render_plan, source_of

__all__ = ["Prepared", "network_plan", "prepare", "scratch_prepare"]


@dataclass(frozen=True)
class Prepared:
    """A rendered, checked plan: the files for the engine and every role's services."""

    plan: RenderedPlan
    environments: tuple[str, ...]  # for the engine: registry, passwords, then the operator's
    parameters: Mapping[str, Any]
    services: tuple[Service, ...]
    networks: Plan  # the network plan of roles_data's counts, as the operator's environments set it

    def role_services(self, role: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.role == role)


def network_environment(env: Any) -> NetworkEnvironment:
    """The network plan's view of the engine's one merge of the ``-e`` files (``tripleo.engine``'s
    Environment): parameters, the registry's types, and the directory of the file that set each value."""
    parameters = {**env.parameter_defaults, **env.parameters}
    origin = {}
    for key, source in env.sources.items():
        if source and source not in ("--parameter", "generated"):
            origin[key] = Path(source).resolve().parent
    registry = {key: entry.value for key, entry in env.registry.entries.items()}
    return NetworkEnvironment(parameters=parameters, registry=registry, origin=origin, files=list(env.files))


def load_network_environment(
    environments: Sequence[str], parameters: Mapping[str, Any] | None = None
) -> NetworkEnvironment:
    """``-e`` files (and --parameter values) merged by the engine, as the network plan reads them."""
    from tripleo.engine.template.environment import load_environments

    return network_environment(load_environments(list(environments), dict(parameters or {})))


def _check_role_services(
    plan: RenderedPlan, environments: Sequence[str], parameters: Mapping[str, Any]
) -> None:
    """Every service of every role resolves to a template (or an explicit OS::Heat::None)."""
    from tripleo import engine
    from tripleo.engine.template.environment import load_environments

    merged = load_environments(list(environments), dict(parameters))
    listed: list[tuple[str, list[Any], str, str]] = []  # role, services, file, YAML path
    for i, role in enumerate(load_roles(plan.roles_file)):
        name = role["name"]
        services, file, path = where_set(merged, f"{name}Services")
        if services is None:
            services, file, path = (
                role.get("ServicesDefault") or [],
                str(plan.roles_file),
                f"{i}.ServicesDefault",
            )
        if not isinstance(services, list):
            raise InputError(f"role {name}: the services must be a list", file=file or None, path=path)
        listed.append((name, services, file, path))
    found = engine.implementations_of(environments, sorted({str(s) for _, ss, _, _ in listed for s in ss}))
    for name, services, file, path in listed:
        for j, service in enumerate(services):
            if found[str(service)] is None:
                raise InputError(
                    f"role {name}: service {service} has no template (map it in the resource registry, or "
                    "to OS::Heat::None to disable it)",
                    file=file or None, path=f"{path}.{j}",
                )  # fmt: skip


def _collect(top: Any, plan: RenderedPlan) -> list[Service]:
    out = []
    for res in top.walk():
        if res.kind != "chain" or res.nested is None:
            continue
        for member in res.nested.resources.values():
            nested = member.nested
            if nested is None or "role_data" not in nested.outputs:
                continue  # OS::Heat::None: disabled on purpose
            role = str(nested.params.get("RoleName") or "")
            out.append(parse_service(nested.outputs["role_data"], role, source_of(plan, nested.file)))
    return out


def _in_source(exc: InputError, plan: RenderedPlan) -> InputError:
    """The engine's error with the rendered tree's paths replaced by the source tree's."""
    rendered = plan.directory.resolve()
    message = exc.message
    for form in (str(rendered), os.path.relpath(rendered)):
        message = message.replace(form, str(plan.source))
    file = exc.file
    if file and (os.path.isabs(file) or file.startswith(".")):
        file = source_of(plan, os.path.abspath(file))
    return type(exc)(message, file=file, path=exc.path)


def _network_names(plan: Plan) -> dict[str, str]:
    names = {n.name_lower: n.name for n in plan.enabled()}
    names.update({n.name: n.name for n in plan.enabled()})
    return names


def prepare(
    templates: Path,
    stack: str,
    environments: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
    *,
    roles_file: Path | None = None,
    networks_file: Path | None = None,
    plan_dir: Path | None = None,
) -> Prepared:
    """Render the plan for ``stack`` and read its services (nothing outside the plan directory changes).

    :raises InputError: bad roles or network data, a service without a template, a service on a network
        network_data lacks, two services claiming one port, or anything the engine rejects.
    """
    from tripleo import engine

    params = dict(parameters or {})
    plan = render_plan(templates, stack, roles_file, networks_file, plan_dir=plan_dir)
    registry = [str(plan.registry)] if plan.registry else []
    envs = (*registry, str(plan.passwords), *environments)
    _check_role_services(plan, envs, params)
    try:
        top = engine.load_tree(str(plan.template), list(envs), params, stack_name=stack)
    except InputError as exc:
        raise _in_source(exc, plan) from exc
    services = tuple(locate(s, top.env) for s in _collect(top, plan))
    check_network_types(services, top.env)
    base = load_plan(
        network_environment(top.env), network_data=plan.networks_file, roles_data=plan.roles_file
    )
    check_services(services, _network_names(base))
    return Prepared(plan, envs, params, services, base)


def scratch_prepare(
    templates: Path,
    environments: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
    *,
    roles_file: Path | None = None,
    networks_file: Path | None = None,
) -> Prepared:
    """``prepare`` in a throw-away directory: for checks that must change nothing (validate, netenv)."""
    with tempfile.TemporaryDirectory(prefix="tripleo-plan-") as scratch:
        return prepare(
            templates, "overcloud", environments, parameters, roles_file=roles_file,
            networks_file=networks_file, plan_dir=Path(scratch),
        )  # fmt: skip


def _ports(prepared: Prepared, plan: Plan) -> dict[str, tuple[ServicePort, ...]]:
    """Each service's ports per network; a load balancer also takes every frontend on its VIP network."""
    frontends = [f for s in prepared.services for f in s.frontends]
    vip_networks = [n.name for n in plan.enabled() if needs_vip(plan, n)]
    out: dict[str, list[ServicePort]] = {}
    for service in prepared.services:
        rules: dict[str, list[tuple[str, str]]] = {}
        for net, proto, port, _ in service.firewall:
            for name in vip_networks if net == VIP_NETWORKS else [net]:
                found = plan.network(name)
                rules.setdefault(found.name if found else name, []).append((proto, port))
        if service.load_balancer:
            for front in frontends:
                for net in front.networks:
                    found = plan.network(net)
                    rules.setdefault(found.name if found else net, []).append(("tcp", str(front.port)))
        ports = out.setdefault(service.name, [])
        for net, pairs in rules.items():
            unique = tuple(dict.fromkeys(pairs))
            if not any(p.network == net and p.ports == unique for p in ports):
                ports.append(ServicePort(service.name, net, unique))
    return {k: tuple(v) for k, v in out.items()}


def network_plan(prepared: Prepared, nodes: Sequence[NodeSpec] | None = None) -> Plan:
    """The network plan with each role's services and ports taken from the service templates; with
    ``nodes`` (the deployed ones) instead of the roles' counts."""
    plan = prepared.networks
    if nodes is not None:
        plan = load_plan(
            plan.env, network_data=prepared.plan.networks_file, roles_data=prepared.plan.roles_file,
            nodes=nodes,
        )  # fmt: skip
    roles = tuple(
        replace(r, services=tuple(s.name for s in prepared.role_services(r.name))) for r in plan.roles
    )
    bridged = {s.name: s.bridged for s in prepared.services if s.bridged}
    return replace(plan, roles=roles, services=_ports(prepared, plan), bridged=bridged)
