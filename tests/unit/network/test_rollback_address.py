"""The rollback's address steps (tripleo.network.rollback.restore_address): an address a host's own network
manager already put back (systemd-networkd applies its file again when the NIC leaves the bridge; seen on
the QEMU machine of tests/functional/machine/test_machine_lab.py, which runs the real path) is a step done,
not a failure; any other error of the kernel's still fails it."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from pyroute2 import NetlinkError

from tripleo.network.rollback import restore_address


class _Links:
    """What restore_address calls of an IPRoute: link lookup by name, then addr, which fails with ``code``."""

    def __init__(self, code: int) -> None:
        self.code = code

    def link_lookup(self, ifname: str) -> list[int]:
        return [7]

    def addr(self, verb: str, **spec: Any) -> None:
        raise NetlinkError(self.code)


@pytest.mark.parametrize(("verb", "code"), [("add", errno.EEXIST), ("del", errno.EADDRNOTAVAIL)])
def test_an_address_already_as_wanted_is_done(verb: str, code: int) -> None:
    restore_address(_Links(code), verb, "eth0", "192.0.2.10/24")


@pytest.mark.parametrize(("verb", "code"), [("add", errno.EADDRNOTAVAIL), ("del", errno.EEXIST),
                                            ("add", errno.EPERM)])  # fmt: skip
def test_other_errors_still_fail(verb: str, code: int) -> None:
    with pytest.raises(NetlinkError):
        restore_address(_Links(code), verb, "eth0", "192.0.2.10/24")
