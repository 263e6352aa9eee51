"""A real server renamed in an update: the command its node runs, and a node that refuses."""

from __future__ import annotations

import pytest

from tripleo.errors import OperationError
from tripleo.nodeshell import Call, FakeShell, Result
from tripleo.resources.provisioned import _set_hostname


def test_the_node_takes_the_short_name_now_and_at_boot() -> None:
    shell = FakeShell("192.168.24.10", default=Result(0))
    _set_hostname(shell, "controller-1.overcloud.example.com")
    assert shell.calls == [Call("hostname controller-1 && echo controller-1 > /etc/hostname", None, 60)]
    _set_hostname(shell, "a;reboot")  # not a hostname: quoted, the node's shell runs no second command
    assert shell.commands[1] == "hostname 'a;reboot' && echo 'a;reboot' > /etc/hostname"


def test_a_node_that_refuses_names_its_address_and_what_it_said() -> None:
    shell = FakeShell(
        "192.168.24.10", default=Result(1, "", "hostname: you must be root to change the host name\n")
    )
    with pytest.raises(
        OperationError, match=r"^renaming 192\.168\.24\.10 to c-1: hostname: you must be root"
    ):
        _set_hostname(shell, "c-1.lab")
    with pytest.raises(OperationError, match=r"^renaming 192\.168\.24\.10 to c-1: 255$"):
        _set_hostname(FakeShell("192.168.24.10", default=Result(255)), "c-1.lab")
