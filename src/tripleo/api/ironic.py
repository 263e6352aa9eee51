"""Ironic's Bare Metal API v1 over :class:`tripleo.baremetal.Conductor`, the same public API
``tripleo baremetal node ...`` calls: version documents and microversion negotiation (the version headers
on every response), nodes, power and provision states, ports, and Ironic's error body.

Power and provision requests run to completion before the 202 (Ironic's are asynchronous; clients poll the
node either way), so a refusal is the request's own status: 400 for a transition the state machine does
not allow, 409 for a node another operation holds.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tripleo.api.http import ApiError, FieldSpec, JSONResponse, check_fields, internal_error, read_json
from tripleo.baremetal import Conductor, Node, Port, introspect, states
from tripleo.errors import InputError, TripleoError
from tripleo.storage import LockedError

__all__ = ["MAX_VERSION", "MIN_VERSION", "IronicContext", "VersionHeaders", "ironic_app", "ironic_error"]

MIN_VERSION = (1, 1)
MAX_VERSION = (1, 81)
LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
_VERSION_HEADER = "x-openstack-ironic-api-version"
_VERSION_RE = re.compile(r"^1\.(\d{1,4})$", re.ASCII)
MAX_LIMIT = 1000  # Ironic's [api]max_limit: a page holds at most this many
_BODY_LIMIT = 64 * 1024

LIST_FIELDS = ("uuid", "name", "instance_uuid", "power_state", "provision_state", "maintenance")
POWER_TARGETS = {"power on": states.POWER_ON, "power off": states.POWER_OFF}
PROVISION_EVENTS = ("manage", "provide", "inspect")
MAINTENANCE_FIELDS: FieldSpec = {"reason": ((str,), "a string")}
POWER_FIELDS: FieldSpec = {"target": ((str,), "a string"), "timeout": ((int,), "an integer")}
PROVISION_FIELDS: FieldSpec = {
    "target": ((str,), "a string"),
    "clean_steps": ((list,), "an array"),
    "deploy_steps": ((list,), "an array"),
    "configdrive": ((str, dict), "a string or an object"),
    "disable_ramdisk": ((bool,), "a boolean"),
}


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def ironic_error(exc: ApiError) -> JSONResponse:
    """Ironic's error body: ``error_message`` is itself JSON (faultstring, faultcode, debuginfo)."""
    fault = {
        "faultstring": exc.message,
        "faultcode": "Client" if exc.status < 500 else "Server",
        "debuginfo": None,
    }
    return JSONResponse({"error_message": json.dumps(fault)}, status_code=exc.status)


@dataclass
class IronicContext:
    """The conductor the routes drive."""

    conductor: Conductor


def negotiate(header: str | None) -> tuple[int, int]:
    """The microversion a request asks for (the minimum when it names none; ``latest`` is the maximum).

    :raises ApiError: 400 for a malformed version, 406 for one outside the range.
    """
    if header is None or not header.strip():
        return MIN_VERSION
    value = header.strip()
    if value.startswith("baremetal "):
        value = value.split(" ", 1)[1].strip()
    if value == "latest":
        return MAX_VERSION
    match = _VERSION_RE.match(value)
    if match is None:
        raise ApiError(
            400, f"Invalid value for X-OpenStack-Ironic-API-Version header: {json.dumps(value[:40])}"
        )
    version = (1, int(match.group(1)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ApiError(
            406,
            f"Version {value} was requested but the minor version is not supported by this "
            f"service. The supported version range is: [{_text(MIN_VERSION)}, "
            f"{_text(MAX_VERSION)}].",
        )
    return version


class VersionHeaders:
    """ASGI middleware: negotiate the microversion and put the version headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # as Starlette reads them: bytes as latin-1, so a header that is not UTF-8 is a bad value, not a crash
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            version = negotiate(
                headers.get(_VERSION_HEADER) or _new_style(headers.get("openstack-api-version"))
            )
            scope.setdefault("state", {})["microversion"] = version
            error = None
        except ApiError as exc:
            version, error = MIN_VERSION, exc
        extra = [
            (b"x-openstack-ironic-api-minimum-version", _text(MIN_VERSION).encode()),
            (b"x-openstack-ironic-api-maximum-version", _text(MAX_VERSION).encode()),
            (b"x-openstack-ironic-api-version", _text(version).encode()),
            (b"vary", b"X-OpenStack-Ironic-API-Version"),
        ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if error is not None:
            await ironic_error(error)(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


def _new_style(value: str | None) -> str | None:
    if value and value.strip().startswith("baremetal "):
        return value.strip()
    return None


# -- shapes ------------------------------------------------------------------------------------------------


def _links(base: str, kind: str, ident: str) -> list[dict[str, str]]:
    return [
        {"href": f"{base}/v1/{kind}/{ident}", "rel": "self"},
        {"href": f"{base}/{kind}/{ident}", "rel": "bookmark"},
    ]


def node_body(node: Node, base: str) -> dict[str, Any]:
    """Every field of a node as Ironic shows it (``driver_info`` already redacted)."""
    transient = node.provision_state in states.TRANSIENT
    return {
        **{k: v for k, v in node.to_dict().items() if k not in ("profile", "ports")},
        "target_provision_state": None if not transient else "in progress",
        "target_power_state": None,
        "reservation": None,
        "console_enabled": False,
        "resource_class": node.properties.get("resource_class")
        if isinstance(node.properties, dict)
        else None,
        "conductor_group": "",
        "fault": None,
        "protected": False,
        "retired": False,
        "owner": None,
        "lessee": None,
        "created_at": None,
        "updated_at": None,
        "provision_updated_at": None,
        "links": _links(base, "nodes", node.uuid),
        "ports": _links(base, "nodes", f"{node.uuid}/ports"),
        "states": _links(base, "nodes", f"{node.uuid}/states"),
    }


def port_body(port: Port, node: Node, base: str) -> dict[str, Any]:
    return {
        "uuid": port.uuid,
        "address": port.address,
        "node_uuid": node.uuid,
        "pxe_enabled": port.pxe_enabled,
        "physical_network": port.physical_network,
        "local_link_connection": {},
        "extra": {},
        "is_smartnic": False,
        "created_at": None,
        "updated_at": None,
        "links": _links(base, "ports", port.uuid),
    }


NODE_FIELDS = frozenset(
    {
        *LIST_FIELDS,
        "driver",
        "driver_info",
        "maintenance_reason",
        "last_error",
        "properties",
        "instance_info",
        "extra",
        "target_provision_state",
        "target_power_state",
        "reservation",
        "console_enabled",
        "resource_class",
        "conductor_group",
        "fault",
        "protected",
        "retired",
        "owner",
        "lessee",
        "created_at",
        "updated_at",
        "provision_updated_at",
        "links",
        "ports",
        "states",
    }
)
PORT_FIELDS = frozenset(
    {
        "uuid",
        "address",
        "node_uuid",
        "pxe_enabled",
        "physical_network",
        "local_link_connection",
        "extra",
        "is_smartnic",
        "created_at",
        "updated_at",
        "links",
    }
)


def _wanted(request: Request, known: frozenset[str]) -> list[str] | None:
    """The ``fields`` a request asks for (None: all of them).

    :raises ApiError: 400 naming the fields that do not exist.
    """
    raw = request.query_params.get("fields")
    if not raw:
        return None
    wanted = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in known]
    if unknown:
        raise ApiError(400, f'Field(s) "{", ".join(unknown)}" are not valid')
    return wanted


def _fields(body: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    return body if wanted is None else {k: body[k] for k in wanted}


# -- routes ------------------------------------------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _version_doc(request: Request) -> dict[str, Any]:
    return {
        "id": "v1",
        "links": [{"href": f"{_base(request)}/v1/", "rel": "self"}],
        "status": "CURRENT",
        "min_version": _text(MIN_VERSION),
        "version": _text(MAX_VERSION),
    }


async def root(request: Request) -> Response:
    version = _version_doc(request)
    return JSONResponse(
        {
            "name": "OpenStack Ironic API",
            "description": "Ironic is an OpenStack project which aims to provision baremetal machines.",
            "versions": [version],
            "default_version": version,
        }
    )


async def v1(request: Request) -> Response:
    base = _base(request)
    body: dict[str, Any] = {
        "id": "v1",
        "links": [{"href": f"{base}/v1/", "rel": "self"}],
        "media_types": [{"base": "application/json", "type": "application/vnd.openstack.ironic.v1+json"}],
        "version": _version_doc(request),
    }
    for kind in ("nodes", "ports"):
        body[kind] = [
            {"href": f"{base}/v1/{kind}/", "rel": "self"},
            {"href": f"{base}/{kind}/", "rel": "bookmark"},
        ]
    return JSONResponse(body)


def _page(
    request: Request, items: list[_T], ident: Callable[[_T], str], kind: str
) -> tuple[list[_T], dict[str, str]]:
    """One page of ``items`` as Ironic pages a collection (``limit``, ``marker``, ``sort_dir``), and the
    ``next`` link when more follow.

    :raises ApiError: 400 for a limit that is not a positive integer or a bad sort direction, 404 for a
        marker that names no item (as Ironic's lookup of the marker object).
    """
    query = request.query_params
    raw = query.get("limit") or ""
    limit = MAX_LIMIT
    if raw:
        digits = raw[1:] if raw[:1] in "+-" else raw
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 12):
            raise ApiError(400, f"Invalid input for field/attribute limit. Value: {json.dumps(raw[:40])}.")
        if int(raw) <= 0:
            raise ApiError(400, "Limit must be positive")
        limit = min(int(raw), MAX_LIMIT)
    order = query.get("sort_dir") or "asc"
    if order not in ("asc", "desc"):
        raise ApiError(
            400, f"Invalid sort direction: {json.dumps(order[:40])}. Acceptable values are 'asc' or 'desc'"
        )
    ordered = items[::-1] if order == "desc" else items
    marker = query.get("marker")
    if marker:
        at = next((i for i, item in enumerate(ordered) if ident(item) == marker), None)
        if at is None:
            raise ApiError(404, f"{kind} {marker[:80]} could not be found.")
        ordered = ordered[at + 1 :]
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, {}
    params = [(k, v) for k, v in query.multi_items() if k not in ("limit", "marker")]
    params += [("limit", str(limit)), ("marker", ident(page[-1]))]
    return page, {"next": f"{_base(request)}{request.url.path}?{urlencode(params)}"}


def _node(ctx: IronicContext, ident: str) -> Node:
    try:
        return ctx.conductor.get(ident)
    except InputError:
        raise ApiError(404, f"Node {ident} could not be found.") from None


def list_nodes(ctx: IronicContext, request: Request, body: dict[str, Any], detail: bool = False) -> Response:
    nodes = ctx.conductor.nodes()
    for key in ("provision_state", "driver"):
        want = request.query_params.get(key)
        if want:
            nodes = [n for n in nodes if getattr(n, key) == want]
    maint = request.query_params.get("maintenance")
    if maint:
        nodes = [n for n in nodes if n.maintenance == (maint.lower() in ("true", "1", "yes"))]
    base = _base(request)
    wanted = _wanted(request, NODE_FIELDS) or (None if detail else [*LIST_FIELDS, "links"])
    nodes, after = _page(request, nodes, lambda n: n.uuid, "Node")
    out = [_fields(node_body(node, base), wanted) for node in nodes]
    return JSONResponse({"nodes": out, **after})


def show_node(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    wanted = _wanted(request, NODE_FIELDS)
    node = _node(ctx, request.path_params["node"])
    return JSONResponse(_fields(node_body(node, _base(request)), wanted))


def node_states(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    node = _node(ctx, request.path_params["node"])
    full = node_body(node, _base(request))
    keys = (
        "power_state",
        "target_power_state",
        "provision_state",
        "target_provision_state",
        "last_error",
        "console_enabled",
        "provision_updated_at",
    )
    return JSONResponse({k: full[k] for k in keys})


def _accepted(request: Request, node: Node) -> Response:
    return Response(status_code=202, headers={"Location": f"{_base(request)}/v1/nodes/{node.uuid}/states"})


def _run(ctx: IronicContext, node: Node, what: str, action: Callable[[], Node]) -> Node:
    """Run a node operation; a lock held elsewhere is 409, a refused transition 400, a failure 409."""
    try:
        return action()
    except LockedError as exc:
        raise ApiError(409, f"Node {node.label} is locked: {exc.message}", "NodeLocked") from None
    except InputError as exc:
        raise ApiError(400, exc.message) from None
    except TripleoError as exc:
        raise ApiError(409, f"{what} of node {node.label} failed: {exc.message}") from None


def set_power(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    node = _node(ctx, request.path_params["node"])
    target = body.get("target")
    if target not in POWER_TARGETS:
        raise ApiError(400, f"power target {target!r}: expected one of {', '.join(map(repr, POWER_TARGETS))}")
    _run(ctx, node, target, lambda: ctx.conductor.power(node.uuid, POWER_TARGETS[str(target)]))
    return _accepted(request, node)


def set_provision(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    node = _node(ctx, request.path_params["node"])
    target = body.get("target")
    if target not in PROVISION_EVENTS:
        raise ApiError(
            400,
            f'The requested action "{target}" is not supported here (supported: '
            f"{', '.join(PROVISION_EVENTS)}).",
        )
    event = str(target)
    try:
        states.next_state(node.provision_state, event, f"node {node.label}")
    except TripleoError:
        raise ApiError(
            400,
            f'The requested action "{event}" can not be performed on node "{node.label}" '
            f'while it is in state "{node.provision_state}".',
        ) from None
    actions: dict[str, Callable[[], Node]] = {
        "manage": lambda: ctx.conductor.manage(node.uuid),
        "provide": lambda: ctx.conductor.provide(node.uuid),
        "inspect": lambda: introspect(ctx.conductor, node.uuid),
    }
    _run(ctx, node, event, actions[event])
    return _accepted(request, node)


def set_maintenance(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    """PUT puts the node in maintenance (``reason`` optional), DELETE takes it out: 202."""
    node = _node(ctx, request.path_params["node"])
    on = request.method == "PUT"
    reason = body.get("reason") if on else None
    _run(ctx, node, "maintenance", lambda: ctx.conductor.set_maintenance(node.uuid, on, reason))
    return Response(status_code=202)


def list_ports(ctx: IronicContext, request: Request, body: dict[str, Any], detail: bool = False) -> Response:
    only = (
        request.path_params.get("node")
        or request.query_params.get("node")
        or request.query_params.get("node_uuid")
    )
    nodes = [_node(ctx, only)] if only else ctx.conductor.nodes()
    address = request.query_params.get("address")
    base = _base(request)
    wanted = _wanted(request, PORT_FIELDS) or (None if detail else ["uuid", "address", "links"])
    pairs = [(p, n) for n in nodes for p in n.ports if not address or p.address == address.lower()]
    pairs, after = _page(request, pairs, lambda pair: pair[0].uuid, "Port")
    out = [_fields(port_body(port, node, base), wanted) for port, node in pairs]
    return JSONResponse({"ports": out, **after})


def show_port(ctx: IronicContext, request: Request, body: dict[str, Any]) -> Response:
    ident = request.path_params["port"]
    wanted = _wanted(request, PORT_FIELDS)
    for node in ctx.conductor.nodes():
        for port in node.ports:
            if ident in (port.uuid, port.address):
                return JSONResponse(_fields(port_body(port, node, _base(request)), wanted))
    raise ApiError(404, f"Port {ident} could not be found.")


def _endpoint(
    ctx: IronicContext, fn: Callable[..., Response], fields: FieldSpec | None = None, **kwargs: Any
) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        try:
            body: dict[str, Any] = {}
            if fields is not None:
                body = await read_json(request, _BODY_LIMIT)
                check_fields(body, fields)
            return await run_in_threadpool(fn, ctx, request, body, **kwargs)
        except ApiError as exc:
            return ironic_error(exc)
        except Exception as exc:  # a bug: logged once, answered in Ironic's shape without a traceback
            return ironic_error(internal_error(LOG, request.method, request.url.path, exc))

    return route


def ironic_app(ctx: IronicContext) -> Starlette:
    """The Bare Metal API's routes over ``ctx`` (wrap in :class:`VersionHeaders` for negotiation)."""
    n = "/v1/nodes/{node}"

    def r(
        path: str,
        fn: Callable[..., Response],
        methods: list[str],
        fields: FieldSpec | None = None,
        **kwargs: Any,
    ) -> Route:
        return Route(path, _endpoint(ctx, fn, fields, **kwargs), methods=methods)

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/v1", v1, methods=["GET"]),
        Route("/v1/", v1, methods=["GET"]),
        r("/v1/nodes", list_nodes, ["GET"]),
        r("/v1/nodes/detail", list_nodes, ["GET"], detail=True),
        r(n, show_node, ["GET"]),
        r(n + "/states", node_states, ["GET"]),
        r(n + "/states/power", set_power, ["PUT"], POWER_FIELDS),
        r(n + "/states/provision", set_provision, ["PUT"], PROVISION_FIELDS),
        r(n + "/maintenance", set_maintenance, ["PUT"], MAINTENANCE_FIELDS),
        r(n + "/maintenance", set_maintenance, ["DELETE"]),
        r(n + "/ports", list_ports, ["GET"]),
        r(n + "/ports/detail", list_ports, ["GET"], detail=True),
        r("/v1/ports", list_ports, ["GET"]),
        r("/v1/ports/detail", list_ports, ["GET"], detail=True),
        r("/v1/ports/{port}", show_port, ["GET"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return ironic_error(
            ApiError(404, f"{request.method} {request.url.path}: no such Bare Metal API route")
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return ironic_error(ApiError(405, f"{request.method} is not allowed on {request.url.path}"))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
