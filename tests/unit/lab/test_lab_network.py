"""The lab's network plan: only the commands needed, by prefix on the way down, one firewall table."""

from __future__ import annotations

import json
from pathlib import Path

from tripleo.lab import default_config, lab_namespaces, parse_config
from tripleo.lab.network import (
    Facts,
    apply,
    check_conflicts,
    links_off,
    namespaces,
    nft_ruleset,
    plan_down,
    plan_links_off,
    plan_up,
    read_facts,
)
from tripleo.lab.paths import NodePaths
from tripleo.lab.power import NodePower
from tripleo.lab.system import RecordingRunner, Result

EMPTY = Facts(links=frozenset({"lo", "eth0"}), netns=frozenset(), nft_table=False)
ONE_NODE = parse_config({"nodes": [{"name": "node-0", "networks": ["ctlplane", "storage"]}]})


def test_plan_up_on_a_clean_host() -> None:
    cmds = plan_up(ONE_NODE, EMPTY)
    adds = [c for c in cmds if c[:3] == ("ip", "link", "add") or c[:3] == ("ip", "netns", "add")]
    assert ("ip", "link", "add", "tl-ctlplane", "type", "bridge") in adds
    assert ("ip", "addr", "replace", "192.168.24.1/24", "dev", "tl-ctlplane") in cmds
    assert ("ip", "addr", "replace", "10.0.0.1/24", "dev", "tl-external") in cmds
    assert ("ip", "netns", "add", "tl-node-0") in adds
    veth = ("ip", "link", "add", "tl-0-1", "type", "veth", "peer", "name", "eth1")
    assert (*veth, "address", "52:54:00:24:00:01", "netns", "tl-node-0") in adds
    assert ("ip", "link", "set", "tl-0-1", "master", "tl-storage", "up") in cmds
    assert len(adds) == 7 + 1 + 2  # bridges, namespace, veths
    assert cmds[-1] == ("nft", "-f", "-")


def test_plan_up_on_a_complete_lab_creates_nothing() -> None:
    everything = frozenset({f"tl-{n.name}" for n in ONE_NODE.networks} | {"tl-0-0", "tl-0-1"})
    cmds = plan_up(ONE_NODE, Facts(links=everything, netns=frozenset({"tl-node-0"}), nft_table=True))
    assert not [c for c in cmds if "add" in c[:3]]


def test_plan_down_goes_by_prefix_and_leaves_everything_else() -> None:
    facts = Facts(
        links=frozenset({"eth0", "lo", "tl-ctlplane", "tl-0-0", "tlt-h", "docker0"}),
        netns=frozenset({"tl-node-0", "tlt-out", "other"}),
        nft_table=True,
    )
    assert plan_down(facts) == [
        ("ip", "netns", "delete", "tl-node-0"),
        ("ip", "link", "delete", "tl-0-0"),
        ("ip", "link", "delete", "tl-ctlplane"),
        ("nft", "delete", "table", "inet", "tl"),
    ]
    assert plan_down(Facts(frozenset({"eth0"}), frozenset(), False)) == []


def test_the_firewall_replaces_its_own_table_and_drops_both_directions() -> None:
    rules = nft_ruleset()
    assert rules.startswith("table inet tl\ndelete table inet tl\ntable inet tl {")
    assert 'iifname "tl-*" oifname != "tl-*" counter drop' in rules
    assert 'iifname != "tl-*" oifname "tl-*" counter drop' in rules
    assert "hook forward" in rules


def test_read_facts_and_apply_feed_nft_its_ruleset() -> None:
    runner = RecordingRunner(
        {
            ("ip", "-j", "link"): Result(0, json.dumps([{"ifname": "lo"}, {"ifname": "tl-ctlplane"}])),
            ("ip", "-j", "netns"): Result(0, ""),
            ("nft", "list"): Result(1, "", "No such file or directory"),
        }
    )
    facts = read_facts(runner)
    assert facts == Facts(frozenset({"lo", "tl-ctlplane"}), frozenset(), False)
    apply(runner, [("ip", "link", "set", "tl-x", "up"), ("nft", "-f", "-")])
    assert runner.stdin[-1] == nft_ruleset()
    assert runner.stdin[-2] is None


def test_conflicts_with_the_hosts_routes_are_reported() -> None:
    routes = json.dumps(
        [
            {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
            {"dst": "10.0.0.0/16", "dev": "eth1"},
            {"dst": "192.168.24.0/24", "dev": "tl-ctlplane"},
        ]
    )
    problems = check_conflicts(default_config(1), routes)
    assert problems == [
        "network external (10.0.0.0/24) overlaps 10.0.0.0/16 on eth1",
        "network management (10.0.1.0/24) overlaps 10.0.0.0/16 on eth1",
    ]


def test_a_host_without_run_netns_has_no_namespaces() -> None:
    # what `ip -j netns list` prints on a host that never had a namespace (no /run/netns): nothing, exit 0
    assert namespaces(RecordingRunner({("ip", "-j", "netns"): Result(0, "")})) == frozenset()
    assert namespaces(RecordingRunner({("ip", "-j", "netns"): Result(1, "", "No such file")})) == frozenset()
    listed = json.dumps([{"name": "demo-node-0", "id": 0}, {"name": "tl-node-1"}])
    runner = RecordingRunner({("ip", "-j", "netns"): Result(0, listed)})
    assert lab_namespaces("demo", runner) == ["demo-node-0"]
    assert lab_namespaces("tl", runner) == ["tl-node-1"] and lab_namespaces("fr", runner) == []


NODE_LINKS = json.dumps(
    [
        {"ifname": "lo"},
        {"ifname": "eth0", "link": None},
        {"ifname": "eth1"},
        {"ifname": "br-ex"},  # made by the deploy's NIC config
        {"ifname": "vxlan-5"},  # made by Neutron
    ]
)


def test_power_off_takes_a_nodes_nics_down_and_removes_what_it_made() -> None:
    cmds = plan_links_off(NODE_LINKS, ["eth0", "eth1"], ("ip", "-n", "tl-node-0"))
    assert cmds == [
        ("ip", "-n", "tl-node-0", "link", "delete", "br-ex"),
        ("ip", "-n", "tl-node-0", "link", "delete", "vxlan-5"),
        ("ip", "-n", "tl-node-0", "addr", "flush", "dev", "eth0"),
        ("ip", "-n", "tl-node-0", "link", "set", "eth0", "down"),
        ("ip", "-n", "tl-node-0", "addr", "flush", "dev", "eth1"),
        ("ip", "-n", "tl-node-0", "link", "set", "eth1", "down"),
    ]
    assert plan_links_off("", ["eth0"]) == []
    # inside the node (its init at a soft power off): plain `ip`
    assert plan_links_off(NODE_LINKS, ["eth0", "eth1"])[2] == ("ip", "addr", "flush", "dev", "eth0")


def test_links_off_runs_in_the_nodes_namespace_and_skips_a_missing_one() -> None:
    runner = RecordingRunner({("ip", "-n", "tl-node-0", "-j", "link"): Result(0, NODE_LINKS)})
    links_off(runner, "tl-node-0", ["eth0", "eth1"])
    assert runner.commands[0] == ("ip", "-n", "tl-node-0", "-j", "link", "show")
    assert ("ip", "-n", "tl-node-0", "link", "set", "eth1", "down") in runner.commands
    gone = RecordingRunner({("ip", "-n"): Result(1, "", "Cannot open network namespace")})
    links_off(gone, "tl-node-9", ["eth0"])
    assert gone.commands == [("ip", "-n", "tl-node-9", "-j", "link", "show")]


def test_a_hard_power_off_ends_the_node_then_takes_its_links_down(tmp_path: Path) -> None:
    node = ONE_NODE.nodes[0]
    runner = RecordingRunner({("ip", "-n", "tl-node-0", "-j", "link"): Result(0, NODE_LINKS)})
    NodePower(node, NodePaths(tmp_path), runner).power_off()
    pids = runner.commands.index(("ip", "netns", "pids", "tl-node-0"))
    down = runner.commands.index(("ip", "-n", "tl-node-0", "link", "set", "eth1", "down"))
    assert pids < down  # its processes first: nothing of the node brings a link back up
    assert ("ip", "-n", "tl-node-0", "addr", "flush", "dev", "eth0") in runner.commands
    assert ("ip", "-n", "tl-node-0", "link", "delete", "br-ex") in runner.commands
