"""The capacity pre-flight of ``overcloud deploy``: enough nodes for every role's count, before the stack
changes.

Each role needs ``<Role>Count`` nodes with its profile (``<Role>Profile``, else roles_data's ``profile``; an
empty profile takes any node). The nodes that serve it are its servers' nodes that still carry that profile
(a server on a node with another profile is replaced, so it needs a new node); the rest must come from
the available nodes with the profile, shared by every role that asks for the same one, in roles_data
order. When one role is short, the deploy stops with exit 2 and a line naming the parameter::

    ComputeCount: Compute needs 3 nodes with profile:compute: 2 serve it, 0 more are available
    (node-0 is Controller)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from tripleo.baremetal.node import Node
from tripleo.baremetal.profiles import RoleCount
from tripleo.baremetal.scheduler import unfit_reason
from tripleo.errors import InputError
from tripleo.network.environment import Plan
from tripleo.resources.service import StackService
from tripleo.storage import Database

__all__ = ["DEPLOYED_TYPE", "SERVER_TYPE", "Placed", "check_capacity", "needs", "preflight", "server_slot"]

SERVER_TYPE = "OS::Nova::Server"
DEPLOYED_TYPE = "OS::Heat::DeployedServer"  # a machine the operator installed (tripleo.workflows.deployed)


@dataclass(frozen=True)
class Placed:
    """A server of the stack: its role, index and the node (uuid) under it."""

    role: str
    index: int
    node_uuid: str


def server_slot(path: str) -> tuple[str, int] | None:
    """The role and index of a server from its resource path (``<Role>/<index>/...``, as the stack's role
    groups name them); None for a path of another shape."""
    parts = path.split("/")
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def needs(plan: Plan) -> list[RoleCount]:
    """Each role's count and profile (``""`` takes any node), as the environments and --parameter set them."""
    out = []
    for role in plan.roles:
        profile = plan.env.parameters.get(f"{role.name}Profile", role.profile)
        out.append(RoleCount(role.name, role.count, str(profile or "")))
    return out


def _others(nodes: Sequence[Node], role: str, roles_of: Mapping[str, str], counted: set[str],
            profile: str) -> str:  # fmt: skip
    """Why each node not counted for ``role`` does not help it."""
    lines = []
    for node in nodes:
        if node.uuid in counted:
            continue
        if node.uuid in roles_of and roles_of[node.uuid] != role:
            lines.append(f"{node.label} is {roles_of[node.uuid]}")
        elif node.uuid in roles_of:
            lines.append(f"{node.label} has profile:{node.profile}" if node.profile else
                         f"{node.label} has no profile")  # fmt: skip
        else:
            why = unfit_reason(node, profile or None)
            lines.append(f"{node.label} {why or 'went to another role'}")
    return "; ".join(lines) or "no other nodes are enrolled"


def check_capacity(need: Sequence[RoleCount], servers: Sequence[Placed], nodes: Sequence[Node]) -> None:
    """Refuse a deploy whose counts the nodes cannot meet; changes nothing.

    :raises InputError: the first short role, as the module docstring shows.
    """
    by_uuid = {n.uuid: n for n in nodes}
    roles_of = {s.node_uuid: s.role for s in servers}
    free = [n for n in nodes if unfit_reason(n, None) is None]
    taken: set[str] = set()
    for rn in need:
        if rn.count == 0:
            continue
        mine = sorted((s for s in servers if s.role == rn.role and s.index < rn.count), key=lambda s: s.index)
        serving = {
            s.node_uuid
            for s in mine
            if s.node_uuid in by_uuid and (not rn.profile or by_uuid[s.node_uuid].profile == rn.profile)
        }
        wanted = rn.count - len(serving)
        fits = [n for n in free if n.uuid not in taken and unfit_reason(n, rn.profile or None) is None]
        if wanted > len(fits):
            plural = "s" if rn.count != 1 else ""
            with_profile = f"with profile:{rn.profile}" if rn.profile else "of any profile"
            counted = serving | {n.uuid for n in fits}
            raise InputError(
                f"{rn.role} needs {rn.count} node{plural} {with_profile}: {len(serving)} serve it, "
                f"{len(fits)} more {'is' if len(fits) == 1 else 'are'} available "
                f"({_others(nodes, rn.role, roles_of, counted, rn.profile)})",
                path=f"{rn.role}Count",
            )
        taken.update(n.uuid for n in fits[: max(wanted, 0)])


def preflight(
    service: StackService, db: Database, stack: str, plan: Plan, skip: Collection[str] = ()
) -> None:
    """The capacity pre-flight of a deploy of ``plan``, from the stack's servers (none before the stack
    exists) and the enrolled nodes; changes nothing. The roles in ``skip`` need no node (deployed servers).

    :raises InputError: a role is short of nodes (see :func:`check_capacity`).
    """
    from tripleo.baremetal import Conductor

    try:
        rows = service.resources(stack, nested_depth=64)
    except InputError:
        rows = []  # no stack yet
    placed = []
    for row in rows:
        slot = server_slot(row.path)
        node_uuid = str((row.data or {}).get("node_uuid") or "")
        if row.implementation == SERVER_TYPE and row.action != "DELETE" and node_uuid and slot is not None:
            placed.append(Placed(slot[0], slot[1], node_uuid))
    check_capacity([n for n in needs(plan) if n.role not in skip], placed, Conductor(db).nodes())
