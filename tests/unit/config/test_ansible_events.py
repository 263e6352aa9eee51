"""The runner reads Ansible through its events: recorded event lines in, progress, failures and recap out
(tests/data/ansible_events), and the failure of a run killed at its timeout."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tripleo.config import runner
from tripleo.config.runner import Events, Failure, HostRecap, _message, _timed_out

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "ansible_events"
CASES = sorted(p.stem for p in DATA.glob("*.jsonl"))


def _fold(case: str) -> tuple[Events, list[str]]:
    seen: list[str] = []
    events = Events(seen.append)
    for line in (DATA / f"{case}.jsonl").read_text().splitlines():
        events.feed(line)
    return events, seen


@pytest.mark.parametrize("case", CASES)
def test_recorded_events_give_progress_failures_and_recap(case: str) -> None:
    events, seen = _fold(case)
    expected: dict[str, Any] = json.loads((DATA / f"{case}.expected.json").read_text())
    assert seen == expected["progress"]
    assert events.task == expected["task"]
    assert events.running == expected["running"]
    assert [f.to_dict() for f in events.failures] == expected["failures"]
    assert events.recap == {host: HostRecap(host, **counts) for host, counts in expected["recap"].items()}


def test_every_case_has_its_expectation_and_the_cases_cover_each_handled_event() -> None:
    assert len(CASES) >= 6
    assert sorted(p.name.removesuffix(".expected.json") for p in DATA.glob("*.expected.json")) == CASES
    written = {json.loads(line)["event"] for case in CASES for line in (DATA / f"{case}.jsonl").read_text()
               .splitlines() if line.startswith("{")}  # fmt: skip
    assert set(runner._HANDLERS) <= written


def test_a_hung_task_names_the_hosts_that_sent_no_result() -> None:
    events, _ = _fold("hang")
    text, failures = _timed_out(events, 5)
    assert text == "config download timed out on compute-0.overcloud.lab, task 'Step 3: puppet apply': " \
        "no result after 5 s"  # fmt: skip
    assert failures == [
        Failure("compute-0.overcloud.lab", "Step 3: puppet apply", "timed out: no result after 5 s")
    ]
    text, failures = _timed_out(Events(), 30)
    assert (text, failures) == ("config download timed out: no result after 30 s (last task '')", [])


def test_the_deadline_restarts_with_each_task_and_play() -> None:
    now = [100.0]
    events = Events(clock=lambda: now[0])
    assert events.since == 100.0
    starts = [("playbook_on_start", 101.0), ("playbook_on_play_start", 102.5),
              ("playbook_on_task_start", 104.0), ("playbook_on_handler_task_start", 110.0)]  # fmt: skip
    for event, at in starts:
        now[0] = at
        events.feed(json.dumps({"event": event, "task": "t"}))
        assert events.since == at
    now[0] = 200.0
    events.feed(json.dumps({"event": "runner_on_ok", "host": "h", "task": "t"}))  # a result is no new start
    assert events.since == 110.0


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ({"changed": False, "msg": "non-zero return code", "rc": 2}, "non-zero return code"),
        ({"stderr": "ERROR: nic9 unknown\nmore"}, "ERROR: nic9 unknown"),
        ({"stderr": "starting\nfailed!"}, "failed!"),
        ({"msg": "non-zero return code", "stderr": "Error: no tripleo::role"}, "Error: no tripleo::role"),
        ({"msg": "Failed to connect to the host via ssh"}, "Failed to connect to the host via ssh"),
        ({}, "failed"),
        ({"stderr": "x" * 400}, "x" * 300),
    ],
)
def test_a_failure_is_told_by_the_command_s_own_words(said: dict[str, Any], message: str) -> None:
    assert _message(said) == message


def test_the_plugin_writes_where_the_runner_reads() -> None:
    path = runner.PLUGINS / "tripleo_events.py"
    spec = importlib.util.spec_from_file_location("tripleo_events_plugin", path)
    assert spec is not None and spec.loader is not None
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    assert plugin.FD_VARIABLE == runner._FD_VARIABLE
    assert plugin.CallbackModule.CALLBACK_NAME == runner._PLUGIN == path.stem


def test_files_outside_packages_are_package_data() -> None:
    """The callback plugin is a .py in a directory that is no package: pyproject must ship it."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "tripleo"
    ]
    src = REPO / "src" / "tripleo"
    loose = [p.relative_to(src).as_posix() for p in src.rglob("*.py")
             if "__pycache__" not in p.parts and not (p.parent / "__init__.py").exists()]  # fmt: skip
    assert "config/callback_plugins/tripleo_events.py" in loose
    assert [p for p in loose if not any(fnmatch.fnmatch(p, pattern) for pattern in patterns)] == []
