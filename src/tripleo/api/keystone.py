"""Identity v3, as much as clients need to authenticate: version documents and password/token auth that
issues tokens for the undercloud's one admin user, with a catalog naming the undercloud's services.

The admin password lives in a 0600 file under ``$TRIPLEO_HOME`` (made on first use); tokens live in this
process only. Neither is ever logged or echoed.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tripleo.api.http import ApiError, read_json
from tripleo.errors import InputError
from tripleo.storage import tripleo_home, write_private_text

__all__ = ["ADMIN", "Endpoint", "TokenStore", "admin_password", "keystone_app", "password_file"]

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

    def issue(self, methods: list[str]) -> tuple[str, dict[str, Any]]:
        token = secrets.token_urlsafe(32)
        issued = dt.datetime.now(dt.UTC)
        expires = issued + dt.timedelta(seconds=self.lifetime)
        with self._lock:
            for old in [t for t, entry in self._tokens.items() if entry[1] <= issued]:
                del self._tokens[old]  # every client run takes a token: forget the expired ones
            self._tokens[token] = (issued, expires, methods)
        return token, self._body(issued, expires, methods)

    def valid(self, token: str | None) -> bool:
        return self._entry(token) is not None

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


def _error(status: int, message: str) -> JSONResponse:
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Request Entity Too Large"}
    title = titles.get(status, "Error")
    return JSONResponse({"error": {"code": status, "title": title, "message": message}}, status_code=status)


def _unauthorized() -> JSONResponse:
    response = _error(401, "The request you have made requires authentication.")
    response.headers["WWW-Authenticate"] = 'Keystone uri="/v3"'
    return response


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


def _user_password(auth: dict[str, Any]) -> str | None:
    """The password given for the admin user (by name in the default domain, or by id), else None."""
    password = (auth.get("identity") or {}).get("password") or {}
    user = password.get("user") if isinstance(password, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("password"), str):
        raise ApiError(400, "auth.identity.password.user.password: expected a string")
    if user.get("id") not in (None, USER_ID) or user.get("name") not in (None, ADMIN):
        return None
    domain = user.get("domain") or {}
    if user.get("id") is None and not (domain.get("id") == "default" or domain.get("name") == "Default"):
        return None
    return str(user["password"])


def _authenticate(store: TokenStore, body: dict[str, Any]) -> list[str] | None:
    """The methods used when ``body`` proves the caller is the admin, else None.

    :raises ApiError: 400 for a body that is not a v3 auth request.
    """
    auth = body.get("auth")
    identity = auth.get("identity") if isinstance(auth, dict) else None
    methods = identity.get("methods") if isinstance(identity, dict) else None
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise ApiError(400, "auth.identity.methods: expected a list of methods (password or token)")
    assert isinstance(auth, dict) and isinstance(identity, dict)
    for method in methods:
        if method == "password":
            given = _user_password(auth)
            if given is None or not store.check_password(given):
                return None
        elif method == "token":
            token = identity.get("token")
            if not isinstance(token, dict) or not store.valid(token.get("id")):
                return None
        else:
            raise ApiError(400, f"auth method {method!r} is not supported (password, token)")
    return methods


def keystone_app(store: TokenStore) -> Starlette:
    """Identity v3: ``GET /``, ``GET /v3``, ``POST|GET|HEAD|DELETE /v3/auth/tokens``."""

    async def issue(request: Request) -> Response:
        try:
            methods = _authenticate(store, await read_json(request, _BODY_LIMIT))
        except ApiError as exc:
            return _error(exc.status, exc.message)
        if methods is None:
            return _unauthorized()
        token, body = store.issue(methods)
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
