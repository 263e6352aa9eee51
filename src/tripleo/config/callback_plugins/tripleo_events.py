"""An Ansible callback plugin: each playbook event as one JSON line on the file descriptor named by
``TRIPLEO_ANSIBLE_EVENTS_FD``, for :mod:`tripleo.config.runner`.

It is a notification callback (``ANSIBLE_CALLBACKS_ENABLED=tripleo_events``): the stdout callback keeps
writing Ansible's own words to the deploy log. Each line is ``{"event": <Ansible's callback name without
v2_>, ...}`` with the task's name as its banner shows it, the host's name, and for a failure the fields of
the result the runner reads (``msg``, ``stdout``, ``stderr``), after Ansible's own ``no_log`` censoring. It
runs in ansible-playbook's main process (workers hand their results to it), so the lines never interleave.
Without ``TRIPLEO_ANSIBLE_EVENTS_FD`` (a project run by hand with the plugin enabled) it does nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]

DOCUMENTATION = """
name: tripleo_events
type: notification
short_description: playbook events as JSON lines for tripleo's runner
description:
  - Writes one JSON object per line to the file descriptor in TRIPLEO_ANSIBLE_EVENTS_FD.
requirements:
  - enable in callbacks_enabled
"""

FD_VARIABLE = "TRIPLEO_ANSIBLE_EVENTS_FD"
_TEXT_LIMIT = 1 << 20  # a result's field keeps its last MiB: Puppet's whole output fits, a runaway does not
_FIELDS = ("msg", "stdout", "stderr")


def _field(result: Any, name: str) -> Any:
    """``result.<name>`` (ansible-core 2.19+), else ``result._<name>`` (2.16-2.18)."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, f"_{name}")


def _task_name(task: Any) -> str:
    return str(task.get_name()).strip()


class CallbackModule(CallbackBase):  # type: ignore[misc]  # ansible-core ships no type information
    """Writes the events; see the module docstring."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "tripleo_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fd = os.environ.get(FD_VARIABLE, "")
        self._fd = int(fd) if fd.isdigit() else None

    def _emit(self, event: str, **fields: Any) -> None:
        if self._fd is None:
            return
        data = (json.dumps({"event": event, **fields}, default=str, sort_keys=True) + "\n").encode()
        while data:
            data = data[os.write(self._fd, data) :]

    def _task_event(self, event: str, task: Any) -> None:
        self._emit(event, task=_task_name(task), uuid=str(task._uuid))

    def _result_event(self, event: str, result: Any, /, **extra: Any) -> None:
        task = _field(result, "task")
        self._emit(event, host=_field(result, "host").get_name(), task=_task_name(task), uuid=str(task._uuid),
                   **extra)  # fmt: skip

    def _said(self, result: Any) -> dict[str, str]:
        data = _field(result, "result")
        said = {}
        if isinstance(data, Mapping):
            for name in _FIELDS:
                value = data.get(name)
                if value:
                    said[name] = (value if isinstance(value, str) else json.dumps(value, default=str))[
                        -_TEXT_LIMIT:
                    ]
        return said

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self._emit("playbook_on_start")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._emit("playbook_on_play_start", play=str(play.get_name()).strip())

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._task_event("playbook_on_task_start", task)

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._task_event("playbook_on_handler_task_start", task)

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._emit("runner_on_start", host=host.get_name(), task=_task_name(task), uuid=str(task._uuid))

    def v2_runner_on_ok(self, result: Any) -> None:
        changed = bool(_field(result, "result").get("changed", False))
        self._result_event("runner_on_ok", result, changed=changed)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result_event("runner_on_skipped", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result_event(
            "runner_on_failed", result, ignore_errors=bool(ignore_errors), result=self._said(result)
        )

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result_event("runner_on_unreachable", result, result=self._said(result))

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._emit("playbook_on_stats", hosts=hosts)
