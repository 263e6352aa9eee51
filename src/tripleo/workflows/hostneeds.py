"""What service parameters ask of the hosts, checked before anything changes (role_data ``host_needs``).

A service says which of its parameters' values the hosts must be able to carry out:

* ``network_types``: Neutron network types (e.g. the tenant networks' ``vxlan`` or ``vlan``). When the
  environments set ``NetworkTypesCarried`` (the lab's environment does: its kernel has bridges and VXLAN
  but no VLAN links), every type must be in it; real hosts carry whatever their NICs do.
* ``interfaces``: interfaces the service takes for itself (provider networks on a NIC): each must be one
  of the role's NIC layout (``nicN`` or a name its template gives).

A failure names the environment file and YAML path that set the value (``<Role>Parameters`` before
``parameter_defaults``), or the service template's default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from tripleo.config.roledata import HostNeed, Service
from tripleo.errors import InputError

__all__ = ["CARRIED", "check_interfaces", "check_network_types", "locate", "where_set"]

CARRIED = "NetworkTypesCarried"


def where_set(env: Any, key: str) -> tuple[Any, str, str]:
    """The value of parameter ``key`` in the engine's merged environment and where it was set: (value,
    file, YAML path), the file empty for a --parameter (its value split on commas) or a generated value;
    (None, "", "") when nothing sets it."""
    for section in ("parameters", "parameter_defaults"):
        values = getattr(env, section)
        if key in values:
            source = env.sources.get(key, "")
            if source == "--parameter":
                value = values[key]
                return (value.split(",") if isinstance(value, str) else value), "", f"--parameter {key}"
            return values[key], "" if source == "generated" else source, f"{section}.{key}"
    return None, "", ""


def locate(service: Service, env: Any) -> Service:
    """``service`` with each need's file and YAML path: where the operator set its parameter, else the
    service template's default."""
    needs = []
    for need in service.needs:
        file, path = service.file, f"parameters.{need.parameter}.default"
        role, role_file, role_path = where_set(env, f"{service.role}Parameters")
        _, found_file, found_path = where_set(env, need.parameter)
        if isinstance(role, Mapping) and need.parameter in role:
            file, path = role_file, f"{role_path}.{need.parameter}"
        elif found_path:
            file, path = found_file, found_path
        needs.append(replace(need, file=file, path=path))
    return replace(service, needs=tuple(needs))


def _needs(services: Sequence[Service]) -> Iterator[tuple[Service, HostNeed]]:
    for service in services:
        for need in service.needs:
            yield service, need


def check_network_types(services: Sequence[Service], env: Any) -> None:
    """Every network type a service's parameter asks for is one the hosts carry (when that is known).

    :raises InputError: naming the file and YAML path of the parameter's value.
    """
    carried, file, path = where_set(env, CARRIED)
    if not path:
        return
    known = [str(t) for t in (carried if isinstance(carried, list) else str(carried).split(","))]
    for service, need in _needs(services):
        for kind in need.network_types:
            if kind not in known:
                raise InputError(
                    f"{need.parameter}: network type {kind!r} of {service.name} (role {service.role}) "
                    f"cannot be carried by these hosts ({CARRIED}: {', '.join(known)}, set by "
                    f"{file or path})",
                    file=need.file or None, path=need.path,
                )  # fmt: skip


def _names(config: Any) -> Iterator[str]:
    """Every device name of a rendered NIC layout (interfaces, bridges and their members)."""
    if isinstance(config, Mapping):
        if isinstance(config.get("name"), str):
            yield config["name"]
        for value in config.values():
            if isinstance(value, (list, Mapping)):
                yield from _names(value)
    elif isinstance(config, list):
        for item in config:
            yield from _names(item)


def check_interfaces(services: Sequence[Service], layouts: Mapping[str, Any]) -> None:
    """Every interface a service takes is in its role's NIC layout (role -> rendered network_config).

    :raises InputError: naming the file and YAML path of the parameter's value.
    """
    for service, need in _needs(services):
        if service.role not in layouts:
            continue  # a role with no node here has no layout to check against
        names = set(_names(layouts[service.role]))
        for iface in need.interfaces:
            if iface not in names:
                raise InputError(
                    f"{need.parameter}: {service.name} (role {service.role}) takes interface {iface!r}, "
                    f"which the role's NIC layout lacks (it has {', '.join(sorted(names)) or 'none'})",
                    file=need.file or None, path=need.path,
                )  # fmt: skip
