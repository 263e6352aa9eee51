"""Software configs and deployments, recorded for config download (no signal is ever awaited).

A deployment stores its derived config: the config's ``config``/``group``/``outputs`` with the inputs filled
from ``input_values`` plus Heat's ``deploy_*`` inputs, so that config download can hand every node its
work. As with TripleO's config-download, the deployment completes at once (``NO_SIGNAL`` semantics).
"""

from __future__ import annotations

from typing import Any

from tripleo.engine.state import ActionContext, Outcome
from tripleo.resources.base import PluginBase

__all__ = ["ConfigBook", "Deployment", "SoftwareConfig", "derived_config"]


class ConfigBook:
    """Configs by physical id, so a deployment can find the config it names (thread-safe enough: one
    writer per key, dict assignment is atomic)."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, Any]] = {}


class SoftwareConfig(PluginBase):
    """OS::Heat::SoftwareConfig / StructuredConfig / MultipartMime / CloudConfig (immutable: replaced)."""

    pure = True

    def __init__(self, type_name: str, book: ConfigBook) -> None:
        self.type_name = type_name
        self.book = book

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        if self.type_name == "OS::Heat::MultipartMime":
            config: Any = [
                self.book.configs.get(str(p.get("config")), {}).get("config")
                for p in props.get("parts") or []
            ]
        elif self.type_name == "OS::Heat::CloudConfig":
            config = props.get("cloud_config") or {}
        else:
            config = props.get("config")
        record = {
            "id": ctx.physical_id,
            "name": ctx.name,
            "group": props.get("group") or "Heat::Ungrouped",
            "config": config,
            "inputs": props.get("inputs") or [],
            "outputs": props.get("outputs") or [],
            "options": props.get("options") or {},
        }
        self.book.configs[ctx.physical_id] = record
        return Outcome({"config": config}, {"config": record})


class Deployment(PluginBase):
    """OS::Heat::SoftwareDeployment / StructuredDeployment: the derived config, complete at once."""

    pure = True

    def __init__(self, type_name: str, book: ConfigBook) -> None:
        self.type_name = type_name
        self.book = book

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        config_id = str(props.get("config") or "")
        config = dict(self.book.configs.get(config_id) or {"id": config_id, "config": None, "outputs": []})
        deploy_inputs = {
            "deploy_server_id": props.get("server"),
            "deploy_action": "CREATE",
            "deploy_stack_id": ctx.stack_name,
            "deploy_resource_name": ctx.name,
            "deploy_signal_transport": props.get("signal_transport") or "NO_SIGNAL",
        }
        attrs: dict[str, Any] = {"deploy_stdout": "", "deploy_stderr": "", "deploy_status_code": 0}
        for output in config.get("outputs") or []:
            if isinstance(output, dict) and "name" in output:
                attrs.setdefault(str(output["name"]), None)
        # Kept as written: the inputs stay in the properties and derived_config() fills them in when config
        # download asks. Storing every member's filled-in copy (an all-nodes input of each node) made a large
        # stack's records, and the memory of every later update, several times bigger.
        stored = {k: v for k, v in config.items() if k != "inputs"}
        stored["name"] = props.get("name") or config.get("name")
        data = {
            "server": props.get("server"),
            "derived_config": stored,
            "deploy_inputs": deploy_inputs,
            "input_key": str(props.get("input_key") or "get_input")
            if self.type_name == "OS::Heat::StructuredDeployment"
            else None,
        }
        return Outcome(attrs, data)


def derived_config(data: dict[str, Any], properties: dict[str, Any] | None) -> dict[str, Any]:
    """A deployment's config as its server receives it: for a StructuredDeployment, every ``get_input``
    replaced by the deployment's ``input_values`` and Heat's ``deploy_*`` inputs."""
    derived = dict(data.get("derived_config") or {})
    key = data.get("input_key")
    if key:
        inputs = {**((properties or {}).get("input_values") or {}), **(data.get("deploy_inputs") or {})}
        derived["config"] = _substitute(derived.get("config"), inputs, str(key))
    return derived


def _substitute(value: Any, inputs: dict[str, Any], key: str) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and key in value and isinstance(value[key], str):
            return inputs.get(value[key])
        return {k: _substitute(v, inputs, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, inputs, key) for v in value]
    return value
