"""``tripleo undercloud serve``: the undercloud's OpenStack APIs for openstackclient, heatclient,
ironicclient and openstacksdk (DESIGN.md section 10); ``tripleo undercloud package-cache``: the package cache
nodes install through (DESIGN.md section 16)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["undercloud"]


@click.group()
def undercloud() -> None:
    """The undercloud's own services."""


def _rc(opts: object) -> str:
    from tripleo.api import ServeOptions, password_file

    assert isinstance(opts, ServeOptions)
    lines = [
        "# the undercloud's APIs (tripleo undercloud serve); source this file",
        f"export OS_AUTH_URL={opts.url(opts.keystone_port)}/v3",
        "export OS_USERNAME=admin OS_PROJECT_NAME=admin",
        "export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3",
        f'export OS_PASSWORD="$(cat {password_file(opts.home)})"',
    ]
    return "\n".join(lines) + "\n"


@undercloud.command("serve")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--keystone-port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--heat-port", type=click.IntRange(1, 65535), default=8006, show_default=True)
@click.option("--ironic-port", type=click.IntRange(1, 65535), default=6385, show_default=True)
@click.option("--noauth", is_flag=True, help="Accept requests without a token (OS_AUTH_TYPE=none clients).")
@click.option(
    "--backend",
    type=click.Choice(["real", "noop"]),
    default="real",
    show_default=True,
    help="How stacks created through the API run (as `tripleo stack create --backend`).",
)
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True, help="Per stack run.")
@click.option(
    "--max-body", type=click.IntRange(1024), default=32 * 1024 * 1024, show_default=True, help="Bytes."
)
def serve(
    bind: str,
    keystone_port: int,
    heat_port: int,
    ironic_port: int,
    noauth: bool,
    backend: str,
    workers: int,
    max_body: int,
) -> None:
    """Serve Identity v3 (tokens), Orchestration v1 and Bare Metal v1 until interrupted.

    The admin password is in $TRIPLEO_HOME/undercloud-admin-password (0600); $TRIPLEO_HOME/undercloudrc
    sets the OS_* variables for openstackclient.
    """
    from tripleo.api import ServeOptions
    from tripleo.api import serve as run
    from tripleo.storage import tripleo_home, write_private_text

    opts = ServeOptions(bind, keystone_port, heat_port, ironic_port, noauth, backend, max_body, workers)
    opts.check()

    def provisioner() -> object:
        from tripleo.cli.baremetal_lab import LabProvisioner

        return LabProvisioner()

    def ready(opts: ServeOptions) -> None:
        write_private_text(tripleo_home() / "undercloudrc", _rc(opts))
        click.echo(
            f"Serving identity {opts.url(keystone_port)}/v3, orchestration {opts.url(heat_port)}/v1/admin, "
            f"baremetal {opts.url(ironic_port)} ({'no authentication' if noauth else 'tokens required'}; "
            f"source {tripleo_home() / 'undercloudrc'})",
            err=True,
        )

    run(opts, provisioner=provisioner, ready=ready)


@undercloud.group("package-cache")
def package_cache() -> None:
    """The undercloud's package cache (Debian's apt-cacher-ng): nodes install their packages through it."""


def _cache() -> Any:
    from tripleo.config.packagecache import PackageCache
    from tripleo.storage.paths import tripleo_home

    return PackageCache.of(tripleo_home())


@package_cache.command("start")
@click.option("--bind", required=True, help="ADDRESS:PORT, e.g. the undercloud's ctlplane address:3142.")
def package_cache_start(bind: str) -> None:
    """Start the cache (kept under $TRIPLEO_HOME/package-cache); a no-op when it runs there."""
    click.echo(f"package cache on {_cache().start(bind)}")


@package_cache.command("stop")
def package_cache_stop() -> None:
    """Stop the cache (what it holds stays)."""
    click.echo("package cache stopped" if _cache().stop() else "no package cache was running")


@package_cache.command("status")
def package_cache_status() -> None:
    """Where the cache runs, and what it fetched from the mirror and served so far."""
    cache = _cache()
    bind, traffic = cache.address(), cache.traffic()
    click.echo(f"package cache on {bind}" if bind else "no package cache runs")
    click.echo(f"fetched from the mirror: {traffic.fetched} bytes; served: {traffic.served} bytes, "
               f"{traffic.files} files")  # fmt: skip
