"""The lab's networks on the host: bridges, node namespaces with their veths, and the host firewall.

Plan, then apply: :func:`read_facts` looks at the host, :func:`plan_up` / :func:`plan_down` return only the
commands needed to get from there to the wanted state, :func:`apply` runs them. Running ``up`` twice therefore
changes nothing the second time, and ``down`` works from whatever a crash left behind: it goes by the lab's
prefix (``<name>-``), not by the lab's (possibly lost) state file. Each lab has its own nftables table, named
as the lab.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass

from tripleo.lab.config import DEFAULT_NAME, LabConfig
from tripleo.lab.system import Runner

__all__ = [
    "NFT_TABLE",
    "Facts",
    "apply",
    "check_conflicts",
    "nft_ruleset",
    "plan_down",
    "plan_up",
    "read_facts",
]

NFT_FAMILY = "inet"
NFT_TABLE = DEFAULT_NAME  # the default lab's table: each lab's table is named as the lab
Command = tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """What the host has now: interface names, namespace names, whether the lab's nft table exists."""

    links: frozenset[str]
    netns: frozenset[str]
    nft_table: bool


def _json(text: str) -> list[dict[str, object]]:
    text = text.strip()
    if not text:
        return []
    data = json.loads(text)
    return data if isinstance(data, list) else []


def read_facts(runner: Runner, name: str = DEFAULT_NAME) -> Facts:
    """Read the host's current interfaces, namespaces and the firewall table of lab ``name``."""
    links = _json(runner.run(["ip", "-j", "link", "show"]).stdout)
    netns = _json(runner.run(["ip", "-j", "netns", "list"], check=False).stdout)
    table = runner.run(["nft", "list", "table", NFT_FAMILY, name], check=False)
    return Facts(
        links=frozenset(str(link.get("ifname", "")) for link in links),
        netns=frozenset(str(ns.get("name", "")) for ns in netns),
        nft_table=table.returncode == 0,
    )


def nft_ruleset(name: str = DEFAULT_NAME) -> str:
    """The host rule that keeps lab traffic in the lab: no forwarding between a lab bridge and anything else
    (another lab's included).

    Applied as one transaction that replaces the table, so applying it twice leaves one copy.
    """
    lab = f'"{name}-*"'
    return (
        f"table {NFT_FAMILY} {name}\n"
        f"delete table {NFT_FAMILY} {name}\n"
        f"table {NFT_FAMILY} {name} {{\n"
        "  chain forward {\n"
        "    type filter hook forward priority filter - 10; policy accept;\n"
        f'    iifname {lab} oifname != {lab} counter drop comment "lab traffic stays in the lab"\n'
        f'    iifname != {lab} oifname {lab} counter drop comment "nothing enters the lab from outside"\n'
        "  }\n"
        "}\n"
    )


def check_conflicts(config: LabConfig, routes_json: str) -> list[str]:
    """Lab subnets that overlap a route the host already has on a non-lab interface."""
    problems = []
    for route in _json(routes_json):
        dev, dst = str(route.get("dev", "")), str(route.get("dst", ""))
        if dev.startswith(config.prefix) or dst == "default":
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        for spec in config.networks:
            if net.version == 4 and spec.subnet.overlaps(net):
                problems.append(f"network {spec.name} ({spec.cidr}) overlaps {dst} on {dev}")
    return problems


def plan_up(config: LabConfig, facts: Facts) -> list[Command]:
    """Commands that create whatever of the lab's networks is missing (and only that)."""
    cmds: list[Command] = []
    for net in config.networks:
        if net.bridge not in facts.links:
            cmds.append(("ip", "link", "add", net.bridge, "type", "bridge"))
        cmds.append(("ip", "link", "set", net.bridge, "up"))
        if net.host_address:
            cidr = f"{net.host_address}/{net.subnet.prefixlen}"
            cmds.append(("ip", "addr", "replace", cidr, "dev", net.bridge))
    for node in config.nodes:
        if node.netns not in facts.netns:
            cmds.append(("ip", "netns", "add", node.netns))
        cmds.append(("ip", "-n", node.netns, "link", "set", "lo", "up"))
        for nic, (net_name, mac) in enumerate(zip(node.networks, node.macs, strict=True)):
            veth = config.veth(node, nic)
            if veth not in facts.links:
                peer = ("peer", "name", node.nic_name(nic), "address", mac, "netns", node.netns)
                cmds.append(("ip", "link", "add", veth, "type", "veth", *peer))
            cmds.append(("ip", "link", "set", veth, "master", config.network(net_name).bridge, "up"))
    cmds.append(("nft", "-f", "-"))
    return cmds


def plan_down(facts: Facts, name: str = DEFAULT_NAME) -> list[Command]:
    """Commands that remove lab ``name``'s namespaces, interfaces and firewall table (by its prefix; another
    lab's are left alone).

    The caller ends the namespaces' processes first; deleting a namespace also deletes its veth peers.
    """
    prefix = f"{name}-"
    cmds: list[Command] = [
        ("ip", "netns", "delete", ns) for ns in sorted(facts.netns) if ns.startswith(prefix)
    ]
    cmds += [("ip", "link", "delete", ln) for ln in sorted(facts.links) if ln.startswith(prefix)]
    if facts.nft_table:
        cmds.append(("nft", "delete", "table", NFT_FAMILY, name))
    return cmds


def apply(
    runner: Runner, commands: Sequence[Command], *, ignore_missing: bool = False, name: str = DEFAULT_NAME
) -> None:
    """Run planned commands in order. ``nft -f -`` gets lab ``name``'s ruleset on stdin.

    :param ignore_missing: for teardown: an object that vanished meanwhile (a veth deleted with its
        namespace) is not an error.
    """
    for cmd in commands:
        stdin = nft_ruleset(name) if cmd == ("nft", "-f", "-") else None
        if ignore_missing:
            runner.run(cmd, check=False, stdin=stdin)
        else:
            runner.run(cmd, stdin=stdin)
