"""The default lab's shape comes from network_data.yaml and roles_data.yaml (tripleo.lab.layout)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tripleo.cli.main import cli
from tripleo.errors import InputError
from tripleo.lab import LabConfig, NetworkSpec, NodeSpec, default_config, parse_config
from tripleo.lab.config import default_networks
from tripleo.lab.layout import TEMPLATES

# The default lab as lab/config.py spelled it out before it was read from templates/ (issue 23).
LITERAL_NETWORKS = (
    NetworkSpec("ctlplane", "192.168.24.0/24", "192.168.24.1"),
    NetworkSpec("external", "10.0.0.0/24", "10.0.0.1"),
    NetworkSpec("internal_api", "172.16.2.0/24"),
    NetworkSpec("storage", "172.16.1.0/24"),
    NetworkSpec("storage_mgmt", "172.16.3.0/24"),
    NetworkSpec("tenant", "172.16.0.0/24"),
    NetworkSpec("management", "10.0.1.0/24"),
)
LITERAL_CONTROLLER_NETS = (
    "ctlplane",
    "external",
    "internal_api",
    "storage",
    "storage_mgmt",
    "tenant",
    "management",
)
LITERAL_COMPUTE_NETS = ("ctlplane", "internal_api", "tenant", "storage")


def literal_config(nodes: int, controllers: int) -> LabConfig:
    specs = []
    for i in range(nodes):
        control = i < controllers
        nets = LITERAL_CONTROLLER_NETS if control else LITERAL_COMPUTE_NETS
        macs = tuple(f"52:54:00:24:{i:02x}:{k:02x}" for k in range(len(nets)))
        specs.append(NodeSpec(f"node-{i}", nets, macs, profile="control" if control else "compute"))
    return LabConfig(networks=LITERAL_NETWORKS, nodes=tuple(specs))


@pytest.mark.parametrize(("nodes", "controllers"), [(1, 1), (3, 1), (3, 3), (5, 2), (120, 3)])
def test_the_shipped_templates_give_the_previous_default_lab(nodes: int, controllers: int) -> None:
    assert default_config(nodes, controllers) == literal_config(nodes, controllers)


def test_a_config_file_without_networks_gets_the_shipped_networks() -> None:
    assert default_networks() == LITERAL_NETWORKS
    assert parse_config({"nodes": [{"name": "n"}]}).networks == LITERAL_NETWORKS


def test_the_default_lab_round_trips_through_its_dict() -> None:
    config = default_config(4, 2)
    assert parse_config(config.to_dict()) == config


# -- changed files: network_data / roles_data in, the lab out ----------------------------------------------

Data = list[dict[str, Any]]


def _by_name(data: Data, name: str) -> dict[str, Any]:
    return next(entry for entry in data if entry["name"] == name)


def _write(
    tmp_path: Path, edit_networks: Callable[[Data], None], edit_roles: Callable[[Data], None]
) -> tuple[Path, Path]:
    networks = yaml.safe_load((TEMPLATES / "network_data.yaml").read_text())
    roles = yaml.safe_load((TEMPLATES / "roles_data.yaml").read_text())
    edit_networks(networks)
    edit_roles(roles)
    paths = tmp_path / "network_data.yaml", tmp_path / "roles_data.yaml"
    paths[0].write_text(yaml.safe_dump(networks, sort_keys=False))
    paths[1].write_text(yaml.safe_dump(roles, sort_keys=False))
    return paths


def _keep(data: Data) -> None:
    pass


def _another_cidr(data: Data) -> None:
    _by_name(data, "InternalApi").update(ip_subnet="172.18.0.0/24", allocation_pools=[])


def _external_disabled(data: Data) -> None:
    _by_name(data, "External")["enabled"] = False


def _management_enabled(data: Data) -> None:
    del _by_name(data, "Management")["enabled"]


def _compute_on_storage_mgmt(data: Data) -> None:
    _by_name(data, "Compute")["networks"] = ["StorageMgmt", "InternalApi"]


def _mapping_form(data: Data) -> None:
    _by_name(data, "Compute")["networks"] = {"Tenant": {"subnet": "tenant_subnet"}, "Storage": {}}


def _other_compute_role(data: Data) -> None:
    _by_name(data, "Compute")["tags"] = []
    data.append(
        {"name": "CephStorage", "tags": ["compute"], "profile": "ceph-storage", "networks": ["Storage"]}
    )


def _tags_swapped(data: Data) -> None:
    _by_name(data, "Controller")["tags"] = ["primary", "compute"]
    _by_name(data, "Compute")["tags"] = ["controller"]


# (case, network_data edit, roles_data edit, lab networks (name, cidr, host), controller NICs, compute NICs,
#  profiles of node-0 and node-1)
CHANGES = [
    ("another cidr", _another_cidr, _keep,
     [("internal_api", "172.18.0.0/24", None)], None, None, ("control", "compute")),
    ("disabled: a segment, no host, its NIC after the enabled", _external_disabled, _keep,
     [("external", "10.0.0.0/24", None)],
     ("ctlplane", "internal_api", "storage", "storage_mgmt", "tenant", "external", "management"), None,
     ("control", "compute")),
    ("an enabled network with a gateway: the host joins it", _management_enabled, _keep,
     [("management", "10.0.1.0/24", "10.0.1.1")], None, None, ("control", "compute")),
    ("a role with other networks", _keep, _compute_on_storage_mgmt,
     [], None, ("ctlplane", "storage_mgmt", "internal_api"), ("control", "compute")),
    ("roles_data's mapping form", _keep, _mapping_form,
     [], None, ("ctlplane", "tenant", "storage"), ("control", "compute")),
    ("another role tagged compute", _keep, _other_compute_role,
     [], None, ("ctlplane", "storage"), ("control", "ceph-storage")),
    ("the tags, not the names, choose", _keep, _tags_swapped,
     [], ("ctlplane", "internal_api", "tenant", "storage"), LITERAL_CONTROLLER_NETS, ("compute", "control")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit_networks", "edit_roles", "changed", "controller", "compute", "profiles"),
    [case[1:] for case in CHANGES],
    ids=[case[0] for case in CHANGES],
)
def test_changed_files_change_the_lab(
    tmp_path: Path,
    edit_networks: Callable[[Data], None],
    edit_roles: Callable[[Data], None],
    changed: list[tuple[str, str, str | None]],
    controller: tuple[str, ...] | None,
    compute: tuple[str, ...] | None,
    profiles: tuple[str, str],
) -> None:
    networks_file, roles_file = _write(tmp_path, edit_networks, edit_roles)
    config = default_config(2, networks_file=networks_file, roles_file=roles_file)
    want = {n.name: (n.name, n.cidr, n.host_address) for n in LITERAL_NETWORKS}
    want.update((c[0], c) for c in changed)
    assert [(n.name, n.cidr, n.host_address) for n in config.networks] == list(want.values())
    assert config.nodes[0].networks == (controller or LITERAL_CONTROLLER_NETS)
    assert config.nodes[1].networks == (compute or LITERAL_COMPUTE_NETS)
    assert (config.nodes[0].profile, config.nodes[1].profile) == profiles
    assert [len(n.macs) for n in config.nodes] == [len(n.networks) for n in config.nodes]
    assert parse_config(config.to_dict()) == config  # what the lab saves, it reads back


def test_a_network_added_to_network_data_is_a_lab_network(tmp_path: Path) -> None:
    def add(data: Data) -> None:
        data.append({"name": "StorageNFS", "name_lower": "storage_nfs", "ip_subnet": "172.17.0.0/24"})

    networks_file, roles_file = _write(tmp_path, add, _keep)
    config = default_config(1, networks_file=networks_file, roles_file=roles_file)
    assert config.networks[-1] == NetworkSpec("storage_nfs", "172.17.0.0/24")
    assert "storage_nfs" not in config.nodes[0].networks  # no role joins it


# -- errors: one line, the file and the YAML path ------------------------------------------------------------

CTL = "- {name: ctlplane, ip_subnet: 10.0.0.0/24}\n"
NETWORK_ERRORS = [
    ("{}", "expected a list of networks, got dict"),
    (CTL + "- just a string\n", "1: expected a mapping with a name"),
    ("- {name: InternalApi, ip_subnet: 172.16.2.0/24}\n", "no network named ctlplane"),
    ("- {name: ctlplane, ipv6_subnet: 'fd00::/64'}\n", "0.ip_subnet: network ctlplane: the lab needs"),
    ("- {name: ctlplane, ip_subnet: 10.0.0.0/30}\n", "0.ip_subnet: network ctlplane: expected a prefix"),
    ("- {name: ctlplane, ip_subnet: 10.0.0.0/24, gateway_ip: 10.0.1.1}\n",
     "0.gateway_ip: network ctlplane: expected an address inside 10.0.0.0/24, got '10.0.1.1'"),
    ("- {name: ctlplane, ip_subnet: 10.0.0.0/24, enabled: 'no'}\n",
     "0.enabled: network ctlplane: expected true or false"),
    (CTL + "- {name: Tenant, name_lower: tenant-net, ip_subnet: 10.1.0.0/24}\n",
     "1.name_lower: network Tenant: 'tenant-net' is no lab network name"),
    (CTL + "- {name: Tenant, ip_subnet: 10.0.0.128/25}\n",
     "1.ip_subnet: 10.0.0.128/25 overlaps network ctlplane (10.0.0.0/24)"),
    (CTL + "- {name: ctlplane, ip_subnet: 10.1.0.0/24}\n", "1: network ctlplane (ctlplane) is defined twice"),
    ("- {name: ctlplane\n", "invalid YAML"),
]  # fmt: skip

ROLE_ERRORS = [
    ("{}", "expected a list of roles, got dict"),
    ("- {name: Controller, tags: [controller]}\n", "no role is tagged compute"),
    ("- {name: Controller, tags: controller}\n", "0.tags: role Controller: expected a list of tags"),
    ("- {name: A, tags: [controller, compute], networks: [InternalApi, Nope]}\n",
     "0.networks.1: role A: unknown network 'Nope' (network data has: ctlplane, External, InternalApi,"),
    ("- {name: A, tags: [controller, compute], networks: [Tenant, Tenant]}\n",
     "0.networks.1: role A: network Tenant listed twice"),
    ("- {name: A, tags: [controller, compute], networks: {Tenant: {}, Nope: {}}}\n",
     "0.networks.Nope: role A: unknown network 'Nope'"),
    ("- {name: A, tags: [controller, compute], networks: Tenant}\n",
     "0.networks: role A: expected a list of network names"),
    ("- {name: A, tags: [controller, compute], profile: Big Iron}\n",
     "0.profile: role A: expected a profile matching"),
]  # fmt: skip


def _error_of(tmp_path: Path, networks: str | None, roles: str | None) -> tuple[InputError, Path]:
    networks_file = roles_file = None
    if networks is not None:
        networks_file = tmp_path / "network_data.yaml"
        networks_file.write_text(networks)
    if roles is not None:
        roles_file = tmp_path / "roles_data.yaml"
        roles_file.write_text(roles)
    with pytest.raises(InputError) as info:
        default_config(2, networks_file=networks_file, roles_file=roles_file)
    path = networks_file or roles_file
    assert path is not None
    return info.value, path


@pytest.mark.parametrize(("text", "message"), NETWORK_ERRORS)
def test_a_bad_network_data_is_one_line_with_file_and_path(tmp_path: Path, text: str, message: str) -> None:
    error, path = _error_of(tmp_path, text, None)
    assert str(error).startswith(f"{path}: {message}")
    assert "\n" not in str(error)


@pytest.mark.parametrize(("text", "message"), ROLE_ERRORS)
def test_a_bad_roles_data_is_one_line_with_file_and_path(tmp_path: Path, text: str, message: str) -> None:
    error, path = _error_of(tmp_path, None, text)
    assert str(error).startswith(f"{path}: {message}")
    assert "\n" not in str(error)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.yaml: cannot read roles data"):
        default_config(1, roles_file=tmp_path / "missing.yaml")


def test_counts_are_checked_before_the_files_are_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--controllers 3"):
        default_config(2, 3, roles_file=tmp_path / "missing.yaml")


# -- lab up --networks-file / --roles-file ------------------------------------------------------------------


def test_lab_up_names_a_bad_roles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    roles = tmp_path / "roles.yaml"
    roles.write_text("- {name: Controller, tags: [controller]}\n")
    result = CliRunner().invoke(cli, ["lab", "up", "--nodes", "2", "--roles-file", str(roles)])
    assert result.exit_code == 2
    assert f"ERROR: {roles}: no role is tagged compute" in result.output


def test_lab_up_config_excludes_the_data_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPLEO_HOME", str(tmp_path))
    args = ["lab", "up", "--config", str(tmp_path / "x.yaml"), "--networks-file", str(tmp_path / "n.yaml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "--config excludes --networks-file" in result.output
