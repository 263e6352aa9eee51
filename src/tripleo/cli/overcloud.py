"""``tripleo overcloud ...``: the operator's commands, mirroring python-tripleoclient.

Sub-command families live in their own modules (``overcloud_node``: node import/introspect/provide and
profiles; ``overcloud_network``: netenv validate and validate network), each with ``register(group)``.
"""

from __future__ import annotations

import importlib

import click

_FAMILIES = ("tripleo.cli.overcloud_node", "tripleo.cli.overcloud_network", "tripleo.cli.overcloud_deploy")


@click.group()
def overcloud() -> None:
    """Deploy and operate the overcloud: nodes, profiles, networks, deployment."""


for _name in _FAMILIES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
        continue
    _module.register(overcloud)
