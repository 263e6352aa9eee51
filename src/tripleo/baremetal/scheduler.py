"""Placing an instance on a node: small filters that each say why a node does not fit.

Unlike Nova's "No valid host was found", a failure explains itself: "3 nodes available, none with
profile:compute (node-0 has profile:control, ...)".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor
from tripleo.baremetal.node import Node
from tripleo.errors import OperationError
from tripleo.storage import LockedError

__all__ = ["explain_no_node", "release", "reserve", "unfit_reason"]


def unfit_reason(node: Node, profile: str | None) -> str | None:
    """Why ``node`` cannot take a new instance of ``profile`` (None: it can)."""
    if node.provision_state != states.AVAILABLE:
        return f"is {node.provision_state}"
    if node.maintenance:
        return "is in maintenance"
    if node.instance_uuid:
        return f"is reserved for instance {node.instance_uuid}"
    if profile is not None and node.profile != profile:
        return f"has profile:{node.profile}" if node.profile else "has no profile"
    return None


def explain_no_node(nodes: Sequence[Node], profile: str | None) -> str:
    """The one-line reason no node fits."""
    free = [n for n in nodes if unfit_reason(n, None) is None]
    if not nodes:
        return "no nodes are enrolled: run `tripleo overcloud node import`"
    if not free:
        counts = Counter(n.provision_state for n in nodes)
        busy = ", ".join(f"{c} {s}" for s, c in sorted(counts.items()))
        reserved = sum(1 for n in nodes if n.instance_uuid and n.provision_state == states.AVAILABLE)
        extra = f" ({reserved} of them reserved)" if reserved else ""
        return f"no node available: {busy}{extra}"
    others = Counter(f"profile:{n.profile}" if n.profile else "no profile" for n in free)
    seen = ", ".join(f"{c} with {p}" for p, c in sorted(others.items()))
    return f"{len(free)} node{'s' if len(free) != 1 else ''} available, none with profile:{profile} ({seen})"


def reserve(conductor: Conductor, *, profile: str | None, instance_uuid: str, name: str) -> Node:
    """Pick an available node with ``profile:<profile>`` and reserve it for the instance (by name order).

    Idempotent: a node already reserved for ``instance_uuid`` is returned as it is.

    :raises OperationError: no node fits, with the reason.
    """
    nodes = conductor.nodes()
    for node in nodes:
        if node.instance_uuid == instance_uuid:
            return node
    for node in nodes:
        if unfit_reason(node, profile) is not None:
            continue
        try:
            with conductor.locked(node.uuid, f"reserve for {name}") as current:
                if unfit_reason(current, profile) is not None:
                    continue  # taken meanwhile
                info = {"display_name": name, "profile": profile}
                return conductor.set_fields(node.uuid, instance_uuid=instance_uuid, instance_info=info)
        except LockedError:
            continue  # someone is working on it: try the next one
    raise OperationError(f"cannot place server {name}: {explain_no_node(conductor.nodes(), profile)}")


def release(conductor: Conductor, node_uuid: str) -> Node:
    """Drop a reservation that was never deployed (an ``available`` node goes back to the pool).

    :raises OperationError: the node was deployed (undeploy it instead).
    """
    with conductor.locked(node_uuid, "release") as node:
        if node.provision_state != states.AVAILABLE:
            raise OperationError(
                f"node {node.label} is {node.provision_state}: undeploy it instead of releasing"
            )
        return conductor.set_fields(node_uuid, instance_uuid=None, instance_info={})
