"""Issue 11, the parts below the deploy: images built from Debian packages on this host, served by the
undercloud's registry on the lab's ctlplane address, pulled by a lab node over ctlplane and run there by the
node agent (config container, podman run --net host, healthcheck, re-created only on a change).

One lab (``tc``, one node) and one image build serve the module; the tests run in file order.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab

from tripleo.config.agent import build_agent
from tripleo.config.images import Podman

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
LAB_NAME = "tc"
pytestmark = [pytest.mark.lab, pytest.mark.slow]
AGENT = "/var/lib/tripleo/tripleo-agent.pyz"
HEALTH = "python3 -c \"import socket; socket.create_connection(('{address}', 11211), 2)\""


@dataclass
class Node:
    lab: RunningLab
    address: str  # the node's ctlplane address
    registry: str  # ADDRESS:PORT on the host's ctlplane address

    def sh(
        self, command: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        key = self.lab.api.ssh_key
        opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
        argv = ["ssh", "-i", str(key), *opts, "-o", "LogLevel=ERROR", f"root@{self.address}", command]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, input=stdin)
        if check:
            assert proc.returncode == 0, f"{command}: {proc.stdout}{proc.stderr}"
        return proc

    def apply(self, step: dict[str, object], check: bool = True) -> subprocess.CompletedProcess[str]:
        self.sh("cat > /var/lib/tripleo/step.json", stdin=json.dumps(step))
        return self.sh(f"python3 {AGENT} containers /var/lib/tripleo/step.json --step 2", check=check)


def tripleo(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=1800)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    labs = running_lab(tmp_path_factory.mktemp("containers-home"), "--nodes", "1", "--name", LAB_NAME)
    lab = next(labs)
    try:
        config = json.loads((lab.home / "lab" / "lab.json").read_text())["config"]
        ctlplane = next(n for n in config["networks"] if n["name"] == "ctlplane")
        host = str(ctlplane["host_address"])
        address = host.rsplit(".", 1)[0] + ".10"
        lab.provision("node-0", f"{address}/24")
        lab.power_on("node-0")
        lab.wait_ssh(address, timeout=30)
        registry = tripleo(lab.home, "container", "registry", "start", "--bind", f"{host}:8787").stdout
        node = Node(lab, address, registry.split()[-1])
        # what config download gives a node: the agent
        agent = build_agent(lab.home / "agent")
        node.sh("mkdir -p /var/lib/tripleo")
        key = lab.api.ssh_key
        opts = [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
        ]
        subprocess.run(["scp", "-i", str(key), *opts, str(agent), f"root@{address}:{AGENT}"], check=True)
        yield node
    finally:
        tripleo(lab.home, "container", "registry", "stop", check=False)
        labs.close()


def _memcached(node: Node, image: str, memory: int = 32) -> dict[str, object]:
    return {
        "image": image,
        "net": "host",
        "restart": "always",
        "command": f"exec memcached -u memcache -l {node.address} -p 11211 -m {memory}",
        "healthcheck": {"test": HEALTH.format(address=node.address)},
    }


def _started(node: Node, name: str) -> str:
    return node.sh(f"podman inspect --format '{{{{.State.StartedAt}}}}' {name}").stdout.strip()


def _answers(address: str) -> bool:
    with socket.socket() as probe:
        probe.settimeout(3)
        if probe.connect_ex((address, 11211)) != 0:
            return False
        probe.sendall(b"version\r\n")
        return probe.recv(64).startswith(b"VERSION ")


def test_an_image_built_here_runs_in_a_node_and_is_recreated_only_on_a_change(node: Node) -> None:
    home = node.lab.home
    built = tripleo(home, "container", "image", "build", "--service", "memcached").stdout
    assert f"registry {node.registry}: 2 pushed" in built
    rows = {
        r["name"]: r for r in json.loads(tripleo(home, "container", "image", "list", "-f", "json").stdout)
    }
    assert rows["memcached"]["built"] and rows["memcached"]["in_registry"] and rows["base"]["in_registry"]
    assert not rows["keystone"]["built"]
    image = f"{node.registry}/{rows['memcached']['image']}"
    step = {"insecure_registries": [node.registry], "containers": {"memcached": _memcached(node, image)}}
    first = json.loads(node.apply(step).stdout.splitlines()[-1])
    assert first["created"] == ["memcached"] and _answers(node.address)
    health = node.sh("podman inspect --format '{{.State.Health.Status}}' memcached").stdout.strip()
    assert health == "healthy"  # the agent ran the healthcheck (no systemd timers in a lab node)
    started = _started(node, "memcached")
    again = json.loads(node.apply(step).stdout.splitlines()[-1])
    assert (
        again == {"changed": False, "configs": [], "created": []} and _started(node, "memcached") == started
    )
    step["containers"] = {"memcached": _memcached(node, image, memory=48)}
    changed = json.loads(node.apply(step).stdout.splitlines()[-1])
    assert changed["created"] == ["memcached"] and _started(node, "memcached") != started
    assert "-m 48" in node.sh("podman inspect --format '{{.Config.Cmd}}' memcached").stdout
    # rebuilt unchanged: nothing to do, in seconds
    assert "registry" in tripleo(home, "container", "image", "build", "--service", "memcached").stdout


def test_a_config_container_generates_the_config_volume(node: Node) -> None:
    rows = {r["name"]: r for r in json.loads(tripleo(node.lab.home, "container", "image", "list", "-f",
                                                     "json").stdout)}  # fmt: skip
    image = f"{node.registry}/{rows['memcached']['image']}"
    hiera = "---\nversion: 5\nhierarchy:\n  - {name: c, path: common.yaml}\n"
    hiera += "defaults: {datadir: /etc/puppet/hieradata, data_hash: yaml_data}\n"
    node.sh("mkdir -p /etc/puppet/modules /etc/puppet/vendor /etc/puppet/hieradata && "
            "printf 'probe: generated-%s\\n' $(hostname -s) > /etc/puppet/hieradata/common.yaml && "
            "cat > /etc/puppet/hiera.yaml", stdin=hiera)  # fmt: skip
    manifest = (
        "file { '/etc/tc-probe.conf': content => lookup('probe') } service { 'memcached': ensure => running }"
    )
    step = {"config": {"probe": {"image": image, "step_config": manifest}}}
    done = json.loads(node.apply(step).stdout.splitlines()[-1])
    assert done["configs"] == ["probe"]
    text = node.sh("cat /var/lib/config-data/puppet-generated/probe/etc/tc-probe.conf").stdout
    assert text == "generated-node-0"
    assert node.sh("test -e /etc/tc-probe.conf", check=False).returncode == 1  # written in the container only
    again = json.loads(node.apply(step).stdout.splitlines()[-1])
    assert again["configs"] == []  # the same tree: the volume is unchanged


def test_bad_definitions_and_missing_images_change_nothing(node: Node) -> None:
    started = _started(node, "memcached")
    rows = {r["name"]: r for r in json.loads(tripleo(node.lab.home, "container", "image", "list", "-f",
                                                     "json").stdout)}  # fmt: skip
    good = f"{node.registry}/{rows['memcached']['image']}"
    bad = {"containers": {"memcached": {**_memcached(node, good, memory=16), "ports": ["11211:11211"]}}}
    proc = node.apply(bad, check=False)
    assert proc.returncode == 2 and "container memcached: unknown key 'ports'" in proc.stderr
    missing = {"containers": {"memcached": _memcached(node, f"{node.registry}/tripleo/never-built:1", 16)}}
    proc = node.apply(missing, check=False)
    assert proc.returncode == 1 and "cannot pull" in proc.stderr and "never-built" in proc.stderr
    assert _started(node, "memcached") == started and _answers(node.address)


def test_a_build_killed_half_way_tags_nothing_and_the_same_command_converges(node: Node) -> None:
    """SIGKILL while a service layer builds (the base is built): no tag for the half-built image, and the
    same command again builds it, leaving no working container of the killed build behind."""
    home = node.lab.home
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    argv = [TRIPLEO, "container", "image", "build", "--service", "haproxy"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("building tripleo/haproxy:"):
            break
    time.sleep(4)  # inside podman build: apt is installing the layer's packages
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = {
        r["name"]: r for r in json.loads(tripleo(home, "container", "image", "list", "-f", "json").stdout)
    }
    assert not rows["haproxy"]["built"]
    done = tripleo(home, "container", "image", "build", "--service", "haproxy").stdout
    assert f"{rows['haproxy']['image']}: built in" in done
    rows = {
        r["name"]: r for r in json.loads(tripleo(home, "container", "image", "list", "-f", "json").stdout)
    }
    assert rows["haproxy"]["built"] and rows["haproxy"]["in_registry"]
    store = Podman(home)
    assert store.run("ps", "--all", "--external", "--format", "{{.ID}}").split() == []
