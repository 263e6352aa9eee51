"""One process, three listeners: Identity v3, Orchestration v1 and Bare Metal v1, each on its own port.

One uvicorn server serves every socket; a request goes to the service of the port it arrived on. Heat
and Ironic routes need a token Keystone issued (``X-Auth-Token``) unless the server runs without
authentication, as TripleO's ephemeral Heat does (``OS_AUTH_TYPE=none``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tripleo.api.heat import HeatContext, heat_app, heat_error
from tripleo.api.heat_jobs import StackJobs
from tripleo.api.http import ApiError, internal_error
from tripleo.api.ironic import IronicContext, VersionHeaders, ironic_app, ironic_error
from tripleo.api.keystone import Endpoint, TokenStore, admin_password, keystone_app, keystone_error
from tripleo.baremetal import Conductor
from tripleo.errors import InputError
from tripleo.resources.registry import BACKENDS
from tripleo.resources.service import StackService
from tripleo.storage import open_database, tripleo_home

__all__ = ["ServeOptions", "build_app", "listen", "serve"]

LOG = logging.getLogger(__name__)

Render = Callable[[ApiError], Any]


@dataclass
class ServeOptions:
    """Where to listen, how to authenticate, how stacks run."""

    bind: str = "127.0.0.1"
    keystone_port: int = 5000
    heat_port: int = 8006
    ironic_port: int = 6385
    noauth: bool = False
    backend: str = "real"
    body_limit: int = 32 * 1024 * 1024
    workers: int = 8
    home: Path | None = None

    def check(self) -> None:
        """:raises InputError: a bind address that is not one IP address, ``--noauth`` on an address other
        hosts reach (anyone there could drive the undercloud), a port out of range, ports that clash, an
        unknown backend."""
        try:
            address = ipaddress.ip_address(self.bind)
        except ValueError:
            raise InputError(f"--bind {self.bind}: expected an IP address (e.g. 127.0.0.1)") from None
        if address.is_unspecified:
            raise InputError(f"--bind {self.bind}: the catalog must name one address; give the host's own")
        if self.noauth and not address.is_loopback:
            raise InputError(
                f"--noauth with --bind {self.bind}: without tokens, serve on a loopback address only "
                "(127.0.0.1 or ::1)"
            )
        ports = (self.keystone_port, self.heat_port, self.ironic_port)
        if any(not 0 < p < 65536 for p in ports):
            raise InputError(f"ports {ports}: each must be 1-65535")
        if len(set(ports)) != 3:
            raise InputError(f"ports {ports}: Keystone, Heat and Ironic need three different ports")
        if self.backend not in BACKENDS:
            raise InputError(f"--backend {self.backend}: expected one of {', '.join(BACKENDS)}")
        if self.body_limit < 1024:
            raise InputError(f"--max-body {self.body_limit}: at least 1024 bytes")

    def url(self, port: int) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{port}"

    def catalog(self) -> list[Endpoint]:
        return [
            Endpoint("identity", "keystone", f"{self.url(self.keystone_port)}/v3"),
            Endpoint("orchestration", "heat", f"{self.url(self.heat_port)}/v1/admin"),
            Endpoint("baremetal", "ironic", self.url(self.ironic_port)),
        ]


class Guard:
    """ASGI middleware: a valid token for every route but the public ones (unless ``tokens`` is None),
    and an unexpected error as a 500 in the service's error shape, logged once without the request's
    values (:func:`~tripleo.api.http.internal_error`)."""

    def __init__(self, app: ASGIApp, tokens: TokenStore | None, render: Render, public: set[str]) -> None:
        self.app, self.tokens, self.render, self.public = app, tokens, render, public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tokens is not None and scope["path"] not in self.public:
            token = dict(scope.get("headers", [])).get(b"x-auth-token", b"").decode("latin-1")
            if not self.tokens.valid(token):
                message = "The request you have made requires authentication."
                await self.render(ApiError(401, message))(scope, receive, send)
                return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            error = internal_error(LOG, str(scope.get("method")), str(scope.get("path")), exc)
            if not started:
                await self.render(error)(scope, receive, send)


class ByPort:
    """ASGI: the app for the local port a request arrived on."""

    def __init__(self, apps: dict[int, ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        server = scope.get("server") or ("", 0)
        app = self.apps.get(int(server[1]))
        if app is None:
            raise RuntimeError(f"no service on port {server[1]}")
        await app(scope, receive, send)


def build_app(opts: ServeOptions, provisioner: Callable[[], Any] | None = None) -> tuple[ASGIApp, StackJobs]:
    """The three services over the database of ``$TRIPLEO_HOME`` / ``TRIPLEO_DB_URL``; the stack jobs are
    returned so the caller can wait for running ones at shutdown."""
    opts.check()
    home = opts.home or tripleo_home()
    db = open_database()
    service = StackService(db, provisioner=provisioner)
    jobs = StackJobs(service, workers=4)
    jobs.recover()  # operations a killed server left IN_PROGRESS: FAILED, "interrupted"
    tokens = None if opts.noauth else TokenStore(admin_password(home), opts.catalog())
    keystone = Guard(
        keystone_app(tokens or TokenStore(admin_password(home), opts.catalog())), None, keystone_error, set()
    )
    heat_ctx = HeatContext(service, jobs, home, opts.backend, opts.body_limit, opts.workers)
    conductor = Conductor(db, provisioner=provisioner() if provisioner else None)
    apps: dict[int, ASGIApp] = {
        opts.keystone_port: keystone,
        opts.heat_port: Guard(heat_app(heat_ctx), tokens, heat_error, {"/"}),
        opts.ironic_port: VersionHeaders(
            Guard(ironic_app(IronicContext(conductor)), tokens, ironic_error, {"/", "/v1", "/v1/"})
        ),
    }
    return ByPort(apps), jobs


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket for one service.

    :raises InputError: the address cannot be bound (in use, not local).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it, a keep-alive client's second request waits ~40 ms
    # for a delayed ACK (Nagle) before the response's last segment leaves
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    opts: ServeOptions,
    provisioner: Callable[[], Any] | None = None,
    ready: Callable[[ServeOptions], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, then let running stack operations finish.

    :raises InputError: bad options, or a port already in use.
    """
    app, jobs = build_app(opts, provisioner)
    sockets = [listen(opts.bind, p) for p in (opts.keystone_port, opts.heat_port, opts.ironic_port)]
    # idle client connections are kept 5 minutes (as HAProxy's on the overcloud): with uvicorn's 5 s, a
    # client polling every 5 s (heatclient's --wait) met the close as it reused the connection
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=300)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=sockets))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started and ready is not None:
            ready(opts)
        await task

    try:
        asyncio.run(run())
    finally:
        for sock in sockets:
            sock.close()
        jobs.shutdown()
