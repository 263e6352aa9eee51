"""The ``tripleo`` command: groups mirror python-tripleoclient's ``openstack overcloud|stack ...``."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from tripleo.cli.lazy import LazyGroup
from tripleo.errors import TripleoError

LOG = logging.getLogger(__name__)


class _Group(LazyGroup):
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
        except (click.exceptions.Exit, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: one line for the operator, the traceback in the debug log
            LOG.debug("unexpected error", exc_info=True)
            click.echo(
                f"ERROR: internal error: {type(exc).__name__}: {exc} (run with -vv for details)", err=True
            )
            sys.exit(1)


# each command family lives in its own module, imported only when used
_LAZY = {
    "stack": ("tripleo.cli.stack", "stack"),
    "overcloud": ("tripleo.cli.overcloud", "overcloud"),
    "baremetal": ("tripleo.cli.baremetal", "baremetal"),
    "lab": ("tripleo.cli.lab", "lab"),
    "container": ("tripleo.cli.container", "container"),
    "undercloud": ("tripleo.cli.undercloud", "undercloud"),
}


@click.group(cls=_Group, lazy=_LAZY, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
def cli(verbose: int) -> None:
    """tripleo: deploy an OpenStack overcloud from Heat templates onto bare metal or the virtual lab."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="tripleo", standalone_mode=True)
