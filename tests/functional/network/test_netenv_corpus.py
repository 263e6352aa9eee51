"""Acceptance 1: THT liberty's NIC layouts with network-isolation(-v6).yaml pass ``netenv validate``, and the
project's own per-role NIC templates render exactly what the corpus templates describe for every role.

The corpus templates are rendered by the engine (a wrapper stack previewed), ours by Jinja2; both are fed the
same node addresses by the same command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tripleo.cli.main import cli

REPO = Path(__file__).resolve().parents[3]
LAYOUTS = ["net-single-nic-with-vlans", "net-bond-with-vlans", "net-multiple-nics"]
ALL_ROLES = (
    "parameter_defaults: {ControllerCount: 1, ComputeCount: 2, BlockStorageCount: 1, ObjectStorageCount: 1,\n"
)
ALL_ROLES += "  CephStorageCount: 1, DnsServers: [192.168.24.1], EC2MetadataIp: 192.168.24.1}\n"
# the five roles of the Liberty-era overcloud (the project's own roles_data has Controller and Compute)
ROLES_FILE = REPO / "tests" / "data" / "netenv" / "all-roles" / "roles_data.yaml"


def _validate(*envs: str) -> dict[str, Any]:
    args = ["overcloud", "netenv", "validate", *(a for e in envs for a in ("-e", e)), "-f", "json"]
    args += ["--roles-file", str(ROLES_FILE)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("v6", ["", "-v6"], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_corpus_layout_passes_and_our_templates_render_the_same(
    shared: Path, tmp_path: Path, layout: str, v6: str
) -> None:
    corpus = shared / "corpus" / "tht-liberty" / "environments"
    counts = tmp_path / "all-roles.yaml"
    counts.write_text(ALL_ROLES)
    isolation = str(corpus / f"network-isolation{v6}.yaml")
    theirs = _validate(isolation, str(corpus / f"{layout}{v6}.yaml"), str(counts))
    ours = _validate(
        isolation, str(REPO / "templates" / "network" / "environments" / f"{layout}{v6}.yaml"), str(counts)
    )
    assert theirs["valid"] and ours["valid"]
    roles = {n["role"] for n in theirs["nodes"]}
    assert roles == {"Controller", "Compute", "BlockStorage", "ObjectStorage", "CephStorage"}
    assert [n["name"] for n in ours["nodes"]] == [n["name"] for n in theirs["nodes"]]
    for mine, corpus_node in zip(ours["nodes"], theirs["nodes"], strict=True):
        assert mine["addresses"] == corpus_node["addresses"]
        assert mine["network_config"] == corpus_node["network_config"], mine["name"]
    # the isolation proof: every node reaches its networks' peers, never a network it lacks
    assert theirs["matrix"] and all(m["proof"] == m["required"] for m in theirs["matrix"])
    external = [
        m for m in theirs["matrix"] if m["network"] == "External" and m["source"].startswith("compute")
    ]
    assert external and not any(m["proof"] for m in external)
    if v6:
        controller = next(n for n in theirs["nodes"] if n["role"] == "Controller")
        assert ":" in controller["addresses"]["External"] and "." in controller["addresses"]["Tenant"]


def test_a_corpus_nic_template_differs_when_the_values_do(shared: Path, tmp_path: Path) -> None:
    """The comparison above can fail: another VLAN id changes the corpus rendering, not ours."""
    corpus = shared / "corpus" / "tht-liberty" / "environments"
    changed = tmp_path / "vlan.yaml"
    changed.write_text("parameter_defaults: {InternalApiNetworkVlanID: 201}\n")
    theirs = _validate(
        str(corpus / "network-isolation.yaml"), str(corpus / "net-bond-with-vlans.yaml"), str(changed)
    )
    ours = _validate(str(corpus / "network-isolation.yaml"), str(corpus / "net-bond-with-vlans.yaml"))
    assert theirs["nodes"][0]["network_config"] != ours["nodes"][0]["network_config"]
    assert "201" in json.dumps(theirs["nodes"][0]["network_config"])
