"""Recovering a clustered store after a full outage: ``tripleo overcloud database recover``.

Galera keeps going while a primary component exists; when every member went down at once (a power cut), no
member may start alone until one is chosen to bootstrap a new primary component: the one that committed
the most. The procedure is Galera's (and kolla-ansible's "recover" play), the commands are the service
template's (role_data ``cluster_recovery``: ``facts``, ``stop``, ``bootstrap``, ``join``; no service's name
is known here):

1. ``facts`` on every member at once: ``running`` (yes/no), ``state`` (Primary or not, when running), the
   cluster ``uuid``, the committed ``seqno`` (recovered from the storage engine when the state file says
   -1) and ``safe_to_bootstrap``;
2. :func:`decide`: a member that runs in a primary component means there is nothing to bootstrap (the others
   ``join``); members stuck outside one are stopped first; otherwise the member with the highest seqno
   bootstraps (ties: the one marked safe to bootstrap, then the bootstrap order), refusing members of
   different clusters;
3. ``bootstrap`` on the chosen member, then ``join`` on the others that answer, one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tripleo.errors import OperationError
from tripleo.nodeshell import NodeShell, ShellTimeout
from tripleo.resources.provisioned import ctlplane_shells
from tripleo.workflows.clusterview import parse_values

__all__ = ["Decision", "decide", "recover"]

_ZERO_UUID = "00000000-0000-0000-0000-000000000000"
FACTS_TIMEOUT = 120.0
ACT_TIMEOUT = 900.0
STOP_ROUNDS = 3  # stop, look again: a member still booting may have started since


@dataclass
class Decision:
    """What to do: stop ``stop`` first, bootstrap ``bootstrap`` (None: a primary component runs), then
    ``join`` the others; ``reason`` says why in one line."""

    bootstrap: str | None
    join: list[str]
    stop: list[str] = field(default_factory=list)
    reason: str = ""


def _seqno(fact: Mapping[str, str]) -> int:
    for key in ("recovered", "seqno"):
        text = fact.get(key, "").rsplit(":", 1)[-1].strip()
        if text.lstrip("-").isdigit() and int(text) >= 0:
            return int(text)
    return -1


def _uuid(fact: Mapping[str, str]) -> str:
    recovered = fact.get("recovered", "")
    uuid = recovered.rsplit(":", 1)[0].strip() if ":" in recovered else fact.get("uuid", "").strip()
    return "" if uuid in ("", _ZERO_UUID) else uuid


def decide(facts: Mapping[str, Mapping[str, str] | None], order: Sequence[str]) -> Decision:
    """The recovery of members ``order`` (bootstrap order) from their ``facts`` (None: unreachable).

    :raises OperationError: no member answered, or members belong to different clusters.
    """
    answered = [h for h in order if facts.get(h) is not None]
    if not answered:
        raise OperationError("no member answered: nothing can be recovered")
    seen = {h: dict(facts[h] or {}) for h in answered}
    running = [h for h in answered if seen[h].get("running") == "yes"]
    primary = [h for h in running if seen[h].get("state") == "Primary"]
    if primary:
        return Decision(None, [h for h in answered if h not in running],
                        reason=f"{primary[0]} runs in a primary component: the others join it")  # fmt: skip
    if running:  # waiting outside a primary component: their position is only known once they stop
        return Decision(
            None, [], stop=running, reason=f"{', '.join(running)} wait outside a primary component"
        )
    uuids = {_uuid(seen[h]) for h in answered} - {""}
    if len(uuids) > 1:
        raise OperationError(f"members belong to different clusters ({', '.join(sorted(uuids))}): refusing")
    if not uuids:
        return Decision(
            answered[0], answered[1:], reason=f"no member was ever in a cluster: {answered[0]} starts one"
        )
    rank = sorted(answered, key=lambda h: (-_seqno(seen[h]), seen[h].get("safe_to_bootstrap") != "1",
                                           order.index(h)))  # fmt: skip
    chosen = rank[0]
    positions = "; ".join(f"{h.split('.')[0]} {_seqno(seen[h])}" for h in rank[1:])
    gone = [h.split(".")[0] for h in order if h not in answered]
    reason = f"{chosen.split('.')[0]} committed the most (seqno {_seqno(seen[chosen])}"
    reason += f"; {positions}" if positions else ""
    reason += f"; {', '.join(gone)} unreachable" if gone else ""
    return Decision(chosen, rank[1:], reason=reason + ")")


def _run(shell: NodeShell, command: str, timeout: float) -> Mapping[str, str] | None:
    try:
        done = shell.run(command, timeout=timeout)
    except ShellTimeout:
        return None
    return parse_values(done.stdout) if done.ok else None


def _act(shell: NodeShell, host: str, what: str, command: str) -> None:
    try:
        done = shell.run(command, timeout=ACT_TIMEOUT)
    except ShellTimeout as exc:
        raise OperationError(f"{host}: {what} did not end within {ACT_TIMEOUT:.0f} s") from exc
    if not done.ok:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise OperationError(f"{host}: {what} failed: {said[-1] if said else done.returncode}")


def recover(
    members: Sequence[Mapping[str, Any]],
    commands: Mapping[str, str],
    *,
    dry_run: bool = False,
    connect: Callable[[Mapping[str, Any]], NodeShell] | None = None,
) -> Decision:
    """Gather, decide and act on ``members`` (status's hosts, in bootstrap order) with the template's
    ``commands``; a dry run stops at the decision.

    :raises OperationError: see :func:`decide`; a command that failed on a member (its name and output).
    """
    shell_to = connect or ctlplane_shells(connect_timeout=5)
    names = [str(m["name"]) for m in members]
    by_name = {str(m["name"]): m for m in members}

    def gather() -> dict[str, Mapping[str, str] | None]:
        with ThreadPoolExecutor(max_workers=max(1, len(members))) as pool:
            found = list(pool.map(lambda m: _run(shell_to(m), commands["facts"], FACTS_TIMEOUT), members))
        return dict(zip(names, found, strict=True))

    decision = decide(gather(), names)
    # a member still booting may start its database after the first look (its boot runs beside this):
    # stopped in a later round
    for _ in range(STOP_ROUNDS):
        if not decision.stop or dry_run:
            break
        for host in decision.stop:
            _act(shell_to(by_name[host]), host, "stop", commands["stop"])
        decision = decide(gather(), names)
    if decision.stop and not dry_run:
        raise OperationError(f"{', '.join(decision.stop)} still run after they were stopped")
    if dry_run:
        return decision
    if decision.bootstrap is not None:
        _act(shell_to(by_name[decision.bootstrap]), decision.bootstrap, "bootstrap", commands["bootstrap"])
    for host in decision.join:
        _act(shell_to(by_name[host]), host, "join", commands["join"])
    return decision
