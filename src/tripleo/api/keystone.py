"""Identity v3, as much as clients need to authenticate: version documents and password/token auth that
issues tokens for the undercloud's one admin user, with a catalog naming the undercloud's services.

The admin password lives in a 0600 file under ``$TRIPLEO_HOME`` (made on first use); tokens live in this
process only. Neither is ever logged or echoed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tripleo.api.http import ApiError, JSONResponse, read_json
from tripleo.errors import InputError
from tripleo.storage import tripleo_home, write_private_text

__all__ = [
    "ADMIN",
    "Endpoint",
    "TokenStore",
    "admin_password",
    "keystone_app",
    "keystone_error",
    "password_file",
]

ADMIN = "admin"  # the user, its project (the project id heat's /v1/{project} names) and its role
DOMAIN = {"id": "default", "name": "Default"}
USER_ID = uuid.uuid5(uuid.NAMESPACE_URL, "tripleo-undercloud-admin").hex
REGION = "regionOne"
_BODY_LIMIT = 64 * 1024


def password_file(home: Path | None = None) -> Path:
    return (home or tripleo_home()) / "undercloud-admin-password"


def admin_password(home: Path | None = None) -> str:
    """The admin password, generated into a 0600 file on first use.

    :raises InputError: the file is there but empty (an empty password would let anyone in).
    """
    path = password_file(home)
    if path.exists():
        path.chmod(0o600)
        value = path.read_text().strip()
        if not value:
            raise InputError(f"{path} is empty: remove it and a new password is made")
        return value
    value = secrets.token_urlsafe(24)
    write_private_text(path, value + "\n")
    return value


@dataclass(frozen=True)
class Endpoint:
    """One catalog entry: service type, name and URL."""

    type: str
    name: str
    url: str


@dataclass
class TokenStore:
    """Tokens issued by this process, each valid for ``lifetime`` seconds."""

    password: str
    catalog: list[Endpoint]
    lifetime: float = 3600.0
    _tokens: dict[str, tuple[dt.datetime, dt.datetime, list[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, methods: list[str], expires: dt.datetime | None = None) -> tuple[str, dict[str, Any]]:
        """A new token and its body; ``expires`` (a renewed token's original expiry) caps its lifetime."""
        token = secrets.token_urlsafe(32)
        issued = dt.datetime.now(dt.UTC)
        fresh = issued + dt.timedelta(seconds=self.lifetime)
        expires = fresh if expires is None else min(expires, fresh)
        with self._lock:
            for old in [t for t, entry in self._tokens.items() if entry[1] <= issued]:
                del self._tokens[old]  # every client run takes a token: forget the expired ones
            self._tokens[token] = (issued, expires, methods)
        return token, self._body(issued, expires, methods)

    def valid(self, token: str | None) -> bool:
        return self._entry(token) is not None

    def expiry(self, token: str | None) -> dt.datetime | None:
        """When a valid token expires (None: not a valid token)."""
        entry = self._entry(token)
        return None if entry is None else entry[1]

    def describe(self, token: str | None) -> dict[str, Any] | None:
        entry = self._entry(token)
        return None if entry is None else self._body(*entry)

    def revoke(self, token: str | None) -> bool:
        with self._lock:
            return self._tokens.pop(token or "", None) is not None

    def check_password(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.password.encode())

    def _entry(self, token: str | None) -> tuple[dt.datetime, dt.datetime, list[str]] | None:
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
            if entry is not None and entry[1] <= dt.datetime.now(dt.UTC):
                del self._tokens[token]
                return None
            return entry

    def _body(self, issued: dt.datetime, expires: dt.datetime, methods: list[str]) -> dict[str, Any]:
        project = {"id": ADMIN, "name": ADMIN, "domain": DOMAIN}
        return {
            "token": {
                "methods": methods,
                "user": {"id": USER_ID, "name": ADMIN, "domain": DOMAIN, "password_expires_at": None},
                "audit_ids": [uuid.uuid5(uuid.NAMESPACE_OID, issued.isoformat()).hex[:22]],
                "issued_at": _stamp(issued),
                "expires_at": _stamp(expires),
                "project": project,
                "is_domain": False,
                "roles": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, "role-admin").hex, "name": ADMIN}],
                "catalog": [_catalog_entry(e) for e in self.catalog],
            }
        }


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _catalog_entry(endpoint: Endpoint) -> dict[str, Any]:
    eid = uuid.uuid5(uuid.NAMESPACE_URL, endpoint.url).hex
    return {
        "id": uuid.uuid5(uuid.NAMESPACE_URL, endpoint.type).hex,
        "type": endpoint.type,
        "name": endpoint.name,
        "endpoints": [
            {
                "id": f"{eid[:30]}{i}",
                "interface": iface,
                "region": REGION,
                "region_id": REGION,
                "url": endpoint.url,
            }
            for i, iface in enumerate(("public", "internal", "admin"))
        ],
    }


def keystone_error(exc: ApiError) -> JSONResponse:
    """Keystone's error body, ``{"error": {"code", "title", "message"}}``; a 401 says how to authenticate."""
    body = {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}
    response = JSONResponse(body, status_code=exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Keystone uri="/v3"'
    return response


def _error(status: int, message: str) -> JSONResponse:
    return keystone_error(ApiError(status, message))


def _unauthorized(message: str = "The request you have made requires authentication.") -> JSONResponse:
    return _error(401, message)


def _version(base: str) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base}/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _root(request: Request) -> Response:
    return JSONResponse({"versions": {"values": [_version(_base(request))]}}, status_code=300)


async def _v3(request: Request) -> Response:
    return JSONResponse({"version": _version(_base(request))})


class Refused(Exception):
    """Credentials or a scope that do not let the caller in: a 401 with this message."""


def _invalid(where: str, value: Any, kind: str) -> ApiError:
    shown = json.dumps(value)[:80] if not isinstance(value, dict | list) else type(value).__name__
    return ApiError(400, f"Invalid input for field '{where}': {shown} is not of type '{kind}'")


def _obj(parent: dict[str, Any], key: str, where: str, required: bool = False) -> dict[str, Any] | None:
    """``parent[key]`` as an object (None when absent and not ``required``).

    :raises ApiError: 400 in Keystone's words for a missing or wrongly typed value.
    """
    value = parent.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"'{key}' is a required property of '{where or 'body'}'")
        return None
    if not isinstance(value, dict):
        raise _invalid(f"{where}/{key}".lstrip("/"), value, "object")
    return value


def _str(parent: dict[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{where}/{key}", value, "string")
    return value


def _in_default_domain(owner: dict[str, Any], where: str) -> bool:
    """Whether an entity named by ``name`` is looked up in the default domain (the only one here).

    :raises ApiError: 400 for a name without a domain, or a domain that is not an object of strings.
    """
    domain = _obj(owner, "domain", where)
    if domain is None:
        raise ApiError(400, f"Expecting to find domain in {where.rsplit('/', 1)[-1]}")
    ident, name = _str(domain, "id", f"{where}/domain"), _str(domain, "name", f"{where}/domain")
    return ident == DOMAIN["id"] if ident is not None else name == DOMAIN["name"]


def _check_password(store: TokenStore, identity: dict[str, Any]) -> None:
    """:raises Refused: not the admin's password.
    :raises ApiError: 400 for a password method body that is not Keystone's shape."""
    where = "identity/password/user"
    password = _obj(identity, "password", "identity", required=True)
    assert password is not None
    user = _obj(password, "user", "identity/password", required=True)
    assert user is not None
    ident, name, given = _str(user, "id", where), _str(user, "name", where), _str(user, "password", where)
    if ident is None and name is None:
        raise ApiError(400, "Expecting to find id or name in user")
    if given is None:
        raise ApiError(400, f"'password' is a required property of '{where}'")
    known = ident == USER_ID if ident is not None else name == ADMIN and _in_default_domain(user, where)
    if not known or not store.check_password(given):
        raise Refused("The request you have made requires authentication.")


def _check_token(store: TokenStore, identity: dict[str, Any]) -> dt.datetime:
    """The expiry of the token the token method renews (a renewed token keeps it, as in Keystone).

    :raises Refused: not a valid token.
    :raises ApiError: 400 for a token method body that is not Keystone's shape."""
    token = _obj(identity, "token", "identity", required=True)
    assert token is not None
    expires = store.expiry(_str(token, "id", "identity/token"))
    if expires is None:
        raise Refused("The request you have made requires authentication.")
    return expires


def _check_scope(auth: dict[str, Any]) -> None:
    """The scope asked for is the admin project (or none): the only one the admin has a role on.

    :raises Refused: a project, domain, system or trust scope the admin has no role on.
    :raises ApiError: 400 for a scope that is not Keystone's shape."""
    scope = auth.get("scope")
    if scope is None or scope == "unscoped":
        return
    if not isinstance(scope, dict):
        raise _invalid("scope", scope, "object")
    project = _obj(scope, "project", "scope")
    if project is None:
        kinds = ", ".join(sorted(str(k) for k in scope)) or "nothing"
        raise Refused(f"User {ADMIN} has no role on the scope asked for ({kinds}); only project {ADMIN}")
    ident, name = _str(project, "id", "scope/project"), _str(project, "name", "scope/project")
    if ident is None and name is None:
        raise ApiError(400, "Expecting to find id or name in project")
    ours = (
        ident == ADMIN
        if ident is not None
        else name == ADMIN and _in_default_domain(project, "scope/project")
    )
    if not ours:
        raise Refused(f"User {ADMIN} has no access to project {ident or name}")


def _authenticate(store: TokenStore, body: dict[str, Any]) -> tuple[list[str], dt.datetime | None]:
    """The methods used when ``body`` proves the caller is the admin, and the expiry a renewed token
    keeps (None: a fresh lifetime).

    :raises Refused: wrong credentials, or a scope the admin has no role on.
    :raises ApiError: 400 for a body that is not a v3 auth request.
    """
    auth = _obj(body, "auth", "", required=True)
    assert auth is not None
    identity = _obj(auth, "identity", "auth", required=True)
    assert identity is not None
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise ApiError(400, "auth.identity.methods: expected a list of methods (password or token)")
    expires = None
    for method in dict.fromkeys(methods):
        if method == "password":
            _check_password(store, identity)
        elif method == "token":
            expires = _check_token(store, identity)
        else:
            raise Refused(f"Attempted to authenticate with an unsupported method ({json.dumps(method)[:40]})")
    _check_scope(auth)
    return methods, expires


def keystone_app(store: TokenStore) -> Starlette:
    """Identity v3: ``GET /``, ``GET /v3``, ``POST|GET|HEAD|DELETE /v3/auth/tokens``."""

    async def issue(request: Request) -> Response:
        try:
            methods, expires = _authenticate(store, await read_json(request, _BODY_LIMIT))
        except ApiError as exc:
            return keystone_error(exc)
        except Refused as exc:
            return _unauthorized(str(exc))
        token, body = store.issue(methods, expires)
        return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token})

    async def check(request: Request) -> Response:
        if not store.valid(request.headers.get("x-auth-token")):
            return _unauthorized()
        subject = request.headers.get("x-subject-token")
        body = store.describe(subject)
        if body is None:
            return _error(404, "The token could not be found.")
        if request.method == "HEAD":
            return Response(status_code=200, headers={"X-Subject-Token": subject or ""})
        return JSONResponse(body, headers={"X-Subject-Token": subject or ""})

    async def revoke(request: Request) -> Response:
        if not store.valid(request.headers.get("x-auth-token")):
            return _unauthorized()
        if not store.revoke(request.headers.get("x-subject-token")):
            return _error(404, "The token could not be found.")
        return Response(status_code=204)

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"{request.method} {request.url.path} is not an Identity v3 route here")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    routes = [
        Route("/", _root, methods=["GET"]),
        Route("/v3", _v3, methods=["GET"]),
        Route("/v3/", _v3, methods=["GET"]),
        Route("/v3/auth/tokens", issue, methods=["POST"]),
        Route("/v3/auth/tokens", check, methods=["GET", "HEAD"]),
        Route("/v3/auth/tokens", revoke, methods=["DELETE"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
