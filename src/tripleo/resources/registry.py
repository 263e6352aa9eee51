"""The one explicit registry of resource plugins (no package scanning), per backend."""

from __future__ import annotations

import os
import time
from typing import Any

from tripleo.engine.state import ActionContext, Outcome, Plugin
from tripleo.errors import OperationError
from tripleo.resources import compute, heat, software
from tripleo.resources.base import PluginBase

__all__ = ["BACKENDS", "Plugins"]

BACKENDS = ("real", "noop")
_CONFIGS = ("OS::Heat::SoftwareConfig", "OS::Heat::StructuredConfig", "OS::Heat::MultipartMime",
            "OS::Heat::CloudConfig")  # fmt: skip
_DEPLOYMENTS = ("OS::Heat::SoftwareDeployment", "OS::Heat::StructuredDeployment")


class Plugins:
    """Type name -> plugin for one backend: every type of ``tripleo.engine.schemas`` (the engine refuses
    any other native type at validate)."""

    def __init__(self, backend: str = "real", db: Any = None, provisioner: Any = None) -> None:
        self.backend = backend
        self.db, self.provisioner = db, provisioner
        self.book = software.ConfigBook()
        plugins: list[PluginBase] = [
            heat.NoneResource(),
            heat.Value(),
            heat.RandomString(),
            heat.TestResource(),
        ]
        plugins += [software.SoftwareConfig(name, self.book) for name in _CONFIGS]
        plugins += [software.Deployment(name, self.book) for name in _DEPLOYMENTS]
        plugins += [compute.DeployedServer(), compute.KeyPair()]
        plugins += self._infrastructure(backend)
        self._by_type: dict[str, PluginBase] = {p.type_name: p for p in plugins}

    def _infrastructure(self, backend: str) -> list[PluginBase]:
        if backend == "real":
            from tripleo.resources import provisioned

            return provisioned.plugins(self.db, self.provisioner)
        return [compute.NoopServer(), compute.NoopNet(), compute.NoopSubnet(), compute.NoopPort()]

    def plugin(self, type_name: str) -> Plugin:
        plugin = self._by_type.get(type_name)
        if plugin is None:
            raise OperationError(f"no plugin for resource type {type_name} in the {self.backend} backend")
        delay = float(os.environ.get("TRIPLEO_ACTION_DELAY") or 0)
        return _Slowed(plugin, delay) if delay > 0 else plugin


class _Slowed:
    """Every action takes ``delay`` seconds longer (TRIPLEO_ACTION_DELAY: a knob for crash tests)."""

    def __init__(self, plugin: PluginBase, delay: float) -> None:
        self.inner, self.delay = plugin, delay
        self.type_name, self.pure, self.external = plugin.type_name, plugin.pure, plugin.external

    def can_update(self, changed: set[str]) -> bool:
        return self.inner.can_update(changed)

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        time.sleep(self.delay)
        return self.inner.create(ctx, props)

    def update(self, ctx: ActionContext, props: dict[str, Any], old: dict[str, Any]) -> Outcome:
        time.sleep(self.delay)
        return self.inner.update(ctx, props, old)

    def delete(self, ctx: ActionContext) -> None:
        time.sleep(self.delay)
        self.inner.delete(ctx)
