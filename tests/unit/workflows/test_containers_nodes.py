"""``overcloud container list``'s node side on fake shells: the command each host is asked, its podman
answer turned into rows, and a host that cannot answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from tripleo.errors import OperationError
from tripleo.nodeshell import Call, FakeShell, Result, ShellTimeout
from tripleo.workflows.containers import container_list

# what every host is asked, byte for byte: podman's view of the containers tripleo manages ('[]' for none)
INSPECT = (
    "ids=$(podman ps --all --quiet --filter label=tripleo.managed=true); "
    "[ -z \"$ids\" ] && echo '[]' || podman inspect $ids"
)

# the parts of `podman inspect` that are read (podman 4 spells the health "Health", podman 3 "Healthcheck")
KEYSTONE = {
    "Name": "keystone", "ImageName": "192.168.24.1:8787/tripleo/keystone:4f2a",
    "State": {"Status": "running", "StartedAt": "2026-12-01T10:00:00Z", "Health": {"Status": "healthy"}},
    "Config": {"Image": "ignored", "Labels": {"tripleo.config_hash": "abc", "tripleo.managed": "true"}},
}  # fmt: skip
MEMCACHED = {
    "Name": "/memcached",
    "State": {"Status": "exited", "StartedAt": "2026-12-01T09:00:00Z",
              "Healthcheck": {"Status": "unhealthy"}},
    "Config": {"Image": "192.168.24.1:8787/tripleo/memcached:9e1c", "Labels": {}},
}  # fmt: skip
INIT = {"Name": "container-puppet-keystone", "State": {"Status": "exited"}, "Config": {}}

HOSTS = [
    {"name": "controller-0", "ctlplane": "192.168.24.10"},
    {"name": "compute-0", "ctlplane": "192.168.24.11"},
]


def _connect(shells: Mapping[str, FakeShell]) -> Any:
    return lambda host: shells[host["ctlplane"]]


def test_each_host_is_asked_once_and_its_containers_become_rows() -> None:
    shells = {
        "192.168.24.10": FakeShell("c0", {INSPECT: Result(0, json.dumps([MEMCACHED, KEYSTONE, INIT]))}),
        "192.168.24.11": FakeShell("c1", {INSPECT: Result(0, "[]\n")}),
    }
    rows = container_list(HOSTS, connect=_connect(shells))
    assert rows == [
        {"host": "controller-0", "name": "container-puppet-keystone", "image": None, "status": "exited",
         "health": "-", "started": None, "config_hash": None},
        {"host": "controller-0", "name": "keystone", "image": "192.168.24.1:8787/tripleo/keystone:4f2a",
         "status": "running", "health": "healthy", "started": "2026-12-01T10:00:00Z", "config_hash": "abc"},
        {"host": "controller-0", "name": "memcached", "image": "192.168.24.1:8787/tripleo/memcached:9e1c",
         "status": "exited", "health": "unhealthy", "started": "2026-12-01T09:00:00Z", "config_hash": None},
    ]  # fmt: skip
    assert all(shell.calls == [Call(INSPECT, None, 60)] for shell in shells.values())


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Result(255, "", "Warning: x\nssh: connect to host 192.168.24.11 port 22: Connection refused\n"),
         "compute-0: cannot list its containers: ssh: connect to host 192.168.24.11 port 22: "
         "Connection refused"),
        (Result(125, "", ""), "compute-0: cannot list its containers: 125"),
        (ShellTimeout("192.168.24.11", "a shell command", 60),
         "192.168.24.11: a shell command did not finish within 60 s"),
    ],
)  # fmt: skip
def test_a_host_that_cannot_answer_fails_the_list_naming_it(
    answer: Result | ShellTimeout, message: str
) -> None:
    shells = {
        "192.168.24.10": FakeShell("c0", {INSPECT: Result(0, "[]")}),
        "192.168.24.11": FakeShell("c1", {INSPECT: answer}),
    }
    with pytest.raises(OperationError) as caught:
        container_list(HOSTS, connect=_connect(shells))
    assert str(caught.value) == message
