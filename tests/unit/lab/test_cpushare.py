"""A lab node's processes in a CPU group of its own (tripleo.lab.cpushare): where the group goes on cgroup v1
and v2 trees, the shell that joins it before it becomes the node's init, and the host's real cgroups."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tripleo.lab.cpushare import CGROUP_ROOT, group_argv, node_group, remove_groups


def test_the_group_goes_under_v2_when_its_cpu_controller_is_delegated(tmp_path: Path) -> None:
    (tmp_path / "cgroup.subtree_control").write_text("cpuset cpu io memory pids\n")
    assert node_group("tq-node-0", tmp_path) == tmp_path / "tq-node-0"
    assert (tmp_path / "tq-node-0").is_dir()


def test_the_group_goes_under_v1_cpu_and_none_without_either(tmp_path: Path) -> None:
    (tmp_path / "cgroup.subtree_control").write_text("memory pids\n")  # v2 without cpu for children
    assert node_group("tq-node-0", tmp_path) is None
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.shares").write_text("1024\n")
    assert node_group("tq-node-0", tmp_path) == tmp_path / "cpu" / "tq-node-0"
    (tmp_path / "cpu" / "other-node-0").mkdir()
    assert remove_groups("tq-", tmp_path) == 1
    assert sorted(p.name for p in (tmp_path / "cpu").iterdir()) == ["cpu.shares", "other-node-0"]


def test_the_node_process_writes_its_own_pid_then_becomes_the_command(tmp_path: Path) -> None:
    group = tmp_path / "tq-node-0"
    group.mkdir()
    done = subprocess.run(group_argv(group, ["sh", "-c", 'echo "$$ $0 $1"', "one", "two"]),
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid, *args = done.stdout.split()
    # the pid written is the command's own (exec keeps it), and the command got its arguments as given
    assert (group / "cgroup.procs").read_text().split() == [pid] and args == ["one", "two"]
    assert group_argv(None, ["true"]) == ["true"]


def test_a_group_that_refuses_the_process_still_runs_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "gone"  # no directory: the write fails
    done = subprocess.run(group_argv(missing, ["echo", "up"]), capture_output=True, text=True, check=True)
    assert done.stdout == "up\n" and done.stderr == ""


def test_on_this_host_a_node_process_lands_in_its_group_and_lab_down_removes_it() -> None:
    if os.geteuid() != 0:
        pytest.skip("cgroups need root")
    group = node_group(f"tq{os.getpid()}-node-0")
    if group is None:
        pytest.skip("this host gives no CPU cgroup (nodes share the CPU per process)")
    proc = subprocess.Popen(group_argv(group, ["sleep", "30"]))
    try:
        deadline = time.monotonic() + 5
        while str(proc.pid) not in (group / "cgroup.procs").read_text().split():
            assert time.monotonic() < deadline, "the process never joined its group"
            time.sleep(0.05)
        assert group.relative_to(CGROUP_ROOT).name in Path(f"/proc/{proc.pid}/cgroup").read_text()
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while remove_groups(f"tq{os.getpid()}-") != 1:
        assert time.monotonic() < deadline, "the emptied group was not removed"
        time.sleep(0.05)
    assert not group.exists()
