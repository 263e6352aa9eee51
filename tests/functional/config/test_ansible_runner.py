"""The config-download runner against real ansible-playbook runs on this host (``ansible_connection=local``,
no lab): a task that succeeds, one that fails (host, task and the tail of its output are named), and one that
hangs past the timeout (killed, the host and task named, no process of the run left)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tripleo.config.download import Project
from tripleo.config.runner import HostRecap, PlaybookFailed, ansible_playbook, run_playbook
from tripleo.errors import OperationError

HOST = "node-0.overcloud.lab"
STEP = "Step 2: puppet apply"

PLAYBOOKS = {
    "succeeds.yaml": [
        {"name": "Directories", "command": "true", "changed_when": False},
        {
            "name": STEP,
            "shell": "echo 'Notice: Applied catalog'; exit 2",
            "register": "step2",
            "changed_when": "step2.rc == 2",
            "failed_when": "step2.rc not in [0, 2]",
        },
        {"name": "Step 3: puppet apply", "command": "true", "when": "false"},
    ],
    "fails.yaml": [
        {
            "name": STEP,
            "shell": 'for i in $(seq 1 30); do echo "Notice: line $i"; done; '
            "echo 'Error: Could not find class ::tripleo::profile::nothing' >&2; exit 4",
        },
        {"name": "Step 3: puppet apply", "command": "true"},
    ],
    "hangs.yaml": [{"name": STEP, "command": "sleep 600"}],
}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    try:
        ansible_playbook()
    except OperationError:
        pytest.skip("ansible-core is not installed")
    (tmp_path / "ansible.cfg").write_text("[defaults]\ninventory = inventory.yaml\ngathering = explicit\n")
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = {"all": {"children": {"overcloud": {"hosts": {HOST: host_vars}}}}}
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(inventory))
    for name, tasks in PLAYBOOKS.items():
        play = {"name": "Deploy steps", "hosts": "overcloud", "gather_facts": False, "any_errors_fatal": True}
        (tmp_path / name).write_text(yaml.safe_dump([{**play, "tasks": tasks}], sort_keys=False))
    return Project(tmp_path, tmp_path / "inventory.yaml", tmp_path / "succeeds.yaml")


def _with(project: Project, playbook: str) -> Project:
    return Project(project.directory, project.inventory, project.directory / playbook)


def test_a_run_that_succeeds_gives_each_task_and_the_recap(project: Project, tmp_path: Path) -> None:
    seen: list[str] = []
    log = tmp_path / "logs" / "deploy.log"
    recap = run_playbook(project, log, seen.append)
    assert seen == ["Directories", STEP, "Step 3: puppet apply"]
    assert recap == {HOST: HostRecap(HOST, ok=2, changed=1, unreachable=0, failed=0)}
    said = log.read_text()  # Ansible's own words for the operator, not the events
    assert f"TASK [{STEP}]" in said and "PLAY RECAP" in said and '"event"' not in said


def test_a_failed_task_is_named_with_its_host_and_output(project: Project, tmp_path: Path) -> None:
    seen: list[str] = []
    log = tmp_path / "deploy.log"
    log.write_text("before\n")
    with pytest.raises(PlaybookFailed) as failed:
        run_playbook(_with(project, "fails.yaml"), log, seen.append, append=True)
    assert str(failed.value) == (
        f"config download failed on {HOST}, task '{STEP}': "
        f"Error: Could not find class ::tripleo::profile::nothing (log: {log})"
    )
    (failure,) = failed.value.failures
    assert (failure.host, failure.task) == (HOST, STEP)
    assert len(failure.tail) == 25 and failure.tail[0] == "Notice: line 8"
    assert failure.tail[-2:] == (
        "Error: Could not find class ::tripleo::profile::nothing",
        "non-zero return code",
    )
    assert seen == [STEP]  # any_errors_fatal: step 3 never starts
    assert log.read_text().startswith("before\n") and f"fatal: [{HOST}]: FAILED!" in log.read_text()


def _left(marker: str) -> list[str]:
    """The live processes started with ``marker`` in their environment (this test's run): their command
    lines. Zombies (already dead, not yet reaped by init) do not count."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if marker.encode() in (proc / "environ").read_bytes():
                left.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return left


def test_a_hung_task_is_killed_at_the_timeout_naming_host_and_task(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"tripleo-test-{uuid.uuid4()}"
    monkeypatch.setenv("TRIPLEO_TEST_RUN", marker)
    started: list[float] = []
    running: list[str] = []

    def progress(task: str) -> None:
        started.append(time.monotonic())
        running.extend(_left(marker))

    log = tmp_path / "deploy.log"
    begin = time.monotonic()
    with pytest.raises(PlaybookFailed) as failed:
        run_playbook(_with(project, "hangs.yaml"), log, progress, timeout=5)
    ended = time.monotonic()
    assert str(failed.value) == (
        f"config download timed out on {HOST}, task '{STEP}': no result after 5 s (log: {log})"
    )
    assert [(f.host, f.task, f.message) for f in failed.value.failures] == [
        (HOST, STEP, "timed out: no result after 5 s")
    ]
    assert len(started) == 1 and 5 <= ended - started[0] < 8, ended - started[0]
    assert ended - begin < 15
    assert log.read_text().endswith(
        f"tripleo: config download timed out on {HOST}, task '{STEP}': no result after 5 s: "
        "ansible-playbook and every process under it killed\n"
    )
    assert any("ansible-playbook hangs.yaml" in line for line in running)  # what _left finds while it runs
    deadline = time.monotonic() + 3  # SIGKILL is sent; give the kernel a moment to finish them
    while _left(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _left(marker) == []  # no ansible-playbook, worker, module or `sleep 600` of this run
