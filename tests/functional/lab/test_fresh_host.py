"""Issue 22: `make demo`'s lab checks and `lab up` / `lab down` on a host that never had a network namespace.

A fresh machine has no /run/netns until the first ``ip netns add`` (CI's runners and a new Debian 12 among
them); the demo crashed there listing it. Here the whole cycle runs in a private mount namespace with an
empty tmpfs on /run: the demo's checks, ``lab up`` of a one-node lab of its own (``fr``), the node booted
through its BMC and reached over SSH, ``lab down``. Nothing of the lab may remain: namespaces (looked for
inside, where their names live), bridges, veths, the firewall table, mounts, processes.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import TRIPLEO, lab_names, lab_processes, pinned_lab, skip_reason

from tripleo.lab import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NAME = "fr"
SHIFT = 6  # subnets and BMC ports no other lab of the tests takes

# the steps inside the private mount namespace; `set -e`: the first failure ends it with its exit code
SCRIPT = """\
set -e
mount -t tmpfs -o mode=0755 tmpfs /run
test ! -e /run/netns
echo "demo check: $("$PY" -c 'from tripleo.demo import _lab_skip_reason; print(_lab_skip_reason())')"
"$TRIPLEO" lab up $UP_ARGS
"$TRIPLEO" lab provision node-0 --address "$ADDRESS/24"
set -- $("$PY" -c 'import json, sys
node = json.load(open(sys.argv[1]))["nodes"][0]
print(node["pm_port"], node["pm_user"], node["pm_password"])' "$TRIPLEO_HOME/lab/instackenv.json")
ipmitool -I lanplus -H 127.0.0.1 -p "$1" -U "$2" -P "$3" chassis power on
tries=0
until ssh -i "$TRIPLEO_HOME/lab/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \\
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 -o LogLevel=ERROR "root@$ADDRESS" \\
    'echo "node: $(hostname)"'; do
  tries=$((tries + 1)); [ "$tries" -lt 60 ] || exit 3; sleep 0.3
done
"$TRIPLEO" lab down --name fr
echo "namespaces left: $(ip netns list | grep -c '^fr-' || true)"
"""


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """The lab's TRIPLEO_HOME; ``lab down`` from outside afterwards, whatever happened inside."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    left = lab_names(NAME)
    if left["netns"] or left["links"]:
        pytest.skip(f"a lab named {NAME} is already up on this host: tripleo lab down --name {NAME}")
    try:
        yield tmp_path
    finally:
        Lab(tmp_path).down(NAME)  # its bridges and daemon; its namespaces died with the mount namespace


def test_demo_checks_lab_up_and_down_with_an_empty_run(home: Path) -> None:
    up_args = pinned_lab(home, NAME, nodes=1, shift=SHIFT)
    address = "192.168.84.10"  # the ctlplane moved SHIFT times: 192.168.24.0/24 + 60 /24s
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TRIPLEO_HOME": str(home),
        "PY": sys.executable,
        "TRIPLEO": TRIPLEO,
        "UP_ARGS": shlex.join(up_args),
        "ADDRESS": address,
    }
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
    out = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "demo check: None" in out  # it ran to its end: no lab reason to skip, no FileNotFoundError
    assert any(
        line.startswith(f"lab up: {NAME}: 1 nodes, 7 networks (ctlplane 192.168.84.0/24") for line in out
    )
    assert "node: node-0" in out
    assert any(line.startswith("lab down: 1 daemon(s), 1 namespace(s)") for line in out), out
    assert out[-1] == "namespaces left: 0"
    assert lab_names(NAME) == {"netns": [], "links": [], "nft": [], "mounts": []}
    assert lab_processes(home, NAME) == []
    assert not (home / "lab").exists()
