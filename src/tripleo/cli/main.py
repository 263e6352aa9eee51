"""The ``tripleo`` command: groups mirror python-tripleoclient's ``openstack overcloud|stack ...``."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from tripleo.errors import TripleoError

LOG = logging.getLogger(__name__)


class _Group(click.Group):
    """Turn every TripleoError into one line on stderr and its exit code (2 bad input, 1 failure)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TripleoError as exc:
            click.echo(f"ERROR: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            click.echo(f"ERROR: {exc.format_message()}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def cli(verbose: int) -> None:
    """tripleo: deploy an OpenStack overcloud from Heat templates onto bare metal or the virtual lab."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from tripleo.cli import stack

    cli.add_command(stack.stack)
    import importlib

    try:
        lab = importlib.import_module("tripleo.cli.lab")
    except ImportError:  # the lab group lands separately
        return
    cli.add_command(lab.lab)


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="tripleo", standalone_mode=True)
