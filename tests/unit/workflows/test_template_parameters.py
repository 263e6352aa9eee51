"""Every parameter the shipped service templates declare changes something: each is read by its template,
and EnableDebug reaches the debug setting of every OpenStack service (the lab deploy test reads the
services' configuration files on the nodes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tripleo.shipped import TEMPLATES
from tripleo.workflows.services import scratch_prepare

# tripleo-heat-templates' interface of a service template: given to every service, used by some
INTERFACE = {"ServiceData", "ServiceNetMap", "EndpointMap", "RoleName", "RoleParameters"}
OPENSTACK = {"keystone", "glance_api", "placement", "nova_api", "nova_compute", "neutron_api", "neutron_dhcp",
             "neutron_linuxbridge_agent"}  # fmt: skip


@pytest.mark.parametrize(
    "template", sorted((TEMPLATES / "deployment").glob("*/*.yaml")), ids=lambda p: p.name
)
def test_every_declared_parameter_is_read(template: Path) -> None:
    data = yaml.safe_load(template.read_text())
    body = json.dumps({k: v for k, v in data.items() if k != "parameters"})
    unread = [p for p in data.get("parameters") or {} if p not in INTERFACE
              and f'"get_param": "{p}"' not in body and f'"get_param": ["{p}"' not in body]  # fmt: skip
    assert unread == []


@pytest.mark.parametrize("debug", [False, True])
def test_enable_debug_reaches_every_openstack_service(tmp_path: Path, debug: bool) -> None:
    env = tmp_path / "debug.yaml"
    env.write_text(yaml.safe_dump({"parameter_defaults": {"EnableDebug": debug}}))
    prepared = scratch_prepare(TEMPLATES, (str(env),), {"ControllerCount": 1, "ComputeCount": 1})
    found = {
        s.name: v for s in prepared.services for k, v in s.config_settings.items() if k.endswith("::debug")
    }
    assert set(found) == OPENSTACK and set(found.values()) == {debug}
