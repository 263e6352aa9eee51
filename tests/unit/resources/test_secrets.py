"""Hidden parameters never print: `stack show`, `stack output show` and `stack preview` mask their values
wherever they appear (TripleO's RoleData output carries the services' passwords in its hieradata)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tripleo.resources.secrets import MASK, mask, secrets_of

TRIPLEO = str(Path(sys.executable).with_name("tripleo"))
TEMPLATE = """\
heat_template_version: wallaby
parameters:
  DbPassword: {type: string, hidden: true}
  Region: {type: string, default: regionOne}
outputs:
  RoleData:
    value:
      config_settings:
        db::connection: {list_join: ['', ['mysql://keystone:', {get_param: DbPassword}, '@db/keystone']]}
        region: {get_param: Region}
"""
SECRET = "Zq8c0bV3n1sKd9fPxW2y"


def test_secrets_come_from_hidden_parameters_and_mask_inside_strings() -> None:
    files = {"/t.yaml": TEMPLATE, "/env.yaml": f"parameter_defaults:\n  DbPassword: {SECRET}\n  Region: r1\n"}
    secrets = secrets_of(files)
    assert secrets == {SECRET}
    data = {"a": [f"x{SECRET}y", {"b": SECRET}], "region": "r1"}
    assert mask(data, secrets) == {"a": [f"x{MASK}y", {"b": MASK}], "region": "r1"}


def test_show_output_and_preview_never_print_a_hidden_value(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    (tmp_path / "env.yaml").write_text(f"parameter_defaults:\n  DbPassword: {SECRET}\n")
    env = {**os.environ, "TRIPLEO_HOME": str(tmp_path / "home")}
    env.pop("TRIPLEO_DB_URL", None)

    def tripleo(*args: str) -> str:
        proc = subprocess.run(
            [TRIPLEO, *args], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout + proc.stderr

    base = ["-t", "t.yaml", "-e", "env.yaml"]
    printed = [tripleo("stack", "create", "s", *base, "--backend", "noop")]
    printed.append(tripleo("stack", "show", "s", "-f", "json"))
    outputs = tripleo("stack", "output", "show", "s", "--all", "-f", "json")
    printed += [outputs, tripleo("stack", "preview", *base, "-f", "json"), tripleo("stack", "preview", *base)]
    assert all(SECRET not in text for text in printed)
    assert (
        json.loads(outputs)["RoleData"]["config_settings"]["db::connection"]
        == f"mysql://keystone:{MASK}@db/keystone"
    )


def test_a_constraint_error_never_quotes_a_hidden_value(write: object) -> None:
    import pytest

    from tripleo import engine
    from tripleo.errors import TemplateError

    path = write(  # type: ignore[operator]
        "t.yaml",
        {
            "heat_template_version": "wallaby",
            "parameters": {
                "Pw": {"type": "string", "hidden": True,
                       "constraints": [{"allowed_pattern": "[a-z]+"}, {"length": {"min": 30}}]},
            },
        },
    )  # fmt: skip
    with pytest.raises(TemplateError) as info:
        engine.load_tree(str(path), parameters={"Pw": "S3cretValue"})
    assert "S3cretValue" not in str(info.value) and "******" in str(info.value)
