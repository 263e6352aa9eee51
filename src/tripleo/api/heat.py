"""Heat's Orchestration API v1 (``/v1/{project}``) over :class:`tripleo.resources.service.StackService`,
the same public API ``tripleo stack ...`` calls. Routes are those python-heatclient and openstackclient
use; shapes and status codes follow Heat's ``heat/api/openstack/v1``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tripleo.api import heat_shapes as shapes
from tripleo.api.heat_files import Materialized, materialize, request_dirs, stack_root
from tripleo.api.heat_jobs import StackJobs, refusal
from tripleo.api.heat_request import check_request
from tripleo.api.http import ApiError, FieldSpec, JSONResponse, check_fields, internal_error, read_json
from tripleo.boundedyaml import heat_load
from tripleo.engine.template.confine import confined, confining
from tripleo.errors import TripleoError
from tripleo.resources.secrets import mask
from tripleo.resources.service import Options, StackRecord, StackService

__all__ = ["HeatContext", "heat_app", "heat_error"]

LOG = logging.getLogger(__name__)

PROJECT = "admin"
_SENT = re.compile(r"/api/stacks/[^/]+/[0-9a-f]{32}/files/(.*)$")  # a file a client sent (heat_files)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")
_EXPLANATION = {
    400: "The server could not comply with the request since it is either malformed or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}
_DOC: tuple[tuple[type, ...], str] = ((dict, str), "an object or a YAML/JSON string")
_OBJ: tuple[tuple[type, ...], str] = ((dict,), "an object")
_COMMON: dict[str, tuple[tuple[type, ...], str]] = {
    "template": _DOC,
    "template_url": ((str,), "a string"),
    "files": _OBJ,
    "environment": _DOC,
    "environment_files": ((list,), "an array of file names"),
    "parameters": _OBJ,
    "files_container": ((str,), "a string"),
}
CREATE_FIELDS: FieldSpec = {
    **_COMMON,
    "stack_name": ((str,), "a string"),
    "disable_rollback": ((bool,), "a boolean"),
    "timeout_mins": ((int,), "an integer"),
    "tags": ((str, list), "a string or an array"),
}
UPDATE_FIELDS: FieldSpec = {
    **CREATE_FIELDS,
    "existing": ((bool,), "a boolean"),
    "clear_parameters": ((list,), "an array of parameter names"),
    "converge": ((bool,), "a boolean"),
}
VALIDATE_FIELDS: FieldSpec = {**_COMMON, "show_nested": ((bool,), "a boolean")}


@dataclass
class HeatContext:
    """What the Heat routes work with: the stack service, its jobs, where requests' files go, the
    backend new stacks use, and the request body limit."""

    service: StackService
    jobs: StackJobs
    home: Path
    backend: str = "real"
    body_limit: int = 32 * 1024 * 1024
    workers: int = 8
    _secrets: dict[str, set[str]] = field(default_factory=dict)

    def secrets(self, row: StackRecord) -> set[str]:
        """The stack service's secrets of a stack (what output must mask), remembered per stack inputs:
        finding them parses every file of the stack."""
        key = json.dumps([row.id, row.files_id, row.parameters, row.generated], sort_keys=True, default=str)
        found = self._secrets.get(key)
        if found is None:
            found = self.service.secrets(row.name)
            if len(self._secrets) > 256:
                self._secrets.clear()
            self._secrets[key] = found
        return found


def heat_error(exc: ApiError) -> JSONResponse:
    """Heat's error body: code, title, explanation and the error's type and message."""
    body = {
        "code": exc.status,
        "title": exc.title,
        "explanation": _EXPLANATION.get(exc.status, exc.title),
        "error": {"type": exc.kind, "message": exc.message, "traceback": None},
    }
    return JSONResponse(body, status_code=exc.status)


def _endpoint(
    ctx: HeatContext,
    fn: Callable[[HeatContext, Request, dict[str, Any]], Response],
    fields: FieldSpec | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """An async route: check the project, read and check the JSON body (for ``fields``), run ``fn`` in a
    thread, and render refusals as Heat errors."""

    async def route(request: Request) -> Response:
        try:
            project = request.path_params.get("project", PROJECT)
            if project != PROJECT:
                raise ApiError(
                    403, f'project "{project}": this undercloud has one project, "{PROJECT}"', "Forbidden"
                )
            body: dict[str, Any] = {}
            if fields is not None:
                body = await read_json(request, ctx.body_limit)
                check_fields(body, fields)
                check_request(body)  # before anything is written
            return await run_in_threadpool(fn, ctx, request, body)
        except ApiError as exc:
            return heat_error(exc)
        except TripleoError as exc:
            return heat_error(refusal(exc))
        except Exception as exc:  # a bug: logged once, answered in Heat's shape without a traceback
            return heat_error(internal_error(LOG, request.method, request.url.path, exc))

    return route


# -- helpers ---------------------------------------------------------------------------------------------


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/v1/{PROJECT}"


def _find(ctx: HeatContext, ident: str) -> StackRecord:
    """A stack by name or id.

    :raises ApiError: 404 StackNotFound.
    """
    found = ctx.service.find(ident)
    if found is None:
        raise ApiError(404, f"The Stack ({ident}) could not be found.", "StackNotFound")
    return found


def _stack(ctx: HeatContext, request: Request) -> StackRecord:
    """The stack ``/stacks/{name}/{id}`` names (both must match)."""
    name, sid = request.path_params["name"], request.path_params["sid"]
    row = _find(ctx, name)
    if row.id != sid:
        raise ApiError(404, f"The Stack ({name}/{sid}) could not be found.", "StackNotFound")
    return row


def _int_arg(request: Request, key: str, default: int | None) -> int | None:
    raw = request.query_params.get(key)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        shown = json.dumps(raw[:40])
        raise ApiError(400, f"query parameter {key}={shown}: expected an integer 0-999999999")
    return int(raw)


def _options(ctx: HeatContext, backend: str, body: dict[str, Any]) -> Options:
    timeout = body.get("timeout_mins")
    if timeout is not None and timeout <= 0:
        raise ApiError(400, f'field "timeout_mins" must be positive, got {timeout}')
    return Options(backend=backend, workers=ctx.workers, stack_timeout=float(timeout or 60) * 60)


def _unsupported(body: dict[str, Any]) -> None:
    if body.get("template_url"):
        raise ApiError(400, "template_url is not supported: send the template itself (-t FILE)")
    if body.get("files_container"):
        raise ApiError(400, "files_container is not supported: send the files with the request")


def _materialize(ctx: HeatContext, name: str, body: dict[str, Any]) -> Materialized:
    env = body.get("environment") or {}
    if isinstance(env, str):
        try:
            env = heat_load(env) if env.strip() else {}
        except yaml.YAMLError as exc:
            raise ApiError(400, f'field "environment": not YAML: {" ".join(str(exc).split())}') from None
        if not isinstance(env, dict):
            raise ApiError(400, 'field "environment": expected an environment (a mapping)')
    params = body.get("parameters") or {}
    if not all(isinstance(k, str) for k in params):
        raise ApiError(400, 'field "parameters": expected parameter names as keys')
    return materialize(
        ctx.home,
        name,
        body.get("template"),
        body.get("files") or {},
        env,
        list(body.get("environment_files") or []),
    )


@functools.lru_cache(maxsize=64)
def _template_doc(text: str) -> dict[str, Any]:
    try:
        doc = heat_load(text)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _stored_template(ctx: HeatContext, row: StackRecord) -> dict[str, Any]:
    """The stack's top template as stored with the stack (empty when it is not there)."""
    text = ctx.service.files(row).get(row.template)
    return _template_doc(text) if isinstance(text, str) else {}


def _descriptions(doc: dict[str, Any]) -> tuple[str, dict[str, str]]:
    outputs = doc.get("outputs") if isinstance(doc.get("outputs"), dict) else {}
    assert isinstance(outputs, dict)
    descs = {
        str(k): str(v.get("description"))
        for k, v in outputs.items()
        if isinstance(v, dict) and v.get("description")
    }
    return str(doc.get("description") or ""), descs


# -- stacks ----------------------------------------------------------------------------------------------


def list_stacks(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """Newest first, as Heat lists them (``sort_dir=asc`` for oldest first); ``stack_name`` filters,
    ``marker`` (a stack id) and ``limit`` page."""
    base = _base(request)
    rows = ctx.service.summaries()
    order = request.query_params.get("sort_dir", "desc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, f'query parameter sort_dir="{order}": expected asc or desc')
    if order == "desc":
        rows.reverse()
    wanted = request.query_params.getlist("stack_name")
    if wanted:
        rows = [r for r in rows if r.name in wanted]
    marker = request.query_params.get("marker")
    if marker:
        at = next((i for i, r in enumerate(rows) if r.id == marker), None)
        if at is None:
            raise ApiError(404, f"The Stack ({marker}) could not be found.", "StackNotFound")
        rows = rows[at + 1 :]
    limit = _int_arg(request, "limit", None)
    if limit is not None:
        rows = rows[:limit]
    return JSONResponse({"stacks": [shapes.stack_summary(r, base) for r in rows]})


def create_stack(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    name = body.get("stack_name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ApiError(
            400,
            'field "stack_name": expected a name starting with a letter, then letters, '
            'digits, "_", "-" or "." (at most 255)',
        )
    _unsupported(body)
    if body.get("template") is None:
        raise ApiError(400, 'field "template" is required')
    existing = next((r for r in ctx.service.summaries() if r.name == name), None)
    # as the stack service: a create that failed or was cut short (its process died) resumes; the claim
    # below refuses one that runs or waits for a worker (409 StackExists, as any taken name)
    if existing is not None and (existing.action != "CREATE" or existing.status == "COMPLETE"):
        raise ApiError(409, f"The Stack ({name}) already exists.", "StackExists")
    opts = _options(ctx, ctx.backend, body)
    opts.stack_events = True
    mat = _materialize(ctx, name, body)
    params = dict(body.get("parameters") or {})
    assert mat.template is not None

    def claim() -> Any:
        return ctx.service.claim_create(name, str(mat.template), mat.environments, params, opts)

    try:  # validated and claimed here, run by a worker: the answer does not wait for other operations
        claimed = ctx.jobs.start(confining([mat.root], claim), mat.shown, mat.root)
    except ApiError as exc:
        if exc.kind == "StackExists":  # claimed by another request meanwhile: Heat's answer
            raise ApiError(409, f"The Stack ({name}) already exists.", "StackExists") from None
        raise
    assert claimed is not None
    href = shapes.Links(_base(request), name, claimed.stack_id).stack()
    answer = {"stack": {"id": claimed.stack_id, "links": [{"href": href, "rel": "self"}]}}
    return JSONResponse(answer, status_code=201)


def show_stack(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    secrets = ctx.secrets(row)
    description, descs = _descriptions(_stored_template(ctx, row))
    resolve = request.query_params.get("resolve_outputs", "true").lower() not in ("false", "0", "no")
    outputs = shapes.output_entries(mask(row.outputs or {}, secrets), descs) if resolve else None
    params = mask(row.parameters or {}, secrets)
    return JSONResponse({"stack": shapes.stack_body(row, _base(request), params, outputs, description)})


def update_stack(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """PUT replaces the template, environments and parameters; PATCH (``--existing``) keeps what the
    request leaves out: the template, the environments (new ones are merged after) and the parameters."""
    row = _stack(ctx, request)
    _unsupported(body)
    patch = request.method == "PATCH" or bool(body.get("existing"))
    if not patch and body.get("template") is None:
        raise ApiError(400, 'field "template" is required (or PATCH to keep the existing one)')
    mat = _materialize(ctx, row.name, body)
    template = mat.template or row.template
    environments = [*row.environments, *mat.environments] if patch else mat.environments
    params: dict[str, Any] = dict(row.parameters or {}) if patch else {}
    params.update(body.get("parameters") or {})
    for key in body.get("clear_parameters") or []:
        params.pop(str(key), None)
    opts = _options(ctx, row.backend, body)
    opts.stack_events = True
    name = row.name

    def claim() -> Any:
        return ctx.service.claim_update(name, template, environments, params, opts)

    sent = request_dirs(ctx.home, name, [str(mat.root), template, *environments])
    ctx.jobs.start(confining(sent, claim), mat.shown, mat.root)
    return Response(status_code=202)


def delete_stack(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    name, opts = row.name, _options(ctx, row.backend, {})
    opts.stack_events = True
    root = stack_root(ctx.home, name)
    sent = list(root.iterdir()) if root.is_dir() else []  # the files of the requests that built it
    ctx.jobs.start(lambda: ctx.service.claim_delete(name, opts), removed=sent)
    return Response(status_code=204)


def lookup(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """``/stacks/{name}[/rest]``: 302 to ``/stacks/{name}/{id}[/rest]``, keeping the query string."""
    row = _find(ctx, request.path_params["name"])
    rest = request.url.path.split(f"/stacks/{request.path_params['name']}", 1)[1].strip("/")
    url = f"{_base(request)}/stacks/{row.name}/{row.id}" + (f"/{rest}" if rest else "")
    if request.url.query:
        url += f"?{request.url.query}"
    return RedirectResponse(url, status_code=302)


def template_show(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    return JSONResponse(_stored_template(ctx, row))


def environment_show(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """The stack's environments merged in order (top-level keys; hidden values masked)."""
    row = _stack(ctx, request)
    files = ctx.service.files(row)
    merged: dict[str, Any] = {"parameters": {}, "parameter_defaults": {}, "resource_registry": {}}
    for path in row.environments:
        doc = _template_doc(files.get(path, ""))
        for key, value in merged.items():
            part = doc.get(key)
            if isinstance(part, dict):
                value.update(part)
    merged["parameters"].update(row.parameters or {})
    merged = _as_sent({**merged, "event_sinks": [], "encrypted_param_names": []})
    return JSONResponse(mask(merged, ctx.secrets(row)))


def _as_sent(value: Any) -> Any:
    """Paths of files a client sent, as the ``file://`` URLs it sent them under."""
    if isinstance(value, str):
        sent = _SENT.search(value)
        return f"file:///{sent.group(1)}" if sent else value
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    return value


def files_show(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """The files the stack was built from, other than its template and environments, by ``file://`` URL."""
    row = _stack(ctx, request)
    skip = {row.template, *row.environments}
    out = {}
    for path, text in ctx.service.files(row).items():
        if path in skip:
            continue
        url = _as_sent(path)
        out[url if url != path else f"file://{path}"] = text
    return JSONResponse(mask(out, ctx.secrets(row)))


# -- resources, events, outputs --------------------------------------------------------------------------


def list_resources(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    depth = _int_arg(request, "nested_depth", 0) or 0
    rows = ctx.service.resources(row.name, depth + 1)
    parents = {r.stack_path for r in rows}
    links = shapes.Links(_base(request), row.name, row.id, shapes.stack_ids(rows))
    rows = [r for r in rows if r.path.count("/") <= depth]
    needed_by = shapes.required_by(rows)
    types = request.query_params.getlist("type")
    out = [
        shapes.resource_body(r, links, parents, needed_by.get(r.path, []))
        for r in rows
        if not types or r.type in types
    ]
    return JSONResponse({"resources": out})


def show_resource(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    rname = request.path_params["resource"]
    rows = ctx.service.resources(row.name, 0)
    found = next((r for r in rows if r.path == rname), None)
    if found is None:
        raise ApiError(
            404, f"The Resource ({rname}) could not be found in Stack {row.name}.", "EntityNotFound"
        )
    below = ctx.service.resources(row.name, 1)
    parents = {r.stack_path for r in below}
    links = shapes.Links(_base(request), row.name, row.id, shapes.stack_ids(below))
    out = shapes.resource_body(found, links, parents, shapes.required_by(rows).get(found.path, []))
    out["attributes"] = mask(found.attributes or {}, ctx.secrets(row))
    out["description"] = ""
    return JSONResponse({"resource": out})


def list_events(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    depth = _int_arg(request, "nested_depth", 0) or 0
    limit = _int_arg(request, "limit", None)
    marker = request.query_params.get("marker")
    order = request.query_params.get("sort_dir", "asc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, f'query parameter sort_dir="{order}": expected asc or desc')
    rname = request.path_params.get("resource")
    events = [e for e in ctx.service.events(row.name) if e.path.count("/") <= depth]
    if rname is not None:
        events = [e for e in events if e.path == rname]
    statuses = request.query_params.getlist("resource_status")
    if statuses:
        events = [e for e in events if e.status in statuses or f"{e.action}_{e.status}" in statuses]
    if order == "desc":
        events.reverse()
    if marker:
        at = next((i for i, e in enumerate(events) if str(e.id) == marker), None)
        if at is None:
            raise ApiError(404, f"The Event ({marker}) could not be found.", "EntityNotFound")
        events = events[at + 1 :]
    if limit is not None:
        events = events[:limit]
    ids = shapes.stack_ids(ctx.service.resources(row.name, depth)) if depth else {}
    links = shapes.Links(_base(request), row.name, row.id, ids)
    return JSONResponse({"events": [shapes.event_body(e, links, depth > 0) for e in events]})


def list_outputs(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    _, descs = _descriptions(_stored_template(ctx, row))
    entries = shapes.output_entries(row.outputs or {}, descs)
    return JSONResponse({"outputs": [{k: e[k] for k in ("output_key", "description")} for e in entries]})


def show_output(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    row = _stack(ctx, request)
    key = request.path_params["key"]
    outputs = mask(row.outputs or {}, ctx.secrets(row))
    if key not in outputs:
        raise ApiError(
            404, f"Specified output key {key} not found (have: {', '.join(sorted(outputs))}).", "NotFound"
        )
    _, descs = _descriptions(_stored_template(ctx, row))
    entry = next(e for e in shapes.output_entries({key: outputs[key]}, descs))
    return JSONResponse({"output": entry})


# -- validate, versions ------------------------------------------------------------------------------------


def validate(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    """Parse, merge and expand the whole tree as ``tripleo stack validate`` does; nothing is stored."""
    from tripleo import engine

    _unsupported(body)
    if body.get("template") is None:
        raise ApiError(400, 'field "template" is required')
    mat = _materialize(ctx, f"validate-{uuid.uuid4().hex}", body)
    try:
        with confined(mat.root):
            top = engine.load_tree(str(mat.template), mat.environments, dict(body.get("parameters") or {}))
    except TripleoError as exc:
        raise ApiError(400, mat.shown(str(exc)), "StackValidationFailed") from None
    finally:
        shutil.rmtree(mat.root.parent, ignore_errors=True)
    params = {}
    for name, schema in top.template.parameters.items():
        entry: dict[str, Any] = {
            "Type": schema.type.capitalize() if schema.type != "json" else "Json",
            "Label": schema.label or name,
            "Description": schema.description or "",
            "NoEcho": "true" if schema.hidden else "false",
        }
        if schema.has_default:
            entry["Default"] = schema.default
        params[name] = entry
    out = {"Description": top.template.description or "No description", "Parameters": params}
    if top.template.parameter_groups:
        out["ParameterGroups"] = top.template.parameter_groups
    return JSONResponse(json.loads(json.dumps(out, default=str)))


async def versions(request: Request) -> Response:
    href = f"{str(request.base_url).rstrip('/')}/v1/"
    body = {"versions": [{"id": "v1.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}
    return JSONResponse(body, status_code=300)


def build_info(ctx: HeatContext, request: Request, body: dict[str, Any]) -> Response:
    return JSONResponse({"api": {"revision": "tripleo"}, "engine": {"revision": "tripleo"}})


def heat_app(ctx: HeatContext) -> Starlette:
    """The Orchestration API's routes over ``ctx``."""
    p = "/v1/{project}"
    s = p + "/stacks/{name}/{sid}"

    def r(path: str, fn: Any, methods: list[str], fields: FieldSpec | None = None) -> Route:
        return Route(path, _endpoint(ctx, fn, fields), methods=methods)

    lookups = [
        r(p + "/stacks/{name}/" + sub + "{tail:path}", lookup, ["GET"])
        for sub in ("resources", "events", "outputs", "template", "environment", "files")
    ]
    routes = [
        *lookups,
        Route("/", versions, methods=["GET"]),
        r(p + "/build_info", build_info, ["GET"]),
        r(p + "/validate", validate, ["POST"], VALIDATE_FIELDS),
        r(p + "/stacks", list_stacks, ["GET"]),
        r(p + "/stacks", create_stack, ["POST"], CREATE_FIELDS),
        r(s, show_stack, ["GET"]),
        r(s, update_stack, ["PUT", "PATCH"], UPDATE_FIELDS),
        r(s, delete_stack, ["DELETE"]),
        r(s + "/template", template_show, ["GET"]),
        r(s + "/environment", environment_show, ["GET"]),
        r(s + "/files", files_show, ["GET"]),
        r(s + "/resources", list_resources, ["GET"]),
        r(s + "/resources/{resource}", show_resource, ["GET"]),
        r(s + "/resources/{resource}/events", list_events, ["GET"]),
        r(s + "/events", list_events, ["GET"]),
        r(s + "/outputs", list_outputs, ["GET"]),
        r(s + "/outputs/{key}", show_output, ["GET"]),
        r(p + "/stacks/{name}", lookup, ["GET", "PUT", "PATCH", "DELETE"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return heat_error(ApiError(404, f"{request.method} {request.url.path}: no such Heat API route"))

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return heat_error(ApiError(405, f"{request.method} is not allowed on {request.url.path}"))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
