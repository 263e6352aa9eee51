"""Issue 4, acceptance 2: the real THT liberty netiso scenario with the noop backend."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import yaml
from click.testing import Result
from sqlalchemy import func, select

from tripleo.storage import open_database
from tripleo.storage.stack_models import EventRow, ResourceRow, StackFilesRow, StackRow

Run = Callable[..., Result]
ENVS = [
    "overcloud-resource-registry-puppet.yaml",
    "environments/network-isolation.yaml",
    "environments/net-single-nic-with-vlans.yaml",
]


def test_netiso_create_outputs_delete(
    tripleo: Run, shared: Path, tmp_path: Path, monkeypatch: object
) -> None:
    os.chdir(shared / "corpus" / "tht-liberty")
    args = ["-t", "overcloud.yaml", *[x for e in ENVS for x in ("-e", e)]]
    # like tripleoclient, generate the passwords the templates need (0600, never printed)
    unset = json.loads(tripleo("stack", "validate", *args, "-f", "json").stdout)["unset_parameters"]
    assert "AdminPassword" in unset
    passwords = tmp_path / "passwords.yaml"
    passwords.write_text(
        yaml.safe_dump({"parameter_defaults": {p.split(":")[-1]: f"pw-{i}" for i, p in enumerate(unset)}})
    )
    passwords.chmod(0o600)
    args += ["-e", str(passwords), "--backend", "noop"]

    assert "CREATE_COMPLETE" in tripleo("stack", "create", "overcloud", *args).output
    outputs = json.loads(tripleo("stack", "output", "show", "overcloud", "--all", "-f", "json").stdout)
    endpoints = outputs["EndpointMap"]
    assert (
        endpoints["KeystonePublic"]["uri"].startswith("http://")
        and endpoints["KeystonePublic"]["port"] == "5000"
    )
    assert outputs["KeystoneAdminVip"] and outputs["PublicVip"]
    db = open_database()
    with db.transaction() as session:
        stack = session.scalar(select(StackRow))
        assert stack is not None and stack.status == "COMPLETE"
        count = session.scalar(select(func.count()).select_from(ResourceRow))
        # 183 resources validate offline; the 18 deployment groups gain members once servers exist
        assert count is not None and count > 183
        files = session.get(StackFilesRow, stack.files_id)
        assert files is not None
        corpus = os.path.realpath(shared / "corpus" / "tht-liberty")
        names = {os.path.relpath(f, corpus) for f in files.files if f.startswith(corpus)}
        assert {"overcloud.yaml", "puppet/controller.yaml", "environments/network-isolation.yaml"} <= names
        assert session.scalar(select(func.count()).select_from(StackFilesRow)) == 1  # once per tree
    tripleo("stack", "delete", "overcloud")
    with db.transaction() as session:
        for model in (StackRow, ResourceRow, EventRow):
            assert session.scalar(select(func.count()).select_from(model)) == 0
