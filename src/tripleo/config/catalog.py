"""The overcloud's Keystone catalog, created from the deploying host through the public VIP.

Each service's ``keystone_resources`` (role_data) says what it needs: a service entry of a type, its
public / internal / admin endpoints in a region, service users with roles in the ``service`` project,
projects and roles. ``ensure_catalog`` makes the catalog match with openstacksdk, idempotently: what exists
and is right is left alone, a wrong endpoint URL is corrected, nothing is deleted. Upstream TripleO does the
same with Ansible's openstack.cloud modules (tripleo-ansible's ``tripleo_keystone_resources``); one process
with one session is far quicker than Puppet's keystone_* types calling the CLI (LAB-NOTES.md: 1.5 s vs 67 s).

Passwords never reach a log line; a user's password is set when the user is created (setting it again
would revoke the user's tokens on every re-deploy).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tripleo.errors import OperationError

__all__ = ["Admin", "CatalogReport", "connect", "ensure_catalog"]

LOG = logging.getLogger(__name__)
_DOMAIN = "default"
_SERVICE_PROJECT = "service"


@dataclass(frozen=True)
class Admin:
    """The cloud admin's credentials (from the identity service's role_data ``admin``)."""

    auth_url: str
    password: str = field(repr=False)
    region: str = "regionOne"
    username: str = "admin"
    project: str = "admin"

    def auth(self) -> dict[str, str]:
        return {
            "auth_url": self.auth_url,
            "username": self.username,
            "password": self.password,
            "project_name": self.project,
            "user_domain_id": _DOMAIN,
            "project_domain_id": _DOMAIN,
        }


@dataclass
class CatalogReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    seconds: float = 0.0


def connect(admin: Admin, timeout: float) -> Any:
    """A session once Keystone answers through the VIP (it may still be starting)."""
    import openstack
    from keystoneauth1 import exceptions as ks_exc
    from openstack import exceptions as sdk_exc

    deadline = time.monotonic() + timeout
    while True:
        conn = openstack.connection.Connection(
            auth=admin.auth(), region_name=admin.region, interface="public", identity_api_version="3"
        )
        try:
            conn.authorize()
            return conn
        except (ks_exc.Unauthorized, sdk_exc.SDKException, ks_exc.ConnectFailure, ks_exc.DiscoveryFailure,
                ks_exc.ServiceUnavailable, ks_exc.BadGateway, ks_exc.GatewayTimeout) as exc:  # fmt: skip
            # the SDK wraps keystoneauth's errors (a 503 from HAProxy while Keystone starts, after step 3)
            cause: BaseException = exc
            if isinstance(exc, sdk_exc.SDKException):
                cause = exc.__cause__ or exc.__context__ or exc
            if isinstance(cause, ks_exc.Unauthorized):
                raise OperationError(f"keystone at {admin.auth_url} refused the admin credentials") from exc
            if time.monotonic() > deadline:
                raise OperationError(f"keystone at {admin.auth_url} did not answer: {exc}") from exc
            time.sleep(1)


class _Catalog:
    """One session's view of the catalog, with the changes it made."""

    def __init__(self, conn: Any, report: CatalogReport) -> None:
        self.conn, self.identity, self.report = conn, conn.identity, report

    def project(self, name: str) -> Any:
        found = self.identity.find_project(name, domain_id=_DOMAIN)
        if found is None:
            found = self.identity.create_project(name=name, domain_id=_DOMAIN)
            self.report.created.append(f"project {name}")
        return found

    def role(self, name: str) -> Any:
        found = self.identity.find_role(name)
        if found is None:
            found = self.identity.create_role(name=name)
            self.report.created.append(f"role {name}")
        return found

    def service(self, name: str, kind: str) -> Any:
        for service in self.identity.services(type=kind):
            if service.name == name:
                return service
        self.report.created.append(f"service {name} ({kind})")
        return self.identity.create_service(name=name, type=kind, is_enabled=True)

    def endpoint(self, service: Any, interface: str, url: str, region: str) -> None:
        for endpoint in self.identity.endpoints(service_id=service.id, interface=interface):
            if endpoint.region_id == region:
                if endpoint.url != url:
                    self.identity.update_endpoint(endpoint, url=url)
                    self.report.updated.append(f"endpoint {service.name} {interface}")
                return
        self.identity.create_endpoint(service_id=service.id, interface=interface, url=url, region_id=region)
        self.report.created.append(f"endpoint {service.name} {interface}")

    def region(self, name: str) -> None:
        if self.identity.find_region(name) is None:
            self.identity.create_region(id=name)
            self.report.created.append(f"region {name}")

    def user(self, name: str, password: str, project: Any, roles: list[str]) -> None:
        user = self.identity.find_user(name, domain_id=_DOMAIN)
        if user is None:
            user = self.identity.create_user(
                name=name, password=password, domain_id=_DOMAIN, default_project_id=project.id
            )
            self.report.created.append(f"user {name}")
        for role_name in roles:
            role = self.role(role_name)
            if not self.identity.validate_user_has_project_role(project, user, role):
                self.identity.assign_project_role_to_user(project, user, role)
                self.report.created.append(f"role {role_name} for {name}")


def _ensure_one(catalog: _Catalog, name: str, spec: Mapping[str, Any], default_region: str) -> None:
    region = str(spec.get("region") or default_region)
    for project in spec.get("projects") or []:
        catalog.project(str(project))
    for role in spec.get("roles") or []:  # roles the service's policy names (e.g. an operator role)
        catalog.role(str(role))
    if spec.get("service"):
        catalog.region(region)
        service = catalog.service(name, str(spec["service"]))
        for interface, url in sorted((spec.get("endpoints") or {}).items()):
            if url:
                catalog.endpoint(service, str(interface), str(url), region)
    users = spec.get("users") or {}
    if users:
        project = catalog.project(_SERVICE_PROJECT)
        for user, data in sorted(users.items()):
            data = data or {}
            catalog.user(str(user), str(data.get("password") or ""), project, list(data.get("roles") or []))


class _Transient(Exception):
    """A request that failed because Keystone (or HAProxy in front of it) was briefly away."""


def _one_pass(admin: Admin, resources: Mapping[str, Mapping[str, Any]], timeout: float, report: CatalogReport,
              progress: Callable[[str], None]) -> None:  # fmt: skip
    from keystoneauth1 import exceptions as ks_exc
    from openstack import exceptions as sdk_exc

    away = (ks_exc.ConnectFailure, ks_exc.ServiceUnavailable, ks_exc.BadGateway, ks_exc.GatewayTimeout)
    conn = connect(admin, timeout)
    catalog = _Catalog(conn, report)
    try:
        for name, spec in sorted(resources.items()):
            _ensure_one(catalog, name, spec, admin.region)
            progress(f"catalog: {name}")
    except away as exc:
        raise _Transient() from exc
    except sdk_exc.HttpException as exc:
        if exc.status_code in (502, 503, 504):
            raise _Transient() from exc
        raise OperationError(f"creating the catalog failed: {exc}") from exc
    except sdk_exc.SDKException as exc:
        raise OperationError(f"creating the catalog failed: {exc}") from exc
    finally:
        conn.close()


def ensure_catalog(
    admin: Admin,
    resources: Mapping[str, Mapping[str, Any]],
    *,
    timeout: float = 120.0,
    progress: Callable[[str], None] = lambda _: None,
) -> CatalogReport:
    """Make the catalog hold every entry of ``resources`` (name -> keystone_resources entry).

    :raises OperationError: Keystone did not answer within ``timeout`` or refused a request.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    report = CatalogReport()
    while True:
        try:
            _one_pass(admin, resources, timeout, report, progress)
            break
        except _Transient as exc:  # Keystone restarting behind HAProxy: the pass is idempotent, go again
            if time.monotonic() > deadline:
                raise OperationError(f"creating the catalog failed: {exc.__cause__}") from exc
            LOG.info("catalog: keystone went away (%s), again", exc.__cause__)
            time.sleep(2)
    report.seconds = time.perf_counter() - started
    LOG.info("catalog: %d created, %d updated", len(report.created), len(report.updated))
    return report
