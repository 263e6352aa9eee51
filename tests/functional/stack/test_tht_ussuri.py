"""Issue 23: tripleo-heat-templates of Ussuri (tag 12.7.0, commit f743b1cb32700571422ec7fce734546e2842273c,
September 2020) rendered by the tree's own tools/process-templates.py, as tripleoclient does before a
deploy, validates with the Wallaby scenarios' environments. Its puppet/role.role.j2.yaml renders
``HOSTNAME: {get_attr:[Controller, name]}`` (no space after the colon), which libyaml refuses and PyYAML's
pure parser takes.

The tree is not in ../shared/corpus: it comes at run time from a git mirror of
openstack/tripleo-heat-templates (``TRIPLEO_THT_GIT``, by default the one beside the checkout,
``../.mirror/openstack+tripleo-heat-templates/repo/.git``), extracted and rendered into a temporary
directory; the test skips when the mirror or the tag is absent (CI has no network).

Not the standalone scenario: rendered with ``-r roles/Standalone.yaml``, 12.7.0's Standalone role passes
``StorageNetworkVlanID`` and the other VLAN IDs to net-config-standalone.yaml, which declares no such
parameters, and validate refuses it ("Unknown Property"), as Heat's template resources do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tripleo.engine.template.yamlfile import load_yaml_file

Run = Callable[..., Result]

TAG = "12.7.0"
COMMIT = "f743b1cb32700571422ec7fce734546e2842273c"
DEFAULT_MIRROR = (
    Path(__file__).resolve().parents[4] / ".mirror" / "openstack+tripleo-heat-templates" / "repo" / ".git"
)

SCENARIOS = {
    "ussuri-default": (
        "overcloud-resource-registry-puppet.yaml",
        "environments/deployed-server-environment.yaml",
        "{scenarios}/wallaby-default-params.yaml",
    ),
    "ussuri-netiso": (
        "overcloud-resource-registry-puppet.yaml",
        "environments/deployed-server-environment.yaml",
        "environments/network-isolation.yaml",
        "environments/network-environment.yaml",
        "{scenarios}/wallaby-netiso-params.yaml",
    ),
}


def _mirror() -> Path:
    git_dir = Path(os.environ.get("TRIPLEO_THT_GIT", str(DEFAULT_MIRROR)))
    if shutil.which("git") is None or shutil.which("tar") is None:
        pytest.skip("git and tar are needed to extract the Ussuri tree")
    if not git_dir.is_dir():
        pytest.skip(f"no tripleo-heat-templates mirror at {git_dir} (set TRIPLEO_THT_GIT)")
    found = subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "--verify", "-q", f"{TAG}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.stdout.strip() != COMMIT:
        pytest.skip(f"tag {TAG} ({COMMIT}) is not in {git_dir}")
    return git_dir


@pytest.fixture(scope="module")
def ussuri(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Ussuri tree rendered with the default roles_data.yaml and network_data.yaml."""
    git_dir = _mirror()
    base = tmp_path_factory.mktemp("tht-ussuri")
    source, rendered = base / "source", base / "rendered"
    source.mkdir()
    archive = base / "tht.tar"
    subprocess.run(["git", f"--git-dir={git_dir}", "archive", "-o", str(archive), TAG], check=True)
    subprocess.run(["tar", "-x", "-f", str(archive), "-C", str(source)], check=True)
    # process-templates.py imports six only for six.text_type, which six defines as str on Python 3
    shim = base / "six"
    shim.mkdir()
    (shim / "six.py").write_text("text_type = str\n")
    env = {**os.environ, "PYTHONPATH": str(shim)}
    subprocess.run(
        [sys.executable, "tools/process-templates.py", "-o", str(rendered)],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
    )
    return rendered


def test_the_rendered_role_template_has_the_flow_mapping_and_loads(ussuri: Path) -> None:
    role = ussuri / "puppet" / "controller-role.yaml"
    assert "HOSTNAME: {get_attr:[Controller, name]}" in role.read_text()
    outputs = load_yaml_file(str(role))["outputs"]
    keys = outputs["hostname_network_config_map"]["value"]["map_replace"][1]["keys"]
    assert keys == {"HOSTNAME": {"get_attr": ["Controller", "name"]}}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ussuri_validates(
    scenario: str, ussuri: Path, shared: Path, tripleo: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ussuri)
    scenarios = str(shared / "corpus" / "scenarios")
    envs = [e.format(scenarios=scenarios) for e in SCENARIOS[scenario]]
    args = ["-t", "overcloud.yaml", *[x for e in envs for x in ("-e", e)], "-f", "json"]
    report = json.loads(tripleo("stack", "validate", *args).stdout)
    assert report["valid"] is True and report["unset_parameters"] == []
    used = {r["implementation"] for r in report["resources"]}
    # the role templates holding the flow mapping, for the roles of count 1 in roles_data.yaml
    assert {"puppet/controller-role.yaml", "puppet/compute-role.yaml"} <= used
    assert report["resource_count"] == len(report["resources"]) > 700
