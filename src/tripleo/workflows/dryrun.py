"""``tripleo overcloud deploy --dry-run``: the stack plan and the config plan, changing nothing anywhere.

The same code as a deploy, pointed away from every state it would change:

- the checks and the capacity pre-flight run in a scratch plan, as a deploy's do;
- the plan is rendered into a scratch directory (the generated passwords are the stack's own);
- the IPAM's decisions (VIPs, the nodes' addresses) are made in memory from the IPAM as it is
  (:class:`~tripleo.network.ipam.PlannedAllocator`): no database is written, whichever it is;
- the stack update runs as the engine's dry run: each resource path added, updated, replaced or deleted,
  and the outputs it will produce (the services' role_data), from which the nodes' files are written into
  a scratch project;
- the nodes are only asked what they last applied (read-only SSH).

The diff of each host that runs something is against the project the last deploy wrote, with the stack's
secrets masked.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tripleo import boundedyaml
from tripleo.config import write_project
from tripleo.config.digests import HostPlan
from tripleo.config.roledata import RoleData
from tripleo.engine.functions.base import known_or_none
from tripleo.errors import InputError
from tripleo.network.ipam import PlannedAllocator
from tripleo.resources.provisioned import ssh_key
from tripleo.resources.service import StackService
from tripleo.storage import Database, stack_paths
from tripleo.workflows.capacity import server_slot
from tripleo.workflows.configplan import config_plan, host_diff, plan_rows
from tripleo.workflows.deployed import bind
from tripleo.workflows.hosts import render, vips_of
from tripleo.workflows.request import DeployRequest, check_request, project_args, stack_parameters
from tripleo.workflows.services import network_plan, prepare

__all__ = ["DeployPlan", "plan_deploy"]


@dataclass
class DeployPlan:
    stack: str
    exists: bool
    stack_plan: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    config: dict[str, HostPlan] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "exists": self.exists,
            "stack_plan": [{"resource": p, "action": a} for p, a in self.stack_plan],
            "counts": self.counts,
            "config_plan": plan_rows(self.config),
            "diffs": self.diffs,
            "notes": self.notes,
        }


def plan_deploy(service: StackService, db: Database, req: DeployRequest) -> DeployPlan:
    """What ``deploy`` with ``req`` would do (see the module docstring).

    :raises InputError: what a deploy refuses before it changes anything.
    """
    with tempfile.TemporaryDirectory(prefix="tripleo-dry-run-") as scratch:
        req = bind(req, Path(scratch) / "deployed").request
        check_request(service, db, req)
        try:
            service.get(req.stack)
        except InputError:
            note = "the stack does not exist: every resource is added and every unit runs on every node"
            return DeployPlan(req.stack, False, notes=[note])
        return _plan(service, db, req, Path(scratch))


def _plan(service: StackService, db: Database, req: DeployRequest, scratch: Path) -> DeployPlan:
    kept = stack_paths(req.stack).plan / "passwords.yaml"  # the plan's passwords, not new ones
    if kept.exists():
        (scratch / "plan").mkdir(mode=0o700)
        shutil.copy2(kept, scratch / "plan" / "passwords.yaml")
    prepared = prepare(req.templates, req.stack, req.environments, req.parameters, roles_file=req.roles_file,
                       networks_file=req.network_data, plan_dir=scratch / "plan")  # fmt: skip
    base = network_plan(prepared)
    ipam = PlannedAllocator(db, req.stack, base.enabled())
    params = stack_parameters(db, req.stack, prepared, base, ipam)
    template, envs = str(prepared.plan.template), list(prepared.environments)
    outcome = service.update(req.stack, template, envs, params, req.options, dry_run=True)
    result = DeployPlan(req.stack, True, list(outcome.plan), dict(outcome.counts))
    if outcome.reason:
        result.notes.append(f"the stack update would fail: {outcome.reason}")
        return result
    outputs: Mapping[str, Any] = known_or_none(outcome.outputs) or {}
    hosts, report, roles = render(service, db, req, prepared, base, lambda _: None, outputs=outputs,
                                  network_dir=scratch / "network", planned=ipam)  # fmt: skip
    project = write_project(scratch / "project", req.stack, hosts, vips=vips_of(report),
                            **project_args(prepared, base))  # fmt: skip
    result.config = config_plan(project, hosts, roles, ssh_key()[0], force=req.force, limit=req.limit)
    _add_diffs(result, service, req.stack, project.directory, roles, prepared.plan.passwords)
    return result


def _add_diffs(result: DeployPlan, service: StackService, stack: str, new: Path,
               roles: Mapping[str, RoleData], passwords: Path) -> None:  # fmt: skip
    old = stack_paths(stack).project
    # the stack's secrets and the plan's passwords (a new service's is generated in the scratch plan)
    planned = (boundedyaml.safe_load(passwords.read_text()) or {}).get("parameter_defaults") or {}
    secrets = sorted(service.secrets(stack) | {str(v) for v in planned.values()})
    for host, hp in result.config.items():
        if hp.run:
            text = host_diff(old, new, host, secrets)
            if text:
                result.diffs[host] = text
    slots = sorted({slot for path, action in result.stack_plan if action in ("added", "replaced")
                    and (slot := server_slot(path)) is not None and slot[0] in roles})  # fmt: skip
    if slots:
        named = ", ".join(f"{role}/{index}" for role, index in slots)
        result.notes.append(
            f"{len(slots)} server(s) added or replaced ({named}): their nodes are known once the stack runs, "
            "and they run every unit"
        )
