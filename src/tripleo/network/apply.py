"""The node-side applier: make a host's links match a (nicN-resolved) NIC config, with pyroute2.

Plan, then apply: :func:`read_facts` reads links, addresses and routes; :func:`plan` compares them with the
config and returns only the steps needed; :func:`apply` runs them. A second run plans nothing and says so.
Interfaces, Linux bridges, addresses, routes and MTU are applied; VLANs and Linux bonds only where the
kernel has them (8021q, bonding), OVS objects and DHCP never (they are validated and rendered elsewhere).

Once applied, the deploy's SSH peer must still answer, or both are rolled back (:mod:`.rollback`).

Run inside a node: ``python -m tripleo.network.apply CONFIG.json [--firewall RULES.nft] [--dry-run]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.errors import InputError, OperationError, TripleoError
from tripleo.network.firewall import TABLE
from tripleo.network.nicconfig import NIC_NAME, Device, RouteSpec, parse_network_config, resolve_nics, walk
from tripleo.shipped import FLOATING

__all__ = [
    "Facts",
    "LinkFact",
    "Step",
    "apply",
    "apply_firewall",
    "change_address",
    "kernel_support",
    "link_index",
    "main",
    "plan",
    "read_facts",
    "resolve_rule_nics",
]

_MODULES = {"vlan": "8021q", "linux_bond": "bonding"}


@dataclass(frozen=True)
class LinkFact:
    index: int
    kind: str
    mtu: int
    up: bool
    master: int | None
    addresses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Facts:
    """What the host has: links by name, and routes as (destination or "default", gateway, device)."""

    links: dict[str, LinkFact]
    routes: frozenset[tuple[str, str | None, str]] = frozenset()
    modules: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Step:
    """One change: what it does, and the netlink call that does it."""

    description: str
    run: Callable[[Any], None]


def kernel_support() -> frozenset[str]:
    """Kernel modules present (built in or loaded) that some objects need."""
    return frozenset(m for m in _MODULES.values() if Path(f"/sys/module/{m}").exists())


def read_facts(ipr: Any) -> Facts:
    """Read links with their addresses and the main routing table through a pyroute2 IPRoute."""
    names: dict[int, str] = {}
    raw = []
    for link in ipr.get_links():
        info = link.get("linkinfo")
        kind = info.get("kind") if info is not None else None
        names[link["index"]] = link.get("ifname")
        raw.append((link, kind or "device"))
    addrs: dict[int, set[str]] = {}
    for msg in ipr.get_addr():
        address = ipaddress.ip_interface(f"{msg.get('address')}/{msg['prefixlen']}")
        if not address.ip.is_link_local:
            addrs.setdefault(msg["index"], set()).add(str(address))
    links = {
        str(link.get("ifname")): LinkFact(
            index=link["index"],
            kind=kind,
            mtu=int(link.get("mtu")),
            up=bool(link["flags"] & 1),
            master=link.get("master"),
            addresses=frozenset(addrs.get(link["index"], ())),
        )
        for link, kind in raw
    }
    routes = set()
    for family in (2, 10):
        for route in ipr.get_routes(family=family, table=254):
            dst = route.get("dst")
            dst = f"{dst}/{route['dst_len']}" if dst else "default"
            routes.add((dst, route.get("gateway"), names.get(route.get("oif"), "")))
    return Facts(links, frozenset(routes), kernel_support())


def _refuse(dev: Device, facts: Facts) -> None:
    if dev.type.startswith("ovs_"):
        raise OperationError(f"{dev.name}: {dev.type} needs Open vSwitch, which this applier does not drive "
                             "(OVS configs are validated and rendered, not applied here)")  # fmt: skip
    module = _MODULES.get(dev.type)
    if module and module not in facts.modules:
        raise OperationError(
            f"{dev.name}: this kernel has no {module} module, so a {dev.type} cannot be made here"
        )
    if dev.use_dhcp:
        raise OperationError(f"{dev.name}: use_dhcp is not supported by this applier; give static addresses")
    if dev.type == "interface" and NIC_NAME.match(dev.name):
        raise InputError(f"{dev.name}: unresolved nicN name (render the config for this node first)")


def _create_steps(dev: Device, facts: Facts) -> list[Step]:
    if dev.name in facts.links:
        return []
    if dev.type == "interface":
        raise OperationError(f"interface {dev.name} does not exist on this host")
    if dev.type == "linux_bridge":
        return [
            Step(f"create bridge {dev.name}", lambda ipr: ipr.link("add", ifname=dev.name, kind="bridge"))
        ]
    if dev.type == "linux_bond":
        opts = dict(kv.split("=", 1) for kv in dev.options.split() if "=" in kv)
        mode = opts.get("mode", "active-backup")
        return [
            Step(
                f"create bond {dev.name} ({mode})",
                lambda ipr: ipr.link("add", ifname=dev.name, kind="bond", bond_mode=mode),
            )
        ]
    parent = str(dev.device)

    def vlan(ipr: Any) -> None:
        ipr.link(
            "add", ifname=dev.name, kind="vlan", link=ipr.link_lookup(ifname=parent)[0], vlan_id=dev.vlan_id
        )

    return [Step(f"create vlan {dev.name} (id {dev.vlan_id} on {parent})", vlan)]


def link_index(ipr: Any, name: str) -> int:
    """The index of link ``name``."""
    return int(ipr.link_lookup(ifname=name)[0])


def _link_steps(dev: Device, container: Device | None, facts: Facts) -> list[Step]:
    steps: list[Step] = []
    fact = facts.links.get(dev.name)
    if container is not None and container.type != "ovs_bridge" and dev.type != "vlan":
        master = facts.links.get(container.name)
        if fact is None or master is None or fact.master != master.index:
            bridge = container.name

            def enslave(ipr: Any) -> None:
                ipr.link("set", index=link_index(ipr, dev.name), master=link_index(ipr, bridge))

            steps.append(Step(f"add {dev.name} to {bridge}", enslave))
    if dev.mtu is not None and (fact is None or fact.mtu != dev.mtu):
        steps.append(
            Step(
                f"set {dev.name} mtu {dev.mtu}",
                lambda ipr: ipr.link("set", index=link_index(ipr, dev.name), mtu=dev.mtu),
            )
        )
    if fact is None or not fact.up:
        steps.append(
            Step(
                f"set {dev.name} up", lambda ipr: ipr.link("set", index=link_index(ipr, dev.name), state="up")
            )
        )
    return steps


def change_address(ipr: Any, verb: str, dev: str, text: str) -> None:
    """Add (``verb`` "add") or remove ("del") the address ``text`` (address/prefix) on link ``dev``."""
    iface = ipaddress.ip_interface(text)
    ipr.addr(verb, index=link_index(ipr, dev), address=str(iface.ip), prefixlen=iface.network.prefixlen)


def _address_step(verb: str, dev: str, text: str) -> Step:
    where = "to" if verb == "add" else "from"
    return Step(f"{'add' if verb == 'add' else 'remove'} address {text} {where} {dev}",
                partial(change_address, verb=verb, dev=dev, text=text))  # fmt: skip


def _address_steps(dev: Device, facts: Facts, floating: frozenset[str]) -> list[Step]:
    have = (facts.links[dev.name].addresses if dev.name in facts.links else frozenset()) - floating
    want = {str(a) for a in dev.addresses}
    return [_address_step("add", dev.name, t) for t in sorted(want - have)] + [
        _address_step("del", dev.name, t) for t in sorted(have - want)
    ]


def _route_steps(dev: Device, facts: Facts) -> list[Step]:
    steps = []
    for route in dev.routes:
        dst = str(route.destination) if route.destination is not None else "default"
        hop = str(route.next_hop) if route.next_hop is not None else None
        if (dst, hop, dev.name) in facts.routes:
            continue

        def add(ipr: Any, r: RouteSpec = route) -> None:
            kwargs: dict[str, Any] = {"gateway": str(r.next_hop), "oif": link_index(ipr, dev.name)}
            if r.destination is not None:
                kwargs["dst"] = str(r.destination)
            else:
                kwargs["dst"] = "default" if r.next_hop is None or r.next_hop.version == 4 else "::/0"
            ipr.route("add", **kwargs)

        steps.append(Step(f"add route {dst} via {hop} dev {dev.name}", add))
    return steps


def plan(devices: Sequence[Device], facts: Facts, floating: frozenset[str] = frozenset()) -> list[Step]:
    """The steps that take the host from ``facts`` to ``devices`` (empty when it is there already);
    ``floating`` addresses (``address/prefix``, e.g. keepalived's VIPs) are neither added nor removed.

    :raises OperationError: objects this host cannot make (OVS, a VLAN without 8021q, ...) or a missing NIC.
    """
    for dev, _ in walk(devices):
        _refuse(dev, facts)
    steps: list[Step] = []
    for dev, _ in walk(devices):
        steps += _create_steps(dev, facts)
    for dev, container in walk(devices):
        steps += _link_steps(dev, container, facts)
    for dev, _ in walk(devices):
        steps += _address_steps(dev, facts, floating)
    for dev, _ in walk(devices):
        steps += _route_steps(dev, facts)
    return steps


def apply(devices: Sequence[Device], ipr: Any, dry_run: bool = False,
          floating: frozenset[str] = frozenset()) -> list[str]:  # fmt: skip
    """Plan and run; the descriptions of what changed (or would, with ``dry_run``)."""
    steps = plan(devices, read_facts(ipr), floating)
    for step in steps:
        if not dry_run:
            step.run(ipr)
    return [s.description for s in steps]


def _nft_table() -> str:
    proc = subprocess.run(["nft", "list", "table", "inet", TABLE], capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else ""


def apply_firewall(rules: str, dry_run: bool = False) -> bool:
    """Load the ruleset (it replaces the ``tripleo`` table atomically); True when the table changed."""
    before = _nft_table()
    cmd = ["nft", "-c", "-f", "-"] if dry_run else ["nft", "-f", "-"]
    proc = subprocess.run(cmd, input=rules, capture_output=True, text=True)
    if proc.returncode != 0:
        raise OperationError(f"nft refused the firewall rules: {proc.stderr.strip()}")
    return not dry_run and _nft_table() != before


def resolve_rule_nics(rules: str, nics: Sequence[str]) -> str:
    """Replace quoted ``"nicN"`` interface names in firewall rules with this host's N-th NIC.

    :raises InputError: a nicN beyond ``nics``, or any nicN left when no NICs are given.
    """

    def name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if not 1 <= index <= len(nics):
            raise InputError(f"firewall rules use nic{index}: this host has {len(nics)} NICs given (--nics)")
        return f'"{nics[index - 1]}"'

    return re.sub(r'"nic(\d+)"', name, rules)


def _checked(devices: Sequence[Device], firewall: str | None, floating: frozenset[str], peer: str | None,
             timeout: float) -> tuple[list[str], bool]:  # fmt: skip
    """Apply the NIC config and the firewall; when ``peer`` answered before and does not after, roll both
    back (:mod:`tripleo.network.rollback`). Returns the changes and whether the firewall changed.

    :raises OperationError: the peer was lost, naming what was rolled back.
    """
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

    from tripleo.network import rollback

    with IPRoute() as ipr:
        before = read_facts(ipr)
        table = _nft_table() if firewall is not None else ""
        if peer is not None and not rollback.answers(peer, min(timeout, 3.0)):
            print(f"check: {peer} does not answer before the change: not checked")
            peer = None
        changes = apply(devices, ipr, False, floating)
        changed = apply_firewall(firewall) if firewall is not None else False
        if peer is None or not (changes or changed) or rollback.answers(peer, timeout):
            return changes, changed
        undone, failed = rollback.revert(before, ipr, floating)
        if changed and not rollback.restore_firewall(table):
            failed.append("the firewall table")
    left = f"; could not undo: {'; '.join(failed)}" if failed else ""
    raise OperationError(
        f"{peer} (the deploy's ctlplane peer) stopped answering within {timeout:g} s of applying "
        f"{len(changes)} NIC changes{' and the firewall' if changed else ''}: rolled back "
        f"({len(undone)} steps{', and the firewall' if changed else ''}){left}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tripleo.network.apply", description=__doc__.split("\n")[0]
    )
    parser.add_argument("config", type=Path, help="NIC config (JSON or YAML network_config, nicN resolved)")
    parser.add_argument("--firewall", type=Path, help="nftables rules for this node")
    parser.add_argument(
        "--nics", help="this host's NICs in order (eth0,eth1,...) for nicN names left in the files"
    )
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--check-peer", help="the address that must still answer once applied (default: "
                        "the SSH client's); the changes are rolled back when it does not")  # fmt: skip
    parser.add_argument("--check-timeout", type=float, default=10.0, help="seconds it has to answer")
    parser.add_argument("--no-check", action="store_true", help="apply without checking any peer")
    args = parser.parse_args(argv)
    try:
        import yaml

        try:
            data = boundedyaml.safe_load(args.config.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read NIC config: {exc}", file=str(args.config)) from exc
        nics = [n for n in (args.nics or "").split(",") if n]
        if nics:
            data = resolve_nics(data, nics, "this host")
        devices = parse_network_config(data)
        floating = (
            frozenset(str(a) for a in data.get(FLOATING) or []) if isinstance(data, dict) else frozenset()
        )
        rules = resolve_rule_nics(args.firewall.read_text(), nics) if args.firewall else None
        if args.dry_run:
            changes, firewall_changed = _dry_run(devices, rules, floating)
        else:
            from tripleo.network.rollback import ssh_peer

            peer = None if args.no_check else args.check_peer or ssh_peer()
            changes, firewall_changed = _checked(devices, rules, floating, peer, args.check_timeout)
        for change in changes:
            print(("would " if args.dry_run else "") + change)
        if not changes:
            print("network: no changes")
        if rules is not None:
            done = "applied" if firewall_changed else "checked" if args.dry_run else "no changes"
            print("firewall: " + done)
    except TripleoError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"changed": bool(changes) or firewall_changed}))
    return 0


def _dry_run(devices: Sequence[Device], rules: str | None,
             floating: frozenset[str]) -> tuple[list[str], bool]:  # fmt: skip
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        changes = apply(devices, ipr, True, floating)
    return changes, apply_firewall(rules, True) if rules is not None else False


if __name__ == "__main__":
    sys.exit(main())
