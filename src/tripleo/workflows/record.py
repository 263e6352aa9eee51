"""What a stack's deploys did, truthfully: ``$TRIPLEO_HOME/config-download/<stack>.json``.

A deploy holds the lock ``deploy:<stack>`` from start to end (a second deploy, or a delete, is refused and
told who holds it) and writes its phase into the record before it starts each one: ``stack``, ``network``,
``step N``, ``catalog``. The record says ``DEPLOY_IN_PROGRESS`` until the deploy ends with
``DEPLOY_COMPLETE`` or ``DEPLOY_FAILED``; a deploy killed on the way (SIGKILL leaves no chance to write) is
read back as ``DEPLOY_FAILED`` "interrupted at <phase>" once its lock holder is gone. The hosts, VIPs and
endpoints of the last deploy that got that far stay in the record, so status keeps showing them.

``overcloud status`` and ``overcloud failures`` read it (:func:`status`, :func:`failures`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tripleo.config import Host
from tripleo.config.roledata import RoleData
from tripleo.errors import OperationError
from tripleo.resources.service import StackService
from tripleo.storage import Database, LockedError, stack_paths
from tripleo.storage.locks import acquire, live_holder, release
from tripleo.workflows.request import DeployResult

__all__ = [
    "COMPLETE",
    "FAILED",
    "IN_PROGRESS",
    "WRITTEN",
    "DeployRecord",
    "deploy_lock",
    "failures",
    "forget",
    "host_summary",
    "lock_name",
    "read",
    "record_fields",
    "status",
    "status_notes",
    "summary_path",
]

IN_PROGRESS, COMPLETE, FAILED = "DEPLOY_IN_PROGRESS", "DEPLOY_COMPLETE", "DEPLOY_FAILED"
WRITTEN = "CONFIG_DOWNLOAD_WRITTEN"


def summary_path(stack: str) -> Path:
    """The stack's record: ``$TRIPLEO_HOME/config-download/<stack>.json``."""
    return stack_paths(stack).record


def lock_name(stack: str) -> str:
    return f"deploy:{stack}"


def _load(stack: str) -> dict[str, Any]:
    path = summary_path(stack)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(stack: str, data: Mapping[str, Any]) -> None:
    path = summary_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data, indent=2) + "\n")
    scratch.replace(path)


@contextmanager
def deploy_lock(db: Database, stack: str, purpose: str) -> Iterator[None]:
    """Hold ``deploy:<stack>`` for a block.

    :raises OperationError: another deploy (or delete) of the stack runs; the message names it.
    """
    name = lock_name(stack)
    try:
        acquire(db, [name], purpose)
    except LockedError:
        row = live_holder(db, name)
        who = f"{row.purpose} (pid {row.pid} on {row.host}, since {row.acquired_at:%Y-%m-%d %H:%M:%S})" \
            if row is not None else "another process"  # fmt: skip
        raise OperationError(f"stack {stack}: {who} is running; wait for it to end") from None
    try:
        yield
    finally:
        release(db, [name])


class DeployRecord:
    """The record of the deploy this process runs."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.data = _load(stack)
        self.phase = ""

    def begin(self) -> None:
        self.data.update(status=IN_PROGRESS, reason="", phase="", pid=os.getpid(), failures=[],
                         started_at=_now())  # fmt: skip
        _write(self.stack, self.data)

    def enter(self, phase: str) -> None:
        if phase == self.phase:
            return
        self.phase = phase
        self.data["phase"] = phase
        _write(self.stack, self.data)

    def finish(self, status: str, fields: Mapping[str, Any], reason: str = "",
               failures: Sequence[Mapping[str, Any]] = ()) -> None:  # fmt: skip
        self.data.update(fields)
        self.data.update(status=status, reason=reason, failures=list(failures), finished_at=_now())
        if status == COMPLETE:
            self.data["phase"] = ""
        _write(self.stack, self.data)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read(db: Database, stack: str) -> dict[str, Any]:
    """The record, with a deploy whose process is gone read as interrupted (see the module docstring)."""
    data = _load(stack)
    if data.get("status") == IN_PROGRESS and live_holder(db, lock_name(stack)) is None:
        where = data.get("phase") or "the start"
        data.update(status=FAILED, reason=f"interrupted at {where}", interrupted=True)
    return data


def forget(stack: str) -> None:
    """Drop the stack's record (the stack is deleted)."""
    summary_path(stack).unlink(missing_ok=True)


def status_notes(roles: Mapping[str, RoleData], hosts: Sequence[Host]) -> list[str]:
    """What status should say about the shape of the deployment (single primaries)."""
    notes = []
    for role in roles.values():
        count = sum(1 for h in hosts if h.role == role.role)
        for svc in role.services:
            if svc.bootstrap_only and count > 1:
                first = next(h.name for h in hosts if h.role == role.role and svc.name in h.services)
                notes.append(f"{svc.name}: a single primary on {first} (not clustered across {count} nodes)")
    return notes


def host_summary(host: Host) -> dict[str, Any]:
    """What status shows of a host (its hieradata, which holds passwords, stays out)."""
    return {
        "name": host.name,
        "role": host.role,
        "node": host.node,
        "ctlplane": host.ctlplane,
        "addresses": dict(host.addresses),
        "services": list(host.services),
        "probes": [dict(p) for p in host.probes],
        "recovery": {k: dict(v) for k, v in host.recovery.items()},
    }


def record_fields(result: DeployResult) -> dict[str, Any]:
    """What the record keeps of a finished deploy."""
    return {
        "stack": result.stack,
        "hosts": [host_summary(h) for h in result.hosts],
        "vips": result.vips,
        "endpoints": result.endpoints,
        "notes": result.notes,
        "overcloudrc": str(result.overcloudrc) if result.overcloudrc else None,
        "project": str(result.project),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "config_plan": {h: {"run": hp.run, "skipped": hp.skipped} for h, hp in result.plan.items()},
        "stack_plan": [{"resource": p, "action": a} for p, a in sorted(result.stack_plan)],
    }


def status(service: StackService, stack: str) -> dict[str, Any]:
    """The stack's state and, once deployed, each host with its role, node and addresses, and the VIPs;
    a deploy that was killed shows as ``DEPLOY_FAILED`` "interrupted at <phase>".

    :raises InputError: no such stack.
    """
    row = service.get(stack)
    out: dict[str, Any] = {
        "stack": stack,
        "stack_status": f"{row.action}_{row.status}",
        "reason": row.reason,
        "deployment_status": "NOT_DEPLOYED",
        "hosts": [],
        "vips": {},
    }
    saved = read(service.db, stack)
    if saved:
        out.update(
            deployment_status=saved.get("status"),
            deployment_reason=saved.get("reason", ""),
            phase=saved.get("phase", ""),
            hosts=saved.get("hosts", []),
            vips=saved.get("vips", {}),
            endpoints=saved.get("endpoints", {}),
            notes=saved.get("notes", []),
            overcloudrc=saved.get("overcloudrc"),
            project=saved.get("project"),
            finished_at=saved.get("finished_at"),
            config_plan=saved.get("config_plan", {}),
            stack_plan=saved.get("stack_plan", []),
        )
    return out


def failures(service: StackService, stack: str) -> dict[str, Any]:
    """The last deploy's status and every failed host with its task and the tail of its output.

    :raises InputError: no such stack.
    """
    service.get(stack)
    saved = read(service.db, stack)
    return {"stack": stack, "deployment_status": saved.get("status", "NOT_DEPLOYED"),
            "reason": saved.get("reason", ""), "failures": list(saved.get("failures") or [])}  # fmt: skip
