"""The plan: the template tree rendered from roles_data and network_data, and passwords made once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tripleo.errors import InputError
from tripleo.workflows.plan import render_plan

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


def test_the_tree_is_rendered_per_role_and_the_nic_templates_are_kept(tmp_path: Path) -> None:
    plan = render_plan(TEMPLATES, "overcloud", plan_dir=tmp_path / "plan")
    tree = plan.directory
    assert (
        plan.template == tree / "overcloud.yaml"
        and plan.registry == tree / "overcloud-resource-registry.yaml"
    )
    assert (tree / "common" / "controller-role.yaml").exists() and (
        tree / "common" / "compute-role.yaml"
    ).exists()
    assert not list(tree.glob("*.j2.yaml")) and not (tree / "common" / "role.role.j2.yaml").exists()
    assert (
        tree / "network" / "nic-configs" / "nic-per-network" / "role.j2.yaml"
    ).exists()  # rendered per node later
    top = yaml.safe_load(plan.template.read_text())
    assert {"ControllerCount", "ControllerServices", "ComputeCount", "ComputeServices"} <= set(
        top["parameters"]
    )
    assert "OS::TripleO::Services::Keystone" in top["parameters"]["ControllerServices"]["default"]
    registry = yaml.safe_load(plan.registry.read_text())["resource_registry"]  # type: ignore[union-attr]
    assert registry["OS::TripleO::Controller"] == "common/controller-role.yaml"


def test_passwords_are_made_once_private_and_completed_when_a_template_needs_more(tmp_path: Path) -> None:
    plan = render_plan(TEMPLATES, "overcloud", plan_dir=tmp_path / "plan")
    first = yaml.safe_load(plan.passwords.read_text())["parameter_defaults"]
    assert {"AdminPassword", "KeystoneFernetKey0", "GlancePassword"} <= set(first)
    assert oct(plan.passwords.stat().st_mode & 0o777) == "0o600"
    assert len(set(first.values())) == len(first)  # each one its own
    source = tmp_path / "templates"
    shutil.copytree(TEMPLATES, source)
    extra = source / "deployment" / "extra.yaml"
    extra.write_text(
        "heat_template_version: wallaby\nparameters:\n  ExtraSecret: {type: string, hidden: true}\n"
    )
    again = render_plan(source, "overcloud", plan_dir=tmp_path / "plan")
    second = yaml.safe_load(again.passwords.read_text())["parameter_defaults"]
    assert {k: second[k] for k in first} == first and "ExtraSecret" in second


def test_bad_roles_and_templates_are_input_errors(tmp_path: Path) -> None:
    roles = tmp_path / "roles.yaml"
    roles.write_text("- name: Controller\n  ServicesDefault: OS::TripleO::Services::Keystone\n")
    with pytest.raises(InputError, match="ServicesDefault must be a list") as caught:
        render_plan(TEMPLATES, "overcloud", roles, plan_dir=tmp_path / "plan")
    assert caught.value.path == "0.ServicesDefault"
    roles.write_text("- description: no name\n")
    with pytest.raises(InputError, match="expected a mapping with a name"):
        render_plan(TEMPLATES, "overcloud", roles, plan_dir=tmp_path / "plan")
    source = tmp_path / "templates"
    shutil.copytree(TEMPLATES, source)
    (source / "broken.j2.yaml").write_text("{{ roles[0].nope }}\n")
    with pytest.raises(InputError, match="cannot render") as caught:
        render_plan(source, "overcloud", plan_dir=tmp_path / "plan2")
    assert caught.value.file == str(source / "broken.j2.yaml")
    assert not (tmp_path / "plan2" / "templates").exists()  # nothing half-rendered is left
