"""A lab node shares the host's CPU as one machine: each node's processes run in a CPU cgroup of its own.

Without it the host's scheduler is fair per process: a controller that boots starts some thirty Python
services at once and takes most of two cores from the nodes that keep the cloud up (measured, issue 24:
the surviving controllers' token issue went from 0.3 s to 1-5 s while one controller booted, and the
failover probe's window after a power-on was 12-28 s). Real machines have CPUs of their own; a group per
node with the same weight gives each busy node an equal share, as if each had its own, however many
processes it runs.

The group is named after the node's network namespace (the lab's prefix), under the cgroup v2 root when
its ``cpu`` controller is enabled for children, or under cgroup v1's ``cpu`` hierarchy; on a host with
neither (or a read-only cgroup file system) nodes share the CPU per process, as before, and the lab says
so once in its log. Lab down removes the groups.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

__all__ = ["CGROUP_ROOT", "group_argv", "node_group", "remove_groups"]

LOG = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_warned: list[bool] = []


def _base(root: Path) -> Path | None:
    """Where per-node CPU groups go: the v2 root with ``cpu`` for its children, or v1's ``cpu``."""
    try:
        if "cpu" in (root / "cgroup.subtree_control").read_text().split():
            return root
    except OSError:
        pass
    v1 = root / "cpu"
    return v1 if (v1 / "cpu.shares").is_file() else None


def node_group(netns: str, root: Path = CGROUP_ROOT) -> Path | None:
    """The CPU group of the node whose network namespace is ``netns``, made if needed; None when the host
    gives none (logged once)."""
    base = _base(root)
    group = base / netns if base else None
    try:
        if group is not None:
            group.mkdir(exist_ok=True)
            return group
    except OSError as exc:
        LOG.debug("%s: no CPU group: %s", group, exc)
    if not _warned:
        _warned.append(True)
        LOG.warning("no CPU cgroup for lab nodes: they share the host's CPU per process")
    return None


def group_argv(group: Path | None, argv: list[str]) -> list[str]:
    """``argv`` run in ``group``: a shell moves itself into the group, then becomes ``argv`` (every process
    the node starts inherits the group). A group that refuses the move leaves ``argv`` in the caller's."""
    if group is None:
        return argv
    join = f'{{ echo $$ > {shlex.quote(str(group / "cgroup.procs"))}; }} 2>/dev/null; exec "$@"'
    return ["sh", "-c", join, "sh", *argv]


def remove_groups(prefix: str, root: Path = CGROUP_ROOT) -> int:
    """Remove the CPU groups whose name starts with ``prefix`` (their processes are gone); how many went."""
    base = _base(root)
    removed = 0
    for group in sorted(base.glob(f"{prefix}*")) if base else []:
        try:
            group.rmdir()
            removed += 1
        except OSError as exc:
            LOG.warning("%s: CPU group not removed: %s", group, exc)
    return removed
