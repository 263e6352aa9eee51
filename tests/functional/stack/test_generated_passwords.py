"""Issue 13: a create gives every hidden parameter without a default or a value a generated one, kept with
the stack (updates reuse it), never printed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from click.testing import Result
from sqlalchemy import select

from tripleo.storage import open_database
from tripleo.storage.stack_models import StackRow

Run = Callable[..., Result]

TEMPLATE = {
    "heat_template_version": "wallaby",
    "parameters": {
        "DbPassword": {"type": "string", "hidden": True},
        "CephKey": {"type": "string", "hidden": True,
                    "constraints": [{"allowed_pattern": "^[a-zA-Z0-9+/]{38}==$"}]},
        "Given": {"type": "string", "hidden": True},
        "Size": {"type": "number", "default": 1},
    },
    "resources": {"Conf": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "DbPassword"}}}},
    "outputs": {"password": {"value": {"get_attr": ["Conf", "value"]}},
                "key": {"value": {"get_param": "CephKey"}}},
}  # fmt: skip


def _generated() -> tuple[dict[str, str], dict[str, str]]:
    with open_database().transaction() as session:
        row = session.scalar(select(StackRow))
        assert row is not None
        return dict(row.generated), dict(row.outputs)


def test_generated_once_reused_by_updates_never_printed(tripleo: Run, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(yaml.safe_dump(TEMPLATE))
    env = tmp_path / "env.yaml"
    env.write_text(yaml.safe_dump({"parameter_defaults": {"Given": "operator-given-secret"}}))
    args = ["-t", str(template), "-e", str(env), "--backend", "noop"]
    created = tripleo("stack", "create", "s", *args)
    generated, outputs = _generated()
    assert set(generated) == {"DbPassword", "CephKey"}  # Given has a value, Size a default
    assert len(generated["DbPassword"]) == 25 and generated["CephKey"].endswith("==")
    assert outputs["password"] == generated["DbPassword"] and outputs["key"] == generated["CephKey"]
    shown = (
        tripleo("stack", "show", "s", "-f", "json").output
        + tripleo("stack", "output", "show", "s", "--all", "-f", "json").output
    )
    for secret in (*generated.values(), "operator-given-secret"):
        assert secret not in shown + created.output
    assert "******" in shown

    updated = tripleo("stack", "update", "s", *args, "--parameter", "Size=2")
    assert "UPDATE_COMPLETE" in updated.output and "updated" not in updated.output  # same password: no change
    assert _generated()[0] == generated
