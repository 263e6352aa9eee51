"""``tripleo overcloud deploy | delete``: the overcloud as one operation.

deploy:
 1. the plan: the templates rendered from roles_data and network_data, passwords generated once, every
    service's role_data read and checked (:mod:`tripleo.workflows.services`), first in a scratch directory,
    so bad input changes nothing; then the network checks offline (``netenv validate``) and the capacity
    pre-flight (:mod:`tripleo.workflows.request`);
 2. the networks and VIPs into the IPAM (the VIPs reach the stack as ``NetVipMap``, so endpoints are known:
    :mod:`tripleo.network.vips`), then the overcloud stack is created (or updated: an unchanged re-deploy
    does nothing): servers are scheduled on available nodes by profile and come up with their ctlplane
    address;
 3. every server gets its addresses on the role's networks (IPAM, owned by ``<stack>/<node>``), its NIC
    config and firewall rules (ports from the services' role_data); the network plan for ``validate network``
    (:mod:`tripleo.workflows.hosts`);
 4. config download writes the Ansible project (:mod:`tripleo.config.download`): hieradata and the Puppet
    of each node's services from the stack's ``RoleData``, and runs it;
 5. the Keystone catalog from the services' ``keystone_resources`` (:mod:`tripleo.workflows.catalog`), and
    ``$TRIPLEO_HOME/overcloudrc``.

What each deploy did is kept in its record, which ``overcloud status`` and ``overcloud failures`` read
(:mod:`tripleo.workflows.record`).

delete removes the stack (nodes are powered off and return to ``available``), frees the addresses and VIPs
the deploy took and removes the config-download project.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tripleo.config import Host, HostRecap, run_playbook, write_project
from tripleo.config.download import late_tags, write_run_plan
from tripleo.config.roledata import RoleData
from tripleo.config.scaledown import forget_hosts
from tripleo.errors import InputError, TripleoError
from tripleo.network import sync_networks
from tripleo.network.ipam import release_stack_addresses
from tripleo.resources.provisioned import ssh_key
from tripleo.resources.service import Options, StackService
from tripleo.storage import Database, stack_paths
from tripleo.workflows.catalog import catalog_digest, overcloud_admin, register_catalog, write_overcloudrc
from tripleo.workflows.configplan import config_plan, describe
from tripleo.workflows.deployed import authorize, bind
from tripleo.workflows.hosts import render, vips_of
from tripleo.workflows.record import (
    COMPLETE,
    FAILED,
    WRITTEN,
    DeployRecord,
    deploy_lock,
    forget,
    record_fields,
    status_notes,
)
from tripleo.workflows.request import (
    DeployRequest,
    DeployResult,
    Progress,
    check_request,
    prepare_request,
    project_args,
    stack_parameters,
)
from tripleo.workflows.services import Prepared, network_plan

__all__ = ["delete", "departed_hosts", "deploy"]

LOG = logging.getLogger(__name__)


def deploy(
    service: StackService, db: Database, req: DeployRequest, progress: Progress = lambda _: None
) -> DeployResult:
    """Deploy (or re-deploy) the overcloud; see the module docstring for the steps. A second deploy of the
    stack while one runs is refused; the record says where a failed or killed deploy stopped
    (:mod:`tripleo.workflows.record`).

    :raises InputError: bad templates, environments, roles, networks or services (nothing has changed).
    :raises OperationError: another deploy runs, network checks, the stack, config download or the catalog
        failed.
    """
    with deploy_lock(db, req.stack, f"overcloud deploy of {req.stack}"):
        started = time.perf_counter()
        bound = bind(req)
        req = bound.request
        check_request(service, db, req)
        if bound.hosts:
            authorize(bound.unauthorized, *ssh_key())
            progress(f"deployed servers: {len(bound.hosts)} host(s) reached, tripleo's key let in as root")
        record = DeployRecord(req.stack)
        record.begin()
        try:
            return _deploy(service, db, req, progress, record, started)
        except BaseException as exc:
            failures = [f.to_dict() for f in getattr(exc, "failures", [])]
            reason = str(exc) if isinstance(exc, TripleoError) else f"{type(exc).__name__}: {exc}"
            record.finish(FAILED, {}, reason=f"at {record.phase or 'the start'}: {reason}"[:800],
                          failures=failures)  # fmt: skip
            raise


def _deploy(service: StackService, db: Database, req: DeployRequest, progress: Progress,
            record: DeployRecord, started: float) -> DeployResult:  # fmt: skip
    seconds: dict[str, float] = {}
    record.enter("plan")
    prepared = prepare_request(req)
    base = network_plan(prepared)
    progress(f"plan rendered, {len(prepared.services)} services checked, network checks passed")
    seconds["plan"] = time.perf_counter() - started
    mark = time.perf_counter()
    record.enter("stack")
    sync_networks(db, base.enabled())
    params = stack_parameters(db, req.stack, prepared, base)
    stack_plan = _run_stack(service, req, prepared, params, progress)
    seconds["stack"] = time.perf_counter() - mark

    mark = time.perf_counter()
    record.enter("network")
    hosts, report, roles = render(service, db, req, prepared, base, progress)
    paths = stack_paths(req.stack)
    project = write_project(
        paths.project, req.stack, hosts, vips=vips_of(report), **project_args(prepared, base)
    )
    progress(f"config download: {project.directory}")
    seconds["render"] = time.perf_counter() - mark
    done = DeployResult(req.stack, COMPLETE, hosts, vips_of(report), project.directory, {}, seconds)
    done.stack_plan = stack_plan
    done.notes = status_notes(roles, hosts)
    if req.config_download and hosts:
        _configure(done, project, paths.log, roles, req, progress, record)
    seconds["total"] = time.perf_counter() - started
    record.finish(COMPLETE if req.config_download else WRITTEN, record_fields(done))
    return done


def _run_stack(service: StackService, req: DeployRequest, prepared: Prepared, params: dict[str, Any],
               progress: Progress) -> list[tuple[str, str]]:  # fmt: skip
    """Create or update the stack; returns what changed (resource path, action), as a dry run plans it."""
    try:
        row = service.get(req.stack)
        # a create that failed or was killed resumes as a create; a created stack is updated
        exists = not (row.action == "CREATE" and row.status != "COMPLETE")
    except InputError:
        exists = False
    progress(f"{'updating' if exists else 'creating'} stack {req.stack}")
    template, envs = str(prepared.plan.template), list(prepared.environments)
    if exists:
        outcome = service.update(req.stack, template, envs, params, req.options)
    else:
        outcome = service.create(req.stack, template, envs, params, req.options)
    progress(f"stack {req.stack} {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else ""))
    return list(outcome.plan)


def _phase_of(task: str) -> str | None:
    """The record's phase for an Ansible task: ``hieradata``, ``step N``; None keeps the current one."""
    if task.startswith("Hieradata"):
        return "hieradata"
    head = task.split(":")[0]
    if head.startswith("Step ") and head[5:].isdigit():
        return f"step {head[5:]}"
    return None


def _configure(done: DeployResult, project: Any, log: Path, roles: Mapping[str, RoleData], req: DeployRequest,
               progress: Progress, record: DeployRecord) -> None:  # fmt: skip
    """Phases 4 and 5: the config plan; config download on the hosts with work up to the catalog's step;
    the catalog (when something ran or it changed); the later steps; overcloudrc."""
    mark = time.perf_counter()
    done.plan = config_plan(
        project, done.hosts, roles, ssh_key()[0], force=req.force, limit=req.limit, known=req.known_applied
    )
    write_run_plan(project, done.plan)
    for line in describe(done.plan):
        progress(f"config plan: {line}")
    busy = [host for host, hp in done.plan.items() if hp.run]
    late = late_tags()
    late_busy = [host for host, hp in done.plan.items() if set(hp.run) & set(late)]

    def on_task(task: str) -> None:
        phase = _phase_of(task)
        if phase is not None:
            record.enter(phase)
        progress(f"ansible: {task}")

    if busy:
        done.recap = run_playbook(project, log, on_task, req.step_timeout, limit=busy, skip_tags=late)
    record.enter("catalog")
    digest = catalog_digest(roles, done.hosts)
    if busy or req.force or record.data.get("catalog_digest") != digest:
        done.endpoints = register_catalog(roles, done.hosts, progress)
        record.data["catalog_digest"] = digest
    else:
        done.endpoints = dict(record.data.get("endpoints") or {})
        progress("catalog: unchanged, nothing ran")
    if late_busy:
        later = run_playbook(project, log, on_task, req.step_timeout, limit=late_busy, tags=late, append=True)
        done.recap = _merged(done.recap, later)
    admin = overcloud_admin(roles)
    if admin is not None:
        # once the renamed hosts' services run under their new names (they would report the old ones again)
        forget_hosts(admin, departed_hosts(record.data.get("hosts") or [], done.hosts, roles), progress)
        done.overcloudrc = write_overcloudrc(admin, done.stack)
    done.seconds["config"] = time.perf_counter() - mark


def departed_hosts(previous: Sequence[Mapping[str, Any]], hosts: Sequence[Host],
                   roles: Mapping[str, RoleData]) -> dict[str, list[Mapping[str, Any]]]:  # fmt: skip
    """The names of the last complete deploy's hosts (``previous``: status rows) that are gone now (their
    node left, or carries another name), each with its services' scale_down entries: what they left in the
    overcloud's APIs (the services of a renamed host register again under its new name). Nova refuses to
    delete the service of a compute that still hosts servers: the operator deletes or migrates them first,
    as with TripleO."""
    now = {h.node: h.name for h in hosts}
    entries = {(r.role, s.name): s.scale_down for r in roles.values() for s in r.services}
    out: dict[str, list[Mapping[str, Any]]] = {}
    for h in previous:
        if now.get(str(h.get("node"))) != h.get("name"):
            role = str(h.get("role"))
            out[str(h["name"])] = [e for svc in h.get("services") or [] for e in entries.get((role, svc), ())]
    return out


def _merged(first: Mapping[str, HostRecap], second: Mapping[str, HostRecap]) -> dict[str, HostRecap]:
    """Two runs' recaps as one: the counts of each host added."""
    out = dict(first)
    for host, b in second.items():
        a = out.get(host)
        if a is not None:
            b = HostRecap(host, a.ok + b.ok, a.changed + b.changed, a.unreachable + b.unreachable,
                          a.failed + b.failed)  # fmt: skip
        out[host] = b
    return out


def delete(service: StackService, db: Database, stack: str, options: Options) -> tuple[str, int]:
    """Delete the overcloud: the stack (nodes go back to available), its addresses and VIPs, its files (the
    config-download project, the network plan, the rendered plan with its passwords, its rc file), as
    tripleoclient deletes the plan with the stack.

    :returns: the stack's final status and how many addresses were freed.
    :raises InputError: no such stack.
    """
    with deploy_lock(db, stack, f"overcloud delete of {stack}"):
        outcome = service.delete(stack, options)
        freed = release_stack_addresses(db, stack)
        paths = stack_paths(stack)
        shutil.rmtree(paths.project, ignore_errors=True)
        forget(stack)
    if (paths.network / "network-plan.json").exists():
        shutil.rmtree(paths.network, ignore_errors=True)
    shutil.rmtree(paths.plan, ignore_errors=True)
    paths.overcloudrc.unlink(missing_ok=True)
    return outcome.status, freed
