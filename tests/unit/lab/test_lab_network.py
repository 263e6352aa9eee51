"""The lab's network plan: only the commands needed, by prefix on the way down, one firewall table."""

from __future__ import annotations

import json

from tripleo.lab import default_config, parse_config
from tripleo.lab.network import Facts, apply, check_conflicts, nft_ruleset, plan_down, plan_up, read_facts
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
