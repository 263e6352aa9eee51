"""The config plan of a deploy: per node and unit (``packages``, ``network``, ``step1`` .. ``step5``), run or
skip.

Made on the undercloud before Ansible starts, from the digests of what config download gives each node
(:mod:`tripleo.config.digests`) and what each node says it last applied (one parallel SSH round trip).
``--limit`` keeps the plan to some hosts (the others are left alone); ``--force`` runs every unit of the
hosts in the plan. ``--dry-run`` prints it with a unified diff, per host, of the files that change against
the project the last deploy wrote; secrets in the diff are masked.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripleo.config import Host, Project
from tripleo.config.digests import (
    DEAD,
    HostPlan,
    UnitInputs,
    acting_steps,
    plan,
    query,
    step_unit,
    unit_digests,
)
from tripleo.config.download import MODULES_TAR, STEPS, network_document, vendor_modules
from tripleo.config.roledata import RoleData, Service
from tripleo.engine.template.parameters import MASK
from tripleo.errors import UsageError

__all__ = ["config_plan", "describe", "host_diff", "plan_rows", "selected"]


def _shared(project: Project) -> tuple[UnitInputs, Path | None]:
    modules = project.directory / "puppet" / "modules"
    has = modules.is_dir()
    agent = next(iter(sorted((project.directory / "files").glob("*.pyz"))), None)
    hiera = project.directory / "templates" / "hiera.yaml.j2"
    archive = project.directory / "files" / MODULES_TAR  # the same bytes for the same tree
    return UnitInputs(
        modules=hashlib.sha256(archive.read_bytes()).hexdigest() if archive.exists() else "",
        vendor=tuple(vendor_modules(modules)) if has else (),
        hierarchy=hiera.read_text() if hiera.exists() else "",
        steps=STEPS,
        agent=hashlib.sha256(agent.read_bytes()).hexdigest() if agent else "",
    ), (modules if has else None)


def _services(host: Host, roles: Mapping[str, RoleData]) -> list[Service]:
    role = roles.get(host.role)
    return [s for s in (role.services if role else ()) if s.name in host.services]


def _acting(roles: Mapping[str, RoleData], modules: Path | None) -> dict[str, frozenset[int]]:
    """Service name -> the steps it acts in (its Puppet's step tests; a containerized service's config is
    made in step 1 and its containers run in their steps)."""
    acting: dict[str, frozenset[int]] = {}
    for role in roles.values():
        for svc in role.services:
            if svc.container is not None:
                acting.setdefault(svc.name, frozenset({1, *svc.container.steps}))
            acting.setdefault(svc.name, acting_steps(svc.step_config, modules, STEPS))
    return acting


def host_digests(
    hosts: Sequence[Host],
    roles: Mapping[str, RoleData],
    shared: UnitInputs,
    acting: Mapping[str, frozenset[int]],
) -> dict[str, dict[str, str]]:
    """Every host's unit digests for the project just written."""
    return {
        h.name: unit_digests(
            hieradata=h.hieradata, network_config=[network_document(h), list(h.boot)], firewall=h.firewall,
            services=_services(h, roles), acting=acting, shared=shared, containers=h.containers,
            packages=h.packages,
        )
        for h in hosts
    }  # fmt: skip


def selected(hosts: Sequence[Host], limit: Sequence[str]) -> list[Host]:
    """The hosts ``--limit`` names (host name, short name or node); all without a limit.

    :raises UsageError: a name that is no host of the stack.
    """
    if not limit:
        return list(hosts)
    out: list[Host] = []
    for name in limit:
        found = [h for h in hosts if name in (h.name, h.name.split(".")[0], h.node)]
        if not found:
            known = ", ".join(h.name.split(".")[0] for h in hosts) or "none"
            raise UsageError(f"--limit {name}: no such host in the stack (hosts: {known})")
        out.extend(h for h in found if h not in out)
    return out


def config_plan(project: Project, hosts: Sequence[Host], roles: Mapping[str, RoleData], ssh_key: Path, *,
                force: bool = False, limit: Sequence[str] = (),
                known: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, HostPlan]:  # fmt: skip
    """The plan (see the module docstring); hosts outside ``limit`` get an empty one; ``known``: what some
    nodes (by ctlplane address) already said they applied, in this deploy (not asked again)."""
    shared, modules = _shared(project)
    acting = _acting(roles, modules)
    digests = host_digests(hosts, roles, shared, acting)
    chosen = selected(hosts, limit)
    names = {h.name for h in chosen}
    ask = {h.name: h.ctlplane for h in chosen} if not force else {}
    applied: dict[str, Mapping[str, str] | None] = dict(query(ask, ssh_key, known=known))
    plans = plan({h: d for h, d in digests.items() if h in names}, applied,
                 force=names if force else ())  # fmt: skip
    for host in chosen:
        _restart_dead(plans[host.name], host, acting)
    for host in hosts:
        if host.name not in names:
            plans[host.name] = HostPlan(host.name, digests[host.name], None)
    return {h.name: plans[h.name] for h in hosts}


def _restart_dead(hp: HostPlan, host: Host, acting: Mapping[str, frozenset[int]]) -> None:
    """The steps of each service whose boot service the node found dead run again (Puppet starts it)."""
    if hp.applied is None:
        return
    owner = {entry["name"]: entry["service"] for entry in host.boot}
    for name in sorted(n[len(DEAD) :] for n in hp.applied if n.startswith(DEAD)):
        for step in sorted(acting.get(owner.get(name, ""), frozenset())):
            unit = step_unit(step)
            if unit in hp.digests and unit not in hp.run:
                hp.run.append(unit)
                hp.reasons[unit] = f"{name} not running"
    hp.run.sort(key=list(hp.digests).index)


def describe(plans: Mapping[str, HostPlan]) -> list[str]:
    """One line per host: what runs and why, what is skipped."""
    lines = []
    for host, hp in plans.items():
        if not hp.run:
            lines.append(f"{host}: nothing to run")
            continue
        why = sorted(set(hp.reasons.values()))
        skipped = f"; skip {', '.join(hp.skipped)}" if hp.skipped else ""
        lines.append(f"{host}: run {', '.join(hp.run)} ({', '.join(why)}){skipped}")
    return lines


def plan_rows(plans: Mapping[str, HostPlan]) -> list[dict[str, Any]]:
    return [
        {"host": host, "unit": unit, "action": "run" if unit in hp.run else "skip",
         "reason": hp.reasons.get(unit, "unchanged" if hp.applied is not None else "not in --limit")}
        for host, hp in plans.items() for unit in hp.digests
    ]  # fmt: skip


def _text(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return []


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()


def host_diff(old: Path, new: Path, host: str, secrets: Sequence[str]) -> str:
    """A unified diff of one host's files (hieradata, NIC config, firewall, manifest) between two projects,
    with every secret value masked."""
    names = sorted(_files(new / "hosts" / host) | _files(old / "hosts" / host))
    chunks: list[str] = []
    for name in names:
        before, after = _text(old / "hosts" / host / name), _text(new / "hosts" / host / name)
        if before == after:
            continue
        chunks.extend(difflib.unified_diff(before, after, f"a/{host}/{name}", f"b/{host}/{name}"))
    text = "".join(chunks)
    for secret in sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
