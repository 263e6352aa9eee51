"""The ``real`` backend's servers and ports: bare metal (tripleo.baremetal) and IPAM (tripleo.network).

Until those layers land, the real backend refuses servers and ports with a clear message and plans with
``--backend noop`` instead.
"""

from __future__ import annotations

from typing import Any

from tripleo.engine.state import ActionContext, Outcome
from tripleo.errors import OperationError
from tripleo.resources import compute
from tripleo.resources.base import PluginBase

__all__ = ["plugins"]


class _Unavailable(PluginBase):
    properties = {"*": False}
    external = True

    def __init__(self, type_name: str, layer: str) -> None:
        self.type_name = type_name
        self.layer = layer

    def create(self, ctx: ActionContext, props: dict[str, Any]) -> Outcome:
        raise OperationError(f"{self.type_name} needs {self.layer}; use --backend noop to plan without it")


def plugins() -> list[PluginBase]:
    return [
        _Unavailable("OS::Nova::Server", "the bare-metal layer"),
        compute.NoopNet(),
        compute.NoopSubnet(),
        _Unavailable("OS::Neutron::Port", "the network IPAM"),
    ]
