"""The ``real`` backend: servers on bare metal (tripleo.baremetal), ports from the IPAM (tripleo.network).

OS::Neutron::Net names a network; OS::Neutron::Subnet creates (or updates) it in the IPAM with its CIDR,
gateway and allocation pools; OS::Neutron::Port takes an address from it (its owner is the port's
physical id, so a resumed create gets the same address back). OS::Nova::Server reserves an available node
by profile, takes its ctlplane address from its first port (or allocates one on ``network``), checks that
no other machine answers for that address (an ARP probe on the host's segment) and deploys it through the
node's driver with tripleo's SSH key; it completes when the node answers SSH.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tripleo.engine.state import ActionContext, Outcome
from tripleo.errors import InputError, OperationError
from tripleo.nodeshell import NodeShell, SshShell
from tripleo.resources.base import PluginBase
from tripleo.storage import Database, tripleo_home

__all__ = [
    "Networks",
    "RealNet",
    "RealPort",
    "RealServer",
    "RealSubnet",
    "ctlplane_shells",
    "plugins",
    "ssh_key",
]

LOG = logging.getLogger(__name__)


_KEY_LOCK = threading.Lock()


def ssh_key() -> tuple[Path, str]:
    """tripleo's SSH key for the nodes it deploys ($TRIPLEO_HOME/ssh/id_ed25519, made on first use).

    Safe when several servers ask at once, in threads or processes: the key is made aside and renamed into
    place, public half first, so a reader never sees a private key without its public one.
    """
    directory = tripleo_home() / "ssh"
    directory.mkdir(mode=0o700, exist_ok=True)
    key = directory / "id_ed25519"
    with _KEY_LOCK:
        if not key.exists():
            with tempfile.TemporaryDirectory(dir=directory) as scratch:
                made = Path(scratch) / "id_ed25519"
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tripleo", "-f", str(made)],
                    check=True,
                    capture_output=True,
                )
                made.chmod(0o600)
                os.replace(made.with_suffix(".pub"), key.with_suffix(".pub"))
                os.replace(made, key)
    return key, key.with_suffix(".pub").read_text().strip()


class Networks:
    """Net physical id -> network name, shared by the Net, Subnet and Port plugins of one run."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def name(self, ref: Any) -> str:
        if not isinstance(ref, str) or not ref:
            raise InputError(f"network must be a network name or a Net resource, not {ref!r}")
        return self.names.get(ref, ref)


class RealNet(PluginBase):
    type_name = "OS::Neutron::Net"

    def __init__(self, nets: Networks) -> None:
        self.nets = nets

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        name = str(props.get("name") or ctx.name)
        self.nets.names[ctx.physical_id] = name
        return Outcome({"name": name, "status": "ACTIVE"}, {"name": name})


class RealSubnet(PluginBase):
    type_name = "OS::Neutron::Subnet"
    external = True

    def __init__(self, db: Database, nets: Networks) -> None:
        self.db, self.nets = db, nets

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        from tripleo.network import ensure_network

        network = self.nets.name(props.get("network") or props.get("network_id"))
        cidr = str(props.get("cidr") or "")
        pools = [(str(p["start"]), str(p["end"])) for p in props.get("allocation_pools") or []]
        gateway = props.get("gateway_ip") or None
        ensure_network(self.db, network, cidr, pools, gateway=gateway)
        attrs = {
            "name": props.get("name") or ctx.name,
            "cidr": cidr,
            "gateway_ip": gateway,
            "network_id": network,
        }
        return Outcome(attrs, {"network": network})


class RealPort(PluginBase):
    type_name = "OS::Neutron::Port"
    external = True

    def __init__(self, db: Database, nets: Networks) -> None:
        self.db, self.nets = db, nets

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        from tripleo.network import allocate_port

        network = self.nets.name(props.get("network") or props.get("network_id"))
        fixed = (props.get("fixed_ips") or [{}])[0] or {}
        port = allocate_port(
            self.db, network, owner=ctx.physical_id, name=str(props.get("name") or ctx.name),
            fixed_ip=fixed.get("ip_address"),
        )  # fmt: skip
        subnet = {"cidr": port.cidr, "gateway_ip": port.gateway, "ip_version": 6 if ":" in port.ip else 4}
        attrs = {
            "name": port.name,
            "ip_address": port.ip,
            "fixed_ips": [{"ip_address": port.ip, "subnet_id": port.network}],
            "subnets": [subnet],
            "network_id": network,
            "status": "ACTIVE",
        }
        return Outcome(attrs, {"port_id": port.id, "network": network})

    def delete(self, ctx: ActionContext) -> None:
        from tripleo.network import release_port

        port_id = ctx.data.get("port_id")
        if port_id:
            release_port(self.db, str(port_id))


class RealServer(PluginBase):
    type_name = "OS::Nova::Server"
    external = True

    def __init__(self, db: Database, nets: Networks, provisioner: Any) -> None:
        self.db, self.nets, self.provisioner = db, nets, provisioner

    def _profile(self, props: dict[str, Any]) -> str | None:
        hints = props.get("scheduler_hints") or {}
        profile = hints.get("capabilities:profile") if isinstance(hints, dict) else None
        flavor = props.get("flavor")
        if not profile and isinstance(flavor, str) and flavor not in ("", "baremetal"):
            profile = flavor
        return str(profile) if profile else None

    def _ctlplane(self, ctx: ActionContext, props: dict[str, Any]) -> Any:
        from tripleo.network import allocate_port, list_ports

        networks = props.get("networks") or []
        first = networks[0] if networks and isinstance(networks[0], dict) else {}
        if first.get("port"):
            found = list_ports(self.db, owner=str(first["port"]))
            if not found:
                raise OperationError(f"port {first['port']} of server {ctx.name} has no address")
            return found[0]
        network = self.nets.name(first.get("network") or "ctlplane")
        return allocate_port(self.db, network, owner=ctx.physical_id, name="ctlplane")

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        from tripleo.baremetal import deploy_node, reserve_node
        from tripleo.network import ensure_address_free

        name = str(props.get("name") or ctx.name)
        node = reserve_node(self.db, profile=self._profile(props), instance_uuid=ctx.physical_id, name=name)
        port = self._ctlplane(ctx, props)
        _, public = ssh_key()
        probe = ensure_address_free if node.driver != "fake" else None  # fake machines are on no segment
        deploy_node(
            self.db, node.uuid, hostname=name, ssh_public_key=public, ctlplane_ip=port.ip,
            ctlplane_cidr=port.cidr, gateway=port.gateway, timeout=ctx.timeout or 600.0,
            provisioner=self.provisioner, check_address=probe,
        )  # fmt: skip
        return Outcome(
            _server_attributes(ctx, name, port, node.uuid),
            {"node_uuid": node.uuid, "ctlplane_port": port.id, "port_owned": port.owner == ctx.physical_id},
        )

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        """A new name (CloudName, a hostname format) or metadata: the server stays on its node, with its
        disk and addresses; the node's instance and its running hostname take the new name."""
        from tripleo.baremetal import rename_node
        from tripleo.network import list_ports

        name = str(props.get("name") or ctx.name)
        node_uuid = str(ctx.data.get("node_uuid") or "")
        ports = [p for p in list_ports(self.db) if p.id == ctx.data.get("ctlplane_port")]
        if not node_uuid or not ports:
            raise OperationError(f"server {ctx.name}: its node or ctlplane port is not recorded")
        port = ports[0]
        if name != str(old.get("name") or ctx.name):
            rename_node(self.db, node_uuid, name)
            _set_hostname(SshShell(port.ip, ssh_key()[0]), name)
        return Outcome(_server_attributes(ctx, name, port, node_uuid), dict(ctx.data))

    def delete(self, ctx: ActionContext) -> None:
        """Undeploy the node and release the ctlplane address this server took; for a create cut short
        (nothing recorded yet), whatever was reserved or allocated under its id."""
        from tripleo.baremetal import node_of_instance, undeploy_node
        from tripleo.network import list_ports, release_port

        node_uuid = ctx.data.get("node_uuid")
        if not node_uuid:
            node = node_of_instance(self.db, ctx.physical_id)
            node_uuid = node.uuid if node is not None else None
        if node_uuid:
            undeploy_node(self.db, str(node_uuid), provisioner=self.provisioner)
        if ctx.data.get("port_owned") and ctx.data.get("ctlplane_port"):
            release_port(self.db, str(ctx.data["ctlplane_port"]))
        elif not ctx.data:
            for port in list_ports(self.db, owner=ctx.physical_id):
                release_port(self.db, port.id)


def ctlplane_shells(connect_timeout: int = 10) -> Callable[[Mapping[str, Any]], NodeShell]:
    """A shell to a deployed host (a record with ``ctlplane``) over SSH with tripleo's key."""
    key = ssh_key()[0]
    return lambda host: SshShell(str(host["ctlplane"]), key, connect_timeout=connect_timeout)


def _server_attributes(ctx: ActionContext, name: str, port: Any, node_uuid: str) -> dict[str, Any]:
    return {
        "name": name,
        "first_address": port.ip,
        "networks": {port.network: [port.ip]},
        "addresses": {port.network: [{"addr": port.ip, "version": 6 if ":" in port.ip else 4}]},
        "os_collect_config": {},
        "show": {"id": ctx.physical_id, "name": name, "status": "ACTIVE", "node": node_uuid},
    }


def _set_hostname(shell: NodeShell, name: str) -> None:
    """The running node takes ``name`` as its hostname.

    :raises OperationError: the node refused or could not be reached (ShellTimeout: it did not answer).
    """
    short = name.split(".")[0]
    quoted = shlex.quote(
        short
    )  # a valid hostname needs no quotes: this only keeps the shell out of a bad one
    done = shell.run(f"hostname {quoted} && echo {quoted} > /etc/hostname", timeout=60)
    if not done.ok:
        raise OperationError(f"renaming {shell.name} to {short}: {done.stderr.strip() or done.returncode}")


def plugins(db: Database | None, provisioner: Any) -> list[PluginBase]:
    if db is None:
        raise OperationError("the real backend needs a database")
    nets = Networks()
    return [RealNet(nets), RealSubnet(db, nets), RealPort(db, nets), RealServer(db, nets, provisioner)]
