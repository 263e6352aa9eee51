"""``overcloud deploy`` with bad input: one line naming the file or parameter, exit 2, nothing changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
BAD = Path(__file__).resolve().parents[2] / "data" / "services" / "bad"
SERVICES = ["-e", str(BAD / "environment.yaml"), "--roles-file"]
LAB = ["-e", str(Path(__file__).resolve().parents[3] / "templates" / "environments" / "lab.yaml")]
# compute (issue 14, acceptance 5): the file and YAML path of the value at fault
COMPUTE = [
    (
        [*LAB, "-e", str(BAD / "compute-driver-unknown.yaml")],
        "bad/compute-driver-unknown.yaml: parameter_defaults.NovaComputeDriver: "
        '"vmwareapi.VMwareVCDriver" is not an allowed value',
    ),
    (
        [*LAB, "-e", str(BAD / "tenant-vlan.yaml")],
        "bad/tenant-vlan.yaml: parameter_defaults.NeutronNetworkType: NeutronNetworkType: network "
        "type 'vlan' of neutron_api (role Controller) cannot be carried by these hosts (NetworkTypesCarried: "
        "flat, vxlan",
    ),
    (
        [*LAB, "-e", str(BAD / "provider-nic-missing.yaml")],
        "bad/provider-nic-missing.yaml: parameter_defaults.ComputeParameters."
        "NeutronPhysicalDevMappings: NeutronPhysicalDevMappings: neutron_linuxbridge_agent (role Compute) "
        "takes interface 'nic9', which the role's NIC layout lacks",
    ),
]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "/nonexistent/env.yaml"], "nonexistent/env.yaml: file"),
        (["--templates", "/nonexistent"], "ERROR: no overcloud.j2.yaml in --templates /nonexistent"),
        (
            ["--parameter", "ControllerCount=-1"],
            'ERROR: --parameter ControllerCount: value of "-1" must be',
        ),
        (["--parameter", "Nope=1"], "ERROR: --parameter Nope: The Parameter (Nope) was not defined"),
        (["--parameter", "Nope"], "ERROR: "),
        (
            ["--roles-file", "/nonexistent/roles.yaml"],
            "ERROR: /nonexistent/roles.yaml: cannot read roles data",
        ),
        # composable services (issue 9, acceptance 5): the file and the YAML path of the culprit
        (
            [*SERVICES, str(BAD / "roles-missing-template.yaml")],
            f"ERROR: {BAD}/roles-missing-template.yaml: 0.ServicesDefault.7: role Controller: service "
            "OS::TripleO::Services::Frobnicator has no template",
        ),
        (
            [*SERVICES, str(BAD / "roles-with-nfs.yaml")],
            "nfs-export.yaml: outputs.role_data.value.firewall_rules.0.network: service nfs_export (role "
            "Controller) listens on network 'storage_nfs', which network_data does not have",
        ),
        (
            [*SERVICES, str(BAD / "roles-with-clash.yaml")],
            "memcached-twin.yaml: outputs.role_data.value.firewall_rules.0.tcp: services memcached and "
            "memcached_twin of role Controller both claim tcp port 11211 on InternalApi",
        ),
        (
            ["--roles-file", str(BAD / "roles-not-a-list.yaml")],
            f"ERROR: {BAD}/roles-not-a-list.yaml: roles data must be a list, got dict",
        ),
        *COMPUTE,
        # containers (issue 11, acceptance 5): a container definition with an unknown key
        (
            [*LAB, "-e", str(BAD / "containers-unknown-key.yaml")],
            "bad/memcached-container-ports.yaml: outputs.role_data.value.docker_config.step_2.memcached."
            "ports: service memcached: unknown key 'ports'",
        ),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    env.pop("TRIPLEO_DB_URL", None)
    proc = subprocess.run([TRIPLEO, "overcloud", "deploy", *args], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and (errors[0].startswith(message) or message in errors[0]), proc.stderr
    database = tmp_path / "tripleo.sqlite"
    if database.exists():
        engine = sqlalchemy.create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            for table in ("stacks", "net_networks", "net_ports"):
                assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
        engine.dispose()
    assert not (tmp_path / "config-download").exists()
    assert not (tmp_path / "plans").exists()  # the plan is checked in a scratch directory first


@pytest.mark.parametrize(
    "roles", ["roles-missing-template.yaml", "roles-with-nfs.yaml", "roles-with-clash.yaml"]
)
def test_validate_templates_reports_the_same_offline(tmp_path: Path, roles: str) -> None:
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    proc = subprocess.run([TRIPLEO, "overcloud", "validate", "templates", *SERVICES, str(BAD / roles)],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith("ERROR: ") and proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # validate changes nothing


@pytest.mark.parametrize(("args", "message"), COMPUTE)
def test_validate_templates_refuses_what_the_computes_cannot_do(tmp_path: Path, args: list[str],
                                                                 message: str) -> None:  # fmt: skip
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    argv = [TRIPLEO, "overcloud", "validate", "templates", *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_validate_templates_lists_each_role_s_services(tmp_path: Path) -> None:
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    proc = subprocess.run([TRIPLEO, "overcloud", "validate", "templates", "-f", "json"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {(r["role"], r["service"]): r for r in json.loads(proc.stdout)}
    assert rows[("Controller", "keystone")]["ports"] == "internal_api:5000/tcp"
    assert rows[("Controller", "glance_api")]["frontends"] == "glance_api:9292"
    assert ("Compute", "keystone") not in rows and ("Compute", "sshd") in rows


def test_only_os_heat_none_disables_a_service(tmp_path: Path) -> None:
    env_file = tmp_path / "no-glance.yaml"
    env_file.write_text("resource_registry:\n  OS::TripleO::Services::GlanceApi: OS::Heat::None\n")
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path / "home")}
    proc = subprocess.run([TRIPLEO, "overcloud", "validate", "templates", "-e", str(env_file), "-f", "json"],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    services = {(r["role"], r["service"]) for r in json.loads(proc.stdout)}
    assert ("Controller", "keystone") in services and ("Controller", "glance_api") not in services


def test_the_ovn_environment_swaps_the_agents_and_opens_its_ports_on_their_networks(tmp_path: Path) -> None:
    """environments/neutron-ovn.yaml: OVN's services replace the Linux bridge and DHCP agents, its databases
    (and their RAFT ports) open on InternalApi only, Geneve on Tenant only; the default registry has none."""
    ovn = str(Path(LAB[1]).with_name("neutron-ovn.yaml"))
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path)}
    rows = {}
    for args in ([], ["-e", ovn]):
        proc = subprocess.run([TRIPLEO, "overcloud", "validate", "templates", *LAB, *args, "-f", "json"],
                              env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        rows[bool(args)] = {(r["role"], r["service"]): r["ports"] for r in json.loads(proc.stdout)}
    assert not any(service.startswith("ovn_") for _, service in rows[False])
    with_ovn = rows[True]
    assert with_ovn[("Controller", "ovn_dbs")].split() == [
        f"internal_api:{p}/tcp" for p in (6641, 6642, 6643, 6644)
    ]
    assert (
        with_ovn[("Controller", "ovn_controller")]
        == with_ovn[("Compute", "ovn_controller")]
        == "tenant:6081/udp"
    )
    agents = {"neutron_linuxbridge_agent", "neutron_dhcp"}
    assert not agents & {service for _, service in with_ovn} and agents <= {s for _, s in rows[False]}
