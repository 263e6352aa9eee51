"""The NIC applier keeps the deploy's path to the node (issue 25, "the NIC config on real NICs"): in two
network namespaces of their own, a node and its ctlplane peer (the undercloud's side of the SSH session) on a
veth pair, the real applier (``python -m tripleo.network.apply``) changes the node's links and firewall. A
change that keeps the peer reachable stays; one that loses it (the ctlplane address moved to a bridge on
another subnet, or a firewall that drops the replies) is rolled back, the node as it was, exit 1 naming it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab]

PEER, NODE = "192.0.2.1", "192.0.2.10"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"{' '.join(argv)}: {done.stdout}{done.stderr}"
    return done


@dataclass(frozen=True)
class Pair:
    node: str  # the node's namespace
    peer: str  # the peer's namespace
    nic: str  # the node's end of the veth


@pytest.fixture
def pair() -> Iterator[Pair]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("needs root, ip and nft (network namespaces of the lab's prefix)")
    tag = f"tl-rb{os.getpid() % 100000}"
    pair = Pair(f"{tag}-node", f"{tag}-peer", f"tlrb{os.getpid() % 100000}a")
    other = f"tlrb{os.getpid() % 100000}b"
    try:
        for ns in (pair.node, pair.peer):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", pair.nic, "netns", pair.node, "type", "veth", "peer", "name", other,
           "netns", pair.peer)  # fmt: skip
        sh("ip", "-n", pair.peer, "addr", "add", f"{PEER}/24", "dev", other)
        sh("ip", "-n", pair.peer, "link", "set", other, "up")
        sh("ip", "-n", pair.node, "addr", "add", f"{NODE}/24", "dev", pair.nic)
        sh("ip", "-n", pair.node, "link", "set", pair.nic, "up")
        yield pair
    finally:
        for ns in (pair.node, pair.peer):
            sh("ip", "netns", "del", ns, check=False)


def apply(pair: Pair, tmp: Path, config: list[dict[str, object]], firewall: str | None = None,
          timeout: float = 3) -> subprocess.CompletedProcess[str]:  # fmt: skip
    path = tmp / "network_config.json"
    path.write_text(json.dumps({"network_config": config}))
    argv = ["ip", "netns", "exec", pair.node, sys.executable, "-m", "tripleo.network.apply", str(path),
            "--check-peer", PEER, "--check-timeout", str(timeout)]  # fmt: skip
    if firewall is not None:
        (tmp / "firewall.nft").write_text(firewall)
        argv += ["--firewall", str(tmp / "firewall.nft")]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def links(pair: Pair) -> dict[str, tuple[str | None, list[str]]]:
    """The node's links: master and addresses (IPv4)."""
    out = json.loads(sh("ip", "-n", pair.node, "-j", "addr").stdout)
    return {
        link["ifname"]: (
            link.get("master"),
            sorted(f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"),
        )
        for link in out
        if link["ifname"] != "lo"
    }


def reaches(pair: Pair) -> bool:
    return sh("ip", "netns", "exec", pair.node, "ping", "-c1", "-W2", PEER, check=False).returncode == 0


def test_a_change_that_keeps_the_peer_stays(pair: Pair, tmp_path: Path) -> None:
    addresses = [{"ip_netmask": f"{NODE}/24"}, {"ip_netmask": "198.51.100.10/24"}]
    config = [{"type": "interface", "name": pair.nic, "addresses": addresses}]
    done = apply(pair, tmp_path, config)
    assert done.returncode == 0, done.stderr
    assert f"add address 198.51.100.10/24 to {pair.nic}" in done.stdout
    assert json.loads(done.stdout.splitlines()[-1]) == {"changed": True}
    assert links(pair)[pair.nic] == (None, [f"{NODE}/24", "198.51.100.10/24"])
    again = apply(pair, tmp_path, config)
    assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1]) == {"changed": False}


def test_the_ctlplane_address_moved_off_its_subnet_is_rolled_back(pair: Pair, tmp_path: Path) -> None:
    before = links(pair)
    config = [{"type": "linux_bridge", "name": "tlrb-br", "addresses": [{"ip_netmask": "203.0.113.10/24"}],
               "members": [{"type": "interface", "name": pair.nic}]}]  # fmt: skip
    done = apply(pair, tmp_path, config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith(f"ERROR: {PEER} (the deploy's ctlplane peer) stopped answering within 3 s")
    assert "rolled back" in done.stderr and "could not undo" not in done.stderr
    assert links(pair) == before  # the bridge gone, the NIC out of it with its address back
    assert reaches(pair)


def test_a_firewall_that_drops_the_replies_is_rolled_back_to_the_table_before(
    pair: Pair, tmp_path: Path
) -> None:
    config = [{"type": "interface", "name": pair.nic, "addresses": [{"ip_netmask": f"{NODE}/24"}]}]
    table = "table inet tripleo {}\ndelete table inet tripleo\ntable inet tripleo {\n  chain input {\n" \
            "    type filter hook input priority 0; policy %s;\n  }\n}\n"  # fmt: skip
    first = apply(pair, tmp_path, config, firewall=table % "accept")
    assert first.returncode == 0 and "firewall: applied" in first.stdout, first.stderr
    kept = sh("ip", "netns", "exec", pair.node, "nft", "list", "table", "inet", "tripleo").stdout
    done = apply(pair, tmp_path, config, firewall=table % "drop")
    assert done.returncode == 1 and "rolled back (0 steps, and the firewall)" in done.stderr, done.stderr
    assert sh("ip", "netns", "exec", pair.node, "nft", "list", "table", "inet", "tripleo").stdout == kept
    assert reaches(pair)


def test_a_peer_that_never_answered_is_not_checked(pair: Pair, tmp_path: Path) -> None:
    sh("ip", "netns", "exec", pair.peer, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
    config = [{"type": "interface", "name": pair.nic, "addresses": [{"ip_netmask": "203.0.113.10/24"}]}]
    done = apply(pair, tmp_path, config, timeout=1)
    assert done.returncode == 0, done.stderr
    assert f"check: {PEER} does not answer before the change: not checked" in done.stdout
    assert links(pair)[pair.nic] == (None, ["203.0.113.10/24"])
