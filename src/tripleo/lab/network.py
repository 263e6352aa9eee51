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

from tripleo.lab.config import DEFAULT_NAME, MACHINE, LabConfig
from tripleo.lab.system import Runner

__all__ = [
    "NFT_TABLE",
    "Facts",
    "apply",
    "check_conflicts",
    "links_off",
    "namespaces",
    "nft_ruleset",
    "plan_down",
    "plan_links_off",
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
    table = runner.run(["nft", "list", "table", NFT_FAMILY, name], check=False)
    return Facts(
        links=frozenset(str(link.get("ifname", "")) for link in links),
        netns=namespaces(runner),
        nft_table=table.returncode == 0,
    )


def namespaces(runner: Runner) -> frozenset[str]:
    """The host's named network namespaces.

    A fresh host has no /run/netns until the first ``ip netns add`` (nor does a host whose /run is a new
    tmpfs): that is no namespace, not an error, so this asks ``ip`` (which says so) and never lists the
    directory itself.
    """
    result = runner.run(["ip", "-j", "netns", "list"], check=False)
    if result.returncode != 0:
        return frozenset()
    return frozenset(str(ns.get("name", "")) for ns in _json(result.stdout))


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
            if veth not in facts.links and node.kind == MACHINE:  # a tap QEMU opens (its MAC is QEMU's)
                cmds.append(("ip", "tuntap", "add", "dev", veth, "mode", "tap"))
            elif veth not in facts.links:
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


def plan_links_off(links_json: str, nics: Sequence[str], ip: Command = ("ip",)) -> list[Command]:
    """Commands that make a powered-off node's network what a machine without power has: nothing.

    Its NICs lose their addresses (and so their routes) and go down, so the lab's bridges see no carrier
    and nothing answers ARP or ping on an address the node held; links the node made at run time
    (bridges, VLANs, VXLANs of a deploy or of Neutron) are deleted, as they vanish with a machine's power.
    ``lo`` is left alone. The node's next boot brings its NICs up again (:mod:`tripleo.lab.nodeinit`).

    :param links_json: ``ip -j link show`` as the node sees it.
    :param nics: the node's NICs (the lab's veth peers), which are kept.
    :param ip: how to run ``ip`` there: ``("ip", "-n", <netns>)`` from the host, ``("ip",)`` inside.
    """
    made: list[Command] = []
    down: list[Command] = []
    for link in _json(links_json):
        name = str(link.get("ifname", ""))
        if name in nics:
            down += [(*ip, "addr", "flush", "dev", name), (*ip, "link", "set", name, "down")]
        elif name and name != "lo":
            made.append((*ip, "link", "delete", name))  # a NIC enslaved to it is released, not deleted
    return made + down


def links_off(runner: Runner, netns: str, nics: Sequence[str]) -> None:
    """Take a powered-off node's network down from the host (:func:`plan_links_off`).

    Best effort per command: a link the kernel removed meanwhile (with its master) is not an error.
    """
    ip = ("ip", "-n", netns)
    listed = runner.run([*ip, "-j", "link", "show"], check=False)
    if listed.returncode != 0:  # no such namespace: nothing to take down
        return
    for cmd in plan_links_off(listed.stdout, nics, ip):
        runner.run(cmd, check=False)


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
