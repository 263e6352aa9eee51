"""Acceptance 3 and 5: nodes reach each other only on shared networks, and lab traffic never leaves the lab.

The lab comes from a config file: node-0 on ctlplane/storage/internal_api, node-1 on ctlplane/storage, node-2
on ctlplane/internal_api. The stand-in for "the outside" is this test's own namespace ``tlt-out``, joined to
the host by a veth that is not a lab bridge and addressed in 198.18.0.0/24 (a benchmarking range): no test
packet is ever addressed to anything but this machine's lab and test interfaces.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import RunningLab, wait_until

pytestmark = pytest.mark.lab

OUTSIDE_NS, HOST_END, OUTSIDE_END = "tlt-out", "tlt-h", "tlt-o"


def sh(*argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, input=stdin, timeout=30)
    if check:
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def booted(lab_from_config: RunningLab) -> RunningLab:
    lab = lab_from_config
    for i, node in enumerate(("node-0", "node-1", "node-2")):
        lab.provision(node, f"192.168.24.{10 + i}/24")
        lab.power_on(node)
    for i in range(3):
        lab.wait_ssh(f"192.168.24.{10 + i}")
    # Addresses on the other networks, as a NIC config would put them (eth1, eth2 follow the config order).
    lab.node_sh("node-0", "ip addr add 172.16.1.10/24 dev eth1 && ip addr add 172.16.2.10/24 dev eth2")
    lab.node_sh("node-1", "ip addr add 172.16.1.11/24 dev eth1")
    lab.node_sh("node-2", "ip addr add 172.16.2.12/24 dev eth1")
    return lab


def reaches(lab: RunningLab, node: str, address: str) -> bool:
    return lab.node_sh(node, f"ping -c 1 -W 1 {address} >/dev/null 2>&1", check=False).returncode == 0


def test_nodes_reach_each_other_only_on_networks_they_share(booted: RunningLab) -> None:
    assert reaches(booted, "node-1", "172.16.1.10")  # storage: shared
    assert reaches(booted, "node-2", "172.16.2.10")  # internal_api: shared
    assert reaches(booted, "node-2", "192.168.24.11")  # ctlplane: everyone
    assert not reaches(booted, "node-2", "172.16.1.10")  # node-2 has no storage NIC
    assert not reaches(booted, "node-1", "172.16.2.10")  # node-1 has no internal_api NIC
    # not even through the host, which has no address on the storage segment
    booted.node_sh("node-2", "ip route add 172.16.1.0/24 via 192.168.24.1")
    assert not reaches(booted, "node-2", "172.16.1.11")
    assert "172.16.1" not in sh("ip", "-o", "addr", "show").stdout


def test_nodes_have_no_route_off_the_lab(booted: RunningLab) -> None:
    routes = booted.node_sh("node-1", "ip -j route show").stdout
    for route in json.loads(routes):
        assert route["dst"] != "default"
        assert route["dst"].startswith(("192.168.24.", "172.16.")), route


@pytest.fixture
def outside() -> Iterator[None]:
    """A namespace standing in for the outside, routed by the host, counting packets from the lab."""
    forwarding = Path("/proc/sys/net/ipv4/ip_forward")
    saved = forwarding.read_text()
    try:
        sh("ip", "netns", "add", OUTSIDE_NS)
        sh("ip", "link", "add", HOST_END, "type", "veth", "peer", "name", OUTSIDE_END, "netns", OUTSIDE_NS)
        sh("ip", "addr", "add", "198.18.0.1/24", "dev", HOST_END)
        sh("ip", "link", "set", HOST_END, "up")
        for cmd in (
            ["addr", "add", "198.18.0.2/24", "dev", OUTSIDE_END],
            ["link", "set", OUTSIDE_END, "up"],
            ["link", "set", "lo", "up"],
            ["route", "add", "192.168.24.0/24", "via", "198.18.0.1"],
        ):
            sh("ip", "-n", OUTSIDE_NS, *cmd)
        counter = "table inet tlt { chain pre { type filter hook prerouting priority -300; "
        counter += "ip saddr 192.168.24.0/24 counter; }; }"
        sh("ip", "netns", "exec", OUTSIDE_NS, "nft", "-f", "-", stdin=counter)
        forwarding.write_text("1\n")  # the host routes, so only the lab's rule stands in the way
        yield
    finally:
        forwarding.write_text(saved)
        sh("ip", "netns", "delete", OUTSIDE_NS, check=False)
        sh("ip", "link", "delete", HOST_END, check=False)


def packets(nft_json: str, comment: str | None = None) -> int:
    """The packet count of the (first) counter in a ruleset, or of the rule with this comment."""
    for item in json.loads(nft_json)["nftables"]:
        rule = item.get("rule")
        if rule and (comment is None or rule.get("comment") == comment):
            for expr in rule["expr"]:
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
    raise AssertionError(f"no counter {comment or ''} in {nft_json}")


def test_lab_traffic_never_leaves_the_lab(booted: RunningLab, outside: None) -> None:
    lab_rule = "lab traffic stays in the lab"
    outside_count = ("ip", "netns", "exec", OUTSIDE_NS, "nft", "-j", "list", "table", "inet", "tlt")
    sh("ping", "-c", "1", "-W", "2", "198.18.0.2")  # the outside is real and reachable from the host
    before = packets(sh("nft", "-j", "list", "table", "inet", "tl").stdout, lab_rule)
    booted.node_sh("node-1", "ip route add 198.18.0.0/24 via 192.168.24.1")
    assert not reaches(booted, "node-1", "198.18.0.2")
    assert booted.node_sh("node-1", "ping -c 2 -i 0.2 -W 1 198.18.0.2", check=False).returncode != 0
    wait_until(
        lambda: packets(sh("nft", "-j", "list", "table", "inet", "tl").stdout, lab_rule) >= before + 3,
        5,
        "the host rule's counter to rise",
    )
    assert packets(sh(*outside_count).stdout) == 0
