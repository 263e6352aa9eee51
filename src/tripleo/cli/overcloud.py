"""``tripleo overcloud ...``: the operator's commands, mirroring python-tripleoclient.

Sub-command families live in their own modules (``overcloud_node``: node import/introspect/provide and
profiles; ``overcloud_network``: netenv validate and validate network), each with ``register(group)``.
"""

from __future__ import annotations

import click

from tripleo.cli.lazy import LazyGroup

_NODE = ("tripleo.cli.overcloud_node", "register")
_NETWORK = ("tripleo.cli.overcloud_network", "register")
_DEPLOY = ("tripleo.cli.overcloud_deploy", "register")
_LAZY = {
    "node": _NODE,
    "profiles": _NODE,
    "netenv": _NETWORK,
    "validate": _NETWORK,
    "deploy": _DEPLOY,
    "delete": _DEPLOY,
    "status": _DEPLOY,
    "failures": _DEPLOY,
    "container": ("tripleo.cli.overcloud_container", "register"),
    "database": ("tripleo.cli.overcloud_database", "register"),
}


@click.group(cls=LazyGroup, lazy=_LAZY)
def overcloud() -> None:
    """Deploy and operate the overcloud: nodes, profiles, networks, deployment."""
