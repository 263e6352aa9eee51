"""``tripleo stack ...``: the undercloud's Heat."""

from __future__ import annotations

import click


@click.group()
def stack() -> None:
    """Validate, preview and (later) run Heat-style stacks."""
