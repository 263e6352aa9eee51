"""``overcloud status``'s cluster view: who holds each VIP and what each clustered service says of itself.

The probes come from the templates (role_data ``status_probes``: ``{name, command}``, a shell command on the
node that prints ``key=value`` lines), so no service's name is known here: Galera's members and their state,
RabbitMQ's members and alarms, HAProxy's backends. The deploy keeps each host's probes in its record; status
asks every host at once over SSH: a host whose SSH does not connect within 5 s (powered off, cut off), or
whose probes have not ended in 30 s, is "unreachable" (each rabbitmqctl starts an Erlang VM: on a busy
node the probes took more than the 10 s they once had, and CI saw two live controllers as unreachable).
A VIP is held by the hosts that have it on a device: one holder is the only good answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tripleo.nodeshell import NodeShell, ShellTimeout
from tripleo.resources.provisioned import ctlplane_shells

__all__ = ["UNREACHABLE", "cluster_view", "parse_values", "vip_lines"]

UNREACHABLE = "unreachable"
_ADDRESSES = "ip -o addr show scope global | awk '{print $4}'"
_MARK = "::tripleo-probe::"
TIMEOUT = 30.0


def parse_values(text: str) -> dict[str, str]:
    """``key=value`` lines (others ignored) as a mapping, in order."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            out[key] = value
    return out


def _script(probes: Sequence[Mapping[str, str]]) -> str:
    parts = [f"echo '{_MARK}addresses'; {_ADDRESSES}"]
    parts += [f"echo '{_MARK}{p['name']}'; ( {p['command']} ) 2>/dev/null" for p in probes]
    return "; ".join(parts) + "; true"


def _ask(host: Mapping[str, Any], shell: NodeShell) -> dict[str, Any] | None:
    probes = list(host.get("probes") or [])
    try:
        done = shell.run(_script(probes), timeout=TIMEOUT)
    except ShellTimeout:
        return None
    if not done.ok:
        return None
    sections: dict[str, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith(_MARK):
            current = sections.setdefault(line[len(_MARK) :], [])
        elif current is not None:
            current.append(line)
    addresses = [a.split("/")[0] for a in sections.get("addresses", [])]
    values = {p["name"]: parse_values("\n".join(sections.get(p["name"], []))) for p in probes}
    return {"addresses": addresses, "probes": values}


def vip_lines(vips: Mapping[str, str], holders: Mapping[str, list[str]]) -> list[str]:
    """One line per VIP: its holder, or what is wrong (no holder, several)."""
    lines = []
    for network, vip in sorted(vips.items()):
        who = holders.get(network, [])
        state = who[0] if len(who) == 1 else f"ERROR: held by {', '.join(who)}" if who else "ERROR: no holder"
        lines.append(f"VIP {network} {vip}: {state}")
    return lines


def cluster_view(
    hosts: Sequence[Mapping[str, Any]],
    vips: Mapping[str, str],
    *,
    connect: Callable[[Mapping[str, Any]], NodeShell] | None = None,
) -> dict[str, Any]:
    """``{"vip_holders": {network: [host]}, "probes": {probe: {host: {key: value} | "unreachable"}}}``."""
    if not hosts:
        return {"vip_holders": {}, "probes": {}}
    shell_to = connect or ctlplane_shells(connect_timeout=5)
    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        answers = list(pool.map(lambda h: _ask(h, shell_to(h)), hosts))
    pairs = list(zip(hosts, answers, strict=True))
    holders = {
        net: [str(h["name"]) for h, a in pairs if a and vip in a["addresses"]] for net, vip in vips.items()
    }
    probes: dict[str, dict[str, Any]] = {}
    for host, answer in pairs:
        for probe in host.get("probes") or []:
            table = probes.setdefault(probe["name"], {})
            table[str(host["name"])] = (
                UNREACHABLE if answer is None else answer["probes"].get(probe["name"], {})
            )
    return {"vip_holders": holders, "probes": probes}
