"""A role's older THT names come from roles_data (deprecated_param_ips, deprecated_server_resource_name),
not from code: NovaComputeIPs and OS::TripleO::NovaCompute::Ports::* still reach the Compute role."""

from __future__ import annotations

from pathlib import Path

from tripleo.network.environment import load_plan
from tripleo.workflows.services import load_network_environment

ROLES = """\
- name: Compute
  CountDefault: 1
  networks: [InternalApi]
  profile: compute
  deprecated_param_ips: NovaComputeIPs
  deprecated_server_resource_name: NovaCompute
"""
ENV = """\
resource_registry:
  OS::TripleO::NovaCompute::Ports::StoragePort: storage.yaml
parameter_defaults:
  NovaComputeIPs: {internal_api: [172.16.2.50]}
"""


def test_older_names_of_a_role_are_read_from_roles_data(tmp_path: Path) -> None:
    (tmp_path / "roles.yaml").write_text(ROLES)
    (tmp_path / "env.yaml").write_text(ENV)
    plan = load_plan(
        load_network_environment([str(tmp_path / "env.yaml")]), roles_data=tmp_path / "roles.yaml"
    )
    role = plan.role("Compute")
    assert (role.profile, role.names, role.ips_params) == ("compute", ("Compute", "NovaCompute"),
                                                            ("ComputeIPs", "NovaComputeIPs"))  # fmt: skip
    assert role.networks == ("InternalApi", "Storage")  # the port registered under the older name
    assert plan.predictable["Compute"] == {"internal_api": ("172.16.2.50",)}
    (tmp_path / "roles.yaml").write_text(ROLES.replace("  deprecated_param_ips: NovaComputeIPs\n", ""))
    assert (
        "Compute"
        not in load_plan(
            load_network_environment([str(tmp_path / "env.yaml")]), roles_data=tmp_path / "roles.yaml"
        ).predictable
    )
