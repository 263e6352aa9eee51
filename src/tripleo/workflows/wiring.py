"""The lab's cabling as the network plan needs it: which NIC of a lab node is on which segment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tripleo.errors import OperationError
from tripleo.network.environment import NodeSpec, Plan

__all__ = ["LabWiring", "lab_wiring", "wired_specs"]


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
