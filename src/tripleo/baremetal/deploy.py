"""Deploying a reserved node and tearing it down again.

``available`` (reserved) -> ``deploying`` (power off, check that nothing else answers on the node's
address, write the disk and config drive, boot from disk, power on) -> ``wait call-back`` (until the node's
SSH port answers on its ctlplane address, as Ironic waits for its agent) -> ``active``. Undeploying:
``deleting`` (power off, erase) -> ``cleaning`` -> ``available``, reservation dropped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from tripleo.baremetal import states
from tripleo.baremetal.conductor import Conductor
from tripleo.baremetal.drivers import DeployConfig, Driver
from tripleo.baremetal.node import Node
from tripleo.errors import InputError, OperationError

__all__ = ["deploy", "ssh_answers", "undeploy"]


def ssh_answers(address: str, port: int = 22, timeout: float = 1.0) -> bool:
    """True once something accepts TCP connections on ``address:port``."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _check(config: DeployConfig) -> None:
    try:
        net = ipaddress.ip_network(config.ctlplane_cidr, strict=False)
        if ipaddress.ip_address(config.ctlplane_ip) not in net:
            raise InputError(f"ctlplane_ip {config.ctlplane_ip} is outside {config.ctlplane_cidr}")
        if config.gateway is not None and ipaddress.ip_address(config.gateway) not in net:
            raise InputError(f"gateway {config.gateway} is outside {config.ctlplane_cidr}")
    except ValueError as exc:
        raise InputError(f"deploy: {exc}") from exc
    if len(config.ssh_public_key.split()) < 2:
        raise InputError("ssh_public_key: expected 'TYPE BASE64 [COMMENT]'")


def deploy(
    conductor: Conductor,
    node_uuid: str,
    config: DeployConfig,
    *,
    timeout: float = 600.0,
    reachable: Callable[[str], bool] = ssh_answers,
    check_address: Callable[[str], None] | None = None,
) -> Node:
    """Deploy a node reserved for an instance and wait until it answers on SSH.

    :param check_address: raises when another machine holds the node's ctlplane address (an ARP probe);
        called once the node is off, so a node being re-deployed is not its own conflict.
    :raises InputError: a malformed address or key.
    :raises OperationError: the node is not reserved/available, a BMC or provisioning step failed, the
        address is in use, or the node did not answer within ``timeout`` (the node is then ``deploy
        failed`` with the reason).
    """
    _check(config)
    with conductor.locked(node_uuid, f"deploy {config.hostname}") as node:
        if node.provision_state == states.ACTIVE and node.instance_info.get("hostname") == config.hostname:
            return node
        if not node.instance_uuid:
            raise OperationError(f"node {node.label} is not reserved for an instance: reserve it first")

        def write(driver: Driver) -> None:
            conductor.set_power(node_uuid, driver, states.POWER_OFF)
            if check_address is not None:
                check_address(config.ctlplane_ip)
            driver.deploy.prepare(config)
            driver.management.set_boot_device("disk", persistent=True)
            conductor.set_power(node_uuid, driver, states.POWER_ON)

        conductor.run(node_uuid, "deploy", write)
        info = {
            **node.instance_info,
            "hostname": config.hostname,
            "ctlplane_ip": config.ctlplane_ip,
            "ctlplane_cidr": config.ctlplane_cidr,
        }
        conductor.move(node_uuid, "wait", instance_info=info)
        deadline = conductor.clock() + timeout
        while not reachable(config.ctlplane_ip):
            if conductor.clock() >= deadline:
                reason = f"no SSH answer from {config.ctlplane_ip} within {timeout:.0f} s"
                conductor.move(node_uuid, "fail", last_error=reason)
                raise OperationError(f"node {node.label}: {reason}")
            conductor.sleep(conductor.poll)
        return conductor.move(node_uuid, "done", last_error=None)


def undeploy(conductor: Conductor, node_uuid: str) -> Node:
    """Power off, erase, and return the node to ``available`` without its instance."""
    with conductor.locked(node_uuid, "undeploy") as node:
        if node.provision_state == states.AVAILABLE:
            return conductor.set_fields(node_uuid, instance_uuid=None, instance_info={})
        driver = conductor.driver(node_uuid)

        def power_off(_driver: Driver) -> None:
            conductor.set_power(node_uuid, driver, states.POWER_OFF)

        conductor.run(node_uuid, "undeploy", power_off)  # deleting (error if the BMC fails)
        conductor.move(node_uuid, "done")  # cleaning
        try:
            driver.deploy.tear_down()
        except OperationError as exc:
            conductor.move(node_uuid, "fail", last_error=exc.message)
            raise
        return conductor.move(node_uuid, "done", instance_uuid=None, instance_info={}, last_error=None)


def rename(conductor: Conductor, node_uuid: str, hostname: str) -> Node:
    """A deployed node's instance takes a new hostname (a server renamed in place: nothing is
    re-provisioned, the node keeps its instance, disk and addresses)."""
    with conductor.locked(node_uuid, f"rename to {hostname}") as node:
        if not node.instance_uuid:
            raise OperationError(f"node {node.label} has no instance to rename")
        info = {**node.instance_info, "hostname": hostname, "display_name": hostname}
        return conductor.set_fields(node_uuid, instance_info=info)
