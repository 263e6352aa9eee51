"""The ebtables Neutron's linuxbridge agent runs (templates/puppet/modules/tripleo/files/ebtables-among), on
the real ebtables-nft in a network namespace of its own.

Found by tempest on the 3+2 lab: Debian 12's ebtables-nft cannot delete a rule with an among match, the
agent's ARP protection deletes one when it wires a port again, and its retry never ends: that compute then
wires no other port and every server there fails with "Virtual Interface creation failed".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
WRAPPER = REPO / "templates" / "puppet" / "modules" / "tripleo" / "files" / "ebtables-among"
CHAIN = "neutronMAC-tapx"
RULE = ["-i", "tapx", "--among-src", "fa:16:3e:00:00:01,fa:16:3e:00:00:02", "-j", "RETURN"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ebtables") is None or shutil.which("ip") is None,
    reason="needs root, ip and ebtables (a network namespace of its own)",
)


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"tebt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _in(netns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", netns, *args], capture_output=True, text=True, timeout=30)


def _chain(netns: str) -> list[str]:
    out = _in(netns, "ebtables", "-t", "nat", "-L", CHAIN).stdout
    return [line for line in out.splitlines() if line.startswith("-")]


def test_a_rule_with_an_among_match_is_deleted_and_the_rest_stays(netns: str) -> None:
    # the agent's chain: a default DROP rule at its end, the port's MACs before it
    _in(netns, "ebtables", "-t", "nat", "-N", CHAIN, "-P", "DROP")
    _in(netns, "ebtables", "-t", "nat", "-A", CHAIN, "-j", "DROP")
    assert _in(netns, "ebtables", "-t", "nat", "--concurrent", "-I", CHAIN, *RULE).returncode == 0
    assert len(_chain(netns)) == 2
    done = _in(netns, str(WRAPPER), "-t", "nat", "--concurrent", "-D", CHAIN, *RULE)
    assert done.returncode == 0, done.stderr
    assert _chain(netns) == ["-j DROP"]
    # a rule that is not there: ebtables' own answer to a missing rule (not 4, which the agent retries)
    missing = _in(netns, str(WRAPPER), "-t", "nat", "--concurrent", "-D", CHAIN, *RULE)
    assert missing.returncode == 1 and "no rule" in missing.stderr
    # anything else is ebtables itself
    listed = _in(netns, str(WRAPPER), "-t", "nat", "-L", CHAIN)
    assert listed.returncode == 0 and "-j DROP" in listed.stdout
