"""Config digests: what config download gives each node for each unit of work, and what the node last applied.

A node's units are ``packages`` (the Debian packages its services need), ``network`` (its NIC config,
firewall rules and the node agent that applies them) and ``step1`` .. ``step5`` (the deploy steps). A unit's
digest covers everything that unit reads:

- ``packages``: the set of package names (not their order, nor the cache they come through: a package
  installed is installed whichever way it came);
- ``network``: the NIC config, the nftables rules and the agent's bytes;
- ``step N``: the Puppet modules shipped (the digest of their archive: the same bytes for the same tree)
  and the node's modules they depend on, the hiera hierarchy, every hieradata file but ``service_configs``,
  and of ``service_configs`` the keys of the services that act in step N (plus the keys no service owns),
  with those services' ``step_config``, and the node's container step file of step N (a containerized
  service acts in step 1, where its config is generated, and in the steps of its containers).

Which steps a service acts in comes from its Puppet profile: the ``$step == N`` / ``$step >= N`` tests of
the classes its ``step_config`` includes (a class whose file is not shipped, or that tests no step, acts in
every step). So a Keystone setting changes the digest of step 3 on the nodes running Keystone, and nothing
else.

A node records each unit's digest under ``/var/lib/tripleo/applied/<unit>`` once the unit succeeded, on its
own disk: a wiped or replaced node has no record and is done again in full. :func:`query` asks every node
for its records in one parallel round trip (through :mod:`tripleo.nodeshell`); :func:`plan` compares.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripleo.config.roledata import Service
from tripleo.nodeshell import NodeShell, ShellTimeout, SshShell
from tripleo.shipped import AGENT_ON_NODE, BOOT_CHECK_ON_NODE, BOOT_FILE

__all__ = [
    "APPLIED_DIR",
    "DEAD",
    "NETWORK",
    "PACKAGES",
    "QUERY",
    "HostPlan",
    "acting_steps",
    "parse_answer",
    "plan",
    "query",
    "step_unit",
    "unit_digests",
    "units",
]

APPLIED_DIR = "/var/lib/tripleo/applied"
NETWORK = "network"
PACKAGES = "packages"
_SERVICE_CONFIGS = "service_configs"
_INCLUDE = re.compile(r"(?:include|contain|require)\s+'?(?:::)?([a-z][a-z0-9_]*(?:::[a-z0-9_]+)*)'?"
                      r"|class\s*\{\s*'(?:::)?([a-z][a-z0-9_]*(?:::[a-z0-9_]+)*)'")  # fmt: skip
_TEST = re.compile(r"\$step\s*(==|>=|>|<=|<|!=)\s*(\d+)")


def step_unit(step: int) -> str:
    return f"step{step}"


def units(steps: int) -> list[str]:
    return [PACKAGES, NETWORK, *(step_unit(s) for s in range(1, steps + 1))]


def _sha(data: Any) -> str:
    text = (
        data
        if isinstance(data, (bytes, bytearray))
        else json.dumps(data, sort_keys=True, default=str).encode()
    )
    return hashlib.sha256(text).hexdigest()


def _manifest(modules: Path, klass: str) -> Path:
    module, *rest = klass.split("::")
    if not rest:
        return modules / module / "manifests" / "init.pp"
    return modules / module / "manifests" / Path(*rest[:-1]) / f"{rest[-1]}.pp"


def acting_steps(step_config: str, modules: Path | None, steps: int) -> frozenset[int]:
    """The steps in which the classes ``step_config`` includes act (see the module docstring)."""
    every = frozenset(range(1, steps + 1))
    classes = [a or b for a, b in _INCLUDE.findall(step_config)]
    if not classes:
        return frozenset() if not step_config.strip() else every
    acting: set[int] = set()
    for klass in classes:
        path = _manifest(modules, klass) if modules is not None else None
        if path is None or not path.is_file():
            return every
        tests = _TEST.findall(path.read_text(errors="replace"))
        if not tests:
            return every
        for op, value in tests:
            n = int(value)
            acting.update(s for s in every if _holds(s, op, n))
    return frozenset(acting)


def _holds(step: int, op: str, n: int) -> bool:
    return {
        "==": step == n, ">=": step >= n, ">": step > n, "<=": step <= n, "<": step < n, "!=": step != n,
    }[op]  # fmt: skip


@dataclass(frozen=True)
class UnitInputs:
    """What every step digest of one project shares: the modules and the hiera hierarchy."""

    modules: str  # digest of the shipped modules' archive ("" without modules)
    vendor: tuple[str, ...] = ()
    hierarchy: str = ""
    steps: int = 5
    agent: str = ""  # digest of the node agent's bytes


def unit_digests(
    *,
    hieradata: Mapping[str, Any],
    network_config: Any,
    firewall: str,
    services: Sequence[Service],
    acting: Mapping[str, frozenset[int]],
    shared: UnitInputs,
    containers: Mapping[int, Any] | None = None,
    packages: Iterable[str] = (),
) -> dict[str, str]:
    """Every unit's digest for one node (see the module docstring); ``containers``: the node's container
    step files (step -> content), each part of its step's digest; ``packages``: the Debian packages its
    services need."""
    containers = containers or {}
    out = {
        PACKAGES: _sha(sorted(set(packages))),
        NETWORK: _sha({"nic": network_config, "firewall": firewall, "agent": shared.agent}),
    }
    configs = dict(hieradata.get(_SERVICE_CONFIGS) or {})
    owned = {key for s in services for key in s.config_settings}
    common = {k: v for k, v in configs.items() if k not in owned}
    files = {k: v for k, v in hieradata.items() if k != _SERVICE_CONFIGS}
    for step in range(1, shared.steps + 1):
        active = [s for s in services if step in acting.get(s.name, frozenset())]
        mine = {k: configs.get(k) for s in active for k in s.config_settings}
        out[step_unit(step)] = _sha({
            "step": step, "modules": shared.modules, "vendor": list(shared.vendor), "hiera": shared.hierarchy,
            "files": files, "files_list": sorted(hieradata), "common": common, "settings": mine,
            "puppet": [s.step_config for s in active], "containers": containers.get(step),
            # the agent runs a step's containers: its code is part of the steps it runs
            "agent": shared.agent if containers.get(step) else "",
        })  # fmt: skip
    return out


@dataclass
class HostPlan:
    """One node's units: which run (and why), which are skipped."""

    host: str
    digests: dict[str, str]
    applied: dict[str, str] | None  # None: the node could not be asked
    run: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def skipped(self) -> list[str]:
        return [u for u in self.digests if u not in self.run]


def plan(
    digests: Mapping[str, Mapping[str, str]],
    applied: Mapping[str, Mapping[str, str] | None],
    *,
    force: Iterable[str] = (),
) -> dict[str, HostPlan]:
    """Per host, the units whose digest differs from what the node applied (all of them for ``force``)."""
    forced = set(force)
    out = {}
    for host, wanted in digests.items():
        have = applied.get(host)
        hp = HostPlan(host, dict(wanted), dict(have) if have is not None else None)
        for unit, digest in wanted.items():
            if host in forced:
                why = "--force"
            elif have is None:
                why = "the node did not answer"
            elif unit not in have:
                why = "never applied on this node"
            elif have[unit] != digest:
                why = "changed"
            else:
                continue
            hp.run.append(unit)
            hp.reasons[unit] = why
        out[host] = hp
    return out


# each file of the applied directory as "<unit> <digest>"; nothing (and success) on a node that has none; then
# "dead <name>" for each boot service that does not run (tripleo.config.boot)
QUERY = (
    f'(cd {APPLIED_DIR} 2>/dev/null && for f in *; do [ -f "$f" ] && echo "$f $(cat "$f")"; done); '
    # the shell check config download ships; a node configured before it had one: the agent's own check
    f"if [ -f {BOOT_CHECK_ON_NODE} ]; then sh {BOOT_CHECK_ON_NODE}; "
    f"elif [ -f {BOOT_FILE} ] && [ -f {AGENT_ON_NODE} ]; then python3 {AGENT_ON_NODE} boot check; fi; true"
)
DEAD = "dead:"  # a record key: the boot service named after it does not run


def parse_answer(text: str) -> dict[str, str]:
    """A node's answer to :data:`QUERY`: unit -> digest, and ``dead:<name>`` for each boot service that does
    not run."""
    out = {}
    for line in text.splitlines():
        name, _, digest = line.strip().partition(" ")
        if name == "dead" and digest:
            out[DEAD + digest] = ""
        elif name and digest:
            out[name] = digest
    return out


def _ask(shell: NodeShell, timeout: float) -> dict[str, str] | None:
    try:
        done = shell.run(QUERY, timeout=timeout + 5)
    except ShellTimeout:
        return None
    if not done.ok:
        return None
    return parse_answer(done.stdout)


def query(
    addresses: Mapping[str, str],
    key: Path,
    timeout: float = 10.0,
    *,
    connect: Callable[[str], NodeShell] | None = None,
    known: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, str] | None]:
    """What each node (host -> ctlplane address) last applied, asked of all nodes at once; None for a node
    that did not answer (every unit runs there; Ansible then says why it is unreachable).

    :param connect: the shell to an address; by default SSH with ``key``, ``timeout`` to connect (and five
        seconds more for the answer).
    :param known: answers this deploy already has (address -> parsed answer: the deployed servers' probe asks
        the same in its session); those nodes are not asked again.
    :raises OperationError: the SSH client could not be started.
    """
    known = known or {}
    out: dict[str, dict[str, str] | None] = {h: dict(known[a]) for h, a in addresses.items() if a in known}
    ask = {h: a for h, a in addresses.items() if a not in known}
    if not ask:
        return out
    shell_to = connect or (lambda address: SshShell(address, key, connect_timeout=int(timeout)))
    with ThreadPoolExecutor(max_workers=min(32, len(ask))) as pool:
        futures = {host: pool.submit(_ask, shell_to(address), timeout) for host, address in ask.items()}
        out.update({host: future.result() for host, future in futures.items()})
    return {h: out[h] for h in addresses}
