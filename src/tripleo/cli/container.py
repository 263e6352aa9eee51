"""``tripleo container ...``: the undercloud's container images and its registry."""

from __future__ import annotations

import click

from tripleo.cli.output import emit_list, format_options
from tripleo.workflows import containers

IMAGE_COLUMNS = ("name", "image", "built", "size_mb", "id", "in_registry")


@click.group()
def container() -> None:
    """Container images built from Debian packages, and the registry nodes pull them from."""


@container.group()
def image() -> None:
    """The images of templates/container-images.yaml."""


@image.command("build")
@click.option("--service", "services", multiple=True, help="Build only this image (repeat); default: all.")
def image_build(services: tuple[str, ...]) -> None:
    """Build the base image and the service images that are missing (cached by content), then push to the
    running registry what it lacks."""
    done = containers.build(services, progress=lambda line: click.echo(line, err=True))
    for item in done.images:
        state = f"built in {item.seconds:.1f} s" if item.built else "up to date"
        click.echo(f"{item.ref}: {state}")
    if done.registry is None:
        click.echo("no registry runs (tripleo container registry start): the images stay on this host")
    else:
        click.echo(f"registry {done.registry}: {len(done.pushed)} pushed")


@image.command("list")
@format_options
def image_list(fmt: str, columns: tuple[str, ...]) -> None:
    """Each image of the set: its tag (the digest of what it is built from), built or not, in the registry."""
    emit_list(containers.image_list(), IMAGE_COLUMNS, fmt, columns)


@container.group()
def registry() -> None:
    """The undercloud's registry (Debian's docker-registry), as TripleO's on ctlplane :8787."""


@registry.command("start")
@click.option("--bind", required=True, help="ADDRESS:PORT, e.g. the undercloud's ctlplane address:8787.")
def registry_start(bind: str) -> None:
    """Start the registry (its storage is kept under $TRIPLEO_HOME/registry); a no-op when it runs."""
    click.echo(f"registry on {containers.registry_start(bind)}")


@registry.command("stop")
def registry_stop() -> None:
    """Stop the registry (its images stay)."""
    click.echo("registry stopped" if containers.registry_stop() else "no registry was running")


@registry.command("status")
def registry_status() -> None:
    """Where the registry runs, if it does."""
    bind = containers.registry_address()
    click.echo(f"registry on {bind}" if bind else "no registry runs")
