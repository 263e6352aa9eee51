"""Profiles: which nodes serve which role (``profile:<name>`` capabilities), as ``overcloud profiles``.

``match`` plans first (who keeps its profile, who is given one because it offers ``<profile>_profile:1``),
explains every choice, and changes nothing when a role is short: the error says which role and what each
other node lacked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor
from tripleo.baremetal.node import Node, format_capabilities
from tripleo.errors import InputError, OperationError

__all__ = ["Choice", "ProfileShortage", "RoleCount", "match", "parse_role"]

_ROLE = re.compile(r"^(?P<role>[A-Za-z][A-Za-z0-9_-]*)=(?P<count>\d+)(:(?P<profile>[a-z0-9_-]+))?$")
USABLE = frozenset({states.AVAILABLE, states.ACTIVE})


@dataclass(frozen=True)
class RoleCount:
    role: str
    count: int
    profile: str


@dataclass(frozen=True)
class Choice:
    """One decision of ``match``: a node serves ``role`` with ``profile``, and why."""

    role: str
    node: str
    profile: str
    reason: str
    changed: bool


class ProfileShortage(OperationError):
    """One or more roles lack nodes; ``problems`` has one line per role."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def parse_role(text: str, profiles: Mapping[str, str] | None = None) -> RoleCount:
    """``Compute=2`` or ``Compute=2:compute``; without a profile, the role's in ``profiles`` (role ->
    profile, from roles_data), else the role's name in lower case.

    :raises InputError: anything else.
    """
    found = _ROLE.match(text)
    if found is None:
        raise InputError(f"--role {text}: expected ROLE=COUNT or ROLE=COUNT:PROFILE (e.g. Compute=2)")
    role = found["role"]
    profile = found["profile"] or (profiles or {}).get(role) or role.lower()
    return RoleCount(role, int(found["count"]), profile)


def _why_not(node: Node, profile: str, claimed: dict[str, str]) -> str:
    if node.uuid in claimed:
        return f"{node.label} went to {claimed[node.uuid]}"
    if node.maintenance:
        return f"{node.label} is in maintenance"
    if node.provision_state not in USABLE:
        return f"{node.label} is {node.provision_state} (not available)"
    if node.profile and node.profile != profile:
        return f"{node.label} has profile:{node.profile}"
    return f"{node.label} has no profile and does not offer {profile}_profile"


def plan(nodes: Sequence[Node], roles: Sequence[RoleCount]) -> tuple[list[Choice], list[str]]:
    """Who serves which role, and one problem line per role that is short."""
    usable = [n for n in nodes if n.provision_state in USABLE and not n.maintenance]
    claimed: dict[str, str] = {}
    choices: list[Choice] = []
    problems: list[str] = []
    for rc in roles:
        having = [n for n in usable if n.profile == rc.profile and n.uuid not in claimed]
        picked = [
            Choice(rc.role, n.label, rc.profile, f"has profile:{rc.profile}", False)
            for n in having[: rc.count]
        ]
        offering = [
            n for n in usable if not n.profile and rc.profile in n.possible_profiles and n.uuid not in claimed
        ]
        for node in offering[: rc.count - len(picked)]:
            why = f"given profile:{rc.profile} (it offers {rc.profile}_profile)"
            picked.append(Choice(rc.role, node.label, rc.profile, why, True))
        by_label = {n.label: n for n in nodes}
        for choice in picked:
            claimed[by_label[choice.node].uuid] = rc.role
        choices.extend(picked)
        if len(picked) < rc.count:
            have = ", ".join(c.node for c in picked) or "none"
            lacking = [_why_not(n, rc.profile, claimed) for n in nodes if claimed.get(n.uuid) != rc.role]
            problems.append(
                f"{rc.role} needs {rc.count} node{'s' if rc.count != 1 else ''} with profile:{rc.profile}, "
                f"found {len(picked)} ({have}); the others lack it: {'; '.join(lacking) or 'no other nodes'}"
            )
    return choices, problems


def match(conductor: Conductor, roles: Sequence[RoleCount], *, dry_run: bool = False) -> list[Choice]:
    """Assign profiles for the role counts; apply only when every role is covered.

    :raises ProfileShortage: a role lacks nodes (nothing was changed).
    """
    choices, problems = plan(conductor.nodes(), roles)
    if problems:
        raise ProfileShortage(problems)
    if not dry_run:
        for choice in choices:
            if choice.changed:
                _set_profile(conductor, choice.node, choice.profile)
    return choices


def _set_profile(conductor: Conductor, ident: str, profile: str) -> None:
    node_uuid = conductor.resolve(ident)
    with conductor.locked(node_uuid, "profiles match") as node:
        caps = dict(node.capabilities)
        caps["profile"] = profile
        conductor.set_fields(
            node_uuid, properties={**node.properties, "capabilities": format_capabilities(caps)}
        )
