"""Deployed servers: machines the operator installed, configured over SSH (DESIGN.md section 16).

TripleO's deployed servers (``--deployed-server``, ``DeployedServerPortMap``): the operator installs the OS
and lists the hosts in a node file; the stack's servers of their roles bind to them instead of bare-metal
nodes. The node file::

    servers:
      - hostname: rack1-srv3          # the machine's short host name (the overcloud's domain is appended)
        role: Compute                 # a role of roles_data; <Role>Count must equal its hosts here
        ctlplane: 192.168.24.30       # its address on the control plane, where the deploy reaches it
        ssh_user: debian              # who logs in (default root; another user needs password-less sudo)
        ssh_key: /home/stack/.ssh/id  # that user's key (default: tripleo's own)
        nics:                         # optional: each network's interface on the host, by name or MAC
          tenant: ens5
          InternalApi: 52:54:00:aa:bb:cc

:func:`load_servers` reads and checks it against the plan (roles, networks, counts); :func:`probe` logs in to
every host with the operator's access and checks what only the host knows (it answers over SSH, its
ctlplane address is its own, every NIC named exists); both change nothing and raise InputError naming the
file and the path (the hosts are asked all at once, one SSH session each, which also says whether tripleo's
key is in already). Then :func:`authorize` lets tripleo's key in as root where it is not (as TripleO's
tripleo-admin step does), and :func:`environment` is what binds the roles' servers to the hosts:
``OS::TripleO::<Role>Server`` -> ``deployed-server/deployed-server.yaml``, ``HostnameMap`` (the generated
short name -> the host's) and ``DeployedServerPortMap`` (the host's ctlplane address), as TripleO's
parameters spell them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tripleo.baremetal.node import MAC_RE
from tripleo.boundedyaml import load_file
from tripleo.config.digests import QUERY, parse_answer
from tripleo.errors import OperationError
from tripleo.fields import Reader
from tripleo.network.environment import Plan
from tripleo.network.model import Role
from tripleo.nodeshell import NodeShell, Result, SshShell
from tripleo.shipped import CTLPLANE
from tripleo.storage.paths import tripleo_home
from tripleo.workflows.request import DeployRequest

__all__ = [
    "Bound",
    "DeployedHost",
    "HostFacts",
    "authorize",
    "bind",
    "environment",
    "load_servers",
    "nic_names",
    "probe",
]

SERVER_TEMPLATE = "deployed-server/deployed-server.yaml"  # under the templates directory
_KEYS = ("hostname", "role", "ctlplane", "ssh_user", "ssh_key", "nics")
_LABEL = re.compile(r"(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}$")
_IFNAME = re.compile(r"[A-Za-z0-9_.:@-]{1,15}$")


@dataclass(frozen=True)
class DeployedHost:
    """One host of the node file, checked against the plan; ``at`` is its path in the file."""

    hostname: str
    role: str
    ctlplane: str
    at: str
    ssh_user: str = "root"
    ssh_key: Path | None = None
    nics: Mapping[str, str] = field(default_factory=dict)  # network name (network_data's) -> name or MAC


@dataclass(frozen=True)
class HostFacts:
    """What a host said over SSH: its interfaces (name -> MAC), which one holds its ctlplane address, and
    whether tripleo's key is in root's authorized_keys already."""

    links: Mapping[str, str]
    ctlplane_nic: str
    authorized: bool = False
    applied: Mapping[str, str] | None = None  # what deploys applied there (asked as root, as the config plan)


def _network_name(plan: Plan, role: Role, reader: Reader, key: Any, path: str) -> str:
    net = plan.network(str(key)) if isinstance(key, str) else None
    own = {n.name for n in plan.role_networks(role)}
    if net is None or net.name not in own or net.name == CTLPLANE:
        names = ", ".join(sorted(own - {CTLPLANE}))
        raise reader.fail(path, f"role {role.name} has no network {key!r} (its networks: {names or 'none'})")
    return net.name


def _host(plan: Plan, reader: Reader, entry: Any, at: str) -> DeployedHost:
    data = reader.mapping(entry, at)
    reader.keys(data, at, _KEYS)
    hostname = reader.text(data.get("hostname"), f"{at}.hostname", _LABEL,
                           message="expected a short host name (letters, digits, dashes)")  # fmt: skip
    roles = {r.name: r for r in plan.roles}
    role = roles.get(str(data.get("role")))
    if role is None:
        raise reader.fail(
            f"{at}.role", f"unknown role {data.get('role')!r} (roles_data has {', '.join(roles)})"
        )
    address = reader.text(data.get("ctlplane"), f"{at}.ctlplane", empty=False)
    subnet = plan.network(CTLPLANE)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise reader.fail(f"{at}.ctlplane", f"not an IP address: {address!r}") from None
    if subnet is not None and ip not in subnet.cidr:
        raise reader.fail(f"{at}.ctlplane", f"{address} is not in the ctlplane subnet {subnet.cidr}")
    user = reader.text(data.get("ssh_user", "root"), f"{at}.ssh_user", _USER)
    key = None
    if data.get("ssh_key") is not None:
        key = Path(reader.text(data.get("ssh_key"), f"{at}.ssh_key", empty=False)).expanduser()
        if not key.is_file():
            raise reader.fail(f"{at}.ssh_key", f"no such key file: {key}")
    nics: dict[str, str] = {}
    for name, value in reader.mapping(data.get("nics") or {}, f"{at}.nics").items():
        where = f"{at}.nics.{name}"
        nic = reader.text(value, where, message=f"expected an interface name or a MAC, got {value!r}")
        mac = MAC_RE.match(nic.lower()) is not None
        if not (mac or _IFNAME.match(nic)):
            raise reader.fail(where, f"expected an interface name or a MAC, got {value!r}")
        nics[_network_name(plan, role, reader, name, where)] = nic.lower() if mac else nic
    return DeployedHost(hostname.lower(), role.name, str(ip), at, user, key, nics)


def load_servers(path: Path, plan: Plan) -> list[DeployedHost]:
    """The node file's hosts, checked against ``plan`` (its roles, networks and counts).

    :raises InputError: the file is unreadable or malformed, an entry is wrong, two hosts share a name or an
        address, or a role's count is not its number of hosts here; naming the file and the path.
    """
    reader = Reader(str(path))
    data = reader.mapping(load_file(path, "the deployed servers file"), "")
    reader.keys(data, "", ("servers",))
    entries = reader.seq(data.get("servers"), "servers", message="expected a list of servers")
    if not entries:
        raise reader.fail("servers", "no servers listed")
    hosts = [_host(plan, reader, entry, f"servers.{i}") for i, entry in enumerate(entries)]
    for attr in ("hostname", "ctlplane"):
        seen: dict[str, str] = {}
        for host in hosts:
            value = getattr(host, attr)
            if value in seen:
                raise reader.fail(f"{host.at}.{attr}", f"{value} is also {seen[value]}'s {attr}")
            seen[value] = host.at
    for role in plan.roles:
        listed = sum(1 for h in hosts if h.role == role.name)
        if listed and listed != role.count:
            raise reader.fail("servers", f"{listed} {role.name} host(s) listed, but {role.name}Count is "
                                         f"{role.count}: they must match")  # fmt: skip
    return hosts


def _shell(host: DeployedHost, default_key: Path) -> NodeShell:
    """The operator's way in: SSH to the ctlplane address as the file's user with its key."""
    return SshShell(host.ctlplane, host.ssh_key or default_key, user=host.ssh_user, connect_timeout=5)


def _why(result: Result) -> str:
    """A failed command's last line of error output (ssh's reason), or its exit code."""
    return (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]


_AUTHORIZED = "tripleo-key-authorized"
_ROOT_KEYS = "/root/.ssh/authorized_keys"


def _probe_command(host: DeployedHost) -> str:
    """The links, the addresses, (the key on stdin) whether root lets tripleo's key in, and as root what the
    config plan asks (:data:`~tripleo.config.digests.QUERY`: one session for a re-deploy); changes nothing."""
    sudo = "" if host.ssh_user == "root" else "sudo -n "
    check = f'{sudo}grep -qxF "$k" {_ROOT_KEYS} 2>/dev/null && echo {_AUTHORIZED}'
    ask = f"; echo --; {QUERY}" if host.ssh_user == "root" else ""
    return f'ip -o link; echo --; ip -o addr; echo --; k=$(cat); [ -n "$k" ] && {check}; true{ask}'


def _facts(host: DeployedHost, text: str) -> HostFacts:
    """``ip -o link``, ``ip -o addr`` and the key check's output (split by lines ``--``) as
    :class:`HostFacts`."""
    links_text, _, rest = text.partition("\n--\n")
    addrs_text, _, rest = rest.partition("\n--\n")
    key_text, asked, applied = rest.partition("--\n")
    links: dict[str, str] = {}
    for line in links_text.splitlines():
        words = line.split()
        if len(words) > 1 and "link/ether" in words:
            links[words[1].rstrip(":").split("@")[0]] = words[words.index("link/ether") + 1].lower()
    holder = ""
    for line in addrs_text.splitlines():
        words = line.split()
        if len(words) > 3 and words[3].split("/")[0] == host.ctlplane:
            holder = words[1]
    known = parse_answer(applied) if asked and host.ssh_user == "root" else None
    return HostFacts(links, holder, _AUTHORIZED in key_text.split(), known)


def _ask(host: DeployedHost, default_key: Path, public_key: str) -> Result | OperationError:
    try:
        shell = _shell(host, default_key)
        return shell.run(_probe_command(host), stdin=public_key.strip() + "\n", timeout=30)
    except OperationError as exc:  # ShellTimeout: it answered nothing
        return exc


def probe(
    file: Path, hosts: Sequence[DeployedHost], default_key: Path, public_key: str = ""
) -> dict[str, HostFacts]:
    """Log in to each host (all at once) with the operator's access and check its ctlplane address and named
    NICs; ask whether ``public_key`` (tripleo's) is root's already.

    :raises InputError: a host does not answer over SSH (or refuses the user or key), does not hold its
        ctlplane address, or has no NIC of a name or MAC the file gives; naming the file and the path (the
        first such host in the file's order).
    """
    reader = Reader(str(file))
    out = {}
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(hosts)))) as pool:
        answers = list(pool.map(lambda h: _ask(h, default_key, public_key), hosts))
    for host, result in zip(hosts, answers, strict=True):
        if isinstance(result, OperationError):
            result = Result(255, "", str(result))
        if not result.ok:
            raise reader.fail(f"{host.at}.ctlplane", f"cannot log in as {host.ssh_user}: {_why(result)}")
        facts = _facts(host, result.stdout)
        if not facts.ctlplane_nic:
            raise reader.fail(f"{host.at}.ctlplane", f"{host.hostname} does not hold {host.ctlplane}")
        macs = set(facts.links.values())
        for network, nic in host.nics.items():
            if nic not in facts.links and nic not in macs:
                names = ", ".join(sorted(facts.links))
                raise reader.fail(f"{host.at}.nics.{network}", f"{host.hostname} has no NIC {nic} ({names})")
        out[host.hostname] = facts
    return out


def nic_names(plan: Plan, host: DeployedHost, facts: HostFacts) -> tuple[str, ...]:
    """The host's NICs in the role's order (nic1: the ctlplane's, then one per network of the role, as the
    NIC layouts number them), by name; a network the file gives no NIC for ends the list there."""
    by_mac = {mac: name for name, mac in facts.links.items()}
    names = [facts.ctlplane_nic.split("@")[0]]
    for net in plan.role_networks(plan.role(host.role)):
        if net.name == CTLPLANE:
            continue
        nic = host.nics.get(net.name)
        if nic is None:
            break
        names.append(by_mac.get(nic, nic))
    return tuple(names)


def authorize(hosts: Sequence[DeployedHost], default_key: Path, public_key: str) -> None:
    """Let tripleo's key in as root on every host (the operator's user through sudo when it is not root).

    :raises OperationError: a host refused (no password-less sudo), naming the host.
    """
    keys = _ROOT_KEYS
    script = (f"k=$(cat) && install -d -m 700 /root/.ssh && touch {keys} && chmod 600 {keys} && "
              f"{{ grep -qxF \"$k\" {keys} || echo \"$k\" >> {keys}; }}")  # fmt: skip
    for host in hosts:
        shell = _shell(host, default_key)
        argv = ["sh", "-c", script] if host.ssh_user == "root" else ["sudo", "-n", "sh", "-c", script]
        result = shell.run(argv, stdin=public_key.strip() + "\n", timeout=30)
        if not result.ok:
            raise OperationError(f"{host.hostname}: cannot let tripleo's key in as root as {host.ssh_user}: "
                                 f"{_why(result)}")  # fmt: skip


def environment(plan: Plan, hosts: Sequence[DeployedHost], stack: str, templates: Path) -> dict[str, Any]:
    """The environment binding the hosts' roles to them (see the module docstring)."""
    registry: dict[str, str] = {}
    names: dict[str, str] = {}
    ports: dict[str, Any] = {}
    for role in plan.roles:
        mine = [h for h in hosts if h.role == role.name]
        if not mine:
            continue
        registry[f"OS::TripleO::{role.name}Server"] = str(templates / SERVER_TEMPLATE)
        # the role's format as the overcloud template defaults it (role.role.j2.yaml's Hostname)
        fmt = str(plan.env.parameters.get(f"{role.name}HostnameFormat") or role.hostname_format
                  or f"{role.name.lower()}-%index%")  # fmt: skip
        for index, host in enumerate(mine):
            generated = fmt.replace("%stackname%", stack).replace("%index%", str(index))
            names[generated.split(".")[0]] = host.hostname
            ports[f"{host.hostname}-ctlplane"] = {"fixed_ips": [{"ip_address": host.ctlplane}]}
    return {"resource_registry": registry,
            "parameter_defaults": {"HostnameMap": names, "DeployedServerPortMap": ports}}  # fmt: skip


@dataclass(frozen=True)
class Bound:
    """A request with its deployed servers bound: the environment added, and what the deploy needs later."""

    request: DeployRequest
    hosts: tuple[DeployedHost, ...] = ()
    authorized: frozenset[str] = frozenset()  # the hosts (hostname) where tripleo's key is root's already

    @property
    def unauthorized(self) -> tuple[DeployedHost, ...]:
        """The hosts where :func:`authorize` has to let tripleo's key in."""
        return tuple(h for h in self.hosts if h.hostname not in self.authorized)


def bind(req: DeployRequest, directory: Path | None = None) -> Bound:
    """``req`` with the environment of its node file (``req.deployed_servers``) added, every host checked.

    The environment is written to ``<directory>/<stack>-environment.yaml`` (default
    ``$TRIPLEO_HOME/deployed-servers``; TripleO's names, readable by the operator); nothing on the hosts
    changes.

    :raises InputError: the node file or a host is wrong (see :func:`load_servers`, :func:`probe`).
    """
    if req.deployed_servers is None:
        return Bound(req)
    from tripleo.resources.provisioned import ssh_key
    from tripleo.workflows.request import prepare_request
    from tripleo.workflows.services import network_plan

    plan = network_plan(prepare_request(req, scratch=True))
    hosts = load_servers(req.deployed_servers, plan)
    facts = probe(req.deployed_servers, hosts, *ssh_key())
    path = (directory or tripleo_home() / "deployed-servers") / f"{req.stack}-environment.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".part")
    scratch.write_text("# written by tripleo overcloud deploy --deployed-servers: do not edit\n"
                       + yaml.safe_dump(environment(plan, hosts, req.stack, req.templates)))  # fmt: skip
    os.replace(scratch, path)
    nics = {h.hostname: nic_names(plan, h, facts[h.hostname]) for h in hosts}
    roles = tuple(sorted({h.role for h in hosts}))
    known = {h.ctlplane: dict(a) for h in hosts if (a := facts[h.hostname].applied) is not None}
    bound = replace(req, environments=(*req.environments, str(path)), deployed_nics=nics,
                    deployed_roles=roles, known_applied=known)  # fmt: skip
    return Bound(bound, tuple(hosts), frozenset(h.hostname for h in hosts if facts[h.hostname].authorized))
