"""Issue 11 end to end: the overcloud deployed with ``-e environments/containers.yaml``: MariaDB, memcached,
HAProxy, Keystone and Glance in podman containers on the controller (each one's config made by its config
container, its database made and synced by one-shot containers, its image pulled from the undercloud registry
over ctlplane), used with the real ``openstack`` client through the public VIP.

One lab (``tk``: a controller alone with issue 1's services, templates/roles_data_core.yaml), one
image build and one deploy serve the module; the tests run in file order. The first deploy runs before
Glance's image is built: it is refused, naming the service and the node, before any container exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from labkit import RunningLab, pinned_lab, reachable, running_lab

from tripleo.democloud import rc_env

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
REPO = Path(__file__).resolve().parents[3]
LAB_NAME = "tk"
BUILT_FIRST = ("memcached", "mariadb", "haproxy", "keystone")  # Glance's image comes later
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
    refused: subprocess.CompletedProcess[str] | None = None  # the deploy before Glance's image was built
    containers_then: str = ""  # `overcloud container list -f json` after it

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
        roles = ["--roles-file", str(REPO / "templates" / "roles_data_core.yaml")]
        return [a for e in envs for a in ("-e", str(e))] + [*roles, "--parameter", "ComputeCount=0"]

    def with_(self, **params: str) -> list[str]:
        return Deployed(self.lab, self.registry, {**self.parameters, **params}).args

    @property
    def controller(self) -> dict[str, Any]:
        [controller] = self.status()["hosts"]
        return dict(controller)

    def status(self) -> dict[str, Any]:
        return dict(json.loads(run(self.home, "overcloud", "status", "-f", "json").stdout))

    def containers(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows = json.loads(run(self.home, "overcloud", "container", "list", "-f", "json").stdout)
        return {(r["host"].split(".")[0], r["name"]): r for r in rows}


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
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("containers-deploy")
    labs = running_lab(home, *pinned_lab(home, LAB_NAME, nodes=1, shift=3))
    lab = next(labs)
    try:
        config = json.loads((lab.home / "lab" / "lab.json").read_text())["config"]
        host = next(n for n in config["networks"] if n["name"] == "ctlplane")["host_address"]
        out = run(lab.home, "container", "registry", "start", "--bind", f"{host}:8787").stdout
        run(lab.home, "container", "image", "build", *(a for s in BUILT_FIRST for a in ("--service", s)))
        run(lab.home, "overcloud", "node", "import", str(lab.home / "lab" / "instackenv.json"))
        run(lab.home, "overcloud", "node", "introspect", "--all-manageable", "--provide")
        deployed = Deployed(lab, out.split()[-1])
        deployed.refused = run(lab.home, "overcloud", "deploy", *deployed.args, check=False)
        deployed.containers_then = run(lab.home, "overcloud", "container", "list", "-f", "json").stdout
        run(lab.home, "container", "image", "build", "--service", "glance-api")
        done = run(lab.home, "overcloud", "deploy", *deployed.args)
        assert "Overcloud Deployed" in done.stdout
        yield deployed
    finally:
        run(lab.home, "container", "registry", "stop", check=False)
        labs.close()


SERVICES = {"memcached": 11211, "mysql": 3306, "keystone": 5000, "glance_api": 9292}
ONE_SHOT = ("mysql_bootstrap", "mysql_clustercheck", "keystone_db", "keystone_db_sync", "glance_api_db",
            "glance_api_db_sync")  # fmt: skip


def test_an_image_never_built_is_refused_naming_service_and_node(deployed: Deployed) -> None:
    refused = deployed.refused
    assert refused is not None and refused.returncode == 2, refused
    assert (
        "service glance_api on controller-0.overcloud.lab: image tripleo/glance-api was never built"
        in refused.stderr
    )
    assert json.loads(deployed.containers_then) == []  # refused before any container was made


def test_every_service_runs_in_a_healthy_container(deployed: Deployed, tmp_path: Path) -> None:
    rows = deployed.containers()
    for name in [*SERVICES, "haproxy"]:
        row = rows[("controller-0", name)]
        assert (row["status"], row["health"]) == ("running", "healthy"), row
        assert row["image"].startswith(f"{deployed.registry}/tripleo/")  # pulled over ctlplane
    for name in ONE_SHOT:  # the database and bootstrap tasks ran to their end, and stay as a record
        assert rows[("controller-0", name)]["status"] == "exited", rows[("controller-0", name)]
    controller = deployed.controller
    internal = controller["addresses"]["InternalApi"].split("/")[0]
    # the profile's config, made in the config container, read by the container: it binds InternalApi
    conf = ssh(
        deployed,
        controller["ctlplane"],
        "cat /var/lib/config-data/puppet-generated/memcached/etc/memcached.conf",
    )
    assert f"-l {internal}" in conf
    assert ssh(deployed, controller["ctlplane"], "podman top memcached args").count(f"-l {internal}") == 1
    # nothing of these services runs outside a container (the node's init scripts were never used)
    pids = (
        "/run/memcached/memcached.pid /run/keystone/keystone.pid /run/glance/glance-api.pid /run/haproxy.pid"
    )
    assert not ssh(deployed, controller["ctlplane"], f"ls {pids} 2>/dev/null; true").strip()
    token = json.loads(openstack(deployed.home, "token", "issue", "-f", "json"))
    assert token["id"]
    image = tmp_path / "image.raw"
    image.write_bytes(os.urandom(1024 * 1024))
    openstack(deployed.home, "image", "create", "--disk-format", "raw", "--container-format", "bare",
              "--file", str(image), "containers-image")  # fmt: skip
    back = tmp_path / "back.raw"
    openstack(deployed.home, "image", "save", "--file", str(back), "containers-image")
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(image.read_bytes()).digest()
    # the image lives on the node's disk (the store is a volume), not in the container
    assert ssh(deployed, controller["ctlplane"], "ls /var/lib/glance/images").split()


def test_net_host_opens_nothing_the_firewall_closed(deployed: Deployed) -> None:
    """Issue 11, acceptance 3: the isolation checks of the bare-metal overcloud, against the containers."""
    controller = deployed.controller
    internal = controller["addresses"]["InternalApi"].split("/")[0]
    outside = (controller["ctlplane"], controller["addresses"]["External"].split("/")[0])
    answered = reachable((a, p) for a in outside for p in SERVICES.values())
    assert not any(answered.values()), [f"{a}:{p}" for (a, p), ok in answered.items() if ok]
    for via in outside:
        subprocess.run(["ip", "route", "replace", f"{internal}/32", "via", via], check=True)
        try:  # the weak-host path: the firewall closes it
            answered = reachable((internal, p) for p in SERVICES.values())
            assert not any(answered.values()), (via, [p for (_, p), ok in answered.items() if ok])
        finally:
            subprocess.run(["ip", "route", "del", f"{internal}/32"], check=False)
    vips = deployed.status()["vips"]
    answered = reachable((vips["External"], p) for p in (5000, 9292, 3306, 11211))
    assert [p for (_, p), ok in answered.items() if ok] == [5000, 9292]
    ports = " ".join(str(p) for p in SERVICES.values())
    connect = f"import socket, sys; socket.create_connection(('{internal}', int(sys.argv[1])), 3)"
    probe = f'for p in {ports}; do python3 -c "{connect}" $p && echo $p; done'
    assert ssh(deployed, controller["ctlplane"], probe).split() == ports.split()  # on InternalApi they answer


def test_a_redeploy_without_change_recreates_no_container(deployed: Deployed) -> None:
    before = deployed.containers()
    again = run(deployed.home, "overcloud", "deploy", *deployed.args)
    assert "config plan: controller-0.overcloud.lab: nothing to run" in again.stderr
    assert deployed.containers() == before


def test_a_keystone_parameter_recreates_only_keystone_s_containers(deployed: Deployed) -> None:
    before = deployed.containers()
    token = json.loads(openstack(deployed.home, "token", "issue", "-f", "json"))["expires"]
    changed = run(deployed.home, "overcloud", "deploy", *deployed.with_(KeystoneTokenExpiration="7200"))
    deployed.parameters["KeystoneTokenExpiration"] = "7200"
    assert "Overcloud Deployed" in changed.stdout
    after = deployed.containers()
    assert set(after) == set(before)
    recreated = {
        name
        for (_, name), row in after.items()
        if row["started"] != before[("controller-0", name)]["started"]
    }
    assert recreated == {"keystone", "keystone_db", "keystone_db_sync"}
    assert (
        after[("controller-0", "keystone")]["config_hash"]
        != before[("controller-0", "keystone")]["config_hash"]
    )
    assert after[("controller-0", "keystone")]["health"] == "healthy"
    later = json.loads(openstack(deployed.home, "token", "issue", "-f", "json"))["expires"]
    assert later > token  # tokens now last two hours


def test_a_step_killed_while_its_containers_start_converges(deployed: Deployed) -> None:
    """Issue 11, acceptance 4: SIGKILL while step 3 re-creates Keystone's containers, then the same command:
    one of each container, all healthy, nothing left of the killed run."""
    args = deployed.with_(KeystoneTokenExpiration="5400")
    env = {**os.environ, "TRIPLEO_HOME": str(deployed.home)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.Popen([TRIPLEO, "overcloud", "deploy", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "ansible: Step 3" in line:
            break
    controller = deployed.controller
    ids = "podman ps -a --filter name=keystone_db --format '{{.ID}}'"
    first = ssh(deployed, controller["ctlplane"], ids)
    deadline = time.monotonic() + 120
    while ssh(deployed, controller["ctlplane"], ids) == first and time.monotonic() < deadline:
        time.sleep(0.3)  # until the step re-creates Keystone's first container: db sync and API to come
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = run(deployed.home, "overcloud", "deploy", *args)
    deployed.parameters["KeystoneTokenExpiration"] = "5400"
    assert "Overcloud Deployed" in done.stdout
    names = ssh(deployed, controller["ctlplane"], "podman ps -a --format '{{.Names}}'").split()
    assert sorted(names) == sorted(set(names))  # no duplicate
    assert not any(n.startswith("container-puppet-") for n in names)  # no config container left
    rows = deployed.containers()
    assert all(rows[("controller-0", n)]["health"] == "healthy" for n in [*SERVICES, "haproxy"])
    assert json.loads(openstack(deployed.home, "token", "issue", "-f", "json"))["id"]


def test_a_registry_that_does_not_answer_is_named_before_any_container_changes(deployed: Deployed) -> None:
    before = deployed.containers()
    run(deployed.home, "container", "registry", "stop")
    try:
        proc = run(
            deployed.home, "overcloud", "deploy", *deployed.with_(MemcachedMaxMemory="96"), check=False
        )
        assert proc.returncode == 1 and "the undercloud registry does not answer" in proc.stderr
        assert deployed.containers() == before
    finally:
        run(deployed.home, "container", "registry", "start", "--bind", deployed.registry)
