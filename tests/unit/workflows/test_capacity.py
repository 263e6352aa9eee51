"""The capacity pre-flight: a role's count against the nodes serving it and the free ones with its profile."""

from __future__ import annotations

import pytest

from tripleo.baremetal.node import Node
from tripleo.baremetal.profiles import RoleCount
from tripleo.errors import InputError
from tripleo.workflows.capacity import Placed, check_capacity


def node(name: str, profile: str | None, state: str = "active", instance: str | None = "i") -> Node:
    caps = f"profile:{profile}" if profile else ""
    return Node(
        uuid=f"uuid-{name}", name=name, driver="ipmi", driver_info={}, provision_state=state,
        power_state="power on", maintenance=False, maintenance_reason=None, last_error=None,
        properties={"capabilities": caps}, instance_uuid=instance, instance_info={}, extra={},
    )  # fmt: skip


LAB = [node("node-0", "control"), node("node-1", "compute"), node("node-2", "compute")]
SERVERS = [Placed("Controller", 0, "uuid-node-0"), Placed("Compute", 0, "uuid-node-1"),
           Placed("Compute", 1, "uuid-node-2")]  # fmt: skip


def test_the_deployed_counts_fit() -> None:
    need = [RoleCount("Controller", 1, "control"), RoleCount("Compute", 2, "compute")]
    check_capacity(need, SERVERS, LAB)
    check_capacity([RoleCount("Controller", 1, "control"), RoleCount("Compute", 1, "compute")], SERVERS, LAB)


def test_one_compute_too_many_names_who_serves_and_why_the_others_do_not() -> None:
    need = [RoleCount("Controller", 1, "control"), RoleCount("Compute", 3, "compute")]
    with pytest.raises(InputError) as caught:
        check_capacity(need, SERVERS, LAB)
    assert str(caught.value) == (
        "ComputeCount: Compute needs 3 nodes with profile:compute: 2 serve it, 0 more are available "
        "(node-0 is Controller)"
    )
    assert caught.value.exit_code == 2


def test_free_nodes_with_the_profile_are_counted_once_across_roles() -> None:
    nodes = [*LAB, node("node-3", "compute", "available", None)]
    check_capacity([RoleCount("Compute", 3, "compute")], SERVERS, nodes)
    need = [RoleCount("Compute", 3, "compute"), RoleCount("ComputeHCI", 1, "compute")]
    with pytest.raises(InputError, match="ComputeHCI needs 1 node with profile:compute: 0 serve it, 0 more"):
        check_capacity(need, SERVERS, nodes)


def test_a_profile_change_needs_new_nodes() -> None:
    """Servers on nodes with another profile are replaced: they do not count."""
    with pytest.raises(InputError) as caught:
        check_capacity([RoleCount("Compute", 2, "control")], SERVERS, LAB)
    message = str(caught.value)
    assert "Compute needs 2 nodes with profile:control: 0 serve it, 0 more are available" in message
    assert "node-1 has profile:compute" in message and "node-0 is Controller" in message


def test_a_fresh_deploy_counts_available_nodes_and_says_why_others_do_not_fit() -> None:
    nodes = [node("node-0", "control", "available", None), node("node-1", None, "manageable", None)]
    check_capacity([RoleCount("Controller", 1, "control")], [], nodes)
    with pytest.raises(InputError, match=r"node-1 is manageable"):
        check_capacity([RoleCount("Controller", 2, "")], [], nodes)
