"""Config download: the Ansible project a deployed stack becomes, and the node agent it carries."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tripleo.config.agent import AGENT_NAME, build_agent
from tripleo.config.download import PLAYBOOK, Host, late_tags, write_project
from tripleo.errors import OperationError

CONFIG = [{"type": "interface", "name": "eth0", "addresses": [{"ip_netmask": "192.168.24.10/24"}]}]


def _hosts() -> list[Host]:
    return [
        Host(
            name="controller-0.lab",
            role="Controller",
            node="node-0",
            ctlplane="192.168.24.10",
            addresses={"ctlplane": "192.168.24.10/24", "InternalApi": "172.16.2.4/24"},
            hieradata={
                "role": {"tripleo::role": "Controller"},
                "extra": {"keystone::admin_password": "s3cret"},
            },
            network_config=CONFIG,
            firewall="table inet tripleo {}\n",
        ),
        Host(name="compute-0.lab", role="Compute", node="node-1", ctlplane="192.168.24.11"),
    ]


def test_project_layout_inventory_and_private_files(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    project = write_project(tmp_path / "cd" / "overcloud", "overcloud", _hosts(), ssh_key=key,
                            vips={"InternalApi": "172.16.2.5"})  # fmt: skip
    assert project.playbook == project.directory / PLAYBOOK
    inventory = yaml.safe_load(project.inventory.read_text())["all"]
    assert inventory["vars"]["ansible_ssh_private_key_file"] == str(key)
    assert inventory["vars"]["tripleo_vips"] == {"InternalApi": "172.16.2.5"}
    assert inventory["children"]["overcloud"] == {"children": {"Compute": {}, "Controller": {}}}
    host = inventory["children"]["Controller"]["hosts"]["controller-0.lab"]
    assert (host["ansible_host"], host["internal_api_ip"], host["ctlplane_ip"]) == (
        "192.168.24.10",
        "172.16.2.4",
        "192.168.24.10",
    )
    assert host["tripleo_hieradata_files"] == ["extra", "role"]
    host_dir = project.directory / "hosts" / "controller-0.lab"
    secret = host_dir / "hieradata" / "extra.json"
    assert json.loads(secret.read_text()) == {"keystone::admin_password": "s3cret"}
    assert secret.stat().st_mode & 0o777 == 0o600
    assert project.directory.stat().st_mode & 0o777 == 0o700
    assert "s3cret" not in project.inventory.read_text()
    assert json.loads((host_dir / "network_config.json").read_text()) == {"network_config": CONFIG}
    plays = yaml.safe_load(project.playbook.read_text())
    assert [p["name"] for p in plays] == ["Packages", "Network configuration", "Hieradata"]
    assert (project.directory / "files" / AGENT_NAME).exists()


def test_writing_again_replaces_the_project_whole(tmp_path: Path) -> None:
    directory = tmp_path / "overcloud"
    write_project(directory, "overcloud", _hosts(), ssh_key=tmp_path / "k")
    first = {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    write_project(directory, "overcloud", _hosts()[1:], ssh_key=tmp_path / "k")
    assert not (directory / "hosts" / "controller-0.lab").exists()  # a host that left is gone
    write_project(directory, "overcloud", _hosts(), ssh_key=tmp_path / "k")
    again = {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    assert again == first  # same inputs, same bytes (the agent too)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overcloud"]  # no scratch left behind


def test_the_agent_runs_with_a_plain_python_and_only_its_own_modules(tmp_path: Path) -> None:
    agent = build_agent(tmp_path)
    names = zipfile.ZipFile(agent).namelist()
    assert "tripleo/network/apply.py" in names and "pyroute2/__init__.py" in names
    assert not any(n.startswith(("sqlalchemy", "tripleo/storage", "tripleo/engine")) for n in names)
    config = tmp_path / "nc.json"
    config.write_text(json.dumps({"network_config": []}))
    proc = subprocess.run([sys.executable, "-I", "-S", str(agent), str(config), "--dry-run"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["network: no changes", '{"changed": false}']


def test_deploy_steps_run_puppet_on_every_node_step_by_step(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    (modules / "tripleo" / "manifests").mkdir(parents=True)
    (modules / "tripleo" / "manifests" / "init.pp").write_text("class tripleo {}\n")
    deps = [{"name": "puppetlabs-stdlib"}, {"name": "openstack/keystone"}, {"name": "tripleo-tripleo"}]
    (modules / "tripleo" / "metadata.json").write_text(json.dumps({"dependencies": deps}))
    hosts = _hosts()
    hosts[0] = replace(hosts[0], manifest="include tripleo::profile::base\n")
    project = write_project(tmp_path / "p", "s", hosts, ssh_key=tmp_path / "k", puppet_modules=modules)
    plays = yaml.safe_load(project.playbook.read_text())
    steps = plays[-1]
    assert (steps["name"], steps["hosts"], steps["any_errors_fatal"]) == ("Deploy steps", "overcloud", True)
    links = next(t for t in steps["tasks"] if "ln -sfn" in str(t))
    # the node's own modules ours depend on; not our own
    assert "for m in keystone stdlib; do" in links["ansible.builtin.shell"]
    tasks = [t for t in steps["tasks"] if "environment" in t]
    assert [t["environment"]["FACTER_tripleo_step"] for t in tasks] == ["1", "2", "3", "4", "5"]
    assert all("/etc/puppet/manifests/tripleo.pp" in t["ansible.builtin.shell"] for t in tasks)
    assert tasks[0]["failed_when"] == "step1.rc not in [0, 2]"  # --detailed-exitcodes: 2 means changed
    # each step runs only where the plan says, and records its digest on the node once it succeeded
    assert [t["when"] for t in tasks] == [f"'step{n}' in tripleo_run" for n in range(1, 6)]
    assert "then mkdir -p /var/lib/tripleo/applied && printf %s" in tasks[2]["ansible.builtin.shell"]
    assert "tripleo_digests.step3" in tasks[2]["ansible.builtin.shell"]
    # the steps after the catalog's run in a second ansible-playbook run, chosen by their tags
    assert [t["tags"] for t in tasks] == [[f"step{n}"] for n in range(1, 6)]
    assert late_tags() == ["step4", "step5"]
    assert all("tags" not in t for t in steps["tasks"] if "environment" not in t)
    # the modules travel as one archive, the same bytes for the same tree
    archive = project.directory / "files" / "puppet-modules.tar"
    again = write_project(tmp_path / "p2", "s", hosts, ssh_key=tmp_path / "k", puppet_modules=modules)
    assert archive.read_bytes() == (again.directory / "files" / "puppet-modules.tar").read_bytes()
    assert (project.directory / "puppet" / "modules" / "tripleo" / "manifests" / "init.pp").exists()
    host_dir = project.directory / "hosts" / "controller-0.lab"
    assert (host_dir / "manifest.pp").read_text() == "include tripleo::profile::base\n"
    without = write_project(tmp_path / "q", "s", _hosts(), ssh_key=tmp_path / "k")
    assert [p["name"] for p in yaml.safe_load(without.playbook.read_text())] == [
        "Packages",
        "Network configuration",
        "Hieradata",
    ]


@pytest.mark.parametrize("python", ["/usr/bin/python3"])
def test_ansible_cfg_names_the_node_python(tmp_path: Path, python: str) -> None:
    project = write_project(tmp_path / "p", "s", _hosts(), ssh_key=tmp_path / "k", python=python)
    assert f"interpreter_python = {python}" in (project.directory / "ansible.cfg").read_text()


def test_an_unreachable_host_fails_the_run_with_its_name(tmp_path: Path) -> None:
    # a real ansible-playbook run against 127.0.0.1 with a key that opens nothing: no traffic leaves the host
    from tripleo.config.runner import ansible_playbook, run_playbook

    try:
        ansible_playbook()
    except OperationError:
        pytest.skip("ansible-core is not installed")
    key = tmp_path / "key"
    key.write_text("not a key\n")
    key.chmod(0o600)
    host = Host(name="lonely", role="Compute", node="node-9", ctlplane="127.0.0.1")
    project = write_project(tmp_path / "p", "s", [host], ssh_key=key)
    log = tmp_path / "deploy.log"
    failed = r"config download failed on lonely, task 'Debian packages of the services': "
    with pytest.raises(OperationError, match=failed) as e:
        run_playbook(project, log)
    assert "UNREACHABLE" in log.read_text()
    # a run of the late steps only: no task of the first play is tagged, so nothing reaches the host
    assert run_playbook(project, log, tags=late_tags(), append=True) == {}
    assert log.read_text().count("PLAY [") >= 2  # appended after the first run's output
    failures = getattr(e.value, "failures", [])  # every failed host, for `overcloud failures`
    assert [(f.host, f.task) for f in failures] == [("lonely", "Debian packages of the services")]
    assert failures[0].tail and any("ssh" in line.lower() for line in failures[0].tail)


def test_a_host_with_containers_gets_its_step_files_and_runs_them_after_puppet(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    (modules / "tripleo").mkdir(parents=True)
    step2 = {"insecure_registries": ["192.168.24.1:8787"], "containers": {"memcached": {"image": "r/m:1"}}}
    hosts = _hosts()
    hosts[0] = replace(hosts[0], containers={2: step2})
    project = write_project(tmp_path / "p", "s", hosts, ssh_key=tmp_path / "k", puppet_modules=modules)
    files = project.directory / "hosts" / "controller-0.lab" / "containers"
    assert json.loads((files / "step2.json").read_text()) == step2
    assert (files / "step2.json").stat().st_mode & 0o777 == 0o600
    assert not (project.directory / "hosts" / "compute-0.lab" / "containers").exists()
    inventory = yaml.safe_load(project.inventory.read_text())["all"]["children"]
    assert inventory["Controller"]["hosts"]["controller-0.lab"]["tripleo_container_files"] == ["step2.json"]
    assert inventory["Compute"]["hosts"]["compute-0.lab"]["tripleo_container_files"] == []
    steps = yaml.safe_load(project.playbook.read_text())[-1]["tasks"]
    shell = next(t for t in steps if t.get("tags") == ["step2"])["ansible.builtin.shell"]
    # after Puppet, before the digest is recorded; a change makes the step's rc 2 (changed)
    puppet, containers, record = (shell.index("puppet apply"), shell.index(" containers /var/lib/tripleo/"),
                                  shell.index("applied/step2"))  # fmt: skip
    assert puppet < containers < record and "rc=2" in shell
    stale = next(t for t in steps if t["name"].startswith("Container step files: none but"))
    assert "rm -f" in stale["ansible.builtin.shell"]
