"""Acceptance 1 and 3 (Heat): python-openstackclient with python-heatclient, unmodified, drives a stack's
whole life through the Orchestration API; the tripleo CLI sees every step in the same storage."""

from __future__ import annotations

import json
from pathlib import Path

from apikit import Undercloud


def _template_args(shaped: Path) -> list[str]:
    return ["-t", str(shaped / "overcloud.yaml"), "-e", str(shaped / "env.yaml")]


def test_stack_lifecycle_with_openstackclient(undercloud: Undercloud, heat_shaped: Path) -> None:
    create = undercloud.openstack(
        "stack",
        "create",
        "--wait",
        "--poll",
        "1",
        *_template_args(heat_shaped),
        "--parameter",
        "ComputeCount=2",
        "life",
    )
    assert "[life]: CREATE_COMPLETE  Stack CREATE completed successfully" in create.stdout
    assert "[life.Compute]: CREATE_COMPLETE" in create.stdout  # the events --wait streamed

    listed = {s["Stack Name"]: s for s in undercloud.openstack_json("stack", "list")}
    assert listed["life"]["Stack Status"] == "CREATE_COMPLETE"

    shown = undercloud.openstack_json("stack", "show", "life")
    outputs = {o["output_key"]: o["output_value"] for o in shown["outputs"]}
    assert outputs["hostnames"] == ["compute-0.overcloud.example.com", "compute-1.overcloud.example.com"]
    assert shown["parameters"]["ComputeCount"] == "2"
    assert shown["parameters"]["OS::stack_id"] == shown["id"]

    # the tripleo CLI reads the same stack from the same storage
    cli = json.loads(undercloud.tripleo("stack", "show", "life", "-f", "json").stdout)
    assert (cli["id"], cli["status"]) == (shown["id"], "CREATE_COMPLETE")

    resources = undercloud.openstack_json("stack", "resource", "list", "--nested-depth", "2", "life")
    cli_resources = json.loads(
        undercloud.tripleo("stack", "resource", "list", "life", "--nested-depth", "2", "-f", "json").stdout
    )
    assert len(resources) == len(cli_resources) > 20
    by_stack = {(r["stack_name"], r["resource_name"]) for r in resources}
    assert ("life", "Compute") in by_stack and ("life-Compute-0", "Server") in by_stack
    top = undercloud.openstack_json("stack", "resource", "list", "life")
    assert {r["resource_name"] for r in top} == {
        r["resource_name"] for r in cli_resources if "/" not in r["resource_name"]
    }

    events = undercloud.openstack_json("stack", "event", "list", "life")
    assert (events[-1]["resource_name"], events[-1]["resource_status"]) == ("life", "CREATE_COMPLETE")
    assert {"Compute", "ServiceChain"} <= {e["resource_name"] for e in events}

    every = undercloud.openstack_json("stack", "output", "show", "--all", "life")
    assert set(every) == {"hostnames", "first_host", "role_data"}
    one = undercloud.openstack_json("stack", "output", "show", "life", "first_host")
    assert one["output_value"] == "compute-0.overcloud.example.com"

    update = undercloud.openstack(
        "stack", "update", "--wait", "--existing", "--parameter", "ComputeCount=3", "life"
    )
    assert "[life]: UPDATE_COMPLETE" in update.stdout
    cli = json.loads(undercloud.tripleo("stack", "show", "life", "-f", "json").stdout)
    assert cli["status"] == "UPDATE_COMPLETE" and cli["parameters"]["ComputeCount"] == "3"
    assert len(cli["outputs"]["hostnames"]) == 3
    assert cli["environments"] and cli["template"].endswith("template.yaml")  # the update kept both

    undercloud.openstack("stack", "delete", "--wait", "-y", "life")
    assert "life" not in undercloud.tripleo("stack", "list", "-f", "value", "-c", "name").stdout.split()
    gone = undercloud.openstack("stack", "show", "life", code=1)
    assert "Stack not found: life" in gone.stderr
    assert not (undercloud.home / "api" / "stacks" / "life").exists()


def test_template_validate_and_show(undercloud: Undercloud, heat_shaped: Path) -> None:
    out = undercloud.openstack_json("orchestration", "template", "validate", *_template_args(heat_shaped))
    assert out["Parameters"]["ComputeCount"] == {
        "Type": "Number",
        "Default": 3,
        "Label": "ComputeCount",
        "Description": "",
        "NoEcho": "false",
    }
    assert out["Description"].startswith("Synthetic TripleO-shaped stack")

    bad = undercloud.home.parent / "bad.yaml"
    bad.write_text("heat_template_version: wallaby\nresources:\n  a: {type: OS::Nope}\n")
    failed = undercloud.openstack("orchestration", "template", "validate", "-t", str(bad), code=1)
    assert 'template: resources.a.type: Unknown resource type "OS::Nope"' in failed.stderr

    undercloud.openstack(
        "stack",
        "create",
        "-t",
        str(heat_shaped / "overcloud.yaml"),
        "-e",
        str(heat_shaped / "env.yaml"),
        "tpl",
    )
    template = undercloud.openstack("stack", "template", "show", "tpl", "-f", "json")
    assert "ServiceChain" in json.loads(template.stdout)["resources"]
    env = undercloud.openstack_json("stack", "environment", "show", "tpl")
    assert env["parameter_defaults"]["NodeFlavor"] == "compute"
    assert env["resource_registry"]["OS::TripleO::Compute"] == f"file://{heat_shaped / 'node.yaml'}"
    files = undercloud.openstack("stack", "file", "list", "tpl").stdout
    assert f"file://{heat_shaped / 'node.yaml'}" in files and "heat_template_version" in files


def test_cli_stack_is_visible_through_the_api(undercloud: Undercloud, heat_shaped: Path) -> None:
    undercloud.tripleo(
        "stack",
        "create",
        "fromcli",
        *_template_args(heat_shaped),
        "--parameter",
        "ComputeCount=1",
        "--backend",
        "noop",
    )
    shown = undercloud.openstack_json("stack", "show", "fromcli")
    assert shown["stack_status"] == "CREATE_COMPLETE"
    assert [o["output_value"] for o in shown["outputs"] if o["output_key"] == "first_host"] == [
        "compute-0.overcloud.example.com"
    ]
    # openstacksdk, the library tripleoclient itself uses, sees it too
    conn = undercloud.sdk()
    stack = conn.orchestration.find_stack("fromcli")
    assert stack is not None and stack.status == "CREATE_COMPLETE"
    names = {s.name for s in conn.orchestration.stacks()}
    assert "fromcli" in names
    # and the API's delete is the CLI's truth
    undercloud.openstack("stack", "delete", "--wait", "-y", "fromcli")
    undercloud.tripleo("stack", "show", "fromcli", code=2)


def test_openstacksdk_stack_lifecycle(undercloud: Undercloud, heat_shaped: Path) -> None:
    conn = undercloud.sdk()
    tpl, envs = str(heat_shaped / "overcloud.yaml"), [str(heat_shaped / "env.yaml")]
    conn.create_stack("sdk", template_file=tpl, environment_files=envs, wait=True, ComputeCount=1)
    stack = conn.orchestration.get_stack("sdk")
    assert stack.status == "CREATE_COMPLETE"
    assert {o["output_key"] for o in stack.outputs} == {"hostnames", "first_host", "role_data"}
    assert "Compute" in {r.name for r in conn.orchestration.resources(stack)}
    cli = json.loads(undercloud.tripleo("stack", "show", "sdk", "-f", "json").stdout)
    assert cli["status"] == "CREATE_COMPLETE" and cli["parameters"] == {"ComputeCount": 1}
    assert conn.delete_stack("sdk", wait=True)
    assert "sdk" not in undercloud.tripleo("stack", "list", "-f", "value", "-c", "name").stdout.split()
