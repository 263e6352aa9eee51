"""Bare metal: Ironic's job inside tripleo (DESIGN.md section 5).

Nodes follow Ironic's provision states; a driver is a composition of small interfaces (power, management,
inspect, deploy): ``redfish`` (sushy), ``ipmi`` (pyghmi), ``lab`` (IPMI to the lab's BMCs plus the lab's
provisioning primitives, injected as a :class:`Provisioner`) and ``fake``. Every change to a node happens
under its lock (``node:<uuid>``), one committed state at a time.

Public API::

    conductor = Conductor(db, provisioner=...)         # node list/show/manage/provide/power/delete
    specs = load_nodes(Path("instackenv.json"))        # check a node file (ImportProblems lists all)
    validate_import(conductor, specs); enroll(conductor, specs)
    introspect(conductor, "node-0", provide=True)
    match_profiles(conductor, [parse_role("Compute=2")])

For the stack layer (OS::Nova::Server)::

    node = reserve_node(db, profile="compute", instance_uuid=..., name="overcloud-novacompute-0")
    deploy_node(db, node.uuid, hostname=..., ssh_public_key=..., ctlplane_ip=..., ctlplane_cidr=...,
                provisioner=...)
    undeploy_node(db, node.uuid); release_node(db, node.uuid)
"""

from __future__ import annotations

from collections.abc import Callable

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor, Outcome
from tripleo.baremetal.deploy import deploy, rename, undeploy
from tripleo.baremetal.drivers import (
    DRIVERS,
    DeployConfig,
    DriverError,
    HardwareFacts,
    Inventory,
    NicFacts,
    Provisioner,
)
from tripleo.baremetal.enroll import ImportProblems, NodeSpec, load_nodes, parse_nodes
from tripleo.baremetal.importer import Enrolled, enroll
from tripleo.baremetal.importer import validate as validate_import
from tripleo.baremetal.inspection import ALL_MANAGEABLE, introspect, not_inspected
from tripleo.baremetal.node import SECRET, Node, Port, redact
from tripleo.baremetal.profiles import Choice, ProfileShortage, RoleCount, parse_role
from tripleo.baremetal.profiles import match as match_profiles
from tripleo.baremetal.scheduler import release, reserve
from tripleo.storage import Database

__all__ = [
    "ALL_MANAGEABLE",
    "DRIVERS",
    "SECRET",
    "Choice",
    "Conductor",
    "DeployConfig",
    "DriverError",
    "Enrolled",
    "HardwareFacts",
    "ImportProblems",
    "Inventory",
    "NicFacts",
    "Node",
    "NodeSpec",
    "Outcome",
    "Port",
    "ProfileShortage",
    "Provisioner",
    "RoleCount",
    "deploy_node",
    "enroll",
    "introspect",
    "load_nodes",
    "match_profiles",
    "node_of_instance",
    "not_inspected",
    "parse_nodes",
    "parse_role",
    "redact",
    "release_node",
    "rename_node",
    "reserve_node",
    "states",
    "undeploy_node",
    "validate_import",
]


def reserve_node(db: Database, *, profile: str | None, instance_uuid: str, name: str) -> Node:
    """Reserve an available node with ``profile:<profile>`` for an instance (idempotent per instance).

    :raises OperationError: no node fits, e.g. "3 nodes available, none with profile:compute (...)".
    """
    return reserve(Conductor(db), profile=profile, instance_uuid=instance_uuid, name=name)


def deploy_node(
    db: Database,
    node_uuid: str,
    *,
    hostname: str,
    ssh_public_key: str,
    ctlplane_ip: str,
    ctlplane_cidr: str,
    gateway: str | None = None,
    timeout: float = 600.0,
    provisioner: Provisioner | None = None,
    check_address: Callable[[str], None] | None = None,
) -> Node:
    """Deploy a reserved node: deploying -> wait call-back -> active once SSH answers on ``ctlplane_ip``.

    ``lab`` nodes need ``provisioner`` (the lab's config drive and disk wipe). ``check_address`` raises when
    another machine holds ``ctlplane_ip`` (the network layer's ARP probe), before the node is given it.

    :raises InputError: malformed addresses or key.
    :raises OperationError: the node is not reserved, a step failed, or SSH did not answer in time.
    """
    config = DeployConfig(hostname, ssh_public_key, ctlplane_ip, ctlplane_cidr, gateway)
    conductor = Conductor(db, provisioner=provisioner)
    return deploy(conductor, node_uuid, config, timeout=timeout, check_address=check_address)


def undeploy_node(db: Database, node_uuid: str, *, provisioner: Provisioner | None = None) -> Node:
    """Power off, erase, back to ``available`` without instance.

    :raises OperationError: a BMC or the disk wipe failed (the node is then ``error``/``clean failed``).
    """
    return undeploy(Conductor(db, provisioner=provisioner), node_uuid)


def node_of_instance(db: Database, instance_uuid: str) -> Node | None:
    """The node reserved or deployed for ``instance_uuid``, if any (a server whose create was cut short)."""
    return next((n for n in Conductor(db).nodes() if n.instance_uuid == instance_uuid), None)


def rename_node(db: Database, node_uuid: str, hostname: str) -> Node:
    """Give a deployed node's instance a new hostname, in place.

    :raises OperationError: the node has no instance, or is locked.
    """
    return rename(Conductor(db), node_uuid, hostname)


def release_node(db: Database, node_uuid: str) -> Node:
    """Drop a reservation that was never deployed.

    :raises OperationError: the node is deployed (undeploy it).
    """
    return release(Conductor(db), node_uuid)
