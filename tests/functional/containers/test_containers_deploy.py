"""Issue 11 end to end: the overcloud deployed with ``-e environments/containers.yaml``: memcached in a
podman container on the controller (its config made by its config container, its image pulled from the
undercloud registry over ctlplane), the other services on the node, Keystone using that memcached.

One lab (``tk``: a controller alone with issue 1's services, tests/data/containers/roles_data.yaml), one
image build and one deploy serve the module; the tests run in file order.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, running_lab

from tripleo.democloud import rc_env

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
REPO = Path(__file__).resolve().parents[3]
LAB_NAME = "tk"
pytestmark = [pytest.mark.lab, pytest.mark.slow]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRIPLEO_HOME": str(home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=1800)
    if check:
        assert proc.returncode == 0, f"tripleo {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


@dataclass
class Deployed:
    lab: RunningLab
    registry: str
    parameters: dict[str, str] = field(default_factory=dict)  # the last good deploy's --parameter values

    @property
    def home(self) -> Path:
        return self.lab.home

    @property
    def args(self) -> list[str]:
        environments = REPO / "templates" / "environments"
        envs = [environments / "lab.yaml", self.home / "lab" / "network-environment.yaml",
                environments / "containers.yaml"]  # fmt: skip
        if (
            self.parameters
        ):  # service parameters are parameter_defaults (an environment), as operators set them
            text = json.dumps({"parameter_defaults": self.parameters}, sort_keys=True)
            extra = self.home / f"params-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
            extra.write_text(text)
            envs.append(extra)
        roles = ["--roles-file", str(REPO / "tests" / "data" / "containers" / "roles_data.yaml")]
        return [a for e in envs for a in ("-e", str(e))] + [*roles, "--parameter", "ComputeCount=0"]

    def with_(self, **params: str) -> list[str]:
        return Deployed(self.lab, self.registry, {**self.parameters, **params}).args

    def status(self) -> dict[str, Any]:
        return dict(json.loads(run(self.home, "overcloud", "status", "-f", "json").stdout))

    def containers(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = json.loads(run(self.home, "overcloud", "container", "list", "-f", "json").stdout)
        return {(r["host"].split(".")[0], r["name"]): r for r in rows}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    labs = running_lab(tmp_path_factory.mktemp("containers-deploy"), "--nodes", "1", "--name", LAB_NAME)
    lab = next(labs)
    try:
        config = json.loads((lab.home / "lab" / "lab.json").read_text())["config"]
        host = next(n for n in config["networks"] if n["name"] == "ctlplane")["host_address"]
        out = run(lab.home, "container", "registry", "start", "--bind", f"{host}:8787").stdout
        run(lab.home, "container", "image", "build", "--service", "memcached")
        run(lab.home, "overcloud", "node", "import", str(lab.home / "lab" / "instackenv.json"))
        run(lab.home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        deployed = Deployed(lab, out.split()[-1])
        done = run(lab.home, "overcloud", "deploy", *deployed.args)
        assert "Overcloud Deployed" in done.stdout
        yield deployed
    finally:
        run(lab.home, "container", "registry", "stop", check=False)
        labs.close()


def openstack(home: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **rc_env(home)}
    proc = subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def ssh(deployed: Deployed, address: str, command: str) -> str:
    """As config download reaches the nodes: tripleo's own key."""
    key = deployed.home / "ssh" / "id_ed25519"
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"]
    argv = ["ssh", "-i", str(key), *opts, "-o", "LogLevel=ERROR", f"root@{address}", command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def connects(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


def test_memcached_runs_in_a_healthy_container_that_keystone_uses(deployed: Deployed) -> None:
    status = deployed.status()
    [controller] = status["hosts"]
    rows = deployed.containers()
    row = rows[("controller-0", "memcached")]
    assert row["status"] == "running" and row["health"] == "healthy"
    assert row["image"].startswith(f"{deployed.registry}/tripleo/memcached:")  # pulled over ctlplane
    internal = controller["addresses"]["InternalApi"].split("/")[0]
    # the profile's config, made in the config container, read by the container: it binds InternalApi
    conf = ssh(
        deployed,
        controller["ctlplane"],
        "cat /var/lib/config-data/puppet-generated/memcached/etc/memcached.conf",
    )
    assert f"-l {internal}" in conf
    assert ssh(deployed, controller["ctlplane"], "podman top memcached args").count(f"-l {internal}") == 1
    # nothing of memcached runs outside its container (the node's own init script was never used)
    assert not ssh(deployed, controller["ctlplane"], "test -e /run/memcached/memcached.pid && echo yes; true")
    token = json.loads(openstack(deployed.home, "token", "issue", "-f", "json"))
    assert token["id"]


def test_net_host_opens_nothing_the_firewall_closed(deployed: Deployed) -> None:
    [controller] = deployed.status()["hosts"]
    internal = controller["addresses"]["InternalApi"].split("/")[0]
    for address in (controller["ctlplane"], controller["addresses"]["External"].split("/")[0]):
        assert not connects(address, 11211), address
    subprocess.run(["ip", "route", "replace", f"{internal}/32", "via", controller["ctlplane"]], check=True)
    try:
        assert not connects(internal, 11211)  # the weak-host path: the firewall closes it
    finally:
        subprocess.run(["ip", "route", "del", f"{internal}/32"], check=False)
    out = ssh(
        deployed,
        controller["ctlplane"],
        f"python3 -c \"import socket; socket.create_connection(('{internal}', 11211), 3); print('ok')\"",
    )
    assert out.strip() == "ok"


def test_a_redeploy_without_change_recreates_no_container(deployed: Deployed) -> None:
    before = deployed.containers()
    again = run(deployed.home, "overcloud", "deploy", *deployed.args)
    assert "config plan: controller-0.overcloud.lab: nothing to run" in again.stderr
    assert deployed.containers() == before


def test_a_memcached_parameter_recreates_only_its_container(deployed: Deployed) -> None:
    before = deployed.containers()
    changed = run(deployed.home, "overcloud", "deploy", *deployed.with_(MemcachedMaxMemory="96"))
    deployed.parameters["MemcachedMaxMemory"] = "96"
    assert "Overcloud Deployed" in changed.stdout
    after = deployed.containers()
    assert after[("controller-0", "memcached")]["started"] != before[("controller-0", "memcached")]["started"]
    assert (
        after[("controller-0", "memcached")]["config_hash"]
        != before[("controller-0", "memcached")]["config_hash"]
    )
    assert after[("controller-0", "memcached")]["health"] == "healthy"
    [controller] = deployed.status()["hosts"]
    assert "-m 96" in ssh(deployed, controller["ctlplane"], "podman top memcached args")


def test_an_image_never_built_is_refused_naming_service_and_node(deployed: Deployed) -> None:
    before = deployed.containers()
    args = deployed.with_(ContainerMemcachedImage="tripleo/haproxy")
    proc = run(deployed.home, "overcloud", "deploy", *args, check=False)
    assert proc.returncode == 2
    assert (
        "service memcached on controller-0.overcloud.lab: image tripleo/haproxy was never built"
        in proc.stderr
    )
    assert deployed.containers() == before


def test_a_registry_that_does_not_answer_is_named_before_any_container_changes(deployed: Deployed) -> None:
    before = deployed.containers()
    run(deployed.home, "container", "registry", "stop")
    try:
        proc = run(
            deployed.home, "overcloud", "deploy", *deployed.with_(MemcachedMaxMemory="64"), check=False
        )
        assert proc.returncode == 1 and "the undercloud registry does not answer" in proc.stderr
        assert deployed.containers() == before
    finally:
        run(deployed.home, "container", "registry", "start", "--bind", deployed.registry)
