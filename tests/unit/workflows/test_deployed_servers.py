"""Deployed servers' node file (tripleo.workflows.deployed) against the shipped templates' plan: every bad
entry is one error naming the file and the path, the environment binds the roles' servers with TripleO's
parameters, and what the hosts say over SSH (here a FakeShell; the lab test logs in to real sshd) is checked.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
import yaml

from tripleo.config.digests import QUERY, query
from tripleo.errors import InputError, OperationError
from tripleo.network.environment import Plan
from tripleo.nodeshell import FakeShell, Result
from tripleo.shipped import TEMPLATES
from tripleo.workflows import deployed
from tripleo.workflows.deployed import DeployedHost, HostFacts, environment, load_servers, nic_names
from tripleo.workflows.request import DeployRequest
from tripleo.workflows.services import network_plan, scratch_prepare


@pytest.fixture(scope="module")
def plan() -> Plan:
    params = {"ControllerCount": 1, "ComputeCount": 2}
    return network_plan(scratch_prepare(TEMPLATES, (), params))


def _file(tmp_path: Path, servers: object) -> Path:
    path = tmp_path / "servers.yaml"
    path.write_text(yaml.safe_dump({"servers": servers}))
    return path


GOOD = [
    {"hostname": "rack1-srv3", "role": "Compute", "ctlplane": "192.168.24.30",
     "nics": {"tenant": "ens5", "InternalApi": "52:54:00:AA:BB:CC"}},
    {"hostname": "rack1-srv4", "role": "Compute", "ctlplane": "192.168.24.31", "ssh_user": "debian"},
]  # fmt: skip


def test_a_good_file_gives_hosts_and_the_environment_that_binds_them(plan: Plan, tmp_path: Path) -> None:
    hosts = load_servers(_file(tmp_path, GOOD), plan)
    assert [(h.hostname, h.role, h.ctlplane, h.ssh_user) for h in hosts] == [
        ("rack1-srv3", "Compute", "192.168.24.30", "root"),
        ("rack1-srv4", "Compute", "192.168.24.31", "debian"),
    ]
    assert hosts[0].nics == {"Tenant": "ens5", "InternalApi": "52:54:00:aa:bb:cc"}
    env = environment(plan, hosts, "overcloud", TEMPLATES)
    assert env["resource_registry"] == {
        "OS::TripleO::ComputeServer": str(TEMPLATES / "deployed-server" / "deployed-server.yaml")
    }
    assert env["parameter_defaults"] == {
        "HostnameMap": {"compute-0": "rack1-srv3", "compute-1": "rack1-srv4"},
        "DeployedServerPortMap": {
            "rack1-srv3-ctlplane": {"fixed_ips": [{"ip_address": "192.168.24.30"}]},
            "rack1-srv4-ctlplane": {"fixed_ips": [{"ip_address": "192.168.24.31"}]}}}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"role": "Storage"}, "servers.0.role", "unknown role 'Storage'"),
        ({"hostname": "a.b"}, "servers.0.hostname", "short host name"),
        ({"ctlplane": "10.9.9.9"}, "servers.0.ctlplane", "not in the ctlplane subnet"),
        ({"ctlplane": "nine"}, "servers.0.ctlplane", "not an IP address"),
        ({"nics": {"external": "ens9"}}, "servers.0.nics.external", "role Compute has no network 'external'"),
        ({"nics": {"tenant": "no such nic name"}}, "servers.0.nics.tenant", "interface name or a MAC"),
        ({"ssh_key": "/nonexistent/key"}, "servers.0.ssh_key", "no such key file"),
        ({"colour": "red"}, "servers.0.colour", "unknown key 'colour'"),
        ({"hostname": "rack1-srv4"}, "servers.1.hostname", "rack1-srv4 is also servers.0's hostname"),
    ],
)
def test_a_bad_entry_names_the_file_and_the_path(
    plan: Plan, tmp_path: Path, change: dict[str, object], path: str, words: str
) -> None:
    servers = [{**GOOD[0], **change}, GOOD[1]]
    with pytest.raises(InputError) as caught:
        load_servers(_file(tmp_path, servers), plan)
    assert caught.value.file == str(tmp_path / "servers.yaml") and caught.value.path == path
    assert words in str(caught.value)


def test_a_count_that_does_not_match_the_hosts_is_refused(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"servers: 1 Compute host\(s\) listed, but ComputeCount is 2"):
        load_servers(_file(tmp_path, GOOD[:1]), plan)


def test_not_yaml_and_no_servers_are_one_line(plan: Plan, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("servers: [\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_servers(bad, plan)
    with pytest.raises(InputError, match="servers: no servers listed"):
        load_servers(_file(tmp_path, []), plan)


LINKS = (
    "1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN link/loopback 00:00:00:00:00:00\n"
    "2: ens4: <BROADCAST,UP> mtu 1500 state UP link/ether 52:54:00:11:11:11 brd ff:ff:ff:ff:ff:ff\n"
    "3: ens5: <BROADCAST,UP> mtu 1500 state UP link/ether 52:54:00:22:22:22 brd ff:ff:ff:ff:ff:ff\n"
    "4: ens6: <BROADCAST,UP> mtu 1500 state UP link/ether 52:54:00:aa:bb:cc brd ff:ff:ff:ff:ff:ff\n"
    "--\n"
    "2: ens4    inet 192.168.24.30/24 brd 192.168.24.255 scope global ens4\n"
)


def test_what_the_host_says_is_checked(plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _file(tmp_path, GOOD)
    hosts = load_servers(file, plan)[:1]
    answer = Result(0, LINKS)
    monkeypatch.setattr(deployed, "_shell", lambda host, key: FakeShell(host.hostname, default=answer))
    facts = deployed.probe(file, hosts, tmp_path / "key")
    assert facts["rack1-srv3"] == HostFacts(
        {"ens4": "52:54:00:11:11:11", "ens5": "52:54:00:22:22:22", "ens6": "52:54:00:aa:bb:cc"}, "ens4"
    )
    # nic1 the ctlplane's, then the role's networks in its order (InternalApi by MAC, then Tenant)
    assert nic_names(plan, hosts[0], facts["rack1-srv3"])[:1] == ("ens4",)
    assert set(nic_names(plan, hosts[0], facts["rack1-srv3"])[1:]) == {"ens6", "ens5"}

    monkeypatch.setattr(
        deployed,
        "_shell",
        lambda host, key: FakeShell(
            host.hostname,
            default=Result(255, "", "ssh: connect to host 192.168.24.30 port 22: Connection refused"),
        ),
    )
    with pytest.raises(
        InputError, match=r"servers\.0\.ctlplane: cannot log in as root: .*Connection refused"
    ):
        deployed.probe(file, hosts, tmp_path / "key")
    other = DeployedHost("rack1-srv3", "Compute", "192.168.24.30", "servers.0", nics={"Tenant": "ens9"})
    monkeypatch.setattr(deployed, "_shell", lambda host, key: FakeShell(host.hostname, default=answer))
    with pytest.raises(InputError, match=r"servers\.0\.nics\.Tenant: rack1-srv3 has no NIC ens9"):
        deployed.probe(file, [other], tmp_path / "key")
    moved = DeployedHost("rack1-srv3", "Compute", "192.168.24.40", "servers.0")
    with pytest.raises(InputError, match=r"servers\.0\.ctlplane: rack1-srv3 does not hold 192\.168\.24\.40"):
        deployed.probe(file, [moved], tmp_path / "key")


def test_one_session_says_whether_the_key_is_in(
    plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe carries tripleo's key on stdin and reads the host's answer: a re-deploy needs no second
    session to let it in; the check reads root's keys through sudo for another user."""
    file = _file(tmp_path, GOOD)
    hosts = load_servers(file, plan)[:1]
    shells: list[FakeShell] = []

    def shell(answer: str) -> object:
        def make(host: DeployedHost, key: Path) -> FakeShell:
            shells.append(FakeShell(host.hostname, default=Result(0, answer)))
            return shells[-1]

        return make

    monkeypatch.setattr(deployed, "_shell", shell(LINKS + "--\ntripleo-key-authorized\n"))
    facts = deployed.probe(file, hosts, tmp_path / "key", "ssh-ed25519 AAAA tripleo")
    assert facts["rack1-srv3"].authorized
    assert shells[-1].calls[0].stdin == b"ssh-ed25519 AAAA tripleo\n"
    assert "grep -qxF" in shells[-1].calls[0].command and "sudo" not in shells[-1].calls[0].command
    monkeypatch.setattr(deployed, "_shell", shell(LINKS + "--\n"))
    facts = deployed.probe(file, hosts, tmp_path / "key", "ssh-ed25519 AAAA tripleo")
    assert not facts["rack1-srv3"].authorized
    debian = [replace(hosts[0], ssh_user="debian")]
    deployed.probe(file, debian, tmp_path / "key", "ssh-ed25519 AAAA tripleo")
    assert "sudo -n grep -qxF" in shells[-1].calls[0].command
    request = cast(DeployRequest, None)  # not read by unauthorized
    assert deployed.Bound(request, (*hosts, *debian), frozenset({"rack1-srv3"})).unauthorized == ()
    other = replace(hosts[0], hostname="rack1-srv4")
    assert deployed.Bound(request, (hosts[0], other), frozenset({"rack1-srv3"})).unauthorized == (other,)


def test_as_root_the_same_session_asks_what_the_config_plan_asks(
    plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-deploy reaches a deployed server once: the probe's session as root also reads the applied records
    and the dead boot services (digests.QUERY), which the config plan then does not ask again."""
    file = _file(tmp_path, GOOD)
    hosts = load_servers(file, plan)[:1]
    answer = LINKS + "--\ntripleo-key-authorized\n--\nnetwork n1\nstep1 a1\ndead memcached\n"
    shells: list[FakeShell] = []

    def make(host: DeployedHost, key: Path) -> FakeShell:
        shells.append(FakeShell(host.hostname, default=Result(0, answer)))
        return shells[-1]

    monkeypatch.setattr(deployed, "_shell", make)
    facts = deployed.probe(file, hosts, tmp_path / "key", "ssh-ed25519 AAAA tripleo")["rack1-srv3"]
    assert facts.authorized and facts.applied == {"network": "n1", "step1": "a1", "dead:memcached": ""}
    assert shells[-1].calls[0].command.endswith(QUERY)
    # another user reads nothing of root's: the config plan asks as root, as before
    debian = [replace(hosts[0], ssh_user="debian")]
    assert deployed.probe(file, debian, tmp_path / "key", "k")["rack1-srv3"].applied is None
    assert QUERY not in shells[-1].calls[0].command
    # what query makes of a known answer: nobody is asked
    asked = query({"rack1-srv3": "192.168.24.30", "other": "192.168.24.31"}, tmp_path / "key",
                  connect=lambda a: FakeShell(a, default=Result(0, "step2 b2\n")),
                  known={"192.168.24.30": dict(facts.applied or {})})  # fmt: skip
    assert asked == {"rack1-srv3": dict(facts.applied or {}), "other": {"step2": "b2"}}


def test_authorize_lets_the_key_in_through_sudo_or_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    shells: list[FakeShell] = []

    def shell(host: DeployedHost, key: Path) -> FakeShell:
        shells.append(FakeShell(host.hostname, default=Result(0)))
        return shells[-1]

    monkeypatch.setattr(deployed, "_shell", shell)
    hosts = [DeployedHost("a", "Compute", "192.168.24.30", "servers.0", ssh_user="debian"),
             DeployedHost("b", "Compute", "192.168.24.31", "servers.1")]  # fmt: skip
    deployed.authorize(hosts, Path("/k"), "ssh-ed25519 AAAA tripleo\n")
    assert shells[0].calls[0].command.startswith("sudo -n sh -c ")
    assert (
        shells[1].calls[0].command.startswith("sh -c ")
        and shells[1].calls[0].stdin == b"ssh-ed25519 AAAA tripleo\n"
    )
    monkeypatch.setattr(
        deployed,
        "_shell",
        lambda host, key: FakeShell(host.hostname, default=Result(1, "", "sudo: a password is required")),
    )
    with pytest.raises(
        OperationError, match="a: cannot let tripleo's key in as root as debian: sudo: a password"
    ):
        deployed.authorize(hosts, Path("/k"), "ssh-ed25519 AAAA tripleo")
