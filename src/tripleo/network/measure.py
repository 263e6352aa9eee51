"""``validate network``: measure the reachability matrix with real pings and compare it with the proof.

The network plan file (written by ``netenv render``) lists the nodes and the proof's matrix. A probe runs
``ping`` from inside a node through its :mod:`tripleo.nodeshell` shell: in its network namespace for lab
nodes, over SSH to its ctlplane address for real hosts. The probe and the shell are injectable, so the
comparison is unit-tested without a network.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripleo.errors import InputError
from tripleo.nodeshell import NetnsShell, NodeShell, SshShell

__all__ = ["Measured", "Probe", "load_network_plan", "measure", "netns_probe", "shell_probe", "ssh_probe"]

Probe = Callable[[Mapping[str, Any], str], bool]


@dataclass(frozen=True)
class Measured:
    """One matrix cell: what the proof says and what a ping found."""

    source: str
    target: str
    network: str
    address: str
    proof: bool
    measured: bool

    @property
    def match(self) -> bool:
        return self.proof == self.measured

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "network": self.network,
            "address": self.address,
            "proof": self.proof,
            "measured": self.measured,
            "match": self.match,
        }


def load_network_plan(path: Path) -> dict[str, Any]:
    """Read the plan file ``netenv render`` wrote.

    :raises InputError: missing or unreadable file, or not a plan.
    """
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(
            f"cannot read network plan: {exc.strerror} (run `overcloud netenv render`)", file=str(path)
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc}", file=str(path)) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("nodes"), list)
        or not isinstance(data.get("matrix"), list)
    ):
        raise InputError("not a network plan (expected nodes and matrix)", file=str(path))
    return data


def _ping_argv(address: str) -> list[str]:
    family = "-6" if ipaddress.ip_address(address).version == 6 else "-4"
    return ["ping", family, "-c", "1", "-W", "1", "-n", "-q", address]


def shell_probe(connect: Callable[[Mapping[str, Any]], NodeShell], timeout: float) -> Probe:
    """A probe that pings through the shell ``connect`` gives for the source node.

    The probe raises :class:`~tripleo.nodeshell.ShellTimeout` when a ping does not finish in ``timeout``.
    """

    def probe(node: Mapping[str, Any], address: str) -> bool:
        return connect(node).run(_ping_argv(address), timeout=timeout).ok

    return probe


def netns_probe(node: Mapping[str, Any], address: str) -> bool:
    """Ping from inside a lab node's network namespace.

    :raises ShellTimeout: the ping did not finish in 10 s.
    """
    return shell_probe(lambda n: NetnsShell(str(n["netns"])), 10)(node, address)


def ssh_probe(key: Path | None = None) -> Probe:
    """Ping from a real node over SSH to its ctlplane address (as root, like the deployment does); a probe
    raises ShellTimeout when a ping does not finish in 30 s."""
    return shell_probe(lambda n: SshShell(str(n["ctlplane"]), key, connect_timeout=5), 30)


def default_probe(nodes: Sequence[Mapping[str, Any]]) -> Probe:
    """The netns probe when every node has a namespace here, else SSH."""
    listed = (
        subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        if shutil.which("ip")
        else ""
    )
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    if nodes and all(n.get("netns") in names for n in nodes):
        return netns_probe
    return ssh_probe()


def measure(plan: Mapping[str, Any], probe: Probe, workers: int = 32) -> list[Measured]:
    """Ping every cell of the plan's matrix (concurrently) and pair each result with the proof."""
    nodes = {n["name"]: n for n in plan["nodes"]}
    cells = list(plan["matrix"])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda c: probe(nodes[c["source"]], c["address"]), cells))
    return [
        Measured(c["source"], c["target"], c["network"], c["address"], bool(c["proof"]), ok)
        for c, ok in zip(cells, results, strict=True)
    ]
