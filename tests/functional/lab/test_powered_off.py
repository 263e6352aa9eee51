"""Issue 22: a lab node that is powered off answers nothing on any address it held (its links are down, as a
machine without power), and power on brings its NICs back; the ARP probe tripleo runs before it gives a node
its address finds whatever machine answers for it, and the deploy then fails at once naming the address
and the MAC.

A lab of its own (``fp``, one node on every network, on subnets no other lab takes), and ``fp-probe``, a
namespace of the test's with a NIC on each of the lab's networks: another machine on the segments.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from labkit import TRIPLEO, RunningLab, pinned_lab, running_lab, wait_until

from tripleo import baremetal
from tripleo.cli.baremetal_lab import LabProvisioner
from tripleo.lab import LabConfig
from tripleo.network import AddressInUse, ensure_address_free
from tripleo.network.arpprobe import Segment, probe
from tripleo.storage import Database

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NAME = "fp"
PROBE_NS = f"{NAME}-probe"
NODE = "node-0"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    home = tmp_path_factory.mktemp("lab-fp")
    yield from running_lab(home, *pinned_lab(home, NAME, nodes=1, shift=5))


def _address(config: LabConfig, network: str, host: int) -> str:
    return str(config.network(network).subnet.network_address + host)


@pytest.fixture(scope="module")
def other_machine(lab: RunningLab) -> Iterator[dict[str, str]]:
    """``fp-probe``: a NIC ``p<i>`` on each lab network with address .250; yields network -> its NIC's MAC."""
    config = lab.api.config()
    macs = {}
    try:
        sh("ip", "netns", "add", PROBE_NS)
        for i, net in enumerate(config.networks):
            host_end, inside = f"{NAME}-p{i}", f"p{i}"
            sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", inside, "netns", PROBE_NS)
            sh("ip", "link", "set", host_end, "master", net.bridge, "up")
            sh("ip", "-n", PROBE_NS, "link", "set", inside, "up")
            sh("ip", "-n", PROBE_NS, "addr", "add", f"{_address(config, net.name, 250)}/24", "dev", inside)
            link = json.loads(sh("ip", "-n", PROBE_NS, "-j", "link", "show", inside).stdout)
            macs[net.name] = link[0]["address"]
        yield macs
    finally:
        sh("ip", "netns", "delete", PROBE_NS, check=False)  # its veths go with it


def _node_addresses(lab: RunningLab) -> dict[str, str]:
    """Boot the node with its ctlplane address, then give it one on every other network as a deploy's NIC
    config would (the External one on a bridge of the node's own, ``br-ex``). Returns network -> address."""
    config = lab.api.config()
    node = config.node(NODE)
    addresses = {net: _address(config, net, 10) for net in node.networks}
    lab.provision(NODE, f"{addresses['ctlplane']}/24")
    lab.power_on(NODE)
    lab.wait_ssh(addresses["ctlplane"], timeout=20)
    script = ["ip link add br-ex type bridge", "ip link set eth1 master br-ex", "ip link set br-ex up"]
    for i, net in enumerate(node.networks[1:], start=1):
        dev = "br-ex" if net == "external" else node.nic_name(i)
        script.append(f"ip addr add {addresses[net]}/24 dev {dev}")
    lab.node_sh(NODE, " && ".join(script))
    return addresses


def _pings(addresses: dict[str, str]) -> dict[str, bool]:
    """Whether each address answers a ping from the other machine (all at once: each miss waits 1 s)."""

    def one(address: str) -> bool:
        argv = ["ip", "netns", "exec", PROBE_NS, "ping", "-c", "1", "-W", "1", address]
        return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0

    with ThreadPoolExecutor(len(addresses)) as pool:
        return dict(zip(addresses, pool.map(one, addresses.values()), strict=True))


def _arp_from_host(config: LabConfig, addresses: dict[str, str]) -> dict[str, str | None]:
    """Who answers an ARP probe for each address, sent from the host's side of its network's bridge."""

    def one(net: str) -> str | None:
        bridge = config.network(net).bridge
        mac = Path(f"/sys/class/net/{bridge}/address").read_text().strip()
        return probe(Segment(bridge, mac, ()), addresses[net])

    with ThreadPoolExecutor(len(addresses)) as pool:
        return dict(zip(addresses, pool.map(one, addresses), strict=True))


def _node_links(lab: RunningLab) -> dict[str, tuple[str, list[str]]]:
    """The node's links as its namespace holds them: name -> (state, IPv4 addresses)."""
    netns = lab.api.config().node(NODE).netns
    links = json.loads(sh("ip", "-n", netns, "-j", "addr", "show").stdout)
    return {
        link["ifname"]: (link["operstate"], [a["local"] for a in link["addr_info"] if a["family"] == "inet"])
        for link in links
        if link["ifname"] != "lo"
    }


def test_a_powered_off_node_answers_on_none_of_its_addresses(
    lab: RunningLab, other_machine: dict[str, str]
) -> None:
    config = lab.api.config()
    node = config.node(NODE)
    addresses = _node_addresses(lab)
    assert _pings(addresses) == dict.fromkeys(addresses, True)
    before = _arp_from_host(config, addresses)
    assert all(mac in node.macs for mac in before.values()), before  # the method sees the node when it is on
    ctlplane = addresses["ctlplane"]
    assert sh("ping", "-c", "1", "-W", "1", ctlplane, check=False).returncode == 0

    lab.power_off(NODE)
    assert _pings(addresses) == dict.fromkeys(addresses, False)
    assert _arp_from_host(config, addresses) == dict.fromkeys(addresses, None)
    # the host's own neighbour entry: asked afresh, nothing answers for the address
    bridge = config.network("ctlplane").bridge
    sh("ip", "neigh", "flush", "to", ctlplane, "dev", bridge, check=False)
    assert sh("ping", "-c", "1", "-W", "1", ctlplane, check=False).returncode != 0
    neighbour = json.loads(sh("ip", "-j", "neigh", "show", "to", ctlplane, "dev", bridge).stdout or "[]")
    assert all("lladdr" not in n and "REACHABLE" not in n.get("state", []) for n in neighbour), neighbour
    links = _node_links(lab)
    assert sorted(links) == [node.nic_name(i) for i in range(len(node.networks))]  # br-ex went with power
    assert all(state == "DOWN" and not addrs for state, addrs in links.values()), links

    lab.power_on(NODE)
    lab.wait_ssh(ctlplane, timeout=20)
    assert sh("ping", "-c", "1", "-W", "2", ctlplane, check=False).returncode == 0
    assert _pings({"ctlplane": ctlplane}) == {"ctlplane": True}
    assert all(state == "UP" for state, _ in _node_links(lab).values())


def test_a_soft_power_off_takes_the_links_down_too(lab: RunningLab, other_machine: dict[str, str]) -> None:
    ctlplane = _address(lab.api.config(), "ctlplane", 10)
    if not lab.api.is_on(NODE):
        _node_addresses(lab)
    lab.wait_ssh(ctlplane, timeout=20)
    assert _pings({"ctlplane": ctlplane}) == {"ctlplane": True}
    lab.ipmitool(NODE, "chassis", "power", "soft")
    wait_until(lambda: not lab.api.is_on(NODE), 15, "the node's soft power off")
    assert all(state == "DOWN" and not addrs for state, addrs in _node_links(lab).values())
    assert _pings({"ctlplane": ctlplane}) == {"ctlplane": False}


def test_the_probe_names_the_mac_that_answers_and_the_deploy_fails_at_once(
    lab: RunningLab, other_machine: dict[str, str], tmp_path: Path
) -> None:
    config = lab.api.config()
    ctlplane = config.network("ctlplane")
    taken = _address(config, "ctlplane", 250)  # the other machine holds it
    with pytest.raises(AddressInUse) as info:
        ensure_address_free(taken)
    assert (info.value.mac, info.value.interface) == (other_machine["ctlplane"], ctlplane.bridge)
    ensure_address_free(_address(config, "ctlplane", 251))  # nobody has it

    # the deploy of the lab's node onto the taken address: refused at once, before the node is given it
    db_url = f"sqlite:///{tmp_path / 'tripleo.sqlite'}"
    imported = subprocess.run(
        [TRIPLEO, "overcloud", "node", "import", "--provide", str(lab.home / "lab" / "instackenv.json")],
        env={**lab.env, "TRIPLEO_DB_URL": db_url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stdout + imported.stderr
    db = Database(db_url)
    provisioner = LabProvisioner(lab.home)
    key = lab.api.public_key()
    try:
        node = baremetal.reserve_node(db, profile="control", instance_uuid=str(uuid.uuid4()), name="ctl-0")

        def deploy() -> baremetal.Node:
            return baremetal.deploy_node(
                db, node.uuid, hostname="ctl-0", ssh_public_key=key, ctlplane_ip=taken,
                ctlplane_cidr=ctlplane.cidr, timeout=60, provisioner=provisioner,
                check_address=ensure_address_free,
            )  # fmt: skip

        started = time.monotonic()
        with pytest.raises(AddressInUse) as info:
            deploy()
        assert time.monotonic() - started < 10
        assert str(info.value).startswith(
            f"address {taken} is in use: {other_machine['ctlplane']} answers ARP"
        )
        assert baremetal.Conductor(db).get(node.uuid).provision_state == "deploy failed"
        assert not lab.api.is_on(NODE)
        # the other machine lets the address go: the retry deploys the node onto it
        nic = f"p{[n.name for n in config.networks].index('ctlplane')}"
        sh("ip", "-n", PROBE_NS, "addr", "del", f"{taken}/24", "dev", nic)
        assert deploy().provision_state == "active"
        assert lab.ssh(taken, "hostname").stdout.strip() == "ctl-0"
        baremetal.undeploy_node(db, node.uuid, provisioner=provisioner)
        assert not lab.api.is_on(NODE)
    finally:
        db.dispose()
